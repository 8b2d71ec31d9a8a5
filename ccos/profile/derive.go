package profile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Catalog finds capabilities by id (caps.Marketplace satisfies it).
type Catalog interface {
	Get(id string) (*caps.Capability, bool)
}

// Request describes one step to derive a profile for.
type Request struct {
	StepName string
	// Form is the whole step form: calls anywhere inside it, including
	// nested steps, count.
	Form syntax.Node
	// Options are the evaluated step options; "isolation" (a keyword or
	// string :inherit, :isolated, :sandboxed) may force a stricter
	// isolation level. Other options are ignored here.
	Options map[string]value.Value
	// Defs maps top-level function names to their defining forms
	// ((defn f ...) / (def f (fn ...))): a reference to f inside the
	// step includes f's capabilities, transitively and cycle-safe. Nil
	// is fine.
	Defs map[string]syntax.Node
}

// Byte sizes.
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Limit classes (CCOS.md §5): the limits of a step are the field-wise
// maximum over the classes of its capabilities, then clamped to the
// runtime context.
var (
	// DefaultLimits apply to every step.
	DefaultLimits = ResourceLimits{
		MaxExecutionTime:    30 * time.Second,
		MaxMemoryBytes:      256 * mib,
		MaxCPUUsage:         1,
		MaxIOOps:            1000,
		MaxNetworkBandwidth: 1 * mib,
	}
	// ComputeHeavyLimits apply when a capability has Hints.ComputeHeavy.
	ComputeHeavyLimits = ResourceLimits{
		MaxExecutionTime: 300 * time.Second,
		MaxMemoryBytes:   1 * gib,
		MaxCPUUsage:      2,
	}
	// NetworkLimits apply when a capability has network effects (or
	// Hints.Download).
	NetworkLimits = ResourceLimits{
		MaxExecutionTime:    120 * time.Second,
		MaxNetworkBandwidth: 10 * mib,
	}
	// FileLimits apply when a capability has file system effects.
	FileLimits = ResourceLimits{
		MaxExecutionTime: 60 * time.Second,
		MaxIOOps:         5000,
	}
)

// maxLimits is the field-wise maximum of a and b.
func maxLimits(a, b ResourceLimits) ResourceLimits {
	return ResourceLimits{
		MaxExecutionTime:    max(a.MaxExecutionTime, b.MaxExecutionTime),
		MaxMemoryBytes:      max(a.MaxMemoryBytes, b.MaxMemoryBytes),
		MaxCPUUsage:         max(a.MaxCPUUsage, b.MaxCPUUsage),
		MaxIOOps:            max(a.MaxIOOps, b.MaxIOOps),
		MaxNetworkBandwidth: max(a.MaxNetworkBandwidth, b.MaxNetworkBandwidth),
	}
}

// Derive computes the security profile of one step (CCOS.md §5).
//
// It collects the capability ids the step can call statically: (call
// :id ...) and (call "id" ...) forms anywhere in req.Form (nested steps
// included, quoted data excluded), the functions of req.Defs the step
// refers to, and the stdlib aliases that call capabilities (read-lines,
// tool/http-fetch, tool/current-time). An id the catalog does not know is
// a *security.Violation (Kind "capability"); a call whose id is not a
// literal makes the profile Unknown: sandboxed, network denied, no file
// system, no capabilities.
//
// Effects are the union of the capabilities' declared effects, narrowed
// by the calls' literal arguments through Capability.TargetsOf: a
// literal URL narrows the network allow-list to that URL's host:port, a
// literal path narrows the fs roots to that (canonical) path, a literal
// env name narrows the env vars. A call whose arguments are not all
// literal is probed: TargetsOf runs twice with each non-literal argument
// replaced by a different placeholder; if both runs succeed and agree,
// the targets do not depend on the unknown arguments and are used (so
// (call :ccos.io.write-file "/tmp/out" text) narrows to /tmp/out);
// otherwise, or when TargetsOf is nil, the capability contributes its
// declared effects ("*" meaning any host or path, limited by ctx). A
// capability with network effects whose targets name no URL (its endpoint
// comes from configuration, like ccos.ai.llm-execute) contributes its
// declared network effects. A literal target outside the capability's
// declared effects is a *security.Violation (Kind host, read, write, env
// or capability). Literal arguments that TargetsOf rejects contribute
// nothing: that call cannot pass the capability boundary.
//
// The result is then adjusted to ctx (nil means no adjustment): network
// hosts, fs roots and env vars are intersected with the context's lists
// (a Full context with an empty list keeps the profile's), limits are
// clamped to the context's non-zero maxima, a stricter req.Options
// "isolation" is applied (a laxer one is a Violation "cannot widen"), and
// an isolation level the context does not allow is refused (Violation
// Kind "isolation") or, when ctx.Downgrade is set, downgraded to the
// highest allowed lower level and recorded in Downgraded.
func Derive(req *Request, cat Catalog, ctx *security.Context) (*StepProfile, error) {
	if req == nil {
		return nil, fmt.Errorf("profile: nil request")
	}
	c := newCollector(req.Defs)
	if req.Form != nil {
		c.walk(req.Form)
	}
	return derive(req.StepName, c, req.Options, cat, ctx)
}

// Root derives the profile of a whole plan body, used for calls outside
// any step: the same rules as Derive over all forms (calls inside steps
// included), with an empty step name and no options.
func Root(forms []syntax.Node, defs map[string]syntax.Node, cat Catalog, ctx *security.Context) (*StepProfile, error) {
	c := newCollector(defs)
	for _, f := range forms {
		c.walk(f)
	}
	return derive("", c, nil, cat, ctx)
}

// effects accumulates what a step's capabilities may do.
type effects struct {
	exec, network, fs, env  bool // classes, from declared effects
	compute, download       bool // hints
	nondeterministic        bool
	netAll, readAll, envAll bool // "*" contributed
	writeAll                bool
	hosts, reads, writes    []string
	envs                    []string
}

func derive(name string, c *collector, opts map[string]value.Value, cat Catalog, ctx *security.Context) (*StepProfile, error) {
	if cat == nil && len(c.order) > 0 {
		return nil, fmt.Errorf("profile: nil catalog")
	}
	found := make([]*caps.Capability, len(c.order))
	ids := make([]string, 0, len(c.order))
	for i, id := range c.order {
		cp, ok := cat.Get(id)
		if !ok || cp == nil {
			if c.uses[id].alias {
				continue
			}
			return nil, &security.Violation{Kind: "capability", Subject: id, Reason: "unknown capability"}
		}
		found[i] = cp
		ids = append(ids, id)
	}
	var p *StepProfile
	if c.dynamic {
		p = unknownProfile(name)
	} else {
		var e effects
		for i, id := range c.order {
			if found[i] == nil {
				continue
			}
			if err := e.add(found[i], c.uses[id]); err != nil {
				return nil, err
			}
		}
		slices.Sort(ids)
		p = e.profile(name, ids, ctx)
	}
	if err := applyOptions(p, opts); err != nil {
		return nil, err
	}
	if err := adjustIsolation(p, ctx); err != nil {
		return nil, err
	}
	clampLimits(&p.Limits, ctx)
	p.seal()
	return p, nil
}

// unknownProfile is the strictest profile, for steps whose capabilities
// cannot be known statically.
func unknownProfile(name string) *StepProfile {
	return &StepProfile{
		StepName:  name,
		Isolation: security.Sandboxed,
		Limits:    DefaultLimits,
		Flags: SecurityFlags{
			SyscallFilter:    true,
			NetworkACL:       true,
			FSACL:            true,
			MemoryProtection: true,
			CPUMonitoring:    true,
			LogSyscalls:      true,
			ReadOnlyFS:       true,
		},
		MicroVM: MicroVMConfig{
			Network: NetworkPolicy{Kind: NetDenied},
			FS:      FSPolicy{Kind: FSNone},
		},
		Unknown: true,
	}
}

// add merges one capability's contribution.
func (e *effects) add(cp *caps.Capability, u *use) error {
	m := &cp.Manifest
	ef := &m.Effects
	e.exec = e.exec || ef.Exec
	isNet := len(ef.Network) > 0
	e.network = e.network || isNet
	e.fs = e.fs || len(ef.FSRead) > 0 || len(ef.FSWrite) > 0
	e.env = e.env || len(ef.Env) > 0
	e.compute = e.compute || m.Hints.ComputeHeavy
	e.download = e.download || m.Hints.Download
	e.nondeterministic = e.nondeterministic || !ef.Deterministic

	// The targets of an http or program capability name its URL or
	// program, not the files or variables it uses: for those classes
	// its declared effects count.
	declared, declaredNet, declaredFS, declaredEnv := false, false, false, false
	isFS := len(ef.FSRead) > 0 || len(ef.FSWrite) > 0
	configured := m.Program != nil || m.HTTP != nil
	for _, s := range u.sites {
		if s.opaque || cp.TargetsOf == nil {
			declared = true
			continue
		}
		t, ok, literal := siteTargets(cp, s.args)
		if !ok {
			if !literal {
				declared = true
			}
			continue
		}
		if err := e.addTargets(cp, &t); err != nil {
			return err
		}
		if isNet && len(t.URLs) == 0 {
			declaredNet = true
		}
		if configured && isFS && len(t.Reads) == 0 && len(t.Writes) == 0 {
			declaredFS = true
		}
		if configured && len(ef.Env) > 0 && len(t.Env) == 0 {
			declaredEnv = true
		}
	}
	if declared || declaredNet {
		for _, h := range ef.Network {
			if h = strings.ToLower(strings.TrimSpace(h)); h == "*" {
				e.netAll = true
			} else {
				e.hosts = append(e.hosts, h)
			}
		}
	}
	if declared || declaredFS {
		for _, r := range ef.FSRead {
			if r = canonRoot(r); r == anyPath {
				e.readAll = true
			} else {
				e.reads = append(e.reads, r)
			}
		}
		for _, w := range ef.FSWrite {
			if w = canonRoot(w); w == anyPath {
				e.writeAll = true
			} else {
				e.writes = append(e.writes, w)
			}
		}
	}
	if declared || declaredEnv {
		for _, v := range ef.Env {
			if v == "*" {
				e.envAll = true
			} else {
				e.envs = append(e.envs, v)
			}
		}
	}
	return nil
}

// siteTargets computes a call site's targets. ok is false when they
// cannot be known (or, for literal arguments, when TargetsOf rejects
// them); literal reports whether all arguments were literal.
func siteTargets(cp *caps.Capability, args []syntax.Node) (t caps.Targets, ok, literal bool) {
	vals, unknown, literal := argValues(args)
	if literal {
		t, err := callTargets(cp, vals)
		return t, err == nil, true
	}
	a, err := callTargets(cp, withProbe(vals, unknown, &probe{}))
	if err != nil {
		return t, false, false
	}
	b, err := callTargets(cp, withProbe(vals, unknown, value.String(probeMarker)))
	if err != nil || !sameTargets(&a, &b) {
		return t, false, false
	}
	return a, true, false
}

// callTargets runs TargetsOf, turning a panic into an error.
func callTargets(cp *caps.Capability, args []value.Value) (t caps.Targets, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("profile: %s TargetsOf panicked: %v", cp.ID, r)
		}
	}()
	return cp.TargetsOf(args)
}

func sameTargets(a, b *caps.Targets) bool {
	return slices.Equal(a.URLs, b.URLs) && slices.Equal(a.Reads, b.Reads) &&
		slices.Equal(a.Writes, b.Writes) && slices.Equal(a.Env, b.Env) &&
		slices.Equal(a.Programs, b.Programs)
}

// addTargets checks a call's literal targets against the capability's
// declared effects and adds them.
func (e *effects) addTargets(cp *caps.Capability, t *caps.Targets) error {
	ef := &cp.Effects
	for _, raw := range t.URLs {
		u, err := security.ParseURL(raw)
		if err != nil {
			return &security.Violation{Kind: "host", Subject: raw, Reason: "invalid URL: " + err.Error()}
		}
		if !manifestHost(ef.Network, u) {
			return &security.Violation{Kind: "host", Subject: raw,
				Reason: "outside the network effects declared by " + cp.ID}
		}
		e.hosts = append(e.hosts, hostKey(u))
	}
	for _, raw := range t.Reads {
		p, err := security.CanonicalPath(raw)
		if err != nil {
			return &security.Violation{Kind: "read", Subject: raw, Reason: "invalid path: " + err.Error()}
		}
		if !manifestPath(ef.FSRead, p) && !manifestPath(ef.FSWrite, p) {
			return &security.Violation{Kind: "read", Subject: raw,
				Reason: "outside the file system effects declared by " + cp.ID}
		}
		e.reads = append(e.reads, p)
	}
	for _, raw := range t.Writes {
		p, err := security.CanonicalPath(raw)
		if err != nil {
			return &security.Violation{Kind: "write", Subject: raw, Reason: "invalid path: " + err.Error()}
		}
		if !manifestPath(ef.FSWrite, p) {
			return &security.Violation{Kind: "write", Subject: raw,
				Reason: "outside the file system effects declared by " + cp.ID}
		}
		e.writes = append(e.writes, p)
	}
	for _, v := range t.Env {
		if !slices.Contains(ef.Env, "*") && !slices.Contains(ef.Env, v) {
			return &security.Violation{Kind: "env", Subject: v,
				Reason: "outside the environment effects declared by " + cp.ID}
		}
		e.envs = append(e.envs, v)
	}
	if len(t.Programs) > 0 && !ef.Exec {
		return &security.Violation{Kind: "capability", Subject: cp.ID,
			Reason: "runs program " + t.Programs[0] + " but does not declare exec effects"}
	}
	return nil
}

// manifestHost reports whether a manifest's network patterns allow u.
func manifestHost(patterns []string, u *security.URLTarget) bool {
	for _, p := range patterns {
		if p == "*" || security.MatchHost(p, u) || security.MatchHost(p, withPort(u)) {
			return true
		}
	}
	return false
}

// manifestPath reports whether a manifest's roots contain canonical p.
func manifestPath(roots []string, p string) bool {
	for _, r := range roots {
		if r == anyPath || rootCovers(canonRoot(r), p) {
			return true
		}
	}
	return false
}

// profile turns the accumulated effects into a profile adjusted to ctx
// (isolation and limits are adjusted by the caller).
func (e *effects) profile(name string, ids []string, ctx *security.Context) *StepProfile {
	p := &StepProfile{StepName: name, Capabilities: ids, Deterministic: !e.nondeterministic}
	switch {
	case e.exec:
		p.Isolation = security.Sandboxed
	case e.network || e.fs || e.env:
		p.Isolation = security.Isolated
	default:
		p.Isolation = security.Inherit
	}
	p.Flags = SecurityFlags{
		SyscallFilter:    e.exec,
		NetworkACL:       e.network,
		FSACL:            e.fs,
		MemoryProtection: true,
		CPUMonitoring:    true,
		LogSyscalls:      e.exec,
		ReadOnlyFS:       e.exec,
	}
	l := DefaultLimits
	if e.compute {
		l = maxLimits(l, ComputeHeavyLimits)
	}
	if e.network || e.download {
		l = maxLimits(l, NetworkLimits)
	}
	if e.fs {
		l = maxLimits(l, FileLimits)
	}
	p.Limits = l

	// Network.
	var net NetworkPolicy
	switch {
	case e.netAll:
		net.Kind = NetFull
	case len(e.hosts) > 0:
		net = NetworkPolicy{Kind: NetAllowList, Hosts: sortUniq(e.hosts)}
	}
	p.MicroVM.Network = intersectNetwork(net, ctx)

	// File system.
	reads, writes := e.reads, e.writes
	if e.readAll {
		reads = []string{anyPath}
	}
	if e.writeAll {
		writes = []string{anyPath}
	}
	p.MicroVM.FS = intersectFS(reads, writes, ctx)

	// Environment.
	envs := e.envs
	if e.envAll {
		envs = []string{"*"}
	}
	p.MicroVM.EnvVars = intersectEnv(sortUniq(envs), ctx)
	return p
}

// parseIsolation reads :inherit, :isolated or :sandboxed (keyword or
// string).
func parseIsolation(v value.Value) (security.Isolation, error) {
	var s string
	switch x := v.(type) {
	case value.Keyword:
		s = string(x)
	case value.String:
		s = string(x)
	default:
		return 0, value.Errorf(value.ErrType, "isolation must be :inherit, :isolated or :sandboxed, got %s", value.Repr(v))
	}
	i, err := security.ParseIsolation(s)
	if err != nil {
		return 0, value.Errorf(value.ErrType, "isolation must be :inherit, :isolated or :sandboxed, got %s", value.Repr(v))
	}
	return i, nil
}

// raiseIsolation applies a requested isolation level: stricter or equal
// is fine, laxer is a Violation.
func raiseIsolation(p *StepProfile, v value.Value) error {
	want, err := parseIsolation(v)
	if err != nil {
		return err
	}
	if want < p.Isolation {
		return &security.Violation{Kind: "isolation", Subject: isoName(want),
			Reason: fmt.Sprintf("cannot widen the isolation of step %q from %s to %s", p.StepName, isoName(p.Isolation), isoName(want))}
	}
	p.Isolation = want
	return nil
}

// applyOptions applies the step options Derive understands.
func applyOptions(p *StepProfile, opts map[string]value.Value) error {
	if v, ok := opts["isolation"]; ok && v != nil {
		return raiseIsolation(p, v)
	}
	return nil
}

// adjustIsolation fits the isolation level to ctx with
// security.Context.ResolveIsolation: an allowed level stays; otherwise the
// lowest allowed stricter level is used (more isolation only narrows);
// otherwise, if ctx.Downgrade, the highest allowed laxer level, recorded
// in Downgraded ("sandboxed->isolated"); otherwise a Violation of Kind
// "isolation" refuses the step.
func adjustIsolation(p *StepProfile, ctx *security.Context) error {
	if ctx == nil {
		return nil
	}
	from := p.Isolation
	l, down, err := ctx.ResolveIsolation(from)
	if err != nil {
		if v, ok := err.(*security.Violation); ok && p.StepName != "" {
			c := *v
			c.Reason = fmt.Sprintf("step %q: %s", p.StepName, v.Reason)
			return &c
		}
		return err
	}
	p.Isolation = l
	if down {
		p.Downgraded = isoName(from) + "->" + isoName(l)
	}
	return nil
}

// isoName returns the RTFS name of an isolation level.
func isoName(i security.Isolation) string { return i.String() }

// clampLimits lowers limits to the context's non-zero maxima.
func clampLimits(l *ResourceLimits, ctx *security.Context) {
	if ctx == nil {
		return
	}
	if ctx.MaxExecution > 0 && (l.MaxExecutionTime == 0 || l.MaxExecutionTime > ctx.MaxExecution) {
		l.MaxExecutionTime = ctx.MaxExecution
	}
	if ctx.MaxMemoryBytes > 0 && (l.MaxMemoryBytes == 0 || l.MaxMemoryBytes > ctx.MaxMemoryBytes) {
		l.MaxMemoryBytes = ctx.MaxMemoryBytes
	}
}

package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// stepState is an open step (or the plan itself, the root): the handle
// the evaluator keeps in its Thread.
type stepState struct {
	run      *run
	parent   *stepState
	path     string // identity for replay: main/0:fetch/1:call ...
	actionID string // its PlanStepStarted (the PlanStarted for the root)
	name     string
	depth    int
	started  time.Time
	attempt  int
	next     atomic.Int32 // index of the next child event
	replayed bool         // the step's start is in the chain already

	mu        sync.Mutex
	profile   *profile.StepProfile
	narrowed  []*profile.StepProfile // with-security-profile stack
	data      map[string]value.Value
	order     []string
	sandboxed bool
}

// prefix is the path under which the step's children are identified; a
// retried step's attempts have children of their own.
func (s *stepState) prefix() string {
	if s.attempt > 1 {
		return s.path + "#" + strconv.Itoa(s.attempt)
	}
	return s.path
}

func (s *stepState) childPath(kind string) string {
	return s.prefix() + "/" + strconv.Itoa(int(s.next.Add(1)-1)) + ":" + kind
}

// effective is the step's profile narrowed by with-security-profile.
func (s *stepState) effective() *profile.StepProfile {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.narrowed); n > 0 {
		return s.narrowed[n-1]
	}
	return s.profile
}

// host implements eval.Host for one run.
type host struct {
	r *run
}

var _ eval.Host = (*host)(nil)

func (h *host) current(th *eval.Thread) *stepState {
	if s, ok := th.Step().(*stepState); ok && s != nil {
		return s
	}
	return h.r.root
}

func (h *host) progress(e Event) {
	if f := h.r.o.cfg.Progress; f != nil {
		f(e)
	}
}

// BeginStep implements eval.Host.
func (h *host) BeginStep(th *eval.Thread, spec *eval.StepSpec) (any, error) {
	r := h.r
	ctx := th.Context()
	parent := h.current(th)
	s := &stepState{run: r, parent: parent, name: spec.Name, depth: parent.depth + 1, started: time.Now(), attempt: 1, data: map[string]value.Value{}}
	if spec.Branch {
		s.path = parent.prefix() + "/" + branchSuffix(spec.Name) + ":" + spec.Name
	} else {
		s.path = parent.childPath(spec.Name)
	}
	if iso, ok := spec.Options["isolation"]; ok {
		if kw, ok := iso.(value.Keyword); ok && kw == "sandboxed" {
			s.sandboxed = true
		}
	}
	var perr error
	if spec.Form == nil {
		s.profile = parent.effective()
	} else {
		s.profile, perr = r.deriveProfile(spec)
	}
	if rs := r.replay.step(s.path); rs != nil {
		if rs.name != spec.Name {
			return nil, r.diverged(s.path, fmt.Sprintf("the chain has step %q here, the plan now has step %q", rs.name, spec.Name))
		}
		s.actionID, s.replayed = rs.startID, true
	} else {
		meta := mapOf("path", value.String(s.path), "kind", value.String(spec.Kind.String()))
		id, err := r.record(ctx, &model.Action{Type: model.PlanStepStarted, Name: spec.Name, ParentActionID: parent.actionID, Metadata: meta})
		if err != nil {
			return nil, err
		}
		s.actionID = id
		if perr == nil {
			if _, err := r.recordShared(ctx, &model.Action{Type: model.StepProfileDerived, Name: spec.Name, ParentActionID: id, Metadata: r.profileValue(s.profile)}); err != nil {
				return nil, err
			}
		}
	}
	h.progress(Event{Kind: StepStarted, Path: s.path, Name: s.name, Depth: s.depth, Replayed: s.replayed})
	if perr != nil {
		err := h.violation(ctx, parent, s.actionID, spec.Name, perr)
		h.endRecord(ctx, s, nil, err)
		return nil, err
	}
	return s, nil
}

// branchSuffix turns "name/3" into "b3".
func branchSuffix(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return "b" + name[i+1:]
	}
	return "b"
}

func (r *run) deriveProfile(spec *eval.StepSpec) (*profile.StepProfile, error) {
	key := profileKey{form: spec.Form, opts: optionsKey(spec.Options)}
	r.profMu.Lock()
	p, ok := r.profiles[key]
	r.profMu.Unlock()
	if ok {
		return p, nil
	}
	p, err := profile.Derive(&profile.Request{StepName: spec.Name, Form: spec.Form, Options: spec.Options, Defs: r.defs}, r.o.cfg.Caps, r.sctx)
	if err != nil {
		return nil, err
	}
	r.profMu.Lock()
	r.profiles[key] = p
	r.profMu.Unlock()
	return p, nil
}

// profileValue is p as StepProfileDerived metadata, built once per
// profile: a loop of identical steps records the same profile each time.
func (r *run) profileValue(p *profile.StepProfile) *value.Map {
	r.profMu.Lock()
	defer r.profMu.Unlock()
	if m, ok := r.profileValues[p]; ok {
		return m
	}
	m, _ := p.ToValue().(*value.Map)
	r.profileValues[p] = m
	return m
}

func optionsKey(opts map[string]value.Value) string {
	if len(opts) == 0 {
		return ""
	}
	b := value.NewMapBuilder()
	for k, v := range opts {
		b.Assoc(value.Keyword(k), v)
	}
	enc, _ := model.EncodeValue(b.Map())
	return string(enc)
}

// EndStep implements eval.Host.
func (h *host) EndStep(th *eval.Thread, handle any, result value.Value, err error) error {
	s, ok := handle.(*stepState)
	if !ok || s == nil {
		return nil
	}
	r := h.r
	ctx := th.Context()
	var pe *pauseErr
	if errors.As(err, &pe) {
		return nil // the step is still open; resume continues it
	}
	if err != nil && !isAbort(err) && s.attempt < r.policies.retry.MaxAttempts {
		s.attempt++
		if !r.replay.hasRetry(s.path, s.attempt) {
			e := value.AsError(err)
			if _, rerr := r.record(ctx, &model.Action{Type: model.PlanStepRetrying, Name: s.name, ParentActionID: s.actionID,
				Result:   &model.Result{Error: errorInfo(e)},
				Metadata: mapOf("path", value.String(s.path), "attempt", value.Int(s.attempt), "max-attempts", value.Int(r.policies.retry.MaxAttempts))}); rerr != nil {
				return rerr
			}
			h.progress(Event{Kind: StepRetrying, Path: s.path, Name: s.name, Depth: s.depth, Err: e.Message})
			if d := r.policies.retry.BackoffMs; d > 0 {
				select {
				case <-time.After(time.Duration(d) * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		s.next.Store(0)
		return eval.ErrRetryStep
	}
	return h.endRecord(ctx, s, result, err)
}

func isAbort(err error) bool {
	var a eval.Aborter
	return errors.As(err, &a)
}

func (h *host) endRecord(ctx context.Context, s *stepState, result value.Value, err error) error {
	r := h.r
	dur := time.Since(s.started).Milliseconds()
	kind := StepCompleted
	if err != nil {
		kind = StepFailed
	}
	if end := r.replay.stepEnd(s.path); end != nil {
		if end.Type == model.PlanStepCompleted && err == nil && !value.Equal(end.Result.Value, result) {
			return r.diverged(s.path, fmt.Sprintf("step %q produced %s when it was first run, and %s now", s.name, short(end.Result.Value), short(result)))
		}
		h.progress(Event{Kind: kind, Path: s.path, Name: s.name, Depth: s.depth, Replayed: true})
		return nil
	}
	a := &model.Action{Name: s.name, ParentActionID: s.actionID, DurationMs: &dur, Metadata: mapOf("path", value.String(s.path))}
	if err != nil {
		e := value.AsError(err)
		a.Type, a.Result = model.PlanStepFailed, &model.Result{Error: errorInfo(e)}
		h.progress(Event{Kind: StepFailed, Path: s.path, Name: s.name, Depth: s.depth, Duration: time.Since(s.started), Err: e.Message})
	} else {
		a.Type, a.Result = model.PlanStepCompleted, &model.Result{Success: true, Value: result}
		h.progress(Event{Kind: StepCompleted, Path: s.path, Name: s.name, Depth: s.depth, Duration: time.Since(s.started)})
	}
	_, rerr := r.record(ctx, a)
	return rerr
}

func short(v value.Value) string {
	s := value.Repr(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func (r *run) diverged(path, what string) error {
	return &abortErr{err: fmt.Errorf("resume diverged from the recorded run at %s: %s", path, what)}
}

// violation records a SecurityViolation under parentID and returns the
// RTFS :security-error for it.
func (h *host) violation(ctx context.Context, s *stepState, parentID, subject string, err error) error {
	meta := mapOf("reason", value.String(err.Error()), "path", value.String(s.prefix()))
	var v *security.Violation
	if errors.As(err, &v) {
		meta = mapOf("kind", value.String(v.Kind), "subject", value.String(v.Subject), "reason", value.String(v.Reason), "path", value.String(s.prefix()))
	}
	if _, rerr := h.r.record(ctx, &model.Action{Type: model.SecurityViolation, Name: subject, ParentActionID: parentID, Metadata: meta}); rerr != nil {
		return rerr
	}
	h.progress(Event{Kind: Violation, Path: s.prefix(), Name: subject, Depth: s.depth + 1, Err: err.Error()})
	return &value.Error{Type: value.ErrSecurity, Message: err.Error(), Data: meta, Cause: err}
}

// argsHash identifies a call's arguments for replay.
func argsHash(args []value.Value) string {
	enc, err := model.EncodeValue(value.NewVector(args...))
	if err != nil {
		enc = []byte(value.Repr(value.NewVector(args...)))
	}
	sum := sha256.Sum256(enc)
	return hex.EncodeToString(sum[:])
}

// CallCapability implements eval.Host: authorise, record, run, record.
func (h *host) CallCapability(th *eval.Thread, id string, args []value.Value) (value.Value, error) {
	r := h.r
	ctx := th.Context()
	s := h.current(th)
	path := s.childPath("call")
	c, ok := r.o.cfg.Caps.Get(id)
	if !ok {
		return nil, value.Errorf(value.ErrCapability, "unknown capability %s", id)
	}
	hash := argsHash(args)
	if rc := r.replay.call(path); rc != nil {
		if rc.call.Name != id || rc.argsHash != hash {
			return nil, r.diverged(path, fmt.Sprintf("the chain has a call of %s%s here, the plan now calls %s%s",
				rc.call.Name, argsNote(rc.argsHash != hash), id, ""))
		}
		if rc.result != nil {
			h.progress(Event{Kind: CallDone, Path: path, Name: id, Depth: s.depth + 1, Replayed: true})
			if rc.result.Result != nil && rc.result.Result.Success {
				return rc.result.Result.Value, nil
			}
			if rc.result.Result != nil {
				return nil, errorFromInfo(rc.result.Result.Error)
			}
			return nil, nil
		}
		switch {
		case rc.answer != nil:
			v := value.String(*rc.answer)
			if _, err := r.record(ctx, &model.Action{Type: model.CapabilityResult, Name: id, ParentActionID: rc.call.ActionID,
				Result: &model.Result{Success: true, Value: v}, Metadata: mapOf("path", value.String(path), "answered-by", value.String("resume --answer"))}); err != nil {
				return nil, err
			}
			return v, nil
		case rc.pausedHere || c.Effects.Idempotent:
			// Run it again under the recorded call.
			return h.execute(ctx, s, c, args, path, rc.call.ActionID)
		default:
			return nil, &abortErr{err: fmt.Errorf("capability %s at %s was interrupted mid-call when the run's process died, and its manifest does not declare it idempotent: ccos will not run it again. Check whether its effect happened (call %s), then start a new run", id, path, rc.call.ActionID)}
		}
	}
	if err := h.authorize(ctx, s, c, args); err != nil {
		return nil, err
	}
	if err := r.chargeCost(c); err != nil {
		return nil, err
	}
	prof := s.effective()
	callID, err := r.record(ctx, &model.Action{Type: model.CapabilityCall, Name: id, ParentActionID: s.actionID, Args: value.NewVector(args...),
		Metadata: mapOf("path", value.String(path), "args-hash", value.String(hash), "profile-id", value.String(prof.ProfileID))})
	if err != nil {
		return nil, err
	}
	return h.execute(ctx, s, c, args, path, callID)
}

func argsNote(differ bool) string {
	if differ {
		return " (with other arguments)"
	}
	return ""
}

// execute runs an authorised call whose CapabilityCall is callID and
// records its result.
func (h *host) execute(ctx context.Context, s *stepState, c *caps.Capability, args []value.Value, path, callID string) (value.Value, error) {
	r := h.r
	if !c.Effects.Pure() {
		// The call's record must survive a crash during the effect.
		if err := r.barrier(ctx); err != nil {
			return nil, err
		}
	}
	prof := s.effective()
	h.progress(Event{Kind: CallStarted, Path: path, Name: c.ID, Depth: s.depth + 1})
	start := time.Now()
	provider, err := r.o.provider(c, prof)
	var v value.Value
	var usage sandbox.Usage
	if err == nil {
		v, usage, err = provider.Run(ctx, &sandbox.Request{Capability: c, Args: args, Env: r.env, Violation: func(sv *security.Violation) {
			h.violation(ctx, s, callID, c.ID, sv)
		}}, prof)
	} else {
		err = h.violation(ctx, s, callID, c.ID, err)
		provider = sandbox.Mock{}
	}
	wall := time.Since(start)
	var nh *caps.NeedsHuman
	if errors.As(err, &nh) {
		return nil, &pauseErr{prompt: nh.Prompt, path: path, callID: callID}
	}
	ms := wall.Milliseconds()
	meta := mapOf("path", value.String(path), "provider", value.String(provider.Name()), "wall-us", value.Int(wall.Microseconds()),
		"isolation", value.Keyword(prof.Isolation.String()))
	if vp, ok := provider.(sandbox.Versioned); ok {
		meta = meta.Assoc(value.Keyword("provider-version"), value.String(vp.Version()))
	}
	if usage.CPU > 0 {
		meta = meta.Assoc(value.Keyword("cpu-us"), value.Int(usage.CPU.Microseconds()))
	}
	if usage.PeakMemoryBytes > 0 {
		meta = meta.Assoc(value.Keyword("peak-memory-bytes"), value.Int(usage.PeakMemoryBytes))
	}
	a := &model.Action{Type: model.CapabilityResult, Name: c.ID, ParentActionID: callID, DurationMs: &ms, Metadata: meta}
	if cost := c.Hints.Cost; cost > 0 {
		a.Cost = &cost
	}
	if err != nil {
		e := value.AsError(err)
		a.Result = &model.Result{Error: errorInfo(e)}
		err = e
	} else {
		a.Result = &model.Result{Success: true, Value: v}
	}
	if _, rerr := r.record(ctx, a); rerr != nil {
		return nil, rerr
	}
	ev := Event{Kind: CallDone, Path: path, Name: c.ID, Depth: s.depth + 1, Duration: wall}
	if err != nil {
		ev.Err = value.AsError(err).Message
	}
	h.progress(ev)
	return v, err
}

// stateful capabilities keep per-run state (open file handles) that a
// per-call sandbox worker cannot hold: they run in process, after the
// capability-boundary checks.
var stateful = map[string]bool{"ccos.io.open-file": true, "ccos.io.read-line": true, "ccos.io.write-line": true, "ccos.io.close-file": true}

// provider chooses how a call runs: WebAssembly capabilities in the wasm
// provider; calls of inherit-level steps in process; isolated and
// sandboxed steps in the configured providers. A missing or unavailable
// provider fails the call closed.
func (o *Orchestrator) provider(c *caps.Capability, prof *profile.StepProfile) (sandbox.Provider, error) {
	var p sandbox.Provider
	var what string
	switch {
	case c.WASM != nil:
		p, what = o.cfg.WASM, "WebAssembly capabilities"
	case prof.Isolation == security.Inherit || stateful[c.ID]:
		return sandbox.InProcess{}, nil
	case prof.Isolation == security.Sandboxed:
		p, what = o.cfg.Sandboxed, "sandboxed steps"
	default:
		p, what = o.cfg.Isolated, "isolated steps"
	}
	if p == nil {
		return nil, &security.Violation{Kind: "isolation", Subject: c.ID, Reason: "no sandbox provider is configured for " + what}
	}
	if err := p.Available(); err != nil {
		return nil, &security.Violation{Kind: "isolation", Subject: c.ID, Reason: fmt.Sprintf("sandbox provider %s is unavailable: %v", p.Name(), err)}
	}
	return p, nil
}

func (r *run) chargeCost(c *caps.Capability) error {
	cost := c.Hints.Cost
	if cost <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.policies.hasMaxCost && r.cost+cost > r.policies.maxCost {
		return newLimitErr("plan policy :max-cost %g exceeded: calling %s (cost %g) after spending %g", r.policies.maxCost, c.ID, cost, r.cost)
	}
	r.cost += cost
	return nil
}

// authorize is the capability-boundary check: runtime context, step
// profile, the manifest's declared effects and the call's actual targets.
func (h *host) authorize(ctx context.Context, s *stepState, c *caps.Capability, args []value.Value) error {
	r := h.r
	deny := func(err error) error { return h.violation(ctx, s, s.actionID, c.ID, err) }
	if err := r.sctx.AllowsCapability(c.ID); err != nil {
		return deny(err)
	}
	prof := s.effective()
	if !prof.AllowsCapability(c.ID) && !(prof.Unknown && c.Effects.Pure()) {
		return deny(&security.Violation{Kind: "capability", Subject: c.ID, Reason: fmt.Sprintf("not in the security profile of step %q (%s)", s.name, prof.ProfileID)})
	}
	var t caps.Targets
	if c.TargetsOf != nil {
		var err error
		if t, err = c.TargetsOf(args); err != nil {
			return value.Errorf(value.ErrType, "%s: %v", c.ID, err)
		}
	} else {
		t = declaredTargets(c)
	}
	if c.ID == "ccos.ai.llm-execute" && r.env.LLM != nil {
		t.URLs = append(t.URLs, r.env.LLM.BaseURL)
	}
	for _, u := range t.URLs {
		ut, err := r.sctx.CheckURL(u)
		if err != nil {
			return deny(err)
		}
		if !declaredHost(c, ut) {
			return deny(&security.Violation{Kind: "host", Subject: u, Reason: "outside the hosts capability " + c.ID + " declares"})
		}
	}
	for _, p := range t.Reads {
		if _, err := r.sctx.CheckRead(p); err != nil {
			return deny(err)
		}
	}
	for _, p := range t.Writes {
		if _, err := r.sctx.CheckWrite(p); err != nil {
			return deny(err)
		}
	}
	for _, e := range t.Env {
		if err := r.sctx.CheckEnv(e); err != nil {
			return deny(err)
		}
	}
	if err := prof.Check(t); err != nil {
		return deny(err)
	}
	return nil
}

// declaredTargets are the targets of a capability whose calls touch
// exactly what its manifest declares (http capabilities name their URL).
func declaredTargets(c *caps.Capability) caps.Targets {
	var t caps.Targets
	if c.HTTP != nil {
		t.URLs = []string{c.HTTP.URL}
	}
	if c.Program != nil {
		t.Programs = []string{c.Program.Path}
	}
	return t
}

func declaredHost(c *caps.Capability, t *security.URLTarget) bool {
	for _, p := range c.Effects.Network {
		if p == "*" || security.MatchHost(p, t) {
			return true
		}
	}
	return false
}

// Lookup implements eval.Host.
func (h *host) Lookup(th *eval.Thread, name string) (value.Value, bool, error) {
	r := h.r
	s := h.current(th)
	switch name {
	case "plan-id":
		return value.String(r.plan.ID), true, nil
	case "intent-id":
		return value.String(r.intent.ID), true, nil
	case "intent-ids":
		return strVector(r.plan.IntentIDs), true, nil
	case "run-id":
		return value.String(r.id), true, nil
	case "step-name":
		return value.String(s.name), true, nil
	case "step-id":
		return value.String(s.actionID), true, nil
	case "parent-action-id":
		if s.parent != nil {
			return value.String(s.parent.actionID), true, nil
		}
		return nil, true, nil
	}
	for cur := s; cur != nil; cur = cur.parent {
		cur.mu.Lock()
		v, ok := cur.data[name]
		cur.mu.Unlock()
		if ok {
			return v, true, nil
		}
		if cur.sandboxed {
			break
		}
	}
	return nil, false, nil
}

// ContextSet implements eval.Host; the value is recorded so that the
// chain shows what the plan knew.
func (h *host) ContextSet(th *eval.Thread, key string, v value.Value) error {
	s := h.current(th)
	path := s.childPath("set")
	s.mu.Lock()
	if _, ok := s.data[key]; !ok {
		s.order = append(s.order, key)
	}
	s.data[key] = v
	s.mu.Unlock()
	if h.r.replay.has(path) {
		return nil
	}
	_, err := h.r.record(th.Context(), &model.Action{Type: model.InternalStep, Name: "context.set", ParentActionID: s.actionID,
		Args: value.NewVector(value.Keyword(key), v), Metadata: mapOf("path", value.String(path))})
	return err
}

// MergeBranches implements eval.Host.
func (h *host) MergeBranches(th *eval.Thread, branches []any, policy string) error {
	target := h.current(th)
	target.mu.Lock()
	defer target.mu.Unlock()
	for _, b := range branches {
		bs, _ := b.(*stepState)
		if bs == nil {
			continue
		}
		for _, k := range bs.order {
			old, exists := target.data[k]
			if !exists {
				target.order = append(target.order, k)
			}
			target.data[k] = eval.MergeBranchValue(policy, old, exists, bs.data[k])
		}
	}
	return nil
}

// Log implements eval.Host: a LogStep action, and the line on Out.
func (h *host) Log(th *eval.Thread, level string, args []value.Value) error {
	s := h.current(th)
	path := s.childPath("log")
	if h.r.replay.has(path) {
		return nil
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = value.Str(a)
	}
	line := strings.Join(parts, " ")
	fmt.Fprintf(h.r.o.cfg.Out, "[%s] %s\n", level, line)
	_, err := h.r.record(th.Context(), &model.Action{Type: model.LogStep, Name: level, ParentActionID: s.actionID,
		Args: value.NewVector(args...), Metadata: mapOf("path", value.String(path), "message", value.String(line))})
	return err
}

// Discover implements eval.Host: a search of the marketplace by
// {:query "text" :tags [..]}.
func (h *host) Discover(_ *eval.Thread, criteria value.Value) (value.Value, error) {
	var query string
	var tags []string
	if m, ok := criteria.(*value.Map); ok {
		if q, ok := m.Get(value.Keyword("query")); ok {
			query = value.Str(q)
		}
		if t, ok := m.Get(value.Keyword("tags")); ok {
			if v, ok := t.(*value.Vector); ok {
				v.Range(func(_ int, x value.Value) bool { tags = append(tags, value.Str(x)); return true })
			}
		}
	}
	var out []value.Value
	for _, c := range h.r.o.cfg.Caps.Search(query, tags) {
		out = append(out, c.Manifest.ToValue())
	}
	return value.NewVector(out...), nil
}

// NarrowProfile implements eval.Host.
func (h *host) NarrowProfile(th *eval.Thread, opts value.Value) (func(), error) {
	s := h.current(th)
	p, err := profile.Narrow(s.effective(), opts)
	if err == nil && !h.r.sctx.AllowsIsolation(p.Isolation) {
		err = &security.Violation{Kind: "isolation", Subject: p.Isolation.String(), Reason: "the runtime context does not allow this isolation level"}
	}
	if err != nil {
		return nil, h.violation(th.Context(), s, s.actionID, "with-security-profile", err)
	}
	s.mu.Lock()
	s.narrowed = append(s.narrowed, p)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.narrowed = s.narrowed[:len(s.narrowed)-1]
		s.mu.Unlock()
	}, nil
}

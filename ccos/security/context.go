package security

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Sane maxima enforced by Validate. A limit of 0 means "no limit set".
const (
	// MaxExecutionLimit is the largest MaxExecution a context may set.
	MaxExecutionLimit = 24 * time.Hour
	// MaxMemoryLimit is the largest MaxMemoryBytes a context may set (64 GiB).
	MaxMemoryLimit = int64(64) << 30
	// MaxActionsLimit is the largest MaxActions a context may set.
	MaxActionsLimit = 10_000_000
)

// Clone returns a deep copy of c (nil for nil).
func (c *Context) Clone() *Context {
	if c == nil {
		return nil
	}
	d := *c
	d.AllowCaps = slices.Clone(c.AllowCaps)
	d.DenyCaps = slices.Clone(c.DenyCaps)
	d.AllowHosts = slices.Clone(c.AllowHosts)
	d.DenyHosts = slices.Clone(c.DenyHosts)
	d.ReadRoots = slices.Clone(c.ReadRoots)
	d.WriteRoots = slices.Clone(c.WriteRoots)
	d.AllowEnv = slices.Clone(c.AllowEnv)
	d.Isolations = slices.Clone(c.Isolations)
	d.ExposeContextTo = slices.Clone(c.ExposeContextTo)
	return &d
}

// displayName names c in messages.
func (c *Context) displayName() string {
	if c.Name != "" {
		return fmt.Sprintf("%q", c.Name)
	}
	return "(unnamed)"
}

// ValidationError lists every problem Validate found in a context.
type ValidationError struct {
	Context  string  // the context's name, may be empty
	Problems []error // one entry per problem
}

// Error lists every problem, separated by "; ".
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	name := ""
	if e.Context != "" {
		name = fmt.Sprintf(" %q", e.Context)
	}
	return fmt.Sprintf("invalid security context%s: %s", name, strings.Join(msgs, "; "))
}

// Unwrap returns the individual problems.
func (e *ValidationError) Unwrap() []error { return e.Problems }

// Validate checks a context when it is built: the level and isolation
// levels are known values; limits are non-negative and within the sane
// maxima (MaxExecutionLimit, MaxMemoryLimit, MaxActionsLimit, a finite
// MaxCost); capability, host and environment patterns are well-formed;
// roots are absolute (or "*"); Isolations is non-empty unless the level is
// Pure; a Full context carries no capability allow-list other than "*"
// (it would be silently ignored); and, as in the original design, a
// context that allows file or network access at a level other than Full
// must allow an isolation level above Inherit. The result, if not nil, is
// a *ValidationError.
func (c *Context) Validate() error {
	var probs []error
	add := func(format string, args ...any) { probs = append(probs, fmt.Errorf(format, args...)) }
	if !c.Level.valid() {
		add("invalid security level %d", int(c.Level))
	}
	switch {
	case c.MaxExecution < 0:
		add("max execution time %v is negative", c.MaxExecution)
	case c.MaxExecution > MaxExecutionLimit:
		add("max execution time %v exceeds the maximum %v", c.MaxExecution, MaxExecutionLimit)
	}
	switch {
	case c.MaxMemoryBytes < 0:
		add("max memory %d bytes is negative", c.MaxMemoryBytes)
	case c.MaxMemoryBytes > MaxMemoryLimit:
		add("max memory %d bytes exceeds the maximum %d (64 GiB)", c.MaxMemoryBytes, MaxMemoryLimit)
	}
	switch {
	case math.IsNaN(c.MaxCost) || math.IsInf(c.MaxCost, 0):
		add("max cost %v is not a finite number", c.MaxCost)
	case c.MaxCost < 0:
		add("max cost %v is negative", c.MaxCost)
	}
	switch {
	case c.MaxActions < 0:
		add("max actions %d is negative", c.MaxActions)
	case c.MaxActions > MaxActionsLimit:
		add("max actions %d exceeds the maximum %d", c.MaxActions, MaxActionsLimit)
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{":allow", c.AllowCaps}, {":deny", c.DenyCaps}, {":expose-context-to", c.ExposeContextTo}} {
		for _, p := range list.patterns {
			if err := checkCapPattern(p); err != nil {
				probs = append(probs, fmt.Errorf("%s: %w", list.key, err))
			}
		}
	}
	if c.Level == Full {
		for _, p := range c.AllowCaps {
			if p != "*" {
				add(":allow: level full allows every capability, so the allow-list entry %q would be ignored; use level controlled to restrict capabilities", p)
				break
			}
		}
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{":allow-hosts", c.AllowHosts}, {":deny-hosts", c.DenyHosts}} {
		for _, p := range list.patterns {
			if _, err := parseHostPattern(p); err != nil {
				probs = append(probs, fmt.Errorf("%s: %w", list.key, err))
			}
		}
	}
	for _, list := range []struct {
		key   string
		roots []string
	}{{":read", c.ReadRoots}, {":write", c.WriteRoots}} {
		for _, r := range list.roots {
			if err := checkRoot(r); err != nil {
				probs = append(probs, fmt.Errorf("%s: %w", list.key, err))
			}
		}
	}
	for _, e := range c.AllowEnv {
		if e != "*" && !validEnvName(e) {
			add(":env: invalid environment variable name %q", e)
		}
	}
	for _, i := range c.Isolations {
		if !i.valid() {
			add(":isolation: invalid isolation level %d", int(i))
		}
	}
	if len(c.Isolations) == 0 && c.Level != Pure {
		add(":isolation: no isolation level allowed; level %s needs at least one", c.Level)
	}
	if c.Level == Controlled && !c.AllowsIsolation(Isolated) && !c.AllowsIsolation(Sandboxed) {
		if what := c.fileOrNetworkAccess(); what != "" {
			add("context allows %s at level %s but only the inherit isolation level; "+
				"file and network access outside level full requires a sandbox-capable isolation level: allow :isolated or :sandboxed",
				what, c.Level)
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Context: c.Name, Problems: probs}
	}
	return nil
}

// fileNetworkNamespaces are the capability id namespaces whose
// capabilities touch files or the network. consoleCaps are exempt.
var (
	fileNetworkNamespaces = []string{"ccos.io.", "ccos.fs.", "ccos.file.", "ccos.network.", "ccos.net.", "ccos.http."}
	consoleCaps           = []string{"ccos.io.log", "ccos.io.print", "ccos.io.println"}
)

// fileOrNetworkAccess describes the first file or network permission c
// grants, or returns "". Capabilities are recognised by id namespace;
// roots and hosts count regardless of which capability would use them.
func (c *Context) fileOrNetworkAccess() string {
	for _, p := range c.AllowCaps {
		if capPatternTouchesFileOrNetwork(p) {
			return fmt.Sprintf("file or network capabilities (%q)", p)
		}
	}
	switch {
	case len(c.AllowHosts) > 0:
		return "network hosts (:allow-hosts)"
	case len(c.ReadRoots) > 0:
		return "file reads (:read)"
	case len(c.WriteRoots) > 0:
		return "file writes (:write)"
	}
	return ""
}

func capPatternTouchesFileOrNetwork(p string) bool {
	if p == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		for _, ns := range fileNetworkNamespaces {
			if strings.HasPrefix(ns, prefix) || strings.HasPrefix(prefix, ns) {
				return true
			}
		}
		return false
	}
	if slices.Contains(consoleCaps, p) {
		return false
	}
	for _, ns := range fileNetworkNamespaces {
		if strings.HasPrefix(p, ns) {
			return true
		}
	}
	return false
}

// checkCapPattern reports whether p is an exact capability id, a
// "prefix.*" pattern or "*".
func checkCapPattern(p string) error {
	if p == "*" {
		return nil
	}
	base := strings.TrimSuffix(p, ".*")
	switch {
	case base == "":
		return fmt.Errorf("empty capability pattern %q", p)
	case strings.Contains(base, "*"):
		return fmt.Errorf("capability pattern %q: '*' is only allowed as \"*\" or a trailing \".*\"", p)
	case strings.HasPrefix(base, ".") || strings.HasSuffix(base, ".") || strings.Contains(base, ".."):
		return fmt.Errorf("capability pattern %q has an empty id segment", p)
	case strings.IndexFunc(base, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("capability pattern %q contains white space or control characters", p)
	}
	return nil
}

func checkRoot(r string) error {
	switch {
	case r == "*":
		return nil
	case r == "":
		return errors.New("empty root")
	case strings.IndexByte(r, 0) >= 0:
		return fmt.Errorf("root %q contains a NUL byte", r)
	case !filepath.IsAbs(r):
		return fmt.Errorf("root %q is not an absolute path", r)
	}
	return nil
}

func validEnvName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "=\x00")
}

// MatchCapability reports whether capability id matches pattern: "*"
// matches every id, "prefix.*" matches ids that start with "prefix." (not
// "prefix" itself), anything else matches only the identical id.
func MatchCapability(pattern, id string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, ".*"):
		prefix := pattern[:len(pattern)-1]
		return len(id) > len(prefix) && strings.HasPrefix(id, prefix)
	default:
		return pattern == id
	}
}

// capPatternCovers reports whether every id matched by child is matched by
// parent.
func capPatternCovers(parent, child string) bool {
	switch {
	case parent == "*":
		return true
	case child == "*":
		return false
	case strings.HasSuffix(parent, ".*"):
		if strings.HasSuffix(child, ".*") {
			return strings.HasPrefix(child[:len(child)-1], parent[:len(parent)-1])
		}
		return MatchCapability(parent, child)
	default:
		return parent == child
	}
}

// AllowsCapability returns nil if c allows calling capability id, or a
// *Violation of kind "capability". Pure allows nothing; deny patterns win
// over everything; Full allows every other id; Controlled allows ids that
// match an allow pattern.
func (c *Context) AllowsCapability(id string) error {
	deny := func(format string, args ...any) error {
		return &Violation{Kind: "capability", Subject: id, Reason: fmt.Sprintf(format, args...)}
	}
	if id == "" {
		return deny("empty capability id")
	}
	if c.Level == Pure {
		return deny("the pure security level allows no capabilities")
	}
	for _, p := range c.DenyCaps {
		if MatchCapability(p, id) {
			return deny("matches deny pattern %q of context %s", p, c.displayName())
		}
	}
	switch c.Level {
	case Full:
		return nil
	case Controlled:
		for _, p := range c.AllowCaps {
			if MatchCapability(p, id) {
				return nil
			}
		}
		return deny("not on the allow-list of context %s", c.displayName())
	}
	return deny("invalid security level %d", int(c.Level))
}

// ExposesContextTo reports whether capability id may receive the
// read-only snapshot of plan, intent and step ids.
func (c *Context) ExposesContextTo(id string) bool {
	for _, p := range c.ExposeContextTo {
		if MatchCapability(p, id) {
			return true
		}
	}
	return false
}

// isolations returns the effective isolation list: a Pure context with
// none listed runs at Inherit.
func (c *Context) isolations() []Isolation {
	if len(c.Isolations) == 0 && c.Level == Pure {
		return []Isolation{Inherit}
	}
	return c.Isolations
}

// AllowsIsolation reports whether steps may run at isolation level i. A
// Pure context with no Isolations listed allows Inherit only.
func (c *Context) AllowsIsolation(i Isolation) bool {
	return slices.Contains(c.isolations(), i)
}

// ResolveIsolation picks the isolation level a step whose derived level is
// derived runs at: derived itself if allowed; otherwise the lowest allowed
// level above it (more isolation is always a narrowing); otherwise, only if
// the context opts in to Downgrade, the highest allowed level below it
// (downgraded reports this, and the caller records it); otherwise a
// *Violation of kind "isolation" (refuse the step).
func (c *Context) ResolveIsolation(derived Isolation) (level Isolation, downgraded bool, err error) {
	if !derived.valid() {
		return derived, false, &Violation{Kind: "isolation", Subject: derived.String(), Reason: "invalid isolation level"}
	}
	if c.AllowsIsolation(derived) {
		return derived, false, nil
	}
	for i := derived + 1; i <= Sandboxed; i++ {
		if c.AllowsIsolation(i) {
			return i, false, nil
		}
	}
	if c.Downgrade {
		for i := derived - 1; i >= Inherit; i-- {
			if c.AllowsIsolation(i) {
				return i, true, nil
			}
		}
	}
	allowed := make([]string, 0, 3)
	for _, i := range c.isolations() {
		allowed = append(allowed, i.String())
	}
	return derived, false, &Violation{Kind: "isolation", Subject: derived.String(),
		Reason: fmt.Sprintf("context %s allows only [%s] and refuses to downgrade", c.displayName(), strings.Join(allowed, " "))}
}

// CheckEnv returns nil if c allows reading environment variable name, or a
// *Violation of kind "env".
func (c *Context) CheckEnv(name string) error {
	deny := func(reason string) error { return &Violation{Kind: "env", Subject: name, Reason: reason} }
	switch {
	case !validEnvName(name):
		return deny("invalid environment variable name")
	case c.Level == Pure:
		return deny("the pure security level allows no environment access")
	case slices.Contains(c.AllowEnv, "*") || slices.Contains(c.AllowEnv, name):
		return nil
	}
	return deny(fmt.Sprintf("not on the environment allow-list of context %s", c.displayName()))
}

// Narrow returns the runtime context for a child (a nested run, a
// sub-plan, a with-security-profile block) that asks for child within c.
// The child must be a narrowing of c: its level is at most c's; every
// capability and context-exposure pattern it allows is covered by c's;
// every host pattern, read root and write root it allows lies within c's
// (write roots count as readable); its environment names are allowed by c;
// its limits do not exceed c's non-zero limits; its isolation levels are a
// subset of c's; and it opts in to Downgrade only if c does. Anything that
// would widen c is refused with a *Violation of kind "context" naming every
// offending field; nothing is silently widened.
//
// The result is the child with c's deny lists added (DenyCaps and DenyHosts
// are unions). Fields the child leaves unset where unset means "no
// restriction" take c's value instead: zero limits, empty Isolations, an
// empty AllowHosts at level Full, and an empty Name. The result is
// validated.
func (c *Context) Narrow(child *Context) (*Context, error) {
	if child == nil {
		return c.Clone(), nil
	}
	r := child.Clone()
	var fields, problems []string
	widen := func(field, format string, args ...any) {
		if !slices.Contains(fields, field) {
			fields = append(fields, field)
		}
		problems = append(problems, fmt.Sprintf(format, args...))
	}

	if !c.Level.valid() {
		widen(":level", "the parent has an invalid security level %d", int(c.Level))
	} else if !r.Level.valid() || r.Level > c.Level {
		widen(":level", "level %s is wider than the parent's level %s", r.Level, c.Level)
	}

	parentCaps := c.AllowCaps
	if c.Level == Full {
		parentCaps = []string{"*"}
	}
	for _, p := range r.AllowCaps {
		if !coveredBy(parentCaps, p, capPatternCovers) {
			widen(":allow", "capability pattern %q is not covered by the parent's allow-list", p)
		}
	}
	r.DenyCaps = union(c.DenyCaps, r.DenyCaps)

	parentAllHosts := c.Level == Full && len(c.AllowHosts) == 0
	switch {
	case parentAllHosts:
	case r.Level == Full && len(r.AllowHosts) == 0:
		r.AllowHosts = slices.Clone(c.AllowHosts)
	default:
		for _, h := range r.AllowHosts {
			if !coveredBy(c.AllowHosts, h, hostPatternCovers) {
				widen(":allow-hosts", "host pattern %q is not covered by the parent's host allow-list", h)
			}
		}
	}
	r.DenyHosts = union(c.DenyHosts, r.DenyHosts)

	parentReadable := append(slices.Clone(c.ReadRoots), c.WriteRoots...)
	for _, root := range r.ReadRoots {
		if !rootCovered(parentReadable, root) {
			widen(":read", "read root %q is not within the parent's readable roots", root)
		}
	}
	for _, root := range r.WriteRoots {
		if !rootCovered(c.WriteRoots, root) {
			widen(":write", "write root %q is not within the parent's write roots", root)
		}
	}
	for _, e := range r.AllowEnv {
		if !slices.Contains(c.AllowEnv, "*") && !slices.Contains(c.AllowEnv, e) {
			widen(":env", "environment variable %q is not allowed by the parent", e)
		}
	}

	narrowLimit(&r.MaxExecution, c.MaxExecution, func(child, parent time.Duration) {
		widen(":max-execution-ms", "max execution time %v exceeds the parent's %v", child, parent)
	})
	narrowLimit(&r.MaxMemoryBytes, c.MaxMemoryBytes, func(child, parent int64) {
		widen(":max-memory-bytes", "max memory %d bytes exceeds the parent's %d", child, parent)
	})
	narrowLimit(&r.MaxCost, c.MaxCost, func(child, parent float64) {
		widen(":max-cost", "max cost %v exceeds the parent's %v", child, parent)
	})
	narrowLimit(&r.MaxActions, c.MaxActions, func(child, parent int) {
		widen(":max-actions", "max actions %d exceeds the parent's %d", child, parent)
	})

	if len(r.Isolations) == 0 {
		r.Isolations = slices.Clone(c.isolations())
	} else {
		for _, i := range r.Isolations {
			if !c.AllowsIsolation(i) {
				widen(":isolation", "isolation level %s is not allowed by the parent", i)
			}
		}
	}
	if r.Downgrade && !c.Downgrade {
		widen(":on-disallowed-isolation", "the child opts in to :downgrade but the parent refuses steps at disallowed isolation levels")
	}
	for _, p := range r.ExposeContextTo {
		if !coveredBy(c.ExposeContextTo, p, capPatternCovers) {
			widen(":expose-context-to", "context exposure to %q is not allowed by the parent", p)
		}
	}
	if r.Name == "" {
		r.Name = c.Name
	}
	if len(problems) > 0 {
		return nil, &Violation{Kind: "context", Subject: strings.Join(fields, " "),
			Reason: fmt.Sprintf("the child context would widen its parent %s: %s", c.displayName(), strings.Join(problems, "; "))}
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("narrowed context: %w", err)
	}
	return r, nil
}

// narrowLimit applies the limit rule of Narrow: a zero child limit takes
// the parent's; a child limit above a non-zero parent limit widens.
func narrowLimit[T ~int | ~int64 | ~float64](child *T, parent T, widen func(child, parent T)) {
	switch {
	case parent == 0:
	case *child == 0:
		*child = parent
	case *child > parent:
		widen(*child, parent)
	}
}

func coveredBy(parents []string, child string, covers func(parent, child string) bool) bool {
	for _, p := range parents {
		if covers(p, child) {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// rootCovered reports whether root (a child root) lies within one of the
// parent roots, comparing canonical paths.
func rootCovered(parents []string, root string) bool {
	if slices.Contains(parents, "*") {
		return true
	}
	if root == "*" || !filepath.IsAbs(root) {
		return false
	}
	cr, err := CanonicalPath(root)
	if err != nil {
		return false
	}
	for _, p := range parents {
		if !filepath.IsAbs(p) {
			continue
		}
		if cp, err := CanonicalPath(p); err == nil && Within(cp, cr) {
			return true
		}
	}
	return false
}

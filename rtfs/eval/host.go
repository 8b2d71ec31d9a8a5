package eval

import (
	"errors"

	"github.com/ccos-go/ccos/rtfs/value"

	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
)

// StepSpec describes a step that is about to start.
type StepSpec struct {
	Kind resolve.StepKind
	// Name is the step's name; branches of step-parallel are named
	// "parent/i".
	Name string
	// Branch is true for one branch of a step-parallel.
	Branch bool
	// Options holds the evaluated step options (:isolation, ...).
	Options map[string]Value
	Pos     syntax.Pos
	// Form is the step's source, for hosts that analyse what it may do.
	Form syntax.Node
}

// Aborter is implemented by host errors that must stop the evaluation
// rather than be handled by the plan: a run that pauses for a human
// answer, or a run whose orchestrator gave up. try/catch lets them
// through (finally clauses still run).
type Aborter interface {
	error
	AbortsEvaluation()
}

func aborts(err error) bool {
	var a Aborter
	return errors.As(err, &a)
}

// ErrRetryStep, returned by Host.EndStep for a failed step, makes the
// evaluator run the step's body again inside the same open step (the host
// has decided and recorded a retry). The host sees EndStep again when the
// new attempt ends.
var ErrRetryStep = errors.New("retry step")

// Host is what the evaluator needs from the outside world: the
// orchestration forms of RTFS.md §6 all go through it. The evaluator keeps
// the current step in the Thread (Thread.Step) and passes the thread to
// every method.
type Host interface {
	// BeginStep opens a step nested in th.Step() and returns its handle.
	BeginStep(th *Thread, spec *StepSpec) (step any, err error)
	// EndStep closes a step with its result or error.
	EndStep(th *Thread, step any, result Value, err error) error
	// CallCapability runs a capability and returns its result.
	CallCapability(th *Thread, id string, args []Value) (Value, error)
	// Lookup reads a host-context value (@plan-id, context data, ...).
	Lookup(th *Thread, name string) (Value, bool, error)
	// ContextSet stores a value in the current step's context.
	ContextSet(th *Thread, key string, v Value) error
	// MergeBranches merges the contexts of finished step-parallel
	// branches into the current step's context.
	MergeBranches(th *Thread, branches []any, policy string) error
	// Log records a log-step or println-style log line.
	Log(th *Thread, level string, args []Value) error
	// Discover queries the capability marketplace.
	Discover(th *Thread, criteria Value) (Value, error)
	// NarrowProfile applies with-security-profile options for the
	// duration of a body; the returned function restores the profile.
	NarrowProfile(th *Thread, opts Value) (restore func(), err error)
}

// MergeBranchValue is the :merge-policy of step-parallel (RTFS.md §6) for
// one context key that a branch set to v: the value the enclosing step
// keeps, given its own value old (exists says whether it had one).
// :keep-existing keeps old, :overwrite takes v, :merge deep-merges maps
// and concatenates vectors.
func MergeBranchValue(policy string, old Value, exists bool, v Value) Value {
	switch {
	case !exists, policy == "overwrite":
		return v
	case policy == "merge":
		return deepMerge(old, v)
	}
	return old
}

// deepMerge merges maps recursively and concatenates vectors; otherwise
// the new value wins.
func deepMerge(old, v Value) Value {
	switch o := old.(type) {
	case *value.Map:
		if n, ok := v.(*value.Map); ok {
			out := o
			n.Range(func(k, nv value.Value) bool {
				if ov, ok := out.Get(k); ok {
					out = out.Assoc(k, deepMerge(ov, nv))
				} else {
					out = out.Assoc(k, nv)
				}
				return true
			})
			return out
		}
	case *value.Vector:
		if n, ok := v.(*value.Vector); ok {
			b := o.Builder()
			n.Range(func(_ int, x value.Value) bool { b.Append(x); return true })
			return b.Vector()
		}
	}
	return v
}

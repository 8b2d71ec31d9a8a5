package eval

import (
	"fmt"
	"sync"

	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// DefaultMaxIterations bounds step-loop when :max-iterations is absent.
const DefaultMaxIterations = 10_000

type stepNode struct {
	kind      resolve.StepKind
	name      string
	pos       syntax.Pos
	form      syntax.Node
	optKeys   []string
	optVals   []node
	params    node
	paramsPat patternCode
	body      node
	cond      node
	then      node
	els       node
	branches  []*fnNode
}

func (n *stepNode) eval(th *Thread, env []Value) (Value, error) {
	opts := make(map[string]Value, len(n.optKeys))
	for i, k := range n.optKeys {
		v, err := n.optVals[i].eval(th, env)
		if err != nil {
			return nil, err
		}
		opts[k] = v
	}
	spec := &StepSpec{Kind: n.kind, Name: n.name, Options: opts, Pos: n.pos, Form: n.form}
	h, err := th.host.BeginStep(th, spec)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	var v Value
	var par *parallelResult
	for {
		prev := th.SetStep(h)
		v, err = n.run(th, env, opts)
		th.SetStep(prev)
		par = nil
		if p, ok := v.(*parallelResult); ok {
			par, v = p, p.values
		}
		endErr := th.host.EndStep(th, h, v, err)
		if endErr == ErrRetryStep && err != nil {
			continue
		}
		if endErr != nil && err == nil {
			err = atPos(endErr, n.pos)
		}
		break
	}
	if err != nil {
		return nil, err
	}
	if par != nil {
		// Branch contexts merge into the step that contains the
		// step-parallel, where the code after it runs.
		if err := th.host.MergeBranches(th, par.handles, par.policy); err != nil {
			return nil, atPos(err, n.pos)
		}
	}
	return v, nil
}

// parallelResult carries branch handles from run to eval, which merges
// their contexts after the step-parallel step has ended.
type parallelResult struct {
	values  Value
	handles []any
	policy  string
}

func (*parallelResult) TypeName() string { return "parallel-result" }

func (n *stepNode) run(th *Thread, env []Value, opts map[string]Value) (Value, error) {
	if n.params != nil {
		p, err := n.params.eval(th, env)
		if err != nil {
			return nil, err
		}
		if err := n.paramsPat.bind(th, env, p); err != nil {
			return nil, err
		}
	}
	switch n.kind {
	case resolve.StepIf:
		c, err := n.cond.eval(th, env)
		if err != nil {
			return nil, err
		}
		if value.Truthy(c) {
			return n.then.eval(th, env)
		}
		return n.els.eval(th, env)
	case resolve.StepLoop:
		limit := int64(DefaultMaxIterations)
		if m, ok := opts["max-iterations"]; ok {
			i, ok := m.(value.Int)
			if !ok || i < 0 {
				return nil, value.Errorf(value.ErrType, "step-loop :max-iterations must be a non-negative integer")
			}
			limit = int64(i)
		}
		var last Value
		for iter := int64(0); ; iter++ {
			if err := th.Tick(); err != nil {
				return nil, err
			}
			c, err := n.cond.eval(th, env)
			if err != nil {
				return nil, err
			}
			if !value.Truthy(c) {
				return last, nil
			}
			if iter >= limit {
				return nil, errAt(n.pos, value.ErrLimit, "step-loop %q exceeded %d iterations", n.name, limit)
			}
			if last, err = n.body.eval(th, env); err != nil {
				return nil, err
			}
		}
	case resolve.StepParallel:
		policy := "keep-existing"
		if p, ok := opts["merge-policy"]; ok {
			name, ok := nameOf(p)
			if !ok || (name != "keep-existing" && name != "overwrite" && name != "merge") {
				return nil, value.Errorf(value.ErrType, "step-parallel :merge-policy must be :keep-existing, :overwrite or :merge")
			}
			policy = name
		}
		results, handles, err := th.runBranches(env, n.branches, func(i int) *StepSpec {
			return &StepSpec{Kind: resolve.StepPlain, Name: fmt.Sprintf("%s/%d", n.name, i), Branch: true, Pos: n.pos}
		})
		if err != nil {
			return nil, err
		}
		return &parallelResult{values: value.NewVector(results...), handles: handles, policy: policy}, nil
	}
	return n.body.eval(th, env)
}

// runBranches runs each branch closure on its own child thread and, when
// spec is not nil, inside its own host step. It waits for all of them and
// returns the first error in branch order.
func (th *Thread) runBranches(env []Value, branches []*fnNode, spec func(i int) *StepSpec) ([]Value, []any, error) {
	k := len(branches)
	results := make([]Value, k)
	errs := make([]error, k)
	handles := make([]any, k)
	children := make([]*Thread, k)
	var wg sync.WaitGroup
	for i, b := range branches {
		fn := b.makeClosure(env)
		child := th.Child()
		children[i] = child
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = value.Errorf(value.ErrGeneric, "internal error in parallel branch: %v", r)
				}
			}()
			if spec == nil {
				results[i], errs[i] = child.Call(fn)
				return
			}
			h, err := child.host.BeginStep(child, spec(i))
			if err != nil {
				errs[i] = err
				return
			}
			handles[i] = h
			child.SetStep(h)
			v, err := child.Call(fn)
			if endErr := child.host.EndStep(child, h, v, err); endErr != nil && err == nil {
				err = endErr
			}
			results[i], errs[i] = v, err
		}()
	}
	wg.Wait()
	var joinErr error
	for _, c := range children {
		if err := th.Join(c); err != nil && joinErr == nil {
			joinErr = err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return results, handles, joinErr
}

type parallelNode struct {
	keys     []value.Keyword
	branches []*fnNode
	pos      syntax.Pos
}

func (n *parallelNode) eval(th *Thread, env []Value) (Value, error) {
	results, _, err := th.runBranches(env, n.branches, nil)
	if err != nil {
		return nil, err
	}
	b := value.NewMapBuilder()
	for i, k := range n.keys {
		b.Assoc(k, results[i])
	}
	return b.Map(), nil
}

type callCapNode struct {
	id   node
	args []node
	pos  syntax.Pos
}

func (n *callCapNode) eval(th *Thread, env []Value) (Value, error) {
	idv, err := n.id.eval(th, env)
	if err != nil {
		return nil, err
	}
	id, ok := nameOf(idv)
	if !ok {
		return nil, errAt(n.pos, value.ErrType, "capability id must be a keyword or string, got %s", value.TypeName(idv))
	}
	args := make([]Value, len(n.args))
	for i, a := range n.args {
		if args[i], err = a.eval(th, env); err != nil {
			return nil, err
		}
	}
	v, err := th.host.CallCapability(th, id, args)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	return v, nil
}

type logStepNode struct {
	level string
	args  []node
	pos   syntax.Pos
}

func (n *logStepNode) eval(th *Thread, env []Value) (Value, error) {
	args := make([]Value, len(n.args))
	for i, a := range n.args {
		v, err := a.eval(th, env)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	if err := th.host.Log(th, n.level, args); err != nil {
		return nil, atPos(err, n.pos)
	}
	return nil, nil
}

type discoverNode struct {
	criteria node
	pos      syntax.Pos
}

func (n *discoverNode) eval(th *Thread, env []Value) (Value, error) {
	c, err := n.criteria.eval(th, env)
	if err != nil {
		return nil, err
	}
	v, err := th.host.Discover(th, c)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	return v, nil
}

type withProfileNode struct {
	opts node
	body node
	pos  syntax.Pos
}

func (n *withProfileNode) eval(th *Thread, env []Value) (Value, error) {
	o, err := n.opts.eval(th, env)
	if err != nil {
		return nil, err
	}
	restore, err := th.host.NarrowProfile(th, o)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	defer restore()
	return n.body.eval(th, env)
}

// NoHost is the host of a thread created without one: steps run their
// bodies unrecorded, there is no context and every capability is refused.
type NoHost struct{}

func (NoHost) BeginStep(*Thread, *StepSpec) (any, error)   { return nil, nil }
func (NoHost) EndStep(*Thread, any, Value, error) error    { return nil }
func (NoHost) Lookup(*Thread, string) (Value, bool, error) { return nil, false, nil }
func (NoHost) MergeBranches(*Thread, []any, string) error  { return nil }
func (NoHost) Log(*Thread, string, []Value) error          { return nil }
func (NoHost) Discover(*Thread, Value) (Value, error)      { return value.EmptyVector, nil }
func (NoHost) NarrowProfile(*Thread, Value) (func(), error) {
	return func() {}, nil
}
func (NoHost) CallCapability(_ *Thread, id string, _ []Value) (Value, error) {
	return nil, value.Errorf(value.ErrCapability, "no host: cannot call capability %s", id)
}
func (NoHost) ContextSet(*Thread, string, Value) error {
	return value.Errorf(value.ErrCapability, "no host: step context is unavailable")
}

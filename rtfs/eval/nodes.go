package eval

import (
	"errors"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

type constNode struct{ v Value }

func (n *constNode) eval(*Thread, []Value) (Value, error) { return n.v, nil }

type localNode struct{ slot int }

func (n *localNode) eval(_ *Thread, env []Value) (Value, error) { return env[n.slot], nil }

// cellNode reads a captured local or a free variable.
type cellNode struct{ slot int }

func (n *cellNode) eval(_ *Thread, env []Value) (Value, error) {
	return env[n.slot].(*Cell).V, nil
}

type globalNode struct {
	g   *Global
	pos syntax.Pos
}

func (n *globalNode) eval(*Thread, []Value) (Value, error) {
	if !n.g.defined {
		return nil, undefined(n.g.Name, n.pos)
	}
	return n.g.value, nil
}

func undefined(name string, pos syntax.Pos) error {
	return errAt(pos, value.ErrUndefined, "undefined symbol: %s", name)
}

type ifNode struct{ cond, then, els node }

func (n *ifNode) eval(th *Thread, env []Value) (Value, error) {
	c, err := n.cond.eval(th, env)
	if err != nil {
		return nil, err
	}
	switch x := c.(type) {
	case nil:
		return n.els.eval(th, env)
	case value.Bool:
		if !x {
			return n.els.eval(th, env)
		}
	}
	return n.then.eval(th, env)
}

type doNode struct{ exprs []node }

func (n *doNode) eval(th *Thread, env []Value) (Value, error) {
	last := len(n.exprs) - 1
	for _, e := range n.exprs[:last] {
		if _, err := e.eval(th, env); err != nil {
			return nil, err
		}
	}
	return n.exprs[last].eval(th, env)
}

type letNode struct {
	cells []int // letrec cells created before the bindings
	inits []node
	pats  []patternCode
	body  node
}

func (n *letNode) eval(th *Thread, env []Value) (Value, error) {
	for _, s := range n.cells {
		env[s] = &Cell{}
	}
	for i, init := range n.inits {
		v, err := init.eval(th, env)
		if err != nil {
			return nil, err
		}
		if err := n.pats[i].bind(th, env, v); err != nil {
			return nil, err
		}
	}
	return n.body.eval(th, env)
}

// fnNode creates a closure capturing cells from the current frame.
type fnNode struct {
	proto    *fnProto
	captures []int
}

func (n *fnNode) eval(_ *Thread, env []Value) (Value, error) {
	return n.makeClosure(env), nil
}

func (n *fnNode) makeClosure(env []Value) *Closure {
	c := &Closure{proto: n.proto}
	if len(n.captures) > 0 {
		c.free = make([]*Cell, len(n.captures))
		for i, s := range n.captures {
			c.free[i] = env[s].(*Cell)
		}
	}
	return c
}

type callNode struct {
	g    *Global // set when fn is a global reference
	fn   node
	args []node
	pos  syntax.Pos
	name string
}

func (n *callNode) eval(th *Thread, env []Value) (Value, error) {
	var f Value
	var err error
	if n.g != nil { // calls of globals skip a dynamic dispatch
		if !n.g.defined {
			return nil, undefined(n.g.Name, n.fn.(*globalNode).pos)
		}
		f = n.g.value
	} else if f, err = n.fn.eval(th, env); err != nil {
		return nil, err
	}
	if c, ok := f.(*Closure); ok {
		nargs := len(n.args)
		a := c.proto.arityFor(nargs)
		if a == nil {
			return nil, atPos(arityError(c.proto.name, nargs), n.pos)
		}
		frame := th.stack.frame(nargs, a.nlocals)
		for i, arg := range n.args {
			v, err := arg.eval(th, env)
			if err != nil {
				th.stack.free(frame)
				return nil, err
			}
			frame[i] = v
		}
		v, err := th.runClosure(c, a, frame, nargs)
		th.stack.free(frame)
		if err != nil {
			return nil, addFrame(err, nameOr(c.proto.name), n.pos)
		}
		return v, nil
	}
	args := th.stack.alloc(len(n.args))
	for i, arg := range n.args {
		v, err := arg.eval(th, env)
		if err != nil {
			th.stack.free(args)
			return nil, err
		}
		args[i] = v
	}
	var v Value
	if b, ok := f.(*Builtin); ok {
		v, err = th.callBuiltin(b, args)
	} else {
		v, err = applyData(f, args)
	}
	th.stack.free(args)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	return v, nil
}

// call1Node is a call of a global function with one argument, the
// commonest call shape in recursive code; it skips the argument loop.
type call1Node struct {
	callNode
	arg node
}

func (n *call1Node) eval(th *Thread, env []Value) (Value, error) {
	if !n.g.defined {
		return nil, undefined(n.g.Name, n.fn.(*globalNode).pos)
	}
	c, ok := n.g.value.(*Closure)
	if !ok {
		return n.callNode.eval(th, env)
	}
	a := c.proto.arityFor(1)
	if a == nil {
		return nil, atPos(arityError(c.proto.name, 1), n.pos)
	}
	x, err := n.arg.eval(th, env)
	if err != nil {
		return nil, err
	}
	frame := th.stack.frame(1, a.nlocals)
	frame[0] = x
	v, err := th.runClosure(c, a, frame, 1)
	th.stack.free(frame)
	if err != nil {
		return nil, addFrame(err, nameOr(c.proto.name), n.pos)
	}
	return v, nil
}

type defNode struct {
	g    *Global
	env  *Env
	typ  *types.Type
	init node
	pos  syntax.Pos
}

func (n *defNode) eval(th *Thread, env []Value) (Value, error) {
	v, err := n.init.eval(th, env)
	if err != nil {
		return nil, err
	}
	if n.typ != nil {
		if err := checkType(n.typ, v, n.g.Name, n.pos); err != nil {
			return nil, err
		}
	}
	n.env.mu.Lock()
	n.g.value, n.g.defined = v, true
	n.env.mu.Unlock()
	return v, nil
}

type setLocalNode struct {
	slot int
	cell bool
	val  node
	typ  *types.Type
	name string
	pos  syntax.Pos
}

func (n *setLocalNode) eval(th *Thread, env []Value) (Value, error) {
	v, err := n.val.eval(th, env)
	if err != nil {
		return nil, err
	}
	if n.typ != nil {
		if err := checkType(n.typ, v, n.name, n.pos); err != nil {
			return nil, err
		}
	}
	if n.cell {
		env[n.slot].(*Cell).V = v
	} else {
		env[n.slot] = v
	}
	return v, nil
}

type setGlobalNode struct {
	g   *Global
	val node
	pos syntax.Pos
}

func (n *setGlobalNode) eval(th *Thread, env []Value) (Value, error) {
	if !n.g.defined {
		return nil, errAt(n.pos, value.ErrUndefined, "set!: %s is not bound", n.g.Name)
	}
	v, err := n.val.eval(th, env)
	if err != nil {
		return nil, err
	}
	n.g.value = v
	return v, nil
}

type loopNode struct {
	inits []node
	pats  []patternCode
	body  node
}

func (n *loopNode) eval(th *Thread, env []Value) (Value, error) {
	for i, init := range n.inits {
		v, err := init.eval(th, env)
		if err != nil {
			return nil, err
		}
		if err := n.pats[i].bind(th, env, v); err != nil {
			return nil, err
		}
	}
	for {
		v, err := n.body.eval(th, env)
		if err != nil {
			return nil, err
		}
		if !isRecur(v) {
			return v, nil
		}
		if err := th.Tick(); err != nil {
			return nil, err
		}
	}
}

type recurLoopNode struct {
	loop *loopNode
	args []node
}

func (n *recurLoopNode) eval(th *Thread, env []Value) (Value, error) {
	var small [4]Value
	vals := small[:0]
	if len(n.args) > len(small) {
		vals = make([]Value, 0, len(n.args))
	}
	for _, a := range n.args {
		v, err := a.eval(th, env)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	for i, p := range n.loop.pats {
		if err := p.bind(th, env, vals[i]); err != nil {
			return nil, err
		}
	}
	return recurSignal, nil
}

// simpleSlots returns the slots of patterns that are all plain locals
// (not captured, untyped), which recur can assign directly.
func simpleSlots(pats []patternCode) ([]int, bool) {
	slots := make([]int, len(pats))
	for i, p := range pats {
		sp, ok := p.(*slotPat)
		if !ok || sp.cell || sp.typ != nil {
			return nil, false
		}
		slots[i] = sp.slot
	}
	return slots, true
}

// recurSlotsNode is recur to a loop whose bindings are plain locals: the
// new values are computed first (they may read the old ones) and then
// stored.
type recurSlotsNode struct {
	slots []int
	args  []node
}

func (n *recurSlotsNode) eval(th *Thread, env []Value) (Value, error) {
	switch len(n.args) {
	case 1:
		a, err := n.args[0].eval(th, env)
		if err != nil {
			return nil, err
		}
		env[n.slots[0]] = a
	case 2:
		a, err := n.args[0].eval(th, env)
		if err != nil {
			return nil, err
		}
		b, err := n.args[1].eval(th, env)
		if err != nil {
			return nil, err
		}
		env[n.slots[0]], env[n.slots[1]] = a, b
	default:
		vals := th.stack.alloc(len(n.args))
		for i, a := range n.args {
			v, err := a.eval(th, env)
			if err != nil {
				th.stack.free(vals)
				return nil, err
			}
			vals[i] = v
		}
		for i, s := range n.slots {
			env[s] = vals[i]
		}
		th.stack.free(vals)
	}
	return recurSignal, nil
}

type recurFnNode struct{ args []node }

func (n *recurFnNode) eval(th *Thread, env []Value) (Value, error) {
	var small [4]Value
	vals := small[:0]
	if len(n.args) > len(small) {
		vals = make([]Value, 0, len(n.args))
	}
	for _, a := range n.args {
		v, err := a.eval(th, env)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	copy(env, vals)
	return recurSignal, nil
}

type andNode struct{ exprs []node }

func (n *andNode) eval(th *Thread, env []Value) (Value, error) {
	var v Value = value.True
	for _, e := range n.exprs {
		var err error
		if v, err = e.eval(th, env); err != nil {
			return nil, err
		}
		if !value.Truthy(v) {
			return v, nil
		}
	}
	return v, nil
}

type orNode struct{ exprs []node }

func (n *orNode) eval(th *Thread, env []Value) (Value, error) {
	var v Value
	for _, e := range n.exprs {
		var err error
		if v, err = e.eval(th, env); err != nil {
			return nil, err
		}
		if value.Truthy(v) {
			return v, nil
		}
	}
	return v, nil
}

type caseNode struct {
	x      node
	values [][]Value
	bodies []node
	dflt   node
	pos    syntax.Pos
}

func (n *caseNode) eval(th *Thread, env []Value) (Value, error) {
	x, err := n.x.eval(th, env)
	if err != nil {
		return nil, err
	}
	for i, vs := range n.values {
		for _, v := range vs {
			if value.Equal(x, v) {
				return n.bodies[i].eval(th, env)
			}
		}
	}
	if n.dflt != nil {
		return n.dflt.eval(th, env)
	}
	return nil, errAt(n.pos, value.ErrMatch, "no case clause matching %s", truncate(value.Repr(x)))
}

type matchNode struct {
	x      node
	pats   []matchCode
	bodies []node
	pos    syntax.Pos
}

func (n *matchNode) eval(th *Thread, env []Value) (Value, error) {
	x, err := n.x.eval(th, env)
	if err != nil {
		return nil, err
	}
	for i, p := range n.pats {
		ok, err := p.match(th, env, x)
		if err != nil {
			return nil, err
		}
		if ok {
			return n.bodies[i].eval(th, env)
		}
	}
	return nil, errAt(n.pos, value.ErrMatch, "no match clause matches %s", truncate(value.Repr(x)))
}

type catchCode struct {
	typ  value.Keyword // "" catches everything (but limits)
	slot int
	cell bool
	body node
}

type tryNode struct {
	body    node
	catches []catchCode
	finally node
}

// uncatchable reports whether a catch-all clause must let err through:
// resource limits stop a runaway plan even if it wraps itself in try.
func uncatchable(e *value.Error) bool {
	return e.Type == value.ErrTimeout || e.Type == value.ErrLimit
}

func (n *tryNode) eval(th *Thread, env []Value) (Value, error) {
	v, err := n.body.eval(th, env)
	if err != nil && !aborts(err) {
		e := value.AsError(err)
		for _, c := range n.catches {
			if c.typ == e.Type || (c.typ == "" && !uncatchable(e)) {
				if c.cell {
					env[c.slot] = &Cell{V: e}
				} else {
					env[c.slot] = e
				}
				v, err = c.body.eval(th, env)
				break
			}
		}
	}
	if n.finally != nil {
		if _, ferr := n.finally.eval(th, env); ferr != nil {
			return nil, ferr
		}
	}
	return v, err
}

type throwNode struct {
	x   node
	pos syntax.Pos
}

func (n *throwNode) eval(th *Thread, env []Value) (Value, error) {
	v, err := n.x.eval(th, env)
	if err != nil {
		return nil, err
	}
	var e *value.Error
	switch x := v.(type) {
	case *value.Error:
		e = x
	case value.String:
		e = &value.Error{Type: value.ErrGeneric, Message: string(x), Data: x}
	default:
		e = &value.Error{Type: value.ErrGeneric, Message: value.Repr(v), Data: v}
	}
	if !e.Pos.IsValid() {
		e.Pos = n.pos
	}
	return nil, e
}

type vectorNode struct{ elems []node }

func (n *vectorNode) eval(th *Thread, env []Value) (Value, error) {
	b := value.NewVectorBuilder()
	for _, e := range n.elems {
		v, err := e.eval(th, env)
		if err != nil {
			return nil, err
		}
		b.Append(v)
	}
	return b.Vector(), nil
}

type mapNode struct {
	elems []node
	pos   syntax.Pos
}

func (n *mapNode) eval(th *Thread, env []Value) (Value, error) {
	b := value.NewMapBuilder()
	for i := 0; i < len(n.elems); i += 2 {
		k, err := n.elems[i].eval(th, env)
		if err != nil {
			return nil, err
		}
		v, err := n.elems[i+1].eval(th, env)
		if err != nil {
			return nil, err
		}
		if _, dup := b.Get(k); dup {
			return nil, errAt(n.pos, value.ErrKey, "duplicate key %s in map literal", truncate(value.Repr(k)))
		}
		b.Assoc(k, v)
	}
	return b.Map(), nil
}

type setNode struct{ elems []node }

func (n *setNode) eval(th *Thread, env []Value) (Value, error) {
	b := value.NewSetBuilder()
	for _, e := range n.elems {
		v, err := e.eval(th, env)
		if err != nil {
			return nil, err
		}
		b.Add(v)
	}
	return b.Set(), nil
}

type derefNode struct {
	x   node
	pos syntax.Pos
}

func (n *derefNode) eval(th *Thread, env []Value) (Value, error) {
	v, err := n.x.eval(th, env)
	if err != nil {
		return nil, err
	}
	return deref(v, n.pos)
}

func deref(v Value, pos syntax.Pos) (Value, error) {
	if a, ok := v.(*value.Atom); ok {
		return a.Deref(), nil
	}
	return nil, errAt(pos, value.ErrType, "cannot deref a %s", value.TypeName(v))
}

// derefGlobalNode is @name for a name not bound lexically: a defined
// global is dereferenced, anything else is a host-context lookup.
type derefGlobalNode struct {
	g   *Global
	pos syntax.Pos
}

func (n *derefGlobalNode) eval(th *Thread, env []Value) (Value, error) {
	if n.g.defined {
		return deref(n.g.value, n.pos)
	}
	return lookupContext(th, n.g.Name, n.pos)
}

func lookupContext(th *Thread, name string, pos syntax.Pos) (Value, error) {
	v, ok, err := th.host.Lookup(th, name)
	if err != nil {
		return nil, atPos(err, pos)
	}
	if !ok {
		return nil, errAt(pos, value.ErrUndefined, "@%s is neither a bound atom nor a host context value", name)
	}
	return v, nil
}

type contextLookupNode struct {
	name node
	pos  syntax.Pos
}

func (n *contextLookupNode) eval(th *Thread, env []Value) (Value, error) {
	v, err := n.name.eval(th, env)
	if err != nil {
		return nil, err
	}
	name, ok := nameOf(v)
	if !ok {
		return nil, errAt(n.pos, value.ErrType, "resource:ref needs a name, got %s", value.TypeName(v))
	}
	return lookupContext(th, name, n.pos)
}

// nameOf returns the name of a string, keyword or symbol.
func nameOf(v Value) (string, bool) {
	switch x := v.(type) {
	case value.String:
		return string(x), true
	case value.Keyword:
		return string(x), true
	case value.Symbol:
		return string(x), true
	}
	return "", false
}

type forClauseCode struct {
	kind     string
	x        node
	pat      patternCode
	letInits []node
	letPats  []patternCode
}

type forNode struct {
	clauses []forClauseCode
	body    node
	collect bool
	pos     syntax.Pos
}

func (n *forNode) eval(th *Thread, env []Value) (Value, error) {
	var out *value.VectorBuilder
	if n.collect {
		out = value.NewVectorBuilder()
	}
	if _, err := n.run(th, env, 0, out); err != nil {
		return nil, err
	}
	if out != nil {
		return out.Vector(), nil
	}
	return nil, nil
}

// errStopFor ends the iteration of the innermost binding (:while).
var errStopFor = errors.New("stop for")

func (n *forNode) run(th *Thread, env []Value, i int, out *value.VectorBuilder) (stop bool, err error) {
	if i == len(n.clauses) {
		v, err := n.body.eval(th, env)
		if err != nil {
			return false, err
		}
		if out != nil {
			out.Append(v)
		}
		return false, nil
	}
	cl := &n.clauses[i]
	switch cl.kind {
	case "bind":
		coll, err := cl.x.eval(th, env)
		if err != nil {
			return false, err
		}
		err = th.Each(coll, func(item Value) error {
			if err := th.Tick(); err != nil {
				return err
			}
			if err := cl.pat.bind(th, env, item); err != nil {
				return err
			}
			stop, err := n.run(th, env, i+1, out)
			if err != nil {
				return err
			}
			if stop {
				return errStopFor
			}
			return nil
		})
		if err != nil && err != errStopFor {
			return false, atPos(err, n.pos)
		}
		return false, nil
	case "when":
		c, err := cl.x.eval(th, env)
		if err != nil || !value.Truthy(c) {
			return false, err
		}
	case "while":
		c, err := cl.x.eval(th, env)
		if err != nil {
			return false, err
		}
		if !value.Truthy(c) {
			return true, nil
		}
	case "let":
		for j, init := range cl.letInits {
			v, err := init.eval(th, env)
			if err != nil {
				return false, err
			}
			if err := cl.letPats[j].bind(th, env, v); err != nil {
				return false, err
			}
		}
	}
	return n.run(th, env, i+1, out)
}

type dotimesNode struct {
	pat  patternCode
	n    node
	body node
	pos  syntax.Pos
}

func (n *dotimesNode) eval(th *Thread, env []Value) (Value, error) {
	c, err := n.n.eval(th, env)
	if err != nil {
		return nil, err
	}
	count, ok := c.(value.Int)
	if !ok {
		return nil, errAt(n.pos, value.ErrType, "dotimes needs an integer count, got %s", value.TypeName(c))
	}
	for i := value.Int(0); i < count; i++ {
		if err := th.Tick(); err != nil {
			return nil, err
		}
		if err := n.pat.bind(th, env, i); err != nil {
			return nil, err
		}
		if _, err := n.body.eval(th, env); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

type whileNode struct{ cond, body node }

func (n *whileNode) eval(th *Thread, env []Value) (Value, error) {
	for {
		if err := th.Tick(); err != nil {
			return nil, err
		}
		c, err := n.cond.eval(th, env)
		if err != nil {
			return nil, err
		}
		if !value.Truthy(c) {
			return nil, nil
		}
		if _, err := n.body.eval(th, env); err != nil {
			return nil, err
		}
	}
}

type withResourceNode struct {
	pat  patternCode
	init node
	body node
	pos  syntax.Pos
}

func (n *withResourceNode) eval(th *Thread, env []Value) (Value, error) {
	r, err := n.init.eval(th, env)
	if err != nil {
		return nil, err
	}
	if err := n.pat.bind(th, env, r); err != nil {
		return nil, err
	}
	v, err := n.body.eval(th, env)
	if c, ok := r.(value.Closer); ok {
		if cerr := c.Close(); cerr != nil && err == nil {
			e := value.NewError(value.ErrResource, "closing resource: %v", cerr)
			e.Pos = n.pos
			e.Cause = cerr
			return nil, e
		}
	}
	return v, err
}

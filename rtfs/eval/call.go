package eval

import (
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Cell holds a captured variable, shared by the frame that declared it and
// every closure that captured it.
type Cell struct{ V Value }

// TypeName is never seen by programs: cells live only in frame slots.
func (*Cell) TypeName() string { return "cell" }

// recurMarker is returned (as a value) by recur to the enclosing loop or
// function, which then iterates instead of returning.
type recurMarker struct{}

func (*recurMarker) TypeName() string { return "recur" }

var recurSignal Value = &recurMarker{}

// isRecur reports whether v is the recur signal. A type assertion is one
// comparison, where comparing two interfaces calls into the runtime.
func isRecur(v Value) bool {
	_, ok := v.(*recurMarker)
	return ok
}

// Op names an operation that the compiler may inline when a call's callee
// is a global still bound to the builtin that declares it.
type Op int

// Inlinable operations.
const (
	OpNone Op = iota
	OpAdd
	OpSub
	OpMul
	OpLt
	OpLe
	OpGt
	OpGe
	OpEq
	OpNumEq
	OpInc
	OpDec
	OpZero
)

// BuiltinFunc implements a builtin. args is only valid during the call:
// a builtin that keeps it must copy it.
type BuiltinFunc func(th *Thread, args []Value) (Value, error)

// Builtin is a function implemented in Go.
type Builtin struct {
	Name string
	Fn   BuiltinFunc
	// F1 and F2, when set, implement the one- and two-argument cases
	// without an argument slice; higher-order builtins (map, filter,
	// reduce) call them through Call1 and Call2.
	F1 func(th *Thread, x Value) (Value, error)
	F2 func(th *Thread, x, y Value) (Value, error)
	// MinArgs and MaxArgs bound the argument count (MaxArgs < 0: any).
	MinArgs, MaxArgs int
	// Inline lets the compiler open-code the common case.
	Inline Op
}

func (*Builtin) TypeName() string  { return "function" }
func (b *Builtin) FnName() string  { return b.Name }
func (b *Builtin) String() string  { return "#<fn " + b.Name + ">" }
func (c *Closure) FnName() string  { return c.proto.name }
func (*Closure) TypeName() string  { return "function" }
func (c *Closure) String() string  { return value.Repr(c) }
func (c *Closure) Meta() Value     { return c.proto.meta }
func (c *Closure) Pos() syntax.Pos { return c.proto.pos }

// Closure is a function value written in RTFS.
type Closure struct {
	proto *fnProto
	free  []*Cell
}

type fnProto struct {
	name     string
	meta     Value
	pos      syntax.Pos
	byArgs   []*arityCode // fixed arities indexed by argument count
	variadic *arityCode
}

// arityFor selects the arity for n arguments.
func (p *fnProto) arityFor(n int) *arityCode {
	if n < len(p.byArgs) {
		if a := p.byArgs[n]; a != nil {
			return a
		}
	}
	if v := p.variadic; v != nil && n >= v.nparams {
		return v
	}
	return nil
}

type paramBinding struct {
	slot     int
	captured bool
	typ      *types.Type
	name     string
	pos      syntax.Pos
}

type arityCode struct {
	nparams  int
	variadic bool
	nlocals  int
	freeBase int
	selfSlot int
	selfCell bool
	params   []patternCode // per fixed param slot, nil when bound in place
	rest     patternCode
	bindings []paramBinding
	retType  *types.Type
	body     node
	// simple is true when entering needs no work beyond copying free
	// cells: no self slot, no captured or typed params, no patterns.
	simple bool
}

func arityError(name string, n int) error {
	if name == "" {
		name = "anonymous function"
	}
	return value.Errorf(value.ErrArity, "wrong number of arguments (%d) passed to %s", n, name)
}

// enter binds a frame whose first nargs slots hold the arguments.
func (a *arityCode) enter(th *Thread, c *Closure, frame []Value) error {
	if a.simple {
		return nil
	}
	if a.selfSlot >= 0 {
		if a.selfCell {
			frame[a.selfSlot] = &Cell{V: c}
		} else {
			frame[a.selfSlot] = c
		}
	}
	for i := range a.bindings {
		b := &a.bindings[i]
		if b.typ != nil {
			if err := checkType(b.typ, frame[b.slot], b.name, b.pos); err != nil {
				return err
			}
		}
		if b.captured {
			frame[b.slot] = &Cell{V: frame[b.slot]}
		}
	}
	for i, p := range a.params {
		if p != nil {
			if err := p.bind(th, frame, frame[i]); err != nil {
				return err
			}
		}
	}
	if a.rest != nil {
		if err := a.rest.bind(th, frame, frame[a.nparams]); err != nil {
			return err
		}
	}
	return nil
}

// checkType validates v against an annotation and reports a :type-error
// naming the binding, the expected type, the value and the position.
func checkType(t *types.Type, v Value, name string, pos syntax.Pos) error {
	if err := t.Check(v); err != nil {
		return errAt(pos, value.ErrType, "%s: expected %s, got %s (%v)", name, t, value.Repr(v), err)
	}
	return nil
}

// runClosure runs c's arity a in frame, whose first nargs slots hold the
// arguments and which has room for a.nlocals slots.
func (th *Thread) runClosure(c *Closure, a *arityCode, frame []Value, nargs int) (Value, error) {
	th.depth++
	if th.depth > th.maxDepth {
		th.depth--
		return nil, value.Errorf(value.ErrLimit, "call depth limit of %d exceeded", th.maxDepth)
	}
	if err := th.Tick(); err != nil {
		th.depth--
		return nil, err
	}
	if a.variadic {
		var rest Value
		if nargs > a.nparams {
			rest = value.NewList(frame[a.nparams:nargs]...)
			clear(frame[a.nparams+1 : nargs])
		}
		frame[a.nparams] = rest
	}
	for i, cell := range c.free {
		frame[a.freeBase+i] = cell
	}
	for {
		if !a.simple {
			if err := a.enter(th, c, frame); err != nil {
				th.depth--
				return nil, err
			}
		}
		v, err := a.body.eval(th, frame)
		if err != nil {
			th.depth--
			return nil, err
		}
		if isRecur(v) {
			if err := th.Tick(); err != nil {
				th.depth--
				return nil, err
			}
			continue
		}
		th.depth--
		if a.retType != nil {
			if err := checkType(a.retType, v, "return value of "+nameOr(c.proto.name), c.proto.pos); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
}

func nameOr(n string) string {
	if n == "" {
		return "anonymous function"
	}
	return n
}

// Call applies f to args. It is how builtins call back into RTFS.
func (th *Thread) Call(f Value, args ...Value) (Value, error) {
	switch fn := f.(type) {
	case *Closure:
		a := fn.proto.arityFor(len(args))
		if a == nil {
			return nil, arityError(fn.proto.name, len(args))
		}
		frame := th.stack.frame(len(args), a.nlocals)
		copy(frame, args)
		v, err := th.runClosure(fn, a, frame, len(args))
		th.stack.free(frame)
		if err != nil {
			return nil, addFrame(err, fn.proto.name, syntax.Pos{})
		}
		return v, nil
	case *Builtin:
		return th.callBuiltin(fn, args)
	}
	return applyData(f, args)
}

// Call1 applies f to one argument without allocating an argument slice.
func (th *Thread) Call1(f Value, x Value) (Value, error) {
	if fn, ok := f.(*Closure); ok {
		a := fn.proto.arityFor(1)
		if a == nil {
			return nil, arityError(fn.proto.name, 1)
		}
		frame := th.stack.frame(1, a.nlocals)
		frame[0] = x
		v, err := th.runClosure(fn, a, frame, 1)
		th.stack.free(frame)
		if err != nil {
			return nil, addFrame(err, fn.proto.name, syntax.Pos{})
		}
		return v, nil
	}
	if b, ok := f.(*Builtin); ok && b.F1 != nil {
		return b.F1(th, x)
	}
	args := th.stack.alloc(1)
	args[0] = x
	v, err := th.Call(f, args...)
	th.stack.free(args)
	return v, err
}

// Call2 applies f to two arguments without allocating an argument slice.
func (th *Thread) Call2(f Value, x, y Value) (Value, error) {
	if fn, ok := f.(*Closure); ok {
		a := fn.proto.arityFor(2)
		if a == nil {
			return nil, arityError(fn.proto.name, 2)
		}
		frame := th.stack.frame(2, a.nlocals)
		frame[0], frame[1] = x, y
		v, err := th.runClosure(fn, a, frame, 2)
		th.stack.free(frame)
		if err != nil {
			return nil, addFrame(err, fn.proto.name, syntax.Pos{})
		}
		return v, nil
	}
	if b, ok := f.(*Builtin); ok && b.F2 != nil {
		return b.F2(th, x, y)
	}
	args := th.stack.alloc(2)
	args[0], args[1] = x, y
	v, err := th.Call(f, args...)
	th.stack.free(args)
	return v, err
}

func (th *Thread) callBuiltin(b *Builtin, args []Value) (Value, error) {
	if len(args) < b.MinArgs || (b.MaxArgs >= 0 && len(args) > b.MaxArgs) {
		return nil, arityError(b.Name, len(args))
	}
	return b.Fn(th, args)
}

// applyData applies a non-function value used in call position:
// keywords, maps, sets and vectors look themselves up like Clojure's.
func applyData(f Value, args []Value) (Value, error) {
	switch x := f.(type) {
	case value.Keyword:
		if len(args) < 1 || len(args) > 2 {
			return nil, arityError(":"+string(x), len(args))
		}
		var dflt Value
		if len(args) == 2 {
			dflt = args[1]
		}
		if m, ok := args[0].(*value.Map); ok {
			if v, ok := m.Get(x); ok {
				return v, nil
			}
		}
		if s, ok := args[0].(*value.Set); ok && s.Has(x) {
			return x, nil
		}
		return dflt, nil
	case *value.Map:
		if len(args) < 1 || len(args) > 2 {
			return nil, arityError("map", len(args))
		}
		if v, ok := x.Get(args[0]); ok {
			return v, nil
		}
		if len(args) == 2 {
			return args[1], nil
		}
		return nil, nil
	case *value.Set:
		if len(args) != 1 {
			return nil, arityError("set", len(args))
		}
		if x.Has(args[0]) {
			return args[0], nil
		}
		return nil, nil
	case *value.Vector:
		if len(args) != 1 {
			return nil, arityError("vector", len(args))
		}
		i, ok := args[0].(value.Int)
		if !ok {
			return nil, value.Errorf(value.ErrType, "vector index must be an integer, got %s", value.TypeName(args[0]))
		}
		v, ok := x.Nth(int(i))
		if !ok {
			return nil, value.Errorf(value.ErrIndex, "index %d out of bounds for vector of length %d", i, x.Len())
		}
		return v, nil
	case nil:
		return nil, value.Errorf(value.ErrType, "cannot call nil")
	}
	return nil, value.Errorf(value.ErrType, "cannot call a %s: %s", value.TypeName(f), truncate(value.Repr(f)))
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// addFrame records that err passed through a call of fn made at pos. An
// error raised on entry to the call (a limit) gets the call's position.
func addFrame(err error, fn string, pos syntax.Pos) error {
	e := value.AsError(err)
	if !e.Pos.IsValid() {
		e.Pos = pos
	}
	e.Trace = append(e.Trace, value.Frame{Func: fn, Pos: pos})
	return e
}

// atPos gives err a position if it has none.
func atPos(err error, pos syntax.Pos) error {
	e := value.AsError(err)
	if !e.Pos.IsValid() {
		e.Pos = pos
	}
	return e
}

// MakeBuiltin is a convenience constructor.
func MakeBuiltin(name string, min, max int, fn BuiltinFunc) *Builtin {
	return &Builtin{Name: name, Fn: fn, MinArgs: min, MaxArgs: max}
}

// errAt returns an RTFS error of type typ raised at pos.
func errAt(pos syntax.Pos, typ value.Keyword, format string, args ...any) error {
	e := value.NewError(typ, format, args...)
	e.Pos = pos
	return e
}

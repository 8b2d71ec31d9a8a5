package eval

import (
	"fmt"

	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// node is a compiled expression. eval returns the value, or recurSignal
// from a recur in tail position.
type node interface {
	eval(th *Thread, env []Value) (Value, error)
}

// Program is a compiled top-level form.
type Program struct {
	body    node
	nlocals int
	pos     syntax.Pos
}

// Compile compiles a resolved top-level form against env, whose global
// cells it binds.
func Compile(env *Env, p *resolve.Program) (prog *Program, err error) {
	c := &compiler{env: env, loops: map[*resolve.Loop]*loopNode{}}
	body := c.expr(p.Body)
	var pos syntax.Pos
	if p.Source != nil {
		pos = p.Source.Pos()
	}
	return &Program{body: body, nlocals: p.NumLocals, pos: pos}, nil
}

// Run evaluates a compiled program on th.
func (th *Thread) Run(p *Program) (Value, error) {
	frame := th.stack.frame(0, p.nlocals)
	v, err := p.body.eval(th, frame)
	th.stack.free(frame)
	th.stack.scrub()
	if err != nil {
		return nil, err
	}
	if isRecur(v) {
		return nil, value.Errorf(value.ErrGeneric, "recur escaped its loop")
	}
	return v, nil
}

type compiler struct {
	env      *Env
	loops    map[*resolve.Loop]*loopNode
	freeBase int
}

func (c *compiler) exprs(xs []resolve.Expr) []node {
	out := make([]node, len(xs))
	for i, x := range xs {
		out[i] = c.expr(x)
	}
	return out
}

func (c *compiler) expr(e resolve.Expr) node {
	switch x := e.(type) {
	case *resolve.Const:
		return &constNode{v: x.Value}
	case *resolve.LocalRef:
		if x.B.Captured {
			return &cellNode{slot: x.B.Index}
		}
		return &localNode{slot: x.B.Index}
	case *resolve.FreeRef:
		return &cellNode{slot: c.freeBase + x.Index}
	case *resolve.GlobalRef:
		return &globalNode{g: c.env.cell(x.Name), pos: x.At}
	case *resolve.If:
		cond, then, els := c.expr(x.Cond), c.expr(x.Then), c.expr(x.Else)
		if cmp, ok := cond.(*binOpConstNode); ok && isComparison(cmp.op) {
			return &ifCmpNode{cmp: cmp, then: then, els: els}
		}
		return &ifNode{cond: cond, then: then, els: els}
	case *resolve.Do:
		return &doNode{exprs: c.exprs(x.Exprs)}
	case *resolve.Let:
		n := &letNode{body: nil}
		for _, b := range x.Forward {
			if b.Captured {
				n.cells = append(n.cells, b.Index)
			}
		}
		for _, b := range x.Bindings {
			n.inits = append(n.inits, c.expr(b.Init))
			n.pats = append(n.pats, c.pattern(b.Pat))
		}
		n.body = c.expr(x.Body)
		return n
	case *resolve.FnExpr:
		return c.fn(x.Fn)
	case *resolve.Call:
		return c.call(x)
	case *resolve.Def:
		return &defNode{g: c.env.cell(x.Name), env: c.env, typ: x.Type, init: c.expr(x.Init), pos: x.At}
	case *resolve.SetVar:
		v := c.expr(x.Value)
		switch t := x.Target.(type) {
		case *resolve.LocalRef:
			return &setLocalNode{slot: t.B.Index, cell: t.B.Captured, val: v, typ: t.B.Type, name: t.B.Name, pos: x.At}
		case *resolve.FreeRef:
			return &setLocalNode{slot: c.freeBase + t.Index, cell: true, val: v, typ: t.B.Type, name: t.B.Name, pos: x.At}
		case *resolve.GlobalRef:
			return &setGlobalNode{g: c.env.cell(t.Name), val: v, pos: x.At}
		}
	case *resolve.Loop:
		n := &loopNode{}
		c.loops[x] = n
		for _, b := range x.Bindings {
			n.inits = append(n.inits, c.expr(b.Init))
			n.pats = append(n.pats, c.pattern(b.Pat))
		}
		n.body = c.expr(x.Body)
		return n
	case *resolve.Recur:
		args := c.exprs(x.Args)
		if x.Loop != nil {
			loop := c.loops[x.Loop]
			if slots, ok := simpleSlots(loop.pats); ok {
				return &recurSlotsNode{slots: slots, args: args}
			}
			return &recurLoopNode{loop: loop, args: args}
		}
		return &recurFnNode{args: args}
	case *resolve.And:
		return &andNode{exprs: c.exprs(x.Exprs)}
	case *resolve.Or:
		return &orNode{exprs: c.exprs(x.Exprs)}
	case *resolve.Case:
		n := &caseNode{x: c.expr(x.X), pos: x.At}
		for _, cl := range x.Clauses {
			n.values = append(n.values, cl.Values)
			n.bodies = append(n.bodies, c.expr(cl.Body))
		}
		if x.Default != nil {
			n.dflt = c.expr(x.Default)
		}
		return n
	case *resolve.Match:
		n := &matchNode{x: c.expr(x.X), pos: x.At}
		for _, cl := range x.Clauses {
			n.pats = append(n.pats, c.matchPattern(cl.Pat))
			n.bodies = append(n.bodies, c.expr(cl.Body))
		}
		return n
	case *resolve.Try:
		n := &tryNode{body: c.expr(x.Body)}
		for _, cl := range x.Catches {
			n.catches = append(n.catches, catchCode{typ: cl.Type, slot: cl.B.Index, cell: cl.B.Captured, body: c.expr(cl.Body)})
		}
		if x.Finally != nil {
			n.finally = c.expr(x.Finally)
		}
		return n
	case *resolve.Throw:
		return &throwNode{x: c.expr(x.X), pos: x.At}
	case *resolve.VectorLit:
		return &vectorNode{elems: c.exprs(x.Elems)}
	case *resolve.MapLit:
		return &mapNode{elems: c.exprs(x.Elems), pos: x.At}
	case *resolve.SetLit:
		return &setNode{elems: c.exprs(x.Elems)}
	case *resolve.Deref:
		if g, ok := x.X.(*resolve.GlobalRef); ok {
			return &derefGlobalNode{g: c.env.cell(g.Name), pos: x.At}
		}
		return &derefNode{x: c.expr(x.X), pos: x.At}
	case *resolve.ContextLookup:
		return &contextLookupNode{name: c.expr(x.Name), pos: x.At}
	case *resolve.For:
		n := &forNode{collect: x.Collect, body: c.expr(x.Body), pos: x.At}
		for _, cl := range x.Clauses {
			fc := forClauseCode{kind: cl.Kind}
			if cl.X != nil {
				fc.x = c.expr(cl.X)
			}
			if cl.Pat != nil {
				fc.pat = c.pattern(cl.Pat)
			}
			for _, lb := range cl.Lets {
				fc.letInits = append(fc.letInits, c.expr(lb.Init))
				fc.letPats = append(fc.letPats, c.pattern(lb.Pat))
			}
			n.clauses = append(n.clauses, fc)
		}
		return n
	case *resolve.Dotimes:
		return &dotimesNode{pat: c.pattern(&resolve.BindPat{B: x.B}), n: c.expr(x.N), body: c.expr(x.Body), pos: x.At}
	case *resolve.While:
		return &whileNode{cond: c.expr(x.Cond), body: c.expr(x.Body)}
	case *resolve.WithResource:
		return &withResourceNode{pat: c.pattern(&resolve.BindPat{B: x.B}), init: c.expr(x.Init), body: c.expr(x.Body), pos: x.At}
	case *resolve.Parallel:
		n := &parallelNode{keys: x.Keys, pos: x.At}
		for _, b := range x.Branches {
			n.branches = append(n.branches, c.fn(b))
		}
		return n
	case *resolve.Step:
		return c.step(x)
	case *resolve.CallCap:
		return &callCapNode{id: c.expr(x.ID), args: c.exprs(x.Args), pos: x.At}
	case *resolve.LogStep:
		return &logStepNode{level: x.Level, args: c.exprs(x.Args), pos: x.At}
	case *resolve.Discover:
		return &discoverNode{criteria: c.expr(x.Criteria), pos: x.At}
	case *resolve.WithProfile:
		return &withProfileNode{opts: c.expr(x.Opts), body: c.expr(x.Body), pos: x.At}
	}
	panic(fmt.Sprintf("eval: unknown resolved expression %T", e))
}

// fn compiles a function literal; the closure is created at run time from
// the enclosing frame's cells.
func (c *compiler) fn(f *resolve.Function) *fnNode {
	p := &fnProto{name: f.Name, meta: f.Meta, pos: f.At}
	for _, a := range f.Arities {
		ac := c.arity(f, a)
		if ac.variadic {
			p.variadic = ac
			continue
		}
		for len(p.byArgs) <= ac.nparams {
			p.byArgs = append(p.byArgs, nil)
		}
		p.byArgs[ac.nparams] = ac
	}
	n := &fnNode{proto: p}
	for _, fv := range f.Free {
		if fv.FromParentLocal {
			n.captures = append(n.captures, fv.ParentIndex)
		} else {
			n.captures = append(n.captures, c.freeBase+fv.ParentIndex)
		}
	}
	return n
}

func (c *compiler) arity(f *resolve.Function, a *resolve.Arity) *arityCode {
	inner := &compiler{env: c.env, loops: c.loops, freeBase: a.FreeBase}
	ac := &arityCode{
		nparams:  a.NumParams,
		variadic: a.Variadic,
		nlocals:  a.NumLocals,
		freeBase: a.FreeBase,
		selfSlot: a.SelfSlot,
		selfCell: a.SelfCaptured,
		retType:  a.RetType,
	}
	simple := a.SelfSlot < 0 && a.Rest == nil
	for _, b := range a.ParamBindings {
		if b.Captured || b.Type != nil {
			ac.bindings = append(ac.bindings, paramBinding{slot: b.Index, captured: b.Captured, typ: b.Type, name: b.Name, pos: b.At})
			simple = false
		}
	}
	anyPattern := false
	ac.params = make([]patternCode, len(a.Params))
	for i, p := range a.Params {
		if p != nil {
			ac.params[i] = inner.pattern(p)
			anyPattern = true
		}
	}
	if !anyPattern {
		ac.params = nil
	} else {
		simple = false
	}
	if a.Rest != nil {
		ac.rest = inner.pattern(a.Rest)
	}
	ac.simple = simple
	ac.body = inner.expr(a.Body)
	return ac
}

func (c *compiler) call(x *resolve.Call) node {
	fn := c.expr(x.Fn)
	args := c.exprs(x.Args)
	if g, ok := fn.(*globalNode); ok {
		if b, ok := g.g.value.(*Builtin); ok && g.g.defined && b.Inline != OpNone {
			if n := inlineCall(g.g, b, args, x.At); n != nil {
				return n
			}
		}
	}
	n := &callNode{fn: fn, args: args, pos: x.At, name: x.Name}
	if g, ok := fn.(*globalNode); ok {
		n.g = g.g
		if len(args) == 1 {
			return &call1Node{callNode: *n, arg: args[0]}
		}
	}
	return n
}

func (c *compiler) step(x *resolve.Step) node {
	n := &stepNode{kind: x.Kind, name: x.Name, pos: x.At, form: x.Form}
	for k, o := range x.Options {
		n.optKeys = append(n.optKeys, k)
		n.optVals = append(n.optVals, c.expr(o))
	}
	if x.Params != nil {
		n.params = c.expr(x.Params)
		n.paramsPat = c.pattern(&resolve.BindPat{B: x.ParamsB})
	}
	if x.Body != nil {
		n.body = c.expr(x.Body)
	}
	if x.Cond != nil {
		n.cond = c.expr(x.Cond)
	}
	if x.Then != nil {
		n.then = c.expr(x.Then)
	}
	if x.Else != nil {
		n.els = c.expr(x.Else)
	}
	for _, b := range x.Branches {
		n.branches = append(n.branches, c.fn(b))
	}
	return n
}

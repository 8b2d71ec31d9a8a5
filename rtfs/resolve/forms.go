package resolve

import (
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
	"strconv"
)

// special resolves special forms; handled is false for ordinary calls.
func (r *resolver) special(c ctx, name string, l *syntax.List) (e Expr, handled bool, err error) {
	args := l.Elems[1:]
	at := l.At
	switch name {
	case "quote":
		if len(args) != 1 {
			return nil, true, errorf(at, "quote takes exactly one form")
		}
		return &Const{At: at, Value: value.FromSyntax(args[0])}, true, nil
	case "do":
		e, err = r.body(c, at, args)
	case "if", "if-not":
		e, err = r.ifForm(c, l, name == "if-not")
	case "when", "when-not":
		if len(args) < 1 {
			return nil, true, errorf(at, "%s needs a condition", name)
		}
		var cond, body Expr
		if cond, err = r.expr(c.notTail(), args[0]); err == nil {
			if body, err = r.body(c, at, args[1:]); err == nil {
				nilc := &Const{At: at}
				if name == "when" {
					e = &If{At: at, Cond: cond, Then: body, Else: nilc}
				} else {
					e = &If{At: at, Cond: cond, Then: nilc, Else: body}
				}
			}
		}
	case "cond":
		e, err = r.condForm(c, at, args)
	case "case":
		e, err = r.caseForm(c, at, args)
	case "and", "or":
		var xs []Expr
		xs = make([]Expr, len(args))
		for i, a := range args {
			cc := c
			if i < len(args)-1 {
				cc = c.notTail()
			}
			if xs[i], err = r.expr(cc, a); err != nil {
				return nil, true, err
			}
		}
		if name == "and" {
			e = &And{At: at, Exprs: xs}
		} else {
			e = &Or{At: at, Exprs: xs}
		}
	case "def":
		e, err = r.defForm(c, l)
	case "defn", "defn-":
		e, err = r.defnForm(c, l)
	case "fn":
		e, err = r.fnForm(c, l, args, "", nil)
	case "let":
		e, err = r.letForm(c, l)
	case "letfn":
		e, err = r.letfnForm(c, l)
	case "if-let", "when-let":
		e, err = r.ifLetForm(c, l, name == "when-let")
	case "loop":
		e, err = r.loopForm(c, l)
	case "recur":
		e, err = r.recurForm(c, l)
	case "dotimes":
		e, err = r.dotimesForm(c, l)
	case "doseq", "for":
		e, err = r.forForm(c, l, name == "for")
	case "while":
		if len(args) < 1 {
			return nil, true, errorf(at, "while needs a condition")
		}
		var cond, body Expr
		if cond, err = r.expr(c.noRecur(), args[0]); err == nil {
			if body, err = r.body(c.noRecur(), at, args[1:]); err == nil {
				e = &While{At: at, Cond: cond, Body: body}
			}
		}
	case "set!":
		e, err = r.setForm(c, l)
	case "->", "->>":
		e, err = r.threadFirstLast(c, l, name == "->>")
	case "as->":
		e, err = r.threadAs(c, l)
	case "cond->", "cond->>":
		e, err = r.condThread(c, l, name == "cond->>")
	case "match":
		e, err = r.matchForm(c, l)
	case "try":
		e, err = r.tryForm(c, l)
	case "throw":
		if len(args) != 1 {
			return nil, true, errorf(at, "throw takes exactly one value")
		}
		var x Expr
		if x, err = r.expr(c.notTail(), args[0]); err == nil {
			e = &Throw{At: at, X: x}
		}
	case "with-resource":
		e, err = r.withResourceForm(c, l)
	case "parallel":
		e, err = r.parallelForm(c, l)
	case "deref":
		if len(args) != 1 {
			return nil, true, errorf(at, "deref takes exactly one argument")
		}
		var x Expr
		if x, err = r.expr(c.notTail(), args[0]); err == nil {
			e = &Deref{At: at, X: x}
		}
	case "resource:ref":
		if len(args) != 1 {
			return nil, true, errorf(at, "resource:ref takes exactly one name")
		}
		var x Expr
		if x, err = r.expr(c.notTail(), args[0]); err == nil {
			e = &ContextLookup{At: at, Name: x}
		}
	case "comment":
		e = &Const{At: at}
	case "step", "step-if", "step-loop", "step-parallel":
		e, err = r.stepForm(c, l, name)
	case "call":
		if len(args) < 1 {
			return nil, true, errorf(at, "call needs a capability id")
		}
		var xs []Expr
		if xs, err = r.exprs(c.notTail(), args); err == nil {
			e = &CallCap{At: at, ID: xs[0], Args: xs[1:]}
		}
	case "llm-execute":
		e, err = r.llmForm(c, l)
	case "log-step":
		e, err = r.logStepForm(c, l)
	case "discover-agents":
		if len(args) > 1 {
			return nil, true, errorf(at, "discover-agents takes one criteria map")
		}
		var crit Expr = &Const{At: at}
		if len(args) == 1 {
			crit, err = r.expr(c.notTail(), args[0])
		}
		e = &Discover{At: at, Criteria: crit}
	case "with-security-profile":
		if len(args) < 1 {
			return nil, true, errorf(at, "with-security-profile needs an options map")
		}
		var opts, body Expr
		if opts, err = r.expr(c.notTail(), args[0]); err == nil {
			if body, err = r.body(c.noRecur(), at, args[1:]); err == nil {
				e = &WithProfile{At: at, Opts: opts, Body: body, Form: l}
			}
		}
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	return e, true, nil
}

func (r *resolver) ifForm(c ctx, l *syntax.List, negate bool) (Expr, error) {
	args := l.Elems[1:]
	if len(args) < 2 || len(args) > 3 {
		return nil, errorf(l.At, "if takes a condition, a then branch and an optional else branch")
	}
	cond, err := r.expr(c.notTail(), args[0])
	if err != nil {
		return nil, err
	}
	then, err := r.expr(c, args[1])
	if err != nil {
		return nil, err
	}
	var els Expr = &Const{At: l.At}
	if len(args) == 3 {
		if els, err = r.expr(c, args[2]); err != nil {
			return nil, err
		}
	}
	if negate {
		then, els = els, then
	}
	return &If{At: l.At, Cond: cond, Then: then, Else: els}, nil
}

func (r *resolver) condForm(c ctx, at syntax.Pos, args []syntax.Node) (Expr, error) {
	if len(args)%2 != 0 {
		return nil, errorf(at, "cond needs pairs of test and expression")
	}
	var out Expr = &Const{At: at}
	for i := len(args) - 2; i >= 0; i -= 2 {
		then, err := r.expr(c, args[i+1])
		if err != nil {
			return nil, err
		}
		if k, ok := args[i].(*syntax.Keyword); ok && k.Name == "else" {
			out = then
			continue
		}
		cond, err := r.expr(c.notTail(), args[i])
		if err != nil {
			return nil, err
		}
		out = &If{At: args[i].Pos(), Cond: cond, Then: then, Else: out}
	}
	return out, nil
}

func (r *resolver) caseForm(c ctx, at syntax.Pos, args []syntax.Node) (Expr, error) {
	if len(args) < 1 {
		return nil, errorf(at, "case needs an expression")
	}
	x, err := r.expr(c.notTail(), args[0])
	if err != nil {
		return nil, err
	}
	ce := &Case{At: at, X: x}
	rest := args[1:]
	if len(rest)%2 == 1 {
		if ce.Default, err = r.expr(c, rest[len(rest)-1]); err != nil {
			return nil, err
		}
		rest = rest[:len(rest)-1]
	}
	for i := 0; i < len(rest); i += 2 {
		var vals []value.Value
		if alts, ok := rest[i].(*syntax.List); ok {
			for _, a := range alts.Elems {
				vals = append(vals, value.FromSyntax(a))
			}
		} else {
			vals = []value.Value{value.FromSyntax(rest[i])}
		}
		body, err := r.expr(c, rest[i+1])
		if err != nil {
			return nil, err
		}
		ce.Clauses = append(ce.Clauses, CaseClause{Values: vals, Body: body})
	}
	return ce, nil
}

func (r *resolver) defForm(c ctx, l *syntax.List) (Expr, error) {
	args := l.Elems[1:]
	if len(args) < 1 || len(args) > 3 {
		return nil, errorf(l.At, "def takes a name, an optional docstring and a value")
	}
	s, ok := args[0].(*syntax.Symbol)
	if !ok {
		return nil, errorf(args[0].Pos(), "def needs a name")
	}
	t, err := parseType(s.Type)
	if err != nil {
		return nil, err
	}
	d := &Def{At: l.At, Name: s.Name, Type: t, Init: &Const{At: l.At}}
	if s.Meta != nil {
		d.Meta = value.FromSyntax(s.Meta)
	}
	if len(args) == 3 {
		if _, ok := args[1].(*syntax.String); !ok {
			return nil, errorf(args[1].Pos(), "def: expected a docstring before the value")
		}
		args = append(args[:1:1], args[2])
	}
	if len(args) == 2 {
		if fl, ok := args[1].(*syntax.List); ok && isHead(fl, "fn") {
			fe, err := r.fnForm(c.noRecur(), fl, fl.Elems[1:], s.Name, d.Meta)
			if err != nil {
				return nil, err
			}
			d.Init = fe
		} else if d.Init, err = r.expr(c.noRecur(), args[1]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func isHead(l *syntax.List, name string) bool {
	if len(l.Elems) == 0 {
		return false
	}
	s, ok := l.Elems[0].(*syntax.Symbol)
	return ok && s.Name == name
}

func (r *resolver) defnForm(c ctx, l *syntax.List) (Expr, error) {
	args := l.Elems[1:]
	if len(args) < 2 {
		return nil, errorf(l.At, "defn needs a name and a parameter vector")
	}
	s, ok := args[0].(*syntax.Symbol)
	if !ok {
		return nil, errorf(args[0].Pos(), "defn needs a name")
	}
	var meta value.Value
	if s.Meta != nil {
		meta = value.FromSyntax(s.Meta)
	}
	rest := args[1:]
	var doc string
	if d, ok := rest[0].(*syntax.String); ok && len(rest) > 1 {
		doc = d.Value
		rest = rest[1:]
	}
	if m, ok := rest[0].(*syntax.Map); ok && len(rest) > 1 {
		meta = mergeMeta(meta, value.FromSyntax(m))
		rest = rest[1:]
	}
	if doc != "" {
		meta = mergeMeta(meta, value.NewMap(value.Keyword("doc"), value.String(doc)))
	}
	fn := &Function{At: l.At, Name: s.Name, Meta: meta}
	if err := r.arities(c.noRecur(), fn, l, rest, ""); err != nil {
		return nil, err
	}
	return &Def{At: l.At, Name: s.Name, Init: &FnExpr{At: l.At, Fn: fn}, Meta: meta}, nil
}

func mergeMeta(a, b value.Value) value.Value {
	am, ok := a.(*value.Map)
	if !ok {
		return b
	}
	bm, ok := b.(*value.Map)
	if !ok {
		return a
	}
	bm.Range(func(k, v value.Value) bool {
		am = am.Assoc(k, v)
		return true
	})
	return am
}

// bindingPairs checks a binding vector and returns its elements.
func bindingPairs(n syntax.Node, form string) ([]syntax.Node, error) {
	v, ok := n.(*syntax.Vector)
	if !ok {
		return nil, errorf(n.Pos(), "%s needs a binding vector", form)
	}
	if len(v.Elems)%2 != 0 {
		return nil, errorf(v.At, "%s binding vector needs pairs of pattern and value", form)
	}
	return v.Elems, nil
}

func (r *resolver) letForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "let needs a binding vector")
	}
	pairs, err := bindingPairs(l.Elems[1], "let")
	if err != nil {
		return nil, err
	}
	let := &Let{At: l.At}
	// letrec: names bound to fn literals are visible to every fn of the
	// let, including earlier ones, through cells created up front.
	forward := map[string]*Binding{}
	for i := 0; i < len(pairs); i += 2 {
		s, ok := pairs[i].(*syntax.Symbol)
		fl, isList := pairs[i+1].(*syntax.List)
		if ok && isList && isHead(fl, "fn") && s.Name != "_" {
			if _, dup := forward[s.Name]; dup {
				continue
			}
			t, err := parseType(s.Type)
			if err != nil {
				return nil, err
			}
			b := r.newBinding(&c, s.Name, s.At)
			b.Forward = true
			b.Type = t
			forward[s.Name] = b
			let.Forward = append(let.Forward, b)
		}
	}
	for _, b := range let.Forward {
		bind(&c, b)
	}
	inner := c
	for i := 0; i < len(pairs); i += 2 {
		var init Expr
		var err error
		if fl, ok := pairs[i+1].(*syntax.List); ok && isHead(fl, "fn") {
			name := ""
			if s, ok := pairs[i].(*syntax.Symbol); ok {
				name = s.Name
			}
			init, err = r.fnForm(inner.noRecur(), fl, fl.Elems[1:], name, nil)
		} else {
			init, err = r.expr(inner.noRecur(), pairs[i+1])
		}
		if err != nil {
			return nil, err
		}
		var pat Pattern
		if s, ok := pairs[i].(*syntax.Symbol); ok {
			if b := forward[s.Name]; b != nil {
				delete(forward, s.Name) // later duplicates bind fresh
				bind(&inner, b)
				pat = &BindPat{B: b}
			}
		}
		if pat == nil {
			if pat, err = r.pattern(&inner, pairs[i]); err != nil {
				return nil, err
			}
		}
		let.Bindings = append(let.Bindings, LetBinding{Pat: pat, Init: init})
	}
	body, err := r.body(inner, l.At, l.Elems[2:])
	if err != nil {
		return nil, err
	}
	let.Body = body
	return let, nil
}

func (r *resolver) letfnForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "letfn needs a vector of function definitions")
	}
	v, ok := l.Elems[1].(*syntax.Vector)
	if !ok {
		return nil, errorf(l.Elems[1].Pos(), "letfn needs a vector of function definitions")
	}
	let := &Let{At: l.At}
	var defs []*syntax.List
	for _, e := range v.Elems {
		fl, ok := e.(*syntax.List)
		if !ok || len(fl.Elems) < 2 {
			return nil, errorf(e.Pos(), "letfn entries look like (name [params] body...)")
		}
		s, ok := fl.Elems[0].(*syntax.Symbol)
		if !ok {
			return nil, errorf(fl.At, "letfn entry needs a name")
		}
		b := r.newBinding(&c, s.Name, s.At)
		b.Forward = true
		bind(&c, b)
		let.Forward = append(let.Forward, b)
		defs = append(defs, fl)
	}
	for i, fl := range defs {
		fe, err := r.fnForm(c.noRecur(), fl, fl.Elems[1:], let.Forward[i].Name, nil)
		if err != nil {
			return nil, err
		}
		let.Bindings = append(let.Bindings, LetBinding{Pat: &BindPat{B: let.Forward[i]}, Init: fe})
	}
	body, err := r.body(c, l.At, l.Elems[2:])
	if err != nil {
		return nil, err
	}
	let.Body = body
	return let, nil
}

func (r *resolver) ifLetForm(c ctx, l *syntax.List, isWhen bool) (Expr, error) {
	form := "if-let"
	if isWhen {
		form = "when-let"
	}
	if len(l.Elems) < 3 {
		return nil, errorf(l.At, "%s needs a binding vector and a body", form)
	}
	pairs, err := bindingPairs(l.Elems[1], form)
	if err != nil {
		return nil, err
	}
	if len(pairs) != 2 {
		return nil, errorf(l.Elems[1].Pos(), "%s takes exactly one binding", form)
	}
	init, err := r.expr(c.noRecur(), pairs[1])
	if err != nil {
		return nil, err
	}
	tmp := r.newBinding(&c, r.gensym("if-let"), l.At)
	inner := c
	pat, err := r.pattern(&inner, pairs[0])
	if err != nil {
		return nil, err
	}
	var then Expr
	var els Expr = &Const{At: l.At}
	if isWhen {
		then, err = r.body(inner, l.At, l.Elems[2:])
	} else {
		if len(l.Elems) > 4 {
			return nil, errorf(l.At, "if-let takes a then branch and an optional else branch")
		}
		then, err = r.expr(inner, l.Elems[2])
		if err == nil && len(l.Elems) == 4 {
			els, err = r.expr(c, l.Elems[3])
		}
	}
	if err != nil {
		return nil, err
	}
	ref := &LocalRef{At: l.At, B: tmp}
	return &Let{At: l.At, Bindings: []LetBinding{{Pat: &BindPat{B: tmp}, Init: init}}, Body: &If{
		At:   l.At,
		Cond: ref,
		Then: &Let{At: l.At, Bindings: []LetBinding{{Pat: pat, Init: ref}}, Body: then},
		Else: els,
	}}, nil
}

func (r *resolver) loopForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "loop needs a binding vector")
	}
	pairs, err := bindingPairs(l.Elems[1], "loop")
	if err != nil {
		return nil, err
	}
	loop := &Loop{At: l.At}
	inner := c
	for i := 0; i < len(pairs); i += 2 {
		init, err := r.expr(inner.noRecur(), pairs[i+1])
		if err != nil {
			return nil, err
		}
		pat, err := r.pattern(&inner, pairs[i])
		if err != nil {
			return nil, err
		}
		loop.Bindings = append(loop.Bindings, LetBinding{Pat: pat, Init: init})
	}
	inner.tail = true
	inner.recur = &recurTarget{loop: loop, n: len(loop.Bindings)}
	body, err := r.body(inner, l.At, l.Elems[2:])
	if err != nil {
		return nil, err
	}
	loop.Body = body
	return loop, nil
}

func (r *resolver) recurForm(c ctx, l *syntax.List) (Expr, error) {
	if c.recur == nil {
		return nil, errorf(l.At, "recur outside of loop or fn (or across try)")
	}
	if !c.tail {
		return nil, errorf(l.At, "recur must be in tail position")
	}
	args := l.Elems[1:]
	if len(args) != c.recur.n {
		e := value.NewError(value.ErrArity, "recur expects %d arguments, got %d", c.recur.n, len(args))
		e.Pos = l.At
		return nil, e
	}
	xs, err := r.exprs(c.notTail(), args)
	if err != nil {
		return nil, err
	}
	return &Recur{At: l.At, Args: xs, Loop: c.recur.loop, Arity: c.recur.arity}, nil
}

func (r *resolver) dotimesForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "dotimes needs [name count]")
	}
	pairs, err := bindingPairs(l.Elems[1], "dotimes")
	if err != nil || len(pairs) != 2 {
		return nil, errorf(l.Elems[1].Pos(), "dotimes needs [name count]")
	}
	s, ok := pairs[0].(*syntax.Symbol)
	if !ok {
		return nil, errorf(pairs[0].Pos(), "dotimes needs a name")
	}
	n, err := r.expr(c.noRecur(), pairs[1])
	if err != nil {
		return nil, err
	}
	inner := c.noRecur()
	b := r.newBinding(&inner, s.Name, s.At)
	bind(&inner, b)
	body, err := r.body(inner, l.At, l.Elems[2:])
	if err != nil {
		return nil, err
	}
	return &Dotimes{At: l.At, B: b, N: n, Body: body}, nil
}

func (r *resolver) forForm(c ctx, l *syntax.List, collect bool) (Expr, error) {
	form := "doseq"
	if collect {
		form = "for"
	}
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "%s needs a binding vector", form)
	}
	pairs, err := bindingPairs(l.Elems[1], form)
	if err != nil {
		return nil, err
	}
	f := &For{At: l.At, Collect: collect}
	inner := c.noRecur()
	for i := 0; i < len(pairs); i += 2 {
		if k, ok := pairs[i].(*syntax.Keyword); ok {
			switch k.Name {
			case "when", "while":
				x, err := r.expr(inner, pairs[i+1])
				if err != nil {
					return nil, err
				}
				f.Clauses = append(f.Clauses, ForClause{Kind: k.Name, X: x})
			case "let":
				lp, err := bindingPairs(pairs[i+1], ":let")
				if err != nil {
					return nil, err
				}
				cl := ForClause{Kind: "let"}
				for j := 0; j < len(lp); j += 2 {
					init, err := r.expr(inner, lp[j+1])
					if err != nil {
						return nil, err
					}
					pat, err := r.pattern(&inner, lp[j])
					if err != nil {
						return nil, err
					}
					cl.Lets = append(cl.Lets, LetBinding{Pat: pat, Init: init})
				}
				f.Clauses = append(f.Clauses, cl)
			default:
				return nil, errorf(k.At, "%s: unknown modifier :%s", form, k.Name)
			}
			continue
		}
		x, err := r.expr(inner, pairs[i+1])
		if err != nil {
			return nil, err
		}
		pat, err := r.pattern(&inner, pairs[i])
		if err != nil {
			return nil, err
		}
		f.Clauses = append(f.Clauses, ForClause{Kind: "bind", Pat: pat, X: x})
	}
	if len(f.Clauses) == 0 || f.Clauses[0].Kind != "bind" {
		return nil, errorf(l.Elems[1].Pos(), "%s must start with a binding", form)
	}
	body, err := r.body(inner, l.At, l.Elems[2:])
	if err != nil {
		return nil, err
	}
	f.Body = body
	return f, nil
}

func (r *resolver) setForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) != 3 {
		return nil, errorf(l.At, "set! takes a name and a value")
	}
	s, ok := l.Elems[1].(*syntax.Symbol)
	if !ok {
		return nil, errorf(l.Elems[1].Pos(), "set! needs a name")
	}
	target := lookup(c, s.Name, s.At)
	v, err := r.expr(c.notTail(), l.Elems[2])
	if err != nil {
		return nil, err
	}
	return &SetVar{At: l.At, Target: target, Value: v}, nil
}

// ---- threading forms are rewritten to plain syntax

func symAt(name string, at syntax.Pos) *syntax.Symbol { return &syntax.Symbol{At: at, Name: name} }

// thread inserts x into form as first (or last) argument.
func thread(x, form syntax.Node, last bool) syntax.Node {
	switch f := form.(type) {
	case *syntax.List:
		if len(f.Elems) == 0 {
			return &syntax.List{At: f.At, End: f.End, Elems: []syntax.Node{x}}
		}
		elems := make([]syntax.Node, 0, len(f.Elems)+1)
		if last {
			elems = append(append(elems, f.Elems...), x)
		} else {
			elems = append(append(append(elems, f.Elems[0]), x), f.Elems[1:]...)
		}
		return &syntax.List{At: f.At, End: f.End, Elems: elems}
	}
	return &syntax.List{At: form.Pos(), Elems: []syntax.Node{form, x}}
}

func (r *resolver) threadFirstLast(c ctx, l *syntax.List, last bool) (Expr, error) {
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "threading needs an initial value")
	}
	x := l.Elems[1]
	for _, f := range l.Elems[2:] {
		x = thread(x, f, last)
	}
	return r.expr(c, x)
}

func (r *resolver) threadAs(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 3 {
		return nil, errorf(l.At, "as-> needs a value and a name")
	}
	name, ok := l.Elems[2].(*syntax.Symbol)
	if !ok {
		return nil, errorf(l.Elems[2].Pos(), "as-> needs a name")
	}
	bindings := []syntax.Node{name, l.Elems[1]}
	for _, f := range l.Elems[3:] {
		bindings = append(bindings, name, f)
	}
	return r.expr(c, &syntax.List{At: l.At, End: l.End, Elems: []syntax.Node{
		symAt("let", l.At), &syntax.Vector{At: l.At, Elems: bindings}, name,
	}})
}

func (r *resolver) condThread(c ctx, l *syntax.List, last bool) (Expr, error) {
	if len(l.Elems) < 2 || len(l.Elems)%2 != 0 {
		return nil, errorf(l.At, "cond-> needs a value and pairs of test and form")
	}
	g := symAt(r.gensym("cond->"), l.At)
	bindings := []syntax.Node{g, l.Elems[1]}
	for i := 2; i < len(l.Elems); i += 2 {
		bindings = append(bindings, g, &syntax.List{At: l.Elems[i].Pos(), Elems: []syntax.Node{
			symAt("if", l.At), l.Elems[i], thread(g, l.Elems[i+1], last), g,
		}})
	}
	return r.expr(c, &syntax.List{At: l.At, End: l.End, Elems: []syntax.Node{
		symAt("let", l.At), &syntax.Vector{At: l.At, Elems: bindings}, g,
	}})
}

// ---- match, try, resources

func (r *resolver) matchForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 2 || len(l.Elems)%2 != 0 {
		return nil, errorf(l.At, "match needs a value and pairs of pattern and body")
	}
	x, err := r.expr(c.notTail(), l.Elems[1])
	if err != nil {
		return nil, err
	}
	m := &Match{At: l.At, X: x}
	for i := 2; i < len(l.Elems); i += 2 {
		inner := c
		pat, err := r.matchPattern(&inner, l.Elems[i])
		if err != nil {
			return nil, err
		}
		body, err := r.expr(inner, l.Elems[i+1])
		if err != nil {
			return nil, err
		}
		m.Clauses = append(m.Clauses, MatchClause{Pat: pat, Body: body})
	}
	return m, nil
}

// catchAllClasses are the names that catch every error, for compatibility
// with code written for the JVM.
var catchAllClasses = map[string]bool{
	"Exception": true, "Throwable": true, "Error": true, "RuntimeException": true,
	"ExceptionInfo": true, "Object": true,
}

func (r *resolver) tryForm(c ctx, l *syntax.List) (Expr, error) {
	t := &Try{At: l.At}
	var body []syntax.Node
	inner := c.noRecur()
	for i, e := range l.Elems[1:] {
		cl, ok := e.(*syntax.List)
		switch {
		case ok && isHead(cl, "catch"):
			ce, err := r.catchClause(inner, cl)
			if err != nil {
				return nil, err
			}
			t.Catches = append(t.Catches, ce)
		case ok && isHead(cl, "finally"):
			if i != len(l.Elems)-2 {
				return nil, errorf(cl.At, "finally must be the last clause of try")
			}
			f, err := r.body(inner, cl.At, cl.Elems[1:])
			if err != nil {
				return nil, err
			}
			t.Finally = f
		default:
			if len(t.Catches) > 0 {
				return nil, errorf(e.Pos(), "try body forms must come before catch clauses")
			}
			body = append(body, e)
		}
	}
	b, err := r.body(inner, l.At, body)
	if err != nil {
		return nil, err
	}
	t.Body = b
	return t, nil
}

func (r *resolver) catchClause(c ctx, cl *syntax.List) (Catch, error) {
	el := cl.Elems[1:]
	ce := Catch{At: cl.At}
	if len(el) == 0 {
		return ce, errorf(cl.At, "catch needs a binding name")
	}
	switch sel := el[0].(type) {
	case *syntax.Keyword:
		if sel.Name != "any" {
			ce.Type = value.Keyword(sel.Name)
		}
		el = el[1:]
	case *syntax.Symbol:
		if len(el) >= 2 && catchAllClasses[sel.Name] {
			if _, ok := el[1].(*syntax.Symbol); ok {
				el = el[1:]
			}
		}
	}
	if len(el) == 0 {
		return ce, errorf(cl.At, "catch needs a binding name")
	}
	s, ok := el[0].(*syntax.Symbol)
	if !ok {
		return ce, errorf(el[0].Pos(), "catch needs a binding name")
	}
	ce.B = r.newBinding(&c, s.Name, s.At)
	bind(&c, ce.B)
	body, err := r.body(c, cl.At, el[1:])
	if err != nil {
		return ce, err
	}
	ce.Body = body
	return ce, nil
}

func (r *resolver) withResourceForm(c ctx, l *syntax.List) (Expr, error) {
	if len(l.Elems) < 2 {
		return nil, errorf(l.At, "with-resource needs [name init]")
	}
	v, ok := l.Elems[1].(*syntax.Vector)
	if !ok || (len(v.Elems) != 2 && len(v.Elems) != 3) {
		return nil, errorf(l.Elems[1].Pos(), "with-resource needs [name init] or [name Type init]")
	}
	s, ok := v.Elems[0].(*syntax.Symbol)
	if !ok {
		return nil, errorf(v.Elems[0].Pos(), "with-resource needs a name")
	}
	init, err := r.expr(c.noRecur(), v.Elems[len(v.Elems)-1])
	if err != nil {
		return nil, err
	}
	inner := c.noRecur()
	b := r.newBinding(&inner, s.Name, s.At)
	if s.Type != nil {
		if b.Type, err = parseType(s.Type); err != nil {
			return nil, err
		}
	}
	bind(&inner, b)
	body, err := r.body(inner, l.At, l.Elems[2:])
	if err != nil {
		return nil, err
	}
	return &WithResource{At: l.At, B: b, Init: init, Body: body}, nil
}

// thunk resolves body forms as a function of no arguments, so that they
// can run on another goroutine with their own frame.
func (r *resolver) thunk(c ctx, at syntax.Pos, body []syntax.Node, name string) (*Function, error) {
	fn := &Function{At: at, Name: name}
	params := &syntax.Vector{At: at}
	a, err := r.arity(c.noRecur(), fn, params, body, "")
	if err != nil {
		return nil, err
	}
	fn.Arities = []*Arity{a}
	a.NumLocals = a.FreeBase + len(fn.Free)
	return fn, nil
}

func (r *resolver) parallelForm(c ctx, l *syntax.List) (Expr, error) {
	p := &Parallel{At: l.At}
	seen := map[string]bool{}
	for _, e := range l.Elems[1:] {
		v, ok := e.(*syntax.Vector)
		if !ok || len(v.Elems) != 2 {
			return nil, errorf(e.Pos(), "parallel branches look like [name expr]")
		}
		var key string
		switch k := v.Elems[0].(type) {
		case *syntax.Symbol:
			key = k.Name
		case *syntax.Keyword:
			key = k.Name
		default:
			return nil, errorf(v.Elems[0].Pos(), "parallel branch needs a name")
		}
		if seen[key] {
			return nil, errorf(v.At, "duplicate parallel branch %s", key)
		}
		seen[key] = true
		fn, err := r.thunk(c, v.At, v.Elems[1:], "parallel:"+key)
		if err != nil {
			return nil, err
		}
		p.Keys = append(p.Keys, value.Keyword(key))
		p.Branches = append(p.Branches, fn)
	}
	return p, nil
}

// stepOptions are the option keywords each step form accepts.
var stepOptions = map[string]bool{
	"params": true, "expose-context": true, "context-keys": true, "isolation": true,
	"max-iterations": true, "merge-policy": true, "retry": true, "timeout-ms": true,
	"idempotent": true,
}

func (r *resolver) stepForm(c ctx, l *syntax.List, form string) (Expr, error) {
	s := &Step{At: l.At, Name: form, Options: map[string]Expr{}, Form: l}
	switch form {
	case "step-if":
		s.Kind = StepIf
	case "step-loop":
		s.Kind = StepLoop
	case "step-parallel":
		s.Kind = StepParallel
	}
	el := l.Elems[1:]
	if len(el) > 0 {
		if str, ok := el[0].(*syntax.String); ok {
			s.Name = str.Value
			el = el[1:]
		} else if s.Kind == StepPlain {
			return nil, errorf(el[0].Pos(), "step needs a name string literal")
		}
	} else if s.Kind == StepPlain {
		return nil, errorf(l.At, "step needs a name string literal")
	}
	inner := c.noRecur()
	for len(el) >= 2 {
		k, ok := el[0].(*syntax.Keyword)
		if !ok || !stepOptions[k.Name] {
			break
		}
		if _, dup := s.Options[k.Name]; dup || (k.Name == "params" && s.Params != nil) {
			return nil, errorf(k.At, "duplicate step option :%s", k.Name)
		}
		x, err := r.expr(inner, el[1])
		if err != nil {
			return nil, err
		}
		if k.Name == "params" {
			s.Params = x
		} else {
			s.Options[k.Name] = x
		}
		el = el[2:]
	}
	if s.Params != nil {
		s.ParamsB = r.newBinding(&inner, "%params", l.At)
		bind(&inner, s.ParamsB)
	}
	var err error
	switch s.Kind {
	case StepPlain:
		s.Body, err = r.body(inner, l.At, el)
	case StepIf:
		if len(el) < 2 || len(el) > 3 {
			return nil, errorf(l.At, "step-if takes a condition, a then branch and an optional else branch")
		}
		if s.Cond, err = r.expr(inner, el[0]); err == nil {
			if s.Then, err = r.expr(inner, el[1]); err == nil {
				s.Else = &Const{At: l.At}
				if len(el) == 3 {
					s.Else, err = r.expr(inner, el[2])
				}
			}
		}
	case StepLoop:
		if len(el) < 1 {
			return nil, errorf(l.At, "step-loop needs a condition and a body")
		}
		if s.Cond, err = r.expr(inner, el[0]); err == nil {
			s.Body, err = r.body(inner, l.At, el[1:])
		}
	case StepParallel:
		for i, e := range el {
			fn, ferr := r.thunk(inner, e.Pos(), []syntax.Node{e}, s.Name+"/"+strconv.Itoa(i))
			if ferr != nil {
				return nil, ferr
			}
			s.Branches = append(s.Branches, fn)
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (r *resolver) llmForm(c ctx, l *syntax.List) (Expr, error) {
	el := l.Elems[1:]
	var kvs []Expr
	add := func(k string, n syntax.Node) error {
		x, err := r.expr(c.notTail(), n)
		if err != nil {
			return err
		}
		kvs = append(kvs, &Const{At: n.Pos(), Value: value.Keyword(k)}, x)
		return nil
	}
	if len(el) > 0 {
		if _, ok := el[0].(*syntax.Keyword); ok {
			if len(el)%2 != 0 {
				return nil, errorf(l.At, "llm-execute takes :model, :prompt and :system options in pairs")
			}
			for i := 0; i < len(el); i += 2 {
				k := el[i].(*syntax.Keyword)
				if k.Name != "model" && k.Name != "prompt" && k.Name != "system" {
					return nil, errorf(k.At, "llm-execute: unknown option :%s", k.Name)
				}
				if err := add(k.Name, el[i+1]); err != nil {
					return nil, err
				}
			}
			return &CallCap{At: l.At, ID: &Const{At: l.At, Value: value.String("ccos.ai.llm-execute")},
				Args: []Expr{&MapLit{At: l.At, Elems: kvs}}}, nil
		}
	}
	if len(el) != 2 {
		return nil, errorf(l.At, "llm-execute takes a model and a prompt")
	}
	if err := add("model", el[0]); err != nil {
		return nil, err
	}
	if err := add("prompt", el[1]); err != nil {
		return nil, err
	}
	return &CallCap{At: l.At, ID: &Const{At: l.At, Value: value.String("ccos.ai.llm-execute")},
		Args: []Expr{&MapLit{At: l.At, Elems: kvs}}}, nil
}

func (r *resolver) logStepForm(c ctx, l *syntax.List) (Expr, error) {
	el := l.Elems[1:]
	ls := &LogStep{At: l.At, Level: "info"}
	if len(el) > 0 {
		if k, ok := el[0].(*syntax.Keyword); ok {
			switch k.Name {
			case "trace", "debug", "info", "warn", "warning", "error":
				ls.Level = k.Name
				el = el[1:]
			}
		}
	}
	xs, err := r.exprs(c.notTail(), el)
	if err != nil {
		return nil, err
	}
	ls.Args = xs
	return ls, nil
}

// Package resolve turns RTFS syntax into a resolved tree: special forms are
// recognised and checked, derived forms (cond, when, ->, ...) are expanded,
// and every symbol becomes a local slot, a captured variable or a global.
// Like go.starlark.net's resolver, it runs before evaluation so that the
// evaluator never looks names up in maps and closures capture variables by
// reference.
package resolve

import (
	"fmt"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// maxNesting bounds resolver recursion so that hostile input (or long
// threading forms that expand into deep nesting) cannot exhaust the stack.
const maxNesting = 20000

// Resolve resolves one top-level form.
func Resolve(form syntax.Node) (*Program, error) {
	r := &resolver{}
	fr := &frame{}
	body, err := r.expr(ctx{fr: fr, tail: true}, form)
	if err != nil {
		return nil, err
	}
	return &Program{Body: body, NumLocals: fr.nlocals, Source: form}, nil
}

type resolver struct {
	depth int
	gen   int // counter for generated names
}

// frame is one function arity being resolved (or the top level).
type frame struct {
	fn          *Function
	parent      *frame
	parentScope *scope
	nlocals     int
	freeIndex   map[string]int
}

// scope is one binding in a chain of lexical bindings within a frame.
type scope struct {
	parent *scope
	b      *Binding
}

// recurTarget is where recur jumps.
type recurTarget struct {
	loop  *Loop
	arity *Arity
	n     int
}

// ctx is the resolution context of one expression.
type ctx struct {
	fr    *frame
	sc    *scope
	tail  bool
	recur *recurTarget
}

func (c ctx) notTail() ctx { c.tail = false; return c }

func (c ctx) noRecur() ctx { c.tail = false; c.recur = nil; return c }

// errorf returns a :parse-error at pos; malformed special forms are syntax
// errors in the same sense as reader errors.
func errorf(pos syntax.Pos, format string, args ...any) error {
	e := value.NewError(value.ErrParse, format, args...)
	e.Pos = pos
	return e
}

func (r *resolver) newBinding(c *ctx, name string, at syntax.Pos) *Binding {
	b := &Binding{Name: name, Index: c.fr.nlocals, At: at}
	c.fr.nlocals++
	return b
}

// bind makes b visible in c's scope.
func bind(c *ctx, b *Binding) {
	c.sc = &scope{parent: c.sc, b: b}
}

// lookupLocal finds name among the bindings of the current frame.
func lookupLocal(sc *scope, name string) *Binding {
	for s := sc; s != nil; s = s.parent {
		if s.b.Name == name {
			return s.b
		}
	}
	return nil
}

// lookupFree finds name in the frames enclosing fr, registering it as a
// free variable of every function in between. It returns the index in
// fr.fn.Free.
func lookupFree(fr *frame, name string) (int, *Binding, bool) {
	if fr.parent == nil {
		return 0, nil, false
	}
	if i, ok := fr.freeIndex[name]; ok {
		return i, fr.fn.Free[i].B, true
	}
	var fv *FreeVar
	if b := lookupLocal(fr.parentScope, name); b != nil {
		b.Captured = true
		fv = &FreeVar{B: b, FromParentLocal: true, ParentIndex: b.Index}
	} else if i, b, ok := lookupFree(fr.parent, name); ok {
		fv = &FreeVar{B: b, ParentIndex: i}
	} else {
		return 0, nil, false
	}
	if fr.freeIndex == nil {
		fr.freeIndex = map[string]int{}
	}
	i := len(fr.fn.Free)
	fr.fn.Free = append(fr.fn.Free, fv)
	fr.freeIndex[name] = i
	return i, fv.B, true
}

// lookup resolves a variable reference.
func lookup(c ctx, name string, at syntax.Pos) Expr {
	if b := lookupLocal(c.sc, name); b != nil {
		return &LocalRef{At: at, B: b}
	}
	if i, b, ok := lookupFree(c.fr, name); ok {
		return &FreeRef{At: at, Index: i, B: b}
	}
	return &GlobalRef{At: at, Name: name}
}

// isLexical reports whether name is bound by an enclosing let/fn, in
// which case a special-form name is an ordinary call.
func isLexical(c ctx, name string) bool {
	if lookupLocal(c.sc, name) != nil {
		return true
	}
	for f := c.fr; f.parent != nil; f = f.parent {
		if lookupLocal(f.parentScope, name) != nil {
			return true
		}
	}
	return false
}

func (r *resolver) expr(c ctx, n syntax.Node) (Expr, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxNesting {
		return nil, errorf(n.Pos(), "expression nested too deeply")
	}
	switch x := n.(type) {
	case *syntax.Symbol:
		if x.Type != nil {
			return nil, errorf(x.At, "type annotation on %s is only allowed where a name is bound", x.Name)
		}
		return lookup(c, x.Name, x.At), nil
	case *syntax.List:
		if len(x.Elems) == 0 {
			return &Const{At: x.At, Value: value.EmptyList}, nil
		}
		return r.list(c, x)
	case *syntax.Vector:
		if isConstant(x) {
			return &Const{At: x.At, Value: value.FromSyntax(x)}, nil
		}
		elems, err := r.exprs(c.notTail(), x.Elems)
		return &VectorLit{At: x.At, Elems: elems}, err
	case *syntax.Map:
		if isConstant(x) {
			return &Const{At: x.At, Value: value.FromSyntax(x)}, nil
		}
		elems, err := r.exprs(c.notTail(), x.Elems)
		return &MapLit{At: x.At, Elems: elems}, err
	case *syntax.Set:
		if isConstant(x) {
			return &Const{At: x.At, Value: value.FromSyntax(x)}, nil
		}
		elems, err := r.exprs(c.notTail(), x.Elems)
		return &SetLit{At: x.At, Elems: elems}, err
	}
	return &Const{At: n.Pos(), Value: value.FromSyntax(n)}, nil
}

// isConstant reports whether a collection literal contains no symbols or
// lists, so it can be built once at resolve time.
func isConstant(n syntax.Node) bool {
	switch x := n.(type) {
	case *syntax.Symbol, *syntax.List:
		return false
	case *syntax.Vector:
		return allConstant(x.Elems)
	case *syntax.Map:
		return allConstant(x.Elems)
	case *syntax.Set:
		return allConstant(x.Elems)
	}
	return true
}

func allConstant(ns []syntax.Node) bool {
	for _, e := range ns {
		if !isConstant(e) {
			return false
		}
	}
	return true
}

func (r *resolver) exprs(c ctx, ns []syntax.Node) ([]Expr, error) {
	out := make([]Expr, len(ns))
	for i, n := range ns {
		e, err := r.expr(c, n)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// body resolves a sequence of forms whose last one is in tail position.
func (r *resolver) body(c ctx, at syntax.Pos, ns []syntax.Node) (Expr, error) {
	switch len(ns) {
	case 0:
		return &Const{At: at}, nil
	case 1:
		return r.expr(c, ns[0])
	}
	out := make([]Expr, len(ns))
	for i, n := range ns {
		cc := c
		if i < len(ns)-1 {
			cc = c.notTail()
		}
		e, err := r.expr(cc, n)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return &Do{At: at, Exprs: out}, nil
}

func (r *resolver) list(c ctx, l *syntax.List) (Expr, error) {
	if head, ok := l.Elems[0].(*syntax.Symbol); ok && head.Type == nil && !isLexical(c, head.Name) {
		if e, handled, err := r.special(c, head.Name, l); handled {
			return e, err
		}
	}
	fn, err := r.expr(c.notTail(), l.Elems[0])
	if err != nil {
		return nil, err
	}
	args, err := r.exprs(c.notTail(), l.Elems[1:])
	if err != nil {
		return nil, err
	}
	call := &Call{At: l.At, Fn: fn, Args: args}
	if s, ok := l.Elems[0].(*syntax.Symbol); ok {
		call.Name = s.Name
	}
	return call, nil
}

// parseType parses a type annotation node.
func parseType(n syntax.Node) (*types.Type, error) {
	if n == nil {
		return nil, nil
	}
	t, err := types.Parse(value.FromSyntax(n))
	if err != nil {
		return nil, errorf(n.Pos(), "invalid type %s: %v", syntax.Print(n), err)
	}
	return t, nil
}

// gensym returns a name no user symbol can have (it contains a space).
func (r *resolver) gensym(prefix string) string {
	r.gen++
	return fmt.Sprintf("%s %d", prefix, r.gen)
}

// ---- functions

// fnForm resolves (fn name? [params] body...) or (fn name? ([p] b)...).
func (r *resolver) fnForm(c ctx, l *syntax.List, elems []syntax.Node, name string, meta value.Value) (*FnExpr, error) {
	fn := &Function{At: l.At, Name: name, Meta: meta}
	selfName := ""
	if len(elems) > 0 {
		if s, ok := elems[0].(*syntax.Symbol); ok {
			selfName = s.Name
			if fn.Name == "" {
				fn.Name = s.Name
			}
			if s.Meta != nil {
				fn.Meta = value.FromSyntax(s.Meta)
			}
			elems = elems[1:]
		}
	}
	if err := r.arities(c, fn, l, elems, selfName); err != nil {
		return nil, err
	}
	return &FnExpr{At: l.At, Fn: fn}, nil
}

// arities resolves either a single [params] body... or several
// ([params] body...) lists.
func (r *resolver) arities(c ctx, fn *Function, l *syntax.List, elems []syntax.Node, selfName string) error {
	if len(elems) == 0 {
		return errorf(l.At, "function needs a parameter vector")
	}
	if params, ok := elems[0].(*syntax.Vector); ok {
		a, err := r.arity(c, fn, params, elems[1:], selfName)
		if err != nil {
			return err
		}
		fn.Arities = []*Arity{a}
	} else {
		seen := map[int]bool{}
		variadic := false
		for _, e := range elems {
			al, ok := e.(*syntax.List)
			if !ok || len(al.Elems) == 0 {
				return errorf(e.Pos(), "expected a parameter vector or ([params] body...) clauses")
			}
			params, ok := al.Elems[0].(*syntax.Vector)
			if !ok {
				return errorf(al.Elems[0].Pos(), "expected a parameter vector")
			}
			a, err := r.arity(c, fn, params, al.Elems[1:], selfName)
			if err != nil {
				return err
			}
			if a.Variadic {
				if variadic {
					return errorf(al.At, "a function can have only one variadic arity")
				}
				variadic = true
			} else if seen[a.NumParams] {
				return errorf(al.At, "two arities with %d parameters", a.NumParams)
			}
			seen[a.NumParams] = true
			fn.Arities = append(fn.Arities, a)
		}
	}
	for _, a := range fn.Arities {
		a.NumLocals = a.FreeBase + len(fn.Free)
	}
	return nil
}

func (r *resolver) arity(outer ctx, fn *Function, params *syntax.Vector, body []syntax.Node, selfName string) (*Arity, error) {
	fr := &frame{fn: fn, parent: outer.fr, parentScope: outer.sc}
	a := &Arity{At: params.At, SelfSlot: -1}
	// Split the parameter vector into fixed params and the rest param.
	var fixed []syntax.Node
	var rest syntax.Node
	for i := 0; i < len(params.Elems); i++ {
		if s, ok := params.Elems[i].(*syntax.Symbol); ok && s.Name == "&" {
			if i+2 != len(params.Elems) {
				return nil, errorf(s.At, "& must be followed by exactly one parameter")
			}
			rest = params.Elems[i+1]
			break
		}
		fixed = append(fixed, params.Elems[i])
	}
	a.NumParams = len(fixed)
	a.Variadic = rest != nil
	fr.nlocals = a.NumParams
	if a.Variadic {
		fr.nlocals++
	}
	c := ctx{fr: fr, tail: true}
	if selfName != "" {
		b := r.newBinding(&c, selfName, params.At)
		a.SelfSlot = b.Index
		bind(&c, b)
		defer func() { a.SelfCaptured = b.Captured }()
	}
	a.Params = make([]Pattern, len(fixed))
	slotPattern := func(slot int, p syntax.Node) (Pattern, error) {
		if s, ok := p.(*syntax.Symbol); ok {
			if s.Name == "_" {
				return nil, nil
			}
			t, err := parseType(s.Type)
			if err != nil {
				return nil, err
			}
			b := &Binding{Name: s.Name, Index: slot, Type: t, At: s.At}
			a.ParamBindings = append(a.ParamBindings, b)
			bind(&c, b)
			return nil, nil
		}
		return r.pattern(&c, p)
	}
	for i, p := range fixed {
		pat, err := slotPattern(i, p)
		if err != nil {
			return nil, err
		}
		a.Params[i] = pat
	}
	if rest != nil {
		pat, err := slotPattern(a.NumParams, rest)
		if err != nil {
			return nil, err
		}
		a.Rest = pat
	}
	// Optional return type: a keyword or type vector followed by the body.
	if len(body) > 1 && isTypeExpr(body[0]) {
		t, err := parseType(body[0])
		if err != nil {
			return nil, err
		}
		a.RetType = t
		body = body[1:]
	}
	c.recur = &recurTarget{arity: a, n: a.NumParams + btoi(a.Variadic)}
	e, err := r.body(c, params.At, body)
	if err != nil {
		return nil, err
	}
	a.Body = e
	a.FreeBase = fr.nlocals
	// The frame's locals are final once the body is resolved; free
	// variables found later (by other arities) only extend Free.
	return a, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

var typeConstructors = map[string]bool{
	"vector": true, "list": true, "set": true, "tuple": true, "map": true, "map-of": true,
	"union": true, "enum": true, "val": true, "fn": true, "and": true, "optional": true,
}

// isTypeExpr reports whether n looks like a return-type annotation.
func isTypeExpr(n syntax.Node) bool {
	switch x := n.(type) {
	case *syntax.Keyword:
		return true
	case *syntax.Vector:
		if len(x.Elems) > 0 {
			if k, ok := x.Elems[0].(*syntax.Keyword); ok {
				return typeConstructors[k.Name]
			}
		}
	}
	return false
}

// ---- destructuring patterns

// pattern resolves a binding pattern, adding its bindings to c.
func (r *resolver) pattern(c *ctx, n syntax.Node) (Pattern, error) {
	switch x := n.(type) {
	case *syntax.Symbol:
		if x.Name == "_" {
			return &IgnorePat{}, nil
		}
		if x.Name == "&" {
			return nil, errorf(x.At, "misplaced &")
		}
		t, err := parseType(x.Type)
		if err != nil {
			return nil, err
		}
		b := r.newBinding(c, x.Name, x.At)
		b.Type = t
		bind(c, b)
		return &BindPat{B: b}, nil
	case *syntax.Vector:
		p := &VecPat{At: x.At}
		for i := 0; i < len(x.Elems); i++ {
			e := x.Elems[i]
			if s, ok := e.(*syntax.Symbol); ok && s.Name == "&" {
				if i+1 >= len(x.Elems) {
					return nil, errorf(s.At, "& must be followed by a pattern")
				}
				rp, err := r.pattern(c, x.Elems[i+1])
				if err != nil {
					return nil, err
				}
				p.Rest = rp
				i++
				continue
			}
			if k, ok := e.(*syntax.Keyword); ok && k.Name == "as" {
				if i+1 >= len(x.Elems) {
					return nil, errorf(k.At, ":as must be followed by a name")
				}
				s, ok := x.Elems[i+1].(*syntax.Symbol)
				if !ok {
					return nil, errorf(x.Elems[i+1].Pos(), ":as must be followed by a name")
				}
				b := r.newBinding(c, s.Name, s.At)
				bind(c, b)
				p.As = b
				i++
				continue
			}
			if p.Rest != nil {
				return nil, errorf(e.Pos(), "only :as may follow the rest pattern")
			}
			ep, err := r.pattern(c, e)
			if err != nil {
				return nil, err
			}
			p.Elems = append(p.Elems, ep)
		}
		return p, nil
	case *syntax.Map:
		return r.mapPattern(c, x)
	}
	return nil, errorf(n.Pos(), "invalid binding pattern %s", syntax.Print(n))
}

func (r *resolver) mapPattern(c *ctx, x *syntax.Map) (Pattern, error) {
	p := &MapPat{At: x.At}
	defaults := map[string]syntax.Node{}
	// First pass: collect :or so defaults attach to their names.
	for i := 0; i+1 < len(x.Elems); i += 2 {
		if k, ok := x.Elems[i].(*syntax.Keyword); ok && k.Name == "or" {
			m, ok := x.Elems[i+1].(*syntax.Map)
			if !ok {
				return nil, errorf(x.Elems[i+1].Pos(), ":or must be followed by a map")
			}
			for j := 0; j+1 < len(m.Elems); j += 2 {
				s, ok := m.Elems[j].(*syntax.Symbol)
				if !ok {
					return nil, errorf(m.Elems[j].Pos(), ":or keys must be names")
				}
				defaults[s.Name] = m.Elems[j+1]
			}
		}
	}
	outer := *c // defaults see only the bindings made before this pattern
	defaultFor := func(name string) (Expr, error) {
		d, ok := defaults[name]
		if !ok {
			return nil, nil
		}
		return r.expr(outer.notTail(), d)
	}
	var asName *syntax.Symbol
	for i := 0; i+1 < len(x.Elems); i += 2 {
		key, val := x.Elems[i], x.Elems[i+1]
		if k, ok := key.(*syntax.Keyword); ok {
			switch k.Name {
			case "or":
				continue
			case "as":
				s, ok := val.(*syntax.Symbol)
				if !ok {
					return nil, errorf(val.Pos(), ":as must be followed by a name")
				}
				asName = s
				continue
			case "keys", "strs", "syms":
				v, ok := val.(*syntax.Vector)
				if !ok {
					return nil, errorf(val.Pos(), ":%s must be followed by a vector of names", k.Name)
				}
				for _, e := range v.Elems {
					var name, full string
					switch s := e.(type) {
					case *syntax.Symbol:
						full = s.Name
					case *syntax.Keyword:
						full = s.Name
					default:
						return nil, errorf(e.Pos(), ":%s names must be symbols", k.Name)
					}
					name = value.Symbol(full).LocalName()
					var keyVal value.Value
					switch k.Name {
					case "keys":
						keyVal = value.Keyword(full)
					case "strs":
						keyVal = value.String(full)
					default:
						keyVal = value.Symbol(full)
					}
					def, err := defaultFor(name)
					if err != nil {
						return nil, err
					}
					var t *types.Type
					if s, ok := e.(*syntax.Symbol); ok {
						if t, err = parseType(s.Type); err != nil {
							return nil, err
						}
					}
					b := r.newBinding(c, name, e.Pos())
					b.Type = t
					bind(c, b)
					p.Entries = append(p.Entries, MapPatEntry{Key: keyVal, Pat: &BindPat{B: b}, Default: def})
				}
				continue
			}
		}
		// binding-form key-expression
		var def Expr
		if s, ok := key.(*syntax.Symbol); ok {
			var err error
			if def, err = defaultFor(s.Name); err != nil {
				return nil, err
			}
		}
		if !isConstant(val) {
			return nil, errorf(val.Pos(), "map pattern key must be a literal")
		}
		sub, err := r.pattern(c, key)
		if err != nil {
			return nil, err
		}
		p.Entries = append(p.Entries, MapPatEntry{Key: value.FromSyntax(val), Pat: sub, Default: def})
	}
	if len(x.Elems)%2 != 0 {
		return nil, errorf(x.At, "map pattern needs key/value pairs")
	}
	if asName != nil {
		b := r.newBinding(c, asName.Name, asName.At)
		bind(c, b)
		p.As = b
	}
	return p, nil
}

// ---- match patterns

func (r *resolver) matchPattern(c *ctx, n syntax.Node) (MatchPattern, error) {
	switch x := n.(type) {
	case *syntax.Symbol:
		if x.Name == "_" {
			return &MWild{}, nil
		}
		b := r.newBinding(c, x.Name, x.At)
		if x.Type != nil {
			t, err := parseType(x.Type)
			if err != nil {
				return nil, err
			}
			bind(c, b)
			return &MType{Type: t, Pat: &MBind{B: b}}, nil
		}
		bind(c, b)
		return &MBind{B: b}, nil
	case *syntax.Vector:
		p := &MVec{}
		for i := 0; i < len(x.Elems); i++ {
			e := x.Elems[i]
			if s, ok := e.(*syntax.Symbol); ok && s.Name == "&" {
				if i+2 != len(x.Elems) {
					return nil, errorf(s.At, "& must be followed by exactly one pattern")
				}
				rp, err := r.matchPattern(c, x.Elems[i+1])
				if err != nil {
					return nil, err
				}
				p.Rest = rp
				break
			}
			ep, err := r.matchPattern(c, e)
			if err != nil {
				return nil, err
			}
			p.Elems = append(p.Elems, ep)
		}
		return p, nil
	case *syntax.Map:
		p := &MMap{}
		for i := 0; i+1 < len(x.Elems); i += 2 {
			if !isConstant(x.Elems[i]) {
				return nil, errorf(x.Elems[i].Pos(), "map pattern keys must be literals")
			}
			sub, err := r.matchPattern(c, x.Elems[i+1])
			if err != nil {
				return nil, err
			}
			p.Entries = append(p.Entries, MMapEntry{Key: value.FromSyntax(x.Elems[i]), Pat: sub})
		}
		return p, nil
	case *syntax.List:
		return r.matchListPattern(c, x)
	case *syntax.Set:
		return nil, errorf(x.At, "sets are not match patterns")
	}
	return &MLit{Value: value.FromSyntax(n)}, nil
}

func (r *resolver) matchListPattern(c *ctx, x *syntax.List) (MatchPattern, error) {
	el := x.Elems
	// (p :when guard)
	if len(el) == 3 {
		if k, ok := el[1].(*syntax.Keyword); ok && k.Name == "when" {
			p, err := r.matchPattern(c, el[0])
			if err != nil {
				return nil, err
			}
			g, err := r.expr(c.noRecur(), el[2])
			if err != nil {
				return nil, err
			}
			return &MGuard{Pat: p, Guard: g}, nil
		}
	}
	// (:as name p) and (:type T p)
	if len(el) == 3 {
		if k, ok := el[0].(*syntax.Keyword); ok {
			switch k.Name {
			case "as":
				s, ok := el[1].(*syntax.Symbol)
				if !ok {
					return nil, errorf(el[1].Pos(), "(:as name pattern) needs a name")
				}
				b := r.newBinding(c, s.Name, s.At)
				bind(c, b)
				p, err := r.matchPattern(c, el[2])
				if err != nil {
					return nil, err
				}
				return &MAs{B: b, Pat: p}, nil
			case "type":
				t, err := parseType(el[1])
				if err != nil {
					return nil, err
				}
				p, err := r.matchPattern(c, el[2])
				if err != nil {
					return nil, err
				}
				return &MType{Type: t, Pat: p}, nil
			}
		}
	}
	// (name @ p), read as (name (deref p))
	if len(el) == 2 {
		if s, ok := el[0].(*syntax.Symbol); ok {
			if d, ok := el[1].(*syntax.List); ok && len(d.Elems) == 2 {
				if ds, ok := d.Elems[0].(*syntax.Symbol); ok && ds.Name == "deref" {
					b := r.newBinding(c, s.Name, s.At)
					bind(c, b)
					p, err := r.matchPattern(c, d.Elems[1])
					if err != nil {
						return nil, err
					}
					return &MAs{B: b, Pat: p}, nil
				}
			}
		}
	}
	// (p1 | p2 | ...)
	if len(el) >= 3 && len(el)%2 == 1 {
		alt := &MAlt{}
		ok := true
		for i := 1; i < len(el); i += 2 {
			if s, isSym := el[i].(*syntax.Symbol); !isSym || s.Name != "|" {
				ok = false
			}
		}
		if ok {
			for i := 0; i < len(el); i += 2 {
				p, err := r.matchPattern(c, el[i])
				if err != nil {
					return nil, err
				}
				alt.Alts = append(alt.Alts, p)
			}
			return alt, nil
		}
	}
	return nil, errorf(x.At, "invalid match pattern %s", syntax.Print(x))
}

package eval

import (
	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// patternCode binds a value to a destructuring pattern's slots.
type patternCode interface {
	bind(th *Thread, env []Value, v Value) error
}

type slotPat struct {
	slot    int
	cell    bool
	forward bool
	typ     *types.Type
	name    string
	pos     syntax.Pos
}

func (p *slotPat) bind(_ *Thread, env []Value, v Value) error {
	if p.typ != nil {
		if err := checkType(p.typ, v, p.name, p.pos); err != nil {
			return err
		}
	}
	switch {
	case p.forward && p.cell:
		env[p.slot].(*Cell).V = v
	case p.cell:
		env[p.slot] = &Cell{V: v}
	default:
		env[p.slot] = v
	}
	return nil
}

type ignorePat struct{}

func (ignorePat) bind(*Thread, []Value, Value) error { return nil }

type vecPat struct {
	elems []patternCode
	rest  patternCode
	as    patternCode
	pos   syntax.Pos
}

func (p *vecPat) bind(th *Thread, env []Value, v Value) error {
	if v != nil && !value.IsSequential(v) {
		if _, ok := v.(value.String); !ok {
			return errAt(p.pos, value.ErrType, "cannot destructure a %s with a vector pattern", value.TypeName(v))
		}
	}
	items, rest, err := th.prefix(v, len(p.elems), p.rest != nil)
	if err != nil {
		return atPos(err, p.pos)
	}
	for i, ep := range p.elems {
		var x Value
		if i < len(items) {
			x = items[i]
		}
		if err := ep.bind(th, env, x); err != nil {
			return err
		}
	}
	if p.rest != nil {
		if err := p.rest.bind(th, env, rest); err != nil {
			return err
		}
	}
	if p.as != nil {
		return p.as.bind(th, env, v)
	}
	return nil
}

type mapPatEntry struct {
	key  Value
	pat  patternCode
	dflt node
}

type mapPat struct {
	entries []mapPatEntry
	as      patternCode
	pos     syntax.Pos
}

func (p *mapPat) bind(th *Thread, env []Value, v Value) error {
	m, ok := v.(*value.Map)
	if !ok && v != nil {
		return errAt(p.pos, value.ErrType, "cannot destructure a %s with a map pattern", value.TypeName(v))
	}
	for _, en := range p.entries {
		var x Value
		found := false
		if m != nil {
			x, found = m.Get(en.key)
		}
		if !found && en.dflt != nil {
			var err error
			if x, err = en.dflt.eval(th, env); err != nil {
				return err
			}
		}
		if err := en.pat.bind(th, env, x); err != nil {
			return err
		}
	}
	if p.as != nil {
		return p.as.bind(th, env, v)
	}
	return nil
}

func (c *compiler) slot(b *resolve.Binding) *slotPat {
	return &slotPat{slot: b.Index, cell: b.Captured, forward: b.Forward, typ: b.Type, name: b.Name, pos: b.At}
}

func (c *compiler) pattern(p resolve.Pattern) patternCode {
	switch x := p.(type) {
	case *resolve.BindPat:
		return c.slot(x.B)
	case *resolve.IgnorePat:
		return ignorePat{}
	case *resolve.VecPat:
		vp := &vecPat{pos: x.At}
		for _, e := range x.Elems {
			vp.elems = append(vp.elems, c.pattern(e))
		}
		if x.Rest != nil {
			vp.rest = c.pattern(x.Rest)
		}
		if x.As != nil {
			vp.as = c.slot(x.As)
		}
		return vp
	case *resolve.MapPat:
		mp := &mapPat{pos: x.At}
		for _, e := range x.Entries {
			en := mapPatEntry{key: e.Key, pat: c.pattern(e.Pat)}
			if e.Default != nil {
				en.dflt = c.expr(e.Default)
			}
			mp.entries = append(mp.entries, en)
		}
		if x.As != nil {
			mp.as = c.slot(x.As)
		}
		return mp
	}
	return ignorePat{}
}

// matchCode tests a value against a match pattern, binding on success.
type matchCode interface {
	match(th *Thread, env []Value, v Value) (bool, error)
}

type mLit struct{ v Value }

func (m *mLit) match(_ *Thread, _ []Value, v Value) (bool, error) { return value.Equal(m.v, v), nil }

type mWild struct{}

func (mWild) match(*Thread, []Value, Value) (bool, error) { return true, nil }

type mBind struct{ p *slotPat }

func (m *mBind) match(th *Thread, env []Value, v Value) (bool, error) {
	return true, m.p.bind(th, env, v)
}

type mVec struct {
	elems []matchCode
	rest  matchCode
}

func (m *mVec) match(th *Thread, env []Value, v Value) (bool, error) {
	if !value.IsSequential(v) {
		return false, nil
	}
	n, bounded := seqLen(v)
	if bounded && (n < len(m.elems) || (m.rest == nil && n != len(m.elems))) {
		return false, nil
	}
	items, rest, err := th.prefix(v, len(m.elems), m.rest != nil)
	if err != nil {
		return false, err
	}
	if len(items) < len(m.elems) {
		return false, nil
	}
	for i, e := range m.elems {
		ok, err := e.match(th, env, items[i])
		if err != nil || !ok {
			return false, err
		}
	}
	if m.rest != nil {
		return m.rest.match(th, env, rest)
	}
	return true, nil
}

type mMapEntry struct {
	key Value
	pat matchCode
}

type mMap struct{ entries []mMapEntry }

func (m *mMap) match(th *Thread, env []Value, v Value) (bool, error) {
	mv, ok := v.(*value.Map)
	if !ok {
		return false, nil
	}
	for _, e := range m.entries {
		x, found := mv.Get(e.key)
		if !found {
			return false, nil
		}
		ok, err := e.pat.match(th, env, x)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

type mGuard struct {
	pat   matchCode
	guard node
}

func (m *mGuard) match(th *Thread, env []Value, v Value) (bool, error) {
	ok, err := m.pat.match(th, env, v)
	if err != nil || !ok {
		return false, err
	}
	g, err := m.guard.eval(th, env)
	if err != nil {
		return false, err
	}
	return value.Truthy(g), nil
}

type mAlt struct{ alts []matchCode }

func (m *mAlt) match(th *Thread, env []Value, v Value) (bool, error) {
	for _, a := range m.alts {
		ok, err := a.match(th, env, v)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

type mAs struct {
	p   *slotPat
	pat matchCode
}

func (m *mAs) match(th *Thread, env []Value, v Value) (bool, error) {
	if err := m.p.bind(th, env, v); err != nil {
		return false, err
	}
	return m.pat.match(th, env, v)
}

type mType struct {
	typ *types.Type
	pat matchCode
}

func (m *mType) match(th *Thread, env []Value, v Value) (bool, error) {
	if m.typ.Check(v) != nil {
		return false, nil
	}
	return m.pat.match(th, env, v)
}

func (c *compiler) matchPattern(p resolve.MatchPattern) matchCode {
	switch x := p.(type) {
	case *resolve.MLit:
		return &mLit{v: x.Value}
	case *resolve.MWild:
		return mWild{}
	case *resolve.MBind:
		return &mBind{p: c.slot(x.B)}
	case *resolve.MVec:
		m := &mVec{}
		for _, e := range x.Elems {
			m.elems = append(m.elems, c.matchPattern(e))
		}
		if x.Rest != nil {
			m.rest = c.matchPattern(x.Rest)
		}
		return m
	case *resolve.MMap:
		m := &mMap{}
		for _, e := range x.Entries {
			m.entries = append(m.entries, mMapEntry{key: e.Key, pat: c.matchPattern(e.Pat)})
		}
		return m
	case *resolve.MGuard:
		return &mGuard{pat: c.matchPattern(x.Pat), guard: c.expr(x.Guard)}
	case *resolve.MAlt:
		m := &mAlt{}
		for _, a := range x.Alts {
			m.alts = append(m.alts, c.matchPattern(a))
		}
		return m
	case *resolve.MAs:
		return &mAs{p: c.slot(x.B), pat: c.matchPattern(x.Pat)}
	case *resolve.MType:
		return &mType{typ: x.Type, pat: c.matchPattern(x.Pat)}
	}
	return mWild{}
}

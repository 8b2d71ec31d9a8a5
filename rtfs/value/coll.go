package value

import (
	"github.com/ccos-go/ccos/internal/persist"
)

// hasher adapts Hash and Equal to the persistent map.
type hasher struct{}

func (hasher) Hash(k Value) uint64       { return Hash(k) }
func (hasher) Equal(a, b Value) bool     { return Equal(a, b) }
func valueHasher() persist.Hasher[Value] { return hasher{} }

// Vector is an immutable indexed sequence, printed as [a b c].
type Vector struct {
	v *persist.Vector[Value]
}

func (*Vector) TypeName() string { return "vector" }

var emptyVec = persist.EmptyVector[Value]()

// EmptyVector is the empty vector.
var EmptyVector = &Vector{v: emptyVec}

// NewVector returns a vector holding a copy of xs.
func NewVector(xs ...Value) *Vector {
	if len(xs) == 0 {
		return EmptyVector
	}
	return &Vector{v: persist.VectorOf(xs...)}
}

// Len returns the number of elements.
func (v *Vector) Len() int { return v.v.Len() }

// Nth returns element i; ok is false when i is out of range.
func (v *Vector) Nth(i int) (Value, bool) { return v.v.Get(i) }

// Conj returns v with x appended.
func (v *Vector) Conj(x Value) *Vector { return &Vector{v: v.v.Conj(x)} }

// Assoc returns v with element i replaced (i == Len appends). ok is false
// when i is out of range.
func (v *Vector) Assoc(i int, x Value) (*Vector, bool) {
	if i < 0 || i > v.v.Len() {
		return nil, false
	}
	return &Vector{v: v.v.Assoc(i, x)}, true
}

// Pop returns v without its last element.
func (v *Vector) Pop() *Vector { return &Vector{v: v.v.Pop()} }

// Slice returns a copy of the elements in [from, to).
func (v *Vector) Slice(from, to int) []Value { return v.v.Slice(from, to) }

// Items returns a copy of all elements.
func (v *Vector) Items() []Value { return v.v.AppendTo(make([]Value, 0, v.v.Len())) }

// Range calls f for each element in order until f returns false.
func (v *Vector) Range(f func(i int, x Value) bool) { v.v.Range(f) }

// VectorBuilder builds a vector in O(n).
type VectorBuilder struct{ b *persist.VectorBuilder[Value] }

// NewVectorBuilder returns an empty builder.
func NewVectorBuilder() *VectorBuilder {
	return &VectorBuilder{b: persist.NewVectorBuilder[Value]()}
}

// Builder returns a builder that starts with v's elements; v is unchanged.
func (v *Vector) Builder() *VectorBuilder { return &VectorBuilder{b: v.v.Builder()} }

// Append adds x at the end.
func (b *VectorBuilder) Append(x Value) { b.b.Append(x) }

// Len returns the number of elements so far.
func (b *VectorBuilder) Len() int { return b.b.Len() }

// Vector returns the built vector; the builder must not be used afterwards.
func (b *VectorBuilder) Vector() *Vector { return &Vector{v: b.b.Persistent()} }

// Map is an immutable hash map that iterates in insertion order.
type Map struct {
	m *persist.Map[Value, Value]
}

func (*Map) TypeName() string { return "map" }

// EmptyMap is the empty map.
var EmptyMap = &Map{m: persist.EmptyMap[Value, Value](valueHasher())}

// NewMap builds a map from alternating keys and values; later keys win.
func NewMap(kvs ...Value) *Map {
	b := NewMapBuilder()
	for i := 0; i+1 < len(kvs); i += 2 {
		b.Assoc(kvs[i], kvs[i+1])
	}
	return b.Map()
}

// Len returns the number of entries.
func (m *Map) Len() int { return m.m.Len() }

// Get returns the value for k.
func (m *Map) Get(k Value) (Value, bool) { return m.m.Get(k) }

// Assoc returns m with k mapped to v.
func (m *Map) Assoc(k, v Value) *Map { return &Map{m: m.m.Assoc(k, v)} }

// Dissoc returns m without k.
func (m *Map) Dissoc(k Value) *Map {
	n := m.m.Dissoc(k)
	if n == m.m {
		return m
	}
	return &Map{m: n}
}

// Range calls f for each entry in insertion order until f returns false.
func (m *Map) Range(f func(k, v Value) bool) { m.m.Range(f) }

// Keys returns the keys in insertion order.
func (m *Map) Keys() []Value { return m.m.Keys() }

// Builder returns a builder that starts with m's entries.
func (m *Map) Builder() *MapBuilder { return &MapBuilder{b: m.m.Builder()} }

// MapBuilder builds a map in O(n log n) without intermediate versions.
type MapBuilder struct {
	b *persist.MapBuilder[Value, Value]
}

// NewMapBuilder returns an empty builder.
func NewMapBuilder() *MapBuilder {
	return &MapBuilder{b: persist.NewMapBuilder[Value, Value](valueHasher())}
}

// Assoc adds or replaces an entry.
func (b *MapBuilder) Assoc(k, v Value) { b.b.Assoc(k, v) }

// Get returns the value for k so far.
func (b *MapBuilder) Get(k Value) (Value, bool) { return b.b.Get(k) }

// Len returns the number of entries so far.
func (b *MapBuilder) Len() int { return b.b.Len() }

// Map returns the built map; the builder must not be used afterwards.
func (b *MapBuilder) Map() *Map { return &Map{m: b.b.Persistent()} }

// Set is an immutable hash set that iterates in insertion order.
type Set struct {
	m *persist.Map[Value, struct{}]
}

func (*Set) TypeName() string { return "set" }

// EmptySet is the empty set.
var EmptySet = &Set{m: persist.EmptyMap[Value, struct{}](valueHasher())}

// NewSet returns a set of xs (duplicates collapse).
func NewSet(xs ...Value) *Set {
	b := NewSetBuilder()
	for _, x := range xs {
		b.Add(x)
	}
	return b.Set()
}

// Len returns the number of elements.
func (s *Set) Len() int { return s.m.Len() }

// Has reports whether x is an element.
func (s *Set) Has(x Value) bool { _, ok := s.m.Get(x); return ok }

// Conj returns s with x added.
func (s *Set) Conj(x Value) *Set {
	if s.Has(x) {
		return s
	}
	return &Set{m: s.m.Assoc(x, struct{}{})}
}

// Disj returns s without x.
func (s *Set) Disj(x Value) *Set {
	n := s.m.Dissoc(x)
	if n == s.m {
		return s
	}
	return &Set{m: n}
}

// Range calls f for each element in insertion order until f returns false.
func (s *Set) Range(f func(x Value) bool) {
	s.m.Range(func(k Value, _ struct{}) bool { return f(k) })
}

// Items returns the elements in insertion order.
func (s *Set) Items() []Value { return s.m.Keys() }

// Builder returns a builder that starts with s's elements.
func (s *Set) Builder() *SetBuilder { return &SetBuilder{b: s.m.Builder()} }

// SetBuilder builds a set.
type SetBuilder struct {
	b *persist.MapBuilder[Value, struct{}]
}

// NewSetBuilder returns an empty builder.
func NewSetBuilder() *SetBuilder {
	return &SetBuilder{b: persist.NewMapBuilder[Value, struct{}](valueHasher())}
}

// Add adds x.
func (b *SetBuilder) Add(x Value) {
	if _, ok := b.b.Get(x); !ok {
		b.b.Assoc(x, struct{}{})
	}
}

// Len returns the number of elements so far.
func (b *SetBuilder) Len() int { return b.b.Len() }

// Set returns the built set.
func (b *SetBuilder) Set() *Set { return &Set{m: b.b.Persistent()} }

// List is an immutable sequence printed as (a b c): the type of lists and
// of the results of sequence functions. A list is a chain of cons cells
// that may end in an array segment, so that prepending is O(1) and a
// sequence function can return its results without allocating a cell per
// element.
type List struct {
	first Value
	rest  *List
	count int
	// arr, when not nil, makes this node an array segment holding all
	// count elements; first and rest are unused.
	arr []Value
}

func (*List) TypeName() string { return "list" }

// EmptyList is the empty list.
var EmptyList = &List{}

// NewList returns a list of a copy of xs.
func NewList(xs ...Value) *List {
	if len(xs) == 0 {
		return EmptyList
	}
	return &List{arr: append([]Value(nil), xs...), count: len(xs)}
}

// ListFromSlice returns a list of xs without copying: the caller gives up
// xs and must not modify it afterwards.
func ListFromSlice(xs []Value) *List {
	if len(xs) == 0 {
		return EmptyList
	}
	return &List{arr: xs[:len(xs):len(xs)], count: len(xs)}
}

// Cons returns a list with x in front of l.
func (l *List) Cons(x Value) *List { return &List{first: x, rest: l, count: l.count + 1} }

// Len returns the number of elements.
func (l *List) Len() int { return l.count }

// First returns the first element or nil.
func (l *List) First() Value {
	switch {
	case l.count == 0:
		return nil
	case l.arr != nil:
		return l.arr[0]
	}
	return l.first
}

// Rest returns the list without its first element (empty for empty).
func (l *List) Rest() *List {
	switch {
	case l.count <= 1:
		return EmptyList
	case l.arr != nil:
		return &List{arr: l.arr[1:], count: l.count - 1}
	}
	return l.rest
}

// Nth returns element i; ok is false when i is out of range.
func (l *List) Nth(i int) (Value, bool) {
	if i < 0 || i >= l.count {
		return nil, false
	}
	c := l
	for c.arr == nil {
		if i == 0 {
			return c.first, true
		}
		c, i = c.rest, i-1
	}
	return c.arr[i], true
}

// Items returns the elements as a new slice.
func (l *List) Items() []Value {
	out := make([]Value, 0, l.count)
	l.Range(func(x Value) bool {
		out = append(out, x)
		return true
	})
	return out
}

// Range calls f for each element until f returns false.
func (l *List) Range(f func(x Value) bool) {
	for c := l; c.count > 0; c = c.rest {
		if c.arr != nil {
			for _, x := range c.arr {
				if !f(x) {
					return
				}
			}
			return
		}
		if !f(c.first) {
			return
		}
	}
}

// Range is a lazy arithmetic sequence of integers, possibly unbounded.
// It is printed and compared as a list.
type Range struct {
	Start, Step int64
	// N is the number of elements; -1 means unbounded.
	N int64
}

func (*Range) TypeName() string { return "list" }

// NewRange returns the range [start, end) by step (step != 0).
func NewRange(start, end, step int64) *Range {
	var n int64
	switch {
	case step > 0 && end > start:
		n = (end-start-1)/step + 1
	case step < 0 && end < start:
		n = (start-end-1)/(-step) + 1
	}
	return &Range{Start: start, Step: step, N: n}
}

// At returns element i (caller checks bounds).
func (r *Range) At(i int64) Int { return Int(r.Start + i*r.Step) }

// Repeat is the unbounded sequence x x x ...
type Repeat struct{ X Value }

func (*Repeat) TypeName() string { return "list" }

// Generator is an unbounded sequence produced on demand (iterate, cycle,
// and sequence functions over unbounded inputs). Gen yields elements until
// yield returns false or an error occurs. rt is the runtime consuming the
// sequence (an *eval.Thread): elements are produced on the consumer's
// thread, never on the one that created the generator, so a generator can
// be shared between parallel branches.
type Generator struct {
	Name string
	Gen  func(rt any, yield func(Value) bool) error
}

func (*Generator) TypeName() string { return "list" }

// Atom is a mutable reference cell with atomic updates.
type Atom struct {
	state atomicValue
}

func (*Atom) TypeName() string { return "atom" }

// NewAtom returns an atom holding v.
func NewAtom(v Value) *Atom {
	a := &Atom{}
	a.state.Store(&box{v})
	return a
}

// Deref returns the current value.
func (a *Atom) Deref() Value { return a.state.Load().v }

// Reset sets the value.
func (a *Atom) Reset(v Value) { a.state.Store(&box{v}) }

// Snapshot returns an opaque token for CompareAndSwap along with the value.
func (a *Atom) Snapshot() (token any, v Value) {
	b := a.state.Load()
	return b, b.v
}

// SwapIfUnchanged sets v if the atom still holds the snapshot token.
func (a *Atom) SwapIfUnchanged(token any, v Value) bool {
	old, _ := token.(*box)
	return a.state.CompareAndSwap(old, &box{v})
}

// CompareAndSet sets v when the current value is identical (or, for
// scalars, equal) to old, as Clojure's compare-and-set!.
func (a *Atom) CompareAndSet(old, v Value) bool {
	for {
		cur := a.state.Load()
		if !Identical(cur.v, old) {
			return false
		}
		if a.state.CompareAndSwap(cur, &box{v}) {
			return true
		}
	}
}

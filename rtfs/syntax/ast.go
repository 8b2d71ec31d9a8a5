package syntax

// Node is any syntax tree node. All nodes are pointers to the struct types
// below; type switches should use the pointer types (*List, *Symbol, ...).
type Node interface {
	// Pos returns the position of the first character of the node.
	Pos() Pos
	node()
}

// Nil is the literal nil.
type Nil struct{ At Pos }

// Bool is the literal true or false.
type Bool struct {
	At    Pos
	Value bool
}

// Int is an integer literal: 42, -7, +3, 0x2A, -0x2A.
type Int struct {
	At    Pos
	Value int64
}

// Float is a floating-point literal: 3.14, -0.5, 1e10, 1.5E-3, ##Inf, ##-Inf, ##NaN.
type Float struct {
	At    Pos
	Value float64
}

// String is a string literal; Value holds the decoded text.
type String struct {
	At    Pos
	Value string
}

// Keyword is a keyword literal. Name excludes the leading colon:
// ":ns/name" has Name "ns/name".
type Keyword struct {
	At   Pos
	Name string
}

// Symbol is a symbol, possibly with a type annotation (x:int) and metadata.
type Symbol struct {
	At   Pos
	Name string
	// Type is the annotation written directly after a ':' adjacent to the
	// name (x:int, v:[:vector :int]); nil when absent.
	Type Node
	// Meta is the metadata from a preceding ^{...} or ^:kw; nil when absent.
	Meta *Map
}

// List is a parenthesised list (a b c). Reader sugar such as 'x, @x and
// #(...) also produces lists.
type List struct {
	At    Pos
	End   Pos // position of the closing bracket (or of the last character, for sugar)
	Elems []Node
	Meta  *Map
}

// Vector is a bracketed vector [a b c].
type Vector struct {
	At    Pos
	End   Pos
	Elems []Node
	Meta  *Map
}

// Map is a map literal {k1 v1 k2 v2}. Elems holds keys and values
// alternately, in source order.
type Map struct {
	At    Pos
	End   Pos
	Elems []Node
	Meta  *Map
}

// Set is a set literal #{a b c}, in source order.
type Set struct {
	At    Pos
	End   Pos
	Elems []Node
	Meta  *Map
}

// Timestamp is a literal such as 2024-01-15T10:30:45Z or
// 2024-01-15T10:30:45.123Z; Text is the source text.
type Timestamp struct {
	At   Pos
	Text string
}

// UUID is a literal such as 550e8400-e29b-41d4-a716-446655440000; Text is
// the source text.
type UUID struct {
	At   Pos
	Text string
}

// Resource is a resource handle literal resource://name; Name excludes the
// "resource://" prefix.
type Resource struct {
	At   Pos
	Name string
}

func (n *Nil) Pos() Pos       { return n.At }
func (n *Bool) Pos() Pos      { return n.At }
func (n *Int) Pos() Pos       { return n.At }
func (n *Float) Pos() Pos     { return n.At }
func (n *String) Pos() Pos    { return n.At }
func (n *Keyword) Pos() Pos   { return n.At }
func (n *Symbol) Pos() Pos    { return n.At }
func (n *List) Pos() Pos      { return n.At }
func (n *Vector) Pos() Pos    { return n.At }
func (n *Map) Pos() Pos       { return n.At }
func (n *Set) Pos() Pos       { return n.At }
func (n *Timestamp) Pos() Pos { return n.At }
func (n *UUID) Pos() Pos      { return n.At }
func (n *Resource) Pos() Pos  { return n.At }

func (*Nil) node()       {}
func (*Bool) node()      {}
func (*Int) node()       {}
func (*Float) node()     {}
func (*String) node()    {}
func (*Keyword) node()   {}
func (*Symbol) node()    {}
func (*List) node()      {}
func (*Vector) node()    {}
func (*Map) node()       {}
func (*Set) node()       {}
func (*Timestamp) node() {}
func (*UUID) node()      {}
func (*Resource) node()  {}

// isNil reports whether n is a nil interface or a nil pointer of one of the
// node types, so that hand-built trees with typed nils do not crash Print
// or Equal.
func isNil(n Node) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *Nil:
		return n == nil
	case *Bool:
		return n == nil
	case *Int:
		return n == nil
	case *Float:
		return n == nil
	case *String:
		return n == nil
	case *Keyword:
		return n == nil
	case *Symbol:
		return n == nil
	case *List:
		return n == nil
	case *Vector:
		return n == nil
	case *Map:
		return n == nil
	case *Set:
		return n == nil
	case *Timestamp:
		return n == nil
	case *UUID:
		return n == nil
	case *Resource:
		return n == nil
	}
	return false
}

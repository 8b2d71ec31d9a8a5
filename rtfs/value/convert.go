package value

import (
	"github.com/ccos-go/ccos/rtfs/syntax"
)

// FromSyntax converts a syntax tree to data, as quote and read-string do.
// Type annotations on symbols and metadata are dropped.
func FromSyntax(n syntax.Node) Value {
	switch x := n.(type) {
	case *syntax.Nil:
		return nil
	case *syntax.Bool:
		return Bool(x.Value)
	case *syntax.Int:
		return Int(x.Value)
	case *syntax.Float:
		return Float(x.Value)
	case *syntax.String:
		return String(x.Value)
	case *syntax.Keyword:
		return Keyword(x.Name)
	case *syntax.Symbol:
		return Symbol(x.Name)
	case *syntax.Timestamp:
		return Timestamp(x.Text)
	case *syntax.UUID:
		return UUID(x.Text)
	case *syntax.Resource:
		return &Resource{Name: x.Name}
	case *syntax.List:
		items := make([]Value, len(x.Elems))
		for i, e := range x.Elems {
			items[i] = FromSyntax(e)
		}
		return NewList(items...)
	case *syntax.Vector:
		items := make([]Value, len(x.Elems))
		for i, e := range x.Elems {
			items[i] = FromSyntax(e)
		}
		return NewVector(items...)
	case *syntax.Map:
		b := NewMapBuilder()
		for i := 0; i+1 < len(x.Elems); i += 2 {
			b.Assoc(FromSyntax(x.Elems[i]), FromSyntax(x.Elems[i+1]))
		}
		return b.Map()
	case *syntax.Set:
		b := NewSetBuilder()
		for _, e := range x.Elems {
			b.Add(FromSyntax(e))
		}
		return b.Set()
	}
	return nil
}

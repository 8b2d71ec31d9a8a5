package value

import (
	"cmp"
	"math"
)

// Compare orders two values as RTFS compare does: numbers by value (ints
// and floats mixed), strings, keywords and symbols lexically, booleans
// false first, nil before everything, vectors by length then element by
// element. Values of unrelated types are not comparable.
func Compare(a, b Value) (int, error) {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0, nil
		case a == nil:
			return -1, nil
		default:
			return 1, nil
		}
	}
	switch x := a.(type) {
	case Int:
		switch y := b.(type) {
		case Int:
			return cmp.Compare(x, y), nil
		case Float:
			return compareFloat(float64(x), float64(y)), nil
		}
	case Float:
		switch y := b.(type) {
		case Int:
			return compareFloat(float64(x), float64(y)), nil
		case Float:
			return compareFloat(float64(x), float64(y)), nil
		}
	case String:
		if y, ok := b.(String); ok {
			return cmp.Compare(x, y), nil
		}
	case Keyword:
		if y, ok := b.(Keyword); ok {
			return cmp.Compare(x, y), nil
		}
	case Symbol:
		if y, ok := b.(Symbol); ok {
			return cmp.Compare(x, y), nil
		}
	case Timestamp:
		if y, ok := b.(Timestamp); ok {
			return cmp.Compare(x, y), nil
		}
	case UUID:
		if y, ok := b.(UUID); ok {
			return cmp.Compare(x, y), nil
		}
	case Bool:
		if y, ok := b.(Bool); ok {
			switch {
			case x == y:
				return 0, nil
			case !bool(x):
				return -1, nil
			default:
				return 1, nil
			}
		}
	case *Vector:
		if y, ok := b.(*Vector); ok {
			if c := cmp.Compare(x.Len(), y.Len()); c != 0 {
				return c, nil
			}
			for i := 0; i < x.Len(); i++ {
				xv, _ := x.Nth(i)
				yv, _ := y.Nth(i)
				c, err := Compare(xv, yv)
				if err != nil || c != 0 {
					return c, err
				}
			}
			return 0, nil
		}
	}
	return 0, Errorf(ErrType, "cannot compare %s with %s", TypeName(a), TypeName(b))
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	case x == y:
		return 0
	case math.IsNaN(x) && math.IsNaN(y):
		return 0
	case math.IsNaN(x):
		return -1
	default:
		return 1
	}
}

package eval

import (
	"errors"

	"github.com/ccos-go/ccos/rtfs/value"
)

// errStop ends an iteration early without being an error.
var errStop = errors.New("stop iteration")

// Stop can be returned by an Each callback to end the iteration early.
var Stop = errStop

// IsSeqable reports whether v can be iterated: nil, collections, strings
// and sequences.
func IsSeqable(v Value) bool {
	switch v.(type) {
	case nil, *value.Vector, *value.List, *value.Map, *value.Set, value.String,
		*value.Range, *value.Repeat, *value.Generator:
		return true
	}
	return false
}

// seqLen returns the number of elements when it is known cheaply.
func seqLen(v Value) (int, bool) {
	switch x := v.(type) {
	case nil:
		return 0, true
	case *value.Vector:
		return x.Len(), true
	case *value.List:
		return x.Len(), true
	case *value.Map:
		return x.Len(), true
	case *value.Set:
		return x.Len(), true
	case *value.Range:
		if x.N >= 0 && x.N <= int64(^uint(0)>>1) {
			return int(x.N), true
		}
	}
	return 0, false
}

// Each calls f for every element of coll in order (map entries as [k v]
// vectors, strings as one-character strings). Returning Stop from f ends
// the iteration without error. Unbounded and lazily produced sequences
// charge one evaluation step per element, so they stop at the step limit.
func (th *Thread) Each(coll Value, f func(Value) error) error {
	var err error
	switch x := coll.(type) {
	case nil:
	case *value.Vector:
		x.Range(func(_ int, v Value) bool {
			err = f(v)
			return err == nil
		})
	case *value.List:
		x.Range(func(v Value) bool {
			err = f(v)
			return err == nil
		})
	case *value.Map:
		x.Range(func(k, v Value) bool {
			err = f(value.NewVector(k, v))
			return err == nil
		})
	case *value.Set:
		x.Range(func(v Value) bool {
			err = f(v)
			return err == nil
		})
	case value.String:
		for _, r := range string(x) {
			if err = f(value.String(string(r))); err != nil {
				break
			}
		}
	case *value.Range:
		for i := int64(0); x.N < 0 || i < x.N; i++ {
			if err = th.Tick(); err != nil {
				break
			}
			if err = f(x.At(i)); err != nil {
				break
			}
		}
	case *value.Repeat:
		for {
			if err = th.Tick(); err != nil {
				break
			}
			if err = f(x.X); err != nil {
				break
			}
		}
	case *value.Generator:
		var inner error
		err = x.Gen(th, func(v Value) bool {
			if inner = th.Tick(); inner != nil {
				return false
			}
			inner = f(v)
			return inner == nil
		})
		if err == nil {
			err = inner
		}
	default:
		return value.Errorf(value.ErrType, "cannot iterate over a %s", value.TypeName(coll))
	}
	if err == errStop {
		return nil
	}
	return err
}

// Items realises coll into a slice.
func (th *Thread) Items(coll Value) ([]Value, error) {
	switch x := coll.(type) {
	case *value.Vector:
		return x.Items(), nil
	case *value.List:
		return x.Items(), nil
	}
	var out []Value
	if n, ok := seqLen(coll); ok {
		// A huge range must fail at the step limit, not in make.
		out = make([]Value, 0, min(n, 1<<16))
	}
	err := th.Each(coll, func(v Value) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// prefix returns the first n elements of coll (fewer if it is shorter)
// and, when wantRest, the remaining elements as a list (nil if none).
func (th *Thread) prefix(coll Value, n int, wantRest bool) ([]Value, Value, error) {
	switch x := coll.(type) {
	case *value.Vector:
		m := min(n, x.Len())
		items := x.Slice(0, m)
		var rest Value
		if wantRest && x.Len() > n {
			rest = value.NewList(x.Slice(n, x.Len())...)
		}
		return items, rest, nil
	case *value.List:
		items := make([]Value, 0, min(n, x.Len()))
		l := x
		for len(items) < n && l.Len() > 0 {
			items = append(items, l.First())
			l = l.Rest()
		}
		var rest Value
		if wantRest && l.Len() > 0 {
			rest = l
		}
		return items, rest, nil
	}
	var items []Value
	var restItems []Value
	err := th.Each(coll, func(v Value) error {
		if len(items) < n {
			items = append(items, v)
			return nil
		}
		if !wantRest {
			return errStop
		}
		restItems = append(restItems, v)
		return nil
	})
	var rest Value
	if len(restItems) > 0 {
		rest = value.NewList(restItems...)
	}
	return items, rest, err
}

package stdlib

import (
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Map functions (RTFS.md §4). Maps are insertion-ordered persistent hash
// maps; nil acts as the empty map where Clojure allows it.

// mapsAssoc associates k with v in coll: a map, nil (a new map) or a vector
// (k an index no greater than its length).
func mapsAssoc(fn string, coll, k, v Value) (Value, error) {
	switch x := coll.(type) {
	case nil:
		return value.NewMap(k, v), nil
	case *value.Map:
		return x.Assoc(k, v), nil
	case *value.Vector:
		i, ok := k.(value.Int)
		if !ok {
			return nil, typeError(fn, "an integer index", k)
		}
		if i < 0 || int64(i) > int64(x.Len()) {
			return nil, value.Errorf(value.ErrIndex, "%s: index %d out of bounds for vector of length %d", fn, i, x.Len())
		}
		nv, _ := x.Assoc(int(i), v)
		return nv, nil
	}
	return nil, typeError(fn, "a map or vector", coll)
}

// mapsPath realises a key path.
func mapsPath(th *eval.Thread, fn string, ks Value) ([]Value, error) {
	return seqItems(th, fn, ks)
}

// mapsAssocIn implements assoc-in for the path ks.
func mapsAssocIn(fn string, m Value, ks []Value, v Value) (Value, error) {
	if len(ks) == 0 {
		return mapsAssoc(fn, m, nil, v)
	}
	if len(ks) == 1 {
		return mapsAssoc(fn, m, ks[0], v)
	}
	inner, _ := seqGet(m, ks[0])
	nv, err := mapsAssocIn(fn, inner, ks[1:], v)
	if err != nil {
		return nil, err
	}
	return mapsAssoc(fn, m, ks[0], nv)
}

// mapsUpdateIn implements update-in: f applied to the value at the path
// ks, followed by extra.
func mapsUpdateIn(th *eval.Thread, fn string, m Value, ks []Value, f Value, extra []Value) (Value, error) {
	var k Value
	if len(ks) > 0 {
		k = ks[0]
	}
	old, _ := seqGet(m, k)
	var nv Value
	var err error
	if len(ks) > 1 {
		nv, err = mapsUpdateIn(th, fn, old, ks[1:], f, extra)
	} else {
		nv, err = mapsCallWith(th, f, old, extra)
	}
	if err != nil {
		return nil, err
	}
	return mapsAssoc(fn, m, k, nv)
}

// mapsCallWith calls (f x extra...).
func mapsCallWith(th *eval.Thread, f, x Value, extra []Value) (Value, error) {
	switch len(extra) {
	case 0:
		return th.Call1(f, x)
	case 1:
		return th.Call2(f, x, extra[0])
	}
	args := make([]Value, 0, len(extra)+1)
	args = append(args, x)
	args = append(args, extra...)
	return th.Call(f, args...)
}

func mapsArg(fn string, v Value) (*value.Map, error) {
	switch x := v.(type) {
	case nil:
		return value.EmptyMap, nil
	case *value.Map:
		return x, nil
	}
	return nil, typeError(fn, "a map", v)
}

// mapsMerge merges maps left to right; combine (when non-nil) resolves
// keys present in both.
func mapsMerge(th *eval.Thread, fn string, maps []Value, combine Value) (Value, error) {
	var acc *value.Map
	for _, m := range maps {
		if m == nil {
			continue
		}
		if acc == nil {
			x, ok := m.(*value.Map)
			if !ok {
				return nil, typeError(fn, "a map", m)
			}
			acc = x
			continue
		}
		var err error
		add := func(k, v Value) bool {
			if combine != nil {
				if old, ok := acc.Get(k); ok {
					if v, err = th.Call2(combine, old, v); err != nil {
						return false
					}
				}
			}
			acc = acc.Assoc(k, v)
			return true
		}
		switch x := m.(type) {
		case *value.Map:
			x.Range(add)
		case *value.Vector:
			k, v, err2 := seqEntry(fn, x)
			if err2 != nil {
				return nil, err2
			}
			add(k, v)
		default:
			return nil, typeError(fn, "a map", m)
		}
		if err != nil {
			return nil, err
		}
	}
	if acc == nil {
		return nil, nil
	}
	return acc, nil
}

func registerMaps(r *registry) {
	r.add("hash-map", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		if len(args)%2 != 0 {
			return nil, value.Errorf(value.ErrArity, "hash-map: expected an even number of arguments, got %d", len(args))
		}
		return value.NewMap(args...), nil
	})
	r.add("assoc", 3, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		if len(args)%2 == 0 {
			return nil, value.Errorf(value.ErrArity, "assoc: expected a collection followed by key-value pairs, got %d arguments", len(args))
		}
		acc := args[0]
		for i := 1; i+1 < len(args); i += 2 {
			var err error
			if acc, err = mapsAssoc("assoc", acc, args[i], args[i+1]); err != nil {
				return nil, err
			}
		}
		return acc, nil
	})
	r.add("assoc-in", 3, 3, func(th *eval.Thread, args []Value) (Value, error) {
		ks, err := mapsPath(th, "assoc-in", args[1])
		if err != nil {
			return nil, err
		}
		return mapsAssocIn("assoc-in", args[0], ks, args[2])
	})
	r.add("dissoc", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch m := args[0].(type) {
		case nil:
			return nil, nil
		case *value.Map:
			for _, k := range args[1:] {
				m = m.Dissoc(k)
			}
			return m, nil
		}
		return nil, typeError("dissoc", "a map", args[0])
	})
	r.add("update", 3, -1, func(th *eval.Thread, args []Value) (Value, error) {
		old, _ := seqGet(args[0], args[1])
		switch args[0].(type) {
		case nil, *value.Map, *value.Vector:
		default:
			return nil, typeError("update", "a map or vector", args[0])
		}
		nv, err := mapsCallWith(th, args[2], old, args[3:])
		if err != nil {
			return nil, err
		}
		return mapsAssoc("update", args[0], args[1], nv)
	})
	r.add("update-in", 3, -1, func(th *eval.Thread, args []Value) (Value, error) {
		ks, err := mapsPath(th, "update-in", args[1])
		if err != nil {
			return nil, err
		}
		return mapsUpdateIn(th, "update-in", args[0], ks, args[2], args[3:])
	})
	r.add("merge", 0, -1, func(th *eval.Thread, args []Value) (Value, error) {
		return mapsMerge(th, "merge", args, nil)
	})
	r.add("merge-with", 1, -1, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("merge-with", args[0])
		if err != nil {
			return nil, err
		}
		return mapsMerge(th, "merge-with", args[1:], f)
	})
	r.add("select-keys", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		m, err := mapsArg("select-keys", args[0])
		if err != nil {
			return nil, err
		}
		b := value.NewMapBuilder()
		err = seqEach(th, "select-keys", args[1], func(k Value) error {
			if v, ok := m.Get(k); ok {
				b.Assoc(k, v)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Map(), nil
	})
	r.add("keys", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		m, err := mapsArg("keys", args[0])
		if err != nil || m.Len() == 0 {
			return nil, err
		}
		return value.NewList(m.Keys()...), nil
	})
	r.add("vals", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		m, err := mapsArg("vals", args[0])
		if err != nil || m.Len() == 0 {
			return nil, err
		}
		out := make([]Value, 0, m.Len())
		m.Range(func(_, v Value) bool {
			out = append(out, v)
			return true
		})
		return value.NewList(out...), nil
	})
	r.add("find", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		switch args[0].(type) {
		case nil, *value.Map, *value.Vector:
		default:
			return nil, typeError("find", "a map or vector", args[0])
		}
		if v, ok := seqGet(args[0], args[1]); ok {
			return value.NewVector(args[1], v), nil
		}
		return nil, nil
	})
	r.add("key", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		k, _, err := seqEntry("key", args[0])
		return k, err
	})
	r.add("val", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		_, v, err := seqEntry("val", args[0])
		return v, err
	})
	r.add("rename-keys", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		m, err := mapsArg("rename-keys", args[0])
		if err != nil {
			return nil, err
		}
		kmap, err := mapsArg("rename-keys", args[1])
		if err != nil {
			return nil, err
		}
		out := m
		kmap.Range(func(old, _ Value) bool {
			out = out.Dissoc(old)
			return true
		})
		kmap.Range(func(old, nk Value) bool {
			if v, ok := m.Get(old); ok {
				out = out.Assoc(nk, v)
			}
			return true
		})
		return out, nil
	})
	r.add("update-vals", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		m, err := mapsArg("update-vals", args[0])
		if err != nil {
			return nil, err
		}
		b := value.NewMapBuilder()
		m.Range(func(k, v Value) bool {
			var nv Value
			if nv, err = th.Call1(args[1], v); err != nil {
				return false
			}
			b.Assoc(k, nv)
			return true
		})
		if err != nil {
			return nil, err
		}
		return b.Map(), nil
	})
	r.add("update-keys", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		m, err := mapsArg("update-keys", args[0])
		if err != nil {
			return nil, err
		}
		b := value.NewMapBuilder()
		m.Range(func(k, v Value) bool {
			var nk Value
			if nk, err = th.Call1(args[1], k); err != nil {
				return false
			}
			b.Assoc(nk, v)
			return true
		})
		if err != nil {
			return nil, err
		}
		return b.Map(), nil
	})
}

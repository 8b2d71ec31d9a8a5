package stdlib

import (
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

func registerCore(r *registry) {
	r.add("=", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		for i := 0; i+1 < len(args); i++ {
			if !value.Equal(args[i], args[i+1]) {
				return value.False, nil
			}
		}
		return value.True, nil
	}).Inline = eval.OpEq
	r.add("not=", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		for i := 0; i+1 < len(args); i++ {
			if !value.Equal(args[i], args[i+1]) {
				return value.True, nil
			}
		}
		return value.False, nil
	})
	r.add("not", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.Bool(!value.Truthy(args[0])), nil
	})
	r.add("identity", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) { return args[0], nil })
	r.add("compare", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		c, err := value.Compare(args[0], args[1])
		return value.Int(c), err
	})
	r.add("hash", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.Int(int64(value.Hash(args[0]) >> 1)), nil
	})

	pred := func(name string, f func(Value) bool) {
		r.add(name, 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
			return value.Bool(f(args[0])), nil
		})
	}
	pred("nil?", func(v Value) bool { return v == nil })
	pred("some?", func(v Value) bool { return v != nil })
	pred("true?", func(v Value) bool { return v == value.True })
	pred("false?", func(v Value) bool { return v == value.False })
	pred("boolean?", func(v Value) bool { _, ok := v.(value.Bool); return ok })
	pred("string?", func(v Value) bool { _, ok := v.(value.String); return ok })
	pred("keyword?", func(v Value) bool { _, ok := v.(value.Keyword); return ok })
	pred("symbol?", func(v Value) bool { _, ok := v.(value.Symbol); return ok })
	pred("fn?", isFn)
	pred("ifn?", func(v Value) bool { _, err := toFn("ifn?", v); return err == nil })
	pred("map?", func(v Value) bool { _, ok := v.(*value.Map); return ok })
	pred("vector?", func(v Value) bool { _, ok := v.(*value.Vector); return ok })
	pred("list?", func(v Value) bool { return value.TypeName(v) == "list" })
	pred("set?", func(v Value) bool { _, ok := v.(*value.Set); return ok })
	pred("coll?", func(v Value) bool {
		switch v.(type) {
		case *value.Map, *value.Set:
			return true
		}
		return value.IsSequential(v)
	})
	pred("seq?", func(v Value) bool { return value.TypeName(v) == "list" })
	pred("sequential?", value.IsSequential)
	pred("atom?", func(v Value) bool { _, ok := v.(*value.Atom); return ok })
	pred("error?", func(v Value) bool { _, ok := v.(*value.Error); return ok })
	pred("uuid?", func(v Value) bool { _, ok := v.(value.UUID); return ok })
	pred("timestamp?", func(v Value) bool { _, ok := v.(value.Timestamp); return ok })
	pred("resource?", func(v Value) bool { _, ok := v.(*value.Resource); return ok })

	r.add("type-name", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.String(value.TypeName(args[0])), nil
	})
	r.add("type", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.Keyword(value.TypeName(args[0])), nil
	})

	// Atoms.
	r.add("atom", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.NewAtom(args[0]), nil
	})
	r.add("deref", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		a, err := toAtom("deref", args[0])
		if err != nil {
			return nil, err
		}
		return a.Deref(), nil
	})
	r.add("reset!", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		a, err := toAtom("reset!", args[0])
		if err != nil {
			return nil, err
		}
		a.Reset(args[1])
		return args[1], nil
	})
	r.add("swap!", 2, -1, func(th *eval.Thread, args []Value) (Value, error) {
		a, err := toAtom("swap!", args[0])
		if err != nil {
			return nil, err
		}
		f := args[1]
		extra := append([]Value(nil), args[2:]...)
		for {
			tok, old := a.Snapshot()
			var nv Value
			if len(extra) == 0 {
				nv, err = th.Call1(f, old)
			} else {
				nv, err = th.Call(f, append([]Value{old}, extra...)...)
			}
			if err != nil {
				return nil, err
			}
			if a.SwapIfUnchanged(tok, nv) {
				return nv, nil
			}
			if err := th.Tick(); err != nil {
				return nil, err
			}
		}
	})
	r.add("compare-and-set!", 3, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		a, err := toAtom("compare-and-set!", args[0])
		if err != nil {
			return nil, err
		}
		return value.Bool(a.CompareAndSet(args[1], args[2])), nil
	})

	// Errors.
	r.add("ex-info", 1, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		msg, err := toString("ex-info", args[0])
		if err != nil {
			return nil, err
		}
		e := &value.Error{Type: value.ErrGeneric, Message: msg}
		if len(args) > 1 {
			e.Data = args[1]
			// {:type :some-type} in the data sets the error type, so
			// (catch :some-type e ...) can select it.
			if m, ok := args[1].(*value.Map); ok {
				if t, ok := m.Get(value.Keyword("type")); ok {
					if k, ok := t.(value.Keyword); ok {
						e.Type = k
					}
				}
			}
		}
		if len(args) > 2 {
			if c, ok := args[2].(*value.Error); ok {
				e.Cause = c
			}
		}
		return e, nil
	})
	r.add("Exception.", 0, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		e := &value.Error{Type: value.ErrGeneric}
		if len(args) == 1 {
			e.Message = value.Str(args[0])
		}
		return e, nil
	})
	r.add("error", 1, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		// (error :type "message" data?) builds a typed error value.
		k, ok := args[0].(value.Keyword)
		if !ok {
			return nil, typeError("error", "a keyword error type", args[0])
		}
		e := &value.Error{Type: k}
		if len(args) > 1 {
			e.Message = value.Str(args[1])
		}
		if len(args) > 2 {
			e.Data = args[2]
		}
		return e, nil
	})
	r.add("ex-message", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		if e, ok := args[0].(*value.Error); ok {
			return value.String(e.Message), nil
		}
		return nil, nil
	})
	r.add("ex-data", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		if e, ok := args[0].(*value.Error); ok {
			return e.Data, nil
		}
		return nil, nil
	})
	r.add("ex-type", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		if e, ok := args[0].(*value.Error); ok {
			return e.Type, nil
		}
		return nil, nil
	})
	r.add("ex-cause", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		if e, ok := args[0].(*value.Error); ok {
			if c, ok := e.Cause.(*value.Error); ok {
				return c, nil
			}
		}
		return nil, nil
	})
}

func toAtom(fn string, v Value) (*value.Atom, error) {
	if a, ok := v.(*value.Atom); ok {
		return a, nil
	}
	return nil, typeError(fn, "an atom", v)
}

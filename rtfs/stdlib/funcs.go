package stdlib

import (
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

func registerFuncs(r *registry) {
	r.add("partial", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("partial", args[0])
		if err != nil {
			return nil, err
		}
		bound := append([]Value(nil), args[1:]...)
		return &eval.Builtin{Name: "partial", MaxArgs: -1, Fn: func(th *eval.Thread, more []Value) (Value, error) {
			all := make([]Value, 0, len(bound)+len(more))
			return th.Call(f, append(append(all, bound...), more...)...)
		}}, nil
	})
	r.add("comp", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		fns := make([]Value, len(args))
		for i, a := range args {
			f, err := toFn("comp", a)
			if err != nil {
				return nil, err
			}
			fns[i] = f
		}
		return &eval.Builtin{Name: "comp", MaxArgs: -1, Fn: func(th *eval.Thread, more []Value) (Value, error) {
			if len(fns) == 0 {
				if len(more) != 1 {
					return nil, value.Errorf(value.ErrArity, "(comp) takes exactly one argument")
				}
				return more[0], nil
			}
			v, err := th.Call(fns[len(fns)-1], more...)
			for i := len(fns) - 2; i >= 0 && err == nil; i-- {
				v, err = th.Call1(fns[i], v)
			}
			return v, err
		}}, nil
	})
	r.add("complement", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("complement", args[0])
		if err != nil {
			return nil, err
		}
		return &eval.Builtin{Name: "complement", MaxArgs: -1, Fn: func(th *eval.Thread, more []Value) (Value, error) {
			v, err := th.Call(f, more...)
			return value.Bool(!value.Truthy(v)), err
		}}, nil
	})
	r.add("constantly", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		c := args[0]
		return &eval.Builtin{Name: "constantly", MaxArgs: -1, Fn: func(*eval.Thread, []Value) (Value, error) {
			return c, nil
		}}, nil
	})
	r.add("juxt", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		fns := append([]Value(nil), args...)
		for _, f := range fns {
			if _, err := toFn("juxt", f); err != nil {
				return nil, err
			}
		}
		return &eval.Builtin{Name: "juxt", MaxArgs: -1, Fn: func(th *eval.Thread, more []Value) (Value, error) {
			out := make([]Value, len(fns))
			for i, f := range fns {
				v, err := th.Call(f, more...)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return value.NewVector(out...), nil
		}}, nil
	})
	r.add("fnil", 2, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("fnil", args[0])
		if err != nil {
			return nil, err
		}
		defaults := append([]Value(nil), args[1:]...)
		return &eval.Builtin{Name: "fnil", MaxArgs: -1, Fn: func(th *eval.Thread, more []Value) (Value, error) {
			call := append([]Value(nil), more...)
			for i, d := range defaults {
				if i < len(call) && call[i] == nil {
					call[i] = d
				}
			}
			return th.Call(f, call...)
		}}, nil
	})
	r.add("memoize", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("memoize", args[0])
		if err != nil {
			return nil, err
		}
		cache := value.NewAtom(value.EmptyMap)
		return &eval.Builtin{Name: "memoize", MaxArgs: -1, Fn: func(th *eval.Thread, more []Value) (Value, error) {
			key := value.NewVector(more...)
			if v, ok := cache.Deref().(*value.Map).Get(key); ok {
				return v, nil
			}
			v, err := th.Call(f, more...)
			if err != nil {
				return nil, err
			}
			for {
				tok, m := cache.Snapshot()
				if cache.SwapIfUnchanged(tok, m.(*value.Map).Assoc(key, v)) {
					return v, nil
				}
			}
		}}, nil
	})
}

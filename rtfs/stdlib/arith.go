package stdlib

import (
	"math"
	"math/bits"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

func registerArith(r *registry) {
	withF2(r.add("+", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return fold("+", args, value.Int(0), addNum)
	}), eval.OpAdd, addNum)
	fastInt2(r.m["+"], func(a, b int64) (int64, bool) {
		s := a + b
		return s, (a^s)&(b^s) >= 0
	})
	withF2(r.add("*", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return fold("*", args, value.Int(1), mulNum)
	}), eval.OpMul, mulNum)
	withF2(r.add("-", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		if len(args) == 1 {
			return subNum(value.Int(0), args[0])
		}
		return fold("-", args[1:], args[0], subNum)
	}), eval.OpSub, subNum)
	fastInt2(r.m["-"], func(a, b int64) (int64, bool) {
		s := a - b
		return s, (a^b)&(a^s) >= 0
	})
	withF2(r.add("/", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		if len(args) == 1 {
			return divNum(value.Int(1), args[0])
		}
		return fold("/", args[1:], args[0], divNum)
	}), eval.OpNone, divNum)
	r.add("quot", 2, 2, intDiv("quot", func(a, b int64) int64 { return a / b }, math.Trunc))
	r.add("rem", 2, 2, intDiv("rem", func(a, b int64) int64 { return a % b }, func(f float64) float64 { return f }))
	r.add("mod", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		if a, ok := args[0].(value.Int); ok {
			if b, ok := args[1].(value.Int); ok {
				if b == 0 {
					return nil, value.Errorf(value.ErrArithmetic, "mod: division by zero")
				}
				if b == -1 {
					return value.Int(0), nil
				}
				m := a % b
				if m != 0 && (m < 0) != (b < 0) {
					m += b
				}
				return m, nil
			}
		}
		a, b, err := floats2("mod", args[0], args[1])
		if err != nil {
			return nil, err
		}
		if b == 0 {
			return nil, value.Errorf(value.ErrArithmetic, "mod: division by zero")
		}
		m := math.Mod(a, b)
		if m != 0 && (m < 0) != (b < 0) {
			m += b
		}
		return value.Float(m), nil
	})
	withF1(r.add("inc", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return addNum(args[0], value.Int(1))
	}), eval.OpInc, func(x Value) (Value, error) { return addNum(x, value.Int(1)) })
	fastInt1(r.m["inc"], func(a int64) (int64, bool) { return a + 1, a != math.MaxInt64 })
	withF1(r.add("dec", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		return subNum(args[0], value.Int(1))
	}), eval.OpDec, func(x Value) (Value, error) { return subNum(x, value.Int(1)) })
	fastInt1(r.m["dec"], func(a int64) (int64, bool) { return a - 1, a != math.MinInt64 })
	r.add("abs", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case value.Int:
			if x == math.MinInt64 {
				return nil, value.Errorf(value.ErrArithmetic, "abs: integer overflow")
			}
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case value.Float:
			return value.Float(math.Abs(float64(x))), nil
		}
		return nil, typeError("abs", "a number", args[0])
	})
	r.add("max", 1, -1, extremum("max", 1))
	r.add("min", 1, -1, extremum("min", -1))
	comparison := func(name string, op eval.Op, ok func(c int) bool) {
		withF2(r.add(name, 1, -1, chain(name, ok)), op, func(x, y Value) (Value, error) {
			c, err := compareNums(name, x, y)
			return value.Bool(err == nil && c != 2 && ok(c)), err
		})
	}
	comparison("==", eval.OpNumEq, func(c int) bool { return c == 0 })
	comparison("<", eval.OpLt, func(c int) bool { return c < 0 })
	comparison(">", eval.OpGt, func(c int) bool { return c > 0 })
	comparison("<=", eval.OpLe, func(c int) bool { return c <= 0 })
	comparison(">=", eval.OpGe, func(c int) bool { return c >= 0 })
	predicate := func(name string, op eval.Op, ip func(int64) bool, fp func(float64) bool) {
		f := numPred(name, ip, fp)
		withF1(r.add(name, 1, 1, f), op, func(x Value) (Value, error) { return numPred1(name, ip, fp, x) })
	}
	predicate("zero?", eval.OpZero, func(i int64) bool { return i == 0 }, func(f float64) bool { return f == 0 })
	predicate("pos?", eval.OpNone, func(i int64) bool { return i > 0 }, func(f float64) bool { return f > 0 })
	predicate("neg?", eval.OpNone, func(i int64) bool { return i < 0 }, func(f float64) bool { return f < 0 })
	parity := func(name string, want int64) {
		check := func(x Value) (Value, error) {
			i, err := toInt(name, x)
			return value.Bool(i%2 == want || i%2 == -want), err
		}
		withF1(r.add(name, 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
			return check(args[0])
		}), eval.OpNone, check)
	}
	parity("even?", 0)
	parity("odd?", 1)
	r.add("number?", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch args[0].(type) {
		case value.Int, value.Float:
			return value.True, nil
		}
		return value.False, nil
	})
	isInt := func(_ *eval.Thread, args []Value) (Value, error) {
		_, ok := args[0].(value.Int)
		return value.Bool(ok), nil
	}
	r.add("int?", 1, 1, isInt)
	r.add("integer?", 1, 1, isInt)
	r.add("float?", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		_, ok := args[0].(value.Float)
		return value.Bool(ok), nil
	})
	r.add("nan?", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		f, err := toFloat("nan?", args[0])
		return value.Bool(math.IsNaN(f)), err
	})
	r.add("sqrt", 1, 1, floatFn("sqrt", math.Sqrt))
	r.add("floor", 1, 1, floatFn("floor", math.Floor))
	r.add("ceil", 1, 1, floatFn("ceil", math.Ceil))
	r.add("round", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case value.Int:
			return x, nil
		case value.Float:
			f := math.Round(float64(x))
			if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
				return nil, value.Errorf(value.ErrArithmetic, "round: %s does not fit in an integer", value.Repr(x))
			}
			return value.Int(f), nil
		}
		return nil, typeError("round", "a number", args[0])
	})
	r.add("pow", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		if b, ok := args[0].(value.Int); ok {
			if e, ok := args[1].(value.Int); ok && e >= 0 {
				return powInt(int64(b), int64(e))
			}
		}
		b, e, err := floats2("pow", args[0], args[1])
		if err != nil {
			return nil, err
		}
		return value.Float(math.Pow(b, e)), nil
	})
	r.add("factorial", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		n, err := toInt("factorial", args[0])
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, value.Errorf(value.ErrArithmetic, "factorial of a negative number")
		}
		acc := int64(1)
		for i := int64(2); i <= n; i++ {
			hi, lo := bits.Mul64(uint64(acc), uint64(i))
			if hi != 0 || lo > math.MaxInt64 {
				return nil, value.Errorf(value.ErrArithmetic, "factorial: integer overflow")
			}
			acc = int64(lo)
		}
		return value.Int(acc), nil
	})
}

func toFloat(fn string, v Value) (float64, error) {
	switch x := v.(type) {
	case value.Int:
		return float64(x), nil
	case value.Float:
		return float64(x), nil
	}
	return 0, typeError(fn, "a number", v)
}

func floats2(fn string, a, b Value) (float64, float64, error) {
	x, err := toFloat(fn, a)
	if err != nil {
		return 0, 0, err
	}
	y, err := toFloat(fn, b)
	return x, y, err
}

func fold(fn string, args []Value, acc Value, op func(a, b Value) (Value, error)) (Value, error) {
	if len(args) == 0 {
		return acc, nil
	}
	if _, ok := acc.(value.Int); !ok {
		if _, ok := acc.(value.Float); !ok {
			return nil, typeError(fn, "a number", acc)
		}
	}
	var err error
	for _, a := range args {
		if acc, err = op(acc, a); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func numOp(name string, a, b Value, ints func(x, y int64) (Value, error), flts func(x, y float64) (Value, error)) (Value, error) {
	if x, ok := a.(value.Int); ok {
		if y, ok := b.(value.Int); ok {
			return ints(int64(x), int64(y))
		}
	}
	x, err := toFloat(name, a)
	if err != nil {
		return nil, err
	}
	y, err := toFloat(name, b)
	if err != nil {
		return nil, err
	}
	return flts(x, y)
}

func overflowErr(op string) error {
	return value.Errorf(value.ErrArithmetic, "integer overflow in %s", op)
}

func addNum(a, b Value) (Value, error) {
	return numOp("+", a, b, func(x, y int64) (Value, error) {
		s := x + y
		if (x^s)&(y^s) < 0 {
			return nil, overflowErr("+")
		}
		return value.Int(s), nil
	}, func(x, y float64) (Value, error) { return value.Float(x + y), nil })
}

func subNum(a, b Value) (Value, error) {
	return numOp("-", a, b, func(x, y int64) (Value, error) {
		s := x - y
		if (x^y)&(x^s) < 0 {
			return nil, overflowErr("-")
		}
		return value.Int(s), nil
	}, func(x, y float64) (Value, error) { return value.Float(x - y), nil })
}

func mulNum(a, b Value) (Value, error) {
	return numOp("*", a, b, func(x, y int64) (Value, error) {
		if x == 0 || y == 0 {
			return value.Int(0), nil
		}
		p := x * y
		if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
			return nil, overflowErr("*")
		}
		return value.Int(p), nil
	}, func(x, y float64) (Value, error) { return value.Float(x * y), nil })
}

func divNum(a, b Value) (Value, error) {
	return numOp("/", a, b, func(x, y int64) (Value, error) {
		if y == 0 {
			return nil, value.Errorf(value.ErrArithmetic, "division by zero")
		}
		if x%y == 0 {
			if x == math.MinInt64 && y == -1 {
				return nil, overflowErr("/")
			}
			return value.Int(x / y), nil
		}
		return value.Float(float64(x) / float64(y)), nil
	}, func(x, y float64) (Value, error) {
		if y == 0 {
			return nil, value.Errorf(value.ErrArithmetic, "division by zero")
		}
		return value.Float(x / y), nil
	})
}

func intDiv(name string, op func(a, b int64) int64, fop func(float64) float64) eval.BuiltinFunc {
	return func(_ *eval.Thread, args []Value) (Value, error) {
		if a, ok := args[0].(value.Int); ok {
			if b, ok := args[1].(value.Int); ok {
				if b == 0 {
					return nil, value.Errorf(value.ErrArithmetic, "%s: division by zero", name)
				}
				if b == -1 {
					if name == "rem" {
						return value.Int(0), nil
					}
					if a == math.MinInt64 {
						return nil, overflowErr(name)
					}
				}
				return value.Int(op(int64(a), int64(b))), nil
			}
		}
		a, b, err := floats2(name, args[0], args[1])
		if err != nil {
			return nil, err
		}
		if b == 0 {
			return nil, value.Errorf(value.ErrArithmetic, "%s: division by zero", name)
		}
		if name == "rem" {
			return value.Float(math.Mod(a, b)), nil
		}
		return value.Float(fop(a / b)), nil
	}
}

func compareNums(fn string, a, b Value) (int, error) {
	if x, ok := a.(value.Int); ok {
		if y, ok := b.(value.Int); ok {
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			}
			return 0, nil
		}
	}
	x, y, err := floats2(fn, a, b)
	if err != nil {
		return 0, err
	}
	switch {
	case x < y:
		return -1, nil
	case x > y:
		return 1, nil
	case x == y:
		return 0, nil
	}
	return 2, nil // NaN: every comparison is false
}

func chain(fn string, ok func(c int) bool) eval.BuiltinFunc {
	return func(_ *eval.Thread, args []Value) (Value, error) {
		if len(args) == 1 {
			_, err := toFloat(fn, args[0])
			return value.True, err
		}
		result := true
		for i := 0; i+1 < len(args); i++ {
			c, err := compareNums(fn, args[i], args[i+1])
			if err != nil {
				return nil, err
			}
			if c == 2 || !ok(c) {
				result = false
			}
		}
		return value.Bool(result), nil
	}
}

func extremum(fn string, sign int) eval.BuiltinFunc {
	return func(_ *eval.Thread, args []Value) (Value, error) {
		best := args[0]
		if _, err := toFloat(fn, best); err != nil {
			return nil, err
		}
		for _, a := range args[1:] {
			c, err := compareNums(fn, a, best)
			if err != nil {
				return nil, err
			}
			if c == 2 {
				return value.Float(math.NaN()), nil
			}
			if c == sign {
				best = a
			}
		}
		return best, nil
	}
}

func numPred(fn string, ip func(int64) bool, fp func(float64) bool) eval.BuiltinFunc {
	return func(_ *eval.Thread, args []Value) (Value, error) {
		return numPred1(fn, ip, fp, args[0])
	}
}

func numPred1(fn string, ip func(int64) bool, fp func(float64) bool, v Value) (Value, error) {
	switch x := v.(type) {
	case value.Int:
		return value.Bool(ip(int64(x))), nil
	case value.Float:
		return value.Bool(fp(float64(x))), nil
	}
	return nil, typeError(fn, "a number", v)
}

// withF1 gives a one-argument builtin its slice-free entry point (used by
// map, filter and friends) and its inline op.
func withF1(b *eval.Builtin, op eval.Op, f func(x Value) (Value, error)) {
	b.Inline = op
	b.F1 = func(_ *eval.Thread, x Value) (Value, error) { return f(x) }
}

// fastInt1 puts an integer fast path in front of a builtin's F1: integer
// results are boxed by the thread (see eval.Thread.BoxInt); ok false
// (overflow) falls back to the general path, which reports the error.
func fastInt1(v Value, op func(a int64) (int64, bool)) {
	b := v.(*eval.Builtin)
	slow := b.F1
	b.F1 = func(th *eval.Thread, x Value) (Value, error) {
		if a, ok := x.(value.Int); ok {
			if r, ok := op(int64(a)); ok {
				return th.BoxInt(value.Int(r)), nil
			}
		}
		return slow(th, x)
	}
}

// fastInt2 is fastInt1 for F2.
func fastInt2(v Value, op func(a, b int64) (int64, bool)) {
	b := v.(*eval.Builtin)
	slow := b.F2
	b.F2 = func(th *eval.Thread, x, y Value) (Value, error) {
		if a, ok := x.(value.Int); ok {
			if c, ok := y.(value.Int); ok {
				if r, ok := op(int64(a), int64(c)); ok {
					return th.BoxInt(value.Int(r)), nil
				}
			}
		}
		return slow(th, x, y)
	}
}

// withF2 gives a builtin its two-argument entry point (used by reduce)
// and its inline op.
func withF2(b *eval.Builtin, op eval.Op, f func(x, y Value) (Value, error)) {
	b.Inline = op
	b.F2 = func(_ *eval.Thread, x, y Value) (Value, error) { return f(x, y) }
}

func floatFn(fn string, f func(float64) float64) eval.BuiltinFunc {
	return func(_ *eval.Thread, args []Value) (Value, error) {
		x, err := toFloat(fn, args[0])
		if err != nil {
			return nil, err
		}
		return value.Float(f(x)), nil
	}
}

func powInt(b, e int64) (Value, error) {
	acc := int64(1)
	for e > 0 {
		if e&1 == 1 {
			hi, lo := bits.Mul64(uint64(abs64(acc)), uint64(abs64(b)))
			if hi != 0 || lo > math.MaxInt64 {
				return nil, overflowErr("pow")
			}
			acc *= b
		}
		e >>= 1
		if e > 0 {
			hi, lo := bits.Mul64(uint64(abs64(b)), uint64(abs64(b)))
			if hi != 0 || lo > math.MaxInt64 {
				return nil, overflowErr("pow")
			}
			b *= b
		}
	}
	return value.Int(acc), nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

package stdlib

import (
	"iter"
	"math"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Sequence functions (RTFS.md §4). Collections are eager: sequence
// functions return realised *value.List values, except that over an
// unbounded input (an unbounded *value.Range, a *value.Repeat or a
// *value.Generator) the lazy ones return a *value.Generator that produces
// its elements on demand. Iteration always goes through th.Each, which
// charges a step per element of an unbounded sequence, so a runaway
// program stops at the step limit.

// seqPrealloc caps the capacity preallocated from a size hint, so that a
// huge bounded range fails at the step limit rather than in make
// (1M elements: 16 MB of interface slots at most).
const seqPrealloc = 1 << 20

// seqUnbounded reports whether v is an unbounded (or lazily produced)
// sequence.
func seqUnbounded(v Value) bool {
	switch x := v.(type) {
	case *value.Range:
		return x.N < 0
	case *value.Repeat, *value.Generator:
		return true
	}
	return false
}

// seqHint returns a capacity hint for a slice receiving v's elements.
func seqHint(v Value) int {
	n := 0
	switch x := v.(type) {
	case *value.Vector:
		n = x.Len()
	case *value.List:
		n = x.Len()
	case *value.Map:
		n = x.Len()
	case *value.Set:
		n = x.Len()
	case value.String:
		n = len(x)
	case *value.Range:
		if x.N > 0 {
			n = int(min(x.N, seqPrealloc))
		}
	}
	return min(n, seqPrealloc)
}

// seqCheck reports a :type-error naming fn unless v can be iterated.
func seqCheck(fn string, v Value) error {
	if !eval.IsSeqable(v) {
		return typeError(fn, "a collection", v)
	}
	return nil
}

// seqEach is th.Each after checking that coll is seqable.
func seqEach(th *eval.Thread, fn string, coll Value, f func(Value) error) error {
	if err := seqCheck(fn, coll); err != nil {
		return err
	}
	return th.Each(coll, f)
}

// seqItems realises coll into a fresh slice the caller may modify.
func seqItems(th *eval.Thread, fn string, coll Value) ([]Value, error) {
	switch x := coll.(type) {
	case nil:
		return nil, nil
	case *value.Vector:
		return x.Items(), nil
	case *value.List:
		return x.Items(), nil
	case *value.Set:
		return x.Items(), nil
	}
	if err := seqCheck(fn, coll); err != nil {
		return nil, err
	}
	out := make([]Value, 0, seqHint(coll))
	err := th.Each(coll, func(v Value) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// seqStop is the private signal a generator's producer receives when its
// consumer wants no more elements. Unlike eval.Stop, th.Each passes it
// through, so it unwinds nested iterations; each generator run allocates
// its own so that one generator never swallows another's signal.
type seqStop struct{ _ byte }

func (*seqStop) Error() string { return "sequence consumer stopped" }

// seqProducer pushes a sequence's elements to out, returning out's error.
type seqProducer func(th *eval.Thread, out func(Value) error) error

// seqResult runs run and returns its output as a realised list or, when
// lazy, as a generator that reruns run on demand (all of run's state must
// live inside run so each run starts afresh).
func seqResult(th *eval.Thread, name string, lazy bool, hint int, run seqProducer) (Value, error) {
	if lazy {
		return &value.Generator{Name: name, Gen: func(rt any, yield func(Value) bool) error {
			th := rt.(*eval.Thread)
			stop := &seqStop{}
			done := false
			err := run(th, func(v Value) error {
				if done || !yield(v) {
					done = true
					return stop
				}
				return nil
			})
			if err == stop || err == eval.Stop {
				return nil
			}
			return err
		}}, nil
	}
	out := make([]Value, 0, hint)
	err := run(th, func(v Value) error {
		out = append(out, v)
		return nil
	})
	if err != nil && err != eval.Stop {
		return nil, err
	}
	return value.ListFromSlice(out), nil
}

// seqPuller pulls the elements of a collection one at a time.
type seqPuller struct {
	next func() (Value, bool)
	stop func()
	err  error
}

func newSeqPuller(th *eval.Thread, fn string, coll Value) (*seqPuller, error) {
	p := &seqPuller{}
	switch x := coll.(type) {
	case nil:
		p.next = func() (Value, bool) { return nil, false }
	case *value.Vector:
		i := 0
		p.next = func() (Value, bool) {
			v, ok := x.Nth(i)
			i++
			return v, ok
		}
	case *value.List:
		l := x
		p.next = func() (Value, bool) {
			if l.Len() == 0 {
				return nil, false
			}
			v := l.First()
			l = l.Rest()
			return v, true
		}
	case value.String:
		s := string(x)
		p.next = func() (Value, bool) {
			if s == "" {
				return nil, false
			}
			_, n := utf8.DecodeRuneInString(s)
			v := value.String(s[:n])
			s = s[n:]
			return v, true
		}
	case *value.Range:
		i := int64(0)
		p.next = func() (Value, bool) {
			if x.N >= 0 && i >= x.N {
				return nil, false
			}
			if err := th.Tick(); err != nil {
				p.err = err
				return nil, false
			}
			v := x.At(i)
			i++
			return v, true
		}
	case *value.Repeat:
		p.next = func() (Value, bool) {
			if err := th.Tick(); err != nil {
				p.err = err
				return nil, false
			}
			return x.X, true
		}
	case *value.Map, *value.Set:
		items, err := seqItems(th, fn, coll)
		if err != nil {
			return nil, err
		}
		i := 0
		p.next = func() (Value, bool) {
			if i >= len(items) {
				return nil, false
			}
			i++
			return items[i-1], true
		}
	case *value.Generator:
		var gerr error
		next, stop := iter.Pull(func(yield func(Value) bool) {
			gerr = th.Each(x, func(v Value) error {
				if !yield(v) {
					return eval.Stop
				}
				return nil
			})
		})
		p.next = func() (Value, bool) {
			v, ok := next()
			if !ok {
				p.err = gerr
			}
			return v, ok
		}
		p.stop = stop
	default:
		return nil, typeError(fn, "a collection", coll)
	}
	return p, nil
}

// seqZip calls f with the i-th elements of every coll, for i up to the
// length of the shortest. f must not keep xs.
func seqZip(th *eval.Thread, fn string, colls []Value, f func(xs []Value) error) error {
	ps := make([]*seqPuller, 0, len(colls))
	defer func() {
		for _, p := range ps {
			if p.stop != nil {
				p.stop()
			}
		}
	}()
	for _, c := range colls {
		p, err := newSeqPuller(th, fn, c)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	xs := make([]Value, len(ps))
	for {
		for i, p := range ps {
			v, ok := p.next()
			if !ok {
				return p.err
			}
			xs[i] = v
		}
		if err := f(xs); err != nil {
			return err
		}
	}
}

// seqAllUnbounded reports whether every coll is unbounded (so that zipping
// them is unbounded too).
func seqAllUnbounded(colls []Value) bool {
	for _, c := range colls {
		if !seqUnbounded(c) {
			return false
		}
	}
	return len(colls) > 0
}

func seqAnyUnbounded(colls []Value) bool {
	for _, c := range colls {
		if seqUnbounded(c) {
			return true
		}
	}
	return false
}

func seqCheckAll(fn string, colls []Value) error {
	for _, c := range colls {
		if err := seqCheck(fn, c); err != nil {
			return err
		}
	}
	return nil
}

// seqFirst returns the first element of coll (nil when empty).
func seqFirst(th *eval.Thread, fn string, coll Value) (Value, bool, error) {
	switch x := coll.(type) {
	case nil:
		return nil, false, nil
	case *value.Vector:
		v, ok := x.Nth(0)
		return v, ok, nil
	case *value.List:
		return x.First(), x.Len() > 0, nil
	case *value.Range:
		if x.N == 0 {
			return nil, false, nil
		}
		return x.At(0), true, nil
	case *value.Repeat:
		return x.X, true, nil
	case value.String:
		if x == "" {
			return nil, false, nil
		}
		_, n := utf8.DecodeRuneInString(string(x))
		return x[:n], true, nil
	}
	var first Value
	found := false
	err := seqEach(th, fn, coll, func(v Value) error {
		first, found = v, true
		return eval.Stop
	})
	return first, found, err
}

// seqNth returns element i of coll; ok is false when coll is shorter.
func seqNth(th *eval.Thread, fn string, coll Value, i int64) (Value, bool, error) {
	if i < 0 {
		if err := seqCheck(fn, coll); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	switch x := coll.(type) {
	case nil:
		return nil, false, nil
	case *value.Vector:
		if i >= int64(x.Len()) {
			return nil, false, nil
		}
		v, ok := x.Nth(int(i))
		return v, ok, nil
	case *value.List:
		if i >= int64(x.Len()) {
			return nil, false, nil
		}
		l := x
		for ; i > 0; i-- {
			l = l.Rest()
		}
		return l.First(), true, nil
	case *value.Range:
		if x.N >= 0 && i >= x.N {
			return nil, false, nil
		}
		if x.N < 0 {
			if s, ok := seqRangeShift(x, i); ok {
				return value.Int(s), true, nil
			}
			break
		}
		return x.At(i), true, nil
	case *value.Repeat:
		return x.X, true, nil
	case value.String:
		for _, r := range string(x) {
			if i == 0 {
				return value.String(string(r)), true, nil
			}
			i--
		}
		return nil, false, nil
	case *value.Map, *value.Set:
		return nil, false, typeError(fn, "a sequential collection", coll)
	}
	var got Value
	found := false
	n := i
	err := seqEach(th, fn, coll, func(v Value) error {
		if n == 0 {
			got, found = v, true
			return eval.Stop
		}
		n--
		return nil
	})
	return got, found, err
}

// seqRangeShift returns r.Start + n*r.Step when it fits in an int64.
func seqRangeShift(r *value.Range, n int64) (int64, bool) {
	if n == 0 {
		return r.Start, true
	}
	d := n * r.Step
	if d/n != r.Step || (n == -1 && r.Step == math.MinInt64) {
		return 0, false
	}
	s := r.Start + d
	if (d > 0 && s < r.Start) || (d < 0 && s > r.Start) {
		return 0, false
	}
	return s, true
}

// seqDrop returns coll without its first n elements (n >= 0).
func seqDrop(th *eval.Thread, fn string, coll Value, n int64) (Value, error) {
	switch x := coll.(type) {
	case nil:
		return value.EmptyList, nil
	case *value.Vector:
		if n >= int64(x.Len()) {
			return value.EmptyList, nil
		}
		return value.NewList(x.Slice(int(n), x.Len())...), nil
	case *value.List:
		l := x
		for ; n > 0 && l.Len() > 0; n-- {
			l = l.Rest()
		}
		return l, nil
	case *value.Range:
		if x.N >= 0 && n >= x.N {
			return value.EmptyList, nil
		}
		if s, ok := seqRangeShift(x, n); ok {
			m := x.N
			if m >= 0 {
				m -= n
			}
			return &value.Range{Start: s, Step: x.Step, N: m}, nil
		}
	case *value.Repeat:
		return x, nil
	}
	if err := seqCheck(fn, coll); err != nil {
		return nil, err
	}
	return seqResult(th, fn, seqUnbounded(coll), seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
		i := int64(0)
		return th.Each(coll, func(v Value) error {
			if i < n {
				i++
				return nil
			}
			return out(v)
		})
	})
}

// seqTake returns the first n elements of coll as a list.
func seqTake(th *eval.Thread, fn string, coll Value, n int64) (*value.List, error) {
	if err := seqCheck(fn, coll); err != nil {
		return nil, err
	}
	if n <= 0 {
		return value.EmptyList, nil
	}
	switch x := coll.(type) {
	case *value.Vector:
		return value.NewList(x.Slice(0, int(min(n, int64(x.Len()))))...), nil
	case *value.List:
		if n >= int64(x.Len()) {
			return x, nil
		}
	}
	out := make([]Value, 0, min(int64(seqPrealloc), n, int64(max(seqHint(coll), 16))))
	err := th.Each(coll, func(v Value) error {
		out = append(out, v)
		if int64(len(out)) >= n {
			return eval.Stop
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return value.ListFromSlice(out), nil
}

// seqCount counts coll's elements.
func seqCount(th *eval.Thread, coll Value) (int64, error) {
	switch x := coll.(type) {
	case nil:
		return 0, nil
	case *value.Vector:
		return int64(x.Len()), nil
	case *value.List:
		return int64(x.Len()), nil
	case *value.Map:
		return int64(x.Len()), nil
	case *value.Set:
		return int64(x.Len()), nil
	case value.String:
		return int64(utf8.RuneCountInString(string(x))), nil
	case *value.Range:
		if x.N >= 0 {
			return x.N, nil
		}
	}
	if err := seqCheck("count", coll); err != nil {
		return 0, err
	}
	var n int64
	err := th.Each(coll, func(Value) error {
		n++
		return nil
	})
	return n, err
}

// seqEmpty reports whether coll has no elements.
func seqEmpty(th *eval.Thread, fn string, coll Value) (bool, error) {
	switch x := coll.(type) {
	case nil:
		return true, nil
	case *value.Vector:
		return x.Len() == 0, nil
	case *value.List:
		return x.Len() == 0, nil
	case *value.Map:
		return x.Len() == 0, nil
	case *value.Set:
		return x.Len() == 0, nil
	case value.String:
		return x == "", nil
	case *value.Range:
		return x.N == 0, nil
	case *value.Repeat:
		return false, nil
	}
	_, found, err := seqFirst(th, fn, coll)
	return !found, err
}

// seqGet looks k up in coll as get does.
func seqGet(coll, k Value) (Value, bool) {
	switch x := coll.(type) {
	case *value.Map:
		return x.Get(k)
	case *value.Set:
		if x.Has(k) {
			return k, true
		}
	case *value.Vector:
		if i, ok := k.(value.Int); ok {
			return x.Nth(int(i))
		}
	case value.String:
		if i, ok := k.(value.Int); ok && i >= 0 {
			for _, r := range string(x) {
				if i == 0 {
					return value.String(string(r)), true
				}
				i--
			}
		}
	}
	return nil, false
}

// seqConj adds x to coll the way conj does.
func seqConj(th *eval.Thread, fn string, coll, x Value) (Value, error) {
	switch c := coll.(type) {
	case nil:
		return value.NewList(x), nil
	case *value.Vector:
		return c.Conj(x), nil
	case *value.List:
		return c.Cons(x), nil
	case *value.Set:
		return c.Conj(x), nil
	case *value.Map:
		switch e := x.(type) {
		case *value.Vector:
			if e.Len() == 2 {
				k, _ := e.Nth(0)
				v, _ := e.Nth(1)
				return c.Assoc(k, v), nil
			}
		case *value.Map:
			m := c
			e.Range(func(k, v Value) bool {
				m = m.Assoc(k, v)
				return true
			})
			return m, nil
		case nil:
			return c, nil
		}
		return nil, typeError(fn, "a [key value] vector or a map to add to a map", x)
	case *value.Range, *value.Repeat, *value.Generator:
		return seqCons(th, fn, x, coll)
	}
	return nil, typeError(fn, "a collection", coll)
}

// seqCons returns x followed by coll's elements.
func seqCons(th *eval.Thread, fn string, x, coll Value) (Value, error) {
	switch c := coll.(type) {
	case nil:
		return value.NewList(x), nil
	case *value.List:
		return c.Cons(x), nil
	}
	if err := seqCheck(fn, coll); err != nil {
		return nil, err
	}
	if seqUnbounded(coll) {
		return seqResult(th, fn, true, 0, func(th *eval.Thread, out func(Value) error) error {
			if err := out(x); err != nil {
				return err
			}
			return th.Each(coll, out)
		})
	}
	items, err := seqItems(th, fn, coll)
	if err != nil {
		return nil, err
	}
	return value.NewList(items...).Cons(x), nil
}

// seqTruthCall calls pred on x and reports whether the result is truthy.
func seqTruthCall(th *eval.Thread, pred, x Value) (bool, error) {
	v, err := th.Call1(pred, x)
	if err != nil {
		return false, err
	}
	return value.Truthy(v), nil
}

func seqPosInt(fn string, v Value) (int64, error) {
	n, err := toInt(fn, v)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, typeError(fn, "a positive integer", v)
	}
	return n, nil
}

// seqEntry splits a [k v] map entry.
func seqEntry(fn string, e Value) (Value, Value, error) {
	if v, ok := e.(*value.Vector); ok && v.Len() == 2 {
		k, _ := v.Nth(0)
		x, _ := v.Nth(1)
		return k, x, nil
	}
	return nil, nil, typeError(fn, "a map entry [key value]", e)
}

func registerSeq(r *registry) {
	registerSeqAccess(r)
	registerSeqBuild(r)
	registerSeqTransform(r)
	registerSeqReduce(r)
}

// registerSeqAccess registers count, first, nth, get and friends.
func registerSeqAccess(r *registry) {
	r.add("count", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		n, err := seqCount(th, args[0])
		if err != nil {
			return nil, err
		}
		return value.Int(n), nil
	})
	r.add("empty?", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		e, err := seqEmpty(th, "empty?", args[0])
		return value.Bool(e), err
	})
	r.add("not-empty", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		e, err := seqEmpty(th, "not-empty", args[0])
		if err != nil || e {
			return nil, err
		}
		return args[0], nil
	})
	r.add("first", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		v, _, err := seqFirst(th, "first", args[0])
		return v, err
	})
	r.add("second", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		if seqIsMapOrSet(args[0]) {
			// second of a map or set is its second entry.
			items, err := seqItems(th, "second", args[0])
			if err != nil || len(items) < 2 {
				return nil, err
			}
			return items[1], nil
		}
		v, _, err := seqNth(th, "second", args[0], 1)
		return v, err
	})
	r.add("last", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case *value.Vector:
			v, _ := x.Nth(x.Len() - 1)
			return v, nil
		case *value.Range:
			if x.N > 0 {
				return x.At(x.N - 1), nil
			}
			if x.N == 0 {
				return nil, nil
			}
		}
		var last Value
		err := seqEach(th, "last", args[0], func(v Value) error {
			last = v
			return nil
		})
		return last, err
	})
	r.add("rest", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		return seqDrop(th, "rest", args[0], 1)
	})
	r.add("next", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		v, err := seqDrop(th, "next", args[0], 1)
		if err != nil {
			return nil, err
		}
		if e, _ := seqEmpty(th, "next", v); e && !seqUnbounded(v) {
			return nil, nil
		}
		return v, nil
	})
	r.add("nthrest", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		n, err := toInt("nthrest", args[1])
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			if err := seqCheck("nthrest", args[0]); err != nil {
				return nil, err
			}
			return args[0], nil
		}
		return seqDrop(th, "nthrest", args[0], n)
	})
	r.add("nth", 2, 3, func(th *eval.Thread, args []Value) (Value, error) {
		i, err := toInt("nth", args[1])
		if err != nil {
			return nil, err
		}
		v, ok, err := seqNth(th, "nth", args[0], i)
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(args) == 3 {
				return args[2], nil
			}
			if args[0] == nil {
				return nil, nil
			}
			return nil, value.Errorf(value.ErrIndex, "nth: index %d out of bounds", i)
		}
		return v, nil
	})
	r.add("get", 2, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		if v, ok := seqGet(args[0], args[1]); ok {
			return v, nil
		}
		if len(args) == 3 {
			return args[2], nil
		}
		return nil, nil
	})
	r.add("get-in", 2, 3, func(th *eval.Thread, args []Value) (Value, error) {
		var dflt Value
		if len(args) == 3 {
			dflt = args[2]
		}
		cur := args[0]
		missing := false
		err := seqEach(th, "get-in", args[1], func(k Value) error {
			v, ok := seqGet(cur, k)
			if !ok {
				missing = true
				return eval.Stop
			}
			cur = v
			return nil
		})
		if err != nil {
			return nil, err
		}
		if missing {
			return dflt, nil
		}
		return cur, nil
	})
	r.add("contains?", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case nil:
			return value.False, nil
		case *value.Map:
			_, ok := x.Get(args[1])
			return value.Bool(ok), nil
		case *value.Set:
			return value.Bool(x.Has(args[1])), nil
		case *value.Vector:
			i, ok := args[1].(value.Int)
			return value.Bool(ok && i >= 0 && int64(i) < int64(x.Len())), nil
		case value.String:
			i, ok := args[1].(value.Int)
			return value.Bool(ok && i >= 0 && int64(i) < int64(utf8.RuneCountInString(string(x)))), nil
		}
		return nil, typeError("contains?", "a map, set, vector or string", args[0])
	})
	r.add("peek", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case nil:
			return nil, nil
		case *value.Vector:
			v, _ := x.Nth(x.Len() - 1)
			return v, nil
		case *value.List:
			return x.First(), nil
		}
		return nil, typeError("peek", "a vector or list", args[0])
	})
	r.add("pop", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case nil:
			return nil, nil
		case *value.Vector:
			if x.Len() == 0 {
				return nil, value.Errorf(value.ErrIndex, "pop: cannot pop an empty vector")
			}
			return x.Pop(), nil
		case *value.List:
			if x.Len() == 0 {
				return nil, value.Errorf(value.ErrIndex, "pop: cannot pop an empty list")
			}
			return x.Rest(), nil
		}
		return nil, typeError("pop", "a vector or list", args[0])
	})
	r.add("empty", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch args[0].(type) {
		case *value.Vector:
			return value.EmptyVector, nil
		case *value.List, *value.Range, *value.Repeat, *value.Generator:
			return value.EmptyList, nil
		case *value.Map:
			return value.EmptyMap, nil
		case *value.Set:
			return value.EmptySet, nil
		}
		return nil, nil
	})
}

func seqIsMapOrSet(v Value) bool {
	switch v.(type) {
	case *value.Map, *value.Set:
		return true
	}
	return false
}

// registerSeqBuild registers the constructors and conj/into/cons.
func registerSeqBuild(r *registry) {
	r.add("vector", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.NewVector(args...), nil
	})
	r.add("list", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.NewList(args...), nil
	})
	r.add("hash-set", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.NewSet(args...), nil
	})
	r.add("vec", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case *value.Vector:
			return x, nil
		case nil:
			return value.EmptyVector, nil
		}
		b := value.NewVectorBuilder()
		err := seqEach(th, "vec", args[0], func(v Value) error {
			b.Append(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Vector(), nil
	})
	r.add("set", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case *value.Set:
			return x, nil
		case nil:
			return value.EmptySet, nil
		}
		b := value.NewSetBuilder()
		err := seqEach(th, "set", args[0], func(v Value) error {
			b.Add(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Set(), nil
	})
	r.add("seq", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		e, err := seqEmpty(th, "seq", args[0])
		if err != nil || e {
			return nil, err
		}
		switch x := args[0].(type) {
		case *value.List, *value.Range, *value.Repeat, *value.Generator:
			return x, nil
		}
		items, err := seqItems(th, "seq", args[0])
		if err != nil {
			return nil, err
		}
		return value.NewList(items...), nil
	})
	r.add("cons", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		return seqCons(th, "cons", args[0], args[1])
	})
	r.add("conj", 0, -1, func(th *eval.Thread, args []Value) (Value, error) {
		if len(args) == 0 {
			return value.EmptyVector, nil
		}
		coll := args[0]
		if v, ok := coll.(*value.Vector); ok && len(args) > 2 {
			b := v.Builder()
			for _, x := range args[1:] {
				b.Append(x)
			}
			return b.Vector(), nil
		}
		var err error
		for _, x := range args[1:] {
			if coll, err = seqConj(th, "conj", coll, x); err != nil {
				return nil, err
			}
		}
		if len(args) == 1 && coll != nil && !eval.IsSeqable(coll) {
			return nil, typeError("conj", "a collection", coll)
		}
		return coll, nil
	})
	r.add("disj", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch s := args[0].(type) {
		case nil:
			return nil, nil
		case *value.Set:
			for _, x := range args[1:] {
				s = s.Disj(x)
			}
			return s, nil
		}
		return nil, typeError("disj", "a set", args[0])
	})
	r.add("into", 0, 2, func(th *eval.Thread, args []Value) (Value, error) {
		switch len(args) {
		case 0:
			return value.EmptyVector, nil
		case 1:
			return args[0], nil
		}
		return seqInto(th, "into", args[0], args[1])
	})
	r.add("concat", 0, -1, func(th *eval.Thread, args []Value) (Value, error) {
		if err := seqCheckAll("concat", args); err != nil {
			return nil, err
		}
		colls := slices.Clone(args)
		hint := 0
		for _, c := range colls {
			hint += seqHint(c)
		}
		return seqResult(th, "concat", seqAnyUnbounded(colls), min(hint, seqPrealloc), func(th *eval.Thread, out func(Value) error) error {
			for _, c := range colls {
				if err := th.Each(c, out); err != nil {
					return err
				}
			}
			return nil
		})
	})
	r.add("range", 0, 3, func(th *eval.Thread, args []Value) (Value, error) {
		return seqRange(th, args)
	})
	r.add("repeat", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		if len(args) == 1 {
			return &value.Repeat{X: args[0]}, nil
		}
		n, err := toInt("repeat", args[0])
		if err != nil {
			return nil, err
		}
		l := value.EmptyList
		if n <= 0 {
			return l, nil
		}
		if err := th.Charge(int(n)); err != nil {
			return nil, err
		}
		for ; n > 0; n-- {
			l = l.Cons(args[1])
		}
		return l, nil
	})
	r.add("iterate", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("iterate", args[0])
		if err != nil {
			return nil, err
		}
		x0 := args[1]
		return &value.Generator{Name: "iterate", Gen: func(rt any, yield func(Value) bool) error {
			th := rt.(*eval.Thread)
			x := x0
			for yield(x) {
				var err error
				if x, err = th.Call1(f, x); err != nil {
					return err
				}
			}
			return nil
		}}, nil
	})
	r.add("cycle", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		if seqUnbounded(args[0]) {
			return args[0], nil
		}
		items, err := seqItems(th, "cycle", args[0])
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return value.EmptyList, nil
		}
		return &value.Generator{Name: "cycle", Gen: func(_ any, yield func(Value) bool) error {
			for {
				for _, x := range items {
					if !yield(x) {
						return nil
					}
				}
			}
		}}, nil
	})
	r.add("doall", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		coll := args[len(args)-1]
		if len(args) == 2 {
			n, err := toInt("doall", args[0])
			if err != nil {
				return nil, err
			}
			if _, err := seqTake(th, "doall", coll, n); err != nil {
				return nil, err
			}
			return coll, nil
		}
		if _, ok := coll.(*value.Generator); ok {
			items, err := seqItems(th, "doall", coll)
			if err != nil {
				return nil, err
			}
			return value.NewList(items...), nil
		}
		if seqUnbounded(coll) {
			_, err := seqCount(th, coll)
			return nil, err
		}
		return coll, seqCheck("doall", coll)
	})
	r.add("dorun", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		coll := args[len(args)-1]
		if len(args) == 2 {
			n, err := toInt("dorun", args[0])
			if err != nil {
				return nil, err
			}
			_, err = seqTake(th, "dorun", coll, n)
			return nil, err
		}
		if seqUnbounded(coll) {
			_, err := seqCount(th, coll)
			return nil, err
		}
		return nil, seqCheck("dorun", coll)
	})
}

// seqInto conjoins every element of from onto to.
func seqInto(th *eval.Thread, fn string, to, from Value) (Value, error) {
	if err := seqCheck(fn, from); err != nil {
		return nil, err
	}
	switch t := to.(type) {
	case *value.Vector:
		b := t.Builder()
		err := th.Each(from, func(v Value) error {
			b.Append(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Vector(), nil
	case *value.Set:
		b := t.Builder()
		err := th.Each(from, func(v Value) error {
			b.Add(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Set(), nil
	case *value.Map:
		if m, ok := from.(*value.Map); ok && t.Len() == 0 {
			return m, nil
		}
		b := t.Builder()
		err := th.Each(from, func(v Value) error {
			switch e := v.(type) {
			case *value.Map:
				e.Range(func(k, x Value) bool {
					b.Assoc(k, x)
					return true
				})
				return nil
			case nil:
				return nil
			}
			k, x, err := seqEntry(fn, v)
			if err != nil {
				return err
			}
			b.Assoc(k, x)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Map(), nil
	case nil, *value.List:
		l, ok := t.(*value.List)
		if !ok {
			if from == nil {
				return nil, nil
			}
			l = value.EmptyList
		}
		err := th.Each(from, func(v Value) error {
			l = l.Cons(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	if !eval.IsSeqable(to) {
		return nil, typeError(fn, "a collection", to)
	}
	acc := to
	err := th.Each(from, func(v Value) error {
		var err error
		acc, err = seqConj(th, fn, acc, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// seqRange implements range.
func seqRange(th *eval.Thread, args []Value) (Value, error) {
	if len(args) == 0 {
		return &value.Range{Start: 0, Step: 1, N: -1}, nil
	}
	allInt := true
	for _, a := range args {
		switch a.(type) {
		case value.Int:
		case value.Float:
			allInt = false
		default:
			return nil, typeError("range", "a number", a)
		}
	}
	if !allInt {
		return seqFloatRange(th, args)
	}
	var start, end, step int64 = 0, 0, 1
	switch len(args) {
	case 1:
		end = int64(args[0].(value.Int))
	case 2:
		start, end = int64(args[0].(value.Int)), int64(args[1].(value.Int))
	case 3:
		start, end, step = int64(args[0].(value.Int)), int64(args[1].(value.Int)), int64(args[2].(value.Int))
	}
	if step == 0 {
		if start == end {
			return value.EmptyList, nil
		}
		return nil, value.Errorf(value.ErrArithmetic, "range: step must not be zero")
	}
	var n uint64
	switch {
	case step > 0 && end > start:
		n = (uint64(end)-uint64(start)-1)/uint64(step) + 1
	case step < 0 && end < start:
		n = (uint64(start)-uint64(end)-1)/(uint64(-(step+1))+1) + 1
	}
	return &value.Range{Start: start, Step: step, N: int64(min(n, math.MaxInt64))}, nil
}

// seqFloatRange realises a range with a float bound or step.
func seqFloatRange(th *eval.Thread, args []Value) (Value, error) {
	f := make([]float64, len(args))
	for i, a := range args {
		f[i], _ = toFloat("range", a)
	}
	start, end, step := 0.0, 0.0, 1.0
	switch len(f) {
	case 1:
		end = f[0]
	case 2:
		start, end = f[0], f[1]
	case 3:
		start, end, step = f[0], f[1], f[2]
	}
	if step == 0 || math.IsNaN(step) {
		if start == end {
			return value.EmptyList, nil
		}
		return nil, value.Errorf(value.ErrArithmetic, "range: step must not be zero")
	}
	_, startInt := args[0].(value.Int)
	if len(args) == 1 {
		startInt = true
	}
	stepInt := len(args) < 3
	if len(args) == 3 {
		_, stepInt = args[2].(value.Int)
	}
	var out []Value
	for i := 0; ; i++ {
		x := start + float64(i)*step
		if (step > 0 && !(x < end)) || (step < 0 && !(x > end)) {
			break
		}
		if err := th.Tick(); err != nil {
			return nil, err
		}
		if startInt && stepInt {
			out = append(out, value.Int(int64(start)+int64(i)*int64(step)))
		} else {
			out = append(out, value.Float(x))
		}
	}
	return value.ListFromSlice(out), nil
}

// registerSeqTransform registers map, filter and the other sequence
// transformations.
func registerSeqTransform(r *registry) {
	r.add("map", 2, -1, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("map", args[0])
		if err != nil {
			return nil, err
		}
		return seqMap(th, "map", f, args[1:])
	})
	r.add("mapv", 2, -1, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("mapv", args[0])
		if err != nil {
			return nil, err
		}
		if err := seqCheckAll("mapv", args[1:]); err != nil {
			return nil, err
		}
		b := value.NewVectorBuilder()
		emit := func(y Value) error {
			b.Append(y)
			return nil
		}
		if len(args) == 2 {
			err = th.Each(args[1], func(x Value) error {
				y, err := th.Call1(f, x)
				if err != nil {
					return err
				}
				return emit(y)
			})
		} else {
			err = seqZip(th, "mapv", args[1:], func(xs []Value) error {
				y, err := th.Call(f, xs...)
				if err != nil {
					return err
				}
				return emit(y)
			})
		}
		if err != nil {
			return nil, err
		}
		return b.Vector(), nil
	})
	r.add("map-indexed", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("map-indexed", args[0])
		if err != nil {
			return nil, err
		}
		coll := args[1]
		if err := seqCheck("map-indexed", coll); err != nil {
			return nil, err
		}
		return seqResult(th, "map-indexed", seqUnbounded(coll), seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
			i := int64(0)
			return th.Each(coll, func(x Value) error {
				y, err := th.Call2(f, value.Int(i), x)
				if err != nil {
					return err
				}
				i++
				return out(y)
			})
		})
	})
	r.add("mapcat", 2, -1, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("mapcat", args[0])
		if err != nil {
			return nil, err
		}
		colls := slices.Clone(args[1:])
		if err := seqCheckAll("mapcat", colls); err != nil {
			return nil, err
		}
		return seqResult(th, "mapcat", seqAllUnbounded(colls), 0, func(th *eval.Thread, out func(Value) error) error {
			return seqMapRun(th, "mapcat", f, colls, func(y Value) error {
				return seqEach(th, "mapcat", y, out)
			})
		})
	})
	filterFn := func(name string, keep bool) eval.BuiltinFunc {
		return func(th *eval.Thread, args []Value) (Value, error) {
			pred, err := toFn(name, args[0])
			if err != nil {
				return nil, err
			}
			coll := args[1]
			if err := seqCheck(name, coll); err != nil {
				return nil, err
			}
			// The input length bounds the output; reserving it avoids
			// regrowing a pointer slice (a copy with write barriers).
			return seqResult(th, name, seqUnbounded(coll), seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
				return th.Each(coll, func(x Value) error {
					t, err := seqTruthCall(th, pred, x)
					if err != nil {
						return err
					}
					if t == keep {
						return out(x)
					}
					return nil
				})
			})
		}
	}
	r.add("filter", 2, 2, filterFn("filter", true))
	r.add("remove", 2, 2, filterFn("remove", false))
	r.add("filterv", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		pred, err := toFn("filterv", args[0])
		if err != nil {
			return nil, err
		}
		b := value.NewVectorBuilder()
		err = seqEach(th, "filterv", args[1], func(x Value) error {
			t, err := seqTruthCall(th, pred, x)
			if err == nil && t {
				b.Append(x)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return b.Vector(), nil
	})
	r.add("keep", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("keep", args[0])
		if err != nil {
			return nil, err
		}
		coll := args[1]
		if err := seqCheck("keep", coll); err != nil {
			return nil, err
		}
		return seqResult(th, "keep", seqUnbounded(coll), 0, func(th *eval.Thread, out func(Value) error) error {
			return th.Each(coll, func(x Value) error {
				y, err := th.Call1(f, x)
				if err != nil || y == nil {
					return err
				}
				return out(y)
			})
		})
	})
	r.add("take", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		n, err := toInt("take", args[0])
		if err != nil {
			return nil, err
		}
		return seqTake(th, "take", args[1], n)
	})
	r.add("drop", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		n, err := toInt("drop", args[0])
		if err != nil {
			return nil, err
		}
		if err := seqCheck("drop", args[1]); err != nil {
			return nil, err
		}
		return seqDrop(th, "drop", args[1], max(n, 0))
	})
	r.add("take-while", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		pred, err := toFn("take-while", args[0])
		if err != nil {
			return nil, err
		}
		l, _, err := seqSplitWith(th, "take-while", pred, args[1], false)
		return l, err
	})
	r.add("drop-while", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		pred, err := toFn("drop-while", args[0])
		if err != nil {
			return nil, err
		}
		return seqDropWhile(th, pred, args[1])
	})
	r.add("split-at", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		n, err := toInt("split-at", args[0])
		if err != nil {
			return nil, err
		}
		a, err := seqTake(th, "split-at", args[1], n)
		if err != nil {
			return nil, err
		}
		b, err := seqDrop(th, "split-at", args[1], max(n, 0))
		if err != nil {
			return nil, err
		}
		return value.NewVector(a, b), nil
	})
	r.add("split-with", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		pred, err := toFn("split-with", args[0])
		if err != nil {
			return nil, err
		}
		if seqUnbounded(args[1]) {
			a, _, err := seqSplitWith(th, "split-with", pred, args[1], false)
			if err != nil {
				return nil, err
			}
			b, err := seqDropWhile(th, pred, args[1])
			if err != nil {
				return nil, err
			}
			return value.NewVector(a, b), nil
		}
		a, b, err := seqSplitWith(th, "split-with", pred, args[1], true)
		if err != nil {
			return nil, err
		}
		return value.NewVector(a, b), nil
	})
	r.add("take-last", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		n, err := toInt("take-last", args[0])
		if err != nil {
			return nil, err
		}
		items, err := seqItems(th, "take-last", args[1])
		if err != nil {
			return nil, err
		}
		if n <= 0 || len(items) == 0 {
			return nil, nil
		}
		return value.NewList(items[len(items)-int(min(n, int64(len(items)))):]...), nil
	})
	r.add("drop-last", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		n := int64(1)
		if len(args) == 2 {
			var err error
			if n, err = toInt("drop-last", args[0]); err != nil {
				return nil, err
			}
		}
		items, err := seqItems(th, "drop-last", args[len(args)-1])
		if err != nil {
			return nil, err
		}
		n = max(n, 0)
		return value.NewList(items[:len(items)-int(min(n, int64(len(items))))]...), nil
	})
	r.add("butlast", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		items, err := seqItems(th, "butlast", args[0])
		if err != nil || len(items) <= 1 {
			return nil, err
		}
		return value.NewList(items[:len(items)-1]...), nil
	})
	r.add("reverse", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		l := value.EmptyList
		err := seqEach(th, "reverse", args[0], func(v Value) error {
			l = l.Cons(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return l, nil
	})
	r.add("sort", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		var cmp Value
		if len(args) == 2 {
			var err error
			if cmp, err = toFn("sort", args[0]); err != nil {
				return nil, err
			}
		}
		items, err := seqItems(th, "sort", args[len(args)-1])
		if err != nil {
			return nil, err
		}
		if err := seqSort(th, "sort", cmp, items, items); err != nil {
			return nil, err
		}
		return value.NewList(items...), nil
	})
	r.add("sort-by", 2, 3, func(th *eval.Thread, args []Value) (Value, error) {
		keyfn, err := toFn("sort-by", args[0])
		if err != nil {
			return nil, err
		}
		var cmp Value
		if len(args) == 3 {
			if cmp, err = toFn("sort-by", args[1]); err != nil {
				return nil, err
			}
		}
		items, err := seqItems(th, "sort-by", args[len(args)-1])
		if err != nil {
			return nil, err
		}
		keys := make([]Value, len(items))
		for i, x := range items {
			if keys[i], err = th.Call1(keyfn, x); err != nil {
				return nil, err
			}
		}
		if err := seqSort(th, "sort-by", cmp, keys, items); err != nil {
			return nil, err
		}
		return value.NewList(items...), nil
	})
	r.add("distinct", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		coll := args[0]
		if err := seqCheck("distinct", coll); err != nil {
			return nil, err
		}
		return seqResult(th, "distinct", seqUnbounded(coll), seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
			seen := value.NewSetBuilder()
			return th.Each(coll, func(x Value) error {
				n := seen.Len()
				seen.Add(x)
				if seen.Len() == n {
					return nil
				}
				return out(x)
			})
		})
	})
	r.add("dedupe", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		coll := args[0]
		if err := seqCheck("dedupe", coll); err != nil {
			return nil, err
		}
		return seqResult(th, "dedupe", seqUnbounded(coll), seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
			var prev Value
			started := false
			return th.Each(coll, func(x Value) error {
				if started && value.Equal(prev, x) {
					return nil
				}
				prev, started = x, true
				return out(x)
			})
		})
	})
	r.add("partition", 2, 4, func(th *eval.Thread, args []Value) (Value, error) {
		return seqPartition(th, "partition", args, false)
	})
	r.add("partition-all", 2, 3, func(th *eval.Thread, args []Value) (Value, error) {
		return seqPartition(th, "partition-all", args, true)
	})
	r.add("partition-by", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("partition-by", args[0])
		if err != nil {
			return nil, err
		}
		coll := args[1]
		if err := seqCheck("partition-by", coll); err != nil {
			return nil, err
		}
		return seqResult(th, "partition-by", seqUnbounded(coll), 0, func(th *eval.Thread, out func(Value) error) error {
			var run []Value
			var key Value
			err := th.Each(coll, func(x Value) error {
				k, err := th.Call1(f, x)
				if err != nil {
					return err
				}
				if len(run) > 0 && !value.Equal(k, key) {
					if err := out(value.NewList(run...)); err != nil {
						return err
					}
					run = run[:0]
				}
				key = k
				run = append(run, x)
				return nil
			})
			if err != nil {
				return err
			}
			if len(run) > 0 {
				return out(value.NewList(run...))
			}
			return nil
		})
	})
	r.add("interleave", 0, -1, func(th *eval.Thread, args []Value) (Value, error) {
		colls := slices.Clone(args)
		if err := seqCheckAll("interleave", colls); err != nil {
			return nil, err
		}
		if len(colls) == 0 {
			return value.EmptyList, nil
		}
		return seqResult(th, "interleave", seqAllUnbounded(colls), 0, func(th *eval.Thread, out func(Value) error) error {
			if len(colls) == 1 {
				return th.Each(colls[0], out)
			}
			return seqZip(th, "interleave", colls, func(xs []Value) error {
				for _, x := range xs {
					if err := out(x); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
	r.add("interpose", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		sep, coll := args[0], args[1]
		if err := seqCheck("interpose", coll); err != nil {
			return nil, err
		}
		return seqResult(th, "interpose", seqUnbounded(coll), 2*seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
			first := true
			return th.Each(coll, func(x Value) error {
				if !first {
					if err := out(sep); err != nil {
						return err
					}
				}
				first = false
				return out(x)
			})
		})
	})
	r.add("flatten", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		if !value.IsSequential(args[0]) {
			return value.EmptyList, nil
		}
		var out []Value
		var walk func(v Value) error
		walk = func(v Value) error {
			return th.Each(v, func(x Value) error {
				if value.IsSequential(x) {
					return walk(x)
				}
				out = append(out, x)
				return nil
			})
		}
		if err := walk(args[0]); err != nil {
			return nil, err
		}
		return value.ListFromSlice(out), nil
	})
	r.add("frequencies", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		b := value.NewMapBuilder()
		err := seqEach(th, "frequencies", args[0], func(x Value) error {
			n, _ := b.Get(x)
			c, _ := n.(value.Int)
			b.Assoc(x, c+1)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Map(), nil
	})
	r.add("group-by", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("group-by", args[0])
		if err != nil {
			return nil, err
		}
		index := value.NewMapBuilder()
		var keys []Value
		var groups []*value.VectorBuilder
		err = seqEach(th, "group-by", args[1], func(x Value) error {
			k, err := th.Call1(f, x)
			if err != nil {
				return err
			}
			if i, ok := index.Get(k); ok {
				groups[i.(value.Int)].Append(x)
				return nil
			}
			index.Assoc(k, value.Int(len(groups)))
			g := value.NewVectorBuilder()
			g.Append(x)
			keys = append(keys, k)
			groups = append(groups, g)
			return nil
		})
		if err != nil {
			return nil, err
		}
		b := value.NewMapBuilder()
		for i, k := range keys {
			b.Assoc(k, groups[i].Vector())
		}
		return b.Map(), nil
	})
	r.add("zipmap", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		b := value.NewMapBuilder()
		err := seqZip(th, "zipmap", []Value{args[0], args[1]}, func(xs []Value) error {
			b.Assoc(xs[0], xs[1])
			return nil
		})
		if err != nil {
			return nil, err
		}
		return b.Map(), nil
	})
	r.add("subvec", 2, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		v, ok := args[0].(*value.Vector)
		if !ok {
			return nil, typeError("subvec", "a vector", args[0])
		}
		start, err := toInt("subvec", args[1])
		if err != nil {
			return nil, err
		}
		end := int64(v.Len())
		if len(args) == 3 {
			if end, err = toInt("subvec", args[2]); err != nil {
				return nil, err
			}
		}
		if start < 0 || end < start || end > int64(v.Len()) {
			return nil, value.Errorf(value.ErrIndex, "subvec: range [%d, %d) out of bounds for vector of length %d", start, end, v.Len())
		}
		return value.NewVector(v.Slice(int(start), int(end))...), nil
	})
}

// seqMapRun calls f on the elements of colls (zipped when several) and
// passes each result to out.
func seqMapRun(th *eval.Thread, fn string, f Value, colls []Value, out func(Value) error) error {
	if len(colls) == 1 {
		return th.Each(colls[0], func(x Value) error {
			y, err := th.Call1(f, x)
			if err != nil {
				return err
			}
			return out(y)
		})
	}
	return seqZip(th, fn, colls, func(xs []Value) error {
		y, err := th.Call(f, xs...)
		if err != nil {
			return err
		}
		return out(y)
	})
}

func seqMap(th *eval.Thread, fn string, f Value, args []Value) (Value, error) {
	if err := seqCheckAll(fn, args); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		coll := args[0]
		return seqResult(th, fn, seqUnbounded(coll), seqHint(coll), func(th *eval.Thread, out func(Value) error) error {
			return th.Each(coll, func(x Value) error {
				y, err := th.Call1(f, x)
				if err != nil {
					return err
				}
				return out(y)
			})
		})
	}
	colls := slices.Clone(args)
	return seqResult(th, fn, seqAllUnbounded(colls), 0, func(th *eval.Thread, out func(Value) error) error {
		return seqMapRun(th, fn, f, colls, out)
	})
}

// seqSplitWith returns the longest prefix of coll whose elements satisfy
// pred and, when wantRest, the remaining elements.
func seqSplitWith(th *eval.Thread, fn string, pred, coll Value, wantRest bool) (*value.List, *value.List, error) {
	var head, tail []Value
	inHead := true
	err := seqEach(th, fn, coll, func(x Value) error {
		if inHead {
			t, err := seqTruthCall(th, pred, x)
			if err != nil {
				return err
			}
			if t {
				head = append(head, x)
				return nil
			}
			inHead = false
			if !wantRest {
				return eval.Stop
			}
		}
		tail = append(tail, x)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return value.NewList(head...), value.NewList(tail...), nil
}

func seqDropWhile(th *eval.Thread, pred, coll Value) (Value, error) {
	if err := seqCheck("drop-while", coll); err != nil {
		return nil, err
	}
	return seqResult(th, "drop-while", seqUnbounded(coll), 0, func(th *eval.Thread, out func(Value) error) error {
		dropping := true
		return th.Each(coll, func(x Value) error {
			if dropping {
				t, err := seqTruthCall(th, pred, x)
				if err != nil || t {
					return err
				}
				dropping = false
			}
			return out(x)
		})
	})
}

// seqPartition implements partition and partition-all:
// (partition n coll), (partition n step coll), (partition n step pad coll).
func seqPartition(th *eval.Thread, fn string, args []Value, all bool) (Value, error) {
	n, err := seqPosInt(fn, args[0])
	if err != nil {
		return nil, err
	}
	step := n
	coll := args[len(args)-1]
	if len(args) >= 3 {
		if step, err = seqPosInt(fn, args[1]); err != nil {
			return nil, err
		}
	}
	var pad []Value
	hasPad := len(args) == 4
	if hasPad {
		if pad, err = seqItems(th, fn, args[2]); err != nil {
			return nil, err
		}
	}
	if err := seqCheck(fn, coll); err != nil {
		return nil, err
	}
	return seqResult(th, fn, seqUnbounded(coll), 0, func(th *eval.Thread, out func(Value) error) error {
		var buf []Value
		skip := int64(0)
		err := th.Each(coll, func(x Value) error {
			if skip > 0 {
				skip--
				return nil
			}
			buf = append(buf, x)
			if int64(len(buf)) < n {
				return nil
			}
			if err := out(value.NewList(buf...)); err != nil {
				return err
			}
			if step < n {
				buf = append(buf[:0], buf[step:]...)
			} else {
				buf = buf[:0]
				skip = step - n
			}
			return nil
		})
		if err != nil {
			return err
		}
		switch {
		case all:
			for len(buf) > 0 {
				if err := out(value.NewList(buf...)); err != nil {
					return err
				}
				if int64(len(buf)) <= step {
					break
				}
				buf = buf[step:]
			}
		case hasPad && len(buf) > 0:
			for _, p := range pad {
				if int64(len(buf)) >= n {
					break
				}
				buf = append(buf, p)
			}
			return out(value.NewList(buf...))
		}
		return nil
	})
}

// seqSort sorts items stably by keys (which may be items itself) using
// cmp, or compare when cmp is nil. A comparator may return a boolean
// (true: less) or a number (negative: less).
func seqSort(th *eval.Thread, fn string, cmp Value, keys, items []Value) error {
	byItems := len(items) == 0 || &keys[0] == &items[0]
	if err := th.Charge(len(items)); err != nil {
		return err
	}
	var firstErr error
	less := func(a, b Value) bool {
		if firstErr != nil {
			return false
		}
		if cmp == nil {
			c, err := value.Compare(a, b)
			if err != nil {
				firstErr = err
			}
			return c < 0
		}
		r, err := th.Call2(cmp, a, b)
		if err != nil {
			firstErr = err
			return false
		}
		switch x := r.(type) {
		case value.Bool:
			return bool(x)
		case value.Int:
			return x < 0
		case value.Float:
			return x < 0
		}
		firstErr = typeError(fn, "a comparator returning a boolean or a number", r)
		return false
	}
	if byItems {
		sort.SliceStable(items, func(i, j int) bool { return less(items[i], items[j]) })
		return firstErr
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(keys[idx[i]], keys[idx[j]]) })
	if firstErr != nil {
		return firstErr
	}
	sorted := make([]Value, len(items))
	for i, k := range idx {
		sorted[i] = items[k]
	}
	copy(items, sorted)
	return nil
}

// registerSeqReduce registers reduce, the predicates over sequences and
// apply.
func registerSeqReduce(r *registry) {
	r.add("reduce", 2, 3, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("reduce", args[0])
		if err != nil {
			return nil, err
		}
		if len(args) == 3 {
			return seqReduce(th, f, args[1], true, args[2])
		}
		return seqReduce(th, f, nil, false, args[1])
	})
	r.add("reduce-kv", 3, 3, func(th *eval.Thread, args []Value) (Value, error) {
		f, err := toFn("reduce-kv", args[0])
		if err != nil {
			return nil, err
		}
		acc := args[1]
		switch x := args[2].(type) {
		case nil:
			return acc, nil
		case *value.Map:
			x.Range(func(k, v Value) bool {
				acc, err = th.Call(f, acc, k, v)
				return err == nil
			})
		case *value.Vector:
			x.Range(func(i int, v Value) bool {
				acc, err = th.Call(f, acc, value.Int(i), v)
				return err == nil
			})
		default:
			return nil, typeError("reduce-kv", "a map or vector", args[2])
		}
		if err != nil {
			return nil, err
		}
		return acc, nil
	})
	r.add("some", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		pred, err := toFn("some", args[0])
		if err != nil {
			return nil, err
		}
		var found Value
		err = seqEach(th, "some", args[1], func(x Value) error {
			v, err := th.Call1(pred, x)
			if err != nil {
				return err
			}
			if value.Truthy(v) {
				found = v
				return eval.Stop
			}
			return nil
		})
		return found, err
	})
	every := func(name string, want, result bool) eval.BuiltinFunc {
		// The predicate holds for every element iff no element gives !want;
		// result is returned when one does.
		return func(th *eval.Thread, args []Value) (Value, error) {
			pred, err := toFn(name, args[0])
			if err != nil {
				return nil, err
			}
			hit := false
			err = seqEach(th, name, args[1], func(x Value) error {
				t, err := seqTruthCall(th, pred, x)
				if err != nil {
					return err
				}
				if t != want {
					hit = true
					return eval.Stop
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			return value.Bool(hit == result), nil
		}
	}
	r.add("every?", 2, 2, every("every?", true, false))
	r.add("not-every?", 2, 2, every("not-every?", true, true))
	r.add("not-any?", 2, 2, every("not-any?", false, false))
	r.add("apply", 2, -1, func(th *eval.Thread, args []Value) (Value, error) {
		f := args[0]
		last := args[len(args)-1]
		if err := seqCheck("apply", last); err != nil {
			return nil, err
		}
		all := make([]Value, 0, len(args)-2+seqHint(last))
		all = append(all, args[1:len(args)-1]...)
		err := th.Each(last, func(x Value) error {
			all = append(all, x)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return th.Call(f, all...)
	})
	extreme := func(name string, sign int) eval.BuiltinFunc {
		return func(th *eval.Thread, args []Value) (Value, error) {
			k, err := toFn(name, args[0])
			if err != nil {
				return nil, err
			}
			best := args[1]
			bestKey, err := th.Call1(k, best)
			if err != nil {
				return nil, err
			}
			if _, err := toFloat(name, bestKey); err != nil {
				return nil, err
			}
			for _, x := range args[2:] {
				kx, err := th.Call1(k, x)
				if err != nil {
					return nil, err
				}
				c, err := compareNums(name, kx, bestKey)
				if err != nil {
					return nil, err
				}
				if c == sign || c == 0 {
					best, bestKey = x, kx
				}
			}
			return best, nil
		}
	}
	r.add("max-key", 2, -1, extreme("max-key", 1))
	r.add("min-key", 2, -1, extreme("min-key", -1))
}

// seqReduce folds f over coll starting from acc, or, when !has, from
// coll's first element ((f) for an empty coll).
func seqReduce(th *eval.Thread, f, acc Value, has bool, coll Value) (Value, error) {
	var err error
	switch x := coll.(type) {
	case *value.Range:
		i := int64(0)
		if !has && x.N != 0 {
			acc, has, i = x.At(0), true, 1
		}
		for ; x.N < 0 || i < x.N; i++ {
			if err := th.Tick(); err != nil {
				return nil, err
			}
			if acc, err = th.Call2(f, acc, x.At(i)); err != nil {
				return nil, err
			}
		}
	case *value.Vector:
		x.Range(func(_ int, v Value) bool {
			if !has {
				acc, has = v, true
				return true
			}
			acc, err = th.Call2(f, acc, v)
			return err == nil
		})
	case *value.List:
		x.Range(func(v Value) bool {
			if !has {
				acc, has = v, true
				return true
			}
			acc, err = th.Call2(f, acc, v)
			return err == nil
		})
	default:
		err = seqEach(th, "reduce", coll, func(v Value) error {
			if !has {
				acc, has = v, true
				return nil
			}
			var err error
			acc, err = th.Call2(f, acc, v)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	if !has {
		return th.Call(f)
	}
	return acc, nil
}

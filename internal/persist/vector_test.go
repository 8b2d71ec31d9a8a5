package persist

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// checkVector verifies every read operation of v against the model want.
func checkVector(t testing.TB, v *Vector[int], want []int) {
	t.Helper()
	if v.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", v.Len(), len(want))
	}
	for i, w := range want {
		if got := v.Nth(i); got != w {
			t.Fatalf("Nth(%d) = %d, want %d", i, got, w)
		}
		if got, ok := v.Get(i); !ok || got != w {
			t.Fatalf("Get(%d) = %d, %v, want %d", i, got, ok, w)
		}
	}
	for _, i := range []int{-1, len(want), len(want) + 1, -1 << 40} {
		if _, ok := v.Get(i); ok {
			t.Fatalf("Get(%d) ok on len %d", i, len(want))
		}
	}
	if got := v.AppendTo(nil); !slices.Equal(got, want) {
		t.Fatalf("AppendTo = %v, want %v", got, want)
	}
	if got := v.AppendTo([]int{-7}); len(got) != len(want)+1 || got[0] != -7 || !slices.Equal(got[1:], want) {
		t.Fatalf("AppendTo(prefix) = %v", got)
	}
	n := 0
	v.Range(func(i, x int) bool {
		if i != n || x != want[i] {
			t.Fatalf("Range visited (%d,%d) at step %d, want (%d,%d)", i, x, n, n, want[n])
		}
		n++
		return true
	})
	if n != len(want) {
		t.Fatalf("Range visited %d elements, want %d", n, len(want))
	}
	n = 0
	for i, x := range v.All() {
		if i != n || x != want[i] {
			t.Fatalf("All yielded (%d,%d) at step %d", i, x, n)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("All yielded %d elements, want %d", n, len(want))
	}
}

func checkSlices(t testing.TB, v *Vector[int], want []int, r *rand.Rand) {
	t.Helper()
	for range 4 {
		from := r.IntN(len(want) + 1)
		to := from + r.IntN(len(want)-from+1)
		if got := v.Slice(from, to); !slices.Equal(got, want[from:to]) {
			t.Fatalf("Slice(%d,%d) = %v, want %v", from, to, got, want[from:to])
		}
	}
	// Early termination.
	if len(want) > 0 {
		stop := r.IntN(len(want))
		n := 0
		v.Range(func(i, _ int) bool {
			n++
			return i < stop
		})
		if n != stop+1 {
			t.Fatalf("Range with stop at %d visited %d", stop, n)
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i * 3
	}
	return s
}

// Sizes around the tail and trie level boundaries.
var boundarySizes = []int{0, 1, 2, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 1055, 1056, 1057, 1088, 1089,
	32*32*32 - 1, 32 * 32 * 32, 32*32*32 + 1, 32*32*32 + 32, 32*32*32 + 33}

func TestVectorBoundaries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range boundarySizes {
		want := seq(n)
		byConj := EmptyVector[int]()
		for _, x := range want {
			byConj = byConj.Conj(x)
		}
		checkVector(t, byConj, want)
		checkSlices(t, byConj, want, r)

		byOf := VectorOf(want...)
		checkVector(t, byOf, want)

		b := NewVectorBuilder[int]()
		for _, x := range want {
			b.Append(x)
		}
		if b.Len() != n {
			t.Fatalf("builder Len = %d, want %d", b.Len(), n)
		}
		checkVector(t, b.Persistent(), want)

		var zero Vector[int] // the zero value is usable too
		checkVector(t, zero.Conj(1).Conj(2), []int{1, 2})

		// Pop everything back down, checking a few steps near boundaries fully.
		v, m := byConj, want
		for len(m) > 0 {
			v, m = v.Pop(), m[:len(m)-1]
			if len(m)%1024 <= 1 || len(m) < 70 || len(m) > n-70 {
				checkVector(t, v, m)
			} else if v.Len() != len(m) || v.Nth(len(m)-1) != m[len(m)-1] {
				t.Fatalf("after Pop to %d: wrong length or last element", len(m))
			}
		}
		if v.Pop().Len() != 0 {
			t.Fatal("Pop of empty is not empty")
		}
		// byConj must be unaffected by all those Pops.
		checkVector(t, byConj, want)
	}
}

func TestVectorAssoc(t *testing.T) {
	for _, n := range boundarySizes {
		want := seq(n)
		v := VectorOf(want...)
		for _, i := range []int{0, n / 2, n - 1, n - 33, n - 32, n - 31} {
			if i < 0 || i >= n {
				continue
			}
			w := v.Assoc(i, -1)
			m := slices.Clone(want)
			m[i] = -1
			checkVector(t, w, m)
		}
		checkVector(t, v.Assoc(n, -2), append(slices.Clone(want), -2))
		checkVector(t, v, want)
	}
}

func TestVectorAssocPanics(t *testing.T) {
	v := VectorOf(1, 2, 3)
	for _, i := range []int{-1, 4} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Assoc(%d) did not panic", i)
				}
			}()
			v.Assoc(i, 0)
		}()
	}
}

type vecVersion struct {
	v *Vector[int]
	m []int
}

// TestVectorModel applies random operations to random earlier versions and
// checks each result, and that old versions never change.
func TestVectorModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	steps := 2000
	if testing.Short() {
		steps = 500
	}
	pool := []vecVersion{{EmptyVector[int](), nil}}
	for step := range steps {
		base := pool[r.IntN(len(pool))]
		if r.IntN(4) == 0 {
			base = pool[len(pool)-1]
		}
		v, m := base.v, slices.Clone(base.m)
		switch op := r.IntN(10); op {
		case 0, 1, 2:
			x := r.Int()
			v, m = v.Conj(x), append(m, x)
		case 3: // many Conj to reach deeper tries
			for range r.IntN(2000) {
				x := r.Int()
				v, m = v.Conj(x), append(m, x)
			}
		case 4:
			i := r.IntN(len(m) + 1)
			x := r.Int()
			v = v.Assoc(i, x)
			if i == len(m) {
				m = append(m, x)
			} else {
				m[i] = x
			}
		case 5, 6:
			for range r.IntN(40) + 1 {
				v = v.Pop()
				if len(m) > 0 {
					m = m[:len(m)-1]
				}
			}
		case 7:
			b := v.Builder()
			for range r.IntN(100) {
				x := r.Int()
				b.Append(x)
				m = append(m, x)
			}
			xs := make([]int, r.IntN(100))
			for i := range xs {
				xs[i] = r.Int()
			}
			b.AppendSlice(xs...)
			m = append(m, xs...)
			v = b.Persistent()
		case 8:
			if len(m) > 0 {
				i := r.IntN(len(m))
				v = v.Assoc(i, -i)
				m[i] = -i
			}
		case 9:
			v = VectorOf(m...)
		}
		checkVector(t, v, m)
		if step%16 == 0 {
			checkSlices(t, v, m, r)
		}
		pool = append(pool, vecVersion{v, m})
		if len(pool) > 40 {
			pool = slices.Delete(pool, 0, 1)
		}
		old := pool[r.IntN(len(pool))]
		checkVector(t, old.v, old.m)
	}
	for _, p := range pool {
		checkVector(t, p.v, p.m)
	}
}

func TestVectorBuilderDoesNotMutateSource(t *testing.T) {
	for _, n := range boundarySizes {
		want := seq(n)
		v := VectorOf(want...)
		b := v.Builder()
		for i := range 2000 {
			b.Append(-i)
		}
		for i := 0; i < n; i += 7 {
			b.set(i, -5)
		}
		got := b.Persistent()
		checkVector(t, v, want)
		if got.Len() != n+2000 {
			t.Fatalf("builder result len %d", got.Len())
		}
		// Further Conj on both must not interfere.
		v2, g2 := v.Conj(1), got.Conj(2)
		checkVector(t, v, want)
		checkVector(t, v2, append(slices.Clone(want), 1))
		if x, _ := g2.Get(n + 2000); x != 2 {
			t.Fatal("conj after builder")
		}
	}
}

func TestVectorBuilderUseAfterPersistentPanics(t *testing.T) {
	b := NewVectorBuilder[int]()
	b.Append(1)
	b.Persistent()
	defer func() {
		if recover() == nil {
			t.Fatal("Append after Persistent did not panic")
		}
	}()
	b.Append(2)
}

// TestVectorSharedTailSiblings checks that versions branching from the same
// vector get independent tails.
func TestVectorSharedTailSiblings(t *testing.T) {
	base := VectorOf(1, 2, 3)
	a := base.Conj(10)
	b := base.Conj(20)
	c := base.Pop().Conj(30)
	d := a.Pop().Conj(40)
	checkVector(t, base, []int{1, 2, 3})
	checkVector(t, a, []int{1, 2, 3, 10})
	checkVector(t, b, []int{1, 2, 3, 20})
	checkVector(t, c, []int{1, 2, 30})
	checkVector(t, d, []int{1, 2, 3, 40})
}

// TestVectorConcurrentConj is meant for -race: sibling Conj calls on one
// shared vector from many goroutines.
func TestVectorConcurrentConj(t *testing.T) {
	base := VectorOf(seq(40)...)
	var wg sync.WaitGroup
	results := make([]*Vector[int], 8)
	for g := range results {
		wg.Go(func() {
			v := base
			for i := range 100 {
				v = v.Conj(g*1000 + i)
			}
			_ = base.Nth(39)
			results[g] = v
		})
	}
	wg.Wait()
	for g, v := range results {
		want := seq(40)
		for i := range 100 {
			want = append(want, g*1000+i)
		}
		checkVector(t, v, want)
	}
	checkVector(t, base, seq(40))
}

func FuzzVectorOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5})
	f.Add([]byte{6, 200, 0, 0, 0, 3, 3, 1, 7, 2})
	f.Add(slices.Repeat([]byte{6, 255}, 10))
	f.Fuzz(func(t *testing.T, ops []byte) {
		type ver struct {
			v *Vector[int]
			m []int
		}
		vers := []ver{{EmptyVector[int](), nil}}
		cur := vers[0]
		next := func() int {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return int(b)
		}
		x := 0
		for len(ops) > 0 {
			v, m := cur.v, slices.Clone(cur.m)
			x++
			switch next() % 8 {
			case 0, 1:
				v, m = v.Conj(x), append(m, x)
			case 2:
				v = v.Pop()
				if len(m) > 0 {
					m = m[:len(m)-1]
				}
			case 3:
				i := next() * (len(m) + 1) / 256
				v = v.Assoc(i, x)
				if i == len(m) {
					m = append(m, x)
				} else {
					m[i] = x
				}
			case 4:
				b := v.Builder()
				for range next() {
					x++
					b.Append(x)
					m = append(m, x)
				}
				v = b.Persistent()
			case 5: // return to an older version
				cur = vers[next()%len(vers)]
				continue
			case 6: // bulk Conj, to reach deeper tries
				for range next() * 8 {
					x++
					v, m = v.Conj(x), append(m, x)
				}
			case 7:
				for range next() % 40 {
					v = v.Pop()
					if len(m) > 0 {
						m = m[:len(m)-1]
					}
				}
			}
			checkVector(t, v, m)
			cur = ver{v, m}
			vers = append(vers, cur)
		}
		for _, vr := range vers {
			checkVector(t, vr.v, vr.m)
		}
	})
}

func BenchmarkVectorConj100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		v := EmptyVector[int]()
		for i := range 100_000 {
			v = v.Conj(i)
		}
		if v.Len() != 100_000 {
			b.Fatal("bad length")
		}
	}
}

func BenchmarkVectorOf100k(b *testing.B) {
	xs := seq(100_000)
	b.ReportAllocs()
	for b.Loop() {
		VectorOf(xs...)
	}
}

func BenchmarkVectorNth(b *testing.B) {
	const n = 100_000
	v := VectorOf(seq(n)...)
	i, sum := 0, 0
	for b.Loop() {
		sum += v.Nth(i)
		i += 7919
		if i >= n {
			i -= n
		}
	}
	_ = sum
}

func BenchmarkVectorRange(b *testing.B) {
	v := VectorOf(seq(100_000)...)
	b.ReportAllocs()
	for b.Loop() {
		sum := 0
		v.Range(func(_ int, x int) bool {
			sum += x
			return true
		})
		_ = sum
	}
}

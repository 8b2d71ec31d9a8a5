package persist

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// goodHasher mixes all bits (murmur3 finaliser).
type goodHasher struct{}

func (goodHasher) Hash(k int) uint64 {
	x := uint64(k)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
func (goodHasher) Equal(a, b int) bool { return a == b }

// badHasher yields only a few distinct hashes, forcing collision nodes.
type badHasher struct{}

func (badHasher) Hash(k int) uint64   { return uint64(k % 3) }
func (badHasher) Equal(a, b int) bool { return a == b }

// highHasher puts all variation in the top bits, so entries only separate at
// the deepest trie levels, and collides beyond 64 keys.
type highHasher struct{}

func (highHasher) Hash(k int) uint64   { return uint64(k) << 58 }
func (highHasher) Equal(a, b int) bool { return a == b }

// countingHasher counts Hash calls.
type countingHasher struct{ n *int }

func (c countingHasher) Hash(k int) uint64   { *c.n++; return goodHasher{}.Hash(k) }
func (c countingHasher) Equal(a, b int) bool { return a == b }

// mapModel is a reference insertion-ordered map.
type mapModel struct {
	vals  map[int]int
	order []int
}

func newModel() *mapModel { return &mapModel{vals: map[int]int{}} }

func (m *mapModel) clone() *mapModel {
	return &mapModel{vals: maps.Clone(m.vals), order: slices.Clone(m.order)}
}

func (m *mapModel) assoc(k, v int) {
	if _, ok := m.vals[k]; !ok {
		m.order = append(m.order, k)
	}
	m.vals[k] = v
}

func (m *mapModel) dissoc(k int) {
	if _, ok := m.vals[k]; ok {
		delete(m.vals, k)
		m.order = slices.DeleteFunc(m.order, func(x int) bool { return x == k })
	}
}

type getter interface {
	Get(int) (int, bool)
	Len() int
}

func checkGets(t testing.TB, m getter, want *mapModel, absent []int) {
	t.Helper()
	if m.Len() != len(want.order) {
		t.Fatalf("Len = %d, want %d", m.Len(), len(want.order))
	}
	for _, k := range want.order {
		if v, ok := m.Get(k); !ok || v != want.vals[k] {
			t.Fatalf("Get(%d) = %d, %v, want %d", k, v, ok, want.vals[k])
		}
	}
	for _, k := range absent {
		if _, in := want.vals[k]; in {
			continue
		}
		if v, ok := m.Get(k); ok {
			t.Fatalf("Get(%d) = %d for absent key", k, v)
		}
	}
}

func checkMap(t testing.TB, m *Map[int, int], want *mapModel, absent []int) {
	t.Helper()
	checkGets(t, m, want, absent)
	if got := m.Keys(); !slices.Equal(got, want.order) {
		t.Fatalf("Keys = %v, want %v", got, want.order)
	}
	i := 0
	m.Range(func(k, v int) bool {
		if k != want.order[i] || v != want.vals[k] {
			t.Fatalf("Range step %d = (%d,%d), want key %d", i, k, v, want.order[i])
		}
		i++
		return true
	})
	if i != len(want.order) {
		t.Fatalf("Range visited %d, want %d", i, len(want.order))
	}
	i = 0
	for k := range m.All() {
		if k != want.order[i] {
			t.Fatalf("All step %d = %d", i, k)
		}
		i++
		if i == 3 { // exercise early exit
			break
		}
	}
	if m.root == nil {
		if m.cnt > smallMax {
			t.Fatalf("flat map with %d entries", m.cnt)
		}
	} else {
		if m.cnt <= smallMax {
			t.Fatalf("trie map with only %d entries", m.cnt)
		}
		if dead := m.order.Len() - m.cnt; dead > m.cnt {
			t.Fatalf("%d tombstones for %d entries", dead, m.cnt)
		}
		checkTrie(t, m.root, 0, true)
	}
}

// checkTrie verifies CHAMP invariants: bitmaps match slice lengths, cached
// hashes sit in the right slots, and non-root nodes are never singletons.
func checkTrie(t testing.TB, n *hnode[int, int], shift uint, root bool) {
	t.Helper()
	if n.collision() {
		if len(n.data) < 2 || len(n.kids) != 0 {
			t.Fatalf("bad collision node: %d entries", len(n.data))
		}
		for _, e := range n.data {
			if e.hash != n.data[0].hash {
				t.Fatal("collision node with different hashes")
			}
		}
		return
	}
	if len(n.data) != countBits(n.datamap) || len(n.kids) != countBits(n.nodemap) || n.datamap&n.nodemap != 0 {
		t.Fatal("bitmap/slice mismatch")
	}
	if !root && n.singleton() {
		t.Fatal("non-canonical singleton node")
	}
	for i, e := range n.data {
		if bit := bitpos(e.hash, shift); n.datamap&bit == 0 || index(n.datamap, bit) != i {
			t.Fatal("entry in wrong slot")
		}
	}
	for _, k := range n.kids {
		checkTrie(t, k, shift+shiftBits, false)
	}
}

func countBits(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

var hashers = []struct {
	name string
	h    Hasher[int]
}{
	{"good", goodHasher{}},
	{"bad", badHasher{}},
	{"high", highHasher{}},
}

func TestMapTable(t *testing.T) {
	for _, hc := range hashers {
		t.Run(hc.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 7, 8, 9, 10, 31, 33, 100, 1000} {
				m := EmptyMap[int, int](hc.h)
				want := newModel()
				for i := range n {
					m = m.Assoc(i*5, i)
					want.assoc(i*5, i)
				}
				absent := []int{-1, 1, 2, 3, n * 5, n*5 + 1}
				checkMap(t, m, want, absent)
				// Replace values of existing keys: order unchanged.
				m2 := m
				want2 := want.clone()
				for i := 0; i < n; i += 2 {
					m2 = m2.Assoc(i*5, -i)
					want2.assoc(i*5, -i)
				}
				checkMap(t, m2, want2, absent)
				// Remove everything in a scattered order.
				m3, want3 := m2, want2.clone()
				for i := range n {
					k := (i * 7 % n) * 5
					m3 = m3.Dissoc(k)
					want3.dissoc(k)
					checkMap(t, m3, want3, absent)
				}
				if m3.Dissoc(12345) != m3 {
					t.Fatal("Dissoc of absent key allocated a new map")
				}
				checkMap(t, m, want, absent)
				checkMap(t, m2, want2, absent)
				if m.Hasher() != hc.h {
					t.Fatal("Hasher mismatch")
				}
			}
		})
	}
}

type mapVersion struct {
	m     *Map[int, int]
	model *mapModel
}

func TestMapModel(t *testing.T) {
	steps := 4000
	if testing.Short() {
		steps = 800
	}
	for _, hc := range hashers {
		for _, keyRange := range []int{12, 60, 400} {
			t.Run(fmt.Sprintf("%s/keys%d", hc.name, keyRange), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(keyRange), 9))
				pool := []mapVersion{{EmptyMap[int, int](hc.h), newModel()}}
				absent := []int{-1, -2, keyRange, keyRange + 1}
				for range steps {
					base := pool[len(pool)-1]
					if r.IntN(5) == 0 {
						base = pool[r.IntN(len(pool))]
					}
					m, model := base.m, base.model.clone()
					switch op := r.IntN(10); {
					case op < 5:
						k, v := r.IntN(keyRange), r.Int()
						m = m.Assoc(k, v)
						model.assoc(k, v)
					case op < 8:
						k := r.IntN(keyRange)
						m = m.Dissoc(k)
						model.dissoc(k)
					case op < 9:
						b := m.Builder()
						for range r.IntN(30) {
							k, v := r.IntN(keyRange), r.Int()
							b.Assoc(k, v)
							model.assoc(k, v)
							if got, ok := b.Get(k); !ok || got != v {
								t.Fatal("builder Get after Assoc")
							}
						}
						checkGets(t, b, model, absent)
						m = b.Persistent()
					default:
						// Bulk delete to exercise compaction.
						for _, k := range slices.Clone(model.order) {
							if r.IntN(3) > 0 {
								m = m.Dissoc(k)
								model.dissoc(k)
							}
						}
					}
					checkMap(t, m, model, absent)
					pool = append(pool, mapVersion{m, model})
					if len(pool) > 30 {
						pool = slices.Delete(pool, 0, 1)
					}
					old := pool[r.IntN(len(pool))]
					checkMap(t, old.m, old.model, absent)
				}
			})
		}
	}
}

func TestMapBuilderMatchesAssoc(t *testing.T) {
	for _, hc := range hashers {
		for _, n := range []int{0, 5, 8, 9, 300, 5000} {
			m := EmptyMap[int, int](hc.h)
			b := NewMapBuilder[int, int](hc.h)
			want := newModel()
			for i := range n {
				k := (i * 7919) % (n + 1)
				m = m.Assoc(k, i)
				b.Assoc(k, i)
				want.assoc(k, i)
			}
			if b.Len() != want.Len() {
				t.Fatalf("builder Len = %d", b.Len())
			}
			checkMap(t, m, want, []int{-1})
			checkMap(t, b.Persistent(), want, []int{-1})

			// Builder from m must leave m untouched.
			b2 := m.Builder()
			want2 := want.clone()
			for i := range n + 20 {
				b2.Assoc(i, -i)
				want2.assoc(i, -i)
			}
			m2 := b2.Persistent()
			checkMap(t, m, want, []int{-1})
			checkMap(t, m2, want2, []int{-1})
		}
	}
}

func (m *mapModel) Len() int { return len(m.order) }

func TestMapBuilderUseAfterPersistentPanics(t *testing.T) {
	b := NewMapBuilder[int, int](goodHasher{})
	b.Assoc(1, 1)
	b.Persistent()
	defer func() {
		if recover() == nil {
			t.Fatal("Assoc after Persistent did not panic")
		}
	}()
	b.Assoc(2, 2)
}

func TestSmallMapDoesNotHash(t *testing.T) {
	n := 0
	h := countingHasher{&n}
	m := EmptyMap[int, int](h)
	for i := range smallMax {
		m = m.Assoc(i, i)
	}
	m.Get(3)
	m.Dissoc(2)
	if n != 0 {
		t.Fatalf("small map called Hash %d times", n)
	}
	// Growing hashes each key once; later growth reuses cached hashes.
	for i := smallMax; i < 200; i++ {
		m = m.Assoc(i, i)
	}
	if n != 200 {
		t.Fatalf("Hash called %d times for 200 inserts", n)
	}
}

func TestMapKeepsFirstKey(t *testing.T) {
	// Keys equal under the hasher but distinguishable: the original stays.
	h := modHasher{}
	for _, n := range []int{3, 20} {
		m := EmptyMap[int, string](h)
		for i := range n {
			m = m.Assoc(i, "a")
		}
		m = m.Assoc(1000+1, "b") // equal to key 1
		if ks := m.Keys(); ks[1] != 1 {
			t.Fatalf("key replaced: %v", ks)
		}
		if v, _ := m.Get(1); v != "b" {
			t.Fatalf("value not replaced: %q", v)
		}
	}
}

// modHasher treats keys equal modulo 1000.
type modHasher struct{}

func (modHasher) Hash(k int) uint64   { return goodHasher{}.Hash(k % 1000) }
func (modHasher) Equal(a, b int) bool { return a%1000 == b%1000 }

func FuzzMapOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{1, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 128, 3, 128, 4})
	f.Add(slices.Repeat([]byte{2, 7, 19}, 30))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		h := hashers[int(data[0])%len(hashers)].h
		data = data[1:]
		vers := []mapVersion{{EmptyMap[int, int](h), newModel()}}
		cur := vers[0]
		absent := []int{-1, 300}
		for i := 0; i+1 < len(data); i += 2 {
			op, k := data[i], int(data[i+1])
			m, model := cur.m, cur.model.clone()
			switch op % 8 {
			case 0, 1, 2:
				m = m.Assoc(k, i)
				model.assoc(k, i)
			case 3, 4:
				m = m.Dissoc(k)
				model.dissoc(k)
			case 5:
				b := m.Builder()
				for j := range int(op>>3) + 1 {
					b.Assoc((k+j*37)%256, i)
					model.assoc((k+j*37)%256, i)
				}
				m = b.Persistent()
			case 6: // many assocs
				for j := range k {
					key := j * int(op) & 255
					m = m.Assoc(key, j)
					model.assoc(key, j)
				}
			case 7:
				cur = vers[k%len(vers)]
				continue
			}
			checkMap(t, m, model, absent)
			cur = mapVersion{m, model}
			vers = append(vers, cur)
		}
		for _, v := range vers {
			checkMap(t, v.m, v.model, absent)
		}
	})
}

func BenchmarkMapAssoc100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		m := EmptyMap[int, int](goodHasher{})
		for i := range 100_000 {
			m = m.Assoc(i, i)
		}
		if m.Len() != 100_000 {
			b.Fatal("bad length")
		}
	}
}

func BenchmarkMapBuilder100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mb := NewMapBuilder[int, int](goodHasher{})
		for i := range 100_000 {
			mb.Assoc(i, i)
		}
		mb.Persistent()
	}
}

func BenchmarkMapGet(b *testing.B) {
	const n = 100_000
	mb := NewMapBuilder[int, int](goodHasher{})
	for i := range n {
		mb.Assoc(i, i)
	}
	m := mb.Persistent()
	i, sum := 0, 0
	for b.Loop() {
		v, _ := m.Get(i)
		sum += v
		i += 7919
		if i >= n {
			i -= n
		}
	}
	_ = sum
}

func BenchmarkSmallMapGet(b *testing.B) {
	m := EmptyMap[int, int](goodHasher{})
	for i := range 4 {
		m = m.Assoc(i, i)
	}
	i, sum := 0, 0
	for b.Loop() {
		v, _ := m.Get(i & 3)
		sum += v
		i++
	}
	_ = sum
}

func BenchmarkMapRange(b *testing.B) {
	mb := NewMapBuilder[int, int](goodHasher{})
	for i := range 100_000 {
		mb.Assoc(i, i)
	}
	m := mb.Persistent()
	for b.Loop() {
		sum := 0
		m.Range(func(_, v int) bool {
			sum += v
			return true
		})
		_ = sum
	}
}

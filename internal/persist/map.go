package persist

import (
	"iter"
	"slices"
)

// Hasher supplies hashing and equality for map keys. Equal keys must have
// equal hashes.
type Hasher[K any] interface {
	Hash(k K) uint64
	Equal(a, b K) bool
}

// smallMax is the largest map kept as a flat array. Most interpreter maps
// are tiny, and a linear scan with Equal beats hashing for them.
const smallMax = 8

// entry is a key/value pair in a small map or in the insertion-order vector
// of a large one, where dead marks a removed entry (a tombstone).
type entry[K, V any] struct {
	key  K
	val  V
	dead bool
}

// Map is an immutable hash map that iterates in insertion order. Replacing
// the value of an existing key keeps its position; new keys go last.
//
// Maps with at most smallMax entries are a flat array searched with Equal
// only. Larger maps are a CHAMP-style hash array mapped trie from key to
// (value, insertion index), plus a Vector of entries in insertion order used
// for iteration. Dissoc leaves a tombstone in that vector, which is compacted
// once tombstones outnumber live entries.
type Map[K, V any] struct {
	h     Hasher[K]
	cnt   int
	small []entry[K, V] // used when root == nil; never mutated once published
	root  *hnode[K, V]
	order Vector[entry[K, V]] // embedded to save an allocation per update
}

// EmptyMap returns an empty map whose keys are hashed and compared by h.
func EmptyMap[K, V any](h Hasher[K]) *Map[K, V] {
	return &Map[K, V]{h: h}
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return m.cnt }

// Hasher returns the hasher the map was created with.
func (m *Map[K, V]) Hasher() Hasher[K] { return m.h }

// Get returns the value stored under k.
func (m *Map[K, V]) Get(k K) (v V, ok bool) {
	if m.root == nil {
		for i := range m.small {
			if m.h.Equal(m.small[i].key, k) {
				return m.small[i].val, true
			}
		}
		return v, false
	}
	if e := m.root.find(m.h, m.h.Hash(k), k); e != nil {
		return e.val, true
	}
	return v, false
}

// Assoc returns a map with k mapped to v. An existing key keeps its position
// (and its original key object); a new key is placed last.
func (m *Map[K, V]) Assoc(k K, v V) *Map[K, V] {
	if m.root == nil {
		for i := range m.small {
			if m.h.Equal(m.small[i].key, k) {
				s := slices.Clone(m.small)
				s[i].val = v
				return &Map[K, V]{h: m.h, cnt: m.cnt, small: s}
			}
		}
		if len(m.small) < smallMax {
			s := make([]entry[K, V], len(m.small)+1)
			copy(s, m.small)
			s[len(m.small)] = entry[K, V]{key: k, val: v}
			return &Map[K, V]{h: m.h, cnt: m.cnt + 1, small: s}
		}
		b := m.Builder()
		b.Assoc(k, v)
		return b.Persistent()
	}
	e := hentry[K, V]{hash: m.h.Hash(k), idx: m.order.Len(), key: k, val: v}
	root, old := m.root.put(m.h, 0, &e)
	if old != nil {
		order := m.order.assoc(old.idx, entry[K, V]{key: old.key, val: v})
		return &Map[K, V]{h: m.h, cnt: m.cnt, root: root, order: order}
	}
	order := m.order.conj(entry[K, V]{key: k, val: v})
	return &Map[K, V]{h: m.h, cnt: m.cnt + 1, root: root, order: order}
}

// Dissoc returns a map without k, or m itself when k is absent.
func (m *Map[K, V]) Dissoc(k K) *Map[K, V] {
	if m.root == nil {
		for i := range m.small {
			if m.h.Equal(m.small[i].key, k) {
				if m.cnt == 1 {
					return &Map[K, V]{h: m.h}
				}
				s := make([]entry[K, V], 0, len(m.small)-1)
				s = append(s, m.small[:i]...)
				s = append(s, m.small[i+1:]...)
				return &Map[K, V]{h: m.h, cnt: m.cnt - 1, small: s}
			}
		}
		return m
	}
	root, idx, ok := m.root.without(m.h, 0, m.h.Hash(k), k)
	if !ok {
		return m
	}
	cnt := m.cnt - 1
	if cnt <= smallMax {
		// Back to the flat representation, so that small maps are always
		// flat no matter how they were made.
		s := make([]entry[K, V], 0, cnt)
		m.order.chunks(func(base int, es []entry[K, V]) bool {
			for j := range es {
				if !es[j].dead && base+j != idx {
					s = append(s, es[j])
				}
			}
			return true
		})
		return &Map[K, V]{h: m.h, cnt: cnt, small: s}
	}
	var order Vector[entry[K, V]]
	if idx == m.order.Len()-1 {
		order = m.order.pop()
	} else {
		order = m.order.assoc(idx, entry[K, V]{dead: true})
	}
	nm := &Map[K, V]{h: m.h, cnt: cnt, root: root, order: order}
	if order.Len()-cnt > cnt {
		nm.compact()
	}
	return nm
}

// compact drops the tombstones from m.order, renumbering the insertion
// indexes stored in the trie. The trie's shape is unchanged, so no keys need
// to be rehashed or compared. m must not have been published yet.
func (m *Map[K, V]) compact() {
	remap := make([]int, m.order.Len())
	b := NewVectorBuilder[entry[K, V]]()
	m.order.chunks(func(base int, es []entry[K, V]) bool {
		for j := range es {
			if !es[j].dead {
				remap[base+j] = b.Len()
				b.Append(es[j])
			}
		}
		return true
	})
	m.order = b.persistent()
	m.root = m.root.reindex(remap)
}

// Range calls f for each entry in insertion order until f returns false.
func (m *Map[K, V]) Range(f func(k K, v V) bool) {
	if m.root == nil {
		for i := range m.small {
			if !f(m.small[i].key, m.small[i].val) {
				return
			}
		}
		return
	}
	m.order.chunks(func(_ int, es []entry[K, V]) bool {
		for j := range es {
			if !es[j].dead && !f(es[j].key, es[j].val) {
				return false
			}
		}
		return true
	})
}

// All returns an iterator over the entries in insertion order.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) { m.Range(yield) }
}

// Keys returns the keys in insertion order.
func (m *Map[K, V]) Keys() []K {
	ks := make([]K, 0, m.cnt)
	m.Range(func(k K, _ V) bool {
		ks = append(ks, k)
		return true
	})
	return ks
}

// MapBuilder constructs a map by updating it in place. It must not be used
// after Persistent, and is not safe for concurrent use.
type MapBuilder[K, V any] struct {
	h     Hasher[K]
	edit  *owner // nil once Persistent has been called
	cnt   int
	small []entry[K, V] // owned by the builder; used when root == nil
	root  *hnode[K, V]
	order *VectorBuilder[entry[K, V]]
}

// NewMapBuilder returns a builder for a map starting out empty.
func NewMapBuilder[K, V any](h Hasher[K]) *MapBuilder[K, V] {
	return &MapBuilder[K, V]{h: h, edit: new(owner)}
}

// Builder returns a builder that starts with m's entries. m itself is never
// modified.
func (m *Map[K, V]) Builder() *MapBuilder[K, V] {
	b := &MapBuilder[K, V]{h: m.h, edit: new(owner), cnt: m.cnt}
	if m.root == nil {
		b.small = make([]entry[K, V], len(m.small), smallMax)
		copy(b.small, m.small)
	} else {
		b.root = m.root
		b.order = m.order.Builder()
	}
	return b
}

func (b *MapBuilder[K, V]) check() {
	if b.edit == nil {
		panic("persist: MapBuilder used after Persistent")
	}
}

// Len returns the number of entries.
func (b *MapBuilder[K, V]) Len() int { return b.cnt }

// Get returns the value stored under k.
func (b *MapBuilder[K, V]) Get(k K) (v V, ok bool) {
	b.check()
	if b.root == nil {
		for i := range b.small {
			if b.h.Equal(b.small[i].key, k) {
				return b.small[i].val, true
			}
		}
		return v, false
	}
	if e := b.root.find(b.h, b.h.Hash(k), k); e != nil {
		return e.val, true
	}
	return v, false
}

// Assoc maps k to v, with the same ordering rules as Map.Assoc.
func (b *MapBuilder[K, V]) Assoc(k K, v V) {
	b.check()
	if b.root == nil {
		for i := range b.small {
			if b.h.Equal(b.small[i].key, k) {
				b.small[i].val = v
				return
			}
		}
		if len(b.small) < smallMax {
			b.small = append(b.small, entry[K, V]{key: k, val: v})
			b.cnt++
			return
		}
		b.toTrie()
	}
	e := hentry[K, V]{hash: b.h.Hash(k), idx: b.order.Len(), key: k, val: v}
	var old *hentry[K, V]
	b.root, old = b.root.putT(b.edit, b.h, 0, &e)
	if old != nil {
		b.order.set(old.idx, entry[K, V]{key: old.key, val: v})
		return
	}
	b.order.Append(entry[K, V]{key: k, val: v})
	b.cnt++
}

// toTrie switches from the flat to the hashed representation.
func (b *MapBuilder[K, V]) toTrie() {
	b.root = &hnode[K, V]{edit: b.edit}
	b.order = NewVectorBuilder[entry[K, V]]()
	for i, se := range b.small {
		e := hentry[K, V]{hash: b.h.Hash(se.key), idx: i, key: se.key, val: se.val}
		b.root, _ = b.root.putT(b.edit, b.h, 0, &e)
	}
	b.order.AppendSlice(b.small...)
	b.small = nil
}

// Persistent returns the built map. The builder must not be used afterwards.
func (b *MapBuilder[K, V]) Persistent() *Map[K, V] {
	b.check()
	m := &Map[K, V]{h: b.h, cnt: b.cnt}
	if b.root == nil {
		m.small = b.small
	} else {
		m.root = b.root
		m.order = b.order.persistent()
	}
	*b = MapBuilder[K, V]{}
	return m
}

package persist

import (
	"math/bits"
	"slices"
)

// hentry is a trie entry. The hash is cached so that splitting a slot never
// needs to rehash, and idx is the entry's position in the order vector.
type hentry[K, V any] struct {
	hash uint64
	idx  int
	key  K
	val  V
}

// hnode is a CHAMP trie node: entries stored inline (datamap) are kept apart
// from sub-nodes (nodemap), each slice indexed by popcount of its bitmap.
//
// A collision node has both bitmaps zero and holds two or more entries
// whose full 64-bit hashes are equal; it can sit at any level. (The empty
// root has zero bitmaps too, but no entries.)
//
// Allocation matters most here, since a persistent update copies one node
// per level. So a node's kids array is allocated together with the node
// (newKidsNode), as is the data array of a node without kids (newDataNode).
// Only a node having both keeps its data in a separate allocation, which an
// update that descends into a sub-node (the common case on upper levels)
// shares instead of copying. An array embedded in another node's allocation
// is never shared, as that would keep the whole stale node alive.
// Builder-owned nodes (edit != nil) are mutated in place and use separately
// allocated arrays throughout.
type hnode[K, V any] struct {
	edit    *owner
	datamap uint32
	nodemap uint32
	data    []hentry[K, V]
	kids    []*hnode[K, V]
}

func bitpos(hash uint64, shift uint) uint32 {
	return 1 << ((hash >> shift) & mask)
}

func index(bitmap, bit uint32) int {
	return bits.OnesCount32(bitmap & (bit - 1))
}

func (n *hnode[K, V]) collision() bool {
	return n.datamap|n.nodemap == 0 && len(n.data) > 0
}

// dataShareable reports whether n.data is a separate allocation that a new
// node may share.
func (n *hnode[K, V]) dataShareable() bool {
	return len(n.data) > 0 && len(n.kids) > 0
}

// singleton reports whether n holds exactly one entry and no sub-nodes; such
// a node is inlined into its parent to keep the trie canonical.
func (n *hnode[K, V]) singleton() bool {
	return len(n.kids) == 0 && len(n.data) == 1
}

// newNode returns a persistent node with fresh arrays of the given lengths,
// for the caller to fill.
func newNode[K, V any](datamap, nodemap uint32, nd, nk int) *hnode[K, V] {
	var r *hnode[K, V]
	switch {
	case nk > 0:
		r = newKidsNode[K, V](nk)
		if nd > 0 {
			r.data = make([]hentry[K, V], nd)
		}
	case nd > 0:
		r = newDataNode[K, V](nd)
	default:
		r = &hnode[K, V]{}
	}
	r.datamap, r.nodemap = datamap, nodemap
	return r
}

// withData returns a persistent copy of n with the given bitmaps and a fresh
// data array of length nd for the caller to fill.
func (n *hnode[K, V]) withData(datamap, nodemap uint32, nd int) *hnode[K, V] {
	r := newNode[K, V](datamap, nodemap, nd, len(n.kids))
	copy(r.kids, n.kids)
	return r
}

// withKids returns a persistent copy of n with the given bitmaps and a fresh
// kids array of length nk for the caller to fill.
func (n *hnode[K, V]) withKids(datamap, nodemap uint32, nk int) *hnode[K, V] {
	if nk > 0 && n.dataShareable() {
		r := newKidsNode[K, V](nk)
		r.datamap, r.nodemap = datamap, nodemap
		r.data = n.data
		return r
	}
	r := newNode[K, V](datamap, nodemap, len(n.data), nk)
	copy(r.data, n.data)
	return r
}

func (n *hnode[K, V]) find(h Hasher[K], hash uint64, k K) *hentry[K, V] {
	for shift := uint(0); ; shift += shiftBits {
		bit := bitpos(hash, shift)
		if n.datamap&bit != 0 {
			e := &n.data[index(n.datamap, bit)]
			if e.hash == hash && h.Equal(e.key, k) {
				return e
			}
			return nil
		}
		if n.nodemap&bit != 0 {
			n = n.kids[index(n.nodemap, bit)]
			continue
		}
		if n.collision() {
			for i := range n.data {
				if n.data[i].hash == hash && h.Equal(n.data[i].key, k) {
					return &n.data[i]
				}
			}
		}
		return nil
	}
}

// put returns a copy of n (at level shift) with e added, or with the value
// of the entry with an equal key replaced. In the latter case it also
// returns a pointer to the updated entry, which keeps its original key and
// insertion index.
func (n *hnode[K, V]) put(h Hasher[K], shift uint, e *hentry[K, V]) (*hnode[K, V], *hentry[K, V]) {
	if n.collision() {
		if e.hash != n.data[0].hash {
			// Push the collision node one level down under a bitmap node.
			w := newKidsNode[K, V](1)
			w.nodemap = bitpos(n.data[0].hash, shift)
			w.kids[0] = n
			return w.put(h, shift, e)
		}
		for i := range n.data {
			if h.Equal(n.data[i].key, e.key) {
				r := newDataNode[K, V](len(n.data))
				copy(r.data, n.data)
				r.data[i].val = e.val
				return r, &r.data[i]
			}
		}
		r := newDataNode[K, V](len(n.data) + 1)
		copy(r.data, n.data)
		r.data[len(n.data)] = *e
		return r, nil
	}
	bit := bitpos(e.hash, shift)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		cur := &n.data[i]
		if cur.hash == e.hash && h.Equal(cur.key, e.key) {
			r := n.withData(n.datamap, n.nodemap, len(n.data))
			copy(r.data, n.data)
			r.data[i].val = e.val
			return r, &r.data[i]
		}
		sub := newPair(nil, shift+shiftBits, *cur, *e)
		r := newNode[K, V](n.datamap^bit, n.nodemap|bit, len(n.data)-1, len(n.kids)+1)
		copy(r.data, n.data[:i])
		copy(r.data[i:], n.data[i+1:])
		j := index(r.nodemap, bit)
		copy(r.kids, n.kids[:j])
		r.kids[j] = sub
		copy(r.kids[j+1:], n.kids[j:])
		return r, nil
	case n.nodemap&bit != 0:
		j := index(n.nodemap, bit)
		sub, old := n.kids[j].put(h, shift+shiftBits, e)
		r := n.withKids(n.datamap, n.nodemap, len(n.kids))
		copy(r.kids, n.kids)
		r.kids[j] = sub
		return r, old
	default:
		r := n.withData(n.datamap|bit, n.nodemap, len(n.data)+1)
		i := index(r.datamap, bit)
		copy(r.data, n.data[:i])
		r.data[i] = *e
		copy(r.data[i+1:], n.data[i:])
		return r, nil
	}
}

// putT is the builder version of put: nodes owned by edit are updated in
// place, others are copied (with separate arrays) and the copy is owned.
func (n *hnode[K, V]) putT(edit *owner, h Hasher[K], shift uint, e *hentry[K, V]) (*hnode[K, V], *hentry[K, V]) {
	if n.collision() && e.hash != n.data[0].hash {
		w := &hnode[K, V]{edit: edit, nodemap: bitpos(n.data[0].hash, shift), kids: []*hnode[K, V]{n}}
		return w.putT(edit, h, shift, e)
	}
	r := n
	if n.edit != edit {
		r = &hnode[K, V]{edit: edit, datamap: n.datamap, nodemap: n.nodemap, data: slices.Clone(n.data), kids: slices.Clone(n.kids)}
	}
	if r.collision() {
		for i := range r.data {
			if h.Equal(r.data[i].key, e.key) {
				r.data[i].val = e.val
				return r, &r.data[i]
			}
		}
		r.data = append(r.data, *e)
		return r, nil
	}
	bit := bitpos(e.hash, shift)
	switch {
	case r.datamap&bit != 0:
		i := index(r.datamap, bit)
		cur := &r.data[i]
		if cur.hash == e.hash && h.Equal(cur.key, e.key) {
			cur.val = e.val
			return r, cur
		}
		sub := newPair(edit, shift+shiftBits, *cur, *e)
		r.datamap ^= bit
		r.nodemap |= bit
		r.data = slices.Delete(r.data, i, i+1)
		r.kids = slices.Insert(r.kids, index(r.nodemap, bit), sub)
		return r, nil
	case r.nodemap&bit != 0:
		j := index(r.nodemap, bit)
		sub, old := r.kids[j].putT(edit, h, shift+shiftBits, e)
		r.kids[j] = sub
		return r, old
	default:
		r.datamap |= bit
		r.data = slices.Insert(r.data, index(r.datamap, bit), *e)
		return r, nil
	}
}

// newPair returns a node at level shift holding the two entries, which have
// different keys. A nil edit makes persistent nodes.
func newPair[K, V any](edit *owner, shift uint, a, b hentry[K, V]) *hnode[K, V] {
	if a.hash == b.hash {
		if edit == nil {
			r := newDataNode[K, V](2)
			r.data[0], r.data[1] = a, b
			return r
		}
		return &hnode[K, V]{edit: edit, data: []hentry[K, V]{a, b}}
	}
	ba, bb := bitpos(a.hash, shift), bitpos(b.hash, shift)
	if ba == bb {
		// The hashes differ somewhere, so this recursion ends by shift 60.
		sub := newPair(edit, shift+shiftBits, a, b)
		if edit == nil {
			r := newKidsNode[K, V](1)
			r.nodemap = ba
			r.kids[0] = sub
			return r
		}
		return &hnode[K, V]{edit: edit, nodemap: ba, kids: []*hnode[K, V]{sub}}
	}
	if ba > bb {
		a, b = b, a
	}
	if edit == nil {
		r := newDataNode[K, V](2)
		r.datamap = ba | bb
		r.data[0], r.data[1] = a, b
		return r
	}
	return &hnode[K, V]{edit: edit, datamap: ba | bb, data: []hentry[K, V]{a, b}}
}

// without returns a copy of n (at level shift) with k removed: nil if it
// became empty, along with the removed entry's insertion index and whether
// k was found at all.
func (n *hnode[K, V]) without(h Hasher[K], shift uint, hash uint64, k K) (*hnode[K, V], int, bool) {
	if n.collision() {
		for i := range n.data {
			if n.data[i].hash == hash && h.Equal(n.data[i].key, k) {
				// A single survivor is inlined by the parent.
				r := newDataNode[K, V](len(n.data) - 1)
				copy(r.data, n.data[:i])
				copy(r.data[i:], n.data[i+1:])
				return r, n.data[i].idx, true
			}
		}
		return n, 0, false
	}
	bit := bitpos(hash, shift)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		e := &n.data[i]
		if e.hash != hash || !h.Equal(e.key, k) {
			return n, 0, false
		}
		if n.datamap == bit && n.nodemap == 0 {
			return nil, e.idx, true
		}
		r := n.withData(n.datamap^bit, n.nodemap, len(n.data)-1)
		copy(r.data, n.data[:i])
		copy(r.data[i:], n.data[i+1:])
		return r, e.idx, true
	case n.nodemap&bit != 0:
		j := index(n.nodemap, bit)
		sub, idx, ok := n.kids[j].without(h, shift+shiftBits, hash, k)
		if !ok {
			return n, 0, false
		}
		switch {
		case sub == nil: // only possible below a non-canonical node; handled for safety
			if n.datamap == 0 && n.nodemap == bit {
				return nil, idx, true
			}
			r := n.withKids(n.datamap, n.nodemap^bit, len(n.kids)-1)
			copy(r.kids, n.kids[:j])
			copy(r.kids[j:], n.kids[j+1:])
			return r, idx, true
		case sub.singleton():
			// Move the remaining entry up into this node.
			r := newNode[K, V](n.datamap|bit, n.nodemap^bit, len(n.data)+1, len(n.kids)-1)
			i := index(r.datamap, bit)
			copy(r.data, n.data[:i])
			r.data[i] = sub.data[0]
			copy(r.data[i+1:], n.data[i:])
			copy(r.kids, n.kids[:j])
			copy(r.kids[j:], n.kids[j+1:])
			return r, idx, true
		default:
			r := n.withKids(n.datamap, n.nodemap, len(n.kids))
			copy(r.kids, n.kids)
			r.kids[j] = sub
			return r, idx, true
		}
	}
	return n, 0, false
}

// reindex returns a persistent copy of the trie below n with every entry's
// insertion index mapped through remap.
func (n *hnode[K, V]) reindex(remap []int) *hnode[K, V] {
	r := newNode[K, V](n.datamap, n.nodemap, len(n.data), len(n.kids))
	for i, e := range n.data {
		e.idx = remap[e.idx]
		r.data[i] = e
	}
	for i, k := range n.kids {
		r.kids[i] = k.reindex(remap)
	}
	return r
}

// newKidsNode returns a node with n (<= 32) sub-node slots and no entries,
// allocated together with its kids array.
func newKidsNode[K, V any](n int) *hnode[K, V] {
	switch {
	case n <= 2:
		x := new(struct {
			n hnode[K, V]
			a [2]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	case n <= 4:
		x := new(struct {
			n hnode[K, V]
			a [4]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	case n <= 8:
		x := new(struct {
			n hnode[K, V]
			a [8]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	case n <= 12:
		x := new(struct {
			n hnode[K, V]
			a [12]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	case n <= 16:
		x := new(struct {
			n hnode[K, V]
			a [16]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	case n <= 24:
		x := new(struct {
			n hnode[K, V]
			a [24]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	default:
		x := new(struct {
			n hnode[K, V]
			a [32]*hnode[K, V]
		})
		x.n.kids = x.a[:n]
		return &x.n
	}
}

// newDataNode returns a node with n >= 1 entry slots and no sub-nodes,
// allocated together with its data array.
func newDataNode[K, V any](n int) *hnode[K, V] {
	switch {
	case n > width: // only collision nodes get this big
		return &hnode[K, V]{data: make([]hentry[K, V], n)}
	case n <= 1:
		x := new(struct {
			n hnode[K, V]
			a [1]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 2:
		x := new(struct {
			n hnode[K, V]
			a [2]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 3:
		x := new(struct {
			n hnode[K, V]
			a [3]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 4:
		x := new(struct {
			n hnode[K, V]
			a [4]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 6:
		x := new(struct {
			n hnode[K, V]
			a [6]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 8:
		x := new(struct {
			n hnode[K, V]
			a [8]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 12:
		x := new(struct {
			n hnode[K, V]
			a [12]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 16:
		x := new(struct {
			n hnode[K, V]
			a [16]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	case n <= 24:
		x := new(struct {
			n hnode[K, V]
			a [24]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	default:
		x := new(struct {
			n hnode[K, V]
			a [32]hentry[K, V]
		})
		x.n.data = x.a[:n]
		return &x.n
	}
}

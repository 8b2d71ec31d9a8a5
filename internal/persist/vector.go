// Package persist implements immutable persistent collections (a 32-way
// vector trie and an insertion-ordered hash map) used by rtfs/value.
//
// All collections are immutable once published: every "modifying" operation
// returns a new value that shares most of its structure with the old one, and
// any version may be read and extended concurrently from several goroutines.
// Builders are the exception: they are single-goroutine, mutable, and become
// unusable after Persistent.
package persist

import (
	"fmt"
	"iter"
	"sync/atomic"
)

const (
	shiftBits = 5
	width     = 1 << shiftBits
	mask      = width - 1
)

// owner identifies the builder that may mutate a node in place (the
// "transient" technique from Clojure). Nodes created by persistent operations
// have a nil owner and are never mutated. It has non-zero size so that every
// new(owner) yields a distinct pointer.
type owner struct{ _ byte }

// chunk holds 32 elements: it is either a leaf of the trie or a vector's tail.
//
// used lets successive Conj calls share one tail buffer instead of copying it
// each time: slots [0, used) have been claimed by some vector version and are
// never written again. A Conj whose tail length equals used claims the next
// slot with a CAS and writes it; every other version only reads slots below
// its own length, so it can never observe the write. A failed CAS (the slot is
// already taken by a sibling version) falls back to copying. Leaves always
// have used == width so they are never appended to.
type chunk[T any] struct {
	used atomic.Int32
	edit *owner
	vals [width]T
}

// node is an interior trie node. Nodes whose children are leaves (the bottom
// level, shift == shiftBits) use leaves; all others use kids. The arrays are
// allocated together with the node (see newBranch/newBottom).
type node[T any] struct {
	edit   *owner
	kids   *[width]*node[T]
	leaves *[width]*chunk[T]
}

type branchAlloc[T any] struct {
	n node[T]
	a [width]*node[T]
}

type bottomAlloc[T any] struct {
	n node[T]
	a [width]*chunk[T]
}

func newBranch[T any](edit *owner) *node[T] {
	b := &branchAlloc[T]{}
	b.n.edit = edit
	b.n.kids = &b.a
	return &b.n
}

func newBottom[T any](edit *owner) *node[T] {
	b := &bottomAlloc[T]{}
	b.n.edit = edit
	b.n.leaves = &b.a
	return &b.n
}

func cloneNode[T any](n *node[T], edit *owner) *node[T] {
	if n.kids != nil {
		r := newBranch[T](edit)
		*r.kids = *n.kids
		return r
	}
	r := newBottom[T](edit)
	*r.leaves = *n.leaves
	return r
}

// editable returns n itself when the builder identified by edit owns it, or
// an owned copy otherwise. A nil edit (persistent operation) always copies.
func editable[T any](n *node[T], edit *owner) *node[T] {
	if edit != nil && n.edit == edit {
		return n
	}
	return cloneNode(n, edit)
}

func newChunk[T any](edit *owner) *chunk[T] {
	return &chunk[T]{edit: edit}
}

// cloneLeaf copies a full leaf chunk.
func cloneLeaf[T any](c *chunk[T], edit *owner) *chunk[T] {
	r := newChunk[T](edit)
	r.vals = c.vals
	r.used.Store(width)
	return r
}

// newPath builds a chain of nodes from level down to the bottom ending in c.
func newPath[T any](edit *owner, level uint, c *chunk[T]) *node[T] {
	if level == shiftBits {
		r := newBottom[T](edit)
		r.leaves[0] = c
		return r
	}
	r := newBranch[T](edit)
	r.kids[0] = newPath(edit, level-shiftBits, c)
	return r
}

// pushTail inserts the full chunk c as the leaf for elements
// [cnt-width, cnt) below parent, which sits at level.
func pushTail[T any](edit *owner, cnt int, level uint, parent *node[T], c *chunk[T]) *node[T] {
	r := editable(parent, edit)
	sub := ((cnt - 1) >> level) & mask
	if level == shiftBits {
		r.leaves[sub] = c
	} else if child := parent.kids[sub]; child != nil {
		r.kids[sub] = pushTail(edit, cnt, level-shiftBits, child, c)
	} else {
		r.kids[sub] = newPath(edit, level-shiftBits, c)
	}
	return r
}

// grow adds the full chunk c (holding elements [cnt-width, cnt)) to the trie
// rooted at root and returns the new root and shift.
func grow[T any](edit *owner, cnt int, root *node[T], shift uint, c *chunk[T]) (*node[T], uint) {
	switch {
	case root == nil:
		return newPath(edit, shiftBits, c), shiftBits
	case cnt>>shiftBits > 1<<shift: // root is full: add a level
		r := newBranch[T](edit)
		r.kids[0] = root
		r.kids[1] = newPath(edit, shift, c)
		return r, shift + shiftBits
	default:
		return pushTail(edit, cnt, shift, root, c), shift
	}
}

// tailOff is the index of the first element stored in the tail. The tail is
// never empty for a non-empty vector.
func tailOff(cnt int) int {
	if cnt < width {
		return 0
	}
	return (cnt - 1) &^ mask
}

// Vector is an immutable sequence with O(log32 n) indexed access and
// amortised O(1) append, modelled on Clojure's PersistentVector: a 32-way trie
// of full leaves plus a separate tail chunk holding the last 1..32 elements.
//
// Use it through a pointer obtained from EmptyVector, VectorOf, a builder, or
// another vector's methods. (The zero Vector also happens to be a valid empty
// vector.)
type Vector[T any] struct {
	cnt   int
	shift uint     // level of root; only meaningful when root != nil
	root  *node[T] // nil while all elements fit in the tail
	tail  *chunk[T]
}

// EmptyVector returns an empty vector.
func EmptyVector[T any]() *Vector[T] {
	return &Vector[T]{}
}

// VectorOf returns a vector holding a copy of xs.
func VectorOf[T any](xs ...T) *Vector[T] {
	b := NewVectorBuilder[T]()
	b.AppendSlice(xs...)
	return b.Persistent()
}

// Len returns the number of elements.
func (v *Vector[T]) Len() int { return v.cnt }

// leafFor returns the trie leaf holding element i; i must be below tailOff.
func (v *Vector[T]) leafFor(i int) *chunk[T] {
	n := v.root
	for s := v.shift; s > shiftBits; s -= shiftBits {
		n = n.kids[(i>>s)&mask]
	}
	return n.leaves[(i>>shiftBits)&mask]
}

// chunkAt returns the valid elements of the chunk containing i, starting at
// index i&^mask.
func (v *Vector[T]) chunkAt(i int) []T {
	off := tailOff(v.cnt)
	if i >= off {
		return v.tail.vals[:v.cnt-off]
	}
	return v.leafFor(i).vals[:]
}

// Nth returns element i. Like slice indexing it panics when i is out of
// range; use Get for a checked lookup.
func (v *Vector[T]) Nth(i int) T {
	if uint(i) >= uint(v.cnt) {
		panic(fmt.Sprintf("persist: index %d out of range [0:%d]", i, v.cnt))
	}
	if off := tailOff(v.cnt); i >= off {
		return v.tail.vals[(i-off)&mask]
	}
	return v.leafFor(i).vals[i&mask]
}

// Get returns element i, or ok == false when i is out of range.
func (v *Vector[T]) Get(i int) (x T, ok bool) {
	if uint(i) >= uint(v.cnt) {
		return x, false
	}
	if off := tailOff(v.cnt); i >= off {
		return v.tail.vals[(i-off)&mask], true
	}
	return v.leafFor(i).vals[i&mask], true
}

// Conj returns a vector with x appended. Amortised O(1): usually it only
// claims the next slot of the shared tail (see chunk).
func (v *Vector[T]) Conj(x T) *Vector[T] {
	r := v.conj(x)
	return &r
}

// conj, assoc and pop return vectors by value so that a containing struct
// (Map) can embed the result without a separate allocation.
func (v *Vector[T]) conj(x T) Vector[T] {
	off := tailOff(v.cnt)
	if tl := v.cnt - off; tl < width {
		t := v.tail
		if t != nil && t.used.CompareAndSwap(int32(tl), int32(tl+1)) {
			t.vals[tl] = x
		} else {
			nt := newChunk[T](nil)
			if t != nil {
				copy(nt.vals[:tl], t.vals[:tl])
			}
			nt.vals[tl] = x
			nt.used.Store(int32(tl + 1))
			t = nt
		}
		return Vector[T]{cnt: v.cnt + 1, shift: v.shift, root: v.root, tail: t}
	}
	// The tail is full and, being full, immutable: it becomes a leaf as is.
	root, shift := grow(nil, v.cnt, v.root, v.shift, v.tail)
	nt := newChunk[T](nil)
	nt.vals[0] = x
	nt.used.Store(1)
	return Vector[T]{cnt: v.cnt + 1, shift: shift, root: root, tail: nt}
}

// Assoc returns a vector with element i replaced by x; i == Len() appends.
// It panics unless 0 <= i <= Len(); callers are expected to check.
func (v *Vector[T]) Assoc(i int, x T) *Vector[T] {
	r := v.assoc(i, x)
	return &r
}

func (v *Vector[T]) assoc(i int, x T) Vector[T] {
	if i == v.cnt {
		return v.conj(x)
	}
	if uint(i) > uint(v.cnt) {
		panic(fmt.Sprintf("persist: Assoc index %d out of range [0:%d]", i, v.cnt))
	}
	off := tailOff(v.cnt)
	if i >= off {
		tl := v.cnt - off
		nt := newChunk[T](nil)
		copy(nt.vals[:tl], v.tail.vals[:tl])
		nt.vals[(i-off)&mask] = x
		nt.used.Store(int32(tl))
		return Vector[T]{cnt: v.cnt, shift: v.shift, root: v.root, tail: nt}
	}
	return Vector[T]{cnt: v.cnt, shift: v.shift, root: assocNode(v.shift, v.root, i, x), tail: v.tail}
}

func assocNode[T any](level uint, n *node[T], i int, x T) *node[T] {
	r := cloneNode(n, nil)
	sub := (i >> level) & mask
	if level == shiftBits {
		c := cloneLeaf(n.leaves[sub], nil)
		c.vals[i&mask] = x
		r.leaves[sub] = c
	} else {
		r.kids[sub] = assocNode(level-shiftBits, n.kids[sub], i, x)
	}
	return r
}

// Pop returns the vector without its last element; Pop of an empty vector
// returns an empty vector. The result usually shares the tail chunk, so the
// dropped element stays reachable until that chunk is released (at most 31
// such elements per vector).
func (v *Vector[T]) Pop() *Vector[T] {
	if v.cnt == 0 {
		return v
	}
	r := v.pop()
	return &r
}

// pop is Pop for a non-empty vector.
func (v *Vector[T]) pop() Vector[T] {
	if v.cnt == 1 {
		return Vector[T]{}
	}
	off := tailOff(v.cnt)
	if v.cnt-off > 1 {
		// Sharing the tail is safe: its used count is beyond the new length,
		// so a later Conj on the result copies rather than overwriting.
		return Vector[T]{cnt: v.cnt - 1, shift: v.shift, root: v.root, tail: v.tail}
	}
	// The last leaf becomes the tail (it is full, hence never appended to).
	nt := v.leafFor(v.cnt - 2)
	root := popTail(v.cnt, v.shift, v.root)
	shift := v.shift
	if root != nil && shift > shiftBits && root.kids[1] == nil {
		root = root.kids[0]
		shift -= shiftBits
	}
	return Vector[T]{cnt: v.cnt - 1, shift: shift, root: root, tail: nt}
}

// popTail removes the last leaf (holding element cnt-2) below n at level. It
// returns nil when n becomes empty.
func popTail[T any](cnt int, level uint, n *node[T]) *node[T] {
	sub := ((cnt - 2) >> level) & mask
	if level > shiftBits {
		child := popTail(cnt, level-shiftBits, n.kids[sub])
		if child == nil && sub == 0 {
			return nil
		}
		r := cloneNode(n, nil)
		r.kids[sub] = child
		return r
	}
	if sub == 0 {
		return nil
	}
	r := cloneNode(n, nil)
	r.leaves[sub] = nil
	return r
}

// Slice returns a fresh copy of elements [from, to). Like slice expressions
// it panics unless 0 <= from <= to <= Len().
func (v *Vector[T]) Slice(from, to int) []T {
	if from < 0 || to < from || to > v.cnt {
		panic(fmt.Sprintf("persist: slice bounds [%d:%d] out of range [0:%d]", from, to, v.cnt))
	}
	out := make([]T, to-from)
	for i := from; i < to; {
		c := v.chunkAt(i)
		base := i &^ mask
		n := copy(out[i-from:], c[i-base:min(len(c), to-base)])
		i += n
	}
	return out
}

// AppendTo appends all elements in order to dst and returns the result.
func (v *Vector[T]) AppendTo(dst []T) []T {
	if v.cnt == 0 {
		return dst
	}
	if free := cap(dst) - len(dst); free < v.cnt {
		nd := make([]T, len(dst), len(dst)+v.cnt)
		copy(nd, dst)
		dst = nd
	}
	for base := 0; base < v.cnt; base += width {
		dst = append(dst, v.chunkAt(base)...)
	}
	return dst
}

// chunks calls f with the elements of each chunk in order until f returns
// false. It reports whether iteration ran to completion.
func (v *Vector[T]) chunks(f func(base int, xs []T) bool) bool {
	off := tailOff(v.cnt)
	for base := 0; base < off; base += width {
		if !f(base, v.leafFor(base).vals[:]) {
			return false
		}
	}
	if v.cnt > 0 {
		return f(off, v.tail.vals[:v.cnt-off])
	}
	return true
}

// Range calls f for each element in order until f returns false.
func (v *Vector[T]) Range(f func(i int, x T) bool) {
	off := tailOff(v.cnt)
	for base := 0; base < off; base += width {
		leaf := &v.leafFor(base).vals
		for j := range leaf {
			if !f(base+j, leaf[j]) {
				return
			}
		}
	}
	if v.cnt > 0 {
		tail := v.tail.vals[:v.cnt-off]
		for j := range tail {
			if !f(off+j, tail[j]) {
				return
			}
		}
	}
}

// All returns an iterator over (index, element) pairs in order.
func (v *Vector[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) { v.Range(yield) }
}

// VectorBuilder constructs a vector by appending in place, without the path
// copying of repeated Conj. It must not be used after Persistent, and is not
// safe for concurrent use.
type VectorBuilder[T any] struct {
	edit  *owner // nil once Persistent has been called
	cnt   int
	shift uint
	root  *node[T]
	tail  *chunk[T] // owned by the builder; nil while empty
}

// NewVectorBuilder returns a builder for a vector starting out empty.
func NewVectorBuilder[T any]() *VectorBuilder[T] {
	return &VectorBuilder[T]{edit: new(owner)}
}

// Builder returns a builder that starts with v's elements. v itself is never
// modified: nodes shared with v are copied before the builder writes to them.
func (v *Vector[T]) Builder() *VectorBuilder[T] {
	b := &VectorBuilder[T]{edit: new(owner), cnt: v.cnt, shift: v.shift, root: v.root}
	if v.cnt > 0 {
		tl := v.cnt - tailOff(v.cnt)
		b.tail = newChunk[T](b.edit)
		copy(b.tail.vals[:tl], v.tail.vals[:tl])
	}
	return b
}

func (b *VectorBuilder[T]) check() {
	if b.edit == nil {
		panic("persist: VectorBuilder used after Persistent")
	}
}

// Len returns the number of elements appended so far (including any the
// builder started with).
func (b *VectorBuilder[T]) Len() int { return b.cnt }

// makeRoom ensures the tail has a free slot and returns its index.
func (b *VectorBuilder[T]) makeRoom() int {
	tl := b.cnt - tailOff(b.cnt)
	if tl == width {
		b.tail.used.Store(width) // leaves must never be appended to
		b.root, b.shift = grow(b.edit, b.cnt, b.root, b.shift, b.tail)
		b.tail = nil
		tl = 0
	}
	if b.tail == nil {
		b.tail = newChunk[T](b.edit)
	}
	return tl
}

// Append adds x at the end.
func (b *VectorBuilder[T]) Append(x T) {
	b.check()
	tl := b.makeRoom()
	b.tail.vals[tl] = x
	b.cnt++
}

// AppendSlice adds all of xs at the end, copying a chunk at a time.
func (b *VectorBuilder[T]) AppendSlice(xs ...T) {
	b.check()
	for len(xs) > 0 {
		tl := b.makeRoom()
		n := copy(b.tail.vals[tl:], xs)
		b.cnt += n
		xs = xs[n:]
	}
}

// set replaces element i (0 <= i < Len()) in place, copying shared nodes on
// the path first.
func (b *VectorBuilder[T]) set(i int, x T) {
	b.check()
	if off := tailOff(b.cnt); i >= off {
		b.tail.vals[i-off] = x
		return
	}
	b.root = editable(b.root, b.edit)
	n := b.root
	for s := b.shift; s > shiftBits; s -= shiftBits {
		j := (i >> s) & mask
		k := editable(n.kids[j], b.edit)
		n.kids[j] = k
		n = k
	}
	j := (i >> shiftBits) & mask
	c := n.leaves[j]
	if c.edit != b.edit {
		c = cloneLeaf(c, b.edit)
		n.leaves[j] = c
	}
	c.vals[i&mask] = x
}

// Persistent returns the built vector. The builder must not be used
// afterwards.
func (b *VectorBuilder[T]) Persistent() *Vector[T] {
	v := b.persistent()
	return &v
}

func (b *VectorBuilder[T]) persistent() Vector[T] {
	b.check()
	if b.tail != nil {
		b.tail.used.Store(int32(b.cnt - tailOff(b.cnt)))
	}
	v := Vector[T]{cnt: b.cnt, shift: b.shift, root: b.root, tail: b.tail}
	*b = VectorBuilder[T]{}
	return v
}

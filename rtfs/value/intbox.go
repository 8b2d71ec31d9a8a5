package value

import (
	"unsafe"
)

// IntBoxer boxes integers into Values in chunks.
//
// Storing an Int in an interface allocates eight bytes on the heap (Go
// only caches 0..255), and in numeric loops that allocation costs more than
// the arithmetic. An IntBoxer carves boxes out of small chunks instead, so
// an allocation is amortised over intChunk results. The resulting Value is
// an ordinary Int in every respect (type switches, ==, hashing); the only
// difference is that a live box keeps its chunk (intChunk*8 bytes) alive.
//
// An IntBoxer is not safe for concurrent use; each evaluation thread has
// its own.
type IntBoxer struct {
	free []Int // unused boxes of the current chunk
}

const intChunk = 32

// intItab is the interface table of Int as a Value, copied from a real
// Value so that Box builds exactly what the compiler would.
var intItab = func() unsafe.Pointer {
	var v Value = Int(1000)
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[0]
}()

// Box returns i as a Value. Callers on hot paths return integers in
// 0..255 directly, for which the runtime has static boxes.
func (b *IntBoxer) Box(i Int) Value {
	if len(b.free) == 0 {
		b.free = make([]Int, intChunk)
	}
	p := &b.free[0]
	b.free = b.free[1:]
	*p = i
	var v Value
	w := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))
	w[0], w[1] = intItab, unsafe.Pointer(p)
	return v
}

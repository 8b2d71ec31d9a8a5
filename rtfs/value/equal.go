package value

import (
	"math"
	"reflect"
	"strings"
	"sync/atomic"
)

type box struct{ v Value }

type atomicValue = atomic.Pointer[box]

// IsSequential reports whether v is a vector or a list-like sequence, the
// values that compare equal to each other element by element.
func IsSequential(v Value) bool {
	switch v.(type) {
	case *Vector, *List, *Range, *Repeat, *Generator:
		return true
	}
	return false
}

// Identical reports whether a and b are the same value: scalars by value,
// everything else by reference.
func Identical(a, b Value) bool {
	switch a.(type) {
	case nil, Bool, Int, Float, String, Keyword, Symbol, Timestamp, UUID:
		return a == b
	}
	if a == nil || b == nil {
		return a == b
	}
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Type() != rb.Type() || ra.Kind() != reflect.Pointer {
		return false
	}
	return ra.Pointer() == rb.Pointer()
}

// Equal is RTFS structural equality (=): maps and sets unordered, vectors
// equal to lists with equal elements, 1 not equal to 1.0, NaN not equal to
// itself, functions and atoms by identity.
func Equal(a, b Value) bool {
	return equalDepth(a, b, 0)
}

// maxDepth bounds recursion over nested data so hostile values cannot
// overflow the Go stack; values nested deeper compare by identity.
const maxDepth = 10000

func equalDepth(a, b Value, depth int) bool {
	if depth > maxDepth {
		return Identical(a, b)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case Bool, String, Keyword, Symbol, Timestamp, UUID, Int:
		return a == b
	case Float:
		y, ok := b.(Float)
		return ok && x == y
	case *Vector:
		if y, ok := b.(*Vector); ok {
			if x == y {
				return true
			}
			if x.Len() != y.Len() {
				return false
			}
			eq := true
			x.Range(func(i int, xv Value) bool {
				yv, _ := y.Nth(i)
				eq = equalDepth(xv, yv, depth+1)
				return eq
			})
			return eq
		}
		return IsSequential(b) && seqEqual(a, b, depth)
	case *List, *Range:
		return IsSequential(b) && seqEqual(a, b, depth)
	case *Map:
		y, ok := b.(*Map)
		if !ok || x.Len() != y.Len() {
			return false
		}
		if x == y {
			return true
		}
		eq := true
		x.Range(func(k, v Value) bool {
			w, found := y.Get(k)
			eq = found && equalDepth(v, w, depth+1)
			return eq
		})
		return eq
	case *Set:
		y, ok := b.(*Set)
		if !ok || x.Len() != y.Len() {
			return false
		}
		eq := true
		x.Range(func(k Value) bool {
			eq = y.Has(k)
			return eq
		})
		return eq
	case *Error:
		y, ok := b.(*Error)
		if !ok {
			return false
		}
		return x == y || (x.Type == y.Type && x.Message == y.Message && equalDepth(x.Data, y.Data, depth+1))
	case *Resource:
		y, ok := b.(*Resource)
		return ok && x.Name == y.Name
	}
	return Identical(a, b)
}

// seqEqual compares two sequential values element by element. Unbounded
// sequences are never equal to anything but themselves.
func seqEqual(a, b Value, depth int) bool {
	na, okA := boundedLen(a)
	nb, okB := boundedLen(b)
	if !okA || !okB {
		return Identical(a, b)
	}
	if na != nb {
		return false
	}
	xs := seqItems(a)
	ys := seqItems(b)
	for i := range xs {
		if !equalDepth(xs[i], ys[i], depth+1) {
			return false
		}
	}
	return true
}

func boundedLen(v Value) (int, bool) {
	switch x := v.(type) {
	case *Vector:
		return x.Len(), true
	case *List:
		return x.Len(), true
	case *Range:
		return int(x.N), x.N >= 0
	}
	return 0, false
}

// seqItems returns the elements of a bounded sequential value.
func seqItems(v Value) []Value {
	switch x := v.(type) {
	case *Vector:
		return x.Items()
	case *List:
		return x.Items()
	case *Range:
		out := make([]Value, x.N)
		for i := range out {
			out[i] = x.At(int64(i))
		}
		return out
	}
	return nil
}

// Hash returns a deterministic hash of v consistent with Equal: equal
// values hash equally. It is stable across processes (no random seed), so
// the builtin hash function is reproducible.
func Hash(v Value) uint64 {
	return hashDepth(v, 0)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix(h uint64) uint64 {
	// splitmix64 finaliser
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func hashString(seed uint64, s string) uint64 {
	h := uint64(fnvOffset) ^ seed
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix(h)
}

func hashDepth(v Value, depth int) uint64 {
	if depth > maxDepth {
		return 7
	}
	switch x := v.(type) {
	case nil:
		return 0x9e3779b97f4a7c15
	case Bool:
		if x {
			return 0x1231
		}
		return 0x1237
	case Int:
		return mix(uint64(x) ^ 0x51)
	case Float:
		f := float64(x)
		if f == 0 {
			f = 0 // -0.0 equals 0.0
		}
		return mix(math.Float64bits(f) ^ 0xf1)
	case String:
		return hashString(1, string(x))
	case Keyword:
		return hashString(2, string(x))
	case Symbol:
		return hashString(3, string(x))
	case Timestamp:
		return hashString(4, string(x))
	case UUID:
		return hashString(5, strings.ToLower(string(x)))
	case *Resource:
		return hashString(6, x.Name)
	case *Vector, *List, *Range:
		if _, ok := boundedLen(v); !ok {
			return identityHash(v)
		}
		h := uint64(0x5eed)
		for _, e := range seqItems(v) {
			h = mix(h*31 + hashDepth(e, depth+1))
		}
		return h
	case *Map:
		var h uint64 = 0x3a9
		x.Range(func(k, e Value) bool {
			h += mix(hashDepth(k, depth+1) ^ (hashDepth(e, depth+1) * 0x9e3779b97f4a7c15))
			return true
		})
		return h
	case *Set:
		var h uint64 = 0x5e7
		x.Range(func(k Value) bool {
			h += hashDepth(k, depth+1)
			return true
		})
		return h
	case *Error:
		return hashString(7, string(x.Type)+"\x00"+x.Message)
	}
	return identityHash(v)
}

func identityHash(v Value) uint64 {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return mix(uint64(rv.Pointer()))
	}
	return hashString(8, rv.Type().String())
}

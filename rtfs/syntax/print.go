package syntax

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Print returns canonical source text for n. Parse reads the text of any
// tree it produced back to a tree that is Equal to it.
//
// Lists print as (a b c), vectors [a b], maps {k v k v}, sets #{a b},
// symbols with their annotation as name:Type, and metadata as ^{...}
// before the form. Reader sugar is not reconstructed: 'x prints as
// (quote x) and #(+ % 1) as (fn [%1] (+ %1 1)).
func Print(n Node) string {
	var b strings.Builder
	printNode(&b, n)
	return b.String()
}

func printNode(b *strings.Builder, n Node) {
	if isNil(n) {
		return
	}
	switch n := n.(type) {
	case *Nil:
		b.WriteString("nil")
	case *Bool:
		b.WriteString(strconv.FormatBool(n.Value))
	case *Int:
		b.WriteString(strconv.FormatInt(n.Value, 10))
	case *Float:
		b.WriteString(FormatFloat(n.Value))
	case *String:
		b.WriteString(QuoteString(n.Value))
	case *Keyword:
		b.WriteByte(':')
		b.WriteString(n.Name)
	case *Symbol:
		printMeta(b, n.Meta)
		b.WriteString(n.Name)
		if !isNil(n.Type) {
			b.WriteByte(':')
			printNode(b, n.Type)
		}
	case *List:
		printMeta(b, n.Meta)
		printSeq(b, "(", ")", n.Elems)
	case *Vector:
		printMeta(b, n.Meta)
		printSeq(b, "[", "]", n.Elems)
	case *Map:
		printMeta(b, n.Meta)
		printSeq(b, "{", "}", n.Elems)
	case *Set:
		printMeta(b, n.Meta)
		printSeq(b, "#{", "}", n.Elems)
	case *Timestamp:
		b.WriteString(n.Text)
	case *UUID:
		b.WriteString(n.Text)
	case *Resource:
		b.WriteString("resource://")
		b.WriteString(n.Name)
	default:
		fmt.Fprintf(b, "#<unknown node %T>", n)
	}
}

func printMeta(b *strings.Builder, m *Map) {
	if m == nil {
		return
	}
	b.WriteByte('^')
	printNode(b, m)
	b.WriteByte(' ')
}

func printSeq(b *strings.Builder, open, close string, elems []Node) {
	b.WriteString(open)
	first := true
	for _, e := range elems {
		if isNil(e) {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		printNode(b, e)
	}
	b.WriteString(close)
}

// FormatFloat formats f the way RTFS prints floats: always with a decimal
// point or an exponent so it reads back as a float (1.0, 0.025, 1.0E20,
// 1.5E-7), and ##Inf, ##-Inf, ##NaN for the special values. Like Java and
// Clojure, plain notation is used for magnitudes in [1e-3, 1e7).
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "##NaN"
	case math.IsInf(f, 1):
		return "##Inf"
	case math.IsInf(f, -1):
		return "##-Inf"
	}
	if abs := math.Abs(f); f == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1E+20, -1.5E-07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := ""
	if exp != "" && (exp[0] == '-' || exp[0] == '+') {
		if exp[0] == '-' {
			sign = "-"
		}
		exp = exp[1:]
	}
	exp = strings.TrimLeft(exp, "0")
	if exp == "" {
		exp = "0"
	}
	return mant + "E" + sign + exp
}

// QuoteString returns s as an RTFS string literal, escaping \" \\ \n \t \r
// and writing other control characters as \uXXXX. Bytes that are not valid
// UTF-8 are copied unchanged, so the literal reads back to the same bytes.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteByte(s[i])
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// Equal reports whether two trees are structurally equal, ignoring
// positions. Collections compare element by element in order, metadata and
// type annotations take part, and NaN equals NaN.
func Equal(a, b Node) bool {
	if isNil(a) || isNil(b) {
		return isNil(a) && isNil(b)
	}
	switch a := a.(type) {
	case *Nil:
		_, ok := b.(*Nil)
		return ok
	case *Bool:
		b, ok := b.(*Bool)
		return ok && a.Value == b.Value
	case *Int:
		b, ok := b.(*Int)
		return ok && a.Value == b.Value
	case *Float:
		b, ok := b.(*Float)
		return ok && floatBits(a.Value) == floatBits(b.Value)
	case *String:
		b, ok := b.(*String)
		return ok && a.Value == b.Value
	case *Keyword:
		b, ok := b.(*Keyword)
		return ok && a.Name == b.Name
	case *Symbol:
		b, ok := b.(*Symbol)
		return ok && a.Name == b.Name && Equal(a.Type, b.Type) && equalMeta(a.Meta, b.Meta)
	case *List:
		b, ok := b.(*List)
		return ok && equalElems(a.Elems, b.Elems) && equalMeta(a.Meta, b.Meta)
	case *Vector:
		b, ok := b.(*Vector)
		return ok && equalElems(a.Elems, b.Elems) && equalMeta(a.Meta, b.Meta)
	case *Map:
		b, ok := b.(*Map)
		return ok && equalElems(a.Elems, b.Elems) && equalMeta(a.Meta, b.Meta)
	case *Set:
		b, ok := b.(*Set)
		return ok && equalElems(a.Elems, b.Elems) && equalMeta(a.Meta, b.Meta)
	case *Timestamp:
		b, ok := b.(*Timestamp)
		return ok && a.Text == b.Text
	case *UUID:
		b, ok := b.(*UUID)
		return ok && a.Text == b.Text
	case *Resource:
		b, ok := b.(*Resource)
		return ok && a.Name == b.Name
	}
	return false
}

// floatBits maps every NaN to one value so NaN equals NaN, while keeping
// 0.0 and -0.0 apart (they print differently).
func floatBits(f float64) uint64 {
	if math.IsNaN(f) {
		return 0x7FF8000000000001
	}
	return math.Float64bits(f)
}

func equalMeta(a, b *Map) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return Equal(a, b)
}

// equalElems compares element lists, skipping nil elements the way Print
// does.
func equalElems(a, b []Node) bool {
	i, j := 0, 0
	for {
		for i < len(a) && isNil(a[i]) {
			i++
		}
		for j < len(b) && isNil(b[j]) {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if !Equal(a[i], b[j]) {
			return false
		}
		i++
		j++
	}
}

// FNV-1a, used to hash trees consistently with Equal.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mixByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func mixUint(h, v uint64) uint64 {
	for range 8 {
		h = mixByte(h, byte(v))
		v >>= 8
	}
	return h
}

func mixString(h uint64, s string) uint64 {
	h = mixUint(h, uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h = mixByte(h, s[i])
	}
	return h
}

// hashNode returns a hash of n such that Equal(a, b) implies equal hashes.
// Hashes of composite nodes are memoised in memo so that hashing every key
// of nested map literals stays linear in the size of the input.
func hashNode(n Node, memo map[Node]uint64) uint64 {
	if isNil(n) {
		return 0
	}
	h := uint64(fnvOffset)
	switch n := n.(type) {
	case *Nil:
		return mixByte(h, 1)
	case *Bool:
		if n.Value {
			return mixByte(h, 2)
		}
		return mixByte(h, 3)
	case *Int:
		return mixUint(mixByte(h, 4), uint64(n.Value))
	case *Float:
		return mixUint(mixByte(h, 5), floatBits(n.Value))
	case *String:
		return mixString(mixByte(h, 6), n.Value)
	case *Keyword:
		return mixString(mixByte(h, 7), n.Name)
	case *Timestamp:
		return mixString(mixByte(h, 8), n.Text)
	case *UUID:
		return mixString(mixByte(h, 9), n.Text)
	case *Resource:
		return mixString(mixByte(h, 10), n.Name)
	}
	if v, ok := memo[n]; ok {
		return v
	}
	var elems []Node
	var meta *Map
	switch n := n.(type) {
	case *Symbol:
		h = mixString(mixByte(h, 11), n.Name)
		h = mixUint(h, hashNode(n.Type, memo))
		meta = n.Meta
	case *List:
		h, elems, meta = mixByte(h, 12), n.Elems, n.Meta
	case *Vector:
		h, elems, meta = mixByte(h, 13), n.Elems, n.Meta
	case *Map:
		h, elems, meta = mixByte(h, 14), n.Elems, n.Meta
	case *Set:
		h, elems, meta = mixByte(h, 15), n.Elems, n.Meta
	}
	for _, e := range elems {
		if !isNil(e) {
			h = mixUint(h, hashNode(e, memo))
		}
	}
	if meta != nil {
		h = mixUint(mixByte(h, 16), hashNode(meta, memo))
	}
	memo[n] = h
	return h
}

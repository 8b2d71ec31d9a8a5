package value

import (
	"strconv"
	"strings"

	"github.com/ccos-go/ccos/rtfs/syntax"
)

// PrintLimit bounds how much of an unbounded sequence the printer shows.
const PrintLimit = 1000

// Repr returns the canonical printed form of v (pr-str): readable back for
// data, #<...> for opaque values.
func Repr(v Value) string {
	var b strings.Builder
	WriteRepr(&b, v)
	return b.String()
}

// Str returns v as str and println show it: strings raw, nil empty,
// everything else as Repr.
func Str(v Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case String:
		return string(x)
	}
	return Repr(v)
}

// WriteRepr appends the canonical form of v to b.
func WriteRepr(b *strings.Builder, v Value) {
	p := printer{b: b}
	p.print(v, 0)
}

type printer struct {
	b *strings.Builder
}

func (p *printer) print(v Value, depth int) {
	b := p.b
	if depth > maxDepth {
		b.WriteString("#<too-deep>")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case Bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case Int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case Float:
		b.WriteString(FormatFloat(float64(x)))
	case String:
		WriteQuoted(b, string(x))
	case Keyword:
		b.WriteByte(':')
		b.WriteString(string(x))
	case Symbol:
		b.WriteString(string(x))
	case Timestamp:
		b.WriteString(string(x))
	case UUID:
		b.WriteString(string(x))
	case *Resource:
		b.WriteString("resource://")
		b.WriteString(x.Name)
	case *Vector:
		b.WriteByte('[')
		x.Range(func(i int, e Value) bool {
			if i > 0 {
				b.WriteByte(' ')
			}
			p.print(e, depth+1)
			return true
		})
		b.WriteByte(']')
	case *List:
		b.WriteByte('(')
		i := 0
		x.Range(func(e Value) bool {
			if i > 0 {
				b.WriteByte(' ')
			}
			i++
			p.print(e, depth+1)
			return true
		})
		b.WriteByte(')')
	case *Range:
		b.WriteByte('(')
		n := x.N
		if n < 0 || n > PrintLimit {
			n = PrintLimit
		}
		for i := int64(0); i < n; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatInt(int64(x.At(i)), 10))
		}
		if x.N < 0 || x.N > PrintLimit {
			b.WriteString(" ...")
		}
		b.WriteByte(')')
	case *Repeat:
		b.WriteByte('(')
		p.print(x.X, depth+1)
		b.WriteString(" ...)")
	case *Generator:
		b.WriteString("#<seq ")
		b.WriteString(x.Name)
		b.WriteByte('>')
	case *Map:
		b.WriteByte('{')
		i := 0
		x.Range(func(k, e Value) bool {
			if i > 0 {
				b.WriteByte(' ')
			}
			i++
			p.print(k, depth+1)
			b.WriteByte(' ')
			p.print(e, depth+1)
			return true
		})
		b.WriteByte('}')
	case *Set:
		b.WriteString("#{")
		i := 0
		x.Range(func(e Value) bool {
			if i > 0 {
				b.WriteByte(' ')
			}
			i++
			p.print(e, depth+1)
			return true
		})
		b.WriteByte('}')
	case *Atom:
		b.WriteString("#<atom ")
		p.print(x.Deref(), depth+1)
		b.WriteByte('>')
	case *Error:
		b.WriteString("#<error :")
		b.WriteString(string(x.Type))
		b.WriteByte(' ')
		WriteQuoted(b, x.Message)
		b.WriteByte('>')
	case Fn:
		b.WriteString("#<fn ")
		if n := x.FnName(); n != "" {
			b.WriteString(n)
		} else {
			b.WriteString("anonymous")
		}
		b.WriteByte('>')
	default:
		b.WriteString("#<")
		b.WriteString(v.TypeName())
		b.WriteByte('>')
	}
}

// FormatFloat formats f canonically: always with a decimal point or an
// exponent, ##Inf/##-Inf/##NaN for the special values, and scientific
// notation (1.0E20) outside [1e-3, 1e7) like the JVM. Data and source
// print numbers the same way, so the reader's printer does the work.
func FormatFloat(f float64) string { return syntax.FormatFloat(f) }

// WriteQuoted writes s as an RTFS string literal.
func WriteQuoted(b *strings.Builder, s string) { b.WriteString(syntax.QuoteString(s)) }

// Quote returns s as an RTFS string literal.
func Quote(s string) string { return syntax.QuoteString(s) }

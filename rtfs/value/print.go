package value

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
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
// notation (1.0E20) outside [1e-3, 1e7) like the JVM.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "##NaN"
	case math.IsInf(f, 1):
		return "##Inf"
	case math.IsInf(f, -1):
		return "##-Inf"
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsRune(s, '.') {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1E+20, 1.5E-04
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.ContainsRune(mant, '.') {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// WriteQuoted writes s as an RTFS string literal.
func WriteQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
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
		case r == utf8.RuneError && size == 1:
			// Invalid UTF-8 is kept byte for byte so printing is lossless.
			b.WriteByte(s[i])
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)))
			b.WriteString(h)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// Quote returns s as an RTFS string literal.
func Quote(s string) string {
	var b strings.Builder
	WriteQuoted(&b, s)
	return b.String()
}

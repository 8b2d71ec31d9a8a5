package stdlib

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// registerStrings registers the string functions of RTFS.md §4. Indices
// (subs, index-of, string-length) count code points, not bytes. split and
// replace take literal strings; regular expressions are strings in Go RE2
// syntax.
func registerStrings(r *registry) {
	res := newRegexCache()

	r.add("str", 0, -1, func(th *eval.Thread, args []Value) (Value, error) {
		if len(args) == 1 {
			if s, ok := args[0].(value.String); ok {
				return s, nil
			}
		}
		var b strings.Builder
		for _, a := range args {
			b.WriteString(value.Str(a))
		}
		return value.String(b.String()), nil
	})

	subs := func(name string) eval.BuiltinFunc {
		return func(_ *eval.Thread, args []Value) (Value, error) {
			s, err := toString(name, args[0])
			if err != nil {
				return nil, err
			}
			start, err := toInt(name, args[1])
			if err != nil {
				return nil, err
			}
			n := int64(utf8.RuneCountInString(s))
			end := n
			if len(args) > 2 && args[2] != nil {
				if end, err = toInt(name, args[2]); err != nil {
					return nil, err
				}
			}
			if start < 0 || end > n || start > end {
				return nil, value.Errorf(value.ErrIndex, "%s: range [%d, %d) out of bounds for a string of length %d", name, start, end, n)
			}
			from := runeOffset(s, int(start))
			to := from + runeOffset(s[from:], int(end-start))
			return value.String(s[from:to]), nil
		}
	}
	r.add("subs", 2, 3, subs("subs"))
	r.add("substring", 2, 3, subs("substring"))

	r.add("string-length", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		s, err := toString("string-length", args[0])
		return value.Int(utf8.RuneCountInString(s)), err
	})

	strFn := func(name string, f func(string) string) {
		r.add(name, 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
			s, err := toString(name, args[0])
			if err != nil {
				return nil, err
			}
			return value.String(f(s)), nil
		})
	}
	strFn("upper-case", strings.ToUpper)
	strFn("lower-case", strings.ToLower)
	strFn("trim", strings.TrimSpace)
	strFn("triml", func(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) })
	strFn("trimr", func(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) })
	r.alias("string-upper", "upper-case")
	r.alias("string-lower", "lower-case")
	r.alias("string-trim", "trim")

	r.add("split", 2, 3, func(th *eval.Thread, args []Value) (Value, error) {
		s, err := toString("split", args[0])
		if err != nil {
			return nil, err
		}
		sep, err := toString("split", args[1])
		if err != nil {
			return nil, err
		}
		limit := int64(-1)
		if len(args) > 2 {
			if limit, err = toInt("split", args[2]); err != nil {
				return nil, err
			}
			if limit <= 0 {
				limit = -1
			}
		}
		var parts []string
		if sep == "" {
			// Split into code points (strings.Split would split invalid
			// UTF-8 byte by byte, which is fine too, but be explicit).
			for i, r := range s {
				if limit > 0 && int64(len(parts)) == limit-1 {
					parts = append(parts, s[i:])
					break
				}
				parts = append(parts, string(r))
			}
			if s == "" {
				parts = []string{""}
			}
		} else {
			n := int(-1)
			if limit > 0 && limit < int64(len(s))+1 {
				n = int(limit)
			}
			parts = strings.SplitN(s, sep, n)
		}
		if err := th.Charge(len(parts)); err != nil {
			return nil, err
		}
		b := value.NewVectorBuilder()
		for _, p := range parts {
			b.Append(value.String(p))
		}
		return b.Vector(), nil
	})

	r.add("join", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		sep, coll := "", args[0]
		if len(args) == 2 {
			sep, coll = value.Str(args[0]), args[1]
			// Compatibility: (join coll "sep") as well as (join "sep" coll).
			if _, isStr := args[0].(value.String); !isStr && eval.IsSeqable(args[0]) {
				if s, ok := args[1].(value.String); ok {
					sep, coll = string(s), args[0]
				}
			}
		}
		if !eval.IsSeqable(coll) {
			return nil, typeError("join", "a collection", coll)
		}
		var b strings.Builder
		first := true
		err := th.Each(coll, func(x Value) error {
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(value.Str(x))
			return nil
		})
		if err != nil {
			return nil, err
		}
		return value.String(b.String()), nil
	})

	r.add("replace", 3, 3, func(th *eval.Thread, args []Value) (Value, error) {
		s, err := toString("replace", args[0])
		if err != nil {
			return nil, err
		}
		old, err := toString("replace", args[1])
		if err != nil {
			return nil, err
		}
		repl, err := toString("replace", args[2])
		if err != nil {
			return nil, err
		}
		n := strings.Count(s, old)
		if int64(n)*int64(len(repl)) > maxStringResult {
			return nil, value.Errorf(value.ErrLimit, "replace: result would exceed %d bytes", maxStringResult)
		}
		if err := th.Charge(n); err != nil {
			return nil, err
		}
		return value.String(strings.ReplaceAll(s, old, repl)), nil
	})

	strPred := func(name string, f func(s, x string) bool) {
		r.add(name, 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
			s, err := toString(name, args[0])
			if err != nil {
				return nil, err
			}
			x, err := toString(name, args[1])
			if err != nil {
				return nil, err
			}
			return value.Bool(f(s, x)), nil
		})
	}
	strPred("starts-with?", strings.HasPrefix)
	strPred("ends-with?", strings.HasSuffix)
	strPred("includes?", strings.Contains)
	r.alias("string-contains", "includes?")

	r.add("index-of", 2, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		s, x, from, err := indexArgs("index-of", args, 0)
		if err != nil {
			return nil, err
		}
		n := utf8.RuneCountInString(s)
		if from < 0 {
			from = 0
		}
		if from > n {
			return nil, nil
		}
		off := runeOffset(s, from)
		i := strings.Index(s[off:], x)
		if i < 0 {
			return nil, nil
		}
		return value.Int(from + utf8.RuneCountInString(s[off:off+i])), nil
	})
	r.add("last-index-of", 2, 3, func(_ *eval.Thread, args []Value) (Value, error) {
		s, x, from, err := indexArgs("last-index-of", args, -1)
		if err != nil {
			return nil, err
		}
		// from is the last code-point index at which a match may start.
		limit := len(s)
		if len(args) > 2 {
			if from < 0 {
				return nil, nil
			}
			off := runeOffset(s, from)
			limit = off + len(x)
			if limit > len(s) {
				limit = len(s)
			}
		}
		i := strings.LastIndex(s[:limit], x)
		if i < 0 {
			return nil, nil
		}
		return value.Int(utf8.RuneCountInString(s[:i])), nil
	})

	r.add("blank?", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		if args[0] == nil {
			return value.True, nil
		}
		s, err := toString("blank?", args[0])
		if err != nil {
			return nil, err
		}
		return value.Bool(strings.TrimSpace(s) == ""), nil
	})

	r.add("format", 1, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		f, err := toString("format", args[0])
		if err != nil {
			return nil, err
		}
		s, err := formatString(f, args[1:])
		if err != nil {
			return nil, err
		}
		return value.String(s), nil
	})

	r.add("re-find", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		re, s, err := res.args("re-find", args, false)
		if err != nil {
			return nil, err
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			return nil, nil
		}
		return matchValue(s, loc), nil
	})
	r.add("re-matches", 2, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		re, s, err := res.args("re-matches", args, true)
		if err != nil {
			return nil, err
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil || loc[0] != 0 || loc[1] != len(s) {
			return nil, nil
		}
		return matchValue(s, loc), nil
	})
	r.add("re-seq", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		re, s, err := res.args("re-seq", args, false)
		if err != nil {
			return nil, err
		}
		locs := re.FindAllStringSubmatchIndex(s, -1)
		if len(locs) == 0 {
			return nil, nil
		}
		if err := th.Charge(len(locs)); err != nil {
			return nil, err
		}
		out := make([]Value, len(locs))
		for i, loc := range locs {
			out[i] = matchValue(s, loc)
		}
		return value.NewList(out...), nil
	})

	r.add("name", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case value.String:
			return x, nil
		case value.Keyword:
			return value.String(x.LocalName()), nil
		case value.Symbol:
			return value.String(x.LocalName()), nil
		}
		return nil, typeError("name", "a string, keyword or symbol", args[0])
	})
	r.add("namespace", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		var ns string
		switch x := args[0].(type) {
		case value.Keyword:
			ns = x.Namespace()
		case value.Symbol:
			ns = x.Namespace()
		default:
			return nil, typeError("namespace", "a keyword or symbol", args[0])
		}
		if ns == "" {
			return nil, nil
		}
		return value.String(ns), nil
	})
	r.add("keyword", 1, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		s, ok, err := qualifiedName("keyword", args)
		if err != nil || !ok {
			return nil, err
		}
		return value.Keyword(s), nil
	})
	r.add("symbol", 1, 2, func(_ *eval.Thread, args []Value) (Value, error) {
		s, ok, err := qualifiedName("symbol", args)
		if err != nil || !ok {
			return nil, err
		}
		return value.Symbol(s), nil
	})

	r.add("parse-int", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		if i, ok := args[0].(value.Int); ok {
			return i, nil
		}
		s, err := toString("parse-int", args[0])
		if err != nil {
			return nil, err
		}
		return parseInt(s)
	})
	r.add("parse-float", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		switch x := args[0].(type) {
		case value.Float:
			return x, nil
		case value.Int:
			return value.Float(x), nil
		}
		s, err := toString("parse-float", args[0])
		if err != nil {
			return nil, err
		}
		return parseFloat(s)
	})
}

// maxStringResult bounds strings built by replace and format so that a
// small program cannot ask for gigabytes at once.
const maxStringResult = 64 << 20

// runeOffset returns the byte offset of code point n in s (len(s) when s
// has n code points or fewer).
func runeOffset(s string, n int) int {
	if n <= 0 {
		return 0
	}
	i := 0
	for j := range s {
		if i == n {
			return j
		}
		i++
	}
	return len(s)
}

// indexArgs decodes (f s x from?) for index-of and last-index-of.
func indexArgs(name string, args []Value, def int) (s, x string, from int, err error) {
	if s, err = toString(name, args[0]); err != nil {
		return
	}
	if x, err = toString(name, args[1]); err != nil {
		return
	}
	from = def
	if len(args) > 2 {
		var f int64
		if f, err = toInt(name, args[2]); err != nil {
			return
		}
		n := int64(utf8.RuneCountInString(s))
		switch {
		case f > n:
			f = n
		case f < -1:
			f = -1
		}
		from = int(f)
	}
	return
}

// qualifiedName builds the name for keyword and symbol from (name) or
// (ns name). ok is false when the result is nil (a single nil argument).
func qualifiedName(fn string, args []Value) (string, bool, error) {
	part := func(v Value) (string, error) {
		switch x := v.(type) {
		case value.String:
			return string(x), nil
		case value.Keyword:
			return string(x), nil
		case value.Symbol:
			return string(x), nil
		}
		return "", typeError(fn, "a string, keyword or symbol", v)
	}
	if len(args) == 1 {
		if args[0] == nil {
			return "", false, nil
		}
		s, err := part(args[0])
		return s, err == nil, err
	}
	name, err := part(args[1])
	if err != nil {
		return "", false, err
	}
	if args[0] == nil {
		return name, true, nil
	}
	ns, err := part(args[0])
	if err != nil {
		return "", false, err
	}
	return ns + "/" + name, true, nil
}

// parseInt parses an optionally signed decimal integer.
func parseInt(s string) (Value, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return nil, value.Errorf(value.ErrType, "parse-int: invalid integer %s", value.Quote(s))
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, value.Errorf(value.ErrArithmetic, "parse-int: integer out of range %s", value.Quote(s))
	}
	return value.Int(i), nil
}

// parseFloat parses a decimal number: sign, digits with an optional
// fraction, optional exponent. Hex floats, "inf" and "nan" are rejected.
func parseFloat(s string) (Value, error) {
	if !isDecimalFloat(s) {
		return nil, value.Errorf(value.ErrType, "parse-float: invalid number %s", value.Quote(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, value.Errorf(value.ErrArithmetic, "parse-float: number out of range %s", value.Quote(s))
	}
	return value.Float(f), nil
}

func isDecimalFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// matchValue turns a submatch index slice into re-find's result: the match
// when the pattern has no groups, else [whole group1 ...] with nil for
// groups that did not participate.
func matchValue(s string, loc []int) Value {
	if len(loc) == 2 {
		return value.String(s[loc[0]:loc[1]])
	}
	out := make([]Value, len(loc)/2)
	for i := range out {
		if a, b := loc[2*i], loc[2*i+1]; a >= 0 {
			out[i] = value.String(s[a:b])
		}
	}
	return value.NewVector(out...)
}

// regexCache caches compiled regular expressions for one Universe.
type regexCache struct {
	mu sync.Mutex
	m  map[regexKey]*regexp.Regexp
}

type regexKey struct {
	pattern string
	full    bool
}

const regexCacheSize = 256

func newRegexCache() *regexCache {
	return &regexCache{m: map[regexKey]*regexp.Regexp{}}
}

// args decodes (f re s) and compiles re; full anchors it at both ends.
func (c *regexCache) args(fn string, args []Value, full bool) (*regexp.Regexp, string, error) {
	pat, err := toString(fn, args[0])
	if err != nil {
		return nil, "", err
	}
	s, err := toString(fn, args[1])
	if err != nil {
		return nil, "", err
	}
	re, err := c.compile(fn, pat, full)
	return re, s, err
}

func (c *regexCache) compile(fn, pat string, full bool) (*regexp.Regexp, error) {
	key := regexKey{pat, full}
	c.mu.Lock()
	re, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, value.Errorf(value.ErrType, "%s: invalid regular expression %s: %s", fn, value.Quote(pat), msg)
	}
	if full {
		// The pattern compiled on its own, so its groups are balanced
		// and wrapping it keeps its meaning. \Q without \E would swallow
		// the wrapper; fall back to leftmost-longest matching, which
		// finds a whole-input match whenever one exists.
		if w, err := regexp.Compile(`^(?:` + pat + `)$`); err == nil && w.NumSubexp() == re.NumSubexp() {
			re = w
		} else {
			re.Longest()
		}
	}
	c.mu.Lock()
	if len(c.m) >= regexCacheSize {
		clear(c.m)
	}
	c.m[key] = re
	c.mu.Unlock()
	return re, nil
}

// formatString implements format: printf-style verbs with Java/Clojure
// flavour (%n is a newline, %1$s selects an argument). Each verb checks
// its argument's type, so fmt never prints %!d(...) markers.
func formatString(f string, args []Value) (string, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); {
		c := f[i]
		if c != '%' {
			j := strings.IndexByte(f[i:], '%')
			if j < 0 {
				j = len(f) - i
			}
			b.WriteString(f[i : i+j])
			i += j
			continue
		}
		start := i
		i++
		// Explicit argument index: %2$s.
		argIndex := -1
		if j := i; j < len(f) {
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			if j > i && j < len(f) && f[j] == '$' {
				n, err := strconv.Atoi(f[i:j])
				if err != nil || n < 1 {
					return "", value.Errorf(value.ErrType, "format: invalid argument index in %s", value.Quote(f[start:j+1]))
				}
				argIndex = n - 1
				i = j + 1
			}
		}
		flagStart := i
		for i < len(f) && strings.IndexByte("-+ 0#", f[i]) >= 0 {
			i++
		}
		flags := f[flagStart:i]
		width, i2, err := formatNumber(f, i)
		if err != nil {
			return "", err
		}
		i = i2
		prec := -1
		if i < len(f) && f[i] == '.' {
			if prec, i, err = formatNumber(f, i+1); err != nil {
				return "", err
			}
			if prec < 0 {
				prec = 0
			}
		}
		if i >= len(f) {
			return "", value.Errorf(value.ErrType, "format: incomplete format specifier %s at the end", value.Quote(f[start:]))
		}
		verb, size := utf8.DecodeRuneInString(f[i:])
		i += size
		switch verb {
		case '%':
			b.WriteByte('%')
			continue
		case 'n':
			b.WriteByte('\n')
			continue
		}
		var arg Value
		idx := argIndex
		if idx < 0 {
			idx = next
			next++
		}
		if idx >= len(args) {
			return "", value.Errorf(value.ErrArity, "format: missing argument for %s (argument %d, got %d)", value.Quote(f[start:i]), idx+1, len(args))
		}
		arg = args[idx]
		spec := "%" + flags
		if width >= 0 {
			spec += strconv.Itoa(width)
		}
		if prec >= 0 {
			spec += "." + strconv.Itoa(prec)
		}
		mismatch := func(want string) error {
			return value.Errorf(value.ErrType, "format: %s expects %s, got %s", value.Quote(f[start:i]), want, describe(arg))
		}
		var goArg any
		switch verb {
		case 's', 'S':
			goArg = value.Str(arg)
			spec += "s"
		case 'd', 'x', 'X', 'o':
			n, ok := arg.(value.Int)
			if !ok {
				return "", mismatch("an integer")
			}
			goArg = int64(n)
			spec += string(verb)
		case 'f', 'F', 'e', 'E', 'g', 'G':
			switch x := arg.(type) {
			case value.Float:
				goArg = float64(x)
			case value.Int:
				goArg = float64(x)
			default:
				return "", mismatch("a number")
			}
			if verb == 'F' {
				verb = 'f'
			}
			spec += string(verb)
		case 'c':
			switch x := arg.(type) {
			case value.Int:
				if x < 0 || x > unicode.MaxRune {
					return "", mismatch("a code point")
				}
				goArg = rune(x)
			case value.String:
				if utf8.RuneCountInString(string(x)) != 1 {
					return "", mismatch("a one-character string")
				}
				goArg, _ = utf8.DecodeRuneInString(string(x))
			default:
				return "", mismatch("a character")
			}
			spec += "c"
		case 'b':
			// Java's %b: the truthiness of the argument.
			goArg = strconv.FormatBool(value.Truthy(arg))
			spec += "s"
		default:
			return "", value.Errorf(value.ErrType, "format: unknown conversion %s", value.Quote(f[start:i]))
		}
		out := fmt.Sprintf(spec, goArg)
		if verb == 'S' {
			out = strings.ToUpper(out)
		}
		if b.Len()+len(out) > maxStringResult {
			return "", value.Errorf(value.ErrLimit, "format: result would exceed %d bytes", maxStringResult)
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// maxFormatWidth bounds widths and precisions in format.
const maxFormatWidth = 10000

// formatNumber reads a decimal width or precision at f[i:]; it returns -1
// when there is none.
func formatNumber(f string, i int) (int, int, error) {
	j := i
	for j < len(f) && f[j] >= '0' && f[j] <= '9' {
		j++
	}
	if j == i {
		return -1, i, nil
	}
	n, err := strconv.Atoi(f[i:j])
	if err != nil || n > maxFormatWidth {
		return 0, j, value.Errorf(value.ErrLimit, "format: width or precision %s exceeds %d", f[i:j], maxFormatWidth)
	}
	return n, j, nil
}

package syntax

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of forms the reader accepts. Deeper input
// is rejected with "nesting too deep" so that hostile input cannot exhaust
// the stack of the reader or of later passes that walk the tree.
const MaxDepth = 10000

// maxAnonParams mirrors Clojure's limit on %N in #(...).
const maxAnonParams = 20

const eof = -1

// Parse reads all forms of src. filename is used in positions. On failure
// it returns a nil slice and an error of type *Error.
func Parse(filename string, src []byte) ([]Node, error) {
	p := newParser(filename, src)
	var forms []Node
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		r, _ := p.peek()
		if r == eof {
			return forms, nil
		}
		if isCloser(r) {
			return nil, p.errorf(p.pos(), "unexpected %q", r)
		}
		n, err := p.parseForm()
		if err != nil {
			return nil, err
		}
		forms = append(forms, n)
	}
}

// ParseExpr reads exactly one form; it is an error if src holds no form or
// more than one. Errors are of type *Error.
func ParseExpr(filename string, src []byte) (Node, error) {
	p := newParser(filename, src)
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	r, _ := p.peek()
	switch {
	case r == eof:
		return nil, p.errorf(p.pos(), "expected a form, found end of input")
	case isCloser(r):
		return nil, p.errorf(p.pos(), "unexpected %q", r)
	}
	n, err := p.parseForm()
	if err != nil {
		return nil, err
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if r, _ := p.peek(); r != eof {
		return nil, p.errorf(p.pos(), "expected a single form, found more input")
	}
	return n, nil
}

// anonState collects the % parameters used inside one #(...) body.
type anonState struct {
	max  int  // highest N of %N used
	rest bool // %& used
}

type parser struct {
	file string
	src  []byte

	off  int // byte offset of the next rune
	line int // line of the next rune
	col  int // column of the next rune
	prev Pos // position of the last consumed rune

	depth  int
	anon   *anonState // non-nil while reading the body of #(...)
	hashes map[Node]uint64

	// metaIndex indexes the keys of metadata maps being merged; see mergeMeta.
	metaIndex map[*Map]map[uint64][]int
}

func newParser(filename string, src []byte) *parser {
	return &parser{file: filename, src: src, line: 1, col: 1}
}

func (p *parser) pos() Pos {
	return Pos{File: p.file, Line: p.line, Col: p.col, Offset: p.off}
}

// peekAt decodes the rune at byte offset off. It returns eof past the end.
// Invalid UTF-8 decodes as (utf8.RuneError, 1).
func (p *parser) peekAt(off int) (rune, int) {
	if off >= len(p.src) {
		return eof, 0
	}
	if c := p.src[off]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(p.src[off:])
}

func (p *parser) peek() (rune, int) { return p.peekAt(p.off) }

// advance consumes one rune (or one invalid byte).
func (p *parser) advance() {
	r, size := p.peek()
	if r == eof {
		return
	}
	p.prev = p.pos()
	p.off += size
	if r == '\n' {
		p.line++
		p.col = 1
	} else {
		p.col++
	}
}

func (p *parser) errorf(at Pos, format string, args ...any) *Error {
	return &Error{Pos: at, Msg: fmt.Sprintf(format, args...), Line: lineAt(p.src, at.Offset)}
}

func (p *parser) incompletef(at Pos, format string, args ...any) *Error {
	e := p.errorf(at, format, args...)
	e.Incomplete = true
	return e
}

// Character classes.

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ','
}

func isCloser(r rune) bool { return r == ')' || r == ']' || r == '}' }

// isDelimiter reports whether r may directly follow a token.
func isDelimiter(r rune) bool {
	switch r {
	case eof, '(', ')', '[', ']', '{', '}', '"', ';':
		return true
	}
	return isSpace(r)
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func isSymbolStart(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		return true
	case r < utf8.RuneSelf:
		return strings.ContainsRune("*+!-_?<>=/.$%&|", r)
	case r == utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r)
}

func isSymbolChar(r rune) bool {
	if isSymbolStart(r) || isDigit(r) || r == '\'' {
		return true
	}
	if r >= utf8.RuneSelf && r != utf8.RuneError {
		return unicode.IsDigit(r) || unicode.IsMark(r)
	}
	return false
}

// skipSpace skips whitespace, comments, block comments and #_ discards.
func (p *parser) skipSpace() error {
	for {
		r, size := p.peek()
		switch {
		case isSpace(r):
			p.advance()
		case r == ';':
			for r != eof && r != '\n' {
				p.advance()
				r, _ = p.peek()
			}
		case r == '#':
			r2, _ := p.peekAt(p.off + size)
			switch r2 {
			case '|':
				if err := p.skipBlockComment(); err != nil {
					return err
				}
			case '_':
				start := p.pos()
				p.advance()
				p.advance()
				if _, err := p.parseOperand("#_", start); err != nil {
					return err
				}
			default:
				return nil
			}
		default:
			return nil
		}
	}
}

// skipBlockComment skips a #| ... |# comment, which may nest.
func (p *parser) skipBlockComment() error {
	start := p.pos()
	p.advance()
	p.advance()
	level := 1
	for {
		r, size := p.peek()
		r2, _ := p.peekAt(p.off + size)
		switch {
		case r == eof:
			return p.incompletef(start, "unterminated block comment started at %d:%d: expected '|#'", start.Line, start.Col)
		case r == '#' && r2 == '|':
			level++
			p.advance()
			p.advance()
		case r == '|' && r2 == '#':
			p.advance()
			p.advance()
			level--
			if level == 0 {
				return nil
			}
		default:
			p.advance()
		}
	}
}

// parseOperand reads the form that a prefix such as ' or ^ applies to.
// prefix names the prefix in messages; at is its position.
func (p *parser) parseOperand(prefix string, at Pos) (Node, error) {
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	r, _ := p.peek()
	switch {
	case r == eof:
		return nil, p.incompletef(at, "expected a form after %s, found end of input", prefix)
	case isCloser(r):
		return nil, p.errorf(at, "expected a form after %s, found %q", prefix, r)
	}
	return p.parseForm()
}

// parseForm reads one form starting at the current position, which must
// not be whitespace, a comment, a closing bracket or the end of input.
// Every level of nesting goes through parseForm, so the depth check here
// bounds the recursion of the whole reader.
func (p *parser) parseForm() (Node, error) {
	if p.depth >= MaxDepth {
		return nil, p.errorf(p.pos(), "nesting too deep (more than %d levels)", MaxDepth)
	}
	p.depth++
	defer func() { p.depth-- }()

	start := p.pos()
	r, size := p.peek()
	switch {
	case r == '(':
		return p.parseList(start)
	case r == '[':
		p.advance()
		elems, end, err := p.parseSeq(start, "vector", ']')
		if err != nil {
			return nil, err
		}
		return &Vector{At: start, End: end, Elems: elems}, nil
	case r == '{':
		p.advance()
		return p.parseMap(start)
	case r == '"':
		return p.parseString(start)
	case r == ':':
		return p.parseKeyword(start)
	case r == '\'':
		return p.parsePrefixed(start, "'", "quote")
	case r == '@':
		return p.parsePrefixed(start, "@", "deref")
	case r == '^':
		return p.parseMeta(start)
	case r == '#':
		return p.parseDispatch(start, size)
	case isDigit(r):
		return p.parseNumber(start)
	case r == '+' || r == '-':
		if r2, _ := p.peekAt(p.off + size); isDigit(r2) {
			return p.parseNumber(start)
		}
		return p.parseSymbol(start)
	case isSymbolStart(r):
		return p.parseSymbol(start)
	case isCloser(r):
		return nil, p.errorf(start, "unexpected %q", r)
	case r == eof:
		return nil, p.incompletef(start, "expected a form, found end of input")
	case r == '`':
		return nil, p.errorf(start, "syntax-quote (`) is not supported")
	case r == '~':
		return nil, p.errorf(start, "unquote (~) is not supported")
	case r == '\\':
		return nil, p.errorf(start, "character literals (\\c) are not supported; use a string")
	case r == utf8.RuneError && size == 1:
		return nil, p.errorf(start, "invalid UTF-8 encoding")
	case r < ' ' || r == 0x7f:
		return nil, p.errorf(start, "unexpected control character %U", r)
	}
	return nil, p.errorf(start, "unexpected character %q", r)
}

func (p *parser) parseList(start Pos) (Node, error) {
	p.advance()
	elems, end, err := p.parseSeq(start, "list", ')')
	if err != nil {
		return nil, err
	}
	return &List{At: start, End: end, Elems: elems}, nil
}

// parseSeq reads forms up to the closing bracket close. The opening bracket
// at start has already been consumed. It returns the forms and the position
// of the closing bracket.
func (p *parser) parseSeq(start Pos, kind string, close rune) ([]Node, Pos, error) {
	var elems []Node
	var opener string
	switch kind {
	case "list":
		opener = "("
	case "vector":
		opener = "["
	case "map":
		opener = "{"
	case "set":
		opener = "#{"
	case "anonymous function":
		opener = "#("
	}
	for {
		if err := p.skipSpace(); err != nil {
			return nil, Pos{}, err
		}
		r, _ := p.peek()
		switch {
		case r == eof:
			return nil, Pos{}, p.incompletef(start, "unterminated %s started at %d:%d: expected '%c'", kind, start.Line, start.Col, close)
		case r == close:
			end := p.pos()
			p.advance()
			return elems, end, nil
		case isCloser(r):
			return nil, Pos{}, p.errorf(p.pos(), "expected '%c' to close '%s' at %d:%d, found '%c'", close, opener, start.Line, start.Col, r)
		}
		n, err := p.parseForm()
		if err != nil {
			return nil, Pos{}, err
		}
		elems = append(elems, n)
	}
}

func (p *parser) parseMap(start Pos) (Node, error) {
	elems, end, err := p.parseSeq(start, "map", '}')
	if err != nil {
		return nil, err
	}
	if len(elems)%2 != 0 {
		return nil, p.errorf(start, "map literal must have an even number of forms, found %d", len(elems))
	}
	seen := make(map[uint64][]Node, len(elems)/2)
	for i := 0; i < len(elems); i += 2 {
		if p.isDuplicate(seen, elems[i]) {
			return nil, p.errorf(elems[i].Pos(), "duplicate key %s in map literal", abbrev(Print(elems[i])))
		}
	}
	return &Map{At: start, End: end, Elems: elems}, nil
}

func (p *parser) parseSet(start Pos) (Node, error) {
	elems, end, err := p.parseSeq(start, "set", '}')
	if err != nil {
		return nil, err
	}
	seen := make(map[uint64][]Node, len(elems))
	for _, e := range elems {
		if p.isDuplicate(seen, e) {
			return nil, p.errorf(e.Pos(), "duplicate element %s in set literal", abbrev(Print(e)))
		}
	}
	return &Set{At: start, End: end, Elems: elems}, nil
}

// isDuplicate reports whether n equals a node already in seen, and adds it
// if not. Hashing keeps duplicate detection linear even for huge literals.
func (p *parser) isDuplicate(seen map[uint64][]Node, n Node) bool {
	if p.hashes == nil {
		p.hashes = make(map[Node]uint64)
	}
	h := hashNode(n, p.hashes)
	for _, m := range seen[h] {
		if Equal(m, n) {
			return true
		}
	}
	seen[h] = append(seen[h], n)
	return false
}

// abbrev shortens s for use in an error message.
func abbrev(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "..."
}

// parsePrefixed reads 'form or @form as (name form).
func (p *parser) parsePrefixed(start Pos, prefix, name string) (Node, error) {
	p.advance()
	n, err := p.parseOperand(prefix, start)
	if err != nil {
		return nil, err
	}
	return &List{At: start, End: p.prev, Elems: []Node{&Symbol{At: start, Name: name}, n}}, nil
}

// parseMeta reads ^meta form and attaches meta to form.
func (p *parser) parseMeta(start Pos) (Node, error) {
	p.advance()
	m, err := p.parseOperand("^", start)
	if err != nil {
		return nil, err
	}
	var meta *Map
	switch m := m.(type) {
	case *Map:
		meta = m
	case *Keyword:
		meta = &Map{At: start, End: p.prev, Elems: []Node{m, &Bool{At: m.At, Value: true}}}
	case *Symbol, *String:
		// Clojure reads ^Type form as ^{:tag Type} form.
		meta = &Map{At: start, End: p.prev, Elems: []Node{&Keyword{At: start, Name: "tag"}, m}}
	default:
		return nil, p.errorf(m.Pos(), "metadata must be a map, keyword, symbol or string, found %s", abbrev(Print(m)))
	}
	target, err := p.parseOperand("^", start)
	if err != nil {
		return nil, err
	}
	switch t := target.(type) {
	case *Symbol:
		t.Meta = p.mergeMeta(meta, t.Meta)
	case *List:
		t.Meta = p.mergeMeta(meta, t.Meta)
	case *Vector:
		t.Meta = p.mergeMeta(meta, t.Meta)
	case *Map:
		t.Meta = p.mergeMeta(meta, t.Meta)
	case *Set:
		t.Meta = p.mergeMeta(meta, t.Meta)
	}
	// Metadata on other literals has nowhere to go and is dropped, as the
	// spec says it is ignored outside definitions.
	return target, nil
}

// mergeMeta merges outer metadata (written first, ^outer ^inner x) into the
// metadata the form already has. Like Clojure, the outer entries win.
//
// inner is always a map that only the target form refers to, so it is
// updated in place, and its key index is kept between merges so that a long
// chain ^:a ^:b ^:c ... x costs linear rather than quadratic time.
func (p *parser) mergeMeta(outer, inner *Map) *Map {
	if inner == nil {
		return outer
	}
	if p.hashes == nil {
		p.hashes = make(map[Node]uint64)
	}
	if p.metaIndex == nil {
		p.metaIndex = make(map[*Map]map[uint64][]int)
	}
	index := p.metaIndex[inner]
	if index == nil {
		index = make(map[uint64][]int, len(inner.Elems)/2)
		for i := 0; i+1 < len(inner.Elems); i += 2 {
			h := hashNode(inner.Elems[i], p.hashes)
			index[h] = append(index[h], i)
		}
		p.metaIndex[inner] = index
	}
outer:
	for i := 0; i+1 < len(outer.Elems); i += 2 {
		k, v := outer.Elems[i], outer.Elems[i+1]
		h := hashNode(k, p.hashes)
		for _, j := range index[h] {
			if Equal(inner.Elems[j], k) {
				inner.Elems[j+1] = v
				continue outer
			}
		}
		index[h] = append(index[h], len(inner.Elems))
		inner.Elems = append(inner.Elems, k, v)
	}
	return inner
}

// parseDispatch reads a form starting with '#'. #| and #_ are handled by
// skipSpace; they only reach here right after a type annotation colon.
func (p *parser) parseDispatch(start Pos, size int) (Node, error) {
	r, _ := p.peekAt(p.off + size)
	switch r {
	case '{':
		p.advance()
		p.advance()
		return p.parseSet(start)
	case '(':
		return p.parseAnonFn(start)
	case '#':
		p.advance()
		p.advance()
		return p.parseSymbolicFloat(start)
	case eof:
		return nil, p.incompletef(start, "expected a dispatch character after '#', found end of input")
	case '"':
		return nil, p.errorf(start, "regular expression literals #\"...\" are not supported; use a string")
	case '_', '|':
		return nil, p.errorf(start, "expected a form, found '#%c'", r)
	}
	if r == utf8.RuneError {
		return nil, p.errorf(start, "unsupported reader macro after '#'")
	}
	return nil, p.errorf(start, "unsupported reader macro #%c", r)
}

func (p *parser) parseSymbolicFloat(start Pos) (Node, error) {
	tokStart := p.off
	for {
		r, _ := p.peek()
		if !isSymbolChar(r) {
			break
		}
		p.advance()
	}
	tok := string(p.src[tokStart:p.off])
	var v float64
	switch tok {
	case "Inf":
		v = math.Inf(1)
	case "-Inf":
		v = math.Inf(-1)
	case "NaN":
		v = math.NaN()
	default:
		return nil, p.errorf(start, "unknown symbolic value ##%s: expected ##Inf, ##-Inf or ##NaN", abbrev(tok))
	}
	if r, _ := p.peek(); !isDelimiter(r) {
		return nil, p.errorf(p.pos(), "unexpected %s after ##%s", describe(r), tok)
	}
	return &Float{At: start, Value: v}, nil
}

// describe names a rune for an error message.
func describe(r rune) string {
	switch {
	case r == eof:
		return "end of input"
	case r == utf8.RuneError:
		return "invalid UTF-8"
	}
	return strconv.QuoteRune(r)
}

// parseAnonFn reads #(body...) as (fn [%1 ... %N & %&] (body...)).
func (p *parser) parseAnonFn(start Pos) (Node, error) {
	if p.anon != nil {
		return nil, p.errorf(start, "nested #() are not allowed")
	}
	p.advance() // '#'
	bodyStart := p.pos()
	p.advance() // '('
	p.anon = &anonState{}
	elems, end, err := p.parseSeq(start, "anonymous function", ')')
	st := p.anon
	p.anon = nil
	if err != nil {
		return nil, err
	}
	var params []Node
	for i := 1; i <= st.max; i++ {
		params = append(params, &Symbol{At: start, Name: "%" + strconv.Itoa(i)})
	}
	if st.rest {
		params = append(params, &Symbol{At: start, Name: "&"}, &Symbol{At: start, Name: "%&"})
	}
	return &List{At: start, End: end, Elems: []Node{
		&Symbol{At: start, Name: "fn"},
		&Vector{At: start, End: start, Elems: params},
		&List{At: bodyStart, End: end, Elems: elems},
	}}, nil
}

// anonParam renames a % parameter inside #(...) and records its use.
// It returns the name unchanged for ordinary symbols.
func (p *parser) anonParam(at Pos, name string) (string, error) {
	if p.anon == nil || name == "" || name[0] != '%' {
		return name, nil
	}
	switch name {
	case "%":
		name = "%1"
	case "%&":
		p.anon.rest = true
		return name, nil
	}
	digits := name[1:]
	for i := 0; i < len(digits); i++ {
		if !isDigit(rune(digits[i])) {
			return name, nil // e.g. %params: an ordinary symbol
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > maxAnonParams {
		return "", p.errorf(at, "invalid parameter %s in #(): expected %%1 to %%%d", abbrev(name), maxAnonParams)
	}
	if n > p.anon.max {
		p.anon.max = n
	}
	return "%" + strconv.Itoa(n), nil
}

func (p *parser) parseString(start Pos) (Node, error) {
	p.advance() // opening quote
	var b strings.Builder
	unterminated := func() error {
		return p.incompletef(start, "unterminated string started at %d:%d: expected '\"'", start.Line, start.Col)
	}
	for {
		r, size := p.peek()
		switch r {
		case eof:
			return nil, unterminated()
		case '"':
			p.advance()
			return &String{At: start, Value: b.String()}, nil
		case '\\':
			escPos := p.pos()
			p.advance()
			e, _ := p.peek()
			switch e {
			case eof:
				return nil, unterminated()
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'u':
				p.advance()
				var v rune
				for i := 0; i < 4; i++ {
					h, _ := p.peek()
					if h == eof {
						return nil, unterminated()
					}
					d := hexVal(h)
					if d < 0 {
						return nil, p.errorf(escPos, "invalid escape sequence: \\u must be followed by 4 hex digits")
					}
					v = v*16 + rune(d)
					p.advance()
				}
				if 0xD800 <= v && v <= 0xDFFF {
					return nil, p.errorf(escPos, "invalid escape sequence \\u%04X: surrogate halves are not characters", v)
				}
				b.WriteRune(v)
				continue
			default:
				if e == utf8.RuneError || e < ' ' || e == 0x7f {
					return nil, p.errorf(escPos, "invalid escape sequence: '\\' followed by %s", describe(e))
				}
				return nil, p.errorf(escPos, "invalid escape sequence \\%c", e)
			}
			p.advance()
		default:
			// Copy the raw bytes, even invalid UTF-8: strings are data.
			b.Write(p.src[p.off : p.off+size])
			p.advance()
		}
	}
}

func hexVal(r rune) int {
	switch {
	case '0' <= r && r <= '9':
		return int(r - '0')
	case 'a' <= r && r <= 'f':
		return int(r-'a') + 10
	case 'A' <= r && r <= 'F':
		return int(r-'A') + 10
	}
	return -1
}

func isKeywordChar(r rune) bool { return isSymbolChar(r) || r == ':' }

func (p *parser) parseKeyword(start Pos) (Node, error) {
	p.advance() // ':'
	nameStart := p.off
	for {
		r, _ := p.peek()
		if !isKeywordChar(r) {
			break
		}
		p.advance()
	}
	name := string(p.src[nameStart:p.off])
	r, _ := p.peek()
	switch {
	case name == "" && !isDelimiter(r):
		return nil, p.errorf(start, "invalid keyword: unexpected %s after ':'", describe(r))
	case name == "":
		return nil, p.errorf(start, "invalid keyword: ':' must be followed by a name")
	case name[0] == ':':
		return nil, p.errorf(start, "auto-resolved keywords such as ::%s are not supported", abbrev(name[1:]))
	case strings.HasSuffix(name, ":") || strings.Contains(name, "::"):
		return nil, p.errorf(start, "invalid keyword :%s", abbrev(name))
	case !isDelimiter(r):
		return nil, p.errorf(p.pos(), "unexpected %s in keyword :%s", describe(r), abbrev(name))
	}
	return &Keyword{At: start, Name: name}, nil
}

func (p *parser) parseSymbol(start Pos) (Node, error) {
	nameStart := p.off
	for {
		r, _ := p.peek()
		if !isSymbolChar(r) {
			break
		}
		p.advance()
	}
	name := string(p.src[nameStart:p.off])
	r, _ := p.peek()

	if r == ':' && name == "resource" {
		rest := p.src[p.off+1:]
		if len(rest) >= 2 && rest[0] == '/' && rest[1] == '/' {
			return p.parseResource(start)
		}
		if len(rest) >= 3 && string(rest[:3]) == "ref" {
			if r2, _ := p.peekAt(p.off + 4); !isSymbolChar(r2) {
				// resource:ref is a symbol in its own right, not
				// "resource" annotated with type ref.
				for range 4 {
					p.advance()
				}
				name = "resource:ref"
				r, _ = p.peek()
			}
		}
	}

	if isUUID(name) {
		if !isDelimiter(r) {
			return nil, p.errorf(p.pos(), "unexpected %s after UUID %s", describe(r), name)
		}
		return &UUID{At: start, Text: name}, nil
	}
	switch name {
	case "nil", "true", "false":
		if !isDelimiter(r) {
			return nil, p.errorf(p.pos(), "unexpected %s after %s", describe(r), name)
		}
		switch name {
		case "nil":
			return &Nil{At: start}, nil
		case "true":
			return &Bool{At: start, Value: true}, nil
		}
		return &Bool{At: start, Value: false}, nil
	}

	name, err := p.anonParam(start, name)
	if err != nil {
		return nil, err
	}
	sym := &Symbol{At: start, Name: name}
	if r == ':' {
		// A ':' directly after the name starts a type annotation, which is
		// exactly one form beginning right after the colon.
		colon := p.pos()
		p.advance()
		r, _ := p.peek()
		next, _ := p.peekAt(p.off + 1)
		switch {
		case r == eof:
			return nil, p.incompletef(colon, "expected a type after '%s:', found end of input", abbrev(name))
		case isSpace(r) || isCloser(r) || r == ';' || (r == '#' && (next == '_' || next == '|')):
			return nil, p.errorf(colon, "expected a type directly after '%s:'", abbrev(name))
		}
		t, err := p.parseForm()
		if err != nil {
			return nil, err
		}
		sym.Type = t
		return sym, nil
	}
	if !isDelimiter(r) {
		if r == utf8.RuneError {
			return nil, p.errorf(p.pos(), "invalid UTF-8 encoding")
		}
		return nil, p.errorf(p.pos(), "unexpected %s in symbol %s", describe(r), abbrev(name))
	}
	return sym, nil
}

func (p *parser) parseResource(start Pos) (Node, error) {
	for range 3 { // "://"
		p.advance()
	}
	nameStart := p.off
	for {
		r, _ := p.peek()
		if isDelimiter(r) {
			break
		}
		if r == utf8.RuneError {
			if _, size := p.peek(); size == 1 {
				return nil, p.errorf(p.pos(), "invalid UTF-8 encoding")
			}
		}
		p.advance()
	}
	name := string(p.src[nameStart:p.off])
	if name == "" {
		return nil, p.errorf(start, "expected a resource name after resource://")
	}
	return &Resource{At: start, Name: name}, nil
}

// parseNumber reads a token that starts like a number. Timestamps and UUIDs
// also start with digits, so they are recognised here first.
func (p *parser) parseNumber(start Pos) (Node, error) {
	tokStart := p.off
	for {
		r, size := p.peek()
		if isDelimiter(r) {
			break
		}
		if r == utf8.RuneError && size == 1 {
			return nil, p.errorf(p.pos(), "invalid UTF-8 encoding")
		}
		p.advance()
	}
	tok := string(p.src[tokStart:p.off])
	switch {
	case isUUID(tok):
		return &UUID{At: start, Text: tok}, nil
	case looksLikeTimestamp(tok):
		if !validTimestamp(tok) {
			return nil, p.errorf(start, "invalid timestamp %s", tok)
		}
		return &Timestamp{At: start, Text: tok}, nil
	}
	n, msg := parseNumber(start, tok)
	if msg != "" {
		return nil, p.errorf(start, "%s", msg)
	}
	return n, nil
}

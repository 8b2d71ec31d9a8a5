package model

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/value"
)

// reader is a small JSON parser specialised for the canonical encoding:
// it decodes straight into RTFS values and model fields, several times
// faster than encoding/json, which matters when verification decodes the
// whole chain. It accepts any valid JSON spelling (whitespace, escapes),
// not only the canonical one.
type reader struct {
	b   []byte
	i   int
	err error
}

const maxDepth = 1000

var errSyntax = errors.New("malformed JSON")

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.i, fmt.Sprintf(format, args...))
	}
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *reader) expect(c byte) bool {
	if r.err != nil {
		return false
	}
	if r.peek() != c {
		r.fail("expected %q", c)
		return false
	}
	r.i++
	return true
}

// literal consumes s (true, false, null) if it comes next.
func (r *reader) literal(s string) bool {
	r.ws()
	if len(r.b)-r.i >= len(s) && string(r.b[r.i:r.i+len(s)]) == s {
		r.i += len(s)
		return true
	}
	return false
}

// end checks that nothing but spaces follows.
func (r *reader) end() {
	if r.err == nil && r.peek() != 0 {
		r.fail("trailing data")
	}
}

func (r *reader) str() string {
	if !r.expect('"') {
		return ""
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := string(r.b[start:r.i])
			r.i++
			return s
		}
		if c == '\\' {
			return r.strEscaped(start)
		}
		if c < 0x20 {
			r.fail("control character in string")
			return ""
		}
		r.i++
	}
	r.fail("unterminated string")
	return ""
}

func (r *reader) strEscaped(start int) string {
	buf := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf)
		case c < 0x20:
			r.fail("control character in string")
			return ""
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			break
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			cp := r.hex4()
			if utf16.IsSurrogate(cp) {
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					r.i += 2
					cp = utf16.DecodeRune(cp, r.hex4())
				} else {
					cp = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, cp)
		default:
			r.fail("bad escape \\%c", e)
			return ""
		}
		if r.err != nil {
			return ""
		}
	}
	r.fail("unterminated string")
	return ""
}

func (r *reader) hex4() rune {
	if r.i+4 > len(r.b) {
		r.fail("short \\u escape")
		return 0
	}
	n, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 32)
	if err != nil {
		r.fail("bad \\u escape")
		return 0
	}
	r.i += 4
	return rune(n)
}

// number returns the text of a JSON number.
func (r *reader) number() string {
	r.ws()
	start := r.i
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			r.i++
			continue
		}
		break
	}
	if start == r.i {
		r.fail("expected a number")
	}
	return string(r.b[start:r.i])
}

func (r *reader) int64() int64 {
	s := r.number()
	if r.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail("integer %s: %v", s, err)
	}
	return n
}

func (r *reader) uint64() uint64 {
	s := r.number()
	if r.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		r.fail("unsigned integer %s: %v", s, err)
	}
	return n
}

func (r *reader) bool() bool {
	switch {
	case r.literal("true"):
		return true
	case r.literal("false"):
		return false
	}
	r.fail("expected a boolean")
	return false
}

// object reads an object, calling field for each key (positioned at the
// value, which field must consume). Repeated keys are errors.
func (r *reader) object(field func(key string)) {
	if !r.expect('{') {
		return
	}
	if r.peek() == '}' {
		r.i++
		return
	}
	var seen []string
	for r.err == nil {
		k := r.str()
		for _, s := range seen {
			if s == k {
				r.fail("repeated key %q", k)
				return
			}
		}
		seen = append(seen, k)
		if !r.expect(':') {
			return
		}
		field(k)
		if r.err != nil {
			return
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return
		default:
			r.fail("expected , or }")
		}
	}
}

// array reads an array, calling elem for each element.
func (r *reader) array(elem func()) {
	if !r.expect('[') {
		return
	}
	if r.peek() == ']' {
		r.i++
		return
	}
	for r.err == nil {
		elem()
		if r.err != nil {
			return
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return
		default:
			r.fail("expected , or ]")
		}
	}
}

// value reads an RTFS value in the canonical tagged form (the inverse of
// EncodeValue, like DecodeValue).
func (r *reader) value(depth int) value.Value {
	if depth > maxDepth {
		r.fail("value nested too deeply")
		return nil
	}
	switch c := r.peek(); {
	case c == 'n':
		if r.literal("null") {
			return nil
		}
	case c == 't' || c == 'f':
		return value.Bool(r.bool())
	case c == '-' || (c >= '0' && c <= '9'):
		return value.Int(r.int64())
	case c == '"':
		return value.String(r.str())
	case c == '[':
		var items []value.Value
		r.array(func() { items = append(items, r.value(depth+1)) })
		return value.NewVector(items...)
	case c == '{':
		return r.tagged(depth)
	}
	r.fail("expected a value")
	return nil
}

func (r *reader) items(depth int) []value.Value {
	var items []value.Value
	r.array(func() { items = append(items, r.value(depth+1)) })
	return items
}

func (r *reader) tagged(depth int) value.Value {
	var out value.Value
	n := 0
	r.object(func(tag string) {
		if n++; n > 1 {
			r.fail("tagged value with several keys")
			return
		}
		switch tag {
		case "$float":
			s := r.str()
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				r.fail("float %q", s)
			}
			out = value.Float(f)
		case "$bytes":
			b, err := base64.StdEncoding.DecodeString(r.str())
			if err != nil {
				r.fail("bytes: %v", err)
			}
			out = value.String(b)
		case "$kw":
			out = value.Keyword(r.str())
		case "$sym":
			out = value.Symbol(r.str())
		case "$ts":
			out = value.Timestamp(r.str())
		case "$uuid":
			out = value.UUID(r.str())
		case "$res":
			out = &value.Resource{Name: r.str()}
		case "$opaque":
			out = value.String(r.str()) // opaque values decode to their printed form
		case "$list":
			out = value.ListFromSlice(r.items(depth))
		case "$set":
			out = value.NewSet(r.items(depth)...)
		case "$map":
			b := value.NewMapBuilder()
			r.array(func() {
				var kv [2]value.Value
				j := 0
				r.array(func() {
					if j < 2 {
						kv[j] = r.value(depth + 2)
					} else {
						r.fail("$map entries are [key value] pairs")
					}
					j++
				})
				if j != 2 {
					r.fail("$map entries are [key value] pairs")
				}
				b.Assoc(kv[0], kv[1])
			})
			out = b.Map()
		case "$error":
			e := &value.Error{}
			r.object(func(k string) {
				v := r.value(depth + 1)
				switch k {
				case "type":
					e.Type = value.Keyword(value.Str(v))
				case "message":
					e.Message = value.Str(v)
				case "data":
					e.Data = v
				default:
					r.fail("unknown $error field %q", k)
				}
			})
			out = e
		default:
			r.fail("unknown tag %q", tag)
		}
	})
	if n == 0 {
		r.fail("empty object is not a value")
	}
	return out
}

// mapValue reads an optional RTFS map (null: nil).
func (r *reader) mapValue(field string) *value.Map {
	v := r.value(0)
	if v == nil || r.err != nil {
		return nil
	}
	m, ok := v.(*value.Map)
	if !ok {
		r.fail("%s: not a map", field)
	}
	return m
}

// floatValue reads an RTFS float.
func (r *reader) floatValue(field string) *float64 {
	v := r.value(0)
	if r.err != nil {
		return nil
	}
	f, ok := v.(value.Float)
	if !ok {
		r.fail("%s: not a float", field)
		return nil
	}
	x := float64(f)
	return &x
}

// strings reads a vector of strings.
func (r *reader) strings(field string) []string {
	var out []string
	r.array(func() {
		v := r.value(1)
		s, ok := v.(value.String)
		if !ok && r.err == nil {
			r.fail("%s: not a string", field)
		}
		out = append(out, string(s))
	})
	return out
}

// actionType reads an action type, without allocating for known ones.
func (r *reader) actionType() ActionType {
	if r.peek() == '"' {
		if j := bytes.IndexByte(r.b[r.i+1:], '"'); j >= 0 {
			if t, ok := actionTypes[string(r.b[r.i+1:r.i+1+j])]; ok {
				r.i += j + 2
				return t
			}
		}
	}
	return ActionType(r.str())
}

// canon is a validating scanner for the verification fast path (see
// HashStoredAction): it accepts only bytes that are exactly the canonical
// encoding of what reader decodes from them, so that the bytes can be
// hashed in place of a decode and re-encode. It is deliberately
// conservative: anything unusual (whitespace, non-canonical escapes,
// $bytes, $error, $opaque, deep nesting, maps and sets of several
// elements whose keys might compare equal as values) is rejected and left
// to the exact path.
type canon struct {
	b []byte
	i int
}

const maxCanonDepth = 64

func (c *canon) next(ch byte) bool {
	if c.i < len(c.b) && c.b[c.i] == ch {
		c.i++
		return true
	}
	return false
}

func (c *canon) lit(s string) bool {
	if len(c.b)-c.i >= len(s) && string(c.b[c.i:c.i+len(s)]) == s {
		c.i += len(s)
		return true
	}
	return false
}

// str checks a JSON string escaped exactly as AppendString escapes and
// returns its raw content (between the quotes); valid8 also requires it to
// be valid UTF-8.
func (c *canon) str(valid8 bool) ([]byte, bool) {
	if !c.next('"') {
		return nil, false
	}
	start := c.i
	for c.i < len(c.b) {
		ch := c.b[c.i]
		if !needsEscape[ch] {
			c.i++
			continue
		}
		switch {
		case ch == '"':
			s := c.b[start:c.i]
			c.i++
			if valid8 && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case ch < 0x20:
			return nil, false
		case ch == '\\':
			if c.i+1 >= len(c.b) {
				return nil, false
			}
			switch c.b[c.i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				c.i += 2
			case 'u':
				if c.i+6 > len(c.b) || c.b[c.i+2] != '0' || c.b[c.i+3] != '0' {
					return nil, false
				}
				h, l := c.b[c.i+4], c.b[c.i+5]
				if h != '0' && h != '1' {
					return nil, false
				}
				var lo byte
				switch {
				case l >= '0' && l <= '9':
					lo = l - '0'
				case l >= 'a' && l <= 'f':
					lo = l - 'a' + 10
				default:
					return nil, false
				}
				switch (h-'0')<<4 | lo {
				case '\b', '\f', '\n', '\r', '\t':
					return nil, false
				}
				c.i += 6
			default:
				return nil, false
			}
		default:
			c.i++
		}
	}
	return nil, false
}

// plain reads a string without escapes (keys, tags, floats, times).
func (c *canon) plain() ([]byte, bool) {
	if !c.next('"') {
		return nil, false
	}
	start := c.i
	for c.i < len(c.b) {
		ch := c.b[c.i]
		if !needsEscape[ch] {
			c.i++
			continue
		}
		if ch == '"' {
			c.i++
			return c.b[start : c.i-1], true
		}
		if ch < 0x20 || ch == '\\' {
			return nil, false
		}
		c.i++
	}
	return nil, false
}

// int checks a canonical int64 (as strconv.AppendInt writes it).
func (c *canon) int() bool {
	neg := c.next('-')
	start := c.i
	var n uint64
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		d := uint64(c.b[c.i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return false
		}
		n = n*10 + d
		c.i++
	}
	switch {
	case c.i == start, c.b[start] == '0' && (c.i-start > 1 || neg):
		return false
	case neg:
		return n <= 1<<63
	}
	return n <= math.MaxInt64
}

// uint checks digits that strconv.ParseUint accepts.
func (c *canon) uint() bool {
	start := c.i
	var n uint64
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		d := uint64(c.b[c.i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return false
		}
		n = n*10 + d
		c.i++
	}
	if c.i == start || c.i < len(c.b) && numberByte(c.b[c.i]) {
		return false
	}
	return true
}

func numberByte(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E'
}

// float checks the body of {"$float":"..."} after the tag.
func (c *canon) float() bool {
	s, ok := c.plain()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return false
	}
	var tmp [32]byte
	var want []byte
	switch {
	case math.IsNaN(f):
		want = append(tmp[:0], "NaN"...)
	case math.IsInf(f, 1):
		want = append(tmp[:0], "+Inf"...)
	case math.IsInf(f, -1):
		want = append(tmp[:0], "-Inf"...)
	default:
		want = strconv.AppendFloat(tmp[:0], f, 'g', -1, 64)
	}
	return bytes.Equal(s, want)
}

// simpleKey reports whether the canonical encoding k is of a scalar whose
// values are equal exactly when their encodings are (so no two distinct
// elements of a map or set can merge when decoded).
func simpleKey(k []byte) bool {
	switch k[0] {
	case 'n', 't', 'f', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	case '{':
		for _, p := range [...]string{`{"$kw":`, `{"$sym":`, `{"$ts":`, `{"$uuid":`} {
			if bytes.HasPrefix(k, []byte(p)) {
				return true
			}
		}
	}
	return false
}

// value checks a canonical RTFS value (no whitespace) and returns whether
// it is one.
func (c *canon) value(depth int) bool {
	if depth > maxCanonDepth || c.i >= len(c.b) {
		return false
	}
	switch ch := c.b[c.i]; {
	case ch == 'n':
		return c.lit("null")
	case ch == 't':
		return c.lit("true")
	case ch == 'f':
		return c.lit("false")
	case ch == '-' || ch >= '0' && ch <= '9':
		return c.int() && !(c.i < len(c.b) && numberByte(c.b[c.i]))
	case ch == '"':
		_, ok := c.str(true)
		return ok
	case ch == '[':
		return c.elems(depth, nil)
	case ch != '{':
		return false
	}
	c.i++
	tag, ok := c.plain()
	if !ok || !c.next(':') {
		return false
	}
	switch string(tag) {
	case "$kw", "$sym", "$ts", "$uuid", "$res":
		_, ok = c.str(false)
	case "$float":
		ok = c.float()
	case "$list":
		ok = c.elems(depth, nil)
	case "$set":
		ok = c.sorted(depth, false)
	case "$map":
		ok = c.sorted(depth, true)
	default:
		return false
	}
	return ok && c.next('}')
}

// elems checks a JSON array of canonical values, calling each (if not
// nil) with the span of every element.
func (c *canon) elems(depth int, each func(start int) bool) bool {
	if !c.next('[') {
		return false
	}
	if c.next(']') {
		return true
	}
	for {
		start := c.i
		if !c.value(depth + 1) {
			return false
		}
		if each != nil && !each(start) {
			return false
		}
		if c.next(']') {
			return true
		}
		if !c.next(',') {
			return false
		}
	}
}

// sorted checks the array of a $set (elements) or $map ([k,v] entries):
// strictly increasing encodings, and with several elements only simple
// keys, pairwise distinct.
func (c *canon) sorted(depth int, pairs bool) bool {
	if !c.next('[') {
		return false
	}
	if c.next(']') {
		return true
	}
	var prev, prevKey []byte
	for n := 0; ; n++ {
		start := c.i
		var key []byte
		if pairs {
			if !c.next('[') {
				return false
			}
			ks := c.i
			if !c.value(depth+2) || !c.next(',') {
				return false
			}
			key = c.b[ks : c.i-1]
			if !c.value(depth+2) || !c.next(']') {
				return false
			}
		} else {
			if !c.value(depth + 1) {
				return false
			}
			key = c.b[start:c.i]
		}
		elem := c.b[start:c.i]
		if n > 0 {
			if !simpleKey(key) || (n == 1 && !simpleKey(prevKey)) ||
				bytes.Compare(prev, elem) >= 0 || bytes.Equal(prevKey, key) {
				return false
			}
		}
		prev, prevKey = elem, key
		if c.next(']') {
			return true
		}
		if !c.next(',') {
			return false
		}
	}
}

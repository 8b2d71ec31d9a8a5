package stdlib

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// registerData registers printing, read-string, JSON and the host-bound
// helpers (context access, tool/log and the compatibility aliases that go
// through capabilities).
func registerData(r *registry) {
	r.add("pr-str", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.String(joinForms(args, value.Repr)), nil
	})
	r.add("prn-str", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.String(joinForms(args, value.Repr) + "\n"), nil
	})
	r.add("print-str", 0, -1, func(_ *eval.Thread, args []Value) (Value, error) {
		return value.String(joinForms(args, value.Str)), nil
	})
	printer := func(th *eval.Thread, args []Value) (Value, error) {
		th.Print(joinForms(args, value.Str))
		return nil, nil
	}
	r.add("println", 0, -1, printer)
	r.add("print", 0, -1, printer)

	r.add("read-string", 1, 1, func(_ *eval.Thread, args []Value) (Value, error) {
		s, err := toString("read-string", args[0])
		if err != nil {
			return nil, err
		}
		n, err := syntax.ParseExpr("", []byte(s))
		if err != nil {
			// The message reads "read-string: line:col: what".
			return nil, &value.Error{Type: value.ErrParse, Message: "read-string: " + err.Error(), Cause: err}
		}
		return value.FromSyntax(n), nil
	})

	r.add("parse-json", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		s, err := toString("parse-json", args[0])
		if err != nil {
			return nil, err
		}
		keywordize := true
		if len(args) > 1 && args[1] != nil {
			opts, ok := args[1].(*value.Map)
			if !ok {
				return nil, typeError("parse-json", "an options map", args[1])
			}
			if k, ok := opts.Get(value.Keyword("keywordize")); ok {
				keywordize = value.Truthy(k)
			}
		}
		p := jsonParser{keywordize: keywordize}
		v, err := p.parse(s)
		if err != nil {
			return nil, err
		}
		if err := th.Charge(p.count); err != nil {
			return nil, err
		}
		return v, nil
	})
	r.add("serialize-json", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		e := jsonEncoder{charge: th.Charge}
		if err := e.encode(args[0], 0); err != nil {
			return nil, err
		}
		return value.String(e.b.String()), nil
	})

	r.add("context-set!", 2, 2, func(th *eval.Thread, args []Value) (Value, error) {
		k, err := contextKey("context-set!", args[0])
		if err != nil {
			return nil, err
		}
		v := args[1]
		if err := th.Host().ContextSet(th, k, v); err != nil {
			return nil, err
		}
		return v, nil
	})
	r.add("context-get", 1, 2, func(th *eval.Thread, args []Value) (Value, error) {
		k, err := contextKey("context-get", args[0])
		if err != nil {
			return nil, err
		}
		v, ok, err := th.Host().Lookup(th, k)
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		}
		return v, nil
	})
	r.add("tool/log", 0, -1, func(th *eval.Thread, args []Value) (Value, error) {
		return nil, th.Host().Log(th, "info", append([]Value(nil), args...))
	})
	r.add("read-lines", 1, 1, func(th *eval.Thread, args []Value) (Value, error) {
		v, err := th.Host().CallCapability(th, "ccos.io.read-file", []Value{args[0]})
		if err != nil {
			return nil, err
		}
		s, ok := v.(value.String)
		if !ok {
			return nil, typeError("read-lines", "file contents as a string", v)
		}
		lines := splitLines(string(s))
		if err := th.Charge(len(lines)); err != nil {
			return nil, err
		}
		b := value.NewVectorBuilder()
		for _, l := range lines {
			b.Append(value.String(l))
		}
		return b.Vector(), nil
	})
	r.add("tool/http-fetch", 1, -1, func(th *eval.Thread, args []Value) (Value, error) {
		return th.Host().CallCapability(th, "ccos.network.http-fetch", append([]Value(nil), args...))
	})
	r.add("tool/current-time", 0, 0, func(th *eval.Thread, _ []Value) (Value, error) {
		return th.Host().CallCapability(th, "ccos.system.current-time", nil)
	})
}

// joinForms joins the printed forms of args with spaces.
func joinForms(args []Value, form func(Value) string) string {
	if len(args) == 1 {
		return form(args[0])
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(form(a))
	}
	return b.String()
}

// contextKey returns the name under which a step-context key is stored:
// keywords, symbols and strings by their (full) name.
func contextKey(fn string, k Value) (string, error) {
	switch x := k.(type) {
	case value.Keyword:
		return string(x), nil
	case value.Symbol:
		return string(x), nil
	case value.String:
		return string(x), nil
	}
	return "", typeError(fn, "a keyword, string or symbol key", k)
}

// splitLines splits text into lines like a line reader: \n or \r\n end a
// line, and a final line terminator does not start an empty line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// ---- JSON ----

// maxJSONDepth bounds the nesting of parsed and serialized JSON.
const maxJSONDepth = 10000

// maxSerializeValues bounds the number of values SerializeJSON writes when
// no evaluation budget is available (lazy ranges could otherwise be
// unbounded in practice).
const maxSerializeValues = 50_000_000

// ParseJSON parses one JSON value. Objects become maps in key order, with
// keyword keys when keywordize is set; integers that fit in 64 bits become
// Int, other numbers Float; duplicate keys keep the last value. Invalid
// JSON, trailing data and out-of-range numbers are :parse-error values.
func ParseJSON(s string, keywordize bool) (value.Value, error) {
	p := jsonParser{keywordize: keywordize}
	return p.parse(s)
}

// SerializeJSON renders v as compact JSON: maps in insertion order,
// keywords and symbols as their names (with namespace, "ns/name"), nil as
// null, vectors, lists and sets as arrays. NaN, infinities, functions,
// atoms and unbounded sequences are :type-error values.
func SerializeJSON(v value.Value) (string, error) {
	e := jsonEncoder{}
	if err := e.encode(v, 0); err != nil {
		return "", err
	}
	return e.b.String(), nil
}

type jsonParser struct {
	dec        *json.Decoder
	keywordize bool
	count      int
}

func jsonError(format string, args ...any) error {
	return value.Errorf(value.ErrParse, "invalid JSON: "+format, args...)
}

func (p *jsonParser) parse(s string) (Value, error) {
	p.dec = json.NewDecoder(strings.NewReader(s))
	p.dec.UseNumber()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, jsonError("%s", decodeMessage(err))
		}
		return nil, jsonError("unexpected data after the value at offset %d", p.dec.InputOffset())
	}
	return v, nil
}

func decodeMessage(err error) string {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

func (p *jsonParser) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		return nil, jsonError("%s", decodeMessage(err))
	}
	return t, nil
}

func (p *jsonParser) value(depth int) (Value, error) {
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	return p.fromToken(t, depth)
}

func (p *jsonParser) fromToken(t json.Token, depth int) (Value, error) {
	p.count++
	switch x := t.(type) {
	case nil:
		return nil, nil
	case bool:
		return value.Bool(x), nil
	case string:
		return value.String(x), nil
	case json.Number:
		return jsonNumber(string(x))
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, jsonError("nesting deeper than %d", maxJSONDepth)
		}
		switch x {
		case '[':
			b := value.NewVectorBuilder()
			for {
				t, err := p.token()
				if err != nil {
					return nil, err
				}
				if t == json.Delim(']') {
					return b.Vector(), nil
				}
				v, err := p.fromToken(t, depth+1)
				if err != nil {
					return nil, err
				}
				b.Append(v)
			}
		case '{':
			b := value.NewMapBuilder()
			for {
				t, err := p.token()
				if err != nil {
					return nil, err
				}
				if t == json.Delim('}') {
					return b.Map(), nil
				}
				k, ok := t.(string)
				if !ok {
					return nil, jsonError("object key is not a string")
				}
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				if p.keywordize {
					b.Assoc(value.Keyword(k), v)
				} else {
					b.Assoc(value.String(k), v)
				}
			}
		}
	}
	return nil, jsonError("unexpected token %v", t)
}

// jsonNumber converts a JSON number: integers that fit in int64 are Int,
// everything else Float.
func jsonNumber(s string) (Value, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return value.Int(i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, jsonError("number %s out of range", s)
	}
	return value.Float(f), nil
}

type jsonEncoder struct {
	b bytes.Buffer
	// charge, when set, is called for every batch of values written.
	charge func(n int) error
	n      int
}

const jsonChargeBatch = 256

func (e *jsonEncoder) tick() error {
	e.n++
	if e.n%jsonChargeBatch != 0 {
		return nil
	}
	if e.charge != nil {
		return e.charge(jsonChargeBatch)
	}
	if e.n > maxSerializeValues {
		return value.Errorf(value.ErrLimit, "serialize-json: more than %d values", maxSerializeValues)
	}
	return nil
}

func (e *jsonEncoder) encode(v Value, depth int) error {
	if depth > maxJSONDepth {
		return value.Errorf(value.ErrType, "serialize-json: value nested deeper than %d", maxJSONDepth)
	}
	if err := e.tick(); err != nil {
		return err
	}
	b := &e.b
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case value.Bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case value.Int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case value.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return value.Errorf(value.ErrType, "serialize-json: %s cannot be represented in JSON", value.FormatFloat(f))
		}
		// FormatFloat always keeps a '.' or an exponent, so the number
		// reads back as a float; its syntax is valid JSON.
		b.WriteString(value.FormatFloat(f))
	case value.String:
		writeJSONString(b, string(x))
	case value.Keyword:
		writeJSONString(b, string(x))
	case value.Symbol:
		writeJSONString(b, string(x))
	case value.Timestamp:
		writeJSONString(b, string(x))
	case value.UUID:
		writeJSONString(b, string(x))
	case *value.Resource:
		writeJSONString(b, "resource://"+x.Name)
	case *value.Map:
		return e.encodeMap(x, depth)
	case *value.Vector:
		b.WriteByte('[')
		var err error
		x.Range(func(i int, el Value) bool {
			if i > 0 {
				b.WriteByte(',')
			}
			err = e.encode(el, depth+1)
			return err == nil
		})
		if err != nil {
			return err
		}
		b.WriteByte(']')
	case *value.List:
		return e.encodeSeq(x.Range, depth)
	case *value.Set:
		return e.encodeSeq(x.Range, depth)
	case *value.Range:
		if x.N < 0 {
			return value.Errorf(value.ErrType, "serialize-json: cannot serialize an unbounded sequence")
		}
		return e.encodeSeq(func(f func(Value) bool) {
			for i := int64(0); i < x.N; i++ {
				if !f(x.At(i)) {
					return
				}
			}
		}, depth)
	case *value.Error:
		m := value.NewMap(value.Keyword("type"), x.Type, value.Keyword("message"), value.String(x.Message))
		if x.Data != nil {
			m = m.Assoc(value.Keyword("data"), x.Data)
		}
		return e.encodeMap(m, depth)
	default:
		return value.Errorf(value.ErrType, "serialize-json: cannot serialize a %s", value.TypeName(v))
	}
	return nil
}

func (e *jsonEncoder) encodeSeq(each func(func(Value) bool), depth int) error {
	e.b.WriteByte('[')
	first := true
	var err error
	each(func(el Value) bool {
		if !first {
			e.b.WriteByte(',')
		}
		first = false
		err = e.encode(el, depth+1)
		return err == nil
	})
	if err != nil {
		return err
	}
	e.b.WriteByte(']')
	return nil
}

func (e *jsonEncoder) encodeMap(m *value.Map, depth int) error {
	e.b.WriteByte('{')
	var seen map[string]bool
	if m.Len() > 1 {
		seen = make(map[string]bool, m.Len())
	}
	first := true
	var err error
	m.Range(func(k, v Value) bool {
		var name string
		if name, err = jsonKey(k); err != nil {
			return false
		}
		if seen != nil {
			if seen[name] {
				err = value.Errorf(value.ErrType, "serialize-json: duplicate key %s", strconv.Quote(name))
				return false
			}
			seen[name] = true
		}
		if !first {
			e.b.WriteByte(',')
		}
		first = false
		writeJSONString(&e.b, name)
		e.b.WriteByte(':')
		err = e.encode(v, depth+1)
		return err == nil
	})
	if err != nil {
		return err
	}
	e.b.WriteByte('}')
	return nil
}

// jsonKey returns the JSON object key for a map key: strings as they are,
// keywords and symbols by name, nil as "null", other scalars and data as
// their str form.
func jsonKey(k Value) (string, error) {
	switch x := k.(type) {
	case nil:
		return "null", nil
	case value.String:
		return string(x), nil
	case value.Keyword:
		return string(x), nil
	case value.Symbol:
		return string(x), nil
	case value.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", value.Errorf(value.ErrType, "serialize-json: %s cannot be represented in JSON", value.FormatFloat(f))
		}
	case value.Fn, *value.Atom:
		return "", value.Errorf(value.ErrType, "serialize-json: cannot use a %s as an object key", value.TypeName(k))
	}
	return value.Str(k), nil
}

// writeJSONString writes s as a JSON string like encoding/json does, but
// without escaping <, > and &. Invalid UTF-8 becomes U+FFFD.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

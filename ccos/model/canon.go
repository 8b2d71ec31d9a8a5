package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/value"
)

// EncodingVersion identifies the canonical encoding. It is part of every
// encoded object (key "v"), so a future encoding cannot be confused with
// this one.
const EncodingVersion = 1

// The canonical encoding is JSON in the shape of RFC 8785 (JCS): object
// keys sorted, no insignificant whitespace, strings escaped minimally, and
// UTF-8 output. RTFS values use a tagged form so that every value maps to
// exactly one encoding and back:
//
//	nil true false          null true false
//	integers                JSON integers (exact decimal, any int64)
//	floats                  {"$float":"1.5"} (shortest round-trip, or NaN, +Inf, -Inf)
//	strings                 JSON strings; invalid UTF-8 as {"$bytes":"base64"}
//	keywords, symbols       {"$kw":"ns/name"}, {"$sym":"name"}
//	vectors                 JSON arrays
//	lists                   {"$list":[...]}
//	maps                    {"$map":[[k,v],...]} sorted by the encoding of k
//	sets                    {"$set":[...]} sorted by encoding
//	timestamps, UUIDs       {"$ts":"..."}, {"$uuid":"..."}
//	resource handles        {"$res":"name"}
//	errors                  {"$error":{"data":...,"message":"...","type":"..."}}
//	functions, atoms, ...   {"$opaque":"#<fn f>"} (not decodable to the original)
//
// Sorting map entries and set elements makes the encoding a function of
// the value, not of insertion order, so equal values hash equally.

// ErrUnbounded is returned when asked to encode an unbounded sequence.
var ErrUnbounded = errors.New("cannot encode an unbounded sequence")

// maxEncodeDepth bounds nesting so hostile values cannot exhaust the stack.
const maxEncodeDepth = 1000

// AppendValue appends the canonical encoding of v to buf.
func AppendValue(buf []byte, v value.Value) ([]byte, error) {
	return appendValue(buf, v, 0)
}

// EncodeValue returns the canonical encoding of v.
func EncodeValue(v value.Value) ([]byte, error) { return AppendValue(nil, v) }

func tagged(buf []byte, tag string) []byte {
	buf = append(buf, `{"`...)
	buf = append(buf, tag...)
	return append(buf, `":`...)
}

func appendValue(buf []byte, v value.Value, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, errors.New("value nested too deeply to encode")
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case value.Bool:
		return strconv.AppendBool(buf, bool(x)), nil
	case value.Int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case value.Float:
		buf = tagged(buf, "$float")
		buf = append(appendFloat(append(buf, '"'), float64(x)), '"')
		return append(buf, '}'), nil
	case value.String:
		if !utf8.ValidString(string(x)) {
			buf = tagged(buf, "$bytes")
			return append(AppendString(buf, base64.StdEncoding.EncodeToString([]byte(x))), '}'), nil
		}
		return AppendString(buf, string(x)), nil
	case value.Keyword:
		buf = tagged(buf, "$kw")
		return append(AppendString(buf, string(x)), '}'), nil
	case value.Symbol:
		buf = tagged(buf, "$sym")
		return append(AppendString(buf, string(x)), '}'), nil
	case value.Timestamp:
		buf = tagged(buf, "$ts")
		return append(AppendString(buf, string(x)), '}'), nil
	case value.UUID:
		buf = tagged(buf, "$uuid")
		return append(AppendString(buf, string(x)), '}'), nil
	case *value.Resource:
		buf = tagged(buf, "$res")
		return append(AppendString(buf, x.Name), '}'), nil
	case *value.Vector:
		buf = append(buf, '[')
		x.Range(func(i int, e value.Value) bool {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf, err = appendValue(buf, e, depth+1)
			return err == nil
		})
		return append(buf, ']'), err
	case *value.List:
		buf = tagged(buf, "$list")
		buf = append(buf, '[')
		i := 0
		x.Range(func(e value.Value) bool {
			if i > 0 {
				buf = append(buf, ',')
			}
			i++
			buf, err = appendValue(buf, e, depth+1)
			return err == nil
		})
		return append(buf, "]}"...), err
	case *value.Range:
		if x.N < 0 {
			return nil, ErrUnbounded
		}
		buf = tagged(buf, "$list")
		buf = append(buf, '[')
		for i := int64(0); i < x.N; i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, int64(x.At(i)), 10)
		}
		return append(buf, "]}"...), nil
	case *value.Repeat, *value.Generator:
		return nil, ErrUnbounded
	case *value.Map:
		if x.Len() == 1 {
			// Nothing to sort: write the entry in place.
			buf = append(tagged(buf, "$map"), '[', '[')
			x.Range(func(k, e value.Value) bool {
				if buf, err = appendValue(buf, k, depth+1); err != nil {
					return false
				}
				buf = append(buf, ',')
				buf, err = appendValue(buf, e, depth+1)
				return false
			})
			if err != nil {
				return nil, err
			}
			return append(buf, "]]}"...), nil
		}
		a := getArena()
		defer putArena(a)
		x.Range(func(k, e value.Value) bool {
			start := len(a.buf)
			a.buf = append(a.buf, '[')
			if a.buf, err = appendValue(a.buf, k, depth+1); err != nil {
				return false
			}
			a.buf = append(a.buf, ',')
			if a.buf, err = appendValue(a.buf, e, depth+1); err != nil {
				return false
			}
			a.buf = append(a.buf, ']')
			a.spans = append(a.spans, [2]int{start, len(a.buf)})
			return true
		})
		if err != nil {
			return nil, err
		}
		return a.appendSorted(tagged(buf, "$map")), nil
	case *value.Set:
		a := getArena()
		defer putArena(a)
		x.Range(func(e value.Value) bool {
			start := len(a.buf)
			a.buf, err = appendValue(a.buf, e, depth+1)
			a.spans = append(a.spans, [2]int{start, len(a.buf)})
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		return a.appendSorted(tagged(buf, "$set")), nil
	case *value.Error:
		buf = tagged(buf, "$error")
		buf = append(buf, `{"data":`...)
		if buf, err = appendValue(buf, x.Data, depth+1); err != nil {
			return nil, err
		}
		buf = append(buf, `,"message":`...)
		buf = AppendString(buf, x.Message)
		buf = append(buf, `,"type":`...)
		buf = AppendString(buf, string(x.Type))
		return append(buf, "}}"...), nil
	}
	buf = tagged(buf, "$opaque")
	return append(AppendString(buf, value.Repr(v)), '}'), nil
}

// arena holds the encodings of a map's entries or a set's elements in one
// buffer, so that sorting them costs two allocations, not one per element.
type arena struct {
	buf   []byte
	spans [][2]int
}

var arenas = sync.Pool{New: func() any { return new(arena) }}

func getArena() *arena { return arenas.Get().(*arena) }

func putArena(a *arena) {
	if cap(a.buf) > 64<<10 || cap(a.spans) > 4096 {
		return // do not keep huge buffers alive
	}
	a.buf, a.spans = a.buf[:0], a.spans[:0]
	arenas.Put(a)
}

// appendSorted writes the elements as a JSON array in byte order, closing
// the tag object.
func (a *arena) appendSorted(buf []byte) []byte {
	b := a.buf
	if len(a.spans) > 1 {
		slices.SortFunc(a.spans, func(x, y [2]int) int { return bytes.Compare(b[x[0]:x[1]], b[y[0]:y[1]]) })
	}
	buf = append(buf, '[')
	for i, sp := range a.spans {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b[sp[0]:sp[1]]...)
	}
	return append(buf, "]}"...)
}

// appendFloat appends formatFloat(f).
func appendFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "+Inf"...)
	case math.IsInf(f, -1):
		return append(buf, "-Inf"...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// AppendString appends s as a JSON string escaped as RFC 8785 requires:
// only '"', '\\' and control characters, with the short escapes where
// JSON has them. s must be valid UTF-8.
func AppendString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	// Copy the run of bytes that need no escaping in one go.
	i := 0
	for i < len(s) && !needsEscape[s[i]] {
		i++
	}
	buf = append(buf, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			buf = append(buf, `\"`...)
		case c == '\\':
			buf = append(buf, `\\`...)
		case c >= 0x20:
			buf = append(buf, c)
		case c == '\b':
			buf = append(buf, `\b`...)
		case c == '\f':
			buf = append(buf, `\f`...)
		case c == '\n':
			buf = append(buf, `\n`...)
		case c == '\r':
			buf = append(buf, `\r`...)
		case c == '\t':
			buf = append(buf, `\t`...)
		default:
			buf = append(buf, `\u00`...)
			buf = append(buf, hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(buf, '"')
}

// needsEscape marks the bytes AppendString escapes.
var needsEscape = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// object builds a canonical JSON object: fields are sorted by key when
// written.
type object struct {
	keys []string
	vals [][]byte
	err  error
}

func (o *object) raw(key string, v []byte) { o.keys = append(o.keys, key); o.vals = append(o.vals, v) }
func (o *object) str(key, s string)        { o.raw(key, AppendString(nil, s)) }
func (o *object) int(key string, i int64) {
	o.raw(key, strconv.AppendInt(nil, i, 10))
}
func (o *object) time(key string, t time.Time) { o.str(key, FormatTime(t)) }
func (o *object) value(key string, v value.Value) {
	b, err := EncodeValue(v)
	if err != nil && o.err == nil {
		o.err = fmt.Errorf("%s: %w", key, err)
	}
	o.raw(key, b)
}

// optStr adds a string field only when it is not empty.
func (o *object) optStr(key, s string) {
	if s != "" {
		o.str(key, s)
	}
}

func (o *object) bytes() ([]byte, error) {
	if o.err != nil {
		return nil, o.err
	}
	idx := make([]int, len(o.keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return o.keys[idx[a]] < o.keys[idx[b]] })
	buf := []byte{'{'}
	for n, i := range idx {
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, o.keys[i])
		buf = append(buf, ':')
		buf = append(buf, o.vals[i]...)
	}
	return append(buf, '}'), nil
}

// FormatTime formats a time canonically: UTC, millisecond precision.
func FormatTime(t time.Time) string { return Millis(t).Format("2006-01-02T15:04:05.000Z") }

// ParseTime parses a time written by FormatTime.
func ParseTime(s string) (time.Time, error) {
	return time.Parse("2006-01-02T15:04:05.000Z", s)
}

// mapOrNil converts a possibly nil *value.Map to a Value (nil for nil).
func mapOrNil(m *value.Map) value.Value {
	if m == nil {
		return nil
	}
	return m
}

func stringVector(xs []string) value.Value {
	vs := make([]value.Value, len(xs))
	for i, x := range xs {
		vs[i] = value.String(x)
	}
	return value.NewVector(vs...)
}

// appendAction writes the canonical encoding of a, with its hash when
// withHash. Actions are encoded on the ledger's hot paths (append and
// verify), so the fields are written directly in sorted key order instead
// of through the generic object builder; TestActionHash pins the bytes.
func appendAction(buf []byte, a *Action, withHash bool) ([]byte, error) {
	return appendActionAt(buf, a, withHash, nil, nil)
}

// ContentOffsets are where an action's prev_hash value and seq digits
// start in its encoded content (-1 when prev_hash is absent).
type ContentOffsets struct {
	PrevHash, Seq int
	// Hash is where EncodeAction's `,"hash":"..."` member goes.
	Hash int
}

// ActionContentOffsets encodes a's content like ActionContent and reports
// where its prev_hash value and seq digits are, so that a writer that
// learns them later can splice them in without encoding again.
func ActionContentOffsets(a *Action) ([]byte, ContentOffsets, error) {
	return AppendActionContentOffsets(nil, a, nil)
}

// AppendActionContentOffsets is ActionContentOffsets appending to buf
// (offsets are relative to the start of the appended content). meta, if
// not nil, must be EncodeValue(a.Metadata): a caller that records the same
// immutable metadata map many times encodes it once. It is written as is.
func AppendActionContentOffsets(buf []byte, a *Action, meta []byte) ([]byte, ContentOffsets, error) {
	offs := ContentOffsets{PrevHash: -1}
	start := len(buf)
	b, err := appendActionAt(buf, a, false, &offs, meta)
	if offs.PrevHash >= 0 {
		offs.PrevHash -= start
	}
	offs.Seq -= start
	offs.Hash -= start
	return b, offs, err
}

func appendActionAt(buf []byte, a *Action, withHash bool, offs *ContentOffsets, meta []byte) ([]byte, error) {
	var err error
	str := func(key, s string) {
		if s != "" {
			buf = append(buf, ',', '"')
			buf = append(buf, key...)
			buf = append(buf, '"', ':')
			buf = AppendString(buf, s)
		}
	}
	val := func(key string, v value.Value) {
		if err != nil {
			return
		}
		buf = append(buf, ',', '"')
		buf = append(buf, key...)
		buf = append(buf, '"', ':')
		if buf, err = AppendValue(buf, v); err != nil {
			err = fmt.Errorf("%s: %w", key, err)
		}
	}
	buf = append(buf, `{"action_id":`...)
	buf = AppendString(buf, a.ActionID)
	if a.Args != nil {
		val("args", a.Args)
	}
	if a.Cost != nil {
		val("cost", value.Float(*a.Cost))
	}
	if a.DurationMs != nil {
		buf = append(buf, `,"duration_ms":`...)
		buf = strconv.AppendInt(buf, *a.DurationMs, 10)
	}
	if withHash {
		str("hash", a.Hash)
	} else if offs != nil {
		offs.Hash = len(buf)
	}
	str("intent_id", a.IntentID)
	if meta != nil && a.Metadata != nil {
		buf = append(buf, `,"metadata":`...)
		buf = append(buf, meta...)
	} else if a.Metadata != nil {
		val("metadata", a.Metadata)
	}
	str("name", a.Name)
	str("parent_action_id", a.ParentActionID)
	str("plan_id", a.PlanID)
	if offs != nil && a.PrevHash != "" {
		offs.PrevHash = len(buf) + len(`,"prev_hash":"`)
	}
	str("prev_hash", a.PrevHash)
	if r := a.Result; r != nil {
		buf = append(buf, `,"result":{`...)
		if r.Error != nil {
			buf = append(buf, `"error":{`...)
			if r.Error.Data != nil && err == nil {
				buf = append(buf, `"data":`...)
				if buf, err = AppendValue(buf, r.Error.Data); err != nil {
					err = fmt.Errorf("result error data: %w", err)
				}
				buf = append(buf, ',')
			}
			buf = append(buf, `"message":`...)
			buf = AppendString(buf, r.Error.Message)
			buf = append(buf, `,"type":`...)
			buf = AppendString(buf, r.Error.Type)
			buf = append(buf, `},`...)
		}
		buf = append(buf, `"success":`...)
		buf = strconv.AppendBool(buf, r.Success)
		if r.Value != nil {
			val("value", r.Value)
		}
		buf = append(buf, '}')
	}
	str("run_id", a.RunID)
	buf = append(buf, `,"seq":`...)
	if offs != nil {
		offs.Seq = len(buf)
	}
	buf = strconv.AppendUint(buf, a.Seq, 10)
	buf = append(buf, `,"timestamp":"`...)
	buf = Millis(a.Timestamp).AppendFormat(buf, "2006-01-02T15:04:05.000Z")
	buf = append(buf, `","type":`...)
	buf = AppendString(buf, string(a.Type))
	buf = append(buf, `,"v":`...)
	buf = strconv.AppendInt(buf, EncodingVersion, 10)
	buf = append(buf, '}')
	return buf, err
}

// ActionContent returns the canonical encoding of every field of a but
// Hash: the bytes the hash covers.
func ActionContent(a *Action) ([]byte, error) { return appendAction(nil, a, false) }

// AppendActionContent appends ActionContent(a) to buf.
func AppendActionContent(buf []byte, a *Action) ([]byte, error) { return appendAction(buf, a, false) }

// HashAction computes the hash of a (hex SHA-256 of ActionContent).
func HashAction(a *Action) (string, error) {
	bp := encBufs.Get().(*[]byte)
	b, err := appendAction((*bp)[:0], a, false)
	var sum [sha256.Size]byte
	if err == nil {
		sum = sha256.Sum256(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		encBufs.Put(bp)
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

// encBufs holds encoding buffers for HashAction.
var encBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// EncodeAction returns the canonical encoding of a including its hash,
// as stored and printed by --json.
func EncodeAction(a *Action) ([]byte, error) { return appendAction(nil, a, true) }

// EncodeIntent returns the canonical encoding of an intent.
func EncodeIntent(in *Intent) ([]byte, error) {
	o := &object{}
	o.int("v", EncodingVersion)
	o.str("intent_id", in.ID)
	o.optStr("name", in.Name)
	o.str("original_request", in.OriginalRequest)
	o.str("goal", in.Goal)
	o.value("constraints", mapOrNil(in.Constraints))
	o.value("preferences", mapOrNil(in.Preferences))
	o.optStr("success_criteria", in.SuccessCriteria)
	o.str("status", string(in.Status))
	o.int("priority", in.Priority)
	o.optStr("parent_intent", in.ParentIntent)
	o.str("triggered_by", string(in.TriggeredBy))
	o.value("generation_context", mapOrNil(in.GenerationContext))
	o.time("created_at", in.CreatedAt)
	o.time("updated_at", in.UpdatedAt)
	o.value("metadata", mapOrNil(in.Metadata))
	o.optStr("source", in.Source)
	return o.bytes()
}

// EncodeEdge returns the canonical encoding of an intent edge.
func EncodeEdge(e *IntentEdge) ([]byte, error) {
	o := &object{}
	o.int("v", EncodingVersion)
	o.str("from", e.From)
	o.str("to", e.To)
	o.str("type", string(e.Type))
	if e.Weight != nil {
		o.value("weight", value.Float(*e.Weight))
	}
	o.value("metadata", mapOrNil(e.Metadata))
	return o.bytes()
}

// planObject encodes a plan; the status is left out of the content hash
// because it changes while the content does not.
func planObject(p *Plan, withStatus bool) *object {
	o := &object{}
	o.int("v", EncodingVersion)
	o.str("plan_id", p.ID)
	o.optStr("name", p.Name)
	o.value("intent_ids", stringVector(p.IntentIDs))
	o.str("language", p.Language)
	o.str("body", p.Body)
	o.value("input_schema", p.InputSchema)
	o.value("output_schema", p.OutputSchema)
	o.value("policies", mapOrNil(p.Policies))
	o.value("capabilities_required", stringVector(p.CapabilitiesRequired))
	o.value("annotations", mapOrNil(p.Annotations))
	o.time("created_at", p.CreatedAt)
	if withStatus {
		o.str("status", string(p.Status))
	}
	return o
}

// EncodePlan returns the canonical encoding of a plan, status included.
func EncodePlan(p *Plan) ([]byte, error) { return planObject(p, true).bytes() }

// HashPlan returns the content address of a plan: hex SHA-256 of its
// canonical encoding without the status.
func HashPlan(p *Plan) (string, error) {
	b, err := planObject(p, false).bytes()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// CheckpointPayload returns the bytes a checkpoint's signature covers.
func CheckpointPayload(c *Checkpoint) []byte {
	o := &object{}
	o.int("v", EncodingVersion)
	o.int("seq", int64(c.Seq))
	o.str("head", c.HeadHash)
	o.time("time", c.Time)
	o.str("key_id", c.KeyID)
	b, _ := o.bytes()
	return b
}

// DecodeValue decodes a canonical (tagged) encoding back to an RTFS value.
// Maps and sets come back in encoding order.
func DecodeValue(data []byte) (value.Value, error) {
	r := &reader{b: data}
	v := r.value(0)
	r.end()
	if r.err != nil {
		return nil, fmt.Errorf("canonical value: %w", r.err)
	}
	return v, nil
}

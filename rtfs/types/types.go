// Package types implements RTFS type expressions (RTFS.md §8): parsing them
// from data and validating values against them. The evaluator uses it for
// annotations; capability manifests use it for input and output schemas.
//
// # Language
//
// Primitives are written as keywords or symbols: int float number string
// bool (alias boolean) nil keyword symbol any never, the kinds map vector
// list set fn (any value of that kind), and uuid timestamp resource. The
// alias integer is accepted for int. A primitive or kind name followed by ?
// (string?, :int?) is optional: it also accepts nil. nil?, any? and never?
// are not types (nil? is a predicate function, the others are redundant).
//
// Constructors are vectors headed by a keyword:
//
//	[:vector T] [:list T] [:set T] [:tuple T...] [:map-of K V]
//	[:map [:k T] [:k T {:optional true}] ...]   ; extra keys allowed; [:map] = any map
//	[:union T...] [:enum v...] [:val v] [:optional T] [:fn [P... & R] Ret]
//	[:and T-or-pred ...]
//
// Predicates may only appear as direct members of [:and ...]:
//
//	[:> n] [:>= n] [:< n] [:<= n] [:= v] [:!= v] [:in-range lo hi]
//	[:min-length n] [:max-length n] [:length n] [:matches-regex "re"]
//	[:min-count n] [:max-count n] [:non-empty] [:has-key k] [:required-keys [k...]]
//
// # Decisions
//
//   - Numeric comparisons mix Int and Float exactly (no precision loss for
//     large ints); NaN never satisfies a comparison; a non-number fails.
//   - [:= v], [:!= v], [:enum ...] and [:val v] use value.Equal, so 1 and 1.0
//     differ, as with the = function.
//   - [:matches-regex "re"] uses Go RE2 search semantics (regexp.MatchString):
//     the pattern may match anywhere; anchor it with ^...$ for a full match.
//     It only accepts strings.
//   - Lengths and counts: strings count code points; vectors, lists, maps,
//     sets and bounded ranges count elements; both families accept both.
//     Unbounded sequences (ranges with N < 0, repeat, generators) count as
//     infinite: minimum bounds and [:non-empty] pass, maximum and exact
//     bounds fail. Other values (including nil) fail.
//   - [:list T] accepts lists and bounded ranges; [:tuple ...] accepts any
//     bounded sequential value. Element checks on unbounded sequences fail
//     with Expected "a bounded sequence". Ranges are checked lazily; when the
//     element type accepts every integer the check is O(1), otherwise at
//     most MaxRangeCheck elements are examined before failing.
//   - A field marked {:optional true} may be absent, but when present its
//     value must conform (write T? to also allow nil). Field keys may be any
//     value (keywords, strings, ...); property maps may also be written in
//     Malli position ([:k {:optional true} T]); properties other than
//     :optional are accepted and dropped.
//   - Parsing bounds nesting to MaxDepth levels. Check recursion follows the
//     type's structure, so it is bounded by the same limit.
//   - String is the canonical form: keywords everywhere, aliases resolved,
//     [:optional P] of a primitive printed as :P?.
package types

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// MaxDepth bounds the nesting of a type expression.
const MaxDepth = 1000

// MaxRangeCheck bounds how many elements of a lazy range are checked one
// by one against an element type that does not accept every integer.
const MaxRangeCheck = 1 << 20

type op uint8

const (
	opPrim op = iota
	opVector
	opList
	opSet
	opTuple
	opMap
	opMapOf
	opUnion
	opEnum
	opVal
	opFn
	opOptional
	opAnd
	// predicates
	opGT
	opGE
	opLT
	opLE
	opEq
	opNe
	opInRange
	opMinLen
	opMaxLen
	opLen
	opRegex
	opMinCount
	opMaxCount
	opNonEmpty
	opHasKey
	opReqKeys
)

type prim uint8

const (
	pInt prim = iota
	pFloat
	pNumber
	pString
	pBool
	pNil
	pKeyword
	pSymbol
	pAny
	pNever
	pMap
	pVector
	pList
	pSet
	pFn
	pUUID
	pTimestamp
	pResource
)

var primNames = [...]string{
	pInt: "int", pFloat: "float", pNumber: "number", pString: "string",
	pBool: "bool", pNil: "nil", pKeyword: "keyword", pSymbol: "symbol",
	pAny: "any", pNever: "never", pMap: "map", pVector: "vector",
	pList: "list", pSet: "set", pFn: "fn", pUUID: "uuid",
	pTimestamp: "timestamp", pResource: "resource",
}

var primByName = func() map[string]prim {
	m := make(map[string]prim, len(primNames)+2)
	for i, n := range primNames {
		m[n] = prim(i)
	}
	m["boolean"] = pBool
	m["integer"] = pInt
	return m
}()

// the primitive Types are shared.
var prims = func() []*Type {
	out := make([]*Type, len(primNames))
	for i := range primNames {
		out[i] = &Type{op: opPrim, prim: prim(i)}
	}
	return out
}()

var predNames = map[string]op{
	">": opGT, ">=": opGE, "<": opLT, "<=": opLE, "=": opEq, "!=": opNe,
	"in-range": opInRange, "min-length": opMinLen, "max-length": opMaxLen,
	"length": opLen, "matches-regex": opRegex, "min-count": opMinCount,
	"max-count": opMaxCount, "non-empty": opNonEmpty, "has-key": opHasKey,
	"required-keys": opReqKeys,
}

var opNames = map[op]string{
	opVector: "vector", opList: "list", opSet: "set", opTuple: "tuple",
	opMap: "map", opMapOf: "map-of", opUnion: "union", opEnum: "enum",
	opVal: "val", opFn: "fn", opOptional: "optional", opAnd: "and",
}

var ctorNames = func() map[string]op {
	m := make(map[string]op, len(opNames))
	for o, n := range opNames {
		m[n] = o
	}
	return m
}()

func init() {
	for n, o := range predNames {
		opNames[o] = n
	}
}

// Type is a parsed type expression. It is immutable and safe for
// concurrent use.
type Type struct {
	op     op
	prim   prim          // opPrim
	args   []*Type       // element types, members, fn params
	fields []field       // opMap
	vals   []value.Value // enum/val/=/!=/has-key/required-keys values, numeric bounds
	n      int           // length and count bounds
	re     *regexp.Regexp
	rest   *Type // opFn variadic parameter
	ret    *Type // opFn return type (nil when omitted)
}

type field struct {
	key      value.Value
	typ      *Type
	optional bool
}

// Any is the type that accepts every value.
var Any = prims[pAny]

// ParseError reports an invalid type expression. Its message names the
// offending part, e.g. "[:vector]: :vector expects exactly 1 argument(s), got 0".
type ParseError struct {
	Expr value.Value // the offending part
	Msg  string
}

func (e *ParseError) Error() string {
	return short(e.Expr) + ": " + e.Msg
}

func perr(v value.Value, format string, args ...any) error {
	return &ParseError{Expr: v, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a type expression given as RTFS data (as produced by the
// reader and value.FromSyntax).
func Parse(v value.Value) (*Type, error) {
	return parse(v, 0, false)
}

// MustParse parses RTFS source text holding one type expression and panics
// on error. It is meant for tests and Go literals.
func MustParse(src string) *Type {
	n, err := syntax.ParseExpr("type", []byte(src))
	if err != nil {
		panic(fmt.Sprintf("types.MustParse(%q): %v", src, err))
	}
	t, err := Parse(value.FromSyntax(n))
	if err != nil {
		panic(fmt.Sprintf("types.MustParse(%q): %v", src, err))
	}
	return t
}

func parseName(v value.Value, name string) (*Type, error) {
	if p, ok := primByName[name]; ok {
		return prims[p], nil
	}
	if base, ok := strings.CutSuffix(name, "?"); ok {
		if p, ok := primByName[base]; ok && p != pNil && p != pAny && p != pNever {
			return &Type{op: opOptional, args: []*Type{prims[p]}}, nil
		}
	}
	if o, ok := predNames[name]; ok && o == opNonEmpty {
		return nil, perr(v, "predicate %s is only allowed inside [:and ...]", name)
	}
	if _, ok := ctorNames[name]; ok {
		return nil, perr(v, "%s needs arguments: write [:%s ...]", name, name)
	}
	return nil, perr(v, "unknown type")
}

func parse(v value.Value, depth int, inAnd bool) (*Type, error) {
	if depth >= MaxDepth {
		return nil, perr(v, "nested deeper than %d levels", MaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return prims[pNil], nil
	case value.Keyword:
		if inAnd && x == "non-empty" {
			return &Type{op: opNonEmpty}, nil
		}
		return parseName(v, string(x))
	case value.Symbol:
		return parseName(v, string(x))
	case *value.Vector:
		return parseForm(x, depth, inAnd)
	}
	return nil, perr(v, "expected a keyword, symbol or vector, got %s", value.TypeName(v))
}

func parseForm(x *value.Vector, depth int, inAnd bool) (*Type, error) {
	if x.Len() == 0 {
		return nil, perr(x, "empty vector")
	}
	items := x.Items()
	head, ok := items[0].(value.Keyword)
	if !ok {
		if s, isSym := items[0].(value.Symbol); isSym {
			head = value.Keyword(s)
		} else {
			return nil, perr(x, "a type form must start with a keyword, got %s", value.TypeName(items[0]))
		}
	}
	args := items[1:]
	name := string(head)
	if o, ok := predNames[name]; ok {
		if !inAnd {
			return nil, perr(x, "predicate :%s is only allowed inside [:and ...]", name)
		}
		return parsePred(x, o, args)
	}
	o, ok := ctorNames[name]
	if !ok {
		if _, isPrim := primByName[name]; isPrim {
			return nil, perr(x, ":%s takes no arguments", name)
		}
		return nil, perr(x, "unknown type constructor :%s", name)
	}
	arity := func(min, max int) error {
		if len(args) >= min && (max < 0 || len(args) <= max) {
			return nil
		}
		var want string
		switch {
		case min == max:
			want = fmt.Sprintf("exactly %d", min)
		case max < 0:
			want = fmt.Sprintf("at least %d", min)
		default:
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return perr(x, ":%s expects %s argument(s), got %d", name, want, len(args))
	}
	sub := func(v value.Value) (*Type, error) { return parse(v, depth+1, false) }
	subs := func(vs []value.Value) ([]*Type, error) {
		out := make([]*Type, len(vs))
		for i, a := range vs {
			t, err := sub(a)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	t := &Type{op: o}
	var err error
	switch o {
	case opVector, opList, opSet, opOptional:
		if err := arity(1, 1); err != nil {
			return nil, err
		}
		t.args, err = subs(args)
	case opMapOf:
		if err := arity(2, 2); err != nil {
			return nil, err
		}
		t.args, err = subs(args)
	case opTuple:
		t.args, err = subs(args)
	case opUnion:
		if err := arity(1, -1); err != nil {
			return nil, err
		}
		t.args, err = subs(args)
	case opEnum:
		if err := arity(1, -1); err != nil {
			return nil, err
		}
		t.vals = args
	case opVal:
		if err := arity(1, 1); err != nil {
			return nil, err
		}
		t.vals = args
	case opMap:
		err = parseFields(t, args, depth)
	case opFn:
		err = parseFn(t, x, args, depth)
	case opAnd:
		if err := arity(1, -1); err != nil {
			return nil, err
		}
		t.args = make([]*Type, len(args))
		for i, a := range args {
			if t.args[i], err = parse(a, depth+1, true); err != nil {
				return nil, err
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func parseFields(t *Type, args []value.Value, depth int) error {
	seen := value.NewMapBuilder()
	for _, a := range args {
		fv, ok := a.(*value.Vector)
		if !ok || fv.Len() < 2 || fv.Len() > 3 {
			return perr(a, "a :map entry must be [key type] or [key type {:optional true}]")
		}
		f := fv.Items()
		key := f[0]
		var tv, props value.Value = f[1], nil
		if len(f) == 3 {
			if _, isMap := f[1].(*value.Map); isMap {
				props, tv = f[1], f[2] // Malli order [k {props} T]
			} else {
				props = f[2]
			}
		}
		if _, dup := seen.Get(key); dup {
			return perr(a, "duplicate key %s in :map", short(key))
		}
		seen.Assoc(key, value.True)
		ft, err := parse(tv, depth+2, false)
		if err != nil {
			return err
		}
		fld := field{key: key, typ: ft}
		if props != nil {
			pm, ok := props.(*value.Map)
			if !ok {
				return perr(a, "field properties must be a map, got %s", value.TypeName(props))
			}
			if o, found := pm.Get(value.Keyword("optional")); found {
				b, ok := o.(value.Bool)
				if !ok {
					return perr(a, ":optional must be true or false")
				}
				fld.optional = bool(b)
			}
		}
		t.fields = append(t.fields, fld)
	}
	return nil
}

func parseFn(t *Type, x *value.Vector, args []value.Value, depth int) error {
	if len(args) < 1 || len(args) > 2 {
		return perr(x, ":fn expects [params] and an optional return type, got %d argument(s)", len(args))
	}
	pv, ok := args[0].(*value.Vector)
	if !ok {
		return perr(x, ":fn parameters must be a vector, got %s", value.TypeName(args[0]))
	}
	ps := pv.Items()
	for i := 0; i < len(ps); i++ {
		if s, ok := ps[i].(value.Symbol); ok && s == "&" {
			if i != len(ps)-2 {
				return perr(pv, "& must be followed by exactly one rest type")
			}
			rt, err := parse(ps[i+1], depth+2, false)
			if err != nil {
				return err
			}
			t.rest = rt
			break
		}
		pt, err := parse(ps[i], depth+2, false)
		if err != nil {
			return err
		}
		t.args = append(t.args, pt)
	}
	if len(args) == 2 {
		rt, err := parse(args[1], depth+1, false)
		if err != nil {
			return err
		}
		t.ret = rt
	}
	return nil
}

func isNumber(v value.Value) bool {
	switch v.(type) {
	case value.Int, value.Float:
		return true
	}
	return false
}

func parsePred(x *value.Vector, o op, args []value.Value) (*Type, error) {
	name := opNames[o]
	want := func(n int) error {
		if len(args) != n {
			return perr(x, ":%s expects exactly %d argument(s), got %d", name, n, len(args))
		}
		return nil
	}
	num := func(v value.Value) error {
		if !isNumber(v) {
			return perr(x, ":%s bound must be a number, got %s", name, value.TypeName(v))
		}
		if f, ok := v.(value.Float); ok && math.IsNaN(float64(f)) {
			return perr(x, ":%s bound must not be NaN", name)
		}
		return nil
	}
	t := &Type{op: o}
	switch o {
	case opGT, opGE, opLT, opLE:
		if err := want(1); err != nil {
			return nil, err
		}
		if err := num(args[0]); err != nil {
			return nil, err
		}
		t.vals = args
	case opEq, opNe, opHasKey:
		if err := want(1); err != nil {
			return nil, err
		}
		t.vals = args
	case opInRange:
		if err := want(2); err != nil {
			return nil, err
		}
		for _, a := range args {
			if err := num(a); err != nil {
				return nil, err
			}
		}
		if c, _ := numCmp(args[0], args[1]); c > 0 {
			return nil, perr(x, ":in-range lower bound is greater than the upper bound")
		}
		t.vals = args
	case opMinLen, opMaxLen, opLen, opMinCount, opMaxCount:
		if err := want(1); err != nil {
			return nil, err
		}
		n, ok := args[0].(value.Int)
		if !ok || n < 0 || int64(n) > math.MaxInt32 {
			return nil, perr(x, ":%s bound must be a non-negative integer, got %s", name, short(args[0]))
		}
		t.n = int(n)
	case opNonEmpty:
		if err := want(0); err != nil {
			return nil, err
		}
	case opRegex:
		if err := want(1); err != nil {
			return nil, err
		}
		s, ok := args[0].(value.String)
		if !ok {
			return nil, perr(x, ":matches-regex pattern must be a string, got %s", value.TypeName(args[0]))
		}
		re, err := regexp.Compile(string(s))
		if err != nil {
			return nil, perr(x, "bad regular expression: %v", err)
		}
		t.re = re
		t.vals = args
	case opReqKeys:
		if err := want(1); err != nil {
			return nil, err
		}
		var keys []value.Value
		switch k := args[0].(type) {
		case *value.Vector:
			keys = k.Items()
		case *value.List:
			keys = k.Items()
		default:
			return nil, perr(x, ":required-keys expects a vector of keys, got %s", value.TypeName(args[0]))
		}
		t.vals = keys
	}
	return t, nil
}

// short returns the printed form of v, truncated for messages.
func short(v value.Value) string {
	s := value.Repr(v)
	const max = 200
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// String returns the canonical RTFS text of the type, e.g. ":int",
// "[:vector :int]", ":string?".
func (t *Type) String() string {
	if t == nil {
		return ":any"
	}
	return value.Repr(t.ToValue())
}

// ToValue returns the type expression as data; Parse(t.ToValue()) yields
// an equivalent type with the same String.
func (t *Type) ToValue() value.Value {
	if t == nil {
		return value.Keyword("any")
	}
	kw := func(s string) value.Value { return value.Keyword(s) }
	form := func(rest ...value.Value) value.Value {
		return value.NewVector(append([]value.Value{kw(opNames[t.op])}, rest...)...)
	}
	types := func(ts []*Type) []value.Value {
		out := make([]value.Value, len(ts))
		for i, a := range ts {
			out[i] = a.ToValue()
		}
		return out
	}
	switch t.op {
	case opPrim:
		return kw(primNames[t.prim])
	case opOptional:
		if e := t.args[0]; e.op == opPrim && e.prim != pNil && e.prim != pAny && e.prim != pNever {
			return kw(primNames[e.prim] + "?")
		}
		return form(types(t.args)...)
	case opVector, opList, opSet, opTuple, opMapOf, opUnion, opAnd:
		return form(types(t.args)...)
	case opEnum, opVal, opGT, opGE, opLT, opLE, opEq, opNe, opHasKey, opInRange, opRegex:
		return form(t.vals...)
	case opMap:
		fs := make([]value.Value, len(t.fields))
		for i, f := range t.fields {
			if f.optional {
				fs[i] = value.NewVector(f.key, f.typ.ToValue(), value.NewMap(kw("optional"), value.True))
			} else {
				fs[i] = value.NewVector(f.key, f.typ.ToValue())
			}
		}
		return form(fs...)
	case opFn:
		ps := types(t.args)
		if t.rest != nil {
			ps = append(ps, value.Symbol("&"), t.rest.ToValue())
		}
		if t.ret == nil {
			return form(value.NewVector(ps...))
		}
		return form(value.NewVector(ps...), t.ret.ToValue())
	case opMinLen, opMaxLen, opLen, opMinCount, opMaxCount:
		return form(value.Int(t.n))
	case opNonEmpty:
		return form()
	case opReqKeys:
		return form(value.NewVector(t.vals...))
	}
	return kw("any")
}

// Mismatch describes why a value does not conform.
type Mismatch struct {
	Path     []value.Value // keys/indices from the root to the offending value, e.g. [:user 2]
	Expected string        // e.g. ":int", "[:> 0]", "key :name"
	Actual   value.Value   // the offending value (nil when a key is missing)
	Missing  bool          // a required map key is absent
}

func (m *Mismatch) Error() string {
	var b strings.Builder
	if len(m.Path) > 0 {
		b.WriteString("at ")
		b.WriteString(short(value.NewVector(m.Path...)))
		b.WriteString(": ")
	}
	if m.Missing {
		b.WriteString("missing required ")
		b.WriteString(m.Expected)
	} else {
		fmt.Fprintf(&b, "expected %s, got %s (%s)", m.Expected, short(m.Actual), value.TypeName(m.Actual))
	}
	return b.String()
}

// fail is the internal mismatch: the path is collected in reverse while
// unwinding, and Expected is rendered only once, at the end.
type fail struct {
	rpath    []value.Value
	typ      *Type
	expected string
	actual   value.Value
	missing  bool
}

func (f *fail) at(k value.Value) *fail {
	f.rpath = append(f.rpath, k)
	return f
}

// Check returns nil when v conforms to t, else a *Mismatch describing the
// first problem found. A nil *Type accepts everything.
func (t *Type) Check(v value.Value) error {
	if t == nil {
		return nil
	}
	f := t.check(v)
	if f == nil {
		return nil
	}
	m := &Mismatch{Actual: f.actual, Missing: f.missing, Expected: f.expected}
	if m.Expected == "" {
		m.Expected = f.typ.String()
	}
	if len(f.rpath) > 0 {
		m.Path = make([]value.Value, len(f.rpath))
		for i, k := range f.rpath {
			m.Path[len(f.rpath)-1-i] = k
		}
	}
	return m
}

// Conforms reports whether v conforms to t.
func (t *Type) Conforms(v value.Value) bool {
	return t == nil || t.check(v) == nil
}

func (t *Type) mismatch(v value.Value) *fail { return &fail{typ: t, actual: v} }

func bounded(v value.Value) *fail {
	return &fail{expected: "a bounded sequence", actual: v}
}

func (t *Type) checkPrim(v value.Value) bool {
	switch t.prim {
	case pAny:
		return true
	case pNever:
		return false
	case pNil:
		return v == nil
	case pInt:
		_, ok := v.(value.Int)
		return ok
	case pFloat:
		_, ok := v.(value.Float)
		return ok
	case pNumber:
		return isNumber(v)
	case pString:
		_, ok := v.(value.String)
		return ok
	case pBool:
		_, ok := v.(value.Bool)
		return ok
	case pKeyword:
		_, ok := v.(value.Keyword)
		return ok
	case pSymbol:
		_, ok := v.(value.Symbol)
		return ok
	case pMap:
		_, ok := v.(*value.Map)
		return ok
	case pVector:
		_, ok := v.(*value.Vector)
		return ok
	case pList:
		switch v.(type) {
		case *value.List, *value.Range, *value.Repeat, *value.Generator:
			return true
		}
		return false
	case pSet:
		_, ok := v.(*value.Set)
		return ok
	case pFn:
		_, ok := v.(value.Fn)
		return ok
	case pUUID:
		_, ok := v.(value.UUID)
		return ok
	case pTimestamp:
		_, ok := v.(value.Timestamp)
		return ok
	case pResource:
		_, ok := v.(*value.Resource)
		return ok
	}
	return false
}

// acceptsAllInts reports whether t accepts every Int, so lazy ranges can be
// checked without walking them.
func (t *Type) acceptsAllInts() bool {
	switch t.op {
	case opPrim:
		return t.prim == pAny || t.prim == pInt || t.prim == pNumber
	case opOptional:
		return t.args[0].acceptsAllInts()
	case opUnion:
		for _, a := range t.args {
			if a.acceptsAllInts() {
				return true
			}
		}
	case opAnd:
		for _, a := range t.args {
			if !a.acceptsAllInts() {
				return false
			}
		}
		return true
	}
	return false
}

// checkSeq checks each element of a bounded sequential value against e.
func checkSeq(v value.Value, e *Type) *fail {
	switch x := v.(type) {
	case *value.Vector:
		var f *fail
		x.Range(func(i int, el value.Value) bool {
			if f = e.check(el); f != nil {
				f.at(value.Int(i))
			}
			return f == nil
		})
		return f
	case *value.List:
		i := 0
		var f *fail
		x.Range(func(el value.Value) bool {
			if f = e.check(el); f != nil {
				f.at(value.Int(i))
			}
			i++
			return f == nil
		})
		return f
	case *value.Range:
		if x.N < 0 {
			return bounded(v)
		}
		if x.N == 0 || e.acceptsAllInts() {
			return nil
		}
		if x.N > MaxRangeCheck {
			return &fail{expected: fmt.Sprintf("a sequence of at most %d elements", MaxRangeCheck), actual: v}
		}
		for i := int64(0); i < x.N; i++ {
			if f := e.check(x.At(i)); f != nil {
				return f.at(value.Int(i))
			}
		}
		return nil
	}
	return bounded(v)
}

func (t *Type) check(v value.Value) *fail {
	switch t.op {
	case opPrim:
		if t.checkPrim(v) {
			return nil
		}
		return t.mismatch(v)
	case opOptional:
		if v == nil {
			return nil
		}
		f := t.args[0].check(v)
		if f == nil || len(f.rpath) > 0 {
			return f // a deep failure says more than "expected [:optional ...]"
		}
		return t.mismatch(v)
	case opVector:
		if _, ok := v.(*value.Vector); !ok {
			return t.mismatch(v)
		}
		return checkSeq(v, t.args[0])
	case opList:
		switch v.(type) {
		case *value.List, *value.Range:
		case *value.Repeat, *value.Generator:
			return bounded(v)
		default:
			return t.mismatch(v)
		}
		return checkSeq(v, t.args[0])
	case opSet:
		s, ok := v.(*value.Set)
		if !ok {
			return t.mismatch(v)
		}
		var f *fail
		s.Range(func(el value.Value) bool {
			if f = t.args[0].check(el); f != nil {
				f.at(el)
			}
			return f == nil
		})
		return f
	case opTuple:
		if !value.IsSequential(v) {
			return t.mismatch(v)
		}
		n, ok := seqLen(v)
		if !ok {
			return bounded(v)
		}
		if n != len(t.args) {
			return &fail{typ: t, expected: fmt.Sprintf("%s (%d elements)", t, len(t.args)), actual: v}
		}
		items := seqItems(v)
		for i, e := range t.args {
			if f := e.check(items[i]); f != nil {
				return f.at(value.Int(i))
			}
		}
		return nil
	case opMap:
		m, ok := v.(*value.Map)
		if !ok {
			return t.mismatch(v)
		}
		for i := range t.fields {
			fd := &t.fields[i]
			fv, found := m.Get(fd.key)
			if !found {
				if fd.optional {
					continue
				}
				return &fail{expected: "key " + short(fd.key), missing: true}
			}
			if f := fd.typ.check(fv); f != nil {
				return f.at(fd.key)
			}
		}
		return nil
	case opMapOf:
		m, ok := v.(*value.Map)
		if !ok {
			return t.mismatch(v)
		}
		var f *fail
		m.Range(func(k, val value.Value) bool {
			if f = t.args[0].check(k); f == nil {
				f = t.args[1].check(val)
			}
			if f != nil {
				f.at(k)
			}
			return f == nil
		})
		return f
	case opUnion:
		for _, a := range t.args {
			if a.check(v) == nil {
				return nil
			}
		}
		return t.mismatch(v)
	case opEnum, opVal:
		for _, e := range t.vals {
			if value.Equal(e, v) {
				return nil
			}
		}
		return t.mismatch(v)
	case opFn:
		if _, ok := v.(value.Fn); ok {
			return nil
		}
		return t.mismatch(v)
	case opAnd:
		for _, a := range t.args {
			if f := a.check(v); f != nil {
				return f
			}
		}
		return nil
	case opGT, opGE, opLT, opLE:
		c, ok := numCmp(v, t.vals[0])
		if ok {
			switch t.op {
			case opGT:
				ok = c > 0
			case opGE:
				ok = c >= 0
			case opLT:
				ok = c < 0
			case opLE:
				ok = c <= 0
			}
		}
		if ok {
			return nil
		}
		return t.mismatch(v)
	case opInRange:
		lo, ok1 := numCmp(v, t.vals[0])
		hi, ok2 := numCmp(v, t.vals[1])
		if ok1 && ok2 && lo >= 0 && hi <= 0 {
			return nil
		}
		return t.mismatch(v)
	case opEq:
		if value.Equal(v, t.vals[0]) {
			return nil
		}
		return t.mismatch(v)
	case opNe:
		if !value.Equal(v, t.vals[0]) {
			return nil
		}
		return t.mismatch(v)
	case opMinLen, opMaxLen, opLen, opMinCount, opMaxCount, opNonEmpty:
		n, finite, ok := size(v)
		if ok {
			switch t.op {
			case opMinLen, opMinCount:
				ok = !finite || n >= t.n
			case opMaxLen, opMaxCount:
				ok = finite && n <= t.n
			case opLen:
				ok = finite && n == t.n
			case opNonEmpty:
				ok = !finite || n > 0
			}
		}
		if ok {
			return nil
		}
		return t.mismatch(v)
	case opRegex:
		if s, ok := v.(value.String); ok && t.re.MatchString(string(s)) {
			return nil
		}
		return t.mismatch(v)
	case opHasKey:
		if m, ok := v.(*value.Map); ok {
			if _, found := m.Get(t.vals[0]); found {
				return nil
			}
		}
		return t.mismatch(v)
	case opReqKeys:
		m, ok := v.(*value.Map)
		if !ok {
			return t.mismatch(v)
		}
		for _, k := range t.vals {
			if _, found := m.Get(k); !found {
				return &fail{expected: "key " + short(k), missing: true}
			}
		}
		return nil
	}
	return t.mismatch(v)
}

// size returns the length of a string (in code points) or collection;
// finite is false for unbounded sequences; ok is false for other values.
func size(v value.Value) (n int, finite, ok bool) {
	switch x := v.(type) {
	case value.String:
		return utf8.RuneCountInString(string(x)), true, true
	case *value.Vector:
		return x.Len(), true, true
	case *value.List:
		return x.Len(), true, true
	case *value.Map:
		return x.Len(), true, true
	case *value.Set:
		return x.Len(), true, true
	case *value.Range:
		if x.N < 0 {
			return 0, false, true
		}
		if x.N > math.MaxInt32 {
			return math.MaxInt32 + 1, true, true // beyond any accepted bound
		}
		return int(x.N), true, true
	case *value.Repeat, *value.Generator:
		return 0, false, true
	}
	return 0, false, false
}

// seqLen returns the length of a bounded sequential value.
func seqLen(v value.Value) (int, bool) {
	switch x := v.(type) {
	case *value.Vector:
		return x.Len(), true
	case *value.List:
		return x.Len(), true
	case *value.Range:
		if x.N < 0 {
			return 0, false
		}
		return int(min(x.N, math.MaxInt32)), true // longer than any tuple
	}
	return 0, false
}

// seqItems returns the elements of a bounded sequential value whose length
// has been checked with seqLen.
func seqItems(v value.Value) []value.Value {
	switch x := v.(type) {
	case *value.Vector:
		return x.Items()
	case *value.List:
		return x.Items()
	case *value.Range:
		out := make([]value.Value, x.N)
		for i := range out {
			out[i] = x.At(int64(i))
		}
		return out
	}
	return nil
}

// numCmp compares two numbers exactly across Int and Float. ok is false
// when either is not a number or is NaN.
func numCmp(a, b value.Value) (int, bool) {
	switch x := a.(type) {
	case value.Int:
		switch y := b.(type) {
		case value.Int:
			return cmpInt(int64(x), int64(y)), true
		case value.Float:
			return cmpIntFloat(int64(x), float64(y))
		}
	case value.Float:
		switch y := b.(type) {
		case value.Int:
			c, ok := cmpIntFloat(int64(y), float64(x))
			return -c, ok
		case value.Float:
			fx, fy := float64(x), float64(y)
			switch {
			case math.IsNaN(fx) || math.IsNaN(fy):
				return 0, false
			case fx < fy:
				return -1, true
			case fx > fy:
				return 1, true
			}
			return 0, true
		}
	}
	return 0, false
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpIntFloat compares i with f without rounding i to a float.
func cmpIntFloat(i int64, f float64) (int, bool) {
	const two63 = 9223372036854775808.0
	switch {
	case math.IsNaN(f):
		return 0, false
	case f >= two63:
		return -1, true
	case f < -two63:
		return 1, true
	}
	tr := math.Trunc(f)
	if c := cmpInt(i, int64(tr)); c != 0 {
		return c, true
	}
	switch frac := f - tr; {
	case frac > 0:
		return -1, true
	case frac < 0:
		return 1, true
	}
	return 0, true
}

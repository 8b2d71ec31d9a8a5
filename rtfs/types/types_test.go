package types

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// testFn is a minimal function value.
type testFn struct{}

func (testFn) TypeName() string { return "function" }
func (testFn) FnName() string   { return "f" }

// read parses RTFS source into data.
func read(t testing.TB, src string) value.Value {
	t.Helper()
	n, err := syntax.ParseExpr("test", []byte(src))
	if err != nil {
		t.Fatalf("reading %q: %v", src, err)
	}
	return value.FromSyntax(n)
}

func TestParseValid(t *testing.T) {
	tests := []struct{ src, want string }{
		{":int", ":int"},
		{"int", ":int"},
		{":integer", ":int"},
		{":float", ":float"},
		{"number", ":number"},
		{":string", ":string"},
		{":bool", ":bool"},
		{":boolean", ":bool"},
		{"boolean", ":bool"},
		{":nil", ":nil"},
		{"nil", ":nil"},
		{":keyword", ":keyword"},
		{":symbol", ":symbol"},
		{":any", ":any"},
		{":never", ":never"},
		{":map", ":map"},
		{":vector", ":vector"},
		{":list", ":list"},
		{":set", ":set"},
		{":fn", ":fn"},
		{":uuid", ":uuid"},
		{":timestamp", ":timestamp"},
		{":resource", ":resource"},
		{"string?", ":string?"},
		{":string?", ":string?"},
		{":boolean?", ":bool?"},
		{":map?", ":map?"},
		{"[:optional :int]", ":int?"},
		{"[:optional [:vector :int]]", "[:optional [:vector :int]]"},
		{"[:optional :nil]", "[:optional :nil]"},
		{"[:vector :int]", "[:vector :int]"},
		{"[:vector int]", "[:vector :int]"},
		{"[vector int]", "[:vector :int]"},
		{"[:list :string]", "[:list :string]"},
		{"[:set :keyword]", "[:set :keyword]"},
		{"[:tuple :int :string]", "[:tuple :int :string]"},
		{"[:tuple]", "[:tuple]"},
		{"[:map]", "[:map]"},
		{"[:map [:name :string] [:age :int {:optional true}]]", "[:map [:name :string] [:age :int {:optional true}]]"},
		{"[:map [:age {:optional true} :int]]", "[:map [:age :int {:optional true}]]"},
		{"[:map [:age :int {:optional false :doc \"x\"}]]", "[:map [:age :int]]"},
		{"[:map [\"name\" :string]]", "[:map [\"name\" :string]]"},
		{"[:map-of :keyword :int]", "[:map-of :keyword :int]"},
		{"[:union :int :string]", "[:union :int :string]"},
		{"[:enum :red :green \"x\" 1]", "[:enum :red :green \"x\" 1]"},
		{"[:val 42]", "[:val 42]"},
		{"[:fn [:int :string] :bool]", "[:fn [:int :string] :bool]"},
		{"[:fn [] :any]", "[:fn [] :any]"},
		{"[:fn [:int]]", "[:fn [:int]]"},
		{"[:fn [:int & :string] :int]", "[:fn [:int & :string] :int]"},
		{"[:and :int [:> 0]]", "[:and :int [:> 0]]"},
		{"[:and :number [:>= 0.5] [:< 10] [:<= 9] [:in-range -1 1.5]]", "[:and :number [:>= 0.5] [:< 10] [:<= 9] [:in-range -1 1.5]]"},
		{"[:and [:= 1] [:!= {:a 1}]]", "[:and [:= 1] [:!= {:a 1}]]"},
		{"[:and :string [:min-length 1] [:max-length 5] [:length 3] [:matches-regex \"^a\"]]", "[:and :string [:min-length 1] [:max-length 5] [:length 3] [:matches-regex \"^a\"]]"},
		{"[:and :vector [:min-count 1] [:max-count 3] [:non-empty] :non-empty]", "[:and :vector [:min-count 1] [:max-count 3] [:non-empty] [:non-empty]]"},
		{"[:and :map [:has-key :a] [:required-keys [:a :b]]]", "[:and :map [:has-key :a] [:required-keys [:a :b]]]"},
		{"[:and :map [:required-keys (:a)]]", "[:and :map [:required-keys [:a]]]"},
		{"[:vector [:map [:xs [:vector [:union :int :nil]]]]]", "[:vector [:map [:xs [:vector [:union :int :nil]]]]]"},
	}
	for _, tc := range tests {
		typ, err := Parse(read(t, tc.src))
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.src, err)
			continue
		}
		if got := typ.String(); got != tc.want {
			t.Errorf("Parse(%s).String() = %s, want %s", tc.src, got, tc.want)
		}
		// Round trip through data and through text.
		back, err := Parse(typ.ToValue())
		if err != nil {
			t.Errorf("Parse(ToValue(%s)): %v", tc.src, err)
		} else if back.String() != tc.want {
			t.Errorf("ToValue round trip of %s: %s", tc.src, back)
		}
		if got := MustParse(tc.want).String(); got != tc.want {
			t.Errorf("text round trip of %s: %s", tc.want, got)
		}
	}
	if _, err := Parse(nil); err != nil {
		t.Errorf("Parse(nil): %v", err)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ src, want string }{
		{":foo", "unknown type"},
		{"foo", "unknown type"},
		{":ns/int", "unknown type"},
		{"nil?", "unknown type"},
		{":any?", "unknown type"},
		{":foo?", "unknown type"},
		{"\"int\"", "expected a keyword, symbol or vector"},
		{"42", "expected a keyword, symbol or vector"},
		{"{:a 1}", "expected a keyword, symbol or vector"},
		{"(:vector :int)", "expected a keyword, symbol or vector"},
		{"[]", "empty vector"},
		{"[1 2]", "must start with a keyword"},
		{":tuple", "needs arguments"},
		{":non-empty", "only allowed inside [:and"},
		{"[:vector]", ":vector expects exactly 1"},
		{"[:vector :int :int]", ":vector expects exactly 1"},
		{"[:list]", ":list expects exactly 1"},
		{"[:set]", ":set expects exactly 1"},
		{"[:optional]", ":optional expects exactly 1"},
		{"[:map-of :int]", ":map-of expects exactly 2"},
		{"[:union]", ":union expects at least 1"},
		{"[:enum]", ":enum expects at least 1"},
		{"[:val]", ":val expects exactly 1"},
		{"[:val 1 2]", ":val expects exactly 1"},
		{"[:and]", ":and expects at least 1"},
		{"[:int 1]", ":int takes no arguments"},
		{"[:frob :int]", "unknown type constructor :frob"},
		{"[:vector :frob]", ":frob: unknown type"},
		{"[:map :name]", ":map entry must be"},
		{"[:map [:name]]", ":map entry must be"},
		{"[:map [:name :string] [:name :int]]", "duplicate key :name"},
		{"[:map [:name :string 5]]", "properties must be a map"},
		{"[:map [:name :string {:optional 1}]]", ":optional must be true or false"},
		{"[:map [:name :bogus]]", ":bogus: unknown type"},
		{"[:fn]", ":fn expects [params]"},
		{"[:fn :int :int]", ":fn parameters must be a vector"},
		{"[:fn [:int &] :int]", "& must be followed"},
		{"[:fn [& :int :int] :int]", "& must be followed"},
		{"[:fn [:bad] :int]", ":bad: unknown type"},
		{"[:> 0]", "only allowed inside [:and"},
		{"[:vector [:> 0]]", "only allowed inside [:and"},
		{"[:and :int [:> \"a\"]]", "bound must be a number"},
		{"[:and :int [:> ##NaN]]", "must not be NaN"},
		{"[:and :int [:>]]", ":> expects exactly 1"},
		{"[:and :int [:in-range 1]]", ":in-range expects exactly 2"},
		{"[:and :int [:in-range 1 :a]]", "bound must be a number"},
		{"[:and :int [:in-range 5 1]]", "lower bound is greater"},
		{"[:and :string [:min-length -1]]", "non-negative integer"},
		{"[:and :string [:max-length 1.5]]", "non-negative integer"},
		{"[:and :string [:matches-regex \"(\"]]", "bad regular expression"},
		{"[:and :string [:matches-regex 5]]", "pattern must be a string"},
		{"[:and :map [:required-keys :a]]", "expects a vector of keys"},
		{"[:and :vector [:non-empty 1]]", ":non-empty expects exactly 0"},
		{"[:and :int [:frob 1]]", "unknown type constructor :frob"},
	}
	for _, tc := range tests {
		typ, err := Parse(read(t, tc.src))
		if err == nil {
			t.Errorf("Parse(%s) = %s, want error", tc.src, typ)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%s): error %T", tc.src, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) error %q does not contain %q", tc.src, err, tc.want)
		}
	}
}

func TestParseDepth(t *testing.T) {
	var v value.Value = value.Keyword("int")
	for range MaxDepth + 10 {
		v = value.NewVector(value.Keyword("vector"), v)
	}
	if _, err := Parse(v); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep type: %v", err)
	}
	v = value.Keyword("int")
	for range MaxDepth / 2 {
		v = value.NewVector(value.Keyword("vector"), v)
	}
	typ, err := Parse(v)
	if err != nil {
		t.Fatalf("moderately deep type: %v", err)
	}
	var x value.Value = value.Int(1)
	for range MaxDepth / 2 {
		x = value.NewVector(x)
	}
	if err := typ.Check(x); err != nil {
		t.Errorf("deep check: %v", err)
	}
	if err := typ.Check(value.NewVector(value.NewVector(value.String("no")))); err == nil {
		t.Error("deep check accepted a string")
	}
}

func TestCheck(t *testing.T) {
	rng := func(start, end int64) value.Value { return value.NewRange(start, end, 1) }
	inf := &value.Range{Start: 0, Step: 1, N: -1}
	rep := &value.Repeat{X: value.Int(1)}
	gen := &value.Generator{Name: "g", Gen: func(any, func(value.Value) bool) error { panic("must not run") }}
	tests := []struct {
		typ  string
		good []value.Value
		bad  []value.Value
	}{
		{":int", []value.Value{value.Int(1), value.Int(-5)}, []value.Value{value.Float(1), value.String("1"), nil}},
		{":float", []value.Value{value.Float(1.5), value.Float(math.NaN())}, []value.Value{value.Int(1)}},
		{":number", []value.Value{value.Int(1), value.Float(2)}, []value.Value{value.String("1"), nil}},
		{":string", []value.Value{value.String("")}, []value.Value{value.Keyword("a"), nil}},
		{":bool", []value.Value{value.True, value.False}, []value.Value{nil, value.Int(0)}},
		{":nil", []value.Value{nil}, []value.Value{value.False}},
		{":keyword", []value.Value{value.Keyword("k")}, []value.Value{value.Symbol("k"), value.String("k")}},
		{":symbol", []value.Value{value.Symbol("s")}, []value.Value{value.Keyword("s")}},
		{":any", []value.Value{nil, value.Int(1), inf, testFn{}}, nil},
		{":never", nil, []value.Value{nil, value.Int(1)}},
		{":map", []value.Value{value.EmptyMap}, []value.Value{value.EmptyVector, nil}},
		{":vector", []value.Value{value.EmptyVector}, []value.Value{value.EmptyList, value.EmptyMap}},
		{":list", []value.Value{value.EmptyList, rng(0, 3), inf, rep, gen}, []value.Value{value.EmptyVector}},
		{":set", []value.Value{value.EmptySet}, []value.Value{value.EmptyVector}},
		{":fn", []value.Value{testFn{}}, []value.Value{value.Keyword("inc"), nil}},
		{":uuid", []value.Value{value.UUID("550e8400-e29b-41d4-a716-446655440000")}, []value.Value{value.String("550e8400-e29b-41d4-a716-446655440000")}},
		{":timestamp", []value.Value{value.Timestamp("2024-01-15T10:30:45Z")}, []value.Value{value.String("x")}},
		{":resource", []value.Value{&value.Resource{Name: "r"}}, []value.Value{value.String("r")}},
		{":string?", []value.Value{nil, value.String("s")}, []value.Value{value.Int(1)}},
		{"[:optional [:vector :int]]", []value.Value{nil, read(t, "[1 2]")}, []value.Value{read(t, "[1 :a]"), value.Int(1)}},
		{"[:vector :int]", []value.Value{read(t, "[]"), read(t, "[1 2 3]")}, []value.Value{read(t, "[1 \"2\" 3]"), read(t, "(1 2)"), nil}},
		{"[:list :int]", []value.Value{read(t, "()"), read(t, "(1 2)"), rng(0, 10), rng(0, 1<<40)},
			[]value.Value{read(t, "[1 2]"), read(t, "(1 :a)"), inf, rep, gen}},
		{"[:list [:and :int [:< 5]]]", []value.Value{rng(0, 5)}, []value.Value{rng(0, 6), rng(0, 1<<40)}},
		{"[:set :keyword]", []value.Value{read(t, "#{:a :b}"), read(t, "#{}")}, []value.Value{read(t, "#{:a 1}"), read(t, "[:a]")}},
		{"[:tuple :int :string]", []value.Value{read(t, "[1 \"a\"]"), read(t, "(1 \"a\")")},
			[]value.Value{read(t, "[1]"), read(t, "[1 \"a\" 2]"), read(t, "[\"a\" 1]"), read(t, "{1 \"a\"}"), inf, rep}},
		{"[:tuple :int :int]", []value.Value{rng(0, 2)}, []value.Value{rng(0, 3), rng(0, 1<<40)}},
		{"[:map]", []value.Value{read(t, "{}"), read(t, "{:a 1}")}, []value.Value{read(t, "[]")}},
		{"[:map [:name :string] [:age :int {:optional true}]]",
			[]value.Value{read(t, "{:name \"a\"}"), read(t, "{:name \"a\" :age 3 :extra true}")},
			[]value.Value{read(t, "{:age 3}"), read(t, "{:name \"a\" :age \"3\"}"), read(t, "{:name \"a\" :age nil}"), read(t, "[:name \"a\"]")}},
		{"[:map [\"k\" :int]]", []value.Value{read(t, "{\"k\" 1}")}, []value.Value{read(t, "{:k 1}")}},
		{"[:map-of :keyword :int]", []value.Value{read(t, "{}"), read(t, "{:a 1 :b 2}")}, []value.Value{read(t, "{\"a\" 1}"), read(t, "{:a \"1\"}"), read(t, "[]")}},
		{"[:union :int :string]", []value.Value{value.Int(1), value.String("s")}, []value.Value{value.Keyword("k"), nil}},
		{"[:enum :red :green 1]", []value.Value{value.Keyword("red"), value.Int(1)}, []value.Value{value.Keyword("blue"), value.Float(1)}},
		{"[:enum [1 2]]", []value.Value{read(t, "[1 2]"), read(t, "(1 2)")}, []value.Value{read(t, "[2 1]")}},
		{"[:val 42]", []value.Value{value.Int(42)}, []value.Value{value.Int(43), value.Float(42)}},
		{"[:fn [:int] :int]", []value.Value{testFn{}}, []value.Value{value.Int(1)}},
		{"[:and :int [:> 0]]", []value.Value{value.Int(1)}, []value.Value{value.Int(0), value.Int(-5), value.Float(3)}},
		{"[:and :number [:> 0]]", []value.Value{value.Int(1), value.Float(0.1)}, []value.Value{value.Int(0), value.Float(-0.1), value.Float(math.NaN())}},
		{"[:and [:>= 1.5]]", []value.Value{value.Int(2), value.Float(1.5)}, []value.Value{value.Int(1), value.String("2"), nil}},
		{"[:and [:< 1.5]]", []value.Value{value.Int(1), value.Float(-1e300)}, []value.Value{value.Int(2), value.Float(math.NaN()), value.Float(math.Inf(1))}},
		{"[:and [:<= 9007199254740993]]", []value.Value{value.Int(9007199254740993), value.Float(9007199254740992)}, []value.Value{value.Int(9007199254740994)}},
		{"[:and [:> 9.007199254740992E15]]", []value.Value{value.Int(9007199254740993)}, []value.Value{value.Int(9007199254740992)}},
		{"[:and [:> 1.0E20]]", []value.Value{value.Float(1e21)}, []value.Value{value.Int(math.MaxInt64)}},
		{"[:and [:< -1.0E20]]", []value.Value{value.Float(-1e21)}, []value.Value{value.Int(math.MinInt64)}},
		{"[:and [:in-range 1 10]]", []value.Value{value.Int(1), value.Int(10), value.Float(5.5)}, []value.Value{value.Int(0), value.Float(10.01), value.String("5")}},
		{"[:and [:= 1]]", []value.Value{value.Int(1)}, []value.Value{value.Float(1), value.Int(2)}},
		{"[:and [:!= :x]]", []value.Value{value.Keyword("y"), nil}, []value.Value{value.Keyword("x")}},
		{"[:and :string [:min-length 2]]", []value.Value{value.String("ab"), value.String("héé")}, []value.Value{value.String("a"), value.String("é")}},
		{"[:and [:max-length 2]]", []value.Value{value.String("éé"), read(t, "[1 2]"), read(t, "{}")}, []value.Value{value.String("abc"), read(t, "[1 2 3]"), inf, value.Int(1), nil}},
		{"[:and [:length 2]]", []value.Value{value.String("ab"), read(t, "#{1 2}"), read(t, "{:a 1 :b 2}"), rng(0, 2)}, []value.Value{value.String("a"), read(t, "(1)"), rep, rng(0, 1<<40)}},
		{"[:and [:min-length 1]]", []value.Value{value.String("a"), inf, gen}, []value.Value{value.String(""), value.EmptyVector, value.Int(5)}},
		{"[:and :string [:matches-regex \"^[a-z]+$\"]]", []value.Value{value.String("abc")}, []value.Value{value.String("abc1"), value.String("")}},
		{"[:and [:matches-regex \"b\"]]", []value.Value{value.String("abc")}, []value.Value{value.String("xyz"), value.Keyword("b")}},
		{"[:and [:min-count 2]]", []value.Value{read(t, "[1 2]"), read(t, "#{1 2 3}"), rep}, []value.Value{read(t, "[1]"), value.Int(2), nil}},
		{"[:and [:max-count 1]]", []value.Value{read(t, "[]"), read(t, "{:a 1}")}, []value.Value{read(t, "[1 2]"), rep, gen}},
		{"[:and [:non-empty]]", []value.Value{read(t, "[1]"), value.String("x"), inf}, []value.Value{read(t, "[]"), value.String(""), read(t, "{}"), nil, value.Int(1)}},
		{"[:and :non-empty]", []value.Value{read(t, "[1]")}, []value.Value{read(t, "()")}},
		{"[:and [:has-key :a]]", []value.Value{read(t, "{:a nil}")}, []value.Value{read(t, "{:b 1}"), read(t, "#{:a}"), read(t, "[:a]")}},
		{"[:and [:required-keys [:a :b]]]", []value.Value{read(t, "{:a 1 :b 2 :c 3}")}, []value.Value{read(t, "{:a 1}"), read(t, "[]")}},
	}
	for _, tc := range tests {
		typ := MustParse(tc.typ)
		for _, v := range tc.good {
			if err := typ.Check(v); err != nil {
				t.Errorf("%s: Check(%s) = %v, want nil", tc.typ, value.Repr(v), err)
			}
			if !typ.Conforms(v) {
				t.Errorf("%s: Conforms(%s) = false", tc.typ, value.Repr(v))
			}
		}
		for _, v := range tc.bad {
			err := typ.Check(v)
			var m *Mismatch
			if !errors.As(err, &m) {
				t.Errorf("%s: Check(%s) = %v, want a *Mismatch", tc.typ, value.Repr(v), err)
				continue
			}
			if m.Expected == "" || m.Error() == "" {
				t.Errorf("%s: Check(%s): empty mismatch %+v", tc.typ, value.Repr(v), m)
			}
			if typ.Conforms(v) {
				t.Errorf("%s: Conforms(%s) = true", tc.typ, value.Repr(v))
			}
		}
	}
}

func TestMismatch(t *testing.T) {
	tests := []struct {
		typ, val string
		path     string
		expected string
		missing  bool
		msg      string
	}{
		{":int", `"2"`, "[]", ":int", false, `expected :int, got "2" (string)`},
		{":int", `nil`, "[]", ":int", false, `expected :int, got nil (nil)`},
		{"[:vector :int]", `[1 "2" 3]`, "[1]", ":int", false, `at [1]: expected :int, got "2" (string)`},
		{"[:map [:user [:vector :int]]]", `{:user [1 2 "x"]}`, "[:user 2]", ":int", false, `at [:user 2]: expected :int, got "x" (string)`},
		{"[:map [:name :string]]", `{}`, "[]", "key :name", true, `missing required key :name`},
		{"[:map [:user [:map [:name :string]]]]", `{:user {}}`, "[:user]", "key :name", true, `at [:user]: missing required key :name`},
		{"[:and :int [:> 0]]", `-5`, "[]", "[:> 0]", false, `expected [:> 0], got -5 (integer)`},
		{"[:and :int [:> 0]]", `1.5`, "[]", ":int", false, `expected :int, got 1.5 (float)`},
		{"[:and :map [:required-keys [:a :b]]]", `{:a 1}`, "[]", "key :b", true, `missing required key :b`},
		{"[:map-of :keyword :int]", `{:a 1 :b "x"}`, "[:b]", ":int", false, `at [:b]: expected :int, got "x" (string)`},
		{"[:map-of :keyword :int]", `{"a" 1}`, `["a"]`, ":keyword", false, `at ["a"]: expected :keyword, got "a" (string)`},
		{"[:set :int]", `#{1 :k}`, "[:k]", ":int", false, `at [:k]: expected :int, got :k (keyword)`},
		{"[:tuple :int :string]", `[1 2]`, "[1]", ":string", false, `at [1]: expected :string, got 2 (integer)`},
		{"[:tuple :int :string]", `[1]`, "[]", "[:tuple :int :string] (2 elements)", false, ``},
		{"[:union :int :string]", `:k`, "[]", "[:union :int :string]", false, `expected [:union :int :string], got :k (keyword)`},
		{"[:enum :red :green]", `:blue`, "[]", "[:enum :red :green]", false, ``},
		{":string?", `1`, "[]", ":string?", false, `expected :string?, got 1 (integer)`},
		{"[:optional [:vector :int]]", `[1 :a]`, "[1]", ":int", false, ``},
		{"[:vector [:vector :int]]", `[[1] [2 nil]]`, "[1 1]", ":int", false, ``},
		{"[:list :int]", `(1 2 :x)`, "[2]", ":int", false, ``},
	}
	for _, tc := range tests {
		err := MustParse(tc.typ).Check(read(t, tc.val))
		m, ok := err.(*Mismatch)
		if !ok {
			t.Errorf("%s / %s: got %v", tc.typ, tc.val, err)
			continue
		}
		if got := value.Repr(value.NewVector(m.Path...)); got != tc.path {
			t.Errorf("%s / %s: path %s, want %s", tc.typ, tc.val, got, tc.path)
		}
		if m.Expected != tc.expected {
			t.Errorf("%s / %s: expected %q, want %q", tc.typ, tc.val, m.Expected, tc.expected)
		}
		if m.Missing != tc.missing {
			t.Errorf("%s / %s: missing %v", tc.typ, tc.val, m.Missing)
		}
		if tc.missing && m.Actual != nil {
			t.Errorf("%s / %s: actual %s for a missing key", tc.typ, tc.val, value.Repr(m.Actual))
		}
		if tc.msg != "" && m.Error() != tc.msg {
			t.Errorf("%s / %s: message %q, want %q", tc.typ, tc.val, m.Error(), tc.msg)
		}
	}
	// Unbounded sequences.
	inf := &value.Range{Start: 0, Step: 1, N: -1}
	for _, typ := range []string{"[:list :int]", "[:tuple :int]"} {
		m, ok := MustParse(typ).Check(inf).(*Mismatch)
		if !ok || m.Expected != "a bounded sequence" {
			t.Errorf("%s on an unbounded range: %v", typ, m)
		}
	}
	// Long actual values are truncated in messages.
	long := value.String(strings.Repeat("x", 10000))
	if msg := MustParse(":int").Check(long).Error(); len(msg) > 300 {
		t.Errorf("message not truncated: %d bytes", len(msg))
	}
}

func TestNilType(t *testing.T) {
	var typ *Type
	if typ.Check(value.Int(1)) != nil || !typ.Conforms(nil) || typ.String() != ":any" {
		t.Error("nil *Type should accept everything")
	}
	if Any.Check(nil) != nil {
		t.Error("Any rejects nil")
	}
}

func TestMustParsePanics(t *testing.T) {
	for _, src := range []string{"[:vector", ":frob", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MustParse(%q) did not panic", src)
				}
			}()
			MustParse(src)
		}()
	}
}

func TestConcurrentCheck(t *testing.T) {
	typ := MustParse(`[:map [:name [:and :string [:matches-regex "^a"]]] [:tags [:vector :keyword]]]`)
	good := read(t, `{:name "abc" :tags [:x :y]}`)
	bad := read(t, `{:name "abc" :tags [:x 1]}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if typ.Check(good) != nil || typ.Check(bad) == nil {
					t.Error("inconsistent result")
					return
				}
				_ = typ.String()
			}
		})
	}
	wg.Wait()
}

var fuzzSamples = []string{
	`nil`, `1`, `-2.5`, `"s"`, `:k`, `sym`, `true`, `[1 2 3]`, `(1 "a")`, `{:a 1 :b "x"}`,
	`#{1 2}`, `{:name "a" :age 3 :tags [:x]}`, `[[1] [2 [3]]]`, `""`, `[]`, `{}`,
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		":int", "string?", "[:vector :int]", "[:map [:a :int] [:b :string {:optional true}]]",
		"[:map-of :keyword [:union :int :nil]]", "[:tuple :int [:enum :a :b]]", "[:and :int [:> 0] [:< 10]]",
		"[:and :string [:matches-regex \"^a+$\"] [:min-length 1]]", "[:fn [:int & :int] :int]",
		"[:and :map [:required-keys [:a]] [:has-key :b] [:non-empty]]", "[:set [:val 1]]",
		"[:optional [:list [:and :number [:in-range 0 1.5]]]]", "[:and [:= [1]] [:!= {}] [:length 2] [:max-count 3]]",
		"[:and :vector [:min-count 1] :non-empty]", "[:vector [:vector [:vector :any]]]", "[:map [:a {:optional true} :int]]",
		"[:> 0]", "[:vector]", "[:and :int [:in-range 2 1]]", "[:and [:matches-regex \"(\"]]",
	} {
		f.Add([]byte(s))
	}
	samples := make([]value.Value, len(fuzzSamples))
	for i, s := range fuzzSamples {
		samples[i] = read(f, s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		n, err := syntax.ParseExpr("fuzz", src)
		if err != nil {
			return
		}
		data := value.FromSyntax(n)
		typ, err := Parse(data)
		if err != nil {
			if _, ok := err.(*ParseError); !ok || err.Error() == "" {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		s := typ.String()
		back, err := Parse(typ.ToValue())
		if err != nil {
			t.Fatalf("Parse(ToValue(%s)): %v", s, err)
		}
		if back.String() != s {
			t.Fatalf("round trip: %s became %s", s, back)
		}
		for _, v := range append(samples, data) {
			err1, err2 := typ.Check(v), back.Check(v)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s and its round trip disagree on %s", s, value.Repr(v))
			}
			if err1 != nil {
				if _, ok := err1.(*Mismatch); !ok {
					t.Fatalf("Check error %T", err1)
				}
				_ = err1.Error()
			}
		}
	})
}

func BenchmarkCheckMap(b *testing.B) {
	typ := MustParse(`[:map [:id :int] [:name [:and :string [:min-length 1]]] [:email :string?]
		[:tags [:vector :keyword]] [:score {:optional true} [:and :number [:in-range 0 100]]]]`)
	v := read(b, `{:id 1 :name "Ada" :email nil :tags [:a :b :c] :score 99.5 :extra true}`)
	if err := typ.Check(v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := typ.Check(v); err != nil {
			b.Fatal(err)
		}
	}
}

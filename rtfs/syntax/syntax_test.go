package syntax

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParseExpr(t *testing.T, src string) Node {
	t.Helper()
	n, err := ParseExpr("t.rtfs", []byte(src))
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", src, err)
	}
	return n
}

func TestPosString(t *testing.T) {
	tests := []struct {
		pos  Pos
		want string
	}{
		{Pos{File: "a.rtfs", Line: 3, Col: 7, Offset: 20}, "a.rtfs:3:7"},
		{Pos{Line: 1, Col: 1}, "1:1"},
		{Pos{}, "-"},
	}
	for _, tt := range tests {
		if got := tt.pos.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.pos, got, tt.want)
		}
	}
	if (Pos{}).IsValid() || !(Pos{Line: 1, Col: 1}).IsValid() {
		t.Error("IsValid wrong")
	}
}

// TestForms checks what each input reads as by printing it canonically.
func TestForms(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		// numbers
		{"42", "42"},
		{"-7", "-7"},
		{"+3", "3"},
		{"0", "0"},
		{"-0", "0"},
		{"0x2A", "42"},
		{"0X2a", "42"},
		{"-0x2A", "-42"},
		{"9223372036854775807", "9223372036854775807"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"-0x8000000000000000", "-9223372036854775808"},
		{"3.14", "3.14"},
		{"-0.5", "-0.5"},
		{"1e10", "1.0E10"},
		{"1.5E-3", "0.0015"},
		{"1e3", "1000.0"},
		{"2.5E-2", "0.025"},
		{"1.", "1.0"},
		{"1e-7", "1.0E-7"},
		{"-0.0", "-0.0"},
		{"1e-400", "0.0"},
		{"##Inf", "##Inf"},
		{"##-Inf", "##-Inf"},
		{"##NaN", "##NaN"},
		// strings
		{`"hello"`, `"hello"`},
		{`"a\"b\n\t\r\\"`, `"a\"b\n\t\r\\"`},
		{`"unicode \u00e9"`, `"unicode é"`},
		{`"\u0001"`, `"\u0001"`},
		{"\"multi\nline\"", `"multi\nline"`},
		{`"semi ; colon"`, `"semi ; colon"`},
		// constants and symbols
		{"true", "true"},
		{"false", "false"},
		{"nil", "nil"},
		{"true?", "true?"},
		{"nil-safe", "nil-safe"},
		{"foo", "foo"},
		{"swap!", "swap!"},
		{"ns/fn", "ns/fn"},
		{"ccos.io.log", "ccos.io.log"},
		{"->>", "->>"},
		{"<=", "<="},
		{"%1", "%1"},
		{"%&", "%&"},
		{"%", "%"},
		{"/", "/"},
		{"-", "-"},
		{"+", "+"},
		{"-x", "-x"},
		{"Exception.", "Exception."},
		{"a'b", "a'b"},
		{"|", "|"},
		{"café", "café"},
		{"λ", "λ"},
		{"resource:ref", "resource:ref"},
		// keywords
		{":a", ":a"},
		{":my-key?", ":my-key?"},
		{":ns/name", ":ns/name"},
		{":com.acme:v1.2/analyze", ":com.acme:v1.2/analyze"},
		{":com.foo:v1.bar", ":com.foo:v1.bar"},
		{":1", ":1"},
		// special literals
		{"2024-01-15T10:30:45Z", "2024-01-15T10:30:45Z"},
		{"2024-01-15T10:30:45.123Z", "2024-01-15T10:30:45.123Z"},
		{"550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"},
		{"abcdef01-e29b-41d4-a716-446655440000", "abcdef01-e29b-41d4-a716-446655440000"},
		{"ABCDEF01-E29B-41D4-A716-446655440000", "ABCDEF01-E29B-41D4-A716-446655440000"},
		{"resource://name", "resource://name"},
		{"resource://a/b.c:1", "resource://a/b.c:1"},
		// collections
		{"(a b c)", "(a b c)"},
		{"()", "()"},
		{"[1, 2,3]", "[1 2 3]"},
		{"{:a 1, :b 2}", "{:a 1 :b 2}"},
		{"{}", "{}"},
		{"#{1 2 3}", "#{1 2 3}"},
		{"#{}", "#{}"},
		{"{[1 2] :v {:a 1} #{}}", "{[1 2] :v {:a 1} #{}}"},
		{`("a""b")`, `("a" "b")`},
		// sugar
		{"'x", "(quote x)"},
		{"'(1 2)", "(quote (1 2))"},
		{"''x", "(quote (quote x))"},
		{"@x", "(deref x)"},
		{"@ x", "(deref x)"},
		{"#(+ % 1)", "(fn [%1] (+ %1 1))"},
		// comments
		{"; c\n42 ; d", "42"},
		{"#| block |# 42", "42"},
		{"#| outer #| inner |# still |# 42", "42"},
		{"(+ 1 #_ 1000 2)", "(+ 1 2)"},
		{"(a #_ #_ b c d)", "(a d)"},
		{"(a #_(b (c)) d)", "(a d)"},
		{"#_ x y", "y"},
		{"[a #_ b]", "[a]"},
		// type annotations
		{"x:int", "x:int"},
		{"s:string?", "s:string?"},
		{"n:[:and :int [:> 0]]", "n:[:and :int [:> 0]]"},
		{"x::int", "x::int"},
		{"resource:ref:int", "resource:ref:int"},
		// metadata
		{"^:private x", "^{:private true} x"},
		{"^{:doc \"d\"} (f)", "^{:doc \"d\"} (f)"},
		{"^:a ^:b [x]", "^{:b true :a true} [x]"},
		{"^{:k 1} ^{:k 2 :j 3} x", "^{:k 1 :j 3} x"},
		{"^String x", "^{:tag String} x"},
		{"^:a 42", "42"},
		{"^:a :k", ":k"},
		{"^{} x", "^{} x"},
	}
	for _, tt := range tests {
		n, err := ParseExpr("t.rtfs", []byte(tt.src))
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tt.src, err)
			continue
		}
		if got := Print(n); got != tt.want {
			t.Errorf("Print(ParseExpr(%q)) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestLiteralKinds(t *testing.T) {
	tests := []struct {
		src   string
		check func(Node) bool
	}{
		{"42", func(n Node) bool { v, ok := n.(*Int); return ok && v.Value == 42 }},
		{"0x1F", func(n Node) bool { v, ok := n.(*Int); return ok && v.Value == 31 }},
		{"1e3", func(n Node) bool { v, ok := n.(*Float); return ok && v.Value == 1000 }},
		{"##NaN", func(n Node) bool { v, ok := n.(*Float); return ok && math.IsNaN(v.Value) }},
		{"##-Inf", func(n Node) bool { v, ok := n.(*Float); return ok && math.IsInf(v.Value, -1) }},
		{`"a\u00e9"`, func(n Node) bool { v, ok := n.(*String); return ok && v.Value == "aé" }},
		{":a", func(n Node) bool { v, ok := n.(*Keyword); return ok && v.Name == "a" }},
		{":com.acme:v1.2/analyze", func(n Node) bool { v, ok := n.(*Keyword); return ok && v.Name == "com.acme:v1.2/analyze" }},
		{"true?", func(n Node) bool { v, ok := n.(*Symbol); return ok && v.Name == "true?" }},
		{"true", func(n Node) bool { v, ok := n.(*Bool); return ok && v.Value }},
		{"nil", func(n Node) bool { _, ok := n.(*Nil); return ok }},
		{"2024-01-15T10:30:45Z", func(n Node) bool { v, ok := n.(*Timestamp); return ok && v.Text == "2024-01-15T10:30:45Z" }},
		{"550e8400-e29b-41d4-a716-446655440000", func(n Node) bool { _, ok := n.(*UUID); return ok }},
		{"deadbeef-e29b-41d4-a716-446655440000", func(n Node) bool { _, ok := n.(*UUID); return ok }},
		{"resource://name", func(n Node) bool { v, ok := n.(*Resource); return ok && v.Name == "name" }},
		{"resource:ref", func(n Node) bool { v, ok := n.(*Symbol); return ok && v.Name == "resource:ref" && v.Type == nil }},
		{"#{1 2}", func(n Node) bool { v, ok := n.(*Set); return ok && len(v.Elems) == 2 }},
		{"{:a 1}", func(n Node) bool { v, ok := n.(*Map); return ok && len(v.Elems) == 2 }},
	}
	for _, tt := range tests {
		if n := mustParseExpr(t, tt.src); !tt.check(n) {
			t.Errorf("ParseExpr(%q) = %#v: wrong kind or value", tt.src, n)
		}
	}
}

func TestPositions(t *testing.T) {
	src := "(a\n  [b \"é\" c]\n\t{:k é-x})"
	forms, err := Parse("p.rtfs", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	l := forms[0].(*List)
	v := l.Elems[1].(*Vector)
	m := l.Elems[2].(*Map)
	tests := []struct {
		name string
		got  Pos
		want string
		off  int
	}{
		{"list", l.Pos(), "p.rtfs:1:1", 0},
		{"list end", l.End, "p.rtfs:3:10", len(src) - 1},
		{"a", l.Elems[0].Pos(), "p.rtfs:1:2", 1},
		{"vector", v.Pos(), "p.rtfs:2:3", 5},
		{"string", v.Elems[1].Pos(), "p.rtfs:2:6", 8},
		{"c after é", v.Elems[2].Pos(), "p.rtfs:2:10", 13}, // é is 2 bytes but 1 column
		{"vector end", v.End, "p.rtfs:2:11", 14},
		{"map", m.Pos(), "p.rtfs:3:2", 17},
		{"é-x", m.Elems[1].Pos(), "p.rtfs:3:6", 21},
	}
	for _, tt := range tests {
		if tt.got.String() != tt.want || tt.got.Offset != tt.off {
			t.Errorf("%s: pos %v offset %d, want %s offset %d", tt.name, tt.got, tt.got.Offset, tt.want, tt.off)
		}
	}

	// Sugar nodes take the position of the sugar.
	q := mustParseExpr(t, "  'x").(*List)
	if q.Pos().Col != 3 || q.Elems[1].Pos().Col != 4 {
		t.Errorf("quote positions: %v %v", q.Pos(), q.Elems[1].Pos())
	}
	sym := mustParseExpr(t, "x:int").(*Symbol)
	if sym.Type.Pos().Col != 3 {
		t.Errorf("type annotation position %v, want col 3", sym.Type.Pos())
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		src        string
		pos        string // line:col
		msg        string
		incomplete bool
	}{
		{`"bad \q escape"`, "1:6", `invalid escape sequence \q`, false},
		{`(+ 1 "a\q")`, "1:8", `invalid escape sequence \q`, false},
		{`"\u12"`, "1:2", "4 hex digits", false},
		{`"\uD800"`, "1:2", "surrogate", false},
		{`"\u00`, "1:1", "unterminated string", true},
		{`"abc`, "1:1", `unterminated string started at 1:1: expected '"'`, true},
		{"\"abc\\", "1:1", "unterminated string", true},
		{"(+ 1 2", "1:1", "unterminated list started at 1:1: expected ')'", true},
		{"(a\n  [b", "2:3", "unterminated vector started at 2:3: expected ']'", true},
		{"{:a", "1:1", "unterminated map", true},
		{"#{1", "1:1", "unterminated set", true},
		{"#(+ %", "1:1", "unterminated anonymous function", true},
		{"#| never closed", "1:1", "unterminated block comment", true},
		{"#| a #| b |#", "1:1", "unterminated block comment", true},
		{"'", "1:1", "expected a form after '", true},
		{"@", "1:1", "expected a form after @", true},
		{"^", "1:1", "expected a form after ^", true},
		{"^:a", "1:1", "expected a form after ^", true},
		{"#_", "1:1", "expected a form after #_", true},
		{"(a #_)", "1:4", "expected a form after #_", false},
		{"(a ')", "1:4", "expected a form after '", false},
		{"x:", "1:2", "expected a type", true},
		{"x: int", "1:2", "expected a type directly after 'x:'", false},
		{"#", "1:1", "found end of input", true},
		{"1/2", "1:1", "ratios such as 1/2 are not supported", false},
		{"-10/3", "1:1", "ratios such as 1/2 are not supported", false},
		{"12abc", "1:1", "invalid number 12abc", false},
		{"1.2.3", "1:1", "invalid number 1.2.3", false},
		{"0x", "1:1", "invalid hexadecimal number", false},
		{"0xG1", "1:1", "invalid hexadecimal number", false},
		{"007", "1:1", "leading zeros", false},
		{"9223372036854775808", "1:1", "does not fit in 64 bits", false},
		{"0x8000000000000000", "1:1", "does not fit in 64 bits", false},
		{"1e400", "1:1", "out of range", false},
		{"2024-13-15T10:30:45Z", "1:1", "invalid timestamp", false},
		{"2024-01-15T10:30:45", "1:1", "invalid timestamp", false},
		{"2024-01-15T10:30:45.1Z", "1:1", "invalid timestamp", false},
		{"{:a 1 :a 2}", "1:7", "duplicate key :a in map literal", false},
		{"{[1 2] 1 [1 2] 2}", "1:10", "duplicate key [1 2] in map literal", false},
		{"#{1 2 1}", "1:7", "duplicate element 1 in set literal", false},
		{"{:a}", "1:1", "map literal must have an even number of forms", false},
		{")", "1:1", "unexpected ')'", false},
		{"(a))", "1:4", "unexpected ')'", false},
		{"(a\n   [b c)", "2:8", "expected ']' to close '[' at 2:4, found ')'", false},
		{"#{a)", "1:4", "expected '}' to close '#{' at 1:1, found ')'", false},
		{"#(a #(b))", "1:5", "nested #() are not allowed", false},
		{"#(%0)", "1:3", "invalid parameter %0", false},
		{"#(%21)", "1:3", "invalid parameter %21", false},
		{":", "1:1", "':' must be followed by a name", false},
		{"::x", "1:1", "auto-resolved keywords", false},
		{":a:", "1:1", "invalid keyword", false},
		{":a::b", "1:1", "invalid keyword", false},
		{"##Foo", "1:1", "unknown symbolic value ##Foo", false},
		{"##Infx", "1:1", "unknown symbolic value", false},
		{`#"re"`, "1:1", "regular expression literals", false},
		{"#foo", "1:1", "unsupported reader macro #f", false},
		{"#<fn>", "1:1", "unsupported reader macro #<", false},
		{"`a", "1:1", "syntax-quote", false},
		{"~a", "1:1", "unquote", false},
		{`\a`, "1:1", "character literals", false},
		{"a@b", "1:2", "unexpected '@' in symbol a", false},
		{"true:int", "1:5", "unexpected ':' after true", false},
		{"resource://", "1:1", "expected a resource name", false},
		{"^42 x", "1:2", "metadata must be", false},
		{"\x01", "1:1", "unexpected control character", false},
		{"\xff", "1:1", "invalid UTF-8", false},
		{"ab\xff", "1:3", "invalid UTF-8", false},
		{"\u00a0", "1:1", "unexpected character", false},
		{strings.Repeat("(", MaxDepth+1), "1:10001", "nesting too deep", false},
		{strings.Repeat("'", MaxDepth+1) + "x", "1:10001", "nesting too deep", false},
	}
	for _, tt := range tests {
		_, err := Parse("e.rtfs", []byte(tt.src))
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", abbrev(tt.src), tt.msg)
			continue
		}
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("Parse(%q): error %T, want *Error", abbrev(tt.src), err)
			continue
		}
		pos := e.Pos
		if got := pos.String(); got != "e.rtfs:"+tt.pos {
			t.Errorf("Parse(%q): pos %s, want %s (msg %q)", abbrev(tt.src), got, tt.pos, e.Msg)
		}
		if !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("Parse(%q): msg %q, want it to contain %q", abbrev(tt.src), e.Msg, tt.msg)
		}
		if e.Incomplete != tt.incomplete {
			t.Errorf("Parse(%q): Incomplete = %v, want %v (msg %q)", abbrev(tt.src), e.Incomplete, tt.incomplete, e.Msg)
		}
		if want := e.Pos.String() + ": " + e.Msg; e.Error() != want {
			t.Errorf("Error() = %q, want %q", e.Error(), want)
		}
	}
}

func TestParseExprCount(t *testing.T) {
	if _, err := ParseExpr("f", []byte("  ; nothing\n")); err == nil {
		t.Error("ParseExpr of no form: no error")
	}
	_, err := ParseExpr("f", []byte("1 2"))
	if err == nil || !strings.Contains(err.Error(), "f:1:3:") {
		t.Errorf("ParseExpr of two forms: %v", err)
	}
	forms, err := Parse("f", []byte(" 1 ; x\n 2 #_3"))
	if err != nil || len(forms) != 2 {
		t.Errorf("Parse: %d forms, %v", len(forms), err)
	}
	forms, err = Parse("f", nil)
	if err != nil || len(forms) != 0 {
		t.Errorf("Parse(nil): %v %v", forms, err)
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{`(+ 1 "a\q")`, "(+ 1 \"a\\q\")\n       ^"},
		{"(a\n\t\t(b \"\\x\"))", "\t\t(b \"\\x\"))\n\t\t    ^"},
		{"(é \"\\x\")", "(é \"\\x\")\n    ^"},
		{"x\r\n(\r\n", "(\n^"},
	}
	for _, tt := range tests {
		_, err := Parse("", []byte(tt.src))
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		if got := e.Snippet(); got != tt.want {
			t.Errorf("Snippet for %q =\n%s\nwant\n%s", tt.src, got, tt.want)
		}
	}
}

func TestAnonFn(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"#(+ % 1)", "(fn [%1] (+ %1 1))"},
		{"#(* %1 %2)", "(fn [%1 %2] (* %1 %2))"},
		{"#(f %3)", "(fn [%1 %2 %3] (f %3))"},
		{"#(apply f %&)", "(fn [& %&] (apply f %&))"},
		{"#(apply f %2 %&)", "(fn [%1 %2 & %&] (apply f %2 %&))"},
		{"#(vector [% {:k %}] #{%2})", "(fn [%1 %2] (vector [%1 {:k %1}] #{%2}))"},
		{"#(do %params)", "(fn [] (do %params))"},
		{"#(when (> % 2) %)", "(fn [%1] (when (> %1 2) %1))"},
		{"#()", "(fn [] ())"},
		{"[#(f %) %]", "[(fn [%1] (f %1)) %]"},
	}
	for _, tt := range tests {
		if got := Print(mustParseExpr(t, tt.src)); got != tt.want {
			t.Errorf("%s reads as %s, want %s", tt.src, got, tt.want)
		}
	}
	// #{% %1} names the same parameter twice.
	if _, err := ParseExpr("", []byte("#(do #{% %1})")); err == nil || !strings.Contains(err.Error(), "duplicate element") {
		t.Errorf("#{%% %%1} inside #(): %v", err)
	}
}

func TestMeta(t *testing.T) {
	s := mustParseExpr(t, "^:delegation ^{:doc \"d\"} f").(*Symbol)
	if s.Meta == nil || Print(s.Meta) != `{:doc "d" :delegation true}` {
		t.Fatalf("meta = %v", Print(s.Meta))
	}
	l := mustParseExpr(t, "(defn ^:private f [] 1)").(*List)
	if f := l.Elems[1].(*Symbol); f.Meta == nil || Print(f.Meta) != "{:private true}" {
		t.Errorf("defn name meta = %s", Print(f.Meta))
	}
	for _, src := range []string{"^:a (f)", "^:a [x]", "^:a {}", "^:a #{}"} {
		if got := Print(mustParseExpr(t, src)); !strings.HasPrefix(got, "^{:a true} ") {
			t.Errorf("%s prints as %s: metadata lost", src, got)
		}
	}
}

func TestTypeAnnotations(t *testing.T) {
	l := mustParseExpr(t, "(let [x:int 5 y :ok s:string? nil v:[:vector :int] []] x)").(*List)
	b := l.Elems[1].(*Vector).Elems
	x := b[0].(*Symbol)
	if x.Name != "x" || x.Type == nil || Print(x.Type) != "int" {
		t.Errorf("x: %#v", x)
	}
	y := b[2].(*Symbol)
	if y.Name != "y" || y.Type != nil {
		t.Errorf("y: %#v", y)
	}
	if k, ok := b[3].(*Keyword); !ok || k.Name != "ok" {
		t.Errorf(":ok read as %#v", b[3])
	}
	if s := b[4].(*Symbol); s.Name != "s" || Print(s.Type) != "string?" {
		t.Errorf("s: %#v", s)
	}
	v := b[6].(*Symbol)
	if _, ok := v.Type.(*Vector); !ok || Print(v.Type) != "[:vector :int]" {
		t.Errorf("v: %#v", v)
	}
	if len(b) != 8 {
		t.Errorf("bindings = %d forms, want 8", len(b))
	}
	d := mustParseExpr(t, "(defn f [n:int] :int (* 2 n))").(*List)
	if len(d.Elems) != 5 {
		t.Errorf("defn: %d forms", len(d.Elems))
	}
	if n := d.Elems[2].(*Vector).Elems[0].(*Symbol); n.Name != "n" || Print(n.Type) != "int" {
		t.Errorf("param: %#v", n)
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"(a [b] {:c 1})", "( a\n[b]{:c 1} )", true},
		{"##NaN", "##NaN", true},
		{"0.0", "-0.0", false},
		{"1", "1.0", false},
		{"x:int", "x", false},
		{"^:a x", "x", false},
		{"[1 2]", "(1 2)", false},
		{"{:a 1 :b 2}", "{:b 2 :a 1}", false},
	}
	for _, tt := range tests {
		if got := Equal(mustParseExpr(t, tt.a), mustParseExpr(t, tt.b)); got != tt.want {
			t.Errorf("Equal(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
	if !Equal(nil, (*List)(nil)) || Equal(nil, &Nil{}) {
		t.Error("Equal with nils")
	}
}

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {-0.5, "-0.5"}, {1e20, "1.0E20"}, {1.5e-7, "1.5E-7"},
		{1e7, "1.0E7"}, {9999999, "9999999.0"}, {0.001, "0.001"}, {0.0001, "1.0E-4"},
		{math.MaxFloat64, "1.7976931348623157E308"}, {5e-324, "5.0E-324"},
		{math.Inf(1), "##Inf"}, {math.NaN(), "##NaN"},
	}
	for _, tt := range tests {
		if got := FormatFloat(tt.f); got != tt.want {
			t.Errorf("FormatFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

// conformanceCase is one case of a conformance file: the source lines
// before a ";; =>" or ";; !!" marker line.
type conformanceCase struct {
	file   string
	line   int
	src    string
	marker string
}

func conformanceCases(t testing.TB) []conformanceCase {
	files, err := filepath.Glob("../../testdata/conformance/*.rtfs")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no conformance files found")
	}
	var cases []conformanceCase
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cur []string
		start := 1
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, ";; =>") || strings.HasPrefix(line, ";; !!") {
				cases = append(cases, conformanceCase{filepath.Base(file), start, strings.Join(cur, "\n"), line})
				cur = nil
				start = i + 2
				continue
			}
			cur = append(cur, line)
		}
	}
	return cases
}

func TestConformance(t *testing.T) {
	cases := conformanceCases(t)
	parseErrors := 0
	for _, c := range cases {
		forms, err := Parse(c.file, []byte(c.src))
		if strings.TrimSpace(c.marker) == ";; !! :parse-error" {
			parseErrors++
			if err == nil {
				t.Errorf("%s:%d: %q parsed, want a parse error", c.file, c.line, c.src)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s:%d: %v\n%s", c.file, c.line, err, err.(*Error).Snippet())
			continue
		}
		if len(forms) == 0 {
			t.Errorf("%s:%d: no forms in %q", c.file, c.line, c.src)
		}
		for _, f := range forms {
			checkRoundTrip(t, f)
		}
	}
	if parseErrors != 3 {
		t.Errorf("found %d parse-error cases, want 3", parseErrors)
	}
}

// checkRoundTrip checks that Print(n) reads back Equal to n and that
// printing is stable.
func checkRoundTrip(t *testing.T, n Node) {
	t.Helper()
	text := Print(n)
	back, err := ParseExpr("rt", []byte(text))
	if err != nil {
		t.Errorf("re-reading %q: %v", text, err)
		return
	}
	if !Equal(n, back) {
		t.Errorf("round trip of %q: got %q, not Equal", text, Print(back))
	}
	if again := Print(back); again != text {
		t.Errorf("Print not stable: %q then %q", text, again)
	}
}

func TestRoundTrip(t *testing.T) {
	srcs := []string{
		"(defn ^:private f [n:[:and :int [:> 0]]] :int (* 2 n))",
		"^{:doc \"x\"} ^:a (f ^:b y)",
		"x:^:a int",
		"resource:^{} ref",
		"[1.5E300 -0.0 1e-5 ##NaN ##-Inf 0x7fffffffffffffff]",
		`"\u0000\u001f\u007f\u0085 é \uFFFF"`,
		"\"raw \xff bytes \xe2\x82\"",
		"#(f % %& #{:a})",
		"{#{} [] () {}}",
		"^^:m {:n 1} x",
		"a:b:c",
		"x:'int",
		"x:##NaN",
		"x:\"s\"",
		"x:2024-01-15T10:30:45Z",
	}
	for _, src := range srcs {
		checkRoundTrip(t, mustParseExpr(t, src))
	}
}

func TestDeepButAllowed(t *testing.T) {
	depth := MaxDepth - 1
	src := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	n := mustParseExpr(t, src)
	checkRoundTrip(t, n)
	src = strings.Repeat("(", MaxDepth*3)
	if _, err := Parse("", []byte(src)); err == nil {
		t.Error("no error for deep unterminated input")
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range conformanceCases(f) {
		f.Add([]byte(c.src))
	}
	for _, s := range []string{
		"", "(", ")", "#", "#_", "#|", "|#", "^", "'", "@", ":", "::", "x:", "x:y:z",
		"#(#(%))", "#(% %1 %&)", "{1 1}", "#{1 1}", "{1}", "\"\\u", "\"\\uD800\"",
		"resource:ref", "resource://", "resource:", "1/2", "0x", "-0x8000000000000000",
		"2024-01-15T10:30:45.123Z", "550e8400-e29b-41d4-a716-446655440000",
		"^:a ^{:a 1} ^b x", "#_#_#_ a b c d", "#| #| |# |#", "\xff\xfe", "\"\xff\"",
		"##Inf ##-Inf ##NaN", "1e400", "1e-400", "a:[:vector :int]", "[x:int 1 y :ok]",
		"%:int", "#(%:int)", "true?", "nil:x", "Exception.", "\t(a\r\n\t b)",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		forms, err := Parse("fuzz", src)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error of type %T", err)
			}
			if !e.Pos.IsValid() || e.Msg == "" {
				t.Fatalf("bad error %#v", e)
			}
			_ = e.Snippet()
			return
		}
		for _, n := range forms {
			text := Print(n)
			back, err := ParseExpr("fuzz", []byte(text))
			if err != nil {
				t.Fatalf("re-reading %q (from %q): %v", text, src, err)
			}
			if !Equal(n, back) {
				t.Fatalf("round trip of %q: got %q", text, Print(back))
			}
			if again := Print(back); again != text {
				t.Fatalf("Print not stable: %q then %q", text, again)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 100_000; i++ {
		sb.WriteString("(defn ^:private f")
		sb.WriteString(strings.Repeat("x", i%7))
		sb.WriteString(" [n:int s:string? v:[:vector :int]] ; a comment\n")
		sb.WriteString("  (let [m {:name \"Ada\\n\" :age 36 :tags #{:a :b}} r (map #(* % 2.5) v)]\n")
		sb.WriteString("    (step \"work\" (call :ccos.echo {:n n :id 550e8400-e29b-41d4-a716-446655440000}))\n")
		sb.WriteString("    #| block |# (if (> n 0x10) 'big @plan-id)))\n")
	}
	src := []byte(sb.String())
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.rtfs", src); err != nil {
			b.Fatal(err)
		}
	}
}

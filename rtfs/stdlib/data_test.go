package stdlib

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

func TestDataPrinting(t *testing.T) {
	runStrCases(t, []strCase{
		{`(pr-str)`, `""`},
		{`(pr-str "q\"x" :k [1 "s"])`, `"\"q\\\"x\" :k [1 \"s\"]"`},
		{`(pr-str nil true 1.0 "a\nb")`, `"nil true 1.0 \"a\\nb\""`},
		{`(pr-str {:a "x"} #{1})`, `"{:a \"x\"} #{1}"`},
		{`(prn-str "a" 1)`, `"\"a\" 1\n"`},
		{`(print-str "a" :b nil "c" [1 "x"])`, `"a :b  c [1 \"x\"]"`},
		{`(print-str)`, `""`},
		{`(println "hi")`, `nil`},
		{`(print "hi")`, `nil`},
	})
}

func TestDataPrintln(t *testing.T) {
	env := eval.NewEnv(Universe())
	th := eval.NewThread(context.Background(), env, nil, eval.Limits{MaxSteps: 1_000_000, MaxDepth: 1000})
	var out []string
	th.SetPrint(func(s string) { out = append(out, s) })
	src := `(println "hello" "world" 42 :k nil [1 "s"])
(println)
(print "no newline" 1.5)
(println "multi\nline")
(dotimes [i 2] (println "i=" i))`
	if _, err := th.EvalSource("test", []byte(src)); err != nil {
		t.Fatal(value.AsError(err).Describe())
	}
	want := []string{`hello world 42 :k  [1 "s"]`, ``, `no newline 1.5`, "multi\nline", `i= 0`, `i= 1`}
	if strings.Join(out, "|") != strings.Join(want, "|") {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

func TestDataReadString(t *testing.T) {
	runStrCases(t, []strCase{
		{`(read-string "42")`, `42`},
		{`(read-string "  [1 :a \"s\" {:b 2} #{3}] ")`, `[1 :a "s" {:b 2} #{3}]`},
		{`(read-string "(+ 1 2)")`, `(+ 1 2)`},
		{`(list? (read-string "(+ 1 2)"))`, `true`},
		{`(read-string "'x")`, `(quote x)`},
		{`(read-string "sym")`, `sym`},
		{`(read-string "nil")`, `nil`},
		{`(read-string "##Inf")`, `##Inf`},
		{`(read-string "\"é\\u00e9\"")`, `"éé"`},
		{`(read-string "; comment\n:k")`, `:k`},
		{`(read-string "(println \"side effect\")")`, `(println "side effect")`},
		{`(= (read-string (pr-str {:a [1 2.5 "x" nil]})) {:a [1 2.5 "x" nil]})`, `true`},
		{`(read-string "")`, `!! :parse-error`},
		{`(read-string "1 2")`, `!! :parse-error`},
		{`(read-string "(1 2")`, `!! :parse-error`},
		{`(read-string "1/2")`, `!! :parse-error`},
		{`(read-string ")")`, `!! :parse-error`},
		{`(read-string 1)`, `!! :type-error`},
		{`(try (read-string "(1") (catch :parse-error e (starts-with? (ex-message e) "read-string: ")))`, `true`},
	})
}

func TestDataJSON(t *testing.T) {
	runStrCases(t, []strCase{
		{`(parse-json "{\"a\": 1, \"b\": [true, null, 2.5]}")`, `{:a 1 :b [true nil 2.5]}`},
		{`(parse-json "{\"a\": 1}" {:keywordize false})`, `{"a" 1}`},
		{`(parse-json "{\"a\": 1}" {:keywordize true})`, `{:a 1}`},
		{`(parse-json "{\"a\": 1}" {})`, `{:a 1}`},
		{`(parse-json "{\"a\": 1}" nil)`, `{:a 1}`},
		{`(parse-json "{\"a\": 1}" 5)`, `!! :type-error`},
		{`(serialize-json {:name "x" :tags [1 2] :ok true :none nil})`, `"{\"name\":\"x\",\"tags\":[1,2],\"ok\":true,\"none\":null}"`},
		{`(parse-json (serialize-json {:k "v" :n [1 {:m 2}]}))`, `{:k "v" :n [1 {:m 2}]}`},
		{`(parse-json "{bad json")`, `!! :parse-error`},
		{`(serialize-json ##NaN)`, `!! :type-error`},
		{`(serialize-json ##Inf)`, `!! :type-error`},
		{`(serialize-json [1 ##-Inf])`, `!! :type-error`},

		// Key order is preserved, both ways.
		{`(parse-json "{\"z\":1,\"a\":2,\"m\":3,\"b\":4}")`, `{:z 1 :a 2 :m 3 :b 4}`},
		{`(serialize-json (parse-json "{\"z\":1,\"a\":2,\"m\":3,\"b\":4}"))`, `"{\"z\":1,\"a\":2,\"m\":3,\"b\":4}"`},
		{`(serialize-json {:z 1 :a 2})`, `"{\"z\":1,\"a\":2}"`},
		// Duplicate keys: last value wins.
		{`(parse-json "{\"a\":1,\"a\":2}")`, `{:a 2}`},
		// Scalars and nesting.
		{`(parse-json "  42 ")`, `42`},
		{`(parse-json "-0")`, `0`},
		{`(parse-json "-0.0")`, `-0.0`},
		{`(parse-json "\"s\"")`, `"s"`},
		{`(parse-json "null")`, `nil`},
		{`(parse-json "true")`, `true`},
		{`(parse-json "[]")`, `[]`},
		{`(parse-json "{}")`, `{}`},
		{`(parse-json "[[[[1]]],{\"a\":{\"b\":{}}}]")`, `[[[[1]]] {:a {:b {}}}]`},
		{`(parse-json "9223372036854775807")`, `9223372036854775807`},
		{`(parse-json "-9223372036854775808")`, `-9223372036854775808`},
		{`(parse-json "9223372036854775808")`, `9.223372036854776E18`},
		{`(parse-json "123456789012345678901234567890")`, `1.2345678901234568E29`},
		{`(parse-json "1.5e300")`, `1.5E300`},
		{`(parse-json "1E2")`, `100.0`},
		{`(parse-json "1.0")`, `1.0`},
		{`(parse-json "1e-400")`, `0.0`},
		{`(parse-json "1e400")`, `!! :parse-error`},
		// Escapes and unicode.
		{`(parse-json "\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83c\\udf89\"")`, `"a\"b\\c/d\n\té🎉"`},
		{`(parse-json "\"\\ud800\"")`, `"` + "\ufffd" + `"`},
		{`(parse-json "{\"é\":\"日本\"}")`, `{:é "日本"}`},
		{`(serialize-json "a\"b\\c\n\t\r/é🎉<>&")`, `"\"a\\\"b\\\\c\\n\\t\\r/é🎉<>&\""`},
		{`(serialize-json "\u0001\u001f\u007f")`, `"\"\\u0001\\u001f\u007f\""`},
		// Invalid inputs.
		{`(parse-json "")`, `!! :parse-error`},
		{`(parse-json "   ")`, `!! :parse-error`},
		{`(parse-json "[1,2")`, `!! :parse-error`},
		{`(parse-json "[1,]")`, `!! :parse-error`},
		{`(parse-json "{\"a\" 1}")`, `!! :parse-error`},
		{`(parse-json "{1: 2}")`, `!! :parse-error`},
		{`(parse-json "1 2")`, `!! :parse-error`},
		{`(parse-json "[1] x")`, `!! :parse-error`},
		{`(parse-json "{} {}")`, `!! :parse-error`},
		{`(parse-json "NaN")`, `!! :parse-error`},
		{`(parse-json "'a'")`, `!! :parse-error`},
		{`(parse-json "01")`, `!! :parse-error`},
		{`(parse-json "\"\\x\"")`, `!! :parse-error`},
		{`(parse-json "]")`, `!! :parse-error`},
		{`(parse-json 1)`, `!! :type-error`},
		{`(try (parse-json "{bad") (catch :parse-error e (starts-with? (ex-message e) "invalid JSON: ")))`, `true`},
		// Serialization of RTFS values.
		{`(serialize-json nil)`, `"null"`},
		{`(serialize-json [1 -2 1.5 1.0 1e20 -0.5 true false])`, `"[1,-2,1.5,1.0,1.0E20,-0.5,true,false]"`},
		{`(serialize-json [:k :ns/k 'sym 'ns/sym])`, `"[\"k\",\"ns/k\",\"sym\",\"ns/sym\"]"`},
		{`(serialize-json '(1 2))`, `"[1,2]"`},
		{`(serialize-json #{1})`, `"[1]"`},
		{`(serialize-json [])`, `"[]"`},
		{`(serialize-json {})`, `"{}"`},
		{`(serialize-json {:ns/k 1 "s" 2 'sym 3 1 4 nil 5 true 6 1.5 7})`, `"{\"ns/k\":1,\"s\":2,\"sym\":3,\"1\":4,\"null\":5,\"true\":6,\"1.5\":7}"`},
		{`(serialize-json {:a 1 "a" 2})`, `!! :type-error`},
		{`(serialize-json {[1 2] 1})`, `"{\"[1 2]\":1}"`},
		{`(serialize-json inc)`, `!! :type-error`},
		{`(serialize-json [(atom 1)])`, `!! :type-error`},
		{`(serialize-json {inc 1})`, `!! :type-error`},
		{`(serialize-json (ex-info "boom" {:a 1}))`, `"{\"type\":\"error\",\"message\":\"boom\",\"data\":{\"a\":1}}"`},
		{`(serialize-json 2024-01-15T10:30:45Z)`, `"\"2024-01-15T10:30:45Z\""`},
		{`(serialize-json 1 2)`, `!! :arity-error`},
	})
}

func TestDataJSONGoAPI(t *testing.T) {
	v, err := ParseJSON(`{"b":[1,2.5,"x",null,{"c":true}],"a":-3}`, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := value.Repr(v); got != `{:b [1 2.5 "x" nil {:c true}] :a -3}` {
		t.Fatalf("ParseJSON = %s", got)
	}
	s, err := SerializeJSON(v)
	if err != nil || s != `{"b":[1,2.5,"x",null,{"c":true}],"a":-3}` {
		t.Fatalf("SerializeJSON = %s, %v", s, err)
	}
	v, err = ParseJSON(`{"k":1}`, false)
	if err != nil || value.Repr(v) != `{"k" 1}` {
		t.Fatalf("ParseJSON(keywordize=false) = %v, %v", v, err)
	}
	if _, err := ParseJSON(`{`, true); err == nil || value.AsError(err).Type != value.ErrParse {
		t.Fatalf("ParseJSON({) error = %v", err)
	}
	if _, err := SerializeJSON(value.Float(math.NaN())); err == nil || value.AsError(err).Type != value.ErrType {
		t.Fatalf("SerializeJSON(NaN) error = %v", err)
	}
	// Our output is valid JSON that encoding/json reads back identically.
	in := value.NewMap(value.Keyword("s"), value.String("<\u2028\x00\xff>"), value.Keyword("f"), value.Float(1e-7))
	s, err = SerializeJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(s), &decoded); err != nil {
		t.Fatalf("encoding/json rejects %s: %v", s, err)
	}
	if decoded["s"] != "<\u2028\x00\ufffd>" || decoded["f"] != 1e-7 {
		t.Fatalf("decoded %#v from %s", decoded, s)
	}
	if !strings.Contains(s, `\u2028`) || !strings.Contains(s, "<") {
		t.Fatalf("escaping: %s", s)
	}
	// Deep nesting is an error, not a crash.
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	if _, err := ParseJSON(deep, true); err == nil {
		t.Fatal("ParseJSON accepted 20000 levels of nesting")
	}
	ok := strings.Repeat("[", 500) + strings.Repeat("]", 500)
	if _, err := ParseJSON(ok, true); err != nil {
		t.Fatalf("ParseJSON rejected 500 levels of nesting: %v", err)
	}
}

func TestDataJSONRoundTripFloats(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.1, 1.5e300, -2.5e-300, 5e-324, math.MaxFloat64, 1e7, 1e21, 123456.789, 1e-3, 9.999e-4} {
		s, err := SerializeJSON(value.Float(f))
		if err != nil {
			t.Fatal(err)
		}
		v, err := ParseJSON(s, true)
		if err != nil {
			t.Fatalf("%v: %s does not parse: %v", f, s, err)
		}
		if g, ok := v.(value.Float); !ok || float64(g) != f {
			t.Fatalf("%v → %s → %s", f, s, value.Repr(v))
		}
	}
}

// recHost records what the host-bound helpers ask for.
type recHost struct {
	eval.NoHost
	ctx   map[string]Value
	calls []string
	logs  []string
}

func (h *recHost) ContextSet(_ *eval.Thread, k string, v Value) error {
	h.ctx[k] = v
	return nil
}

func (h *recHost) Lookup(_ *eval.Thread, k string) (Value, bool, error) {
	v, ok := h.ctx[k]
	return v, ok, nil
}

func (h *recHost) Log(_ *eval.Thread, level string, args []Value) error {
	h.logs = append(h.logs, level+" "+value.Repr(value.NewVector(args...)))
	return nil
}

func (h *recHost) CallCapability(_ *eval.Thread, id string, args []Value) (Value, error) {
	h.calls = append(h.calls, id+" "+value.Repr(value.NewVector(args...)))
	switch id {
	case "ccos.io.read-file":
		return value.String("one\r\ntwo\n\nfour\n"), nil
	case "ccos.network.http-fetch":
		return value.NewMap(value.Keyword("status"), value.Int(200)), nil
	case "ccos.system.current-time":
		return value.String("2024-01-15T10:30:45Z"), nil
	}
	return nil, value.Errorf(value.ErrSecurity, "denied %s", id)
}

func TestDataHostHelpers(t *testing.T) {
	h := &recHost{ctx: map[string]Value{}}
	env := eval.NewEnv(Universe())
	th := eval.NewThread(context.Background(), env, h, eval.Limits{MaxSteps: 1_000_000, MaxDepth: 1000})
	run := func(src string) string {
		t.Helper()
		v, err := th.EvalSource("test", []byte(src))
		if err != nil {
			return "!! " + value.AsError(err).Describe()
		}
		return value.Repr(v)
	}
	for _, c := range []struct{ src, want string }{
		{`(context-set! :k [1 2])`, `[1 2]`},
		{`(context-get :k)`, `[1 2]`},
		{`(context-get "k")`, `[1 2]`},
		{`(context-set! "s" 1)`, `1`},
		{`(context-get 's)`, `1`},
		{`(context-set! :ns/q 2)`, `2`},
		{`(context-get :ns/q)`, `2`},
		{`(context-get :missing)`, `nil`},
		{`(context-get :missing :dflt)`, `:dflt`},
		{`(tool/log "a" 1 :b)`, `nil`},
		{`(read-lines "/tmp/f.txt")`, `["one" "two" "" "four"]`},
		{`(tool/http-fetch "https://example.com")`, `{:status 200}`},
		{`(tool/current-time)`, `"2024-01-15T10:30:45Z"`},
	} {
		if got := run(c.src); got != c.want {
			t.Errorf("%s: got %s, want %s", c.src, got, c.want)
		}
	}
	if got := run(`(context-set! 1 2)`); !strings.HasPrefix(got, "!! #<error :type-error") {
		t.Errorf("context-set! with an integer key: %s", got)
	}
	wantCalls := `ccos.io.read-file ["/tmp/f.txt"]|ccos.network.http-fetch ["https://example.com"]|ccos.system.current-time []`
	if got := strings.Join(h.calls, "|"); got != wantCalls {
		t.Errorf("calls: %s", got)
	}
	if got := strings.Join(h.logs, "|"); got != `info ["a" 1 :b]` {
		t.Errorf("logs: %s", got)
	}
	if h.ctx["k"] == nil || h.ctx["s"] == nil || h.ctx["ns/q"] == nil {
		t.Errorf("context: %v", h.ctx)
	}

	// Without a host, effects are refused (the default host refuses every
	// capability).
	for _, src := range []string{`(read-lines "/etc/passwd")`, `(tool/http-fetch "http://x")`, `(tool/current-time)`, `(context-set! :k 1)`} {
		_, err := strEval(t, src)
		if err == nil {
			t.Errorf("%s succeeded without a host", src)
		}
	}
	v, err := strEval(t, `(context-get :k)`)
	if err != nil || v != nil {
		t.Errorf("context-get without a host: %v, %v", v, err)
	}
}

func TestDataSplitLines(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"a":          "a",
		"a\n":        "a",
		"a\nb":       "a|b",
		"a\r\nb\r\n": "a|b",
		"\n":         "",
		"\n\n":       "|",
	} {
		if got := strings.Join(splitLines(in), "|"); got != want {
			t.Errorf("splitLines(%q) = %q, want %q", in, got, want)
		}
	}
	if n := len(splitLines("\n")); n != 1 {
		t.Errorf("splitLines(\"\\n\") has %d lines, want 1 empty line", n)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, "b": [true, null, 2.5]}`, `[]`, `{}`, `"\u00e9\ud83c\udf89"`, `1.5e300`,
		`9223372036854775808`, `-0`, `-0.0`, `{"a":1,"a":2}`, `[[[[]]]]`, `"\u2028<&>"`,
		`{"z":{"y":[1,{"x":null}]}}`, `1e400`, `{bad`, "\"\xff\"", `0.1`, `1E-7`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kw := range []bool{true, false} {
			v, err := ParseJSON(string(data), kw)
			if err != nil {
				if value.AsError(err).Type != value.ErrParse {
					t.Fatalf("non-parse error %v", err)
				}
				continue
			}
			if json.Valid(data) == false {
				t.Fatalf("ParseJSON accepted invalid JSON %q", data)
			}
			s, err := SerializeJSON(v)
			if err != nil {
				// Duplicate keys cannot arise from parsed JSON (the
				// parser collapses them), nor NaN; keywordized keys may
				// collide only with themselves.
				t.Fatalf("SerializeJSON(%s) failed: %v", value.Repr(v), err)
			}
			if !utf8.ValidString(s) || !json.Valid([]byte(s)) {
				t.Fatalf("SerializeJSON produced invalid JSON %q", s)
			}
			w, err := ParseJSON(s, kw)
			if err != nil {
				t.Fatalf("re-parse of %q failed: %v", s, err)
			}
			if !value.Equal(v, w) {
				t.Fatalf("round trip changed %s into %s", value.Repr(v), value.Repr(w))
			}
			if s2, _ := SerializeJSON(w); s2 != s {
				t.Fatalf("serialization not stable: %q vs %q", s, s2)
			}
		}
	})
}

// callBuiltin calls a stdlib builtin directly, for values (lazy sequences)
// that RTFS source could only build with other packages' functions.
func callBuiltin(t *testing.T, name string, maxSteps uint64, args ...Value) (Value, error) {
	t.Helper()
	u := Universe()
	b, ok := u[name].(*eval.Builtin)
	if !ok {
		t.Fatalf("no builtin %s", name)
	}
	th := eval.NewThread(context.Background(), eval.NewEnv(u), nil, eval.Limits{MaxSteps: maxSteps, MaxDepth: 1000})
	return b.Fn(th, args)
}

func TestDataLazySequences(t *testing.T) {
	v, err := callBuiltin(t, "serialize-json", 1000, value.NewRange(0, 3, 1))
	if err != nil || value.Repr(v) != `"[0,1,2]"` {
		t.Errorf("serialize-json (range 3) = %v, %v", v, err)
	}
	if _, err := callBuiltin(t, "serialize-json", 1000, &value.Range{Start: 0, Step: 1, N: -1}); err == nil || value.AsError(err).Type != value.ErrType {
		t.Errorf("serialize-json (range) error = %v", err)
	}
	if _, err := callBuiltin(t, "serialize-json", 1000, &value.Repeat{X: value.Int(1)}); err == nil || value.AsError(err).Type != value.ErrType {
		t.Errorf("serialize-json (repeat 1) error = %v", err)
	}
	// A huge bounded range is stopped by the step limit.
	if _, err := callBuiltin(t, "serialize-json", 10_000, value.NewRange(0, 1e12, 1)); err == nil || value.AsError(err).Type != value.ErrLimit {
		t.Errorf("serialize-json (range 1e12) error = %v", err)
	}
	v, err = callBuiltin(t, "join", 1000, value.String("-"), value.NewRange(0, 4, 1))
	if err != nil || value.Repr(v) != `"0-1-2-3"` {
		t.Errorf("join (range 4) = %v, %v", v, err)
	}
	if _, err := callBuiltin(t, "join", 1000, value.String("-"), &value.Range{Start: 0, Step: 1, N: -1}); err == nil || value.AsError(err).Type != value.ErrLimit {
		t.Errorf("join (range) error = %v", err)
	}
	if _, err := callBuiltin(t, "parse-json", 10, value.String("[1,2,3,4,5,6,7,8,9,10,11]")); err == nil || value.AsError(err).Type != value.ErrLimit {
		t.Errorf("parse-json over the step limit: %v", err)
	}
	v, err = callBuiltin(t, "str", 1000, value.String("r="), value.NewRange(0, 3, 1))
	if err != nil || value.Repr(v) != `"r=(0 1 2)"` {
		t.Errorf("str of a range = %v, %v", v, err)
	}
}

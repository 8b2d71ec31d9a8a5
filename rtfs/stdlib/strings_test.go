package stdlib

import (
	"context"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// strEval evaluates src in a fresh environment with the whole stdlib.
func strEval(t *testing.T, src string) (value.Value, error) {
	t.Helper()
	env := eval.NewEnv(Universe())
	th := eval.NewThread(context.Background(), env, nil, eval.Limits{MaxSteps: 1_000_000, MaxDepth: 1000})
	return th.EvalSource("test", []byte(src))
}

type strCase struct {
	src  string
	want string // Repr of the result, or "!! :type" for an error of that type
}

func runStrCases(t *testing.T, cases []strCase) {
	t.Helper()
	for _, c := range cases {
		v, err := strEval(t, c.src)
		if want, ok := strings.CutPrefix(c.want, "!! :"); ok {
			if err == nil {
				t.Errorf("%s: got %s, want error :%s", c.src, value.Repr(v), want)
				continue
			}
			if e := value.AsError(err); string(e.Type) != want {
				t.Errorf("%s: got error %s, want :%s", c.src, e.Describe(), want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %s", c.src, value.AsError(err).Describe())
			continue
		}
		if got := value.Repr(v); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.src, got, c.want)
		}
	}
}

func TestStrBasics(t *testing.T) {
	runStrCases(t, []strCase{
		{`(str)`, `""`},
		{`(str "a" "b" "c")`, `"abc"`},
		{`(str "n=" 42 " k=" :k " nil=" nil)`, `"n=42 k=:k nil="`},
		{`(str [1 2] {:a 1})`, `"[1 2]{:a 1}"`},
		{`(str 1.0 " " 1.5 " " true " " 'sym " " :ns/k)`, `"1.0 1.5 true sym :ns/k"`},
		{`(str ["a" nil])`, `"[\"a\" nil]"`},
		{`(str nil)`, `""`},

		{`(string-length "hello")`, `5`},
		{`(string-length "héllo")`, `5`},
		{`(string-length "日本語🎉")`, `4`},
		{`(string-length "")`, `0`},
		{`(string-length 5)`, `!! :type-error`},
		{`(string-length nil)`, `!! :type-error`},

		{`(subs "hello world" 6)`, `"world"`},
		{`(subs "hello world" 0 5)`, `"hello"`},
		{`(subs "héllo" 1 3)`, `"él"`},
		{`(subs "日本語🎉x" 3)`, `"🎉x"`},
		{`(subs "abc" 3)`, `""`},
		{`(subs "abc" 1 1)`, `""`},
		{`(subs "abc" 4)`, `!! :index-error`},
		{`(subs "abc" -1)`, `!! :index-error`},
		{`(subs "abc" 2 1)`, `!! :index-error`},
		{`(subs "abc" 0 4)`, `!! :index-error`},
		{`(subs "abc" "1")`, `!! :type-error`},
		{`(subs :abc 1)`, `!! :type-error`},
		{`(substring "abcdef" 1 3)`, `"bc"`},
		{`(substring "abcdef" 2)`, `"cdef"`},

		{`(upper-case "MiXed")`, `"MIXED"`},
		{`(lower-case "MiXed")`, `"mixed"`},
		{`(upper-case "straße é")`, `"STRAßE É"`},
		{`(lower-case "ÀÉ")`, `"àé"`},
		{`(string-upper "abc")`, `"ABC"`},
		{`(string-lower "ABC")`, `"abc"`},
		{`(upper-case nil)`, `!! :type-error`},

		{`(trim "  pad  ")`, `"pad"`},
		{`(trim "\t\n pad \r\n")`, `"pad"`},
		{`(triml "  pad  ")`, `"pad  "`},
		{`(trimr "  pad  ")`, `"  pad"`},
		{`(string-trim " x ")`, `"x"`},
		{`(trim "\u00a0x\u3000")`, `"x"`},
		{`(trim 1)`, `!! :type-error`},
	})
}

func TestStrSplitJoinReplace(t *testing.T) {
	runStrCases(t, []strCase{
		{`(split "a,b,,c" ",")`, `["a" "b" "" "c"]`},
		{`(split "a,b,c," ",")`, `["a" "b" "c" ""]`},
		{`(split "abc" ",")`, `["abc"]`},
		{`(split "" ",")`, `[""]`},
		{`(split "a::b::c" "::")`, `["a" "b" "c"]`},
		{`(split "a.b" ".")`, `["a" "b"]`},
		{`(split "a|b" "|")`, `["a" "b"]`},
		{`(split "héllo" "")`, `["h" "é" "l" "l" "o"]`},
		{`(split "" "")`, `[""]`},
		{`(split "a,b,c" "," 2)`, `["a" "b,c"]`},
		{`(split "abc" "" 2)`, `["a" "bc"]`},
		{`(split "a,b,c" "," 0)`, `["a" "b" "c"]`},
		{`(split "日,本" ",")`, `["日" "本"]`},
		{`(split "a b" #"\s")`, `!! :parse-error`},
		{`(split "a b" 1)`, `!! :type-error`},
		{`(split nil ",")`, `!! :type-error`},

		{`(join "-" ["x" "y" "z"])`, `"x-y-z"`},
		{`(join ["x" "y"])`, `"xy"`},
		{`(join ", " [1 :k nil "s" 1.5])`, `"1, :k, , s, 1.5"`},
		{`(join "-" [])`, `""`},
		{`(join "-" nil)`, `""`},
		{`(join "-" '(1 2 3))`, `"1-2-3"`},
		{`(join "," #{1})`, `"1"`},
		{`(join "-" "abc")`, `"a-b-c"`},
		{`(join ["a" "b"] "-")`, `"a-b"`},
		{`(join 1 ["a" "b"])`, `"a1b"`},
		{`(join "-" 5)`, `!! :type-error`},

		{`(replace "banana" "a" "o")`, `"bonono"`},
		{`(replace "banana" "an" "")`, `"ba"`},
		{`(replace "a.b.c" "." "\\")`, `"a\\b\\c"`},
		{`(replace "a+b" "+" "$1")`, `"a$1b"`},
		{`(replace "héllo" "é" "e")`, `"hello"`},
		{`(replace "abc" "x" "y")`, `"abc"`},
		{`(replace "abc" "" "-")`, `"-a-b-c-"`},
		{`(replace "abc" #"b" "x")`, `!! :parse-error`},
		{`(replace "abc" :b "x")`, `!! :type-error`},
	})
}

func TestStrSearch(t *testing.T) {
	runStrCases(t, []strCase{
		{`[(starts-with? "rtfs" "rt") (ends-with? "rtfs" "fs") (includes? "rtfs" "tf")]`, `[true true true]`},
		{`[(starts-with? "rtfs" "fs") (ends-with? "rtfs" "rt") (includes? "rtfs" "x")]`, `[false false false]`},
		{`[(starts-with? "" "") (includes? "abc" "")]`, `[true true]`},
		{`(string-contains "hello" "ell")`, `true`},
		{`(starts-with? nil "a")`, `!! :type-error`},
		{`(includes? "abc" 1)`, `!! :type-error`},

		{`(index-of "hello" "l")`, `2`},
		{`(index-of "hello" "z")`, `nil`},
		{`(index-of "héllo" "l")`, `2`},
		{`(index-of "日本語🎉x" "x")`, `4`},
		{`(index-of "hello" "l" 3)`, `3`},
		{`(index-of "hello" "l" 4)`, `nil`},
		{`(index-of "héllo" "l" 3)`, `3`},
		{`(index-of "hello" "h" -5)`, `0`},
		{`(index-of "hello" "" 99)`, `5`},
		{`(index-of "hello" "")`, `0`},
		{`(index-of "hello" 1)`, `!! :type-error`},

		{`(last-index-of "hello" "l")`, `3`},
		{`(last-index-of "héllo" "l")`, `3`},
		{`(last-index-of "hello" "z")`, `nil`},
		{`(last-index-of "hello" "l" 2)`, `2`},
		{`(last-index-of "hello" "l" 1)`, `nil`},
		{`(last-index-of "héllo héllo" "é" 6)`, `1`},
		{`(last-index-of "héllo héllo" "é" 7)`, `7`},
		{`(last-index-of "hello" "l" 99)`, `3`},
		{`(last-index-of "hello" "h" -1)`, `nil`},
		{`(last-index-of "hello" "")`, `5`},

		{`(blank? "   ")`, `true`},
		{`(blank? "")`, `true`},
		{`(blank? nil)`, `true`},
		{`(blank? "\t\n")`, `true`},
		{`(blank? " x ")`, `false`},
		{`(blank? 1)`, `!! :type-error`},
	})
}

func TestStrFormat(t *testing.T) {
	runStrCases(t, []strCase{
		{`(format "%s has %d items" "cart" 3)`, `"cart has 3 items"`},
		{`(format "plain")`, `"plain"`},
		{`(format "")`, `""`},
		{`(format "%.2f" 3.14159)`, `"3.14"`},
		{`(format "%.2f" 3)`, `"3.00"`},
		{`(format "%f" 1.5)`, `"1.500000"`},
		{`(format "%5.1f|" 2.25)`, `"  2.2|"`},
		{`(format "%x %X %o" 255 255 8)`, `"ff FF 10"`},
		{`(format "100%%")`, `"100%"`},
		{`(format "%5d|%-5d|%05d" 42 42 42)`, `"   42|42   |00042"`},
		{`(format "%+d %+d" 5 -5)`, `"+5 -5"`},
		{`(format "%s" nil)`, `""`},
		{`(format "%s %s %s" :k [1 "a"] {:a 1})`, `":k [1 \"a\"] {:a 1}"`},
		{`(format "%s" 1.0)`, `"1.0"`},
		{`(format "%d" -9223372036854775808)`, `"-9223372036854775808"`},
		{`(format "%-4s|" "ab")`, `"ab  |"`},
		{`(format "%4s|" "日本")`, `"  日本|"`},
		{`(format "%.2s" "héllo")`, `"hé"`},
		{`(format "%S" "abc")`, `"ABC"`},
		{`(format "%e" 12345.678)`, `"1.234568e+04"`},
		{`(format "%g" 0.5)`, `"0.5"`},
		{`(format "%c%c" 104 "i")`, `"hi"`},
		{`(format "%b %b" nil 0)`, `"false true"`},
		{`(format "a%nb")`, `"a\nb"`},
		{`(format "%2$s %1$s" "world" "hello")`, `"hello world"`},
		{`(format "%1$s %1$s" "x")`, `"x x"`},
		{`(format "%s" "a" "extra")`, `"a"`},
		{`(format "%.1f" ##NaN)`, `"NaN"`},

		{`(format "%d" "x")`, `!! :type-error`},
		{`(format "%d" 1.5)`, `!! :type-error`},
		{`(format "%f" "x")`, `!! :type-error`},
		{`(format "%x" 1.5)`, `!! :type-error`},
		{`(format "%c" "ab")`, `!! :type-error`},
		{`(format "%c" -1)`, `!! :type-error`},
		{`(format "%d")`, `!! :arity-error`},
		{`(format "%s %s" "a")`, `!! :arity-error`},
		{`(format "%3$s" "a")`, `!! :arity-error`},
		{`(format "%0$s" "a")`, `!! :type-error`},
		{`(format "%q" "a")`, `!! :type-error`},
		{`(format "%v" "a")`, `!! :type-error`},
		{`(format "abc%")`, `!! :type-error`},
		{`(format "%5")`, `!! :type-error`},
		{`(format "%99999999999999999999d" 1)`, `!! :limit-exceeded`},
		{`(format "%.100000f" 1.0)`, `!! :limit-exceeded`},
		{`(format 1)`, `!! :type-error`},
	})
}

func TestStrFormatNoGarbage(t *testing.T) {
	// No format string/argument combination may leak fmt's %!verb markers.
	verbs := []string{"%s", "%d", "%x", "%X", "%o", "%f", "%e", "%g", "%c", "%b", "%S", "%5.2f", "%-3d", "%#x", "% d", "%+s", "%05s", "%#s", "%.3x"}
	args := []string{`nil`, `1`, `-1`, `1.5`, `"s"`, `"日"`, `:k`, `[1]`, `true`, `##Inf`}
	for _, v := range verbs {
		for _, a := range args {
			src := `(format "` + v + `" ` + a + `)`
			res, err := strEval(t, src)
			if err != nil {
				if e := value.AsError(err); e.Type != value.ErrType {
					t.Errorf("%s: unexpected error %s", src, e.Describe())
				}
				continue
			}
			if s := value.Str(res); strings.Contains(s, "%!") {
				t.Errorf("%s: fmt garbage %q", src, s)
			}
		}
	}
}

func TestStrRegex(t *testing.T) {
	runStrCases(t, []strCase{
		{`(re-find "[0-9]+" "abc123def")`, `"123"`},
		{`(re-find "[0-9]+" "abcdef")`, `nil`},
		{`(re-find "(\\w+)@(\\w+)" "mail bob@example now")`, `["bob@example" "bob" "example"]`},
		{`(re-find "(a)|(b)" "b")`, `["b" nil "b"]`},
		{`(re-find "é+" "héééllo")`, `"ééé"`},
		{`(re-find "(?i)HELLO" "say hello")`, `"hello"`},
		{`(re-find "" "abc")`, `""`},
		{`(re-find "[" "abc")`, `!! :type-error`},
		{`(re-find "(?P<x" "abc")`, `!! :type-error`},
		{`(re-find 1 "abc")`, `!! :type-error`},
		{`(re-find "a" nil)`, `!! :type-error`},

		{`(re-matches "[0-9]+" "123")`, `"123"`},
		{`(re-matches "[0-9]+" "123x")`, `nil`},
		{`(re-matches "[0-9]+" "x123")`, `nil`},
		{`(re-matches "a|ab" "ab")`, `"ab"`},
		{`(re-matches "(\\d+)-(\\d+)" "10-20")`, `["10-20" "10" "20"]`},
		{`(re-matches "(?m)a$" "a\nb")`, `nil`},
		{`(re-matches "\\Qa.b" "a.b")`, `"a.b"`},
		{`(re-matches "\\Qa.b" "axb")`, `nil`},
		{`(re-matches "\\Qa.b\\E" "a.b")`, `"a.b"`},
		{`(re-matches "a)|(b" "b")`, `!! :type-error`},
		{`(re-matches "" "")`, `""`},

		{`(re-seq "[0-9]+" "a1b22c333")`, `("1" "22" "333")`},
		{`(re-seq "[0-9]+" "abc")`, `nil`},
		{`(re-seq "(\\w)=(\\d)" "a=1 b=2")`, `(["a=1" "a" "1"] ["b=2" "b" "2"])`},
		{`(re-seq "x*" "ab")`, `("" "" "")`},
		{`(re-seq "." "日本")`, `("日" "本")`},
		{`(re-seq "(" "abc")`, `!! :type-error`},
		// The same pattern used for find and full matching.
		{`[(re-find "a+" "baaa") (re-matches "a+" "baaa") (re-matches "a+" "aaa") (re-find "a+" "baaa")]`, `["aaa" nil "aaa" "aaa"]`},
	})
}

func TestStrNamesAndParsing(t *testing.T) {
	runStrCases(t, []strCase{
		{`(name :ns/key)`, `"key"`},
		{`(name :key)`, `"key"`},
		{`(name 'a/b)`, `"b"`},
		{`(name "str")`, `"str"`},
		{`(name :com.acme:v1.2/analyze)`, `"analyze"`},
		{`(name 1)`, `!! :type-error`},
		{`(name nil)`, `!! :type-error`},
		{`(namespace :ns/key)`, `"ns"`},
		{`(namespace :key)`, `nil`},
		{`(namespace 'a.b/c)`, `"a.b"`},
		{`(namespace :com.acme:v1.2/analyze)`, `"com.acme:v1.2"`},
		{`(namespace "a/b")`, `!! :type-error`},

		{`(keyword "made")`, `:made`},
		{`(keyword "ns" "made")`, `:ns/made`},
		{`(keyword :k)`, `:k`},
		{`(keyword 'sym)`, `:sym`},
		{`(keyword nil)`, `nil`},
		{`(keyword nil "x")`, `:x`},
		{`(= (keyword "a") :a)`, `true`},
		{`(keyword 1)`, `!! :type-error`},
		{`(symbol "sym")`, `sym`},
		{`(symbol "ns" "sym")`, `ns/sym`},
		{`(symbol :k)`, `k`},
		{`(= (symbol "x") 'x)`, `true`},
		{`(symbol [1])`, `!! :type-error`},

		{`(parse-int "123")`, `123`},
		{`(parse-int "-42")`, `-42`},
		{`(parse-int "+7")`, `7`},
		{`(parse-int "007")`, `7`},
		{`(parse-int "9223372036854775807")`, `9223372036854775807`},
		{`(parse-int "-9223372036854775808")`, `-9223372036854775808`},
		{`(parse-int 5)`, `5`},
		{`(parse-int "12x")`, `!! :type-error`},
		{`(parse-int "")`, `!! :type-error`},
		{`(parse-int "-")`, `!! :type-error`},
		{`(parse-int "+-1")`, `!! :type-error`},
		{`(parse-int " 1")`, `!! :type-error`},
		{`(parse-int "1.5")`, `!! :type-error`},
		{`(parse-int "0x10")`, `!! :type-error`},
		{`(parse-int "1_000")`, `!! :type-error`},
		{`(parse-int "١٢")`, `!! :type-error`},
		{`(parse-int "9223372036854775808")`, `!! :arithmetic-error`},
		{`(parse-int nil)`, `!! :type-error`},
		{`(try (parse-int "12x") (catch :type-error e (ex-message e)))`, `"parse-int: invalid integer \"12x\""`},

		{`(parse-float "1.5")`, `1.5`},
		{`(parse-float "-0.25")`, `-0.25`},
		{`(parse-float "3")`, `3.0`},
		{`(parse-float ".5")`, `0.5`},
		{`(parse-float "5.")`, `5.0`},
		{`(parse-float "1e3")`, `1000.0`},
		{`(parse-float "1.5E-3")`, `0.0015`},
		{`(parse-float "+2.5e+2")`, `250.0`},
		{`(parse-float 2)`, `2.0`},
		{`(parse-float 2.5)`, `2.5`},
		{`(parse-float "1e-400")`, `0.0`},
		{`(parse-float "1e400")`, `!! :arithmetic-error`},
		{`(parse-float "abc")`, `!! :type-error`},
		{`(parse-float "1.5x")`, `!! :type-error`},
		{`(parse-float ".")`, `!! :type-error`},
		{`(parse-float "1e")`, `!! :type-error`},
		{`(parse-float "NaN")`, `!! :type-error`},
		{`(parse-float "Inf")`, `!! :type-error`},
		{`(parse-float "0x1p3")`, `!! :type-error`},
		{`(parse-float "")`, `!! :type-error`},
		{`(parse-float :k)`, `!! :type-error`},
	})
}

func TestStrConformance(t *testing.T) {
	// The string cases of testdata/conformance/strings.rtfs that belong to
	// this file.
	runStrCases(t, []strCase{
		{`(pr-str "q\"x" :k [1 "s"])`, `"\"q\\\"x\" :k [1 \"s\"]"`},
		{`(parse-int "12x")`, `!! :type-error`},
	})
}

func TestStrRegexCacheIsPerUniverse(t *testing.T) {
	a, b := Universe(), Universe()
	if a["re-find"] == b["re-find"] {
		t.Fatal("two universes share the re-find builtin (and its regex cache)")
	}
	// Fill the cache past its bound; results stay correct.
	var src strings.Builder
	src.WriteString("(do ")
	for i := range regexCacheSize + 10 {
		src.WriteString(`(re-find "a{` + itoaTest(i%300+1) + `}" "aaa")`)
	}
	src.WriteString(`(re-find "a{2}" "aaa"))`)
	v, err := strEval(t, src.String())
	if err != nil || value.Repr(v) != `"aa"` {
		t.Fatalf("got %v, %v", v, err)
	}
}

func itoaTest(i int) string {
	return strings.TrimSpace(value.Repr(value.Int(i)))
}

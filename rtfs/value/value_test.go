package value_test

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

func read(t testing.TB, src string) value.Value {
	t.Helper()
	n, err := syntax.ParseExpr("test", []byte(src))
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return value.FromSyntax(n)
}

func TestRepr(t *testing.T) {
	tests := []struct {
		v    value.Value
		want string
	}{
		{nil, "nil"},
		{value.True, "true"},
		{value.Int(42), "42"},
		{value.Float(-0.5), "-0.5"},
		{value.Float(1), "1.0"},
		{value.Float(1e20), "1.0E20"},
		{value.Float(1.5e-7), "1.5E-7"},
		{value.Float(0.025), "0.025"},
		{value.Float(1e7), "1.0E7"},
		{value.Float(math.NaN()), "##NaN"},
		{value.Float(math.Inf(1)), "##Inf"},
		{value.Float(math.Inf(-1)), "##-Inf"},
		{value.String("a\"b\n"), `"a\"b\n"`},
		{value.String("\x01é"), `"\u0001é"`},
		{value.Keyword("k"), ":k"},
		{value.Keyword("ns/k"), ":ns/k"},
		{value.Symbol("sym"), "sym"},
		{value.NewList(value.Int(1), value.Int(2)), "(1 2)"},
		{value.NewVector(value.Int(1), value.Int(2)), "[1 2]"},
		{value.NewMap(value.Keyword("a"), value.Int(1), value.Keyword("b"), value.String("x")), `{:a 1 :b "x"}`},
		{value.NewSet(value.Int(1), value.Int(2)), "#{1 2}"},
		{value.NewAtom(value.Int(1)), "#<atom 1>"},
		{value.NewError(value.ErrType, "msg"), `#<error :type-error "msg">`},
		{value.NewRange(0, 3, 1), "(0 1 2)"},
		{value.EmptyList, "()"},
		{value.UUID("550e8400-e29b-41d4-a716-446655440000"), "550e8400-e29b-41d4-a716-446655440000"},
		{value.Timestamp("2024-01-15T10:30:45Z"), "2024-01-15T10:30:45Z"},
		{&value.Resource{Name: "db"}, "resource://db"},
	}
	for _, tt := range tests {
		if got := value.Repr(tt.v); got != tt.want {
			t.Errorf("Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestStr(t *testing.T) {
	if got := value.Str(nil); got != "" {
		t.Errorf("Str(nil) = %q", got)
	}
	if got := value.Str(value.String("raw\n")); got != "raw\n" {
		t.Errorf("Str(string) = %q", got)
	}
	if got := value.Str(value.Keyword("k")); got != ":k" {
		t.Errorf("Str(keyword) = %q", got)
	}
}

func TestEqualAndHash(t *testing.T) {
	tests := []struct {
		a, b string
		eq   bool
	}{
		{"1", "1", true},
		{"1", "1.0", false},
		{"[1 2 3]", "'(1 2 3)", true},
		{"{:a 1 :b 2}", "{:b 2 :a 1}", true},
		{"#{1 2}", "#{2 1}", true},
		{"{:a [1 {:b 2}]}", "{:a (1 {:b 2})}", true},
		{"[1 2]", "[1 2 3]", false},
		{"{:a 1}", "{:a 2}", false},
		{"\"a\"", ":a", false},
		{"nil", "false", false},
		{"##NaN", "##NaN", false},
		{"0.0", "-0.0", true},
	}
	for _, tt := range tests {
		a, b := read(t, tt.a), read(t, tt.b)
		if q, ok := a.(*value.List); ok && q.Len() == 2 && q.First() == value.Symbol("quote") {
			a = q.Rest().First()
		}
		if q, ok := b.(*value.List); ok && q.Len() == 2 && q.First() == value.Symbol("quote") {
			b = q.Rest().First()
		}
		if got := value.Equal(a, b); got != tt.eq {
			t.Errorf("Equal(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.eq)
		}
		if tt.eq && value.Hash(a) != value.Hash(b) {
			t.Errorf("Hash(%s) != Hash(%s) although equal", tt.a, tt.b)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b value.Value
		want int
		err  bool
	}{
		{value.Int(1), value.Int(2), -1, false},
		{value.Int(2), value.Float(1.5), 1, false},
		{value.String("b"), value.String("a"), 1, false},
		{nil, value.Int(0), -1, false},
		{value.Keyword("a"), value.Keyword("a"), 0, false},
		{value.NewVector(value.Int(1)), value.NewVector(value.Int(1), value.Int(0)), -1, false},
		{value.Int(1), value.String("a"), 0, true},
	}
	for _, tt := range tests {
		got, err := value.Compare(tt.a, tt.b)
		if (err != nil) != tt.err || (err == nil && got != tt.want) {
			t.Errorf("Compare(%s, %s) = %d, %v", value.Repr(tt.a), value.Repr(tt.b), got, err)
		}
	}
}

// TestDeepValues checks that printing, equality and hashing of values
// nested far deeper than any real data neither crash nor hang.
func TestDeepValues(t *testing.T) {
	var v value.Value = value.Int(0)
	for i := 0; i < 50000; i++ {
		v = value.NewVector(v)
	}
	s := value.Repr(v)
	if !strings.Contains(s, "#<too-deep>") {
		t.Errorf("deep value printed without a depth cut")
	}
	if !value.Equal(v, v) {
		t.Errorf("deep value not equal to itself")
	}
	_ = value.Hash(v)
}

func TestAtom(t *testing.T) {
	a := value.NewAtom(value.Int(5))
	if !a.CompareAndSet(value.Int(5), value.Int(6)) || a.CompareAndSet(value.Int(5), value.Int(7)) {
		t.Fatal("compare-and-set semantics")
	}
	tok, v := a.Snapshot()
	if v != value.Int(6) || !a.SwapIfUnchanged(tok, value.Int(8)) || a.SwapIfUnchanged(tok, value.Int(9)) {
		t.Fatal("snapshot/swap semantics")
	}
}

// FuzzReadPrint checks read(print(read(x))) == read(x) on data: anything
// the reader accepts, printed canonically, reads back as an equal value.
func FuzzReadPrint(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/conformance/*.rtfs")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f.Add(line)
		}
	}
	f.Add(`{:a [1 2.5 "x\n"] #{:k} (1 2)}`)
	f.Fuzz(func(t *testing.T, src string) {
		forms, err := syntax.Parse("fuzz", []byte(src))
		if err != nil {
			return
		}
		for _, n := range forms {
			v := value.FromSyntax(n)
			printed := value.Repr(v)
			back, err := syntax.ParseExpr("printed", []byte(printed))
			if err != nil {
				t.Fatalf("printed form %q of %q does not read back: %v", printed, src, err)
			}
			v2 := value.FromSyntax(back)
			if !value.Equal(v, v2) && !containsNaN(printed) {
				t.Fatalf("read(print(read(x))) differs: %q -> %q", src, printed)
			}
			if value.Repr(v2) != printed {
				t.Fatalf("printing is not stable: %q then %q", printed, value.Repr(v2))
			}
		}
	})
}

func containsNaN(s string) bool { return strings.Contains(s, "##NaN") }

func TestIntBoxer(t *testing.T) {
	var b value.IntBoxer
	for _, i := range []value.Int{0, 7, 255, 256, -1, 1 << 40, math.MinInt64, math.MaxInt64} {
		v := b.Box(i)
		got, ok := v.(value.Int)
		if !ok || got != i {
			t.Fatalf("Box(%d) = %#v", i, v)
		}
		if v != value.Value(i) || !value.Equal(v, i) || value.Hash(v) != value.Hash(i) {
			t.Fatalf("Box(%d) does not behave as the plain Int", i)
		}
		if value.Repr(v) != value.Repr(i) || value.TypeName(v) != "integer" {
			t.Fatalf("Box(%d) prints as %s", i, value.Repr(v))
		}
	}
	// Boxes stay valid after their chunk is used up and garbage collected.
	var kept []value.Value
	for i := 0; i < 10000; i++ {
		kept = append(kept, b.Box(value.Int(1000+i)))
	}
	runtime.GC()
	for i, v := range kept {
		if v.(value.Int) != value.Int(1000+i) {
			t.Fatalf("box %d changed to %v", i, v)
		}
	}
}

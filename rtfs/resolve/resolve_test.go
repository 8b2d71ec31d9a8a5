package resolve_test

import (
	"strings"
	"testing"

	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

func resolveSrc(t *testing.T, src string) (*resolve.Program, error) {
	t.Helper()
	n, err := syntax.ParseExpr("r.rtfs", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return resolve.Resolve(n)
}

// fnOf digs the first fn literal out of a program body.
func fnOf(e resolve.Expr) *resolve.Function {
	switch x := e.(type) {
	case *resolve.FnExpr:
		return x.Fn
	case *resolve.Let:
		for _, b := range x.Bindings {
			if f := fnOf(b.Init); f != nil {
				return f
			}
		}
		return fnOf(x.Body)
	case *resolve.Def:
		return fnOf(x.Init)
	case *resolve.Do:
		for _, e := range x.Exprs {
			if f := fnOf(e); f != nil {
				return f
			}
		}
	}
	return nil
}

func TestCaptureAnalysis(t *testing.T) {
	p, err := resolveSrc(t, "(let [x 1 y 2 f (fn [] x)] (+ y (f)))")
	if err != nil {
		t.Fatal(err)
	}
	let := p.Body.(*resolve.Let)
	x := let.Bindings[0].Pat.(*resolve.BindPat).B
	y := let.Bindings[1].Pat.(*resolve.BindPat).B
	if !x.Captured || y.Captured {
		t.Errorf("x captured=%v (want true), y captured=%v (want false)", x.Captured, y.Captured)
	}
	f := fnOf(p.Body)
	if len(f.Free) != 1 || f.Free[0].B != x || !f.Free[0].FromParentLocal {
		t.Errorf("free vars of f: %+v", f.Free)
	}
	if p.NumLocals != 3 {
		t.Errorf("program has %d locals, want 3", p.NumLocals)
	}
}

func TestNestedCapture(t *testing.T) {
	// z is captured by the innermost fn through the middle one.
	p, err := resolveSrc(t, "(let [z 1] (fn [] (fn [] z)))")
	if err != nil {
		t.Fatal(err)
	}
	outer := fnOf(p.Body)
	inner := fnOf(outer.Arities[0].Body)
	if len(outer.Free) != 1 || !outer.Free[0].FromParentLocal {
		t.Fatalf("outer free: %+v", outer.Free)
	}
	if len(inner.Free) != 1 || inner.Free[0].FromParentLocal || inner.Free[0].ParentIndex != 0 {
		t.Fatalf("inner free: %+v", inner.Free)
	}
}

func TestShadowingAndLetrec(t *testing.T) {
	// The closure sees the first x; the later x is a new binding.
	p, err := resolveSrc(t, "(let [x 1 f (fn [] x) x 2] (f))")
	if err != nil {
		t.Fatal(err)
	}
	let := p.Body.(*resolve.Let)
	first := let.Bindings[0].Pat.(*resolve.BindPat).B
	second := let.Bindings[2].Pat.(*resolve.BindPat).B
	if first == second || !first.Captured || second.Captured {
		t.Errorf("bindings: first %+v second %+v", first, second)
	}
	// Forward references between fn bindings resolve to the same slots.
	p, err = resolveSrc(t, "(let [f (fn [] (g)) g (fn [] 1)] (f))")
	if err != nil {
		t.Fatal(err)
	}
	let = p.Body.(*resolve.Let)
	if len(let.Forward) != 2 {
		t.Fatalf("forward bindings: %d", len(let.Forward))
	}
	g := let.Bindings[1].Pat.(*resolve.BindPat).B
	if !g.Forward || !g.Captured {
		t.Errorf("g: %+v", g)
	}
}

func TestGlobalsAndSpecialForms(t *testing.T) {
	p, err := resolveSrc(t, "(if-x 1)")
	if err != nil {
		t.Fatal(err)
	}
	call := p.Body.(*resolve.Call)
	if g, ok := call.Fn.(*resolve.GlobalRef); !ok || g.Name != "if-x" {
		t.Errorf("if-x should be a global call, got %T", call.Fn)
	}
	p, err = resolveSrc(t, "(let [if (fn [x] x)] (if 1))")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Body.(*resolve.Let).Body.(*resolve.Call); !ok {
		t.Errorf("a local named if is called, not treated as the special form")
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct{ src, msg string }{
		{"(let [x] x)", "pairs"},
		{"(let x 1)", "binding vector"},
		{"(fn)", "parameter vector"},
		{"(fn [a & b c] a)", "exactly one"},
		{"(loop [i 0] (+ 1 (recur i)))", "tail position"},
		{"(loop [i 0] (recur))", "expects 1"},
		{"(fn [] (try (recur) (catch e e)))", "outside of loop"},
		{"(if)", "if takes"},
		{"(cond 1)", "pairs"},
		{"(def)", "def takes"},
		{"(step (+ 1 2))", "name string literal"},
		{"(match 1 [a & b c] 1)", "exactly one pattern"},
		{"(let [x:[:vector] 1] x)", "invalid type"},
		{"(quote 1 2)", "exactly one"},
		{"(defn f ([x] 1) ([y] 2))", "two arities"},
		{"(parallel [a 1] [a 2])", "duplicate"},
		{"(try (finally 1) 2)", "last clause"},
	}
	for _, tt := range tests {
		_, err := resolveSrc(t, tt.src)
		if err == nil {
			t.Errorf("%s: no error", tt.src)
			continue
		}
		e := value.AsError(err)
		if !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: error %q lacks %q", tt.src, e.Message, tt.msg)
		}
		if !e.Pos.IsValid() && e.Type == value.ErrParse {
			t.Errorf("%s: error has no position", tt.src)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	// Threading forms expand into nesting; the resolver bounds its depth.
	src := "(-> 1" + strings.Repeat(" inc", 30000) + ")"
	n, err := syntax.ParseExpr("deep", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resolve.Resolve(n); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("got %v", err)
	}
}

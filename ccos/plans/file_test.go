package plans

import (
	"errors"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/rtfs/syntax"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		name, src string
		err       string // substring of the error, "" for success
		body      string // expected plan body
	}{
		{"plain forms", "(def x 1)\n(+ x 1)", "", "(def x 1)\n(+ x 1)"},
		{"plan form", `(plan "p" :policies {:max-actions 5} :body (do (step "a" 1)))`, "", `(do (step "a" 1))`},
		{"intent and plan", `(intent "i" :goal "g" :success-criteria (fn [r] (= r 1))) (plan "p" :body 1)`, "", "1"},
		{"no plan", `(intent "i" :goal "g")`, "no plan", ""},
		{"forms outside plan", `(plan "p" :body 1) (+ 1 2)`, "outside the (plan ...)", ""},
		{"two plans", `(plan "p" :body 1) (plan "q" :body 2)`, "at most one (plan", ""},
		{"unknown plan option", `(plan "p" :bogus 1 :body 1)`, "unknown option :bogus", ""},
		{"unknown policy", `(plan "p" :policies {:speed 1} :body 1)`, "unknown policy :speed", ""},
		{"bad retry", `(plan "p" :policies {:retry 0} :body 1)`, "between 1 and 100", ""},
		{"intent without goal", `(intent "i") 1`, ":goal is required", ""},
		{"bad success criteria", `(intent "i" :goal "g" :success-criteria 3) 1`, "(fn [result]", ""},
		{"missing option value", `(plan "p" :body)`, "has no value", ""},
		{"bad special form", `(let [x] x)`, "", ""},
		{"syntax error", `(+ 1`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile("t.rtfs", []byte(tc.src))
			switch {
			case tc.name == "bad special form" || tc.name == "syntax error":
				if err == nil {
					t.Fatal("accepted an invalid body")
				}
				return
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var fe *FileError
				if errors.As(err, &fe) && !fe.Pos.IsValid() {
					t.Errorf("error without a position: %v", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if f.Plan.Body != tc.body {
				t.Errorf("body %q, want %q", f.Plan.Body, tc.body)
			}
			// The stored body parses back to the same forms.
			forms, _, err := ParseBody("b.rtfs", f.Plan.Body)
			if err != nil || len(forms) != len(f.Forms) {
				t.Fatalf("body does not re-parse to %d forms: %v", len(f.Forms), err)
			}
			for i := range forms {
				if !syntax.Equal(forms[i], f.Forms[i]) {
					t.Errorf("form %d differs after re-parsing the body", i)
				}
			}
		})
	}
}

// FuzzParseFile feeds arbitrary plan files to the parser: it must never
// panic, and a file it accepts must have a body that parses back to the
// same forms.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		"(+ 1 2)", `(plan "p" :body (step "a" (call :ccos.echo 1)))`,
		`(intent "i" :goal "g" :constraints {:k 1}) (plan "p" :policies {:retry {:max-attempts 2}} :body 1)`,
		`"a string" :kw [1 2] {:a 1} #{1}`, `(plan "p" :body "x\"y")`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		pf, err := ParseFile("f.rtfs", src)
		if err != nil {
			return
		}
		forms, _, err := ParseBody("b.rtfs", pf.Plan.Body)
		if err != nil {
			t.Fatalf("accepted file's body %q does not parse: %v", pf.Plan.Body, err)
		}
		if len(forms) != len(pf.Forms) {
			t.Fatalf("body %q has %d forms, file had %d", pf.Plan.Body, len(forms), len(pf.Forms))
		}
		for i := range forms {
			if !syntax.Equal(forms[i], pf.Forms[i]) {
				t.Fatalf("form %d of body %q differs", i, pf.Plan.Body)
			}
		}
	})
}

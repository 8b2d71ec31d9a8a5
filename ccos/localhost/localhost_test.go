package localhost_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/ccos/localhost"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/value"
)

func evalWith(t *testing.T, h *localhost.Host, src string) (value.Value, error) {
	t.Helper()
	th := eval.NewThread(context.Background(), eval.NewEnv(stdlib.Universe()), h, eval.DefaultLimits)
	return th.EvalSource("t", []byte(src))
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		src, want string
		errType   value.Keyword
	}{
		{`(call :ccos.echo [1 2])`, "[1 2]", ""},
		{`(call "ccos.math.add" 1 2 3)`, "6", ""},
		{`(call :ccos.math.add 1 0.5)`, "1.5", ""},
		{`(call :ccos.math.add 9223372036854775807 1)`, "", value.ErrArithmetic},
		{`(call :ccos.data.parse-json "{\"a\":[1]}")`, "{:a [1]}", ""},
		{`(call :ccos.data.serialize-json [nil true])`, `"[null,true]"`, ""},
		{`(call :ccos.io.write-file "/tmp/x" "y")`, "", value.ErrSecurity},
		{`(call :ccos.network.http-fetch "http://example.org")`, "", value.ErrSecurity},
		{`(call :ccos.system.get-env "HOME")`, "", value.ErrSecurity},
		{`(call :no.such.cap)`, "", value.ErrCapability},
		{`(llm-execute "m" "p")`, "", value.ErrSecurity},
		{`(read-lines "/etc/passwd")`, "", value.ErrSecurity},
	}
	for _, tt := range tests {
		v, err := evalWith(t, localhost.New(nil), tt.src)
		if tt.errType != "" {
			if e := value.AsError(err); e == nil || e.Type != tt.errType {
				t.Errorf("%s: got %v, want %s", tt.src, err, tt.errType)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := value.Repr(v); got != tt.want {
			t.Errorf("%s = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestEventsAndContext(t *testing.T) {
	var log bytes.Buffer
	h := localhost.New(&log)
	v, err := evalWith(t, h, `
(step "a" :isolation :sandboxed
  (context-set! :k 1)
  (log-step :warn "hello" 2)
  (step "b" [@step-name @k (call :ccos.echo 3)]))`)
	if err != nil {
		t.Fatal(err)
	}
	if got := value.Repr(v); got != `["b" 1 3]` {
		t.Errorf("value %s", got)
	}
	var types []string
	for _, e := range h.Events() {
		types = append(types, e.Type+":"+e.Name)
	}
	want := "PlanStepStarted:a LogStep:warn PlanStepStarted:b CapabilityCall:ccos.echo CapabilityResult:ccos.echo PlanStepCompleted:b PlanStepCompleted:a"
	if strings.Join(types, " ") != want {
		t.Errorf("events %v\nwant %s", types, want)
	}
	if log.String() != "[warn] hello 2\n" {
		t.Errorf("log %q", log.String())
	}
	// A sandboxed step does not see its ancestors' context data.
	_, err = evalWith(t, h, `(step "outer" (context-set! :secret 1) (step "inner" :isolation :sandboxed @secret))`)
	if e := value.AsError(err); e == nil || e.Type != value.ErrUndefined {
		t.Errorf("sandboxed step read ancestor context: %v", err)
	}
}

func TestMergePolicies(t *testing.T) {
	tests := []struct{ policy, want string }{
		{"keep-existing", `{:a 1 :v [0]}`},
		{"overwrite", `{:b 2 :v [2]}`},
		{"merge", `{:a 1 :b 2 :v [0 1 2]}`},
	}
	for _, tt := range tests {
		src := `(step "p" (context-set! :m {:a 1}) (context-set! :v [0])
  (step-parallel :merge-policy :` + tt.policy + `
    (do (context-set! :m {:b 2}) (context-set! :v [1]))
    (context-set! :v [2]))
  (assoc @m :v @v))`
		v, err := evalWith(t, localhost.New(nil), src)
		if err != nil {
			t.Fatalf("%s: %v", tt.policy, err)
		}
		if got := value.Repr(v); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.policy, got, tt.want)
		}
	}
}

func TestDiscover(t *testing.T) {
	v, err := evalWith(t, localhost.New(nil), `(map :id (discover-agents {:query "json"}))`)
	if err != nil {
		t.Fatal(err)
	}
	if got := value.Repr(v); got != `("ccos.data.parse-json" "ccos.data.serialize-json")` {
		t.Errorf("discover: %s", got)
	}
}

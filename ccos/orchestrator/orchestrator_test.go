package orchestrator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/intents"
	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/ledger/ledgertest"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
	"github.com/ccos-go/ccos/rtfs/value"
)

type fixture struct {
	o   *Orchestrator
	st  store.Store
	out *bytes.Buffer
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	st, led := ledgertest.New(t)
	return newFixtureOn(t, st, led, mod)
}

func newFixtureOn(t testing.TB, st store.Store, led *ledger.Ledger, mod func(*Config)) *fixture {
	out := &bytes.Buffer{}
	// The tests run isolated steps in process (boundary checks only);
	// the OS sandboxes have their own tests.
	cfg := Config{Ledger: led, Store: st, Intents: intents.New(st, led), Plans: plans.New(st, led),
		Caps: caps.NewDefault(), LockDir: t.TempDir(), Out: out,
		Isolated: sandbox.InProcess{}, Sandboxed: sandbox.InProcess{}}
	if mod != nil {
		mod(&cfg)
	}
	return &fixture{o: New(cfg), st: st, out: out}
}

// sqliteFixture runs on a durable SQLite ledger.
func sqliteFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "ccos.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	led, err := ledger.Open(context.Background(), ledger.Options{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close(); st.Close() })
	return newFixtureOn(t, st, led, nil)
}

func (f *fixture) run(t testing.TB, src string, sctx *security.Context) *Result {
	t.Helper()
	file, err := plans.ParseFile("test.rtfs", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.o.Run(context.Background(), &Request{File: file, Context: sctx})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) actions(t testing.TB, runID string) []*model.Action {
	t.Helper()
	as, err := f.st.Actions(context.Background(), store.ActionQuery{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func controlled(t testing.TB, allow ...string) *security.Context {
	t.Helper()
	c, err := security.Preset("controlled", append(allow, "ccos.echo", "ccos.math.*", "ccos.data.*"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunRecordsNestedSteps(t *testing.T) {
	f := newFixture(t, nil)
	res := f.run(t, `
(step "outer"
  (step "inner" (call :ccos.echo 1))
  (log-step :info "hello" 42)
  (context-set! :k 7)
  (step "reads" @k))`, controlled(t))
	if res.Status != Completed || value.Repr(res.Value) != "7" {
		t.Fatalf("result %+v", res)
	}
	as := f.actions(t, res.RunID)
	byID := map[string]*model.Action{}
	for _, a := range as {
		byID[a.ActionID] = a
	}
	parentName := func(a *model.Action) string {
		p := byID[a.ParentActionID]
		if p == nil {
			return "-"
		}
		return string(p.Type) + ":" + p.Name
	}
	want := map[string]string{
		"PlanStepStarted:outer":    "PlanStarted:",
		"PlanStepStarted:inner":    "PlanStepStarted:outer",
		"CapabilityCall:ccos.echo": "PlanStepStarted:inner",
		"LogStep:info":             "PlanStepStarted:outer",
		"InternalStep:context.set": "PlanStepStarted:outer",
		"PlanStepStarted:reads":    "PlanStepStarted:outer",
	}
	for _, a := range as {
		k := string(a.Type) + ":" + a.Name
		if w, ok := want[k]; ok {
			if got := parentName(a); got != w {
				t.Errorf("%s: parent %s, want %s", k, got, w)
			}
			delete(want, k)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing events: %v", want)
	}
	if !strings.Contains(f.out.String(), "hello 42") {
		t.Errorf("log output %q", f.out.String())
	}
}

func TestRetryPolicy(t *testing.T) {
	f := newFixture(t, nil)
	res := f.run(t, `(plan "p" :policies {:retry {:max-attempts 3}} :body (do
  (def n (atom 0))
  (step "flaky" (if (< (swap! n inc) 3) (throw "not yet") @n))))`, controlled(t))
	if res.Status != Completed || value.Repr(res.Value) != "3" {
		t.Fatalf("result %+v", res)
	}
	retries := 0
	for _, a := range f.actions(t, res.RunID) {
		if a.Type == model.PlanStepRetrying {
			retries++
		}
	}
	if retries != 2 {
		t.Fatalf("%d PlanStepRetrying, want 2", retries)
	}
}

func TestPoliciesStopRuns(t *testing.T) {
	f := newFixture(t, nil)
	res := f.run(t, `(plan "p" :policies {:max-actions 10} :body (dotimes [i 100] (step "s" i)))`, controlled(t))
	if res.Status != Failed || !strings.Contains(res.Err.Message, "max-actions") {
		t.Fatalf("result %+v", res)
	}
	// A plan cannot catch a policy limit.
	res = f.run(t, `(plan "p" :policies {:max-actions 10} :body (try (dotimes [i 100] (step "s" i)) (catch e :caught)))`, controlled(t))
	if res.Status != Failed {
		t.Fatalf("caught a policy limit: %+v", res)
	}
}

func TestSuccessCriteria(t *testing.T) {
	f := newFixture(t, nil)
	res := f.run(t, `(intent "i" :goal "make 3" :success-criteria (fn [r] (= r 3)))
(+ 1 1)`, controlled(t))
	if res.Status != Failed || res.Err.Type != value.ErrValidation {
		t.Fatalf("result %+v", res)
	}
}

func TestDivergenceOnResume(t *testing.T) {
	// A paused run whose archived plan is replayed against a chain that
	// records a different call at the same path fails the resume.
	f := newFixture(t, nil)
	res := f.run(t, `(step "a" (call :ccos.echo 1)) (call :ccos.ask-human "ok?")`, controlled(t, "ccos.ask-human"))
	if res.Status != Paused {
		t.Fatalf("result %+v", res)
	}
	lg, err := loadReplay(context.Background(), f.st, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if c := lg.call("main/0:a/0:call"); c == nil || c.result == nil {
		t.Fatalf("replay log lacks the echo call: %+v", lg.calls)
	}
	answer := "yes"
	res2, err := f.o.Resume(context.Background(), res.RunID, ResumeOptions{Answer: &answer})
	if err != nil || res2.Status != Completed || value.Repr(res2.Value) != `"yes"` {
		t.Fatalf("resume: %+v %v", res2, err)
	}
}

// BenchmarkSteps measures the per-step overhead of a 10,000-step plan on
// the durable SQLite ledger, against the same loop without steps.
func BenchmarkSteps(b *testing.B) {
	const n = 10_000
	sctx := controlled(b)
	b.Run("without-steps", func(b *testing.B) {
		f := sqliteFixture(b)
		src := `(loop [i 0 acc 0] (if (< i 10000) (recur (inc i) (+ acc (* i 2))) acc))`
		b.ResetTimer()
		for range b.N {
			if res := f.run(b, src, sctx); res.Status != Completed {
				b.Fatal(res.Err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/iteration")
	})
	b.Run("with-steps", func(b *testing.B) {
		f := sqliteFixture(b)
		src := `(loop [i 0 acc 0] (if (< i 10000) (recur (inc i) (+ acc (step "s" (* i 2)))) acc))`
		b.ResetTimer()
		for range b.N {
			if res := f.run(b, src, sctx); res.Status != Completed {
				b.Fatal(res.Err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/step")
	})
}

// BenchmarkEchoCall measures the per-call overhead of ccos.echo inside one
// step: on the durable SQLite ledger, and on the in-memory store (the
// orchestrator's own cost).
func BenchmarkEchoCall(b *testing.B) {
	const n = 10_000
	for _, durable := range []bool{true, false} {
		name := "sqlite"
		if !durable {
			name = "memory"
		}
		b.Run(name, func(b *testing.B) {
			var f *fixture
			if durable {
				f = sqliteFixture(b)
			} else {
				f = newFixture(b, nil)
			}
			sctx := controlled(b)
			src := `(step "calls" (loop [i 0] (if (< i 10000) (do (call :ccos.echo i) (recur (inc i))) i)))`
			b.ResetTimer()
			for range b.N {
				if res := f.run(b, src, sctx); res.Status != Completed {
					b.Fatal(res.Err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/call")
		})
	}
}

// BenchmarkStepsMemory is BenchmarkSteps/with-steps on the in-memory
// store: the orchestrator's own cost, without SQLite.
func BenchmarkStepsMemory(b *testing.B) {
	const n = 10_000
	f := newFixture(b, nil)
	sctx := controlled(b)
	src := `(loop [i 0 acc 0] (if (< i 10000) (recur (inc i) (+ acc (step "s" (* i 2)))) acc))`
	b.ResetTimer()
	for range b.N {
		if res := f.run(b, src, sctx); res.Status != Completed {
			b.Fatal(res.Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/step")
}

func TestResumeReplaysRetriedSteps(t *testing.T) {
	f := newFixture(t, nil)
	src := `(plan "p" :policies {:retry {:max-attempts 3}} :body (do
  (def n (atom 0))
  (def v (step "flaky" (let [x (call :ccos.echo (swap! n inc))] (if (< x 3) (throw "again") x))))
  (str v " " (call :ccos.ask-human "go on?"))))`
	res := f.run(t, src, controlled(t, "ccos.ask-human"))
	if res.Status != Paused {
		t.Fatalf("want paused, got %+v", res)
	}
	answer := "yes"
	res, err := f.o.Resume(context.Background(), res.RunID, ResumeOptions{Answer: &answer})
	if err != nil || res.Status != Completed || value.Repr(res.Value) != `"3 yes"` {
		t.Fatalf("resume: %+v %v", res, err)
	}
	// Replay made no call again: three echo calls, one per attempt.
	calls := 0
	for _, a := range f.actions(t, res.RunID) {
		if a.Type == model.CapabilityCall && a.Name == "ccos.echo" {
			calls++
		}
	}
	if calls != 3 {
		t.Fatalf("%d echo calls recorded, want 3", calls)
	}
}

// TestStepsOnSQLiteHashCheck checks the records of steps (shared profile
// metadata, owned actions) as stored by the durable ledger: each stored
// action's content hashes to its hash.
func TestStepsOnSQLiteHashCheck(t *testing.T) {
	f := sqliteFixture(t)
	res := f.run(t, `(loop [i 0 acc 0] (if (< i 20) (recur (inc i) (+ acc (step "s" (call :ccos.echo i)))) acc))`, controlled(t))
	if res.Status != Completed {
		t.Fatalf("run: %+v", res)
	}
	as := f.actions(t, res.RunID)
	profiles := 0
	for _, a := range as {
		h, err := model.HashAction(a)
		if err != nil || h != a.Hash {
			t.Fatalf("seq %d (%s): hash %s, stored %s (%v)", a.Seq, a.Type, h, a.Hash, err)
		}
		if a.Type == model.StepProfileDerived {
			profiles++
		}
	}
	if profiles != 20 {
		t.Fatalf("%d StepProfileDerived actions, want 20", profiles)
	}
}

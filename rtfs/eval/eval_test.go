package eval_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/value"
)

func newThread(ctx context.Context, host eval.Host, limits eval.Limits) *eval.Thread {
	return eval.NewThread(ctx, eval.NewEnv(stdlib.Universe()), host, limits)
}

func run(t *testing.T, src string) (value.Value, error) {
	t.Helper()
	th := newThread(context.Background(), nil, eval.Limits{MaxSteps: 1_000_000, MaxDepth: 500})
	return th.EvalSource("test.rtfs", []byte(src))
}

func TestEval(t *testing.T) {
	tests := []struct{ src, want string }{
		// scoping and closures
		{"(let [x 1 f (fn [] x) x 2] (f))", "1"},
		{"(let [x 1] (let [x 2] x))", "2"},
		{"(let [a (atom 0) f (fn [] (swap! a inc))] (f) (f) @a)", "2"},
		{"(let [n 0 inc! (fn [] (set! n (+ n 1)))] (inc! ) (inc!) n)", "2"},
		{"(let [fs (atom [])] (dotimes [i 3] (swap! fs conj (fn [] i))) (map (fn [f] (f)) @fs))", "(0 1 2)"},
		{"(let [fs (loop [i 0 acc []] (if (< i 3) (recur (inc i) (conj acc (fn [] i))) acc))] (mapv (fn [f] (f)) fs))", "[0 1 2]"},
		{"(let [f (fn [n] (if (= n 0) :done (g (dec n)))) g (fn [n] (f n))] (f 5))", ":done"},
		{"(letfn [(ev? [n] (if (zero? n) true (od? (dec n)))) (od? [n] (if (zero? n) false (ev? (dec n))))] [(ev? 10) (od? 7)])", "[true true]"},
		{"((fn fact [n] (if (< n 2) 1 (* n (fact (dec n))))) 10)", "3628800"},
		{"(let [make (fn [x] (fn [] (fn [] x)))] (((make 7))))", "7"},
		{"(defn counter [] (let [c (atom 0)] (fn [] (swap! c inc)))) (let [c1 (counter) c2 (counter)] (c1) (c1) [(c1) (c2)])", "[3 1]"},
		// arities and varargs
		{"(defn f ([] 0) ([a] 1) ([a b & r] [a b r])) [(f) (f 1) (f 1 2) (f 1 2 3 4)]", "[0 1 [1 2 nil] [1 2 (3 4)]]"},
		{"((fn [& xs] xs))", "nil"},
		{"((fn [[a b] {:keys [c]}] [a b c]) [1 2] {:c 3})", "[1 2 3]"},
		// recur
		{"(defn sum [n acc] (if (zero? n) acc (recur (dec n) (+ acc n)))) (sum 100000 0)", "5000050000"},
		{"(loop [[x & more] [1 2 3] acc 0] (if x (recur more (+ acc x)) acc))", "6"},
		{"((fn [n & acc] (if (zero? n) acc (recur (dec n) (cons n acc)))) 3)", "(1 2 3)"},
		// destructuring
		{"(let [{a :a [b c] :v :or {a 9}} {:v [1 2]}] [a b c])", "[9 1 2]"},
		{"(let [[a [b [c]]] [1 [2 [3]]]] (+ a b c))", "6"},
		{"(let [{:syms [x]} {'x 5}] x)", "5"},
		// control
		{"(case :b :a 1 (:b :c) 2 3)", "2"},
		{"(cond-> 1 true inc false (* 100) true (* 10))", "20"},
		{"(cond->> [1 2] true (map inc))", "(2 3)"},
		{"(if-let [[a] nil] a :none)", ":none"},
		{"(when-let [x 0] (inc x))", "1"},
		{"(for [x (range 5) :let [y (* x x)] :when (odd? x)] y)", "[1 9]"},
		{"(for [x (range 10) :while (< x 3)] x)", "[0 1 2]"},
		{"(let [a (atom [])] (doseq [[k v] {:a 1 :b 2}] (swap! a conj k v)) @a)", "[:a 1 :b 2]"},
		// match
		{"(match {:kind :circle :r 2} {:kind :square} :sq {:kind :circle :r r} (* r r))", "4"},
		{"(match 5 (:type :string s) :str (:type :int n) (inc n))", "6"},
		{"(match [1 [2 3]] [a [b c]] (+ a b c))", "6"},
		{"(match 3 (:as x (1 | 2 | 3)) [:small x] _ :big)", "[:small 3]"},
		// errors
		{"(try (throw {:code 1}) (catch e (ex-data e)))", "{:code 1}"},
		{"(try (throw (ex-info \"x\" {:type :my-error})) (catch :my-error e :mine) (catch e :other))", ":mine"},
		{"(let [log (atom [])] (try (try (/ 1 0) (finally (swap! log conj 1))) (catch e (swap! log conj 2))) @log)", "[1 2]"},
		{"(try (try 1 (finally (throw (ex-info \"fin\" {})))) (catch e (ex-message e)))", "\"fin\""},
		// special-form names can be shadowed by locals
		{"(let [step (fn [x] (* 2 x))] (step 21))", "42"},
		{"(let [iffy 1 default-x 2] (+ iffy default-x))", "3"},
		// threading
		{"(-> {:a 1} (assoc :b 2) :b)", "2"},
		{"(as-> [1 2] v (conj v 3) (count v))", "3"},
		// parallel and steps with the default host
		{"(parallel [a (+ 1 2)] [b (* 3 4)])", "{:a 3 :b 12}"},
		// generators run on the consuming thread, so branches can share one
		{"(let [xs (map inc (range))] (parallel [a (take 3 xs)] [b (vec (take 4 (map + xs (iterate inc 0))))]))", "{:a (1 2 3) :b [1 3 5 7]}"},
		{"(step \"s\" :params {\"n\" 4} (* 2 (get %params \"n\")))", "8"},
	}
	for _, tt := range tests {
		v, err := run(t, tt.src)
		if err != nil {
			t.Errorf("%s: error %s", tt.src, value.AsError(err).Describe())
			continue
		}
		if got := value.Repr(v); got != tt.want {
			t.Errorf("%s = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		src     string
		typ     value.Keyword
		message string
		pos     string // expected error position, "" to skip
	}{
		{"(/ 1 0)", value.ErrArithmetic, "division by zero", "test.rtfs:1:1"},
		{"\n  (undefined-fn 1)", value.ErrUndefined, "undefined-fn", "test.rtfs:2:4"},
		{"(let [x:int \"s\"] x)", value.ErrType, "expected :int", "test.rtfs:1:7"},
		{"(defn f [n:int] n) (f :k)", value.ErrType, "n: expected :int", ""},
		{"(defn f [n] :string n) (f 1)", value.ErrType, "return value of f", ""},
		{"((fn [a] a))", value.ErrArity, "wrong number of arguments (0)", ""},
		{"(loop [x 1] (inc (recur 2)))", value.ErrParse, "tail position", "test.rtfs:1:18"},
		{"(recur 1)", value.ErrParse, "outside of loop", ""},
		{"(try (loop [] (recur)) (catch e :caught))", value.ErrLimit, "step limit", ""},
		{"(let [[a] 5] a)", value.ErrType, "vector pattern", ""},
		{"(let [{:keys [a]} [1]] a)", value.ErrType, "map pattern", ""},
		{"(match 3 1 :one)", value.ErrMatch, "no match", ""},
		{"(case 3 1 :one)", value.ErrMatch, "no case clause", ""},
		{"(let [x] x)", value.ErrParse, "pairs", ""},
		{"(set! nope 1)", value.ErrUndefined, "not bound", ""},
		{"@nothing-here", value.ErrUndefined, "@nothing-here", ""},
		{"(throw \"plain\")", value.ErrGeneric, "plain", ""},
		{"(step-loop :max-iterations 3 true 1)", value.ErrLimit, "exceeded 3 iterations", ""},
		{"(parallel [a (/ 1 0)] [b (throw (ex-info \"b\" {}))])", value.ErrArithmetic, "", ""},
		{"({:a 1})", value.ErrArity, "", ""},
		{"(1 2)", value.ErrType, "cannot call", ""},
	}
	for _, tt := range tests {
		_, err := run(t, tt.src)
		if err == nil {
			t.Errorf("%s: no error", tt.src)
			continue
		}
		e := value.AsError(err)
		if e.Type != tt.typ || !strings.Contains(e.Message, tt.message) {
			t.Errorf("%s: got %s, want type %s containing %q", tt.src, e.Describe(), tt.typ, tt.message)
		}
		if tt.pos != "" && e.Pos.String() != tt.pos {
			t.Errorf("%s: error at %s, want %s", tt.src, e.Pos, tt.pos)
		}
	}
}

func TestTrace(t *testing.T) {
	src := "(defn inner [x] (/ x 0))\n(defn outer [x] (inner x))\n(outer 1)"
	_, err := run(t, src)
	e := value.AsError(err)
	if e == nil || e.Type != value.ErrArithmetic {
		t.Fatalf("got %v", err)
	}
	d := e.Describe()
	for _, want := range []string{"at test.rtfs:1:17", "in inner (test.rtfs:2:17)", "in outer (test.rtfs:3:1)"} {
		if !strings.Contains(d, want) {
			t.Errorf("trace %q lacks %q", d, want)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Run("steps", func(t *testing.T) {
		th := newThread(context.Background(), nil, eval.Limits{MaxSteps: 1000})
		_, err := th.EvalSource("t", []byte("(loop [i 0] (recur (inc i)))"))
		if e := value.AsError(err); e == nil || e.Type != value.ErrLimit {
			t.Fatalf("got %v", err)
		}
		if th.Steps() < 1000 || th.Steps() > 1010 {
			t.Errorf("stopped after %d steps", th.Steps())
		}
	})
	t.Run("depth", func(t *testing.T) {
		th := newThread(context.Background(), nil, eval.Limits{MaxDepth: 100})
		_, err := th.EvalSource("t", []byte("(defn f [n] (+ 1 (f n))) (f 0)"))
		if e := value.AsError(err); e == nil || e.Type != value.ErrLimit || !strings.Contains(e.Message, "depth") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		th := newThread(ctx, nil, eval.Limits{})
		start := time.Now()
		_, err := th.EvalSource("t", []byte("(loop [] (recur))"))
		if e := value.AsError(err); e == nil || e.Type != value.ErrTimeout {
			t.Fatalf("got %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("stopped after %v", d)
		}
	})
	t.Run("timeout is not catchable by catch-all", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		th := newThread(ctx, nil, eval.Limits{})
		_, err := th.EvalSource("t", []byte("(loop [] (try (loop [] (recur)) (catch e nil)) (recur))"))
		if e := value.AsError(err); e == nil || e.Type != value.ErrTimeout {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("parallel branches share the budget", func(t *testing.T) {
		th := newThread(context.Background(), nil, eval.Limits{MaxSteps: 5000})
		_, err := th.EvalSource("t", []byte("(parallel [a (loop [i 0] (if (< i 3000) (recur (inc i)) i))] [b (loop [i 0] (if (< i 3000) (recur (inc i)) i))])"))
		if e := value.AsError(err); e == nil || e.Type != value.ErrLimit {
			t.Fatalf("got %v", err)
		}
	})
}

// recordingHost records step events to check nesting and ordering.
type recordingHost struct {
	eval.NoHost
	mu     sync.Mutex
	events []string
	next   int
	data   map[string]value.Value
}

type recStep struct {
	id     int
	name   string
	parent *recStep
}

func (h *recordingHost) BeginStep(th *eval.Thread, spec *eval.StepSpec) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	parent, _ := th.Step().(*recStep)
	s := &recStep{id: h.next, name: spec.Name, parent: parent}
	pname := "plan"
	if parent != nil {
		pname = parent.name
	}
	h.events = append(h.events, fmt.Sprintf("start %s in %s", spec.Name, pname))
	return s, nil
}

func (h *recordingHost) EndStep(th *eval.Thread, step any, v value.Value, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := step.(*recStep)
	if err != nil {
		h.events = append(h.events, fmt.Sprintf("fail %s: %s", s.name, value.AsError(err).Type))
	} else {
		h.events = append(h.events, fmt.Sprintf("end %s = %s", s.name, value.Repr(v)))
	}
	return nil
}

func (h *recordingHost) CallCapability(th *eval.Thread, id string, args []value.Value) (value.Value, error) {
	s, _ := th.Step().(*recStep)
	name := "plan"
	if s != nil {
		name = s.name
	}
	h.mu.Lock()
	h.events = append(h.events, fmt.Sprintf("call %s in %s", id, name))
	h.mu.Unlock()
	return value.NewVector(args...), nil
}

func TestStepsThroughHost(t *testing.T) {
	h := &recordingHost{}
	th := newThread(context.Background(), h, eval.Limits{})
	v, err := th.EvalSource("t", []byte(`
(step "outer"
  (step "inner" (call :x.y 1))
  (step-if "check" (> 2 1) :yes :no))
(try (step "bad" (/ 1 0)) (catch e :recovered))`))
	if err != nil {
		t.Fatal(value.AsError(err).Describe())
	}
	if value.Repr(v) != ":recovered" {
		t.Errorf("value %s", value.Repr(v))
	}
	want := []string{
		"start outer in plan",
		"start inner in outer",
		"call x.y in inner",
		"end inner = [1]",
		"start check in outer",
		"end check = :yes",
		"end outer = :yes",
		"start bad in plan",
		"fail bad: arithmetic-error",
	}
	if strings.Join(h.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(h.events, "\n"), strings.Join(want, "\n"))
	}
}

func TestStepParallelBranches(t *testing.T) {
	h := &recordingHost{}
	th := newThread(context.Background(), h, eval.Limits{})
	v, err := th.EvalSource("t", []byte(`(step-parallel "fan" (call :a 1) (call :b 2))`))
	if err != nil {
		t.Fatal(value.AsError(err).Describe())
	}
	if value.Repr(v) != "[[1] [2]]" {
		t.Errorf("value %s", value.Repr(v))
	}
	joined := strings.Join(h.events, "\n")
	for _, want := range []string{"start fan/0 in fan", "start fan/1 in fan", "call a in fan/0", "call b in fan/1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("events lack %q:\n%s", want, joined)
		}
	}
}

func BenchmarkFib25(b *testing.B) {
	th := newThread(context.Background(), nil, eval.Limits{})
	if _, err := th.EvalSource("b", []byte("(defn fib [n] (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := th.EvalSource("b", []byte("(fib 25)")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoopRecur1M(b *testing.B) {
	th := newThread(context.Background(), nil, eval.Limits{})
	for b.Loop() {
		if _, err := th.EvalSource("b", []byte("(loop [i 1 acc 0] (if (<= i 1000000) (recur (inc i) (+ acc i)) acc))")); err != nil {
			b.Fatal(err)
		}
	}
}

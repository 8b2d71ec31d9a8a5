package eval_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// ctlHost fails capability calls with a configured error and asks for a
// number of retries of every failed step.
type ctlHost struct {
	eval.NoHost
	callErr error
	retries int // retries left
	ends    int
}

func (h *ctlHost) CallCapability(*eval.Thread, string, []value.Value) (value.Value, error) {
	return nil, h.callErr
}

func (h *ctlHost) EndStep(_ *eval.Thread, _ any, _ value.Value, err error) error {
	h.ends++
	if err != nil && h.retries > 0 {
		h.retries--
		return eval.ErrRetryStep
	}
	return nil
}

type abortErr struct{}

func (abortErr) Error() string     { return "paused" }
func (abortErr) AbortsEvaluation() {}

func TestAborterPassesThroughTry(t *testing.T) {
	h := &ctlHost{callErr: abortErr{}}
	th := newThread(context.Background(), h, eval.Limits{MaxSteps: 10_000})
	_, err := th.EvalSource("t.rtfs", []byte(`(def log (atom [])) (try (call :x) (catch e :caught) (finally (swap! log conj :finally)))`))
	if !errors.As(err, new(abortErr)) {
		t.Fatalf("err = %v, want the aborting error to pass through try", err)
	}
	v, err := th.EvalSource("t.rtfs", []byte(`@log`))
	if err != nil || value.Repr(v) != "[:finally]" {
		t.Fatalf("finally did not run: %v %v", v, err)
	}
	// An ordinary error is caught.
	h.callErr = value.Errorf(value.ErrCapability, "boom")
	v, err = th.EvalSource("t.rtfs", []byte(`(try (call :x) (catch e :caught))`))
	if err != nil || value.Repr(v) != ":caught" {
		t.Fatalf("got %v, %v", v, err)
	}
}

func TestRetryStep(t *testing.T) {
	h := &ctlHost{retries: 2}
	th := newThread(context.Background(), h, eval.Limits{MaxSteps: 10_000})
	v, err := th.EvalSource("t.rtfs", []byte(`(def n (atom 0)) (step "s" (if (< (swap! n inc) 3) (throw "fail") @n))`))
	if err != nil || value.Repr(v) != "3" || h.ends != 3 {
		t.Fatalf("got %v, %v after %d ends; want 3 after 3", v, err, h.ends)
	}
	h = &ctlHost{retries: 1}
	th = newThread(context.Background(), h, eval.Limits{MaxSteps: 10_000})
	if _, err := th.EvalSource("t.rtfs", []byte(`(step "s" (throw "always"))`)); err == nil || h.ends != 2 {
		t.Fatalf("err = %v, ends = %d; want the error after 2 attempts", err, h.ends)
	}
}

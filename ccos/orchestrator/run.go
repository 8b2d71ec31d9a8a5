package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// run is one execution (or resumption) of a plan.
type run struct {
	o        *Orchestrator
	id       string
	plan     *model.Plan
	hash     string
	intent   *model.Intent
	sctx     *security.Context
	forms    []syntax.Node
	defs     map[string]syntax.Node
	rootID   string // the PlanStarted action
	replay   *replayLog
	files    *caps.Files
	env      *caps.Env
	policies policies

	actions atomic.Int64 // actions recorded for this run (all sessions)

	mu      sync.Mutex
	pending []*ledger.Pending
	pruneAt int // len(pending) at which record drops completed ones
	cost    float64
	failure error // a recording failure: the run must stop

	profMu   sync.Mutex
	profiles map[profileKey]*profile.StepProfile
	// profileValues caches the metadata form of each profile.
	profileValues map[*profile.StepProfile]*value.Map

	root *stepState
	// paused is set when a call asked for a human and none was there.
	paused *pauseErr
}

type profileKey struct {
	form syntax.Node
	opts string
}

type policies struct {
	maxDuration time.Duration
	maxActions  int64
	maxCost     float64
	hasMaxCost  bool
	retry       plans.RetryPolicy
}

func (o *Orchestrator) newRun(id string, plan *model.Plan, hash string, intent *model.Intent, sctx *security.Context,
	forms []syntax.Node, defs map[string]syntax.Node, replay *replayLog) (*run, error) {
	r := &run{
		o: o, id: id, plan: plan, hash: hash, intent: intent, sctx: sctx,
		forms: forms, defs: defs, replay: replay, files: caps.NewFiles(),
		profiles: map[profileKey]*profile.StepProfile{}, profileValues: map[*profile.StepProfile]*value.Map{},
	}
	r.rootID = ledger.NewActionID()
	if replay != nil {
		r.rootID = replay.rootID
	}
	r.env = &caps.Env{Out: o.cfg.Out, Human: o.cfg.Human, Files: r.files, Getenv: o.cfg.Getenv, LLM: o.cfg.LLM, HTTP: o.cfg.HTTP, Now: o.cfg.Now}
	if err := r.readPolicies(); err != nil {
		return nil, err
	}
	rootProfile, err := profile.Root(forms, defs, o.cfg.Caps, sctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	r.root = &stepState{run: r, path: "main", actionID: r.rootID, name: "plan", profile: rootProfile, data: map[string]value.Value{}}
	return r, nil
}

func (r *run) readPolicies() error {
	r.policies.retry = plans.RetryPolicy{MaxAttempts: 1}
	if r.sctx.MaxExecution > 0 {
		r.policies.maxDuration = r.sctx.MaxExecution
	}
	if r.sctx.MaxActions > 0 {
		r.policies.maxActions = int64(r.sctx.MaxActions)
	}
	if r.sctx.MaxCost > 0 {
		r.policies.maxCost, r.policies.hasMaxCost = r.sctx.MaxCost, true
	}
	if r.plan.Policies == nil {
		return nil
	}
	var err error
	r.plan.Policies.Range(func(k, v value.Value) bool {
		kw, _ := k.(value.Keyword)
		switch kw {
		case "max-duration-ms":
			if n, ok := v.(value.Int); ok {
				d := time.Duration(n) * time.Millisecond
				if r.policies.maxDuration == 0 || d < r.policies.maxDuration {
					r.policies.maxDuration = d
				}
			}
		case "max-actions":
			if n, ok := v.(value.Int); ok && (r.policies.maxActions == 0 || int64(n) < r.policies.maxActions) {
				r.policies.maxActions = int64(n)
			}
		case "max-cost":
			var c float64
			switch x := v.(type) {
			case value.Int:
				c = float64(x)
			case value.Float:
				c = float64(x)
			}
			if !r.policies.hasMaxCost || c < r.policies.maxCost {
				r.policies.maxCost, r.policies.hasMaxCost = c, true
			}
		case "retry":
			r.policies.retry, err = plans.RetryPolicyOf(v)
		}
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// minPrune is the least number of pending records record lets
// accumulate before it drops the completed ones.
const minPrune = 4096

// record submits an action of this run without waiting for durability.
// Its id is preassigned so that children can name it as their parent.
//
// a is handed over to the ledger: the caller must not use it afterwards.
func (r *run) record(ctx context.Context, a *model.Action) (string, error) {
	return r.recordWith(ctx, a, false)
}

// recordShared is record for an action whose metadata is a map recorded
// again and again (a step profile): the ledger encodes it once.
func (r *run) recordShared(ctx context.Context, a *model.Action) (string, error) {
	return r.recordWith(ctx, a, true)
}

func (r *run) recordWith(_ context.Context, a *model.Action, shared bool) (string, error) {
	if a.ActionID == "" {
		a.ActionID = ledger.NewActionID()
	}
	a.RunID, a.PlanID, a.IntentID = r.id, r.plan.ID, r.intent.ID
	n := r.actions.Add(1)
	if max := r.policies.maxActions; max > 0 && n > max && a.Type != model.PlanAborted && a.Type != model.SecurityViolation {
		return "", newLimitErr("plan policy :max-actions %d exceeded", max)
	}
	id, typ := a.ActionID, a.Type
	// Records are not cancelled with the run: the ledger only looks at
	// the context's cancellation, so a background context is
	// context.WithoutCancel(ctx) without the allocation.
	p, err := r.o.cfg.Ledger.SubmitWith(context.Background(), a, ledger.SubmitOptions{Owned: true, SharedMetadata: shared})
	if err != nil {
		r.fail(err)
		return "", &abortErr{err: fmt.Errorf("recording %s: %w", typ, err)}
	}
	r.mu.Lock()
	r.pending = append(r.pending, p)
	if len(r.pending) >= max(r.pruneAt, minPrune) {
		// Completed appends need not be remembered.
		keep := r.pending[:0]
		for _, q := range r.pending {
			select {
			case <-q.Done():
				if err := q.Err(); err != nil && r.failure == nil {
					r.failure = err
				}
			default:
				keep = append(keep, q)
			}
		}
		clear(r.pending[len(keep):])
		r.pending = keep
		// Scan again only once as many have been added as are kept: when
		// the writer lags behind, scanning on every record would cost
		// O(pending) each time.
		r.pruneAt = 2 * len(keep)
	}
	r.mu.Unlock()
	return id, nil
}

func (r *run) fail(err error) {
	r.mu.Lock()
	if r.failure == nil {
		r.failure = err
	}
	r.mu.Unlock()
}

// barrier waits until every action recorded so far is durable: before a
// side effect, so that a crash never loses the record that it started.
func (r *run) barrier(ctx context.Context) error {
	r.mu.Lock()
	ps := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, p := range ps {
		<-p.Done()
		if err := p.Err(); err != nil {
			r.fail(err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failure != nil {
		return &abortErr{err: fmt.Errorf("the causal chain refused an action: %w", r.failure)}
	}
	return nil
}

// limitErr stops a run that exceeded a plan policy (a :limit-exceeded
// error); plans cannot catch it.
type limitErr struct{ err *value.Error }

func newLimitErr(format string, args ...any) *limitErr {
	return &limitErr{err: value.AsError(value.Errorf(value.ErrLimit, format, args...))}
}

func (e *limitErr) Error() string     { return e.err.Error() }
func (e *limitErr) Unwrap() error     { return e.err }
func (e *limitErr) AbortsEvaluation() {}

// abortErr stops a run the orchestrator cannot continue (divergence on
// resume, a lost chain, an interrupted non-idempotent call).
type abortErr struct{ err error }

func (e *abortErr) Error() string     { return e.err.Error() }
func (e *abortErr) Unwrap() error     { return e.err }
func (e *abortErr) AbortsEvaluation() {}

// pauseErr stops a run that waits for a human answer.
type pauseErr struct {
	prompt string
	path   string
	callID string
}

func (e *pauseErr) Error() string {
	return "paused: waiting for a human answer to " + strconv.Quote(e.prompt)
}
func (e *pauseErr) AbortsEvaluation() {}

// execute evaluates the body and records the outcome.
func (r *run) execute(ctx context.Context) (*Result, error) {
	defer r.files.CloseAll()
	evalCtx := ctx
	if d := r.policies.maxDuration; d > 0 {
		var cancel context.CancelFunc
		evalCtx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	env := eval.NewEnv(stdlib.Universe())
	th := eval.NewThread(evalCtx, env, &host{r: r}, r.o.cfg.Limits)
	th.SetPrint(func(s string) { fmt.Fprintln(r.o.cfg.Out, s) })
	th.SetStep(r.root)
	var v value.Value
	var err error
	for _, f := range r.forms {
		if v, err = th.EvalForm(f); err != nil {
			break
		}
	}
	if err == nil && r.plan.OutputSchema != nil {
		err = checkOutput(r.plan.OutputSchema, v)
	}
	return r.finish(ctx, v, err)
}

// finish records how the run ended and moves the intent.
func (r *run) finish(ctx context.Context, v value.Value, err error) (*Result, error) {
	res := &Result{RunID: r.id}
	var pe *pauseErr
	if errors.As(err, &pe) {
		if _, rerr := r.record(ctx, &model.Action{Type: model.PlanPaused, ParentActionID: r.rootID,
			Metadata: mapOf("reason", value.String("waiting for a human answer"), "prompt", value.String(pe.prompt),
				"path", value.String(pe.path), "call-id", value.String(pe.callID))}); rerr != nil {
			return nil, rerr
		}
		if err := r.barrier(ctx); err != nil {
			return nil, err
		}
		r.setIntent(ctx, model.IntentSuspended, "run "+r.id+" paused for a human answer")
		res.Status, res.Question = Paused, pe.prompt
		return res, nil
	}
	if err == nil {
		ok, cerr := r.successCriteria(ctx, v)
		switch {
		case cerr != nil:
			err = cerr
		case !ok:
			err = value.Errorf(value.ErrValidation, "the intent's success criteria rejected the result %s", value.Repr(v))
		}
	}
	if err != nil {
		e := value.AsError(err)
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			e = value.AsError(value.Errorf(value.ErrTimeout, "plan policy :max-duration-ms exceeded"))
		}
		res.Status, res.Err = Failed, e
		r.record(ctx, &model.Action{Type: model.PlanAborted, ParentActionID: r.rootID,
			Result: &model.Result{Success: false, Error: errorInfo(e)}})
		if berr := r.barrier(ctx); berr != nil {
			return nil, berr
		}
		r.setIntent(ctx, model.IntentFailed, "run "+r.id+" failed: "+e.Message)
		return res, nil
	}
	res.Status, res.Value = Completed, v
	if _, err := r.record(ctx, &model.Action{Type: model.PlanCompleted, ParentActionID: r.rootID,
		Result: &model.Result{Success: true, Value: v}}); err != nil {
		return nil, err
	}
	if err := r.barrier(ctx); err != nil {
		return nil, err
	}
	r.setIntent(ctx, model.IntentCompleted, "run "+r.id+" completed")
	return res, nil
}

// setIntent moves the intent, through active when the state machine
// requires it (a paused run's suspended intent).
func (r *run) setIntent(ctx context.Context, to model.IntentStatus, reason string) {
	g := r.o.cfg.Intents
	cur, err := g.Get(ctx, r.intent.ID)
	if err != nil || cur.Status == to {
		return
	}
	if model.CheckTransition(cur.Status, to) != nil && cur.Status == model.IntentSuspended {
		if _, _, err := g.SetStatus(ctx, r.intent.ID, model.IntentActive, reason, r.rootID); err != nil {
			return
		}
		if _, _, err := g.SetStatus(ctx, r.intent.ID, model.IntentExecuting, reason, r.rootID); err != nil {
			return
		}
	}
	g.SetStatus(ctx, r.intent.ID, to, reason, r.rootID)
}

// successCriteria evaluates the intent's (fn [result] ...) on v under
// tight limits.
func (r *run) successCriteria(ctx context.Context, v value.Value) (bool, error) {
	src := r.intent.SuccessCriteria
	if src == "" {
		return true, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	th := eval.NewThread(cctx, eval.NewEnv(stdlib.Universe()), eval.NoHost{}, eval.Limits{MaxSteps: 10_000_000, MaxDepth: 1000})
	fn, err := th.EvalSource("success-criteria", []byte(src))
	if err != nil {
		return false, err
	}
	out, err := th.Call(fn, v)
	if err != nil {
		return false, err
	}
	return value.Truthy(out), nil
}

func errorInfo(e *value.Error) *model.ErrorInfo {
	return &model.ErrorInfo{Type: string(e.Type), Message: e.Message, Data: e.Data}
}

func errorFromInfo(i *model.ErrorInfo) *value.Error {
	if i == nil {
		return value.AsError(value.Errorf(value.ErrGeneric, "unknown error"))
	}
	return &value.Error{Type: value.Keyword(i.Type), Message: i.Message, Data: i.Data}
}

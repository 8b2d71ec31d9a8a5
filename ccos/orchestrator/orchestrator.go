// Package orchestrator runs plans (CCOS.md §3): it evaluates a plan's RTFS
// body with a Host bound to one run, records every step, capability call
// and log line in the causal chain with parent links that mirror the
// nesting, authorises each call against the runtime context and the step's
// derived security profile, enforces the plan's policies, and resumes a
// run whose process died by deterministic replay: calls whose results the
// chain already holds are not made again.
package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/intents"
	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Config is what an Orchestrator needs.
type Config struct {
	Ledger  *ledger.Ledger
	Store   store.Store // the ledger's store, for replay and run queries
	Intents *intents.Graph
	Plans   *plans.Archive
	Caps    *caps.Marketplace
	// Isolated and Sandboxed run the calls of isolated and sandboxed
	// steps; WASM runs WebAssembly capabilities. A call whose provider
	// is nil or unavailable fails closed with :security-error.
	// (sandbox.InProcess enforces profiles at the capability boundary
	// only; choose it explicitly.)
	Isolated, Sandboxed, WASM sandbox.Provider
	// LockDir holds one lock file per live run, so that a run whose
	// process died shows as interrupted. Empty: no locks.
	LockDir string
	// Out receives println, log-step and ccos.io.print output.
	Out io.Writer
	// Human answers ccos.ask-human; nil pauses the run instead.
	Human caps.Human
	// Progress, when set, receives step and call events as they happen.
	Progress func(Event)
	Getenv   func(string) string
	LLM      *caps.LLMConfig
	HTTP     *http.Client
	// Limits bound every evaluation (zero fields: defaults).
	Limits eval.Limits
	Now    func() time.Time
}

// Orchestrator runs plans. It is safe for concurrent use by several runs.
type Orchestrator struct {
	cfg Config
}

// New returns an orchestrator.
func New(cfg Config) *Orchestrator {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limits.MaxSteps == 0 {
		cfg.Limits.MaxSteps = 1_000_000_000
	}
	if cfg.Limits.MaxDepth == 0 {
		cfg.Limits.MaxDepth = 10_000
	}
	return &Orchestrator{cfg: cfg}
}

// Status is the state of a run.
type Status string

// Run statuses.
const (
	Running     Status = "running"
	Paused      Status = "paused"
	Completed   Status = "completed"
	Failed      Status = "failed"
	Interrupted Status = "interrupted"
)

// Result is the outcome of Run or Resume.
type Result struct {
	RunID  string
	Status Status // Completed, Failed or Paused
	Value  value.Value
	Err    *value.Error // why the run failed
	// Question is the pending ccos.ask-human prompt of a paused run.
	Question string
}

// Request describes a run to start.
type Request struct {
	File *plans.File
	// IntentID names an existing intent (it must be active). Otherwise
	// the file's (intent ...) form is created, else an intent with Goal,
	// else one named after the plan.
	IntentID string
	Goal     string
	Context  *security.Context
	// RunID is generated when empty.
	RunID string
	// Started, when set, is called with the run id before the plan
	// starts evaluating (the CLI prints it first).
	Started func(runID string)
}

// ErrInvalid wraps errors about a plan or request that cannot run at all
// (the CLI exits 2 for these).
var ErrInvalid = errors.New("invalid plan")

// NewRunID returns a fresh run id.
func NewRunID() string {
	return "run-" + strings.TrimPrefix(ledger.NewActionID(), "act-")
}

// Run starts a plan and evaluates it to the end, a failure, or a pause.
// The returned error is about the request or the infrastructure; a plan
// that fails is a Result with Status Failed.
func (o *Orchestrator) Run(ctx context.Context, req *Request) (*Result, error) {
	if req.File == nil || req.File.Plan == nil {
		return nil, fmt.Errorf("%w: no plan", ErrInvalid)
	}
	sctx := req.Context
	if sctx == nil {
		var err error
		if sctx, err = security.Preset("controlled", nil); err != nil {
			return nil, err
		}
	}
	if err := sctx.Validate(); err != nil {
		return nil, fmt.Errorf("%w: runtime context: %v", ErrInvalid, err)
	}
	if err := o.checkCapabilities(req.File); err != nil {
		return nil, err
	}
	runID := req.RunID
	if runID == "" {
		runID = NewRunID()
	}
	unlock, err := o.lock(runID)
	if err != nil {
		return nil, err
	}
	defer unlock()

	intent, err := o.intentFor(ctx, req)
	if err != nil {
		return nil, err
	}
	plan := *req.File.Plan
	if plan.ID == "" {
		plan.ID = "plan-" + strings.TrimPrefix(ledger.NewActionID(), "act-")
	}
	if len(plan.IntentIDs) == 0 || plan.IntentIDs[0] != intent.ID {
		plan.IntentIDs = append([]string{intent.ID}, plan.IntentIDs...)
	}
	normalized, hash, put, err := o.cfg.Plans.Prepare(&plan)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	r, err := o.newRun(runID, normalized, hash, intent, sctx, req.File.Forms, req.File.Defs, nil)
	if err != nil {
		return nil, err
	}
	started, err := o.cfg.Ledger.Append(ctx, &model.Action{
		ActionID: r.rootID, RunID: runID, PlanID: normalized.ID, IntentID: intent.ID,
		Type: model.PlanStarted, Name: normalized.Name,
		Metadata: mapOf("run-id", value.String(runID), "plan-hash", value.String(hash),
			"context", sctx.ToValue(), "intent-ids", strVector(normalized.IntentIDs)),
	}, put)
	if err != nil {
		return nil, err
	}
	r.actions.Add(1)
	if _, _, err := o.cfg.Intents.SetStatus(ctx, intent.ID, model.IntentExecuting, "plan started: run "+runID, started.ActionID); err != nil {
		return nil, err
	}
	if req.Started != nil {
		req.Started(runID)
	}
	return r.execute(ctx)
}

// intentFor creates or fetches the run's intent, which must be active.
func (o *Orchestrator) intentFor(ctx context.Context, req *Request) (*model.Intent, error) {
	if req.IntentID != "" {
		in, err := o.cfg.Intents.Get(ctx, req.IntentID)
		if err != nil {
			return nil, fmt.Errorf("%w: intent %s: %v", ErrInvalid, req.IntentID, err)
		}
		if in.Status != model.IntentActive {
			return nil, fmt.Errorf("%w: intent %s is %s; a plan may only start for an active intent", ErrInvalid, in.ID, in.Status)
		}
		return in, nil
	}
	var in *model.Intent
	switch {
	case req.Goal != "":
		in = &model.Intent{Goal: req.Goal, OriginalRequest: req.Goal, TriggeredBy: model.TriggerHumanRequest}
	case req.File.Intent != nil:
		in = req.File.Intent
		if in.ID != "" {
			if existing, err := o.cfg.Intents.Get(ctx, in.ID); err == nil {
				if existing.Status != model.IntentActive {
					return nil, fmt.Errorf("%w: intent %s is %s; a plan may only start for an active intent", ErrInvalid, in.ID, existing.Status)
				}
				return existing, nil
			}
		}
	default:
		goal := "run plan"
		if n := req.File.Plan.Name; n != "" {
			goal = "run plan " + n
		}
		in = &model.Intent{Goal: goal, OriginalRequest: goal, TriggeredBy: model.TriggerHumanRequest}
	}
	created, err := o.cfg.Intents.Create(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return created, nil
}

// checkCapabilities rejects a plan that names a capability the
// marketplace does not have, before anything runs.
func (o *Orchestrator) checkCapabilities(f *plans.File) error {
	for _, id := range f.Plan.CapabilitiesRequired {
		if _, ok := o.cfg.Caps.Get(id); !ok {
			return fmt.Errorf("%w: :capabilities-required names unknown capability %s", ErrInvalid, id)
		}
	}
	for _, c := range literalCalls(f.Forms) {
		if _, ok := o.cfg.Caps.Get(c.id); !ok {
			return fmt.Errorf("%w: %s: unknown capability %s", ErrInvalid, c.pos, c.id)
		}
	}
	return nil
}

func mapOf(kv ...any) *value.Map {
	b := value.NewMapBuilder()
	for i := 0; i+1 < len(kv); i += 2 {
		v, _ := kv[i+1].(value.Value)
		if v == nil {
			continue
		}
		b.Assoc(value.Keyword(kv[i].(string)), v)
	}
	return b.Map()
}

func strVector(ss []string) value.Value {
	vs := make([]value.Value, len(ss))
	for i, s := range ss {
		vs[i] = value.String(s)
	}
	return value.NewVector(vs...)
}

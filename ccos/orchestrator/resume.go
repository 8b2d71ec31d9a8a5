package orchestrator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/value"
)

// ResumeOptions say how to continue a run.
type ResumeOptions struct {
	// Answer answers the ccos.ask-human question a paused run waits for.
	Answer *string
	// Started, when set, is called once the run is ready to continue.
	Started func(runID string)
}

// Resume continues a paused or interrupted run by deterministic replay:
// the plan is evaluated again from the start, and every step and call
// that the chain shows finished returns its recorded result without
// running again.
func (o *Orchestrator) Resume(ctx context.Context, runID string, opts ResumeOptions) (*Result, error) {
	unlock, err := o.lock(runID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	lg, err := loadReplay(ctx, o.cfg.Store, runID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if lg.ended != nil {
		what := "completed"
		if lg.ended.Type == model.PlanAborted {
			what = "failed"
		}
		return nil, fmt.Errorf("%w: run %s has already %s; nothing to resume", ErrInvalid, runID, what)
	}
	started := lg.started
	hash := metaString(started, "plan-hash")
	plan, err := o.cfg.Plans.ByHash(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("plan %s of run %s: %w", hash, runID, err)
	}
	intent, err := o.cfg.Intents.Get(ctx, started.IntentID)
	if err != nil {
		return nil, fmt.Errorf("intent %s of run %s: %w", started.IntentID, runID, err)
	}
	cv, _ := started.Metadata.Get(value.Keyword("context"))
	sctx, err := security.FromValue(cv)
	if err != nil {
		return nil, fmt.Errorf("runtime context of run %s: %w", runID, err)
	}
	forms, defs, err := plans.ParseBody("plan-"+hash[:12]+".rtfs", plan.Body)
	if err != nil {
		return nil, fmt.Errorf("archived plan %s: %w", hash, err)
	}
	if opts.Answer != nil {
		pc := lg.pausedCall()
		if pc == nil {
			return nil, fmt.Errorf("%w: run %s is not waiting for an answer", ErrInvalid, runID)
		}
		pc.answer = opts.Answer
	}
	r, err := o.newRun(runID, plan, hash, intent, sctx, forms, defs, lg)
	if err != nil {
		return nil, err
	}
	n, err := o.cfg.Store.Actions(ctx, storeRunQuery(runID))
	if err != nil {
		return nil, err
	}
	r.actions.Store(int64(len(n)))
	meta := mapOf("run-id", value.String(runID))
	if lg.pausedPath != "" {
		meta = meta.Assoc(value.Keyword("paused-at"), value.String(lg.pausedPath))
	}
	if _, err := r.record(ctx, &model.Action{Type: model.PlanResumed, ParentActionID: r.rootID, Metadata: meta}); err != nil {
		return nil, err
	}
	if err := r.barrier(ctx); err != nil {
		return nil, err
	}
	if cur, err := o.cfg.Intents.Get(ctx, intent.ID); err == nil && cur.Status != model.IntentExecuting {
		for _, to := range []model.IntentStatus{model.IntentActive, model.IntentExecuting} {
			if cur.Status == to || model.CheckTransition(cur.Status, to) != nil {
				continue
			}
			if cur, _, err = o.cfg.Intents.SetStatus(ctx, intent.ID, to, "run "+runID+" resumed", r.rootID); err != nil {
				return nil, err
			}
		}
	}
	if opts.Started != nil {
		opts.Started(runID)
	}
	return r.execute(ctx)
}

// lock takes the run's lock file, held while a process works on the run;
// a run without a terminal record whose lock is free was interrupted.
func (o *Orchestrator) lock(runID string) (func(), error) {
	if o.cfg.LockDir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(o.cfg.LockDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(o.cfg.LockDir, runID+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: run %s is in progress in another process", ErrInvalid, runID)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		os.Remove(f.Name())
	}, nil
}

// live reports whether a process holds the run's lock.
func (o *Orchestrator) live(runID string) bool {
	if o.cfg.LockDir == "" {
		return false
	}
	f, err := os.Open(filepath.Join(o.cfg.LockDir, runID+".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

package orchestrator

import (
	"context"
	"fmt"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/value"
)

// replayLog is what the chain holds of an earlier session of a run,
// indexed by the path identities of steps and calls. A nil *replayLog is
// a fresh run: every lookup misses.
type replayLog struct {
	rootID  string
	started *model.Action
	steps   map[string]*replayStep
	calls   map[string]*replayCall
	paths   map[string]bool // every recorded path (logs, context sets ...)
	retries map[string]int  // path -> highest attempt recorded
	// pausedPath is the call the run paused at, if its last session
	// ended with PlanPaused.
	pausedPath string
	ended      *model.Action // PlanCompleted or PlanAborted, if any
}

type replayStep struct {
	name    string
	startID string
	end     *model.Action
}

type replayCall struct {
	call       *model.Action
	result     *model.Action
	argsHash   string
	pausedHere bool
	answer     *string
}

func metaString(a *model.Action, key string) string {
	if a.Metadata == nil {
		return ""
	}
	v, ok := a.Metadata.Get(value.Keyword(key))
	if !ok {
		return ""
	}
	s, _ := v.(value.String)
	return string(s)
}

// loadReplay reads every action of a run.
func loadReplay(ctx context.Context, st store.Store, runID string) (*replayLog, error) {
	as, err := st.Actions(ctx, store.ActionQuery{RunID: runID})
	if err != nil {
		return nil, err
	}
	lg := &replayLog{steps: map[string]*replayStep{}, calls: map[string]*replayCall{}, paths: map[string]bool{}, retries: map[string]int{}}
	byID := map[string]*model.Action{}
	for _, a := range as {
		byID[a.ActionID] = a
		path := metaString(a, "path")
		if path != "" {
			lg.paths[path] = true
		}
		switch a.Type {
		case model.PlanStarted:
			if lg.started == nil {
				lg.started, lg.rootID = a, a.ActionID
			}
		case model.PlanStepStarted:
			lg.steps[path] = &replayStep{name: a.Name, startID: a.ActionID}
		case model.PlanStepCompleted, model.PlanStepFailed:
			if s := lg.steps[path]; s != nil {
				s.end = a
			}
		case model.PlanStepRetrying:
			if n, ok := a.Metadata.Get(value.Keyword("attempt")); ok {
				if i, ok := n.(value.Int); ok {
					lg.retries[path] = max(lg.retries[path], int(i))
				}
			}
		case model.CapabilityCall:
			lg.calls[path] = &replayCall{call: a, argsHash: metaString(a, "args-hash")}
		case model.CapabilityResult:
			if c := lg.calls[path]; c != nil {
				c.result = a
			}
		case model.PlanPaused:
			lg.pausedPath = path
			lg.ended = nil
		case model.PlanResumed:
			lg.pausedPath = ""
		case model.PlanCompleted, model.PlanAborted:
			lg.ended = a
		}
	}
	if lg.started == nil {
		return nil, fmt.Errorf("no run %s in the causal chain", runID)
	}
	if c := lg.calls[lg.pausedPath]; c != nil && c.result == nil {
		c.pausedHere = true
	}
	return lg, nil
}

func (l *replayLog) step(path string) *replayStep {
	if l == nil {
		return nil
	}
	return l.steps[path]
}

func (l *replayLog) stepEnd(path string) *model.Action {
	if s := l.step(path); s != nil {
		return s.end
	}
	return nil
}

func (l *replayLog) hasRetry(path string, attempt int) bool {
	return l != nil && l.retries[path] >= attempt
}

func (l *replayLog) call(path string) *replayCall {
	if l == nil {
		return nil
	}
	return l.calls[path]
}

func (l *replayLog) has(path string) bool {
	return l != nil && l.paths[path]
}

// pausedCall is the call a paused run waits at.
func (l *replayLog) pausedCall() *replayCall {
	if l == nil || l.pausedPath == "" {
		return nil
	}
	if c := l.calls[l.pausedPath]; c != nil && c.pausedHere {
		return c
	}
	return nil
}

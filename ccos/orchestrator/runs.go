package orchestrator

import (
	"context"
	"sort"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/value"
)

// RunInfo summarises a run from the causal chain.
type RunInfo struct {
	ID       string
	PlanID   string
	PlanHash string
	PlanName string
	IntentID string
	Status   Status
	Started  time.Time
	Updated  time.Time
	Question string       // pending ask-human prompt, when paused
	Err      *value.Error // when failed
	Value    value.Value  // when completed
}

func storeRunQuery(runID string) store.ActionQuery { return store.ActionQuery{RunID: runID} }

// Runs lists every run, newest first.
func (o *Orchestrator) Runs(ctx context.Context) ([]RunInfo, error) {
	starts, err := o.cfg.Store.Actions(ctx, store.ActionQuery{Type: model.PlanStarted})
	if err != nil {
		return nil, err
	}
	var out []RunInfo
	for _, s := range starts {
		info := RunInfo{ID: s.RunID, PlanID: s.PlanID, PlanName: s.Name, IntentID: s.IntentID,
			PlanHash: metaString(s, "plan-hash"), Started: s.Timestamp, Updated: s.Timestamp, Status: Running}
		for _, t := range []model.ActionType{model.PlanPaused, model.PlanResumed, model.PlanCompleted, model.PlanAborted} {
			last, err := o.cfg.Store.Actions(ctx, store.ActionQuery{RunID: s.RunID, Type: t, Limit: 1, Last: true})
			if err != nil {
				return nil, err
			}
			if len(last) == 1 && !last[0].Timestamp.Before(info.Updated) {
				info.apply(last[0])
			}
		}
		if info.Status == Running && !o.live(info.ID) {
			info.Status = Interrupted
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func (info *RunInfo) apply(a *model.Action) {
	info.Updated = a.Timestamp
	switch a.Type {
	case model.PlanPaused:
		info.Status, info.Question = Paused, metaString(a, "prompt")
	case model.PlanResumed:
		info.Status, info.Question = Running, ""
	case model.PlanCompleted:
		info.Status = Completed
		if a.Result != nil {
			info.Value = a.Result.Value
		}
	case model.PlanAborted:
		info.Status = Failed
		if a.Result != nil {
			info.Err = errorFromInfo(a.Result.Error)
		}
	}
}

// StepNode is one step (or call) of a run's step tree.
type StepNode struct {
	Path     string
	Kind     string // "plan", "step", "call"
	Name     string
	Status   string // running, completed, failed, interrupted, paused, denied
	Duration time.Duration
	Err      string
	Children []*StepNode
}

// Show returns a run's summary and its step tree.
func (o *Orchestrator) Show(ctx context.Context, runID string) (*RunInfo, *StepNode, error) {
	as, err := o.cfg.Store.Actions(ctx, store.ActionQuery{RunID: runID})
	if err != nil {
		return nil, nil, err
	}
	var info *RunInfo
	nodes := map[string]*StepNode{} // by the action id that opened them
	var root *StepNode
	for _, a := range as {
		switch a.Type {
		case model.PlanStarted:
			info = &RunInfo{ID: runID, PlanID: a.PlanID, PlanName: a.Name, IntentID: a.IntentID, PlanHash: metaString(a, "plan-hash"),
				Started: a.Timestamp, Updated: a.Timestamp, Status: Running}
			root = &StepNode{Path: "main", Kind: "plan", Name: a.Name, Status: "running"}
			nodes[a.ActionID] = root
		case model.PlanPaused, model.PlanResumed, model.PlanCompleted, model.PlanAborted:
			if info != nil {
				info.apply(a)
			}
		case model.PlanStepStarted, model.CapabilityCall:
			kind := "step"
			if a.Type == model.CapabilityCall {
				kind = "call"
			}
			n := &StepNode{Path: metaString(a, "path"), Kind: kind, Name: a.Name, Status: "running"}
			nodes[a.ActionID] = n
			if p := nodes[a.ParentActionID]; p != nil {
				p.Children = append(p.Children, n)
			}
		case model.PlanStepCompleted, model.PlanStepFailed, model.CapabilityResult:
			n := nodes[a.ParentActionID]
			if n == nil {
				continue
			}
			n.Status = "completed"
			if a.Result != nil && !a.Result.Success {
				n.Status = "failed"
				if a.Result.Error != nil {
					n.Err = a.Result.Error.Message
				}
			}
			if a.DurationMs != nil {
				n.Duration = time.Duration(*a.DurationMs) * time.Millisecond
			}
		case model.SecurityViolation:
			n := &StepNode{Path: metaString(a, "path"), Kind: "call", Name: a.Name, Status: "denied", Err: metaString(a, "reason")}
			if p := nodes[a.ParentActionID]; p != nil {
				p.Children = append(p.Children, n)
			}
		}
	}
	if info == nil {
		return nil, nil, store.ErrNotFound
	}
	if info.Status == Running && !o.live(runID) {
		info.Status = Interrupted
	}
	root.Status = string(info.Status)
	root.Duration = info.Updated.Sub(info.Started)
	var mark func(n *StepNode)
	mark = func(n *StepNode) {
		for _, c := range n.Children {
			if c.Status == "running" && info.Status != Running {
				c.Status = string(info.Status)
				if info.Status == Completed || info.Status == Failed {
					c.Status = "interrupted"
				}
			}
			mark(c)
		}
	}
	mark(root)
	return info, root, nil
}

// Package localhost is an in-memory eval.Host for evaluating RTFS without
// a ledger or an orchestrator: ccos eval and the REPL use it. It records
// step events in memory, serves the pure built-in capabilities and refuses
// every capability that has effects.
package localhost

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Event is one recorded step or call event.
type Event struct {
	Type   string // PlanStepStarted, PlanStepCompleted, PlanStepFailed, CapabilityCall, CapabilityResult, LogStep
	StepID string
	Parent string
	Name   string
	Value  value.Value
	Err    error
	Time   time.Time
}

// Host is the local in-memory host. It is safe for concurrent use by the
// threads of one evaluation.
type Host struct {
	// Log receives log-step and tool/log lines; nil discards them.
	Log_ io.Writer

	planID   string
	intentID string

	mu     sync.Mutex
	events []Event
	nextID int
	root   *step
	// caps are the built-in capabilities without effects, which run;
	// effectful names the others, which are refused.
	caps      map[string]*caps.Capability
	effectful map[string]bool
}

type step struct {
	id     string
	name   string
	parent *step
	data   map[string]value.Value
	order  []string
	// sandboxed steps do not see their ancestors' context data.
	sandboxed bool
}

// New returns a host with a fresh plan id and the pure capabilities.
func New(logOut io.Writer) *Host {
	h := &Host{Log_: logOut, planID: "local-plan", intentID: "local-intent",
		caps: map[string]*caps.Capability{}, effectful: map[string]bool{}}
	h.root = &step{id: "plan", name: "plan", data: map[string]value.Value{}}
	for _, c := range caps.Builtins() {
		// Print and log capabilities declare no effects but are not
		// idempotent: output is an effect here too.
		if c.Effects.Pure() && c.Effects.Idempotent {
			h.caps[c.ID] = c
		} else {
			h.effectful[c.ID] = true
		}
	}
	return h
}

// Events returns a copy of the recorded events.
func (h *Host) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

func (h *Host) record(e Event) {
	e.Time = time.Now()
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *Host) current(th *eval.Thread) *step {
	if s, ok := th.Step().(*step); ok && s != nil {
		return s
	}
	return h.root
}

// BeginStep implements eval.Host.
func (h *Host) BeginStep(th *eval.Thread, spec *eval.StepSpec) (any, error) {
	parent := h.current(th)
	h.mu.Lock()
	h.nextID++
	s := &step{id: fmt.Sprintf("step-%d", h.nextID), name: spec.Name, parent: parent, data: map[string]value.Value{}}
	h.mu.Unlock()
	if iso, ok := spec.Options["isolation"]; ok {
		if k, ok := iso.(value.Keyword); ok && k == "sandboxed" {
			s.sandboxed = true
		}
	}
	h.record(Event{Type: "PlanStepStarted", StepID: s.id, Parent: parent.id, Name: spec.Name})
	return s, nil
}

// EndStep implements eval.Host.
func (h *Host) EndStep(_ *eval.Thread, handle any, result value.Value, err error) error {
	s, _ := handle.(*step)
	if s == nil {
		return nil
	}
	if err != nil {
		h.record(Event{Type: "PlanStepFailed", StepID: s.id, Parent: s.parent.id, Name: s.name, Err: err})
	} else {
		h.record(Event{Type: "PlanStepCompleted", StepID: s.id, Parent: s.parent.id, Name: s.name, Value: result})
	}
	return nil
}

// CallCapability implements eval.Host: pure capabilities run, effectful
// ones are refused with :security-error, unknown ones with
// :capability-error.
func (h *Host) CallCapability(th *eval.Thread, id string, args []value.Value) (value.Value, error) {
	s := h.current(th)
	c, ok := h.caps[id]
	if !ok {
		if h.effectful[id] {
			h.record(Event{Type: "SecurityViolation", StepID: s.id, Name: id})
			return nil, value.Errorf(value.ErrSecurity, "capability %s has effects; the local evaluation host allows only pure capabilities (run the plan with ccos run to authorise effects)", id)
		}
		return nil, value.Errorf(value.ErrCapability, "unknown capability %s", id)
	}
	h.record(Event{Type: "CapabilityCall", StepID: s.id, Name: id, Value: value.NewVector(args...)})
	v, err := caps.Invoke(th.Context(), c, &caps.Env{}, args)
	h.record(Event{Type: "CapabilityResult", StepID: s.id, Name: id, Value: v, Err: err})
	return v, err
}

// Lookup implements eval.Host.
func (h *Host) Lookup(th *eval.Thread, name string) (value.Value, bool, error) {
	s := h.current(th)
	switch name {
	case "plan-id":
		return value.String(h.planID), true, nil
	case "intent-id":
		return value.String(h.intentID), true, nil
	case "intent-ids":
		return value.NewVector(value.String(h.intentID)), true, nil
	case "step-name":
		if s == h.root {
			return nil, true, nil
		}
		return value.String(s.name), true, nil
	case "step-id":
		if s == h.root {
			return nil, true, nil
		}
		return value.String(s.id), true, nil
	case "parent-action-id":
		if s.parent == nil {
			return nil, true, nil
		}
		return value.String(s.parent.id), true, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := s; c != nil; c = c.parent {
		if v, ok := c.data[name]; ok {
			return v, true, nil
		}
		if c.sandboxed {
			break
		}
	}
	return nil, false, nil
}

// ContextSet implements eval.Host.
func (h *Host) ContextSet(th *eval.Thread, key string, v value.Value) error {
	s := h.current(th)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := s.data[key]; !ok {
		s.order = append(s.order, key)
	}
	s.data[key] = v
	return nil
}

// MergeBranches implements eval.Host: branch context data is merged into
// the current step by policy.
func (h *Host) MergeBranches(th *eval.Thread, branches []any, policy string) error {
	target := h.current(th)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range branches {
		bs, _ := b.(*step)
		if bs == nil {
			continue
		}
		for _, k := range bs.order {
			v := bs.data[k]
			old, exists := target.data[k]
			if !exists {
				target.order = append(target.order, k)
			}
			target.data[k] = eval.MergeBranchValue(policy, old, exists, v)
		}
	}
	return nil
}

// Log implements eval.Host.
func (h *Host) Log(th *eval.Thread, level string, args []value.Value) error {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = value.Str(a)
	}
	line := strings.Join(parts, " ")
	h.record(Event{Type: "LogStep", StepID: h.current(th).id, Name: level, Value: value.String(line)})
	if h.Log_ != nil {
		fmt.Fprintf(h.Log_, "[%s] %s\n", level, line)
	}
	return nil
}

// Discover implements eval.Host: it returns the manifests of the local
// capabilities whose id or description contains the criteria's :query
// (or :id) text, as maps.
func (h *Host) Discover(_ *eval.Thread, criteria value.Value) (value.Value, error) {
	query := ""
	if m, ok := criteria.(*value.Map); ok {
		for _, k := range []string{"query", "id", "name"} {
			if q, ok := m.Get(value.Keyword(k)); ok {
				query = value.Str(q)
				break
			}
		}
	}
	var out []value.Value
	for _, id := range sortedIDs(h.caps) {
		c := h.caps[id]
		if query != "" && !strings.Contains(c.ID, query) && !strings.Contains(c.Description, query) {
			continue
		}
		out = append(out, value.NewMap(
			value.Keyword("id"), value.String(c.ID),
			value.Keyword("description"), value.String(c.Description),
			value.Keyword("provider"), value.Keyword("local"),
			value.Keyword("effects"), value.EmptyMap,
		))
	}
	return value.NewVector(out...), nil
}

// NarrowProfile implements eval.Host; the local host runs nothing with
// effects, so there is nothing to narrow.
func (h *Host) NarrowProfile(*eval.Thread, value.Value) (func(), error) {
	return func() {}, nil
}

func sortedIDs(m map[string]*caps.Capability) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

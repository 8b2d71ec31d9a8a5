// Package intents is the intent graph service (CCOS.md §1): it creates,
// reads, updates and relates intents, and moves them through the one
// status state machine of model.CheckTransition. Every change is recorded
// in the causal chain by the same ledger append that commits it to the
// store, so the graph and its history never disagree:
//
//   - Create records IntentCreated (and, with a parent, the is-subgoal-of
//     edge to it) with a PutIntent (and PutEdge) mutation.
//   - SetStatus records one action per status change, with metadata
//     {:old-status :new-status :reason :triggering-action-id}. Its type is
//     IntentStatusChanged, except IntentArchived for a move to archived and
//     IntentReactivated for the move from archived back to active (the
//     metadata is the same for all three; StatusChangeTypes lists them).
//   - AddEdge records IntentRelationshipCreated, or
//     IntentRelationshipModified when the edge (from, to, type) already
//     existed and is replaced (e.g. a new weight).
//   - Update, for fields other than the status, records an InternalStep
//     named "intent.updated" with metadata {:fields [...changed fields]}:
//     no action type of CCOS.md §1 is specific to it.
//
// Status changes and updates of one intent are serialised inside a Graph,
// so the check of the transition and the append that applies it are
// atomic with respect to each other. (Several processes sharing one store
// are not coordinated; the CLI runs one command at a time.)
package intents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Recorder appends actions to the causal chain, committing mutations in
// the same transaction. *ledger.Ledger implements it.
type Recorder interface {
	Append(ctx context.Context, a *model.Action, muts ...store.Mutation) (*model.Action, error)
}

// UpdatedStep is the name of the InternalStep action that records Update.
const UpdatedStep = "intent.updated"

// StatusChangeTypes are the action types that record a status change.
var StatusChangeTypes = []model.ActionType{model.IntentStatusChanged, model.IntentArchived, model.IntentReactivated}

// ErrValidation is wrapped by errors about invalid input.
var ErrValidation = errors.New("invalid intent")

// Graph is the intent graph over a store, recording into a ledger. It is
// safe for concurrent use.
type Graph struct {
	st  store.Store
	rec Recorder
	now func() time.Time

	seed  maphash.Seed
	locks [64]sync.Mutex // per-intent serialisation, by hash of the id
	edgeM sync.Mutex     // serialises AddEdge (cycle check then append)
}

// New returns a graph over st that records its changes with rec.
func New(st store.Store, rec Recorder) *Graph {
	return &Graph{st: st, rec: rec, now: time.Now, seed: maphash.MakeSeed()}
}

func (g *Graph) lock(id string) func() {
	m := &g.locks[maphash.String(g.seed, id)%uint64(len(g.locks))]
	m.Lock()
	return m.Unlock
}

func (g *Graph) stamp() time.Time { return model.Millis(g.now()) }

// NewID returns a fresh random intent id: "intent-" and 24 hex digits.
func NewID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "intent-" + hex.EncodeToString(b[:])
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrValidation, fmt.Sprintf(format, args...))
}

// validTriggers lists the trigger sources of CCOS.md §1.
var validTriggers = []model.TriggerSource{
	model.TriggerHumanRequest, model.TriggerPlanExecution, model.TriggerSystemEvent,
	model.TriggerIntentCompletion, model.TriggerArbiter,
}

// validate checks the fields of an intent about to be stored.
func validate(in *model.Intent) error {
	if in.ID == "" {
		return invalid("empty id")
	}
	if strings.TrimSpace(in.Goal) == "" {
		return invalid("empty goal")
	}
	if !in.Status.Valid() {
		return invalid("unknown status %q", in.Status)
	}
	if !slices.Contains(validTriggers, in.TriggeredBy) {
		return invalid("unknown trigger source %q", in.TriggeredBy)
	}
	if in.ParentIntent == in.ID {
		return invalid("an intent cannot be its own parent")
	}
	if s := strings.TrimSpace(in.SuccessCriteria); s != "" {
		forms, err := syntax.Parse("success-criteria", []byte(s))
		if err != nil {
			return invalid("success criteria: %v", err)
		}
		if len(forms) != 1 {
			return invalid("success criteria: want one (fn [result] ...) form, found %d forms", len(forms))
		}
	}
	if _, err := model.EncodeIntent(in); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// Create stores a new intent and records IntentCreated. It fills the id
// (when empty), the timestamps, the status (active: an intent is created
// active), triggered_by (default human-request), original_request
// (default: the goal) and the canonical source. With ParentIntent set, the
// parent must exist and the is-subgoal-of edge to it is created by the
// same append. The stored intent is returned; in is not modified.
func (g *Graph) Create(ctx context.Context, in *model.Intent) (*model.Intent, error) {
	if in == nil {
		return nil, invalid("nil intent")
	}
	n := store.CloneIntent(in)
	if n.ID == "" {
		n.ID = NewID()
	}
	switch n.Status {
	case "":
		n.Status = model.IntentActive
	case model.IntentActive:
	default:
		return nil, invalid("a new intent is active, not %q", n.Status)
	}
	if n.TriggeredBy == "" {
		n.TriggeredBy = model.TriggerHumanRequest
	}
	if n.OriginalRequest == "" {
		n.OriginalRequest = n.Goal
	}
	now := g.stamp()
	n.CreatedAt, n.UpdatedAt = now, now
	n.Source = Source(n)
	if err := validate(n); err != nil {
		return nil, err
	}
	defer g.lock(n.ID)()
	if _, err := g.st.Intent(ctx, n.ID); err == nil {
		return nil, invalid("intent %s already exists", n.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	muts := []store.Mutation{store.PutIntent{Intent: n}}
	meta := []value.Value{
		value.Keyword("goal"), value.String(n.Goal),
		value.Keyword("status"), value.String(string(n.Status)),
		value.Keyword("priority"), value.Int(n.Priority),
		value.Keyword("triggered-by"), value.String(string(n.TriggeredBy)),
	}
	if n.ParentIntent != "" {
		if _, err := g.st.Intent(ctx, n.ParentIntent); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, invalid("parent intent %s does not exist", n.ParentIntent)
			}
			return nil, err
		}
		muts = append(muts, store.PutEdge{Edge: &model.IntentEdge{From: n.ID, To: n.ParentIntent, Type: model.EdgeIsSubgoalOf}})
		meta = append(meta, value.Keyword("parent-intent"), value.String(n.ParentIntent))
	}
	_, err := g.rec.Append(ctx, &model.Action{
		IntentID: n.ID,
		Type:     model.IntentCreated,
		Name:     n.Name,
		Metadata: value.NewMap(meta...),
	}, muts...)
	if err != nil {
		return nil, err
	}
	return store.CloneIntent(n), nil
}

// Get returns an intent; the error wraps store.ErrNotFound when there is
// none.
func (g *Graph) Get(ctx context.Context, id string) (*model.Intent, error) {
	in, err := g.st.Intent(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("intent %s: %w", id, err)
	}
	return in, nil
}

// List returns the intents matching q, newest first.
func (g *Graph) List(ctx context.Context, q store.IntentQuery) ([]*model.Intent, error) {
	return g.st.Intents(ctx, q)
}

// Update changes fields other than the status through fn, which receives a
// copy of the stored intent. Changing the id, status, parent, trigger
// source or creation time is refused (use SetStatus and AddEdge). When
// something changed, the intent is stored with a new updated_at and
// source and an InternalStep "intent.updated" listing the changed fields
// is recorded; otherwise nothing is written.
func (g *Graph) Update(ctx context.Context, id string, fn func(*model.Intent) error) (*model.Intent, error) {
	defer g.lock(id)()
	old, err := g.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	n := store.CloneIntent(old)
	if err := fn(n); err != nil {
		return nil, err
	}
	switch {
	case n.ID != old.ID:
		return nil, invalid("Update cannot change the id")
	case n.Status != old.Status:
		return nil, invalid("Update cannot change the status; use SetStatus")
	case n.ParentIntent != old.ParentIntent:
		return nil, invalid("Update cannot change the parent; use AddEdge")
	case n.TriggeredBy != old.TriggeredBy:
		return nil, invalid("Update cannot change triggered_by")
	case !n.CreatedAt.Equal(old.CreatedAt):
		return nil, invalid("Update cannot change created_at")
	}
	changed := changedFields(old, n)
	if len(changed) == 0 {
		return old, nil
	}
	n.UpdatedAt = g.stamp()
	if n.UpdatedAt.Before(old.UpdatedAt) {
		n.UpdatedAt = old.UpdatedAt
	}
	n.Source = Source(n)
	if err := validate(n); err != nil {
		return nil, err
	}
	fields := make([]value.Value, len(changed))
	for i, f := range changed {
		fields[i] = value.Keyword(f)
	}
	_, err = g.rec.Append(ctx, &model.Action{
		IntentID: id,
		Type:     model.InternalStep,
		Name:     UpdatedStep,
		Metadata: value.NewMap(value.Keyword("fields"), value.NewVector(fields...)),
	}, store.PutIntent{Intent: n})
	if err != nil {
		return nil, err
	}
	return store.CloneIntent(n), nil
}

// changedFields names the updatable fields that differ.
func changedFields(a, b *model.Intent) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("name", a.Name != b.Name)
	add("original-request", a.OriginalRequest != b.OriginalRequest)
	add("goal", a.Goal != b.Goal)
	add("constraints", !mapEqual(a.Constraints, b.Constraints))
	add("preferences", !mapEqual(a.Preferences, b.Preferences))
	add("success-criteria", a.SuccessCriteria != b.SuccessCriteria)
	add("priority", a.Priority != b.Priority)
	add("generation-context", !mapEqual(a.GenerationContext, b.GenerationContext))
	add("metadata", !mapEqual(a.Metadata, b.Metadata))
	return out
}

func mapEqual(a, b *value.Map) bool {
	if a == nil || b == nil {
		return (a == nil || a.Len() == 0) && (b == nil || b.Len() == 0)
	}
	return value.Equal(a, b)
}

// SetStatus moves an intent to status to, if model.CheckTransition allows
// it, and records the change (see the package documentation for the action
// type and metadata). reason says why; triggeringActionID, if not empty,
// must name an action of the chain (e.g. the PlanCompleted that completed
// the intent). An illegal transition returns a *model.TransitionError and
// changes and records nothing. The updated intent and the recorded action
// are returned.
func (g *Graph) SetStatus(ctx context.Context, id string, to model.IntentStatus, reason, triggeringActionID string) (*model.Intent, *model.Action, error) {
	if !to.Valid() {
		return nil, nil, invalid("unknown status %q", to)
	}
	defer g.lock(id)()
	old, err := g.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := model.CheckTransition(old.Status, to); err != nil {
		return nil, nil, err
	}
	if triggeringActionID != "" {
		if _, err := g.st.Action(ctx, triggeringActionID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil, invalid("triggering action %s does not exist", triggeringActionID)
			}
			return nil, nil, err
		}
	}
	n := store.CloneIntent(old)
	n.Status = to
	n.UpdatedAt = g.stamp()
	if n.UpdatedAt.Before(old.UpdatedAt) {
		n.UpdatedAt = old.UpdatedAt
	}
	n.Source = Source(n)
	typ := model.IntentStatusChanged
	switch {
	case to == model.IntentArchivedS:
		typ = model.IntentArchived
	case old.Status == model.IntentArchivedS:
		typ = model.IntentReactivated
	}
	var trig value.Value
	if triggeringActionID != "" {
		trig = value.String(triggeringActionID)
	}
	a, err := g.rec.Append(ctx, &model.Action{
		ParentActionID: triggeringActionID,
		IntentID:       id,
		Type:           typ,
		Metadata: value.NewMap(
			value.Keyword("old-status"), value.String(string(old.Status)),
			value.Keyword("new-status"), value.String(string(to)),
			value.Keyword("reason"), value.String(reason),
			value.Keyword("triggering-action-id"), trig,
		),
	}, store.PutIntent{Intent: n})
	if err != nil {
		return nil, nil, err
	}
	return store.CloneIntent(n), a, nil
}

// acyclic edge types: a new edge may not close a cycle of its type.
var acyclic = []model.EdgeType{model.EdgeDependsOn, model.EdgeIsSubgoalOf}

// AddEdge relates two existing intents. For depends-on and is-subgoal-of,
// from is the child (from depends on / is a subgoal of to), and an edge
// that would close a cycle of its type is refused. weight, if given, must
// be finite. A new edge records IntentRelationshipCreated; replacing an
// existing (from, to, type) edge records IntentRelationshipModified. The
// first is-subgoal-of edge of an intent without a parent also sets its
// ParentIntent, in the same append.
func (g *Graph) AddEdge(ctx context.Context, from, to string, typ model.EdgeType, weight *float64) (*model.IntentEdge, error) {
	if !typ.Valid() {
		return nil, invalid("unknown edge type %q", typ)
	}
	if from == to {
		return nil, invalid("an edge needs two different intents")
	}
	if weight != nil && (math.IsNaN(*weight) || math.IsInf(*weight, 0)) {
		return nil, invalid("edge weight must be finite")
	}
	g.edgeM.Lock()
	defer g.edgeM.Unlock()
	defer g.lock(from)()
	child, err := g.Get(ctx, from)
	if err != nil {
		return nil, err
	}
	if _, err := g.Get(ctx, to); err != nil {
		return nil, err
	}
	if slices.Contains(acyclic, typ) {
		reach, err := g.reachable(ctx, to, from, typ)
		if err != nil {
			return nil, err
		}
		if reach {
			return nil, invalid("%s edge %s -> %s would close a cycle", typ, from, to)
		}
	}
	existing, err := g.st.Edges(ctx, store.EdgeQuery{From: from, To: to, Type: typ})
	if err != nil {
		return nil, err
	}
	e := &model.IntentEdge{From: from, To: to, Type: typ}
	if weight != nil {
		w := *weight
		e.Weight = &w
	}
	atype := model.IntentRelationshipCreated
	if len(existing) > 0 {
		atype = model.IntentRelationshipModified
		e.Metadata = existing[0].Metadata
	}
	muts := []store.Mutation{store.PutEdge{Edge: e}}
	if typ == model.EdgeIsSubgoalOf && child.ParentIntent == "" {
		n := store.CloneIntent(child)
		n.ParentIntent = to
		n.UpdatedAt = g.stamp()
		if n.UpdatedAt.Before(child.UpdatedAt) {
			n.UpdatedAt = child.UpdatedAt
		}
		n.Source = Source(n)
		muts = append(muts, store.PutIntent{Intent: n})
	}
	var w value.Value
	if weight != nil {
		w = value.Float(*weight)
	}
	_, err = g.rec.Append(ctx, &model.Action{
		IntentID: from,
		Type:     atype,
		Name:     string(typ),
		Metadata: value.NewMap(
			value.Keyword("from"), value.String(from),
			value.Keyword("to"), value.String(to),
			value.Keyword("type"), value.String(string(typ)),
			value.Keyword("weight"), w,
		),
	}, muts...)
	if err != nil {
		return nil, err
	}
	return store.CloneEdge(e), nil
}

// reachable reports whether target can be reached from start following
// edges of type typ in their From -> To direction.
func (g *Graph) reachable(ctx context.Context, start, target string, typ model.EdgeType) (bool, error) {
	seen := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if id == target {
			return true, nil
		}
		es, err := g.st.Edges(ctx, store.EdgeQuery{From: id, Type: typ})
		if err != nil {
			return false, err
		}
		for _, e := range es {
			if !seen[e.To] {
				seen[e.To] = true
				queue = append(queue, e.To)
			}
		}
	}
	return false, nil
}

// Edges returns the edges matching q.
func (g *Graph) Edges(ctx context.Context, q store.EdgeQuery) ([]*model.IntentEdge, error) {
	return g.st.Edges(ctx, q)
}

// Parent returns the parent of an intent: its ParentIntent, else the
// target of its first is-subgoal-of edge; nil (and no error) at a root.
func (g *Graph) Parent(ctx context.Context, id string) (*model.Intent, error) {
	in, err := g.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	pid, err := g.parentID(ctx, in)
	if err != nil || pid == "" {
		return nil, err
	}
	return g.Get(ctx, pid)
}

func (g *Graph) parentID(ctx context.Context, in *model.Intent) (string, error) {
	if in.ParentIntent != "" {
		return in.ParentIntent, nil
	}
	es, err := g.st.Edges(ctx, store.EdgeQuery{From: in.ID, Type: model.EdgeIsSubgoalOf})
	if err != nil || len(es) == 0 {
		return "", err
	}
	return es[0].To, nil
}

// Children returns the intents whose parent is id (by ParentIntent or by
// an is-subgoal-of edge to id), newest first.
func (g *Graph) Children(ctx context.Context, id string) ([]*model.Intent, error) {
	if _, err := g.Get(ctx, id); err != nil {
		return nil, err
	}
	kids, err := g.st.Intents(ctx, store.IntentQuery{Parent: id})
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(kids))
	for _, k := range kids {
		seen[k.ID] = true
	}
	es, err := g.st.Edges(ctx, store.EdgeQuery{To: id, Type: model.EdgeIsSubgoalOf})
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if seen[e.From] {
			continue
		}
		seen[e.From] = true
		k, err := g.st.Intent(ctx, e.From)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	slices.SortStableFunc(kids, func(a, b *model.Intent) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return kids, nil
}

// Ancestors returns the parent of id, its parent, and so on up to a root
// (nearest first). A cycle ends the walk.
func (g *Graph) Ancestors(ctx context.Context, id string) ([]*model.Intent, error) {
	in, err := g.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{id: true}
	var out []*model.Intent
	for {
		pid, err := g.parentID(ctx, in)
		if err != nil {
			return nil, err
		}
		if pid == "" || seen[pid] {
			return out, nil
		}
		seen[pid] = true
		if in, err = g.Get(ctx, pid); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
}

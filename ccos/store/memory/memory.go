// Package memory is an in-memory store.Store for tests: nothing is
// durable. Like the durable store it keeps times at millisecond precision
// in UTC (model.Millis). Actions are kept in insertion order in a slice, which Tamper
// exposes so that tests can simulate a rewritten history.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
)

type edgeKey struct {
	from, to string
	typ      model.EdgeType
}

type planEntry struct {
	plan  *model.Plan
	order int // archive order, for ties in CreatedAt
}

// Store is an in-memory store.Store, safe for concurrent use.
type Store struct {
	mu          sync.RWMutex
	closed      bool
	actions     []*model.Action // insertion order
	byID        map[string]int  // action id -> index in actions
	sorted      bool            // actions are in Seq order
	head        int             // index of the action with the highest Seq, -1 if none
	checkpoints []*model.Checkpoint
	intents     map[string]*model.Intent
	edges       map[edgeKey]*model.IntentEdge
	plans       map[string]*planEntry
	planOrder   int
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		byID:    map[string]int{},
		sorted:  true,
		head:    -1,
		intents: map[string]*model.Intent{},
		edges:   map[edgeKey]*model.IntentEdge{},
		plans:   map[string]*planEntry{},
	}
}

// Tamper gives fn the store's raw action and checkpoint slices (insertion
// order, shared with the store) and replaces them with what fn returns:
// tests use it to change, delete, insert or reorder records the way an
// attacker with access to the database could.
func (s *Store) Tamper(fn func(actions []*model.Action, checkpoints []*model.Checkpoint) ([]*model.Action, []*model.Checkpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions, s.checkpoints = fn(s.actions, s.checkpoints)
	s.reindex()
}

// reindex rebuilds the derived indexes after the action slice changed
// arbitrarily.
func (s *Store) reindex() {
	s.byID = make(map[string]int, len(s.actions))
	s.sorted = true
	s.head = -1
	for i, a := range s.actions {
		s.byID[a.ActionID] = i
		if i > 0 && s.actions[i-1].Seq > a.Seq {
			s.sorted = false
		}
		if s.head < 0 || a.Seq > s.actions[s.head].Seq {
			s.head = i
		}
	}
}

func (s *Store) check(ctx context.Context) error {
	if s.closed {
		return store.ErrClosed
	}
	return ctx.Err()
}

func (s *Store) headSeq() uint64 {
	if s.head < 0 {
		return 0
	}
	return s.actions[s.head].Seq
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := store.CheckBatch(s.headSeq(), b); err != nil {
		return err
	}
	for _, a := range b.Actions {
		if _, dup := s.byID[a.ActionID]; dup {
			return fmt.Errorf("memory: action id %q already stored", a.ActionID)
		}
	}
	for _, a := range b.Actions {
		s.byID[a.ActionID] = len(s.actions)
		c := store.CloneAction(a)
		c.Timestamp = model.Millis(c.Timestamp)
		s.actions = append(s.actions, c)
		if s.head < 0 || a.Seq > s.actions[s.head].Seq {
			s.head = len(s.actions) - 1
		}
	}
	for _, m := range b.Mutations {
		switch m := store.Deref(m).(type) {
		case store.PutIntent:
			in := store.CloneIntent(m.Intent)
			in.CreatedAt, in.UpdatedAt = model.Millis(in.CreatedAt), model.Millis(in.UpdatedAt)
			s.intents[in.ID] = in
		case store.PutEdge:
			e := m.Edge
			s.edges[edgeKey{e.From, e.To, e.Type}] = store.CloneEdge(e)
		case store.PutPlan:
			if pe, ok := s.plans[m.Hash]; ok {
				p := store.ClonePlan(pe.plan)
				p.Status = m.Plan.Status
				pe.plan = p
				continue
			}
			s.planOrder++
			p := store.ClonePlan(m.Plan)
			p.CreatedAt = model.Millis(p.CreatedAt)
			s.plans[m.Hash] = &planEntry{plan: p, order: s.planOrder}
		}
	}
	if b.Checkpoint != nil {
		c := store.CloneCheckpoint(b.Checkpoint)
		c.Time = model.Millis(c.Time)
		s.checkpoints = append(s.checkpoints, c)
	}
	return nil
}

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (*model.Action, *model.Checkpoint, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, nil, err
	}
	var a *model.Action
	if s.head >= 0 {
		a = store.CloneAction(s.actions[s.head])
	}
	var c *model.Checkpoint
	for _, x := range s.checkpoints {
		if c == nil || x.Seq >= c.Seq {
			c = x
		}
	}
	return a, store.CloneCheckpoint(c), nil
}

// ScanActions implements store.Store. fn runs without the store's lock
// held, on a snapshot of the actions taken at the start.
func (s *Store) ScanActions(ctx context.Context, from uint64, fn func(*model.Action) error) error {
	s.mu.RLock()
	if err := s.check(ctx); err != nil {
		s.mu.RUnlock()
		return err
	}
	snap := slices.Clone(s.actions)
	s.mu.RUnlock()
	for _, a := range snap {
		if a.Seq < from {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(store.CloneAction(a)); err != nil {
			return err
		}
	}
	return nil
}

// ScanCheckpoints implements store.Store.
func (s *Store) ScanCheckpoints(ctx context.Context, fn func(*model.Checkpoint) error) error {
	s.mu.RLock()
	if err := s.check(ctx); err != nil {
		s.mu.RUnlock()
		return err
	}
	snap := slices.Clone(s.checkpoints)
	s.mu.RUnlock()
	slices.SortStableFunc(snap, func(a, b *model.Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, c := range snap {
		if err := fn(store.CloneCheckpoint(c)); err != nil {
			return err
		}
	}
	return nil
}

// Action implements store.Store.
func (s *Store) Action(ctx context.Context, id string) (*model.Action, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	i, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("action %q: %w", id, store.ErrNotFound)
	}
	return store.CloneAction(s.actions[i]), nil
}

// Actions implements store.Store.
func (s *Store) Actions(ctx context.Context, q store.ActionQuery) ([]*model.Action, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	all := s.actions
	if !s.sorted {
		all = slices.Clone(all)
		slices.SortStableFunc(all, func(a, b *model.Action) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	var out []*model.Action
	if q.Last && q.Limit > 0 {
		for i := len(all) - 1; i >= 0 && len(out) < q.Limit; i-- {
			if q.Match(all[i]) {
				out = append(out, store.CloneAction(all[i]))
			}
		}
		slices.Reverse(out)
		return out, nil
	}
	for _, a := range all {
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		if q.Match(a) {
			out = append(out, store.CloneAction(a))
		}
	}
	return out, nil
}

// Intent implements store.Store.
func (s *Store) Intent(ctx context.Context, id string) (*model.Intent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	in, ok := s.intents[id]
	if !ok {
		return nil, fmt.Errorf("intent %q: %w", id, store.ErrNotFound)
	}
	return store.CloneIntent(in), nil
}

// Intents implements store.Store: newest first (CreatedAt descending, then
// id ascending).
func (s *Store) Intents(ctx context.Context, q store.IntentQuery) ([]*model.Intent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []*model.Intent
	for _, in := range s.intents {
		if q.Match(in) {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *model.Intent) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i, in := range out {
		out[i] = store.CloneIntent(in)
	}
	return out, nil
}

// Edges implements store.Store: ordered by From, To, Type.
func (s *Store) Edges(ctx context.Context, q store.EdgeQuery) ([]*model.IntentEdge, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []*model.IntentEdge
	for _, e := range s.edges {
		if q.Match(e) {
			out = append(out, store.CloneEdge(e))
		}
	}
	slices.SortFunc(out, compareEdges)
	return out, nil
}

func compareEdges(a, b *model.IntentEdge) int {
	return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Type, b.Type))
}

// PlanByHash implements store.Store.
func (s *Store) PlanByHash(ctx context.Context, hash string) (*model.Plan, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	pe, ok := s.plans[hash]
	if !ok {
		return nil, fmt.Errorf("plan %q: %w", hash, store.ErrNotFound)
	}
	return store.ClonePlan(pe.plan), nil
}

// Plans implements store.Store: newest first (CreatedAt descending, then
// the most recently archived first).
func (s *Store) Plans(ctx context.Context, q store.PlanQuery) ([]store.ArchivedPlan, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	type hit struct {
		hash string
		pe   *planEntry
	}
	var hits []hit
	for h, pe := range s.plans {
		if q.Match(pe.plan) {
			hits = append(hits, hit{h, pe})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := b.pe.plan.CreatedAt.Compare(a.pe.plan.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.pe.order, a.pe.order)
	})
	if q.Limit > 0 && len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	out := make([]store.ArchivedPlan, len(hits))
	for i, h := range hits {
		out[i] = store.ArchivedPlan{Hash: h.hash, Plan: store.ClonePlan(h.pe.plan)}
	}
	return out, nil
}

// Close implements store.Store; later calls (but Close) return
// store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
)

// ErrSeqGap is returned (wrapped) by Commit when a batch's actions do not
// continue the stored chain: the first Seq must be the head's Seq+1 (1 for
// an empty chain) and each following action must add one.
var ErrSeqGap = errors.New("action sequence does not continue the chain")

// ErrClosed is returned by every method of a closed store.
var ErrClosed = errors.New("store is closed")

// CheckBatch validates a batch against the Seq of the stored head (0 when
// the chain is empty): gap-free sequence numbers, action ids present and
// unique within the batch, well-formed mutations. It does not check the
// uniqueness of ids against what is already stored.
func CheckBatch(headSeq uint64, b *Batch) error {
	if b == nil {
		return errors.New("store: nil batch")
	}
	ids := make(map[string]struct{}, len(b.Actions))
	next := headSeq + 1
	for i, a := range b.Actions {
		if a == nil {
			return fmt.Errorf("store: batch action %d is nil", i)
		}
		if a.Seq != next {
			return fmt.Errorf("store: batch action %d has seq %d, want %d: %w", i, a.Seq, next, ErrSeqGap)
		}
		if a.ActionID == "" {
			return fmt.Errorf("store: action seq %d has no action id", a.Seq)
		}
		if _, dup := ids[a.ActionID]; dup {
			return fmt.Errorf("store: duplicate action id %q in batch", a.ActionID)
		}
		ids[a.ActionID] = struct{}{}
		next++
	}
	for i, m := range b.Mutations {
		switch m := m.(type) {
		case PutIntent:
			if m.Intent == nil || m.Intent.ID == "" {
				return fmt.Errorf("store: mutation %d: intent without id", i)
			}
		case *PutIntent:
			if m == nil || m.Intent == nil || m.Intent.ID == "" {
				return fmt.Errorf("store: mutation %d: intent without id", i)
			}
		case PutEdge:
			if m.Edge == nil || m.Edge.From == "" || m.Edge.To == "" || m.Edge.Type == "" {
				return fmt.Errorf("store: mutation %d: edge needs from, to and type", i)
			}
		case *PutEdge:
			if m == nil || m.Edge == nil || m.Edge.From == "" || m.Edge.To == "" || m.Edge.Type == "" {
				return fmt.Errorf("store: mutation %d: edge needs from, to and type", i)
			}
		case PutPlan:
			if m.Plan == nil || m.Hash == "" {
				return fmt.Errorf("store: mutation %d: plan without hash", i)
			}
		case *PutPlan:
			if m == nil || m.Plan == nil || m.Hash == "" {
				return fmt.Errorf("store: mutation %d: plan without hash", i)
			}
		default:
			return fmt.Errorf("store: mutation %d: unknown type %T", i, m)
		}
	}
	if c := b.Checkpoint; c != nil && len(b.Actions) > 0 && c.Seq > b.Actions[len(b.Actions)-1].Seq {
		return fmt.Errorf("store: checkpoint seq %d is beyond the batch's last action", c.Seq)
	}
	return nil
}

// Deref returns the value form of a mutation given as a value or a
// pointer (PutIntent, *PutIntent, ...). Call it after CheckBatch.
func Deref(m Mutation) Mutation {
	switch m := m.(type) {
	case *PutIntent:
		return *m
	case *PutEdge:
		return *m
	case *PutPlan:
		return *m
	}
	return m
}

// Match reports whether a satisfies every filter of q except Limit/Last.
func (q *ActionQuery) Match(a *model.Action) bool {
	switch {
	case q.RunID != "" && a.RunID != q.RunID,
		q.PlanID != "" && a.PlanID != q.PlanID,
		q.IntentID != "" && a.IntentID != q.IntentID,
		q.Type != "" && a.Type != q.Type,
		q.Name != "" && a.Name != q.Name,
		q.ParentID != "" && a.ParentActionID != q.ParentID,
		!q.Since.IsZero() && a.Timestamp.Before(q.Since),
		!q.Until.IsZero() && !a.Timestamp.Before(q.Until),
		a.Seq <= q.AfterSeq:
		return false
	}
	return true
}

// CeilMillis returns the smallest Unix millisecond m such that a time at m
// is not before t: a stored timestamp (ms precision) is >= t iff its
// millisecond is >= CeilMillis(t), and < t iff it is < CeilMillis(t).
func CeilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// MatchText reports whether text (case-insensitively) occurs in the goal,
// name or original request of in.
func MatchText(in *model.Intent, text string) bool {
	if text == "" {
		return true
	}
	t := strings.ToLower(text)
	return strings.Contains(strings.ToLower(in.Goal), t) ||
		strings.Contains(strings.ToLower(in.Name), t) ||
		strings.Contains(strings.ToLower(in.OriginalRequest), t)
}

// Match reports whether in satisfies every filter of q except Limit.
func (q *IntentQuery) Match(in *model.Intent) bool {
	switch {
	case q.Status != "" && in.Status != q.Status,
		q.MinPriority != nil && in.Priority < *q.MinPriority,
		q.Parent != "" && in.ParentIntent != q.Parent:
		return false
	}
	return MatchText(in, q.Text)
}

// Match reports whether e satisfies q.
func (q *EdgeQuery) Match(e *model.IntentEdge) bool {
	return (q.From == "" || e.From == q.From) && (q.To == "" || e.To == q.To) && (q.Type == "" || e.Type == q.Type)
}

// Match reports whether p satisfies every filter of q except Limit.
func (q *PlanQuery) Match(p *model.Plan) bool {
	if q.PlanID != "" && p.ID != q.PlanID {
		return false
	}
	if q.IntentID != "" {
		for _, id := range p.IntentIDs {
			if id == q.IntentID {
				return true
			}
		}
		return false
	}
	return true
}

// Package store defines how CCOS persists its objects: the actions and
// signed checkpoints of the causal chain, intents and their edges, and the
// plan archive. The ledger, intent graph and plan archive are its
// consumers; sqlite (the default, durable) and memory (tests) implement
// it.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
)

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("not found")

// Store persists CCOS objects. Implementations are safe for concurrent use.
// Only the ledger's single writer calls Commit.
type Store interface {
	// Commit writes a batch atomically: its actions (whose Seq must
	// continue the stored chain without a gap), its mutations and its
	// checkpoint. It returns once the batch is durable.
	Commit(ctx context.Context, b *Batch) error

	// Head returns the last action and the last checkpoint (nil when
	// there are none).
	Head(ctx context.Context) (*model.Action, *model.Checkpoint, error)
	// ScanActions calls fn for every action with Seq >= from, in the order
	// the store holds them (by row, not re-sorted, so that verification
	// sees reordering), until fn returns an error.
	ScanActions(ctx context.Context, from uint64, fn func(*model.Action) error) error
	// ScanCheckpoints calls fn for every checkpoint in Seq order.
	ScanCheckpoints(ctx context.Context, fn func(*model.Checkpoint) error) error
	// Action returns one action by id.
	Action(ctx context.Context, id string) (*model.Action, error)
	// Actions returns the actions matching q in Seq order.
	Actions(ctx context.Context, q ActionQuery) ([]*model.Action, error)

	// Intent returns one intent.
	Intent(ctx context.Context, id string) (*model.Intent, error)
	// Intents returns the intents matching q, newest first.
	Intents(ctx context.Context, q IntentQuery) ([]*model.Intent, error)
	// Edges returns the edges matching q.
	Edges(ctx context.Context, q EdgeQuery) ([]*model.IntentEdge, error)

	// Plan returns a plan by content hash.
	PlanByHash(ctx context.Context, hash string) (*model.Plan, error)
	// Plans returns the archived plans matching q, newest first, with
	// their hashes.
	Plans(ctx context.Context, q PlanQuery) ([]ArchivedPlan, error)

	Close() error
}

// Batch is what the ledger's writer commits in one transaction.
type Batch struct {
	Actions []*model.Action
	// Bodies, when set, holds model.EncodeAction of each action, already
	// built by the caller (the ledger splices them together cheaply);
	// stores that keep encoded actions may use them instead of encoding.
	Bodies     [][]byte
	Mutations  []Mutation
	Checkpoint *model.Checkpoint // nil: no checkpoint in this batch
}

// Mutation is a change to the intent graph or plan archive committed
// together with the actions that record it, so the chain and the objects
// it describes never disagree.
type Mutation interface{ mutation() }

// PutIntent inserts or replaces an intent.
type PutIntent struct{ Intent *model.Intent }

// PutEdge inserts or replaces the edge (From, To, Type).
type PutEdge struct{ Edge *model.IntentEdge }

// PutPlan archives a plan under its content hash (a plan already archived
// under that hash is kept) or updates its status.
type PutPlan struct {
	Plan *model.Plan
	Hash string
}

func (PutIntent) mutation() {}
func (PutEdge) mutation()   {}
func (PutPlan) mutation()   {}

// ArchivedPlan is a plan with its content hash.
type ArchivedPlan struct {
	Hash string
	Plan *model.Plan
}

// ActionQuery selects actions; zero fields do not filter. Results are in
// Seq order, at most Limit (0: no limit); with Last set, the last Limit
// matching actions.
type ActionQuery struct {
	RunID, PlanID, IntentID string
	Type                    model.ActionType
	Name                    string // capability id or step name
	ParentID                string
	Since, Until            time.Time // Since <= timestamp < Until
	AfterSeq                uint64    // Seq > AfterSeq
	Limit                   int
	Last                    bool
}

// IntentQuery selects intents; zero fields do not filter.
type IntentQuery struct {
	Status      model.IntentStatus
	Text        string // substring of goal, name or original request (case-insensitive)
	MinPriority *int64
	Parent      string
	Limit       int
}

// EdgeQuery selects edges; zero fields do not filter.
type EdgeQuery struct {
	From, To string
	Type     model.EdgeType
}

// PlanQuery selects plans; zero fields do not filter.
type PlanQuery struct {
	PlanID   string
	IntentID string // any of the plan's intents
	Limit    int
}

// PackedScanner is implemented by stores that can hand out actions with
// even less work on the reading goroutine than RawScanner: most rows come
// packed in a store-specific form that UnpackAction (safe to call from
// any goroutine) turns into the RawAction that ScanRawActions would have
// returned for the row, so that verification can spread that work over
// every CPU too.
type PackedScanner interface {
	// ScanPackedActions calls fn for every action in storage order, like
	// RawScanner.ScanRawActions, with either packed (owned by fn, to be
	// given to UnpackAction) or raw set, until fn returns an error.
	ScanPackedActions(ctx context.Context, fn func(packed string, raw *RawAction) error) error
	// UnpackAction fills r from a row handed out packed by
	// ScanPackedActions, reusing r.Body's storage (so that a caller can
	// unpack into the same RawAction again once done with it).
	UnpackAction(packed string, r *RawAction) error
}

// Package plans is the plan archive (CCOS.md §1): plans stored
// content-addressed under model.HashPlan (SHA-256 of the canonical
// encoding without the status), looked up by hash, by plan id (latest
// version) and by intent.
//
// Archiving is recorded in the causal chain: a store mutation only ever
// rides on a ledger append, so Archive.Put records an InternalStep named
// "plan.archived" (metadata {:plan-id :hash :language}) carrying the
// PutPlan mutation. Putting content that is already archived records
// nothing and returns the same hash. A caller that wants the archiving to
// ride on an action of its own (the orchestrator's PlanStarted, say) uses
// Prepare to get the normalised plan, its hash and the mutation instead.
package plans

import (
	"context"
	"errors"
	"fmt"
	"regexp"
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

// ArchivedStep is the name of the InternalStep action that records Put.
const ArchivedStep = "plan.archived"

// LanguageRTFS is the default (and for now only checked) plan language.
const LanguageRTFS = "rtfs20"

// ErrValidation is wrapped by errors about invalid plans.
var ErrValidation = errors.New("invalid plan")

// Archive is the plan archive over a store. It is safe for concurrent use.
type Archive struct {
	st  store.Store
	rec Recorder
	now func() time.Time
	mu  sync.Mutex // makes Put's check-then-append atomic
}

// New returns an archive over st that records with rec.
func New(st store.Store, rec Recorder) *Archive {
	return &Archive{st: st, rec: rec, now: time.Now}
}

var planStatuses = []model.PlanStatus{
	model.PlanDraft, model.PlanActive, model.PlanPausedS, model.PlanCompleteS,
	model.PlanFailed, model.PlanAbortedS, model.PlanArchived,
}

// Prepare normalises a copy of p for archiving — language rtfs20, status
// draft and created_at now (millisecond UTC) when unset — validates it and
// returns it with its content hash and the store mutation that archives
// it. p is not modified.
func (a *Archive) Prepare(p *model.Plan) (*model.Plan, string, store.PutPlan, error) {
	if p == nil {
		return nil, "", store.PutPlan{}, fmt.Errorf("%w: nil plan", ErrValidation)
	}
	n := store.ClonePlan(p)
	if n.Language == "" {
		n.Language = LanguageRTFS
	}
	if n.Status == "" {
		n.Status = model.PlanDraft
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = a.now()
	}
	n.CreatedAt = model.Millis(n.CreatedAt)
	if err := validate(n); err != nil {
		return nil, "", store.PutPlan{}, err
	}
	h, err := model.HashPlan(n)
	if err != nil {
		return nil, "", store.PutPlan{}, fmt.Errorf("%w: %v", ErrValidation, err)
	}
	return n, h, store.PutPlan{Plan: n, Hash: h}, nil
}

func validate(p *model.Plan) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrValidation, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(p.ID) == "" {
		return bad("empty plan id")
	}
	valid := false
	for _, s := range planStatuses {
		valid = valid || p.Status == s
	}
	if !valid {
		return bad("unknown status %q", p.Status)
	}
	for _, id := range p.IntentIDs {
		if id == "" {
			return bad("empty intent id")
		}
	}
	if p.Language == LanguageRTFS {
		if _, err := syntax.Parse(p.ID, []byte(p.Body)); err != nil {
			return bad("body: %v", err)
		}
	}
	if _, err := model.EncodePlan(p); err != nil {
		return bad("%v", err)
	}
	return nil
}

// Put archives a plan and returns its content hash. Each of its intents
// must exist. Identical content (the status aside) is archived once: a
// second Put returns the same hash and records nothing.
func (a *Archive) Put(ctx context.Context, p *model.Plan) (string, error) {
	n, h, mut, err := a.Prepare(p)
	if err != nil {
		return "", err
	}
	for _, id := range n.IntentIDs {
		if _, err := a.st.Intent(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("%w: intent %s does not exist", ErrValidation, id)
			}
			return "", err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.st.PlanByHash(ctx, h); err == nil {
		return h, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	var primary string
	if len(n.IntentIDs) > 0 {
		primary = n.IntentIDs[0]
	}
	_, err = a.rec.Append(ctx, &model.Action{
		PlanID:   n.ID,
		IntentID: primary,
		Type:     model.InternalStep,
		Name:     ArchivedStep,
		Metadata: value.NewMap(
			value.Keyword("plan-id"), value.String(n.ID),
			value.Keyword("hash"), value.String(h),
			value.Keyword("language"), value.String(n.Language),
		),
	}, mut)
	if err != nil {
		return "", err
	}
	return h, nil
}

// ByHash returns the plan archived under hash.
func (a *Archive) ByHash(ctx context.Context, hash string) (*model.Plan, error) {
	p, err := a.st.PlanByHash(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", hash, err)
	}
	return p, nil
}

// ByID returns the latest archived version of the plan with this id.
func (a *Archive) ByID(ctx context.Context, id string) (store.ArchivedPlan, error) {
	ps, err := a.st.Plans(ctx, store.PlanQuery{PlanID: id, Limit: 1})
	if err != nil {
		return store.ArchivedPlan{}, err
	}
	if len(ps) == 0 {
		return store.ArchivedPlan{}, fmt.Errorf("plan %s: %w", id, store.ErrNotFound)
	}
	return ps[0], nil
}

// ForIntent returns the plans for an intent (any of a plan's intents),
// newest first.
func (a *Archive) ForIntent(ctx context.Context, intentID string) ([]store.ArchivedPlan, error) {
	return a.st.Plans(ctx, store.PlanQuery{IntentID: intentID})
}

// List returns the plans matching q, newest first.
func (a *Archive) List(ctx context.Context, q store.PlanQuery) ([]store.ArchivedPlan, error) {
	return a.st.Plans(ctx, q)
}

var hexPrefix = regexp.MustCompile(`^[0-9a-f]{6,64}$`)

// Find looks a plan up by plan id, by full hash, or by a unique prefix of
// at least 6 hex digits of its hash, in that order.
func (a *Archive) Find(ctx context.Context, ref string) (store.ArchivedPlan, error) {
	if ap, err := a.ByID(ctx, ref); err == nil {
		return ap, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ArchivedPlan{}, err
	}
	if !hexPrefix.MatchString(ref) {
		return store.ArchivedPlan{}, fmt.Errorf("plan %s: %w", ref, store.ErrNotFound)
	}
	if len(ref) == 64 {
		p, err := a.ByHash(ctx, ref)
		if err != nil {
			return store.ArchivedPlan{}, err
		}
		return store.ArchivedPlan{Hash: ref, Plan: p}, nil
	}
	all, err := a.st.Plans(ctx, store.PlanQuery{})
	if err != nil {
		return store.ArchivedPlan{}, err
	}
	var found []store.ArchivedPlan
	for _, ap := range all {
		if strings.HasPrefix(ap.Hash, ref) {
			found = append(found, ap)
		}
	}
	switch len(found) {
	case 0:
		return store.ArchivedPlan{}, fmt.Errorf("plan %s: %w", ref, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return store.ArchivedPlan{}, fmt.Errorf("plan hash prefix %s is ambiguous (%d plans)", ref, len(found))
}

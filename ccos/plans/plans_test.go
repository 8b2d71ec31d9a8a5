package plans

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/value"
)

func intent(t *testing.T, l *ledger.Ledger, id string) {
	t.Helper()
	now := model.Millis(time.Now())
	in := &model.Intent{ID: id, Goal: "g", OriginalRequest: "g", Status: model.IntentActive,
		TriggeredBy: model.TriggerHumanRequest, CreatedAt: now, UpdatedAt: now}
	if _, err := l.Append(context.Background(), &model.Action{Type: model.IntentCreated, IntentID: id}, store.PutIntent{Intent: in}); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, st store.Store) int {
	as, err := st.Actions(context.Background(), store.ActionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return len(as)
}

func TestPutIsContentAddressedAndIdempotent(t *testing.T) {
	ctx := context.Background()
	st, l, a := newArchive(t)
	intent(t, l, "intent-1")
	created := time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	p := &model.Plan{ID: "plan-a", IntentIDs: []string{"intent-1"}, Body: `(step "s" (call :ccos.echo "hi"))`,
		Policies: value.NewMap(value.Keyword("max-cost"), value.Int(5)), CreatedAt: created}
	h, err := a.Put(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	if p.Language != "" || p.Status != "" {
		t.Error("Put modified its argument")
	}
	n := count(t, st)
	if n != 2 {
		t.Fatalf("%d actions, want 2", n)
	}
	as, _ := st.Actions(ctx, store.ActionQuery{PlanID: "plan-a"})
	if len(as) != 1 || as[0].Type != model.InternalStep || as[0].Name != ArchivedStep || as[0].IntentID != "intent-1" {
		t.Fatalf("archiving recorded %+v", as)
	}
	if v, _ := as[0].Metadata.Get(value.Keyword("hash")); value.Str(v) != h {
		t.Errorf("recorded hash %s", value.Repr(v))
	}
	// Same content again (even with another status): same hash, nothing recorded.
	p2 := *p
	p2.Status = model.PlanActive
	h2, err := a.Put(ctx, &p2)
	if err != nil || h2 != h || count(t, st) != n {
		t.Fatalf("second put: %s %v, %d actions", h2, err, count(t, st))
	}
	got, err := a.ByHash(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if got.Language != LanguageRTFS || got.Status != model.PlanDraft || got.Body != p.Body {
		t.Errorf("stored %+v", got)
	}
	if hh, _ := model.HashPlan(got); hh != h {
		t.Errorf("stored plan hashes to %s, not %s", hh, h)
	}

	// A new version under the same id: ByID returns the latest.
	time.Sleep(2 * time.Millisecond)
	p3 := *p
	p3.Body = `(step "s" (call :ccos.echo "bye"))`
	p3.CreatedAt = created.Add(time.Second)
	h3, err := a.Put(ctx, &p3)
	if err != nil || h3 == h {
		t.Fatalf("new version: %s %v", h3, err)
	}
	latest, err := a.ByID(ctx, "plan-a")
	if err != nil || latest.Hash != h3 {
		t.Errorf("ByID = %v %v, want %s", latest.Hash, err, h3)
	}
	fi, err := a.ForIntent(ctx, "intent-1")
	if err != nil || len(fi) != 2 {
		t.Errorf("ForIntent = %v %v", fi, err)
	}
	if ap, err := a.Find(ctx, h[:10]); err != nil || ap.Hash != h {
		t.Errorf("Find prefix: %v %v", ap.Hash, err)
	}
	if ap, err := a.Find(ctx, h); err != nil || ap.Hash != h {
		t.Errorf("Find hash: %v %v", ap.Hash, err)
	}
	if ap, err := a.Find(ctx, "plan-a"); err != nil || ap.Hash != h3 {
		t.Errorf("Find id: %v %v", ap.Hash, err)
	}
	if _, err := a.Find(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Find missing: %v", err)
	}
	if _, err := a.ByHash(ctx, strings.Repeat("0", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ByHash missing: %v", err)
	}
}

func TestPutRejects(t *testing.T) {
	ctx := context.Background()
	st, l, a := newArchive(t)
	intent(t, l, "intent-1")
	n := count(t, st)
	for name, p := range map[string]*model.Plan{
		"no id":          {Body: "1"},
		"bad body":       {ID: "p", Body: "(step"},
		"missing intent": {ID: "p", Body: "1", IntentIDs: []string{"intent-2"}},
		"bad status":     {ID: "p", Body: "1", Status: "running"},
	} {
		if _, err := a.Put(ctx, p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if count(t, st) != n {
		t.Error("rejected plans were recorded")
	}
}

func TestPrepare(t *testing.T) {
	_, _, a := newArchive(t)
	p, h, mut, err := a.Prepare(&model.Plan{ID: "p", Body: "(+ 1 2)"})
	if err != nil {
		t.Fatal(err)
	}
	if mut.Plan != p || mut.Hash != h || p.CreatedAt.IsZero() || p.CreatedAt != model.Millis(p.CreatedAt) {
		t.Errorf("prepare: %+v %s %+v", p, h, mut)
	}
}

package intents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// legal is the state machine of CCOS.md §1, written out independently of
// model so that the test checks the service against the spec.
var legal = map[model.IntentStatus][]model.IntentStatus{
	"active":    {"executing", "suspended", "archived", "completed", "failed"},
	"executing": {"completed", "failed", "suspended", "active"},
	"failed":    {"active", "archived"},
	"suspended": {"active", "archived"},
	"completed": {"archived"},
	"archived":  {"active"},
}

var allStatuses = []model.IntentStatus{"active", "executing", "suspended", "archived", "completed", "failed"}

func isLegal(from, to model.IntentStatus) bool {
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}

func countActions(t *testing.T, st store.Store) int {
	t.Helper()
	as, err := st.Actions(context.Background(), store.ActionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return len(as)
}

func meta(a *model.Action, key string) value.Value {
	if a.Metadata == nil {
		return nil
	}
	v, _ := a.Metadata.Get(value.Keyword(key))
	return v
}

func TestEveryTransition(t *testing.T) {
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			name := fmt.Sprintf("%s->%s", from, to)
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				st, g := newGraph(t)
				in, err := g.Create(ctx, &model.Intent{Goal: "test " + name})
				if err != nil {
					t.Fatal(err)
				}
				if from != model.IntentActive {
					if _, _, err := g.SetStatus(ctx, in.ID, from, "setup", ""); err != nil {
						t.Fatalf("setup active->%s: %v", from, err)
					}
				}
				before, err := g.Get(ctx, in.ID)
				if err != nil {
					t.Fatal(err)
				}
				n := countActions(t, st)
				got, a, err := g.SetStatus(ctx, in.ID, to, "because", "")
				after, gerr := g.Get(ctx, in.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if !isLegal(from, to) {
					var te *model.TransitionError
					if !errors.As(err, &te) || te.From != from || te.To != to {
						t.Fatalf("illegal %s: err = %v, want *model.TransitionError", name, err)
					}
					if got != nil || a != nil {
						t.Errorf("illegal transition returned %v, %v", got, a)
					}
					if after.Status != from || !after.UpdatedAt.Equal(before.UpdatedAt) || after.Source != before.Source {
						t.Errorf("illegal transition changed the intent: %+v", after)
					}
					if m := countActions(t, st); m != n {
						t.Errorf("illegal transition appended %d actions", m-n)
					}
					return
				}
				if err != nil {
					t.Fatalf("legal %s: %v", name, err)
				}
				if got.Status != to || after.Status != to {
					t.Errorf("status = %s / stored %s, want %s", got.Status, after.Status, to)
				}
				if !strings.Contains(after.Source, ":status :"+string(to)) {
					t.Errorf("source not regenerated:\n%s", after.Source)
				}
				if m := countActions(t, st); m != n+1 {
					t.Fatalf("legal transition appended %d actions, want 1", m-n)
				}
				wantType := model.IntentStatusChanged
				switch {
				case to == model.IntentArchivedS:
					wantType = model.IntentArchived
				case from == model.IntentArchivedS:
					wantType = model.IntentReactivated
				}
				last, err := st.Actions(ctx, store.ActionQuery{IntentID: in.ID, Limit: 1, Last: true})
				if err != nil || len(last) != 1 {
					t.Fatalf("last action: %v %v", last, err)
				}
				rec := last[0]
				if rec.ActionID != a.ActionID || rec.Type != wantType || rec.IntentID != in.ID {
					t.Errorf("recorded %s %s for %s, want %s", rec.ActionID, rec.Type, rec.IntentID, wantType)
				}
				for k, want := range map[string]value.Value{
					"old-status": value.String(from), "new-status": value.String(to),
					"reason": value.String("because"), "triggering-action-id": nil,
				} {
					if got := meta(rec, k); !value.Equal(got, want) {
						t.Errorf("metadata %s = %s, want %s", k, value.Repr(got), value.Repr(want))
					}
				}
			})
		}
	}
}

func TestSetStatusErrors(t *testing.T) {
	ctx := context.Background()
	st, g := newGraph(t)
	in, err := g.Create(ctx, &model.Intent{Goal: "g"})
	if err != nil {
		t.Fatal(err)
	}
	n := countActions(t, st)
	if _, _, err := g.SetStatus(ctx, in.ID, "bogus", "", ""); !errors.Is(err, ErrValidation) {
		t.Errorf("unknown status: %v", err)
	}
	if _, _, err := g.SetStatus(ctx, "intent-missing", model.IntentExecuting, "", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing intent: %v", err)
	}
	if _, _, err := g.SetStatus(ctx, in.ID, model.IntentExecuting, "", "no-such-action"); !errors.Is(err, ErrValidation) {
		t.Errorf("missing triggering action: %v", err)
	}
	if m := countActions(t, st); m != n {
		t.Errorf("failed calls appended %d actions", m-n)
	}
	// A real triggering action is recorded as metadata and parent.
	created, _ := st.Actions(ctx, store.ActionQuery{IntentID: in.ID, Type: model.IntentCreated})
	_, a, err := g.SetStatus(ctx, in.ID, model.IntentExecuting, "plan started", created[0].ActionID)
	if err != nil {
		t.Fatal(err)
	}
	if got := meta(a, "triggering-action-id"); !value.Equal(got, value.String(created[0].ActionID)) || a.ParentActionID != created[0].ActionID {
		t.Errorf("triggering action not recorded: %s %q", value.Repr(got), a.ParentActionID)
	}
}

func TestConcurrentStatusChangesAreSerialised(t *testing.T) {
	ctx := context.Background()
	st, g := newGraph(t)
	in, err := g.Create(ctx, &model.Intent{Goal: "race"})
	if err != nil {
		t.Fatal(err)
	}
	// active -> completed is legal once; afterwards completed -> completed
	// is not. Exactly one of many concurrent attempts may win.
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := g.SetStatus(ctx, in.ID, model.IntentCompleted, "done", ""); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent transitions succeeded, want 1", wins)
	}
	as, _ := st.Actions(ctx, store.ActionQuery{IntentID: in.ID, Type: model.IntentStatusChanged})
	if len(as) != 1 {
		t.Errorf("%d IntentStatusChanged actions, want 1", len(as))
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	st, g := newGraph(t)
	cons := value.NewMap(value.Keyword("max-cost"), value.Int(10), value.Keyword("region"), value.String("eu"))
	in := &model.Intent{Name: "report", Goal: "write the \"weekly\" report", Constraints: cons, Priority: 3,
		SuccessCriteria: "(fn [result] (string? result))"}
	got, err := g.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != "" || in.Status != "" {
		t.Error("Create modified its argument")
	}
	if !strings.HasPrefix(got.ID, "intent-") || got.Status != model.IntentActive || got.TriggeredBy != model.TriggerHumanRequest ||
		got.OriginalRequest != got.Goal || got.CreatedAt.IsZero() || !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Errorf("defaults not filled: %+v", got)
	}
	stored, err := g.Get(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := model.EncodeIntent(got)
	b2, _ := model.EncodeIntent(stored)
	if string(b1) != string(b2) {
		t.Errorf("stored intent differs:\n%s\n%s", b1, b2)
	}
	// The source reads back and carries the fields.
	forms, err := syntax.Parse("src", []byte(stored.Source))
	if err != nil || len(forms) != 1 {
		t.Fatalf("source does not read back: %v\n%s", err, stored.Source)
	}
	for _, want := range []string{`(intent "report"`, `:goal "write the \"weekly\" report"`, `:constraints {:max-cost 10 :region "eu"}`,
		`:success-criteria (fn [result] (string? result))`, `:status :active`, `:priority 3`} {
		if !strings.Contains(stored.Source, want) {
			t.Errorf("source lacks %s:\n%s", want, stored.Source)
		}
	}
	as, _ := st.Actions(ctx, store.ActionQuery{IntentID: got.ID})
	if len(as) != 1 || as[0].Type != model.IntentCreated || as[0].Name != "report" {
		t.Fatalf("recorded %v", as)
	}

	for name, bad := range map[string]*model.Intent{
		"no goal":         {Goal: "  "},
		"bad status":      {Goal: "g", Status: model.IntentCompleted},
		"bad trigger":     {Goal: "g", TriggeredBy: "magic"},
		"missing parent":  {Goal: "g", ParentIntent: "intent-nope"},
		"bad criteria":    {Goal: "g", SuccessCriteria: "(fn [r]"},
		"two criteria":    {Goal: "g", SuccessCriteria: "(fn [r] 1) (fn [r] 2)"},
		"duplicate id":    {ID: got.ID, Goal: "g"},
		"unbounded value": {Goal: "g", Constraints: value.NewMap(value.Keyword("x"), &value.Repeat{X: value.Int(1)})},
	} {
		n := countActions(t, st)
		if _, err := g.Create(ctx, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if m := countActions(t, st); m != n {
			t.Errorf("%s: appended %d actions", name, m-n)
		}
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	st, g := newGraph(t)
	in, _ := g.Create(ctx, &model.Intent{Goal: "g", Priority: 1})
	n := countActions(t, st)
	got, err := g.Update(ctx, in.ID, func(x *model.Intent) error {
		x.Priority = 5
		x.Name = "named"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Priority != 5 || got.Name != "named" || !strings.Contains(got.Source, `(intent "named"`) {
		t.Errorf("update not applied: %+v", got)
	}
	as, _ := st.Actions(ctx, store.ActionQuery{IntentID: in.ID, Last: true, Limit: 1})
	if countActions(t, st) != n+1 || as[0].Type != model.InternalStep || as[0].Name != UpdatedStep ||
		value.Repr(meta(as[0], "fields")) != "[:name :priority]" {
		t.Errorf("update recorded %+v", as[0])
	}
	// No change: nothing recorded.
	if _, err := g.Update(ctx, in.ID, func(*model.Intent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for name, fn := range map[string]func(*model.Intent) error{
		"status": func(x *model.Intent) error { x.Status = model.IntentCompleted; return nil },
		"id":     func(x *model.Intent) error { x.ID = "intent-other"; return nil },
		"parent": func(x *model.Intent) error { x.ParentIntent = "intent-other"; return nil },
		"goal":   func(x *model.Intent) error { x.Goal = ""; return nil },
		"fn err": func(*model.Intent) error { return errors.New("no") },
	} {
		if _, err := g.Update(ctx, in.ID, fn); err == nil {
			t.Errorf("update of %s accepted", name)
		}
	}
	if countActions(t, st) != n+1 {
		t.Errorf("refused updates were recorded")
	}
	if x, _ := g.Get(ctx, in.ID); x.Status != model.IntentActive || x.Goal != "g" {
		t.Errorf("refused update applied: %+v", x)
	}
}

func TestEdgesAndAncestry(t *testing.T) {
	ctx := context.Background()
	st, g := newGraph(t)
	root, _ := g.Create(ctx, &model.Intent{Goal: "root"})
	mid, err := g.Create(ctx, &model.Intent{Goal: "mid", ParentIntent: root.ID})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := g.Create(ctx, &model.Intent{Goal: "leaf", ParentIntent: mid.ID})
	other, _ := g.Create(ctx, &model.Intent{Goal: "other"})

	es, _ := g.Edges(ctx, store.EdgeQuery{From: mid.ID})
	if len(es) != 1 || es[0].To != root.ID || es[0].Type != model.EdgeIsSubgoalOf {
		t.Errorf("create with parent made edges %v", es)
	}
	p, err := g.Parent(ctx, leaf.ID)
	if err != nil || p.ID != mid.ID {
		t.Errorf("parent of leaf = %v, %v", p, err)
	}
	if p, err := g.Parent(ctx, root.ID); p != nil || err != nil {
		t.Errorf("parent of root = %v, %v", p, err)
	}
	anc, err := g.Ancestors(ctx, leaf.ID)
	if err != nil || len(anc) != 2 || anc[0].ID != mid.ID || anc[1].ID != root.ID {
		t.Errorf("ancestors = %v, %v", anc, err)
	}

	// is-subgoal-of by edge sets the parent of a parentless intent.
	if _, err := g.AddEdge(ctx, other.ID, root.ID, model.EdgeIsSubgoalOf, nil); err != nil {
		t.Fatal(err)
	}
	if x, _ := g.Get(ctx, other.ID); x.ParentIntent != root.ID {
		t.Errorf("edge did not set parent: %q", x.ParentIntent)
	}
	kids, err := g.Children(ctx, root.ID)
	if err != nil || len(kids) != 2 {
		t.Errorf("children of root = %v, %v", kids, err)
	}

	w := 0.5
	e, err := g.AddEdge(ctx, leaf.ID, other.ID, model.EdgeDependsOn, &w)
	if err != nil || *e.Weight != 0.5 {
		t.Fatalf("depends-on: %v %v", e, err)
	}
	w2 := 0.75
	if _, err := g.AddEdge(ctx, leaf.ID, other.ID, model.EdgeDependsOn, &w2); err != nil {
		t.Fatal(err)
	}
	es, _ = g.Edges(ctx, store.EdgeQuery{From: leaf.ID, Type: model.EdgeDependsOn})
	if len(es) != 1 || *es[0].Weight != 0.75 {
		t.Errorf("edge not replaced: %v", es)
	}
	created, _ := st.Actions(ctx, store.ActionQuery{Type: model.IntentRelationshipCreated})
	modified, _ := st.Actions(ctx, store.ActionQuery{Type: model.IntentRelationshipModified})
	if len(created) != 2 || len(modified) != 1 {
		t.Errorf("recorded %d created, %d modified", len(created), len(modified))
	}
	if m := modified[0]; value.Repr(meta(m, "weight")) != "0.75" || value.Str(meta(m, "type")) != "depends-on" {
		t.Errorf("modified metadata %s", value.Repr(m.Metadata))
	}

	n := countActions(t, st)
	nan := 0.0
	nan = nan / nan
	for name, c := range map[string]struct {
		from, to string
		typ      model.EdgeType
		w        *float64
	}{
		"cycle subgoal": {root.ID, leaf.ID, model.EdgeIsSubgoalOf, nil},
		"cycle depends": {other.ID, leaf.ID, model.EdgeDependsOn, nil},
		"self":          {root.ID, root.ID, model.EdgeRelatedTo, nil},
		"bad type":      {root.ID, leaf.ID, "likes", nil},
		"missing from":  {"intent-x", leaf.ID, model.EdgeBlocks, nil},
		"missing to":    {root.ID, "intent-x", model.EdgeBlocks, nil},
		"non-finite":    {root.ID, leaf.ID, model.EdgeEnables, &nan},
	} {
		if _, err := g.AddEdge(ctx, c.from, c.to, c.typ, c.w); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if countActions(t, st) != n {
		t.Errorf("refused edges were recorded")
	}
	// Edges of acyclic types may point back along other types.
	if _, err := g.AddEdge(ctx, root.ID, leaf.ID, model.EdgeRelatedTo, nil); err != nil {
		t.Errorf("related-to back edge: %v", err)
	}
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	_, g := newGraph(t)
	a, _ := g.Create(ctx, &model.Intent{Goal: "Analyse sales"})
	time.Sleep(2 * time.Millisecond) // distinct created_at: lists are newest first
	b, _ := g.Create(ctx, &model.Intent{Goal: "write poem", ParentIntent: a.ID})
	g.SetStatus(ctx, b.ID, model.IntentSuspended, "", "")
	for name, c := range map[string]struct {
		q    store.IntentQuery
		want []string
	}{
		"all":    {store.IntentQuery{}, []string{b.ID, a.ID}},
		"status": {store.IntentQuery{Status: model.IntentSuspended}, []string{b.ID}},
		"text":   {store.IntentQuery{Text: "SALES"}, []string{a.ID}},
		"parent": {store.IntentQuery{Parent: a.ID}, []string{b.ID}},
		"limit":  {store.IntentQuery{Limit: 1}, []string{b.ID}},
	} {
		got, err := g.List(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
		}
		if strings.Join(ids, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", name, ids, c.want)
		}
	}
}

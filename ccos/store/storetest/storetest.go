// Package storetest is the conformance test suite of store.Store: every
// implementation calls Run from its tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/value"
)

// T0 is the base time of the fixtures.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// NewAction returns a hashed action with the given seq linked to prev
// (nil for the first), with a few fields filled from seq.
func NewAction(t testing.TB, seq uint64, prev *model.Action, mod func(*model.Action)) *model.Action {
	t.Helper()
	a := &model.Action{
		Seq:       seq,
		ActionID:  fmt.Sprintf("act-%d", seq),
		RunID:     fmt.Sprintf("run-%d", seq%3),
		PlanID:    fmt.Sprintf("plan-%d", seq%2),
		IntentID:  "intent-1",
		Type:      model.CapabilityCall,
		Name:      "ccos.echo",
		Args:      value.NewVector(value.Int(int64(seq)), value.String("x")),
		Timestamp: T0.Add(time.Duration(seq) * time.Second),
	}
	if prev != nil {
		a.PrevHash = prev.Hash
	}
	if mod != nil {
		mod(a)
	}
	h, err := model.HashAction(a)
	if err != nil {
		t.Fatal(err)
	}
	a.Hash = h
	return a
}

// Chain returns n linked actions with seqs from..from+n-1, after prev.
func Chain(t testing.TB, from uint64, n int, prev *model.Action, mod func(*model.Action)) []*model.Action {
	t.Helper()
	out := make([]*model.Action, n)
	for i := range out {
		out[i] = NewAction(t, from+uint64(i), prev, mod)
		prev = out[i]
	}
	return out
}

func encAction(t testing.TB, a *model.Action) string {
	t.Helper()
	if a == nil {
		return "<nil>"
	}
	b, err := model.EncodeAction(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encIntent(t testing.TB, in *model.Intent) string {
	t.Helper()
	b, err := model.EncodeIntent(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encPlan(t testing.TB, p *model.Plan) string {
	t.Helper()
	b, err := model.EncodePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encEdge(t testing.TB, e *model.IntentEdge) string {
	t.Helper()
	b, err := model.EncodeEdge(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameActions(t testing.TB, what string, got, want []*model.Action) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d actions %v, want %d %v", what, len(got), seqs(got), len(want), seqs(want))
		return
	}
	for i := range got {
		if g, w := encAction(t, got[i]), encAction(t, want[i]); g != w {
			t.Errorf("%s: action %d:\n got %s\nwant %s", what, i, g, w)
		}
	}
}

func seqs(as []*model.Action) []uint64 {
	out := make([]uint64, len(as))
	for i, a := range as {
		out[i] = a.Seq
	}
	return out
}

func commit(t testing.TB, s store.Store, b *store.Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func scanAll(t testing.TB, s store.Store, from uint64) []*model.Action {
	t.Helper()
	var out []*model.Action
	if err := s.ScanActions(context.Background(), from, func(a *model.Action) error {
		out = append(out, a)
		return nil
	}); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// RichAction returns an action using every field of model.Action.
func RichAction(t testing.TB, seq uint64, prev *model.Action) *model.Action {
	return NewAction(t, seq, prev, func(a *model.Action) {
		cost, dur := 0.1+float64(seq), int64(seq*7)
		a.ParentActionID = "act-parent"
		a.Type = model.CapabilityResult
		a.Args = value.NewVector(value.Float(1.5), value.Keyword("k"), value.NewMap(value.Keyword("a"), value.NewSet(value.Int(1), value.Int(2))),
			value.ListFromSlice([]value.Value{value.Symbol("s"), nil, value.Bool(true)}), value.String("é\n\"\x01"), value.String("bad\xffutf8"),
			value.Timestamp("2026-01-01T00:00:00Z"), value.UUID("550e8400-e29b-41d4-a716-446655440000"), &value.Resource{Name: "db"})
		a.Result = &model.Result{Success: false, Value: value.Int(-3), Error: &model.ErrorInfo{Type: "io", Message: "boom", Data: value.NewMap(value.Keyword("code"), value.Int(5))}}
		a.Cost = &cost
		a.DurationMs = &dur
		a.Metadata = value.NewMap(value.Keyword("old_status"), value.String("active"), value.String("n"), value.Float(-0.0))
	})
}

// Intent returns an intent fixture.
func Intent(id, goal string, prio int64, created time.Time, mod func(*model.Intent)) *model.Intent {
	in := &model.Intent{
		ID: id, Name: "name-" + id, OriginalRequest: "please " + goal, Goal: goal,
		Status: model.IntentActive, Priority: prio, TriggeredBy: model.TriggerHumanRequest,
		CreatedAt: created, UpdatedAt: created,
	}
	if mod != nil {
		mod(in)
	}
	return in
}

// Plan returns a plan fixture and its hash.
func Plan(t testing.TB, id string, intents []string, created time.Time, body string) (*model.Plan, string) {
	t.Helper()
	p := &model.Plan{ID: id, IntentIDs: intents, Language: "rtfs20", Body: body, Status: model.PlanDraft,
		Policies: value.NewMap(value.Keyword("max-cost"), value.Float(2)), CapabilitiesRequired: []string{"ccos.echo"}, CreatedAt: created}
	h, err := model.HashPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// Run runs the conformance suite; open returns a new, empty store for each
// subtest (closing it is up to open, e.g. with t.Cleanup; Run may close it
// first).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		a, c, err := s.Head(ctx)
		if a != nil || c != nil || err != nil {
			t.Errorf("Head of empty store = %v, %v, %v", a, c, err)
		}
		if got := scanAll(t, s, 0); len(got) != 0 {
			t.Errorf("scan of empty store: %v", seqs(got))
		}
		if _, err := s.Action(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Action(nope) = %v, want ErrNotFound", err)
		}
		if _, err := s.Intent(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Intent(nope) = %v, want ErrNotFound", err)
		}
		if _, err := s.PlanByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PlanByHash(nope) = %v, want ErrNotFound", err)
		}
		if got, err := s.Actions(ctx, store.ActionQuery{}); err != nil || len(got) != 0 {
			t.Errorf("Actions = %v, %v", got, err)
		}
		if got, err := s.Intents(ctx, store.IntentQuery{}); err != nil || len(got) != 0 {
			t.Errorf("Intents = %v, %v", got, err)
		}
		if got, err := s.Edges(ctx, store.EdgeQuery{}); err != nil || len(got) != 0 {
			t.Errorf("Edges = %v, %v", got, err)
		}
		if got, err := s.Plans(ctx, store.PlanQuery{}); err != nil || len(got) != 0 {
			t.Errorf("Plans = %v, %v", got, err)
		}
		n := 0
		if err := s.ScanCheckpoints(ctx, func(*model.Checkpoint) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("ScanCheckpoints: %d, %v", n, err)
		}
	})

	t.Run("CommitHeadScan", func(t *testing.T) {
		s := open(t)
		b1 := Chain(t, 1, 3, nil, nil)
		cp1 := &model.Checkpoint{Seq: 3, HeadHash: b1[2].Hash, Time: T0, KeyID: "k1", Signature: []byte{1, 2, 3}}
		commit(t, s, &store.Batch{Actions: b1, Checkpoint: cp1})
		a, c, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sameActions(t, "head", []*model.Action{a}, b1[2:])
		if c == nil || c.Seq != 3 || c.HeadHash != cp1.HeadHash || !c.Time.Equal(T0) || c.KeyID != "k1" || string(c.Signature) != "\x01\x02\x03" {
			t.Errorf("head checkpoint = %+v", c)
		}
		b2 := Chain(t, 4, 2, b1[2], nil)
		commit(t, s, &store.Batch{Actions: b2})
		a, c, _ = s.Head(ctx)
		sameActions(t, "head", []*model.Action{a}, b2[1:])
		if c == nil || c.Seq != 3 {
			t.Errorf("head checkpoint after a batch without one = %+v", c)
		}
		cp2 := &model.Checkpoint{Seq: 5, HeadHash: b2[1].Hash, Time: T0.Add(time.Second), KeyID: "k1", Signature: []byte{9}}
		commit(t, s, &store.Batch{Checkpoint: cp2}) // a checkpoint alone
		if _, c, _ = s.Head(ctx); c == nil || c.Seq != 5 {
			t.Errorf("head checkpoint = %+v, want seq 5", c)
		}
		var cps []uint64
		if err := s.ScanCheckpoints(ctx, func(c *model.Checkpoint) error { cps = append(cps, c.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cps) != "[3 5]" {
			t.Errorf("checkpoints = %v", cps)
		}
		all := append(append([]*model.Action{}, b1...), b2...)
		sameActions(t, "scan", scanAll(t, s, 0), all)
		sameActions(t, "scan from 4", scanAll(t, s, 4), b2)
		sameActions(t, "scan from 99", scanAll(t, s, 99), nil)
		stop := errors.New("stop")
		n := 0
		err = s.ScanActions(ctx, 0, func(*model.Action) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("scan stopped with %v after %d actions", err, n)
		}
		got, err := s.Action(ctx, "act-4")
		if err != nil {
			t.Fatal(err)
		}
		sameActions(t, "Action(act-4)", []*model.Action{got}, b2[:1])
	})

	t.Run("RoundTripExact", func(t *testing.T) {
		s := open(t)
		a1 := RichAction(t, 1, nil)
		a2 := RichAction(t, 2, a1)
		a2.Result = &model.Result{Success: true} // no value, no error
		a2.Metadata = value.NewMap()
		a2.Hash, _ = model.HashAction(a2)
		commit(t, s, &store.Batch{Actions: []*model.Action{a1, a2}})
		got := scanAll(t, s, 0)
		sameActions(t, "scan", got, []*model.Action{a1, a2})
		for _, g := range got {
			if h, err := model.HashAction(g); err != nil || h != g.Hash {
				t.Errorf("seq %d: recomputed hash %s (%v), stored %s", g.Seq, h, err, g.Hash)
			}
			if g.Timestamp.Location() != time.UTC {
				t.Errorf("seq %d: timestamp not UTC: %v", g.Seq, g.Timestamp)
			}
		}
	})

	t.Run("GapRejectedAtomically", func(t *testing.T) {
		s := open(t)
		in := Intent("i-bad", "bad", 1, T0, nil)
		p, h := Plan(t, "p-bad", []string{"i-bad"}, T0, "(bad)")
		muts := []store.Mutation{
			store.PutIntent{Intent: in},
			store.PutEdge{Edge: &model.IntentEdge{From: "i-bad", To: "i-x", Type: model.EdgeDependsOn}},
			store.PutPlan{Plan: p, Hash: h},
		}
		cp := &model.Checkpoint{Seq: 2, HeadHash: "h", Time: T0, KeyID: "k"}
		for _, bad := range [][]*model.Action{
			Chain(t, 2, 2, nil, nil),                               // must start at 1
			Chain(t, 0, 2, nil, nil),                               // seq 0
			{NewAction(t, 1, nil, nil), NewAction(t, 3, nil, nil)}, // inner gap
			{NewAction(t, 1, nil, nil), NewAction(t, 1, nil, nil)}, // repeated seq
		} {
			err := s.Commit(ctx, &store.Batch{Actions: bad, Mutations: muts, Checkpoint: cp})
			if err == nil {
				t.Fatalf("batch %v accepted", seqs(bad))
			}
			if !errors.Is(err, store.ErrSeqGap) {
				t.Errorf("batch %v: error %v is not ErrSeqGap", seqs(bad), err)
			}
		}
		good := Chain(t, 1, 2, nil, nil)
		commit(t, s, &store.Batch{Actions: good})
		for _, bad := range [][]*model.Action{
			Chain(t, 2, 1, nil, nil), Chain(t, 4, 1, nil, nil), Chain(t, 1, 3, nil, nil),
		} {
			if err := s.Commit(ctx, &store.Batch{Actions: bad, Mutations: muts, Checkpoint: cp}); !errors.Is(err, store.ErrSeqGap) {
				t.Errorf("batch %v after head 2: %v, want ErrSeqGap", seqs(bad), err)
			}
		}
		// A duplicate action id (right seq) is rejected too, atomically.
		dup := NewAction(t, 3, good[1], func(a *model.Action) { a.ActionID = "act-1" })
		if err := s.Commit(ctx, &store.Batch{Actions: []*model.Action{dup}, Mutations: muts, Checkpoint: cp}); err == nil {
			t.Errorf("duplicate action id accepted")
		}
		sameActions(t, "after rejected batches", scanAll(t, s, 0), good)
		if _, err := s.Intent(ctx, "i-bad"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("intent of a rejected batch stored: %v", err)
		}
		if _, err := s.PlanByHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("plan of a rejected batch stored: %v", err)
		}
		if es, _ := s.Edges(ctx, store.EdgeQuery{}); len(es) != 0 {
			t.Errorf("edge of a rejected batch stored")
		}
		if _, c, _ := s.Head(ctx); c != nil {
			t.Errorf("checkpoint of a rejected batch stored: %+v", c)
		}
		a, _, _ := s.Head(ctx)
		if a == nil || a.Seq != 2 {
			t.Errorf("head after rejected batches = %v", a)
		}
		// The chain continues normally.
		commit(t, s, &store.Batch{Actions: Chain(t, 3, 1, good[1], nil), Mutations: muts, Checkpoint: &model.Checkpoint{Seq: 3, HeadHash: "h", Time: T0, KeyID: "k"}})
		if _, err := s.Intent(ctx, "i-bad"); err != nil {
			t.Errorf("intent of an accepted batch: %v", err)
		}
	})

	t.Run("LargeBatch", func(t *testing.T) {
		s := open(t)
		as := Chain(t, 1, 5000, nil, nil)
		commit(t, s, &store.Batch{Actions: as[:4000]})
		commit(t, s, &store.Batch{Actions: as[4000:]})
		got := scanAll(t, s, 0)
		if len(got) != 5000 || got[4999].Seq != 5000 || got[0].Hash != as[0].Hash {
			t.Errorf("scan after large batches: %d actions", len(got))
		}
	})

	t.Run("Copies", func(t *testing.T) {
		s := open(t)
		a := RichAction(t, 1, nil)
		want := encAction(t, a)
		in := Intent("i1", "g", 1, T0, nil)
		p, h := Plan(t, "p1", []string{"i1"}, T0, "(x)")
		w := 1.0
		e := &model.IntentEdge{From: "a", To: "b", Type: model.EdgeBlocks, Weight: &w}
		cp := &model.Checkpoint{Seq: 1, HeadHash: a.Hash, Time: T0, KeyID: "k", Signature: []byte{7}}
		commit(t, s, &store.Batch{Actions: []*model.Action{a}, Checkpoint: cp, Mutations: []store.Mutation{
			store.PutIntent{Intent: in}, store.PutPlan{Plan: p, Hash: h}, store.PutEdge{Edge: e}}})
		// Mutating the inputs after Commit changes nothing stored.
		a.Name, *a.Cost, a.Result.Error.Message = "changed", 99, "changed"
		in.Goal = "changed"
		p.IntentIDs[0], p.CapabilitiesRequired[0] = "changed", "changed"
		*e.Weight = 5
		cp.Signature[0] = 0
		// Nor does mutating what reads return.
		got, _ := s.Action(ctx, "act-1")
		got.Name, *got.Cost, got.Result.Error.Message = "changed2", 98, "changed2"
		gi, _ := s.Intent(ctx, "i1")
		gi.Goal = "changed2"
		gp, _ := s.PlanByHash(ctx, h)
		gp.IntentIDs[0] = "changed2"
		ge, _ := s.Edges(ctx, store.EdgeQuery{})
		*ge[0].Weight = 6
		_, gc, _ := s.Head(ctx)
		gc.Signature[0] = 1

		got, _ = s.Action(ctx, "act-1")
		if g := encAction(t, got); g != want {
			t.Errorf("stored action changed:\n got %s\nwant %s", g, want)
		}
		if gi, _ := s.Intent(ctx, "i1"); gi.Goal != "g" {
			t.Errorf("stored intent changed: %q", gi.Goal)
		}
		if gp, _ := s.PlanByHash(ctx, h); gp.IntentIDs[0] != "i1" || gp.CapabilitiesRequired[0] != "ccos.echo" {
			t.Errorf("stored plan changed: %v %v", gp.IntentIDs, gp.CapabilitiesRequired)
		}
		if ge, _ := s.Edges(ctx, store.EdgeQuery{}); *ge[0].Weight != 1 {
			t.Errorf("stored edge changed: %v", *ge[0].Weight)
		}
		if _, gc, _ := s.Head(ctx); gc.Signature[0] != 7 {
			t.Errorf("stored checkpoint changed: %v", gc.Signature)
		}
	})

	t.Run("ActionQueries", func(t *testing.T) {
		s := open(t)
		as := Chain(t, 1, 12, nil, func(a *model.Action) {
			switch a.Seq % 4 {
			case 0:
				a.Type, a.Name = model.PlanStepStarted, "fetch"
			case 1:
				a.Type, a.Name, a.ParentActionID = model.CapabilityCall, "ccos.math.add", "act-4"
			case 2:
				a.Type, a.IntentID = model.LogStep, "intent-2"
			}
		})
		commit(t, s, &store.Batch{Actions: as[:5]})
		commit(t, s, &store.Batch{Actions: as[5:]})
		pick := func(f func(a *model.Action) bool) []*model.Action {
			var out []*model.Action
			for _, a := range as {
				if f(a) {
					out = append(out, a)
				}
			}
			return out
		}
		at := func(sec int) time.Time { return T0.Add(time.Duration(sec) * time.Second) }
		tests := []struct {
			name string
			q    store.ActionQuery
			want []*model.Action
		}{
			{"all", store.ActionQuery{}, as},
			{"run", store.ActionQuery{RunID: "run-1"}, pick(func(a *model.Action) bool { return a.Seq%3 == 1 })},
			{"plan", store.ActionQuery{PlanID: "plan-0"}, pick(func(a *model.Action) bool { return a.Seq%2 == 0 })},
			{"intent", store.ActionQuery{IntentID: "intent-2"}, pick(func(a *model.Action) bool { return a.Seq%4 == 2 })},
			{"type", store.ActionQuery{Type: model.PlanStepStarted}, pick(func(a *model.Action) bool { return a.Seq%4 == 0 })},
			{"name", store.ActionQuery{Name: "ccos.math.add"}, pick(func(a *model.Action) bool { return a.Seq%4 == 1 })},
			{"parent", store.ActionQuery{ParentID: "act-4"}, pick(func(a *model.Action) bool { return a.Seq%4 == 1 })},
			{"type+run", store.ActionQuery{Type: model.CapabilityCall, RunID: "run-0"}, pick(func(a *model.Action) bool {
				return a.Type == model.CapabilityCall && a.Seq%3 == 0
			})},
			{"since", store.ActionQuery{Since: at(10)}, as[9:]},
			{"until", store.ActionQuery{Until: at(3)}, as[:2]},
			{"range", store.ActionQuery{Since: at(4), Until: at(7)}, as[3:6]},
			{"sub-ms since", store.ActionQuery{Since: at(4).Add(time.Microsecond)}, as[4:]},
			{"sub-ms until", store.ActionQuery{Until: at(4).Add(time.Microsecond)}, as[:4]},
			{"after seq", store.ActionQuery{AfterSeq: 9}, as[9:]},
			{"limit", store.ActionQuery{Limit: 3}, as[:3]},
			{"last", store.ActionQuery{Limit: 3, Last: true}, as[9:]},
			{"last without limit", store.ActionQuery{Last: true}, as},
			{"limit+filter", store.ActionQuery{PlanID: "plan-1", Limit: 2}, []*model.Action{as[0], as[2]}},
			{"last+filter", store.ActionQuery{PlanID: "plan-1", Limit: 2, Last: true}, []*model.Action{as[8], as[10]}},
			{"no match", store.ActionQuery{RunID: "nope"}, nil},
		}
		for _, tt := range tests {
			got, err := s.Actions(ctx, tt.q)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			sameActions(t, tt.name, got, tt.want)
		}
	})

	t.Run("Intents", func(t *testing.T) {
		s := open(t)
		one, five := int64(1), int64(5)
		i1 := Intent("i1", "Fetch the WEATHER", 1, T0, func(in *model.Intent) {
			in.Constraints = value.NewMap(value.Keyword("max-cost"), value.Float(10))
			in.Preferences = value.NewMap(value.Keyword("lang"), value.String("fr"))
			in.SuccessCriteria = "(fn [r] (> r 0))"
			in.GenerationContext = value.NewMap(value.Keyword("model"), value.String("m"))
			in.Metadata = value.NewMap()
			in.Source = `(intent "i1")`
			in.UpdatedAt = T0.Add(time.Hour)
		})
		i2 := Intent("i2", "summarise", 5, T0.Add(time.Minute), func(in *model.Intent) {
			in.ParentIntent, in.Name, in.Status = "i1", "Ünïcode Name", model.IntentExecuting
		})
		i3 := Intent("i3", "other", 3, T0.Add(time.Minute), func(in *model.Intent) {
			in.ParentIntent, in.OriginalRequest = "i1", "about the weather"
		})
		i4 := Intent("i4", "later", 0, T0.Add(2*time.Minute), nil)
		commit(t, s, &store.Batch{Mutations: []store.Mutation{
			store.PutIntent{Intent: i1}, &store.PutIntent{Intent: i2}, store.PutIntent{Intent: i3}, store.PutIntent{Intent: i4}}})
		got, err := s.Intent(ctx, "i1")
		if err != nil {
			t.Fatal(err)
		}
		if g, w := encIntent(t, got), encIntent(t, i1); g != w {
			t.Errorf("intent round trip:\n got %s\nwant %s", g, w)
		}
		tests := []struct {
			name string
			q    store.IntentQuery
			want string
		}{
			{"all newest first", store.IntentQuery{}, "i4 i2 i3 i1"},
			{"status", store.IntentQuery{Status: model.IntentExecuting}, "i2"},
			{"text goal", store.IntentQuery{Text: "weather"}, "i3 i1"},
			{"text case", store.IntentQuery{Text: "wEaThEr"}, "i3 i1"},
			{"text name unicode", store.IntentQuery{Text: "ünÏcode"}, "i2"},
			{"text name", store.IntentQuery{Text: "NAME-I4"}, "i4"},
			{"min priority", store.IntentQuery{MinPriority: &five}, "i2"},
			{"min priority 1", store.IntentQuery{MinPriority: &one}, "i2 i3 i1"},
			{"parent", store.IntentQuery{Parent: "i1"}, "i2 i3"},
			{"limit", store.IntentQuery{Limit: 2}, "i4 i2"},
			{"combined", store.IntentQuery{Parent: "i1", Text: "weather", Limit: 1}, "i3"},
			{"none", store.IntentQuery{Text: "zzz"}, ""},
		}
		for _, tt := range tests {
			got, err := s.Intents(ctx, tt.q)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			ids := ""
			for i, in := range got {
				if i > 0 {
					ids += " "
				}
				ids += in.ID
			}
			if ids != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, ids, tt.want)
			}
		}
		// Replace.
		i2b := *i2
		i2b.Status, i2b.Goal = model.IntentCompleted, "done"
		commit(t, s, &store.Batch{Mutations: []store.Mutation{store.PutIntent{Intent: &i2b}}})
		got, _ = s.Intent(ctx, "i2")
		if got.Status != model.IntentCompleted || got.Goal != "done" {
			t.Errorf("replaced intent = %+v", got)
		}
		if got, _ := s.Intents(ctx, store.IntentQuery{Status: model.IntentExecuting}); len(got) != 0 {
			t.Errorf("old status still indexed")
		}
		if got, _ := s.Intents(ctx, store.IntentQuery{}); len(got) != 4 {
			t.Errorf("replace duplicated the intent: %d", len(got))
		}
	})

	t.Run("Edges", func(t *testing.T) {
		s := open(t)
		w := 0.5
		edges := []*model.IntentEdge{
			{From: "b", To: "a", Type: model.EdgeIsSubgoalOf},
			{From: "a", To: "c", Type: model.EdgeBlocks, Weight: &w, Metadata: value.NewMap(value.Keyword("why"), value.String("x"))},
			{From: "b", To: "a", Type: model.EdgeDependsOn},
			{From: "c", To: "a", Type: model.EdgeRelatedTo},
		}
		var muts []store.Mutation
		for _, e := range edges {
			muts = append(muts, store.PutEdge{Edge: e})
		}
		commit(t, s, &store.Batch{Mutations: muts})
		str := func(es []*model.IntentEdge) string {
			out := ""
			for _, e := range es {
				out += fmt.Sprintf("%s>%s:%s ", e.From, e.To, e.Type)
			}
			return out
		}
		tests := []struct {
			q    store.EdgeQuery
			want string
		}{
			{store.EdgeQuery{}, "a>c:blocks b>a:depends-on b>a:is-subgoal-of c>a:related-to "},
			{store.EdgeQuery{From: "b"}, "b>a:depends-on b>a:is-subgoal-of "},
			{store.EdgeQuery{To: "a"}, "b>a:depends-on b>a:is-subgoal-of c>a:related-to "},
			{store.EdgeQuery{To: "a", Type: model.EdgeRelatedTo}, "c>a:related-to "},
			{store.EdgeQuery{From: "b", To: "a", Type: model.EdgeDependsOn}, "b>a:depends-on "},
			{store.EdgeQuery{Type: model.EdgeEnables}, ""},
		}
		for _, tt := range tests {
			got, err := s.Edges(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if str(got) != tt.want {
				t.Errorf("Edges(%+v) = %q, want %q", tt.q, str(got), tt.want)
			}
		}
		got, _ := s.Edges(ctx, store.EdgeQuery{From: "a"})
		if len(got) != 1 || encEdge(t, got[0]) != encEdge(t, edges[1]) {
			t.Errorf("edge round trip: %v", got)
		}
		// Replacing (from, to, type) updates it in place.
		w2 := 2.0
		commit(t, s, &store.Batch{Mutations: []store.Mutation{store.PutEdge{Edge: &model.IntentEdge{From: "a", To: "c", Type: model.EdgeBlocks, Weight: &w2}}}})
		got, _ = s.Edges(ctx, store.EdgeQuery{From: "a"})
		if len(got) != 1 || got[0].Weight == nil || *got[0].Weight != 2 || got[0].Metadata != nil {
			t.Errorf("replaced edge = %+v", got)
		}
	})

	t.Run("Plans", func(t *testing.T) {
		s := open(t)
		p1, h1 := Plan(t, "p1", []string{"i1", "i2"}, T0, "(a)")
		p1.InputSchema = value.NewVector(value.Keyword("map"))
		p1.Annotations = value.NewMap(value.Keyword("generated-by"), value.String("arbiter"))
		p1.Name = "first"
		h1, _ = model.HashPlan(p1)
		p2, h2 := Plan(t, "p1", []string{"i1"}, T0.Add(time.Minute), "(b)")
		p3, h3 := Plan(t, "p3", []string{"i3", "i2"}, T0.Add(time.Minute), "(c)")
		p4, h4 := Plan(t, "p4", nil, T0.Add(-time.Minute), "(d)")
		p4.CapabilitiesRequired = nil
		h4, _ = model.HashPlan(p4)
		commit(t, s, &store.Batch{Mutations: []store.Mutation{store.PutPlan{Plan: p1, Hash: h1}, store.PutPlan{Plan: p2, Hash: h2}}})
		commit(t, s, &store.Batch{Mutations: []store.Mutation{&store.PutPlan{Plan: p3, Hash: h3}, store.PutPlan{Plan: p4, Hash: h4}}})
		got, err := s.PlanByHash(ctx, h1)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := encPlan(t, got), encPlan(t, p1); g != w {
			t.Errorf("plan round trip:\n got %s\nwant %s", g, w)
		}
		if h, _ := model.HashPlan(got); h != h1 {
			t.Errorf("plan hash after round trip %s, want %s", h, h1)
		}
		hashes := func(ps []store.ArchivedPlan) string {
			out := ""
			for _, p := range ps {
				switch p.Hash {
				case h1:
					out += "1"
				case h2:
					out += "2"
				case h3:
					out += "3"
				case h4:
					out += "4"
				default:
					out += "?"
				}
			}
			return out
		}
		tests := []struct {
			q    store.PlanQuery
			want string
		}{
			{store.PlanQuery{}, "3214"},
			{store.PlanQuery{PlanID: "p1"}, "21"},
			{store.PlanQuery{IntentID: "i2"}, "31"},
			{store.PlanQuery{IntentID: "i1", PlanID: "p1", Limit: 1}, "2"},
			{store.PlanQuery{Limit: 2}, "32"},
			{store.PlanQuery{IntentID: "zz"}, ""},
		}
		for _, tt := range tests {
			got, err := s.Plans(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if hashes(got) != tt.want {
				t.Errorf("Plans(%+v) = %s, want %s", tt.q, hashes(got), tt.want)
			}
			for _, ap := range got {
				if ap.Plan == nil || ap.Plan.ID == "" {
					t.Errorf("Plans(%+v): empty plan for %s", tt.q, ap.Hash)
				}
			}
		}
		// Archiving again under the same hash keeps the content but takes
		// the new status.
		changed := *p1
		changed.Status = model.PlanCompleteS
		changed.Body = "(tampered)"
		commit(t, s, &store.Batch{Mutations: []store.Mutation{store.PutPlan{Plan: &changed, Hash: h1}}})
		got, _ = s.PlanByHash(ctx, h1)
		if got.Status != model.PlanCompleteS || got.Body != "(a)" {
			t.Errorf("re-archived plan: status %s body %s", got.Status, got.Body)
		}
		if all, _ := s.Plans(ctx, store.PlanQuery{}); len(all) != 4 {
			t.Errorf("re-archiving duplicated the plan: %d", len(all))
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		const batches, per = 40, 25
		var wg sync.WaitGroup
		done := make(chan struct{})
		errc := make(chan error, 16)
		for r := 0; r < 4; r++ {
			wg.Add(1)
			go func(r int) {
				defer wg.Done()
				var last uint64
				for {
					select {
					case <-done:
						return
					default:
					}
					a, _, err := s.Head(ctx)
					if err != nil {
						errc <- err
						return
					}
					if a != nil {
						if a.Seq < last {
							errc <- fmt.Errorf("head went back from %d to %d", last, a.Seq)
							return
						}
						last = a.Seq
					}
					switch r {
					case 0:
						n := 0
						if err := s.ScanActions(ctx, 0, func(a *model.Action) error {
							n++
							if a.Seq != uint64(n) {
								return fmt.Errorf("scan: seq %d at position %d", a.Seq, n)
							}
							return nil
						}); err != nil {
							errc <- err
							return
						}
						if n%per != 0 {
							errc <- fmt.Errorf("scan saw a partial batch: %d actions", n)
							return
						}
					case 1:
						got, err := s.Actions(ctx, store.ActionQuery{RunID: "run-1", Limit: 5, Last: true})
						if err != nil {
							errc <- err
							return
						}
						for i := 1; i < len(got); i++ {
							if got[i].Seq <= got[i-1].Seq {
								errc <- fmt.Errorf("actions not in seq order")
								return
							}
						}
					case 2:
						if _, err := s.Intents(ctx, store.IntentQuery{Text: "goal"}); err != nil {
							errc <- err
							return
						}
					case 3:
						if _, err := s.Action(ctx, "act-1"); err != nil && !errors.Is(err, store.ErrNotFound) {
							errc <- err
							return
						}
					}
				}
			}(r)
		}
		var prev *model.Action
		for b := 0; b < batches; b++ {
			as := Chain(t, uint64(b*per+1), per, prev, nil)
			prev = as[len(as)-1]
			in := Intent(fmt.Sprintf("i%d", b), "goal", int64(b), T0, nil)
			if err := s.Commit(ctx, &store.Batch{Actions: as, Mutations: []store.Mutation{store.PutIntent{Intent: in}},
				Checkpoint: &model.Checkpoint{Seq: prev.Seq, HeadHash: prev.Hash, Time: T0, KeyID: "k"}}); err != nil {
				t.Error(err)
				break
			}
		}
		close(done)
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if got := scanAll(t, s, 0); len(got) != batches*per {
			t.Errorf("%d actions, want %d", len(got), batches*per)
		}
	})

	t.Run("Context", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Commit(cctx, &store.Batch{Actions: Chain(t, 1, 1, nil, nil)}); err == nil {
			t.Errorf("commit with a cancelled context succeeded")
		}
		if a, _, _ := s.Head(ctx); a != nil {
			t.Errorf("cancelled commit stored an action")
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := open(t)
		commit(t, s, &store.Batch{Actions: Chain(t, 1, 1, nil, nil)})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		checks := map[string]error{
			"Commit":          s.Commit(ctx, &store.Batch{Actions: Chain(t, 2, 1, nil, nil)}),
			"ScanActions":     s.ScanActions(ctx, 0, func(*model.Action) error { return nil }),
			"ScanCheckpoints": s.ScanCheckpoints(ctx, func(*model.Checkpoint) error { return nil }),
		}
		_, _, checks["Head"] = s.Head(ctx)
		_, checks["Action"] = s.Action(ctx, "act-1")
		_, checks["Actions"] = s.Actions(ctx, store.ActionQuery{})
		_, checks["Intent"] = s.Intent(ctx, "i")
		_, checks["Intents"] = s.Intents(ctx, store.IntentQuery{})
		_, checks["Edges"] = s.Edges(ctx, store.EdgeQuery{})
		_, checks["PlanByHash"] = s.PlanByHash(ctx, "h")
		_, checks["Plans"] = s.Plans(ctx, store.PlanQuery{})
		for name, err := range checks {
			if err == nil {
				t.Errorf("%s after Close succeeded", name)
			}
		}
		_ = s.Close() // a second Close must not panic
	})
}

package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/memory"
	"github.com/ccos-go/ccos/ccos/store/storetest"
	"github.com/ccos-go/ccos/rtfs/value"
)

var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

func testKeys() map[string]ed25519.PublicKey {
	pub := testKey.Public().(ed25519.PublicKey)
	return map[string]ed25519.PublicKey{KeyID(pub): pub}
}

func openLedger(t testing.TB, st store.Store, mod func(*Options)) *Ledger {
	t.Helper()
	o := Options{Store: st, Key: testKey}
	if mod != nil {
		mod(&o)
	}
	l, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sample(i int) *model.Action {
	return &model.Action{
		RunID:    fmt.Sprintf("run-%d", i%4),
		PlanID:   "plan-1",
		IntentID: "intent-1",
		Type:     model.CapabilityCall,
		Name:     "ccos.echo",
		Args:     value.NewVector(value.Int(int64(i)), value.String("hello")),
		Metadata: value.NewMap(value.Keyword("path"), value.String(fmt.Sprintf("main/%d:call", i))),
	}
}

func mustVerify(t testing.TB, st store.Store) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), st, testKeys())
	if err != nil {
		t.Fatalf("verify: %v (report %+v)", err, rep)
	}
	return rep
}

func TestPreEncodeMatchesHashAction(t *testing.T) {
	cases := []*model.Action{
		sample(1),
		{ActionID: "a", Type: model.LogStep, Timestamp: storetest.T0},
		storetest.RichAction(t, 5, nil),
		// Values that mention the placeholders must not confuse the split.
		{ActionID: `"prev_hash":"` + placeholderHash + `"`, Name: `"seq":0`, Type: model.LogStep, Timestamp: storetest.T0,
			Metadata: value.NewMap(value.String("prev_hash"), value.String(placeholderHash), value.String("seq"), value.Int(0))},
	}
	h := newHasher()
	for i, a := range cases {
		pe, err := preEncode(a)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for _, pos := range []struct {
			seq  uint64
			prev string
		}{{1, ""}, {2, "ab" + placeholderHash[2:]}, {1234567, "ff" + placeholderHash[2:]}} {
			c := *a
			c.Seq, c.PrevHash = pos.seq, pos.prev
			want, err := model.HashAction(&c)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.hash(pe, pos.seq, pos.prev); got != want {
				t.Errorf("case %d seq %d: hash %s, want %s", i, pos.seq, got, want)
			}
			c.Hash = want
			wantBody, err := model.EncodeAction(&c)
			if err != nil {
				t.Fatal(err)
			}
			if got := pe.body(pos.seq, pos.prev, want); string(got) != string(wantBody) {
				t.Errorf("case %d seq %d: body\n%s\nwant\n%s", i, pos.seq, got, wantBody)
			}
		}
	}
}

func TestAppendQueryGetChildren(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	clock := storetest.T0.Add(123456789 * time.Nanosecond)
	l := openLedger(t, st, func(o *Options) { o.Now = func() time.Time { return clock } })
	in := sample(0)
	root, err := l.Append(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Seq != 0 || in.Hash != "" || in.ActionID != "" {
		t.Errorf("Append modified its argument: %+v", in)
	}
	if root.Seq != 1 || root.PrevHash != "" || root.Hash == "" || len(root.ActionID) != len("act-")+20 {
		t.Errorf("root = %+v", root)
	}
	if !root.Timestamp.Equal(model.Millis(clock)) {
		t.Errorf("timestamp %v, want %v", root.Timestamp, model.Millis(clock))
	}
	var kids []*model.Action
	for i := 1; i <= 5; i++ {
		a := sample(i)
		a.ParentActionID = root.ActionID
		a.ActionID = fmt.Sprintf("child-%d", i)
		got, err := l.Append(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, got)
	}
	prev := root
	for _, k := range kids {
		if k.Seq != prev.Seq+1 || k.PrevHash != prev.Hash {
			t.Errorf("action %d not linked to %d", k.Seq, prev.Seq)
		}
		if h, _ := model.HashAction(k); h != k.Hash {
			t.Errorf("action %d: hash %s, recomputed %s", k.Seq, k.Hash, h)
		}
		prev = k
	}
	if seq, hash := l.Head(); seq != 6 || hash != prev.Hash {
		t.Errorf("Head() = %d %s", seq, hash)
	}
	got, err := l.Get(ctx, "child-3")
	if err != nil || got.Seq != 4 || got.Hash != kids[2].Hash {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := l.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(missing) error = %v", err)
	}
	ch, err := l.Children(ctx, root.ActionID)
	if err != nil || len(ch) != 5 || ch[0].ActionID != "child-1" || ch[4].ActionID != "child-5" {
		t.Errorf("Children = %d actions, %v", len(ch), err)
	}
	q, err := l.Query(ctx, store.ActionQuery{RunID: "run-1"})
	if err != nil || len(q) != 2 || q[0].Seq != 2 || q[1].Seq != 6 {
		t.Errorf("Query(run-1) = %v, %v", q, err)
	}
	// Duplicate ids fail alone; a bad type fails before the writer.
	if _, err := l.Append(ctx, &model.Action{ActionID: "child-1", Type: model.LogStep}); err == nil {
		t.Error("duplicate action id accepted")
	}
	if _, err := l.Append(ctx, &model.Action{Type: "Bogus"}); err == nil {
		t.Error("unknown type accepted")
	}
	if seq, _ := l.Head(); seq != 6 {
		t.Errorf("head moved to %d after failed appends", seq)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, sample(9)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	rep := mustVerify(t, st)
	if rep.Actions != 6 || rep.HeadSeq != 6 || rep.Unsigned != 0 || rep.Checkpoints == 0 {
		t.Errorf("report %+v", rep)
	}

	// Reopening continues the chain.
	l2 := openLedger(t, st, nil)
	a, err := l2.Append(ctx, sample(7))
	if err != nil || a.Seq != 7 || a.PrevHash != prev.Hash {
		t.Fatalf("append after reopen = %+v, %v", a, err)
	}
	l2.Close()
	mustVerify(t, st)
}

func TestMutationsCommitWithAction(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	l := openLedger(t, st, nil)
	defer l.Close()
	in := storetest.Intent("intent-1", "goal", 1, storetest.T0, nil)
	if _, err := l.Append(ctx, &model.Action{Type: model.IntentCreated, IntentID: "intent-1"}, store.PutIntent{Intent: in}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Intent(ctx, "intent-1")
	if err != nil || got.Goal != "goal" {
		t.Fatalf("intent = %+v, %v", got, err)
	}
	// A bad mutation fails its own append only.
	if _, err := l.Append(ctx, &model.Action{Type: model.IntentCreated}, store.PutIntent{}); err == nil {
		t.Fatal("bad mutation accepted")
	}
	if seq, _ := l.Head(); seq != 1 {
		t.Errorf("head %d", seq)
	}
}

func TestConcurrentAppendAndQuery(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	l := openLedger(t, st, nil)
	const G, N = 64, 40
	var wg sync.WaitGroup
	seen := make([][]*model.Action, G)
	for g := range G {
		wg.Go(func() {
			for i := range N {
				a, err := l.Append(ctx, sample(g*N+i))
				if err != nil {
					t.Error(err)
					return
				}
				seen[g] = append(seen[g], a)
			}
		})
	}
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for range 4 {
		rwg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				seq, _ := l.Head()
				as, err := l.Query(ctx, store.ActionQuery{RunID: "run-2", Last: true, Limit: 5})
				if err != nil {
					t.Error(err)
					return
				}
				for _, a := range as {
					if _, err := l.Get(ctx, a.ActionID); err != nil {
						t.Error(err)
						return
					}
				}
				all, _ := l.Query(ctx, store.ActionQuery{})
				if uint64(len(all)) < seq {
					t.Errorf("query saw %d actions, head was %d", len(all), seq)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	bySeq := map[uint64]string{}
	for _, as := range seen {
		for i, a := range as {
			if i > 0 && a.Seq <= as[i-1].Seq {
				t.Errorf("one goroutine's appends out of order: %d after %d", a.Seq, as[i-1].Seq)
			}
			if _, dup := bySeq[a.Seq]; dup {
				t.Fatalf("seq %d acknowledged twice", a.Seq)
			}
			bySeq[a.Seq] = a.Hash
		}
	}
	if len(bySeq) != G*N {
		t.Fatalf("%d distinct seqs, want %d", len(bySeq), G*N)
	}
	err := st.ScanActions(ctx, 1, func(a *model.Action) error {
		if bySeq[a.Seq] != a.Hash {
			return fmt.Errorf("seq %d stored with another hash", a.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, st)
	if rep.Actions != G*N || rep.Unsigned != 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestCloseFlushesPending(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	l := openLedger(t, st, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[uint64]string{}
	for g := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				a, err := l.Append(ctx, sample(g*1000+i))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[a.Seq] = a.Hash
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	rep := mustVerify(t, st)
	if rep.Unsigned != 0 {
		t.Errorf("%d unsigned actions after Close", rep.Unsigned)
	}
	if int(rep.HeadSeq) != len(acked) {
		t.Errorf("stored %d actions, acknowledged %d", rep.HeadSeq, len(acked))
	}
	_, cp, _ := st.Head(ctx)
	if cp == nil || cp.Seq != rep.HeadSeq {
		t.Errorf("last checkpoint %+v, head %d", cp, rep.HeadSeq)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCheckpointEveryBatch(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	l := openLedger(t, st, nil)
	for i := range 10 {
		if _, err := l.Append(ctx, sample(i)); err != nil {
			t.Fatal(err)
		}
		_, cp, err := st.Head(ctx)
		if err != nil || cp == nil || cp.Seq != uint64(i+1) {
			t.Fatalf("after append %d: checkpoint %+v, %v", i+1, cp, err)
		}
		if cp.KeyID != KeyID(testKey.Public().(ed25519.PublicKey)) || !ed25519.Verify(testKey.Public().(ed25519.PublicKey), model.CheckpointPayload(cp), cp.Signature) {
			t.Fatalf("checkpoint %d not signed by the ledger key", cp.Seq)
		}
	}
	l.Close()
}

func TestUnsignedTailSignedWithinInterval(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	// Actions written behind the ledger's back (no checkpoint).
	if err := st.Commit(ctx, &store.Batch{Actions: storetest.Chain(t, 1, 3, nil, nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Options{Store: st, Key: testKey}); err == nil {
		t.Fatal("Open accepted an unsigned tail")
	}
	rep := mustVerify(t, st)
	if rep.Unsigned != 3 {
		t.Errorf("unsigned = %d", rep.Unsigned)
	}
	l := openLedger(t, st, func(o *Options) { o.AllowUnsignedTail = true; o.CheckpointInterval = 20 * time.Millisecond })
	defer l.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, cp, _ := st.Head(ctx); cp != nil && cp.Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rep := mustVerify(t, st); rep.Unsigned != 0 {
		t.Errorf("unsigned = %d", rep.Unsigned)
	}
}

func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	l := openLedger(t, st, nil)
	all, cancelAll := l.Subscribe(Filter{})
	run1, cancelRun1 := l.Subscribe(Filter{RunID: "run-1", Types: []model.ActionType{model.CapabilityCall}})
	defer cancelRun1()
	slow, cancelSlow := l.Subscribe(Filter{})
	for i := range 8 {
		if _, err := l.Append(ctx, sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	for want := uint64(1); want <= 8; want++ {
		a := <-all
		if a.Seq != want {
			t.Fatalf("subscriber got seq %d, want %d", a.Seq, want)
		}
	}
	for _, want := range []uint64{2, 6} {
		if a := <-run1; a.Seq != want || a.RunID != "run-1" {
			t.Fatalf("filtered subscriber got %d (%s), want %d", a.Seq, a.RunID, want)
		}
	}
	cancelAll()
	cancelAll() // idempotent
	if _, ok := <-all; ok {
		t.Error("channel open after cancel")
	}
	// slow never reads: once its buffer is full it is disconnected, and
	// appends are not blocked.
	for i := range SubscriberBuffer + 10 {
		if _, err := l.Append(ctx, &model.Action{Type: model.LogStep, Args: value.Int(int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range slow {
		n++
	}
	if n != SubscriberBuffer {
		t.Errorf("slow subscriber got %d actions before disconnect, want %d", n, SubscriberBuffer)
	}
	cancelSlow() // after disconnect: no panic
	l.Close()
	if _, ok := <-run1; ok {
		// run1 may hold buffered actions; drain then expect closed.
		for range run1 {
		}
	}
	c, cancel := l.Subscribe(Filter{})
	if _, ok := <-c; ok {
		t.Error("subscription after Close is open")
	}
	cancel()
}

func TestAppendContextCancelled(t *testing.T) {
	st := memory.New()
	l := openLedger(t, st, nil)
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, sample(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// memChain commits n actions to a memory store with a signed checkpoint
// only every `every` actions (as large group commits produce).
func memChain(t *testing.T, n, every int) (*memory.Store, []*model.Action) {
	t.Helper()
	st := memory.New()
	acts := storetest.Chain(t, 1, n, nil, nil)
	l := &Ledger{key: testKey, keyID: KeyID(testKey.Public().(ed25519.PublicKey)), now: time.Now}
	for i := 0; i < n; i += every {
		as := acts[i:min(i+every, n)]
		last := as[len(as)-1]
		if err := st.Commit(context.Background(), &store.Batch{Actions: as, Checkpoint: l.sign(last.Seq, last.Hash)}); err != nil {
			t.Fatal(err)
		}
	}
	return st, acts
}

func TestVerifyMemoryTamper(t *testing.T) {
	type tamper func(t *testing.T, as []*model.Action) []*model.Action
	cases := []struct {
		name string
		f    tamper
		kind Problem
		seq  uint64
	}{
		{"rewritten mid-batch with recomputed hash", func(t *testing.T, as []*model.Action) []*model.Action {
			a := as[4]
			as[4] = forge(t, a, a.Seq, a.PrevHash, func(f *model.Action) { f.Name = "evil" })
			return as
		}, ChangedContent, 5},
		{"forged row linking nowhere", func(t *testing.T, as []*model.Action) []*model.Action {
			a := as[4]
			as[4] = forge(t, a, a.Seq, as[0].Hash, func(f *model.Action) { f.Name = "evil" })
			return as
		}, InsertedAction, 5},
		{"forged duplicate stored just before the original", func(t *testing.T, as []*model.Action) []*model.Action {
			f := forge(t, as[4], 5, as[2].Hash, func(f *model.Action) { f.ActionID = "forged" })
			return slices.Insert(as, 4, f)
		}, InsertedAction, 5},
		{"forged duplicate stored just after the original", func(t *testing.T, as []*model.Action) []*model.Action {
			f := forge(t, as[4], 5, as[3].Hash, func(f *model.Action) { f.ActionID = "forged" })
			return slices.Insert(as, 5, f)
		}, InsertedAction, 5},
		{"moved to the end", func(t *testing.T, as []*model.Action) []*model.Action {
			a := as[2]
			return append(slices.Delete(as, 2, 3), a)
		}, Reordered, 3},
		{"deleted and forged at the end", func(t *testing.T, as []*model.Action) []*model.Action {
			f := forge(t, as[2], 3, "ff"+placeholderHash[2:], nil)
			return append(slices.Delete(as, 2, 3), f)
		}, MissingAction, 3},
		{"first action with a prev_hash", func(t *testing.T, as []*model.Action) []*model.Action {
			as[0] = forge(t, as[0], 1, as[5].Hash, nil)
			return as
		}, BrokenLink, 1},
		{"everything deleted", func(t *testing.T, as []*model.Action) []*model.Action {
			return nil
		}, TruncatedTail, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := memChain(t, 12, 6)
			st.Tamper(func(as []*model.Action, cps []*model.Checkpoint) ([]*model.Action, []*model.Checkpoint) {
				return c.f(t, as), cps
			})
			_, err := Verify(context.Background(), st, testKeys())
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Kind != c.kind || ve.Seq != c.seq {
				t.Fatalf("verify: %v; want %s at seq %d", err, c.kind, c.seq)
			}
			t.Logf("%v", err)
		})
	}
	st, _ := memChain(t, 12, 6)
	rep := mustVerify(t, st)
	if rep.Actions != 12 || rep.Checkpoints != 2 || rep.Unsigned != 0 {
		t.Errorf("report %+v", rep)
	}
	if _, err := Verify(context.Background(), st, nil); err == nil {
		t.Error("verified with no trusted key")
	}
}

func TestOpenRefusesBadHead(t *testing.T) {
	st, acts := memChain(t, 12, 6)
	st.Tamper(func(as []*model.Action, cps []*model.Checkpoint) ([]*model.Action, []*model.Checkpoint) {
		return as[:10], cps
	})
	_, err := Open(context.Background(), Options{Store: st, Key: testKey})
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Kind != TruncatedTail || ve.Seq != 11 {
		t.Fatalf("Open: %v", err)
	}
	st2, _ := memChain(t, 12, 6)
	st2.Tamper(func(as []*model.Action, cps []*model.Checkpoint) ([]*model.Action, []*model.Checkpoint) {
		as[11] = forge(t, acts[11], 12, acts[10].Hash, func(f *model.Action) { f.Name = "evil" })
		return as, cps
	})
	if _, err := Open(context.Background(), Options{Store: st2, Key: testKey}); !errors.As(err, &ve) || ve.Kind != CheckpointMismatch {
		t.Fatalf("Open: %v", err)
	}
}

func TestSubmitKeepsOrderAndIsDurableOnWait(t *testing.T) {
	st := memory.New()
	l := openLedger(t, st, nil)
	ctx := context.Background()
	var ps []*Pending
	for i := range 200 {
		p, err := l.Submit(ctx, sample(i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		a, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a.Seq != uint64(i+1) {
			t.Fatalf("submission %d got seq %d", i, a.Seq)
		}
		if got, err := st.Action(ctx, a.ActionID); err != nil || got.Hash != a.Hash {
			t.Fatalf("action %d not stored after Wait: %v", i, err)
		}
	}
	if _, err := l.Submit(ctx, &model.Action{Type: "NoSuchType"}); err == nil {
		t.Fatal("Submit accepted an unknown action type")
	}
	mustVerify(t, st)
}

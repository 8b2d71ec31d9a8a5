package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/rtfs/value"

	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "ccos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ccos.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	as := storetest.Chain(t, 1, 10, nil, nil)
	in := storetest.Intent("i1", "goal", 2, storetest.T0, nil)
	p, h := storetest.Plan(t, "p1", []string{"i1"}, storetest.T0, "(x)")
	e := &model.IntentEdge{From: "i2", To: "i1", Type: model.EdgeIsSubgoalOf}
	cp := &model.Checkpoint{Seq: 10, HeadHash: as[9].Hash, Time: storetest.T0, KeyID: "k", Signature: []byte("sig")}
	if err := s.Commit(ctx, &store.Batch{Actions: as, Checkpoint: cp, Mutations: []store.Mutation{
		store.PutIntent{Intent: in}, store.PutPlan{Plan: p, Hash: h}, store.PutEdge{Edge: e}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, c, err := s.Head(ctx)
	if err != nil || a == nil || a.Hash != as[9].Hash || c == nil || string(c.Signature) != "sig" {
		t.Fatalf("head after reopen: %v %v %v", a, c, err)
	}
	n := 0
	if err := s.ScanActions(ctx, 0, func(a *model.Action) error {
		n++
		if h, _ := model.HashAction(a); h != a.Hash {
			t.Errorf("seq %d: hash mismatch after reopen", a.Seq)
		}
		return nil
	}); err != nil || n != 10 {
		t.Errorf("scan after reopen: %d, %v", n, err)
	}
	if _, err := s.Intent(ctx, "i1"); err != nil {
		t.Error(err)
	}
	if _, err := s.PlanByHash(ctx, h); err != nil {
		t.Error(err)
	}
	if es, err := s.Edges(ctx, store.EdgeQuery{To: "i1"}); err != nil || len(es) != 1 {
		t.Errorf("edges after reopen: %v %v", es, err)
	}
	// The chain continues where it stopped.
	if err := s.Commit(ctx, &store.Batch{Actions: storetest.Chain(t, 11, 1, as[9], nil)}); err != nil {
		t.Error(err)
	}
	if err := s.Commit(ctx, &store.Batch{Actions: storetest.Chain(t, 11, 1, as[9], nil)}); !errors.Is(err, store.ErrSeqGap) {
		t.Errorf("replayed seq 11: %v", err)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ccos.db")
	for range 3 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	db, err := sql.Open(DriverName, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, v int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion || v != SchemaVersion {
		t.Errorf("schema_migrations: %d rows, max version %d; want %d", n, v, SchemaVersion)
	}
	// A database from the future is refused, and left alone.
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 'later')`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of a future schema: %v", err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != SchemaVersion+1 {
		t.Errorf("refused open changed schema_migrations: %d %v", n, err)
	}
}

func TestDurabilitySettings(t *testing.T) {
	s := openTemp(t)
	for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		var mode string
		var sync, fk, busy int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 2 || fk != 1 || busy <= 0 {
			t.Errorf("%s: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d", name, mode, sync, fk, busy)
		}
	}
	// The read handle cannot write.
	if _, err := s.DB().Exec(`DELETE FROM actions`); err == nil {
		t.Errorf("the read handle accepted a write")
	}
}

func TestOpenErrors(t *testing.T) {
	if s, err := Open(filepath.Join(t.TempDir(), "no", "such", "dir", "ccos.db")); err == nil {
		s.Close()
		t.Errorf("Open in a missing directory succeeded")
	}
	// Odd characters in the path are not taken as URI syntax.
	dir := filepath.Join(t.TempDir(), "a?b#c%d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

// TestTamperVisible: what the store returns reflects direct edits of the
// file, in row order, so that verification can see them.
func TestTamperVisible(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ccos.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	as := storetest.Chain(t, 1, 5, nil, nil)
	if err := s.Commit(ctx, &store.Batch{Actions: as}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(DriverName, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Swap the content of rows 2 and 3.
	mustExec(`CREATE TEMP TABLE t AS SELECT * FROM actions WHERE seq IN (2, 3)`)
	mustExec(`UPDATE actions SET seq = (SELECT seq FROM t WHERE t.seq <> actions.seq), action_id = 'tmp-' || action_id WHERE seq IN (2, 3)`)
	for _, col := range []string{"parent_action_id", "run_id", "plan_id", "intent_id", "type", "name", "timestamp_ms", "hash", "prev_hash", "body"} {
		mustExec(`UPDATE actions SET ` + col + ` = (SELECT ` + col + ` FROM t WHERE t.seq = actions.seq) WHERE seq IN (2, 3)`)
	}
	mustExec(`UPDATE actions SET action_id = (SELECT action_id FROM t WHERE t.seq = actions.seq) WHERE seq IN (2, 3)`)
	// Change a column only: the action read back shows it.
	mustExec(`UPDATE actions SET name = 'forged' WHERE seq = 5`)
	var got []uint64
	if err := s.ScanActions(ctx, 0, func(a *model.Action) error {
		got = append(got, a.Seq)
		if a.Seq == 5 {
			if a.Name != "forged" {
				t.Errorf("column edit not visible: name %q", a.Name)
			}
			if h, _ := model.HashAction(a); h == a.Hash {
				t.Errorf("column edit does not change the hash")
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 3 2 4 5]" {
		t.Errorf("scan order after swapping rows = %v, want [1 3 2 4 5]", got)
	}
	// Queries still answer in seq order.
	acts, err := s.Actions(ctx, store.ActionQuery{})
	if err != nil || fmt.Sprint(seqsOf(acts)) != "[1 2 3 4 5]" {
		t.Errorf("Actions after swap = %v, %v", seqsOf(acts), err)
	}
	got = nil
	if err := s.ScanActions(ctx, 3, func(a *model.Action) error { got = append(got, a.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[3 4 5]" {
		t.Errorf("scan from 3 = %v", got)
	}
}

func seqsOf(as []*model.Action) []uint64 {
	out := make([]uint64, len(as))
	for i, a := range as {
		out[i] = a.Seq
	}
	return out
}

func BenchmarkCommit(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := openTemp(b)
			ctx := context.Background()
			// Prepare the batches before timing: only the store is measured.
			var prev *model.Action
			batches := make([][]*model.Action, b.N)
			for i := range batches {
				batches[i] = storetest.Chain(b, uint64(i*size+1), size, prev, func(a *model.Action) {
					a.Metadata = value.NewMap(value.Keyword("k"), value.String("some metadata"))
				})
				prev = batches[i][size-1]
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				last := batches[i][size-1]
				if err := s.Commit(ctx, &store.Batch{Actions: batches[i],
					Checkpoint: &model.Checkpoint{Seq: last.Seq, HeadHash: last.Hash, Time: last.Timestamp, KeyID: "k", Signature: make([]byte, 64)}}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "actions/s")
		})
	}
}

func BenchmarkScan(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const n = 20000
	as := storetest.Chain(b, 1, n, nil, func(a *model.Action) {
		a.Metadata = value.NewMap(value.Keyword("k"), value.String("some metadata"))
	})
	if err := s.Commit(ctx, &store.Batch{Actions: as}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.ScanActions(ctx, 0, func(*model.Action) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "actions/s")
}

// TestDuplicateInMultiRowInsert: a duplicate action id inside a
// multi-row INSERT (INSERT OR ROLLBACK) fails the whole batch, leaves
// nothing behind and the store usable.
func TestDuplicateInMultiRowInsert(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	first := storetest.Chain(t, 1, 3, nil, nil)
	if err := s.Commit(ctx, &store.Batch{Actions: first}); err != nil {
		t.Fatal(err)
	}
	n := multiRows + 8
	bad := storetest.Chain(t, 4, n, first[2], func(a *model.Action) {
		if a.Seq == 10 {
			a.ActionID = first[1].ActionID
		}
	})
	if err := s.Commit(ctx, &store.Batch{Actions: bad, Mutations: []store.Mutation{
		store.PutIntent{Intent: storetest.Intent("i1", "goal", 1, storetest.T0, nil)}}}); err == nil || !isUnique(err) {
		t.Fatalf("duplicate action id in a multi-row insert: %v", err)
	}
	var rows, intents int
	if err := s.r.QueryRow(`SELECT (SELECT COUNT(*) FROM actions), (SELECT COUNT(*) FROM intents)`).Scan(&rows, &intents); err != nil {
		t.Fatal(err)
	}
	if rows != 3 || intents != 0 {
		t.Fatalf("after a failed batch: %d actions, %d intents stored", rows, intents)
	}
	good := storetest.Chain(t, 4, n, first[2], nil)
	if err := s.Commit(ctx, &store.Batch{Actions: good}); err != nil {
		t.Fatalf("commit after a failed batch: %v", err)
	}
	if a, _, err := s.Head(ctx); err != nil || a.Seq != uint64(3+n) {
		t.Fatalf("head after recovery: %v %v", a, err)
	}
}

// TestMigrateV1: a version 1 database is upgraded in place and its
// actions stay queryable, by parent through the partial index.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ccos.db")
	db, err := sql.Open(DriverName, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`,
		migrations[0], `INSERT INTO schema_migrations VALUES (1, 'then')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	as := storetest.Chain(t, 1, 4, nil, func(a *model.Action) {
		if a.Seq > 1 {
			a.ParentActionID = "act-1"
		}
	})
	for _, a := range as {
		body, err := model.EncodeAction(a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO actions (`+actionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			int64(a.Seq), a.ActionID, a.ParentActionID, a.RunID, a.PlanID, a.IntentID, string(a.Type), a.Name,
			a.Timestamp.UnixMilli(), a.Hash, a.PrevHash, body); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.r.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("version after upgrade %d, %v", v, err)
	}
	got, err := s.Actions(ctx, store.ActionQuery{ParentID: "act-1"})
	if err != nil || fmt.Sprint(seqsOf(got)) != "[2 3 4]" {
		t.Fatalf("children after upgrade: %v %v", seqsOf(got), err)
	}
	var plan string
	if err := s.r.QueryRow(`EXPLAIN QUERY PLAN SELECT seq FROM actions WHERE parent_action_id = ? AND parent_action_id <> ''`, "act-1").Scan(new(int), new(int), new(int), &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "actions_parent") {
		t.Errorf("query by parent does not use the index: %s", plan)
	}
	if err := s.Commit(ctx, &store.Batch{Actions: storetest.Chain(t, 5, 1, as[3], nil)}); err != nil {
		t.Fatal(err)
	}
}

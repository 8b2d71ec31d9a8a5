package ledger

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
)

// rawOnly hides store.PackedScanner: Verify then reads a SQLite store
// through store.RawScanner, the column-by-column path.
type rawOnly struct {
	store.Store
	st *sqlite.Store
}

func (r rawOnly) ScanRawActions(ctx context.Context, fn func(*store.RawAction) error) error {
	return r.st.ScanRawActions(ctx, fn)
}

// buildParented is buildSQLite with every action after the first having
// the previous one as parent, so that parent_action_id is set.
func buildParented(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ccos.db")
	st := openSQLite(t, path)
	l := openLedger(t, st, nil)
	parent := ""
	for i := range n {
		a := sample(i)
		a.ParentActionID = parent
		got, err := l.Append(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		parent = got.ActionID
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyPackedMatchesRaw tampers with single columns, the body, or
// both, including rows that do not pack (and are read column by column),
// and checks that Verify through store.PackedScanner reports exactly what
// it reports through store.RawScanner.
func TestVerifyPackedMatchesRaw(t *testing.T) {
	const n = 20
	cases := []struct {
		name string
		sql  string
		kind Problem // "" for no VerifyError
		seq  uint64
		read bool // a read error, not a VerifyError
	}{
		{name: "untouched"},
		{name: "seq column", sql: `UPDATE actions SET seq = 70 WHERE seq = 7`, kind: ChangedContent, seq: 70},
		{name: "seq column, next seq", sql: `UPDATE actions SET seq = 8 WHERE seq = 7`, kind: ChangedContent, seq: 8},
		{name: "action_id column", sql: `UPDATE actions SET action_id = 'act-evil' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "parent_action_id column", sql: `UPDATE actions SET parent_action_id = 'act-evil' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "parent_action_id column cleared", sql: `UPDATE actions SET parent_action_id = '' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "parent_action_id column set", sql: `UPDATE actions SET parent_action_id = 'act-evil' WHERE seq = 1`, kind: ChangedContent, seq: 1},
		{name: "run_id column", sql: `UPDATE actions SET run_id = 'run-evil' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "plan_id column", sql: `UPDATE actions SET plan_id = '' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "intent_id column", sql: `UPDATE actions SET intent_id = 'intent-2' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "type column", sql: `UPDATE actions SET type = 'PlanStarted' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "name column", sql: `UPDATE actions SET name = 'ccos.evil' WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "timestamp_ms column", sql: `UPDATE actions SET timestamp_ms = timestamp_ms + 1 WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "timestamp_ms column, a second", sql: `UPDATE actions SET timestamp_ms = timestamp_ms - 1000 WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "hash column", sql: `UPDATE actions SET hash = (SELECT hash FROM actions WHERE seq = 3) WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "prev_hash column", sql: `UPDATE actions SET prev_hash = (SELECT hash FROM actions WHERE seq = 3) WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "body and column alike", sql: `UPDATE actions SET name = 'ccos.evil', body = json_set(body, '$.name', 'ccos.evil') WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "body only, in a column's field", sql: `UPDATE actions SET body = replace(body, '"name":"ccos.echo"', '"name":"ccos.evil"') WHERE seq = 7`},
		{name: "body only, hash field", sql: `UPDATE actions SET body = replace(body, hash, (SELECT hash FROM actions WHERE seq = 3)) WHERE seq = 7`},
		{name: "body only, undecodable", sql: `UPDATE actions SET body = replace(body, '"name":"ccos.echo"', '"name":ccos.echo') WHERE seq = 7`, kind: ChangedContent, seq: 7},
		// Rows that do not pack.
		{name: "NUL in a column", sql: `UPDATE actions SET name = name || char(0) WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "NUL in a column, moved to the body", sql: `UPDATE actions SET name = 'ccos.echo' || char(0) || 'x', run_id = 'r' || char(0) WHERE seq = 7`, kind: ChangedContent, seq: 7},
		// A NUL after the body was not an error before packing either
		// (what matters here is that both paths agree).
		{name: "NUL after the body", sql: `UPDATE actions SET body = body || char(0) WHERE seq = 7`},
		{name: "NUL in the body", sql: `UPDATE actions SET body = replace(body, '"name":"ccos.echo"', '"name":"ccos.echo' || char(0) || '"') WHERE seq = 7`, kind: ChangedContent, seq: 7},
		{name: "seq column as a blob", sql: `UPDATE actions SET seq = CAST('7' AS BLOB) WHERE seq = 7`},
		{name: "seq column as text", sql: `UPDATE actions SET seq = 'x7' WHERE seq = 7`, read: true},
		{name: "timestamp_ms column as text", sql: `UPDATE actions SET timestamp_ms = 'x1' WHERE seq = 7`, read: true},
		{name: "name column as a blob", sql: `UPDATE actions SET name = CAST(name AS BLOB) WHERE seq = 7`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := buildParented(t, n)
			if c.sql != "" {
				db := rawDB(t, path)
				exec1(t, db, c.sql)
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			st := openSQLite(t, path)
			defer st.Close()
			rep, err := Verify(context.Background(), st, testKeys())
			rawRep, rawErr := Verify(context.Background(), rawOnly{st, st}, testKeys())
			if (err == nil) != (rawErr == nil) || err != nil && err.Error() != rawErr.Error() {
				t.Fatalf("packed: %v; raw: %v", err, rawErr)
			}
			rep.Elapsed, rawRep.Elapsed = 0, 0
			if *rep != *rawRep {
				t.Errorf("packed report %+v, raw %+v", rep, rawRep)
			}
			ve, _ := err.(*VerifyError)
			switch {
			case c.read:
				if err == nil || ve != nil {
					t.Fatalf("verify: %v; want a read error", err)
				}
			case c.kind == "":
				if err != nil || rep.Actions != n {
					t.Fatalf("verify: %v, report %+v", err, rep)
				}
			case ve == nil || ve.Kind != c.kind || ve.Seq != c.seq:
				t.Fatalf("verify: %v; want %s at seq %d", err, c.kind, c.seq)
			}
			t.Logf("%v", err)
		})
	}
}

// BenchmarkPackedVsRawScan compares, on the chain of BenchmarkVerify,
// reading the SQLite store packed (store.PackedScanner) and column by
// column (store.RawScanner), alternating so that both see the same load.
func BenchmarkPackedVsRawScan(b *testing.B) {
	const n, batch = 100_000, 64
	st := openSQLite(b, filepath.Join(b.TempDir(), "ccos.db"))
	defer st.Close()
	rows := benchRows(b, n)
	l := &Ledger{key: testKey, keyID: KeyID(testKey.Public().(ed25519.PublicKey)), now: time.Now}
	for i := 0; i < n; i += batch {
		as := rows[i:min(i+batch, n)]
		last := as[len(as)-1]
		if err := st.Commit(context.Background(), &store.Batch{Actions: as, Checkpoint: l.sign(last.Seq, last.Hash)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var el [2]time.Duration
	for range b.N {
		for i, s := range []store.Store{st, rawOnly{st, st}} {
			start := time.Now()
			rep, err := Verify(context.Background(), s, testKeys())
			el[i] += time.Since(start)
			if err != nil || rep.Actions != n {
				b.Fatalf("%v (%+v)", err, rep)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/el[0].Seconds(), "packed-actions/s")
	b.ReportMetric(float64(n*b.N)/el[1].Seconds(), "raw-actions/s")
}

// TestVerifyPackedLongChain checks problems past the first chunks of
// rows (which Verify recycles), through both scan paths.
func TestVerifyPackedLongChain(t *testing.T) {
	const n, batch = 5000, 64
	rows := make([]*model.Action, n)
	prev := ""
	for i := range rows {
		a := sample(i + 1)
		a.ActionID = NewActionID()
		a.Timestamp = model.Millis(time.Now())
		a.Seq, a.PrevHash = uint64(i+1), prev
		h, err := model.HashAction(a)
		if err != nil {
			t.Fatal(err)
		}
		a.Hash, prev = h, h
		rows[i] = a
	}
	path := filepath.Join(t.TempDir(), "ccos.db")
	st := openSQLite(t, path)
	l := &Ledger{key: testKey, keyID: KeyID(testKey.Public().(ed25519.PublicKey)), now: time.Now}
	for i := 0; i < n; i += batch {
		as := rows[i:min(i+batch, n)]
		last := as[len(as)-1]
		if err := st.Commit(context.Background(), &store.Batch{Actions: as, Checkpoint: l.sign(last.Seq, last.Hash)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	db := rawDB(t, path)
	defer db.Close()
	cases := []struct {
		name   string
		tamper func(t *testing.T)
		kind   Problem
		seq    uint64
	}{
		{name: "untouched", tamper: func(*testing.T) {}},
		{name: "name column", kind: ChangedContent, seq: 4500, tamper: func(t *testing.T) {
			exec1(t, db, `UPDATE actions SET name = 'ccos.evil' WHERE seq = 4500`)
		}},
		{name: "delete", kind: MissingAction, seq: 2048, tamper: func(t *testing.T) {
			exec1(t, db, `DELETE FROM actions WHERE seq = 2048`)
		}},
		{name: "swap across chunks", kind: Reordered, seq: 1023, tamper: func(t *testing.T) {
			swapRows(t, db, 1023, 1026)
		}},
	}
	// Each case adds to the tampering of the ones before, earlier in the
	// chain.
	for _, c := range cases {
		c.tamper(t)
		st := openSQLite(t, path)
		rep, err := Verify(context.Background(), st, testKeys())
		rawRep, rawErr := Verify(context.Background(), rawOnly{st, st}, testKeys())
		st.Close()
		if (err == nil) != (rawErr == nil) || err != nil && err.Error() != rawErr.Error() {
			t.Fatalf("%s: packed: %v; raw: %v", c.name, err, rawErr)
		}
		rep.Elapsed, rawRep.Elapsed = 0, 0
		if *rep != *rawRep {
			t.Errorf("%s: packed report %+v, raw %+v", c.name, rep, rawRep)
		}
		ve, _ := err.(*VerifyError)
		if c.kind == "" && err != nil || c.kind != "" && (ve == nil || ve.Kind != c.kind || ve.Seq != c.seq) {
			t.Fatalf("%s: verify: %v; want %q at seq %d", c.name, err, c.kind, c.seq)
		}
	}
}

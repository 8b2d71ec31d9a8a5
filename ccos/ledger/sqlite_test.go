package ledger

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
	"github.com/ccos-go/ccos/rtfs/value"
)

func openSQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// buildSQLite writes n actions, one append (so one batch and one
// checkpoint) at a time, and closes everything.
func buildSQLite(t testing.TB, n int) (path string, acts []*model.Action) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "ccos.db")
	st := openSQLite(t, path)
	l := openLedger(t, st, nil)
	for i := range n {
		a, err := l.Append(context.Background(), sample(i))
		if err != nil {
			t.Fatal(err)
		}
		acts = append(acts, a)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path, acts
}

// rawDB opens the file for writing with database/sql, as an attacker
// would.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(sqlite.DriverName, "file:"+path+"?_journal_mode=WAL&_synchronous=FULL")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func exec1(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s: no row affected", q)
	}
}

// forge returns a copy of a with seq, prev and a recomputed hash.
func forge(t testing.TB, a *model.Action, seq uint64, prev string, mod func(*model.Action)) *model.Action {
	t.Helper()
	f := store.CloneAction(a)
	f.Seq, f.PrevHash = seq, prev
	if mod != nil {
		mod(f)
	}
	h, err := model.HashAction(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Hash = h
	return f
}

func insertRow(t testing.TB, db *sql.DB, a *model.Action) {
	t.Helper()
	body, err := model.EncodeAction(a)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, db, `INSERT INTO actions (seq, action_id, parent_action_id, run_id, plan_id, intent_id, type, name, timestamp_ms, hash, prev_hash, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, int64(a.Seq), a.ActionID, a.ParentActionID, a.RunID, a.PlanID, a.IntentID,
		string(a.Type), a.Name, a.Timestamp.UnixMilli(), a.Hash, a.PrevHash, string(body))
}

// updateRow rewrites the row holding seq (by rowid) with a's content.
func updateRow(t testing.TB, db *sql.DB, rowSeq uint64, a *model.Action) {
	t.Helper()
	body, err := model.EncodeAction(a)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, db, `UPDATE actions SET seq=?, action_id=?, parent_action_id=?, run_id=?, plan_id=?, intent_id=?, type=?, name=?, timestamp_ms=?, hash=?, prev_hash=?, body=?
		WHERE rowid = (SELECT rowid FROM actions WHERE seq = ?)`, int64(a.Seq), a.ActionID, a.ParentActionID, a.RunID, a.PlanID, a.IntentID,
		string(a.Type), a.Name, a.Timestamp.UnixMilli(), a.Hash, a.PrevHash, string(body), int64(rowSeq))
}

func TestTamperSQLite(t *testing.T) {
	const n = 20
	type tc struct {
		name   string
		tamper func(t *testing.T, db *sql.DB, acts []*model.Action)
		kind   Problem
		seq    uint64
		// for tampering that is not an error
		unsigned int
	}
	cases := []tc{
		{name: "untouched", tamper: func(*testing.T, *sql.DB, []*model.Action) {}},
		{name: "body field", kind: ChangedContent, seq: 7, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `UPDATE actions SET body = json_set(body, '$.args[0]', 999) WHERE seq = 7`)
		}},
		{name: "metadata", kind: ChangedContent, seq: 3, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `UPDATE actions SET body = replace(body, 'main/2:call', 'main/2:evil') WHERE seq = 3`)
		}},
		{name: "indexed column", kind: ChangedContent, seq: 9, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `UPDATE actions SET run_id = 'run-evil' WHERE seq = 9`)
		}},
		{name: "rewritten with recomputed hash", kind: CheckpointMismatch, seq: 11, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			a := acts[10]
			updateRow(t, db, 11, forge(t, a, a.Seq, a.PrevHash, func(f *model.Action) { f.Name = "ccos.system.execute" }))
		}},
		{name: "delete middle row", kind: MissingAction, seq: 10, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `DELETE FROM actions WHERE seq = 10`)
		}},
		{name: "delete first row", kind: MissingAction, seq: 1, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `DELETE FROM actions WHERE seq = 1`)
		}},
		{name: "insert forged duplicate seq", kind: InsertedAction, seq: 12, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			insertRow(t, db, forge(t, acts[11], 12, acts[10].Hash, func(f *model.Action) { f.ActionID = "act-forged"; f.Name = "ccos.evil" }))
		}},
		{name: "insert forged next seq, bad link", kind: InsertedAction, seq: n + 1, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			insertRow(t, db, forge(t, acts[4], n+1, acts[4].Hash, func(f *model.Action) { f.ActionID = "act-forged" }))
		}},
		{name: "insert forged next seq, good link", unsigned: 1, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			insertRow(t, db, forge(t, acts[4], n+1, acts[n-1].Hash, func(f *model.Action) { f.ActionID = "act-forged" }))
		}},
		{name: "swap two rows", kind: Reordered, seq: 5, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			swapRows(t, db, 5, 8)
		}},
		{name: "swap adjacent rows", kind: Reordered, seq: 14, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			swapRows(t, db, 14, 15)
		}},
		{name: "corrupt checkpoint signature", kind: BadSignature, seq: 6, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `UPDATE checkpoints SET signature = zeroblob(64) WHERE seq = 6`)
		}},
		{name: "checkpoint head changed", kind: BadSignature, seq: 4, tamper: func(t *testing.T, db *sql.DB, acts []*model.Action) {
			exec1(t, db, `UPDATE checkpoints SET head_hash = ? WHERE seq = 4`, acts[2].Hash)
		}},
		{name: "truncated tail", kind: TruncatedTail, seq: 18, tamper: func(t *testing.T, db *sql.DB, _ []*model.Action) {
			exec1(t, db, `DELETE FROM actions WHERE seq >= 18`)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, acts := buildSQLite(t, n)
			db := rawDB(t, path)
			c.tamper(t, db, acts)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			st := openSQLite(t, path)
			defer st.Close()
			rep, err := Verify(context.Background(), st, testKeys())
			if c.kind == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if rep.Unsigned != c.unsigned || rep.HeadSeq != uint64(n+c.unsigned) || rep.Checkpoints != n {
					t.Errorf("report %+v", rep)
				}
				if c.unsigned > 0 {
					if _, err := Open(context.Background(), Options{Store: st, Key: testKey}); err == nil {
						t.Error("Open accepted an unsigned tail")
					}
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("verify: err = %v, want a %s at seq %d", err, c.kind, c.seq)
			}
			if ve.Kind != c.kind || ve.Seq != c.seq {
				t.Fatalf("verify: %v; want %s at seq %d", err, c.kind, c.seq)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("seq %d: %s", c.seq, c.kind)) {
				t.Errorf("message %q", err)
			}
			if rep == nil || rep.Actions > n {
				t.Errorf("partial report %+v", rep)
			}
			t.Logf("%v", err)
		})
	}
}

// swapRows exchanges the contents of the rows holding seqs a and b, so
// that storage order (rowid) has b before a.
func swapRows(t testing.TB, db *sql.DB, a, b uint64) {
	t.Helper()
	var ra, rb int64
	if err := db.QueryRow(`SELECT rowid FROM actions WHERE seq = ?`, int64(a)).Scan(&ra); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT rowid FROM actions WHERE seq = ?`, int64(b)).Scan(&rb); err != nil {
		t.Fatal(err)
	}
	exec1(t, db, `UPDATE actions SET rowid = -1 WHERE rowid = ?`, ra)
	exec1(t, db, `UPDATE actions SET rowid = ? WHERE rowid = ?`, ra, rb)
	exec1(t, db, `UPDATE actions SET rowid = ? WHERE rowid = -1`, rb)
}

// The crash test: a child process appends in a loop and prints every
// acknowledged append; it is killed with SIGKILL at a random moment.

const crashEnv = "CCOS_LEDGER_CRASH_DB"

func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	st, err := sqlite.Open(path)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	l, err := Open(context.Background(), Options{Store: st, Key: testKey})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				a, err := l.Append(context.Background(), sample(g*1_000_000+i))
				if err != nil {
					fmt.Println("ERR", err)
					os.Exit(3)
				}
				mu.Lock()
				// os.Stdout is unbuffered: the line is in the pipe
				// when Write returns.
				fmt.Fprintf(os.Stdout, "ACK %d %s\n", a.Seq, a.Hash)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	path := filepath.Join(t.TempDir(), "ccos.db")
	acked := map[uint64]string{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan []string)
		go func() {
			var got []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			lines <- got
		}()
		time.Sleep(time.Duration(200+rand.IntN(600)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		got := <-lines
		_ = cmd.Wait()
		n := 0
		for _, line := range got {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == "ERR" {
				t.Fatalf("child: %s", line)
			}
			if len(f) != 3 || f[0] != "ACK" || len(f[2]) != 64 {
				continue // a line cut by the kill
			}
			seq, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				continue
			}
			acked[seq] = f[2]
			n++
		}
		if n == 0 {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}

		st := openSQLite(t, path)
		stored := map[uint64]string{}
		if err := st.ScanActions(context.Background(), 1, func(a *model.Action) error {
			stored[a.Seq] = a.Hash
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for seq, h := range acked {
			if stored[seq] != h {
				t.Fatalf("round %d: acknowledged seq %d (%s) stored as %q", round, seq, h, stored[seq])
			}
		}
		rep, err := Verify(context.Background(), st, testKeys())
		if err != nil {
			t.Fatalf("round %d: verify after crash: %v", round, err)
		}
		if rep.Unsigned != 0 {
			t.Errorf("round %d: %d unsigned actions", round, rep.Unsigned)
		}
		t.Logf("round %d: %d acknowledged in this run, %d stored (%d acknowledged in all)", round, n, rep.Actions, len(acked))
		// The ledger reopens on the crashed store.
		l := openLedger(t, st, nil)
		if _, err := l.Append(context.Background(), &model.Action{Type: model.LogStep, Args: value.String("after crash")}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		st.Close()
	}
}

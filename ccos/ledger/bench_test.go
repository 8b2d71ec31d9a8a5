package ledger

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
)

// The benchmarks run on SQLite in a temporary directory (WAL,
// synchronous=FULL): every commit is fsynced.
//
//	go test -run '^$' -bench . -benchtime 20000x ./ccos/ledger

// BenchmarkAppend measures durable appends by 1, 8 and 64 concurrent
// appenders: actions/s, latency percentiles and the mean batch size the
// writer's group commit achieved.
func BenchmarkAppend(b *testing.B) {
	for _, p := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", p), func(b *testing.B) {
			st := openSQLite(b, filepath.Join(b.TempDir(), "ccos.db"))
			defer st.Close()
			l := openLedger(b, st, nil)
			ctx := context.Background()
			lat := make([][]time.Duration, p)
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for g := range p {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						t0 := time.Now()
						if _, err := l.Append(ctx, sample(int(i))); err != nil {
							b.Error(err)
							return
						}
						lat[g] = append(lat[g], time.Since(t0))
					}
				})
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			commits, actions := l.stats.commits.Load(), l.stats.actions.Load()
			l.Close()
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/el.Seconds(), "actions/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(actions)/float64(max(commits, 1)), "actions/commit")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchRows returns n hashed, linked actions shaped like the ones
// BenchmarkAppend writes.
func benchRows(b *testing.B, n int) []*model.Action {
	rows := make([]*model.Action, n)
	prev := ""
	for i := range rows {
		a := sample(i + 1)
		a.ActionID = NewActionID()
		a.Timestamp = model.Millis(time.Now())
		a.Seq, a.PrevHash = uint64(i+1), prev
		h, err := model.HashAction(a)
		if err != nil {
			b.Fatal(err)
		}
		a.Hash, prev = h, h
		rows[i] = a
	}
	return rows
}

// BenchmarkRawInsert inserts the same rows straight into the same schema
// with the same durability (WAL, synchronous=FULL), in transactions of the
// given size, without the ledger: the physical limit of this design.
func BenchmarkRawInsert(b *testing.B) {
	for _, batch := range []int{1, 32, 64, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "ccos.db")
			st := openSQLite(b, path) // creates the schema
			st.Close()
			db, err := sql.Open(sqlite.DriverName, "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			rows := benchRows(b, b.N)
			bodies := make([][]byte, len(rows))
			for i, a := range rows {
				if bodies[i], err = model.EncodeAction(a); err != nil {
					b.Fatal(err)
				}
			}
			ins, err := db.Prepare(`INSERT INTO actions (seq, action_id, parent_action_id, run_id, plan_id, intent_id, type, name, timestamp_ms, hash, prev_hash, body)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < len(rows); i += batch {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				st := tx.Stmt(ins)
				for j := i; j < min(i+batch, len(rows)); j++ {
					a := rows[j]
					if _, err := st.Exec(int64(a.Seq), a.ActionID, a.ParentActionID, a.RunID, a.PlanID, a.IntentID,
						string(a.Type), a.Name, a.Timestamp.UnixMilli(), a.Hash, a.PrevHash, bodies[j]); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "actions/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkVerify verifies a SQLite chain of 100,000 actions committed in
// batches of 64, each with a signed checkpoint (what 64 appenders
// produce).
func BenchmarkVerify(b *testing.B) {
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
	start := time.Now()
	for range b.N {
		rep, err := Verify(context.Background(), st, testKeys())
		if err != nil {
			b.Fatal(err)
		}
		if rep.Actions != n {
			b.Fatalf("verified %d actions", rep.Actions)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(n*b.N)/el.Seconds(), "actions/s")
}

// BenchmarkSubmitPipelined measures one goroutine submitting actions
// without waiting (as a run records its events) and waiting for all of
// them at the end: the writer's throughput when it is never starved.
func BenchmarkSubmitPipelined(b *testing.B) {
	st := openSQLite(b, filepath.Join(b.TempDir(), "ccos.db"))
	defer st.Close()
	l := openLedger(b, st, nil)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	ps := make([]*Pending, 0, b.N)
	for i := range b.N {
		p, err := l.Submit(ctx, sample(i))
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if _, err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	commits, actions := l.stats.commits.Load(), l.stats.actions.Load()
	l.Close()
	b.ReportMetric(float64(b.N)/el.Seconds(), "actions/s")
	b.ReportMetric(float64(actions)/float64(max(commits, 1)), "actions/commit")
	b.ReportMetric(0, "ns/op")
}

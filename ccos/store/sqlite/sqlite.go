// Package sqlite is the default, durable store.Store: one SQLite database
// file (github.com/mattn/go-sqlite3, driver name "sqlite3") in WAL mode
// with synchronous=FULL, so that Commit returns only once its batch is on
// disk.
//
// # Schema (version 2)
//
// Every object is stored as its canonical encoding (model.EncodeAction,
// EncodeIntent, EncodeEdge, EncodePlan) in a body column, next to indexed
// columns copied from it:
//
//	schema_migrations(version INTEGER PRIMARY KEY, applied_at TEXT)
//	actions(seq, action_id UNIQUE, parent_action_id, run_id, plan_id,
//	        intent_id, type, name, timestamp_ms, hash, prev_hash, body)
//	checkpoints(seq, head_hash, time_ms, key_id, signature BLOB)
//	intents(intent_id PRIMARY KEY, status, priority, parent_intent,
//	        created_ms, name, goal, original_request, body)
//	intent_edges(from_id, to_id, type, body, PRIMARY KEY(from_id, to_id, type))
//	plans(hash PRIMARY KEY, plan_id, status, created_ms, body)
//	plan_intents(hash, position, intent_id, PRIMARY KEY(hash, position))
//
// Text columns hold "" (never NULL) for absent values; times are Unix
// milliseconds (UTC). actions is indexed on action_id (unique), seq,
// (run_id, seq), (plan_id, seq), (intent_id, seq), (type, seq),
// (name, seq), timestamp_ms and, for the actions that have a parent only,
// (parent_action_id, seq) (version 2).
//
// # Writing
//
// A batch is one IMMEDIATE transaction on the single writer connection:
// the actions go in with prepared multi-row INSERT OR ROLLBACK statements
// (a failing row rolls back the whole transaction, so SQLite needs no
// statement journal for them), the mutations and the checkpoint follow,
// and COMMIT returns once the WAL is fsynced.
//
// actions is an ordinary rowid table and seq is not unique: the store
// holds actions in rowid (insertion) order, ScanActions returns them in
// that order, and nothing in the schema prevents a row from being edited,
// deleted, inserted or moved, so that verification (not the schema) is
// what detects such tampering. An action read back is its body with the
// indexed columns (seq, action_id, parent_action_id, run_id, plan_id,
// intent_id, type, name, timestamp_ms, hash, prev_hash) taking precedence,
// so that editing either the body or a column changes what verification
// sees. Tests that tamper with the file open it with
// sql.Open("sqlite3", path) (importing this package registers the
// driver).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
)

// DriverName is the database/sql driver this package registers (through
// github.com/mattn/go-sqlite3): what tools and tests that open the file
// directly use.
const DriverName = "sqlite3"

// driverName is the driver the store's own handles use: DriverName's
// driver with per-connection settings that the DSN cannot express.
const driverName = "sqlite3-ccos"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Keep temporary data (statement journals, sorts) in memory.
		// With temp_store=FILE, a statement journal that outgrows
		// 64 KiB spills to a new temporary file: before the action
		// inserts became INSERT OR ROLLBACK, every commit of a batch
		// opened, wrote (~100 KB) and closed one. It is scratch data:
		// a crash loses nothing that was committed.
		_, err := c.Exec(`PRAGMA temp_store=MEMORY`, nil)
		return err
	}})
}

// SchemaVersion is the schema version this code creates and understands.
var SchemaVersion = len(migrations)

// Store is the SQLite store.Store.
type Store struct {
	path   string
	w      *sql.DB      // the writer: one connection
	r      *sql.DB      // readers
	insAct [2]*sql.Stmt // insert 1 row, insert multiRows rows
	maxSeq *sql.Stmt    // the stored chain's last seq
	insCp  *sql.Stmt    // insert a checkpoint
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// escapePath makes path usable in an SQLite URI.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func dsn(path string, write bool) string {
	q := "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=on&_cache_size=-32768"
	if write {
		q += "&_txlock=immediate"
	} else {
		q += "&_query_only=true"
	}
	return "file:" + escapePath(path) + "?" + q
}

// Open opens (creating if needed) the database at path, whose directory
// must exist, and brings its schema up to date. It refuses a database
// whose schema is newer than this code.
func Open(path string) (*Store, error) {
	w, err := sql.Open(driverName, dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{path: path, w: w}
	if err := s.migrate(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	r, err := sql.Open(driverName, dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := r.Ping(); err != nil {
		s.closeHandles()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The writer's statements are prepared once: preparing is a good part
	// of the cost of a small statement.
	for i, n := range []int{1, multiRows} {
		q := insertActionSQL + strings.Repeat(", "+insertActionRow, n)[2:]
		if s.insAct[i], err = w.Prepare(q); err != nil {
			s.closeHandles()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	if s.maxSeq, err = w.Prepare(`SELECT COALESCE(MAX(seq), 0) FROM actions`); err == nil {
		s.insCp, err = w.Prepare(`INSERT INTO checkpoints (seq, head_hash, time_ms, key_id, signature) VALUES (?, ?, ?, ?, ?)`)
	}
	if err != nil {
		s.closeHandles()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	return s, nil
}

// migrate applies the missing migrations in one transaction.
func (s *Store) migrate() error {
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	var v int
	if err := tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program supports (%d)", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if _, err := tx.Exec(migrations[v]); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			v+1, model.FormatTime(time.Now())); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return tx.Commit()
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// DB returns the read handle (query_only), for tests and diagnostics.
func (s *Store) DB() *sql.DB { return s.r }

func (s *Store) closeHandles() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.insAct[0], s.insAct[1], s.maxSeq, s.insCp} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Close implements store.Store. Later calls (but Close) return
// store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.closeHandles()
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// Commit implements store.Store: one IMMEDIATE transaction per batch.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("commit", err)
	}
	defer tx.Rollback()
	var head uint64
	if err := tx.StmtContext(ctx, s.maxSeq).QueryRowContext(ctx).Scan(&head); err != nil {
		return s.wrap("commit", err)
	}
	if err := store.CheckBatch(head, b); err != nil {
		return err
	}
	if err := s.insertActions(ctx, tx, b.Actions, b.Bodies); err != nil {
		return err
	}
	for _, m := range b.Mutations {
		if err := applyMutation(ctx, tx, store.Deref(m)); err != nil {
			return err
		}
	}
	if c := b.Checkpoint; c != nil {
		if _, err := tx.StmtContext(ctx, s.insCp).ExecContext(ctx,
			int64(c.Seq), c.HeadHash, c.Time.UnixMilli(), c.KeyID, c.Signature); err != nil {
			return s.wrap("commit checkpoint", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("commit", err)
	}
	return nil
}

const (
	insertActionSQL = `INSERT OR ROLLBACK INTO actions (seq, action_id, parent_action_id, run_id, plan_id, intent_id, type, name, timestamp_ms, hash, prev_hash, body) VALUES `
	insertActionRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	actionParams    = 12
	// multiRows actions are inserted per statement when the batch has as
	// many left: fewer statement executions for large batches.
	multiRows = 32
)

// insertActions inserts the actions of a batch with the prepared
// statements, several rows per statement.
func (s *Store) insertActions(ctx context.Context, tx *sql.Tx, as []*model.Action, bodies [][]byte) error {
	if len(bodies) != len(as) {
		bodies = nil
	}
	if len(as) == 0 {
		return nil
	}
	var stmts [2]*sql.Stmt
	args := make([]any, 0, multiRows*actionParams)
	for len(as) > 0 {
		n, k := 1, 0
		if len(as) >= multiRows {
			n, k = multiRows, 1
		}
		if stmts[k] == nil {
			stmts[k] = tx.StmtContext(ctx, s.insAct[k])
		}
		args = args[:0]
		for i, a := range as[:n] {
			var body []byte
			if bodies != nil {
				body = bodies[i]
			} else {
				var err error
				if body, err = model.EncodeAction(a); err != nil {
					return fmt.Errorf("sqlite: commit: action %d: %w", a.Seq, err)
				}
			}
			args = append(args, int64(a.Seq), a.ActionID, a.ParentActionID, a.RunID, a.PlanID, a.IntentID,
				string(a.Type), a.Name, a.Timestamp.UnixMilli(), a.Hash, a.PrevHash, body)
		}
		if _, err := stmts[k].ExecContext(ctx, args...); err != nil {
			if isUnique(err) {
				return fmt.Errorf("sqlite: commit: an action id of seq %d..%d is already stored: %w", as[0].Seq, as[n-1].Seq, err)
			}
			return s.wrap("commit", err)
		}
		as = as[n:]
		if bodies != nil {
			bodies = bodies[n:]
		}
	}
	return nil
}

func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}

func (s *Store) wrap(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func applyMutation(ctx context.Context, tx *sql.Tx, m store.Mutation) error {
	switch m := m.(type) {
	case store.PutIntent:
		in := m.Intent
		body, err := model.EncodeIntent(in)
		if err != nil {
			return fmt.Errorf("sqlite: intent %s: %w", in.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO intents (intent_id, status, priority, parent_intent, created_ms, name, goal, original_request, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (intent_id) DO UPDATE SET status = excluded.status, priority = excluded.priority,
				parent_intent = excluded.parent_intent, created_ms = excluded.created_ms, name = excluded.name,
				goal = excluded.goal, original_request = excluded.original_request, body = excluded.body`,
			in.ID, string(in.Status), in.Priority, in.ParentIntent, in.CreatedAt.UnixMilli(), in.Name, in.Goal, in.OriginalRequest, body); err != nil {
			return fmt.Errorf("sqlite: intent %s: %w", in.ID, err)
		}
	case store.PutEdge:
		e := m.Edge
		body, err := model.EncodeEdge(e)
		if err != nil {
			return fmt.Errorf("sqlite: edge %s->%s: %w", e.From, e.To, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO intent_edges (from_id, to_id, type, body) VALUES (?, ?, ?, ?)
			ON CONFLICT (from_id, to_id, type) DO UPDATE SET body = excluded.body`,
			e.From, e.To, string(e.Type), body); err != nil {
			return fmt.Errorf("sqlite: edge %s->%s: %w", e.From, e.To, err)
		}
	case store.PutPlan:
		var old []byte
		err := tx.QueryRowContext(ctx, `SELECT body FROM plans WHERE hash = ?`, m.Hash).Scan(&old)
		switch {
		case err == nil:
			// Archived already: keep the content, take the new status.
			p, err := model.DecodePlan(old)
			if err != nil {
				return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
			}
			p.Status = m.Plan.Status
			body, err := model.EncodePlan(p)
			if err != nil {
				return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE plans SET status = ?, body = ? WHERE hash = ?`, string(p.Status), body, m.Hash); err != nil {
				return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
			}
		case errors.Is(err, sql.ErrNoRows):
			p := m.Plan
			body, err := model.EncodePlan(p)
			if err != nil {
				return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO plans (hash, plan_id, status, created_ms, body) VALUES (?, ?, ?, ?, ?)`,
				m.Hash, p.ID, string(p.Status), p.CreatedAt.UnixMilli(), body); err != nil {
				return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
			}
			for i, id := range p.IntentIDs {
				if _, err := tx.ExecContext(ctx, `INSERT INTO plan_intents (hash, position, intent_id) VALUES (?, ?, ?)`, m.Hash, i, id); err != nil {
					return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
				}
			}
		default:
			return fmt.Errorf("sqlite: plan %s: %w", m.Hash, err)
		}
	}
	return nil
}

const actionCols = `seq, action_id, parent_action_id, run_id, plan_id, intent_id, type, name, timestamp_ms, hash, prev_hash, body`

type scanner interface{ Scan(dest ...any) error }

// scanAction reads a row of actionCols: the body, with the columns taking
// precedence. The columns are scanned as sql.RawBytes and only copied when
// they differ from the body.
func scanAction(sc scanner) (*model.Action, error) {
	var r store.RawAction
	if err := scanRaw(sc, &r, false); err != nil {
		return nil, err
	}
	return r.Decode()
}

// scanRaw reads one row of actionCols into r. The body is copied only
// when keep is set: otherwise it aliases the driver's buffer and is valid
// until the next Scan.
func scanRaw(sc scanner, r *store.RawAction, keep bool) error {
	var (
		id, parent, run, plan, intent, typ, name, hash, prev sql.RawBytes
		body                                                 sql.RawBytes
	)
	if err := sc.Scan(&r.Seq, &id, &parent, &run, &plan, &intent, &typ, &name, &r.TimestampMs, &hash, &prev, &body); err != nil {
		return err
	}
	r.ActionID, r.ParentActionID, r.RunID = string(id), string(parent), string(run)
	r.PlanID, r.IntentID, r.Type, r.Name = string(plan), string(intent), string(typ), string(name)
	r.Hash, r.PrevHash = string(hash), string(prev)
	if keep {
		r.Body = append([]byte(nil), body...)
	} else {
		r.Body = body
	}
	return nil
}

// ScanRawActions implements store.RawScanner: every action in storage
// (rowid) order, undecoded.
func (s *Store) ScanRawActions(ctx context.Context, fn func(*store.RawAction) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+actionCols+` FROM actions ORDER BY rowid`)
	if err != nil {
		return s.wrap("scan actions", err)
	}
	defer rows.Close()
	for rows.Next() {
		r := &store.RawAction{}
		if err := scanRaw(rows, r, true); err != nil {
			return s.wrap("scan actions", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("scan actions", err)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAction returns the first action of a query, or sql.ErrNoRows.
func queryAction(ctx context.Context, q querier, query string, args ...any) (*model.Action, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	return scanAction(rows)
}

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (*model.Action, *model.Checkpoint, error) {
	if err := s.check(ctx); err != nil {
		return nil, nil, err
	}
	// One read transaction, so the two rows come from the same snapshot.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, s.wrap("head", err)
	}
	defer tx.Rollback()
	a, err := queryAction(ctx, tx, `SELECT `+actionCols+` FROM actions ORDER BY seq DESC, rowid DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		a, err = nil, nil
	}
	if err != nil {
		return nil, nil, s.wrap("head", err)
	}
	c, err := scanCheckpoint(tx.QueryRowContext(ctx, `SELECT seq, head_hash, time_ms, key_id, signature FROM checkpoints ORDER BY seq DESC, rowid DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		c, err = nil, nil
	}
	if err != nil {
		return nil, nil, s.wrap("head", err)
	}
	return a, c, nil
}

func scanCheckpoint(sc scanner) (*model.Checkpoint, error) {
	var (
		seq, ms     int64
		head, keyID sql.NullString
		sig         []byte
	)
	if err := sc.Scan(&seq, &head, &ms, &keyID, &sig); err != nil {
		return nil, err
	}
	return &model.Checkpoint{Seq: uint64(seq), HeadHash: head.String, Time: time.UnixMilli(ms).UTC(), KeyID: keyID.String, Signature: sig}, nil
}

// ScanActions implements store.Store, in rowid order.
func (s *Store) ScanActions(ctx context.Context, from uint64, fn func(*model.Action) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	var rows *sql.Rows
	var err error
	if from <= 1 {
		rows, err = s.r.QueryContext(ctx, `SELECT `+actionCols+` FROM actions ORDER BY rowid`)
	} else {
		rows, err = s.r.QueryContext(ctx, `SELECT `+actionCols+` FROM actions
			WHERE rowid >= (SELECT MIN(rowid) FROM actions WHERE seq >= ?1) AND seq >= ?1 ORDER BY rowid`, int64(from))
	}
	if err != nil {
		return s.wrap("scan actions", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return s.wrap("scan actions", err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("scan actions", err)
	}
	return nil
}

// ScanCheckpoints implements store.Store.
func (s *Store) ScanCheckpoints(ctx context.Context, fn func(*model.Checkpoint) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, head_hash, time_ms, key_id, signature FROM checkpoints ORDER BY seq, rowid`)
	if err != nil {
		return s.wrap("scan checkpoints", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return s.wrap("scan checkpoints", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("scan checkpoints", err)
	}
	return nil
}

// Action implements store.Store.
func (s *Store) Action(ctx context.Context, id string) (*model.Action, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	a, err := queryAction(ctx, s.r, `SELECT `+actionCols+` FROM actions WHERE action_id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("action %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("action", err)
	}
	return a, nil
}

// Actions implements store.Store.
func (s *Store) Actions(ctx context.Context, q store.ActionQuery) ([]*model.Action, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("run_id", q.RunID)
	eq("plan_id", q.PlanID)
	eq("intent_id", q.IntentID)
	eq("type", string(q.Type))
	eq("name", q.Name)
	if q.ParentID != "" {
		// The index on parent_action_id is partial (WHERE parent_action_id <> '').
		where = append(where, "parent_action_id = ? AND parent_action_id <> ''")
		args = append(args, q.ParentID)
	}
	if !q.Since.IsZero() {
		where = append(where, "timestamp_ms >= ?")
		args = append(args, store.CeilMillis(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "timestamp_ms < ?")
		args = append(args, store.CeilMillis(q.Until))
	}
	if q.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, int64(q.AfterSeq))
	}
	query := `SELECT ` + actionCols + ` FROM actions`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	last := q.Last && q.Limit > 0
	if last {
		query += " ORDER BY seq DESC, rowid DESC"
	} else {
		query += " ORDER BY seq, rowid"
	}
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("actions", err)
	}
	defer rows.Close()
	var out []*model.Action
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, s.wrap("actions", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("actions", err)
	}
	if last {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// Intent implements store.Store.
func (s *Store) Intent(ctx context.Context, id string) (*model.Intent, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var body []byte
	err := s.r.QueryRowContext(ctx, `SELECT body FROM intents WHERE intent_id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("intent %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("intent", err)
	}
	in, err := model.DecodeIntent(body)
	if err != nil {
		return nil, s.wrap("intent", err)
	}
	return in, nil
}

// Intents implements store.Store: newest first (created_at descending,
// then id). The text filter runs in Go, for Unicode case folding.
func (s *Store) Intents(ctx context.Context, q store.IntentQuery) ([]*model.Intent, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(q.Status))
	}
	if q.MinPriority != nil {
		where = append(where, "priority >= ?")
		args = append(args, *q.MinPriority)
	}
	if q.Parent != "" {
		where = append(where, "parent_intent = ?")
		args = append(args, q.Parent)
	}
	query := `SELECT body FROM intents`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_ms DESC, intent_id"
	if q.Limit > 0 && q.Text == "" {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("intents", err)
	}
	defer rows.Close()
	var out []*model.Intent
	for rows.Next() && (q.Limit <= 0 || len(out) < q.Limit) {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, s.wrap("intents", err)
		}
		in, err := model.DecodeIntent(body)
		if err != nil {
			return nil, s.wrap("intents", err)
		}
		if store.MatchText(in, q.Text) {
			out = append(out, in)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("intents", err)
	}
	return out, nil
}

// Edges implements store.Store: ordered by from, to, type.
func (s *Store) Edges(ctx context.Context, q store.EdgeQuery) ([]*model.IntentEdge, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	for _, f := range []struct{ col, v string }{{"from_id", q.From}, {"to_id", q.To}, {"type", string(q.Type)}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	query := `SELECT body FROM intent_edges`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY from_id, to_id, type"
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("edges", err)
	}
	defer rows.Close()
	var out []*model.IntentEdge
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, s.wrap("edges", err)
		}
		e, err := model.DecodeEdge(body)
		if err != nil {
			return nil, s.wrap("edges", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("edges", err)
	}
	return out, nil
}

// PlanByHash implements store.Store.
func (s *Store) PlanByHash(ctx context.Context, hash string) (*model.Plan, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var body []byte
	err := s.r.QueryRowContext(ctx, `SELECT body FROM plans WHERE hash = ?`, hash).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("plan %q: %w", hash, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("plan", err)
	}
	p, err := model.DecodePlan(body)
	if err != nil {
		return nil, s.wrap("plan", err)
	}
	return p, nil
}

// Plans implements store.Store: newest first (created_at descending, then
// the most recently archived).
func (s *Store) Plans(ctx context.Context, q store.PlanQuery) ([]store.ArchivedPlan, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if q.PlanID != "" {
		where = append(where, "plan_id = ?")
		args = append(args, q.PlanID)
	}
	if q.IntentID != "" {
		where = append(where, "hash IN (SELECT hash FROM plan_intents WHERE intent_id = ?)")
		args = append(args, q.IntentID)
	}
	query := `SELECT hash, body FROM plans`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_ms DESC, rowid DESC"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("plans", err)
	}
	defer rows.Close()
	var out []store.ArchivedPlan
	for rows.Next() {
		var hash string
		var body []byte
		if err := rows.Scan(&hash, &body); err != nil {
			return nil, s.wrap("plans", err)
		}
		p, err := model.DecodePlan(body)
		if err != nil {
			return nil, s.wrap("plans", err)
		}
		out = append(out, store.ArchivedPlan{Hash: hash, Plan: p})
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("plans", err)
	}
	return out, nil
}

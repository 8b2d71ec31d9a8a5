package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ccos-go/ccos/ccos/store"
)

// Reading every action (verification) is bound by the reading goroutine,
// and through database/sql each column of a row costs about as much as
// the body. packedQuery has SQLite join the columns and the body into one
// value, so that the reader handles one column per row and the splitting
// is left to UnpackAction on other goroutines.
//
// A packed row is rowid, then actionCols in their order (body last),
// joined by NUL bytes. Canonical bodies and the columns the store writes
// contain no NUL, so a row splits unambiguously when it has exactly
// packedFields-1 NULs (concat takes a NULL as "", as scanRaw does for
// the text columns; the integers must parse). Rows that do not split
// so, or whose integers database/sql might scan differently, are read
// again column by column (scanRaw, in the same read transaction, so from
// the same snapshot) and handed out unpacked: every row comes out exactly
// as ScanRawActions returns it.
const (
	packedQuery = `SELECT concat(rowid, x'00', seq, x'00', action_id, x'00', parent_action_id, x'00', run_id, x'00', plan_id, x'00',
		intent_id, x'00', type, x'00', name, x'00', timestamp_ms, x'00', hash, x'00', prev_hash, x'00', body) FROM actions ORDER BY rowid`
	// packedFields is the number of NUL-separated fields of a packed row.
	packedFields = 13
)

var _ store.PackedScanner = (*Store)(nil)

// ScanPackedActions implements store.PackedScanner: every action in
// storage (rowid) order, as ScanRawActions, from one read transaction.
func (s *Store) ScanPackedActions(ctx context.Context, fn func(packed string, raw *store.RawAction) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.wrap("scan actions", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, packedQuery)
	if err != nil {
		return s.wrap("scan actions", err)
	}
	defer rows.Close()
	var row string // concat is never NULL
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return s.wrap("scan actions", err)
		}
		if packable(row) {
			if err := fn(row, nil); err != nil {
				return err
			}
			continue
		}
		var f [packedFields]string
		rowid, haveRowid, _ := splitPacked(row, &f)
		if !haveRowid {
			return s.wrap("scan actions", fmt.Errorf("packed row without a rowid: %q", row))
		}
		// The exact path, for the rare row that does not pack.
		r, err := s.rawRow(ctx, tx, rowid)
		if err != nil {
			return s.wrap("scan actions", err)
		}
		if err := fn("", r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("scan actions", err)
	}
	return nil
}

// rawRow reads the row rowid as ScanRawActions does.
func (s *Store) rawRow(ctx context.Context, tx *sql.Tx, rowid int64) (*store.RawAction, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+actionCols+` FROM actions WHERE rowid = ?`, rowid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("row %d vanished", rowid)
	}
	r := &store.RawAction{}
	if err := scanRaw(rows, r, true); err != nil {
		return nil, err
	}
	return r, rows.Close()
}

// errNotPacked is what UnpackAction returns for a row that
// ScanPackedActions would not have handed out packed.
var errNotPacked = errors.New("sqlite: not a packed action row")

// UnpackAction implements store.PackedScanner.
func (s *Store) UnpackAction(packed string, r *store.RawAction) error {
	var f [packedFields]string
	if splitFields(packed, &f) != packedFields || strings.IndexByte(f[12], 0) >= 0 {
		return errNotPacked
	}
	var err1, err2 error
	r.Seq, err1 = strconv.ParseInt(f[1], 10, 64)
	r.TimestampMs, err2 = strconv.ParseInt(f[9], 10, 64)
	if err1 != nil || err2 != nil {
		return errNotPacked
	}
	r.ActionID, r.ParentActionID, r.RunID = f[2], f[3], f[4]
	r.PlanID, r.IntentID, r.Type, r.Name = f[5], f[6], f[7], f[8]
	r.Hash, r.PrevHash = f[10], f[11]
	r.Body = append(r.Body[:0], f[12]...)
	return nil
}

// packable is a quick check that splitPacked accepts row: exactly
// packedFields-1 NULs and seq and timestamp_ms of 1 to 18 decimal digits
// (which strconv.ParseInt always takes).
func packable(row string) bool {
	if strings.Count(row, "\x00") != packedFields-1 {
		return false
	}
	for i := range packedFields - 3 { // up to timestamp_ms
		j := strings.IndexByte(row, 0)
		if i == 1 || i == 9 {
			if j < 1 || j > 18 {
				return false
			}
			for k := range j {
				if c := row[k]; c < '0' || c > '9' {
					return false
				}
			}
		}
		row = row[j+1:]
	}
	return true
}

// splitFields splits row at its first packedFields-1 NULs into f (the
// last field takes the rest) and returns the number of fields.
func splitFields(row string, f *[packedFields]string) int {
	n := 0
	for n < packedFields-1 {
		i := strings.IndexByte(row, 0)
		if i < 0 {
			break
		}
		f[n], row = row[:i], row[i+1:]
		n++
	}
	f[n] = row
	return n + 1
}

// splitPacked splits a packed row into f and reports whether it is one
// that UnpackAction can take: exactly packedFields fields, with seq and
// timestamp_ms integers that scanning the columns into int64 gives back
// (database/sql parses an INTEGER's text the same way, and text or blobs
// in those columns with strconv.ParseInt too; a REAL, whose SQLite text
// differs from database/sql's, never parses). It also returns the rowid
// when the row has one (haveRowid), to read the row again.
func splitPacked(row string, f *[packedFields]string) (rowid int64, haveRowid, ok bool) {
	n := splitFields(row, f) - 1
	row = f[n]
	if n == 0 {
		return 0, false, false
	}
	rowid, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, false, false
	}
	if n != packedFields-1 || strings.IndexByte(row, 0) >= 0 {
		return rowid, true, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return rowid, true, false
	}
	if _, err := strconv.ParseInt(f[9], 10, 64); err != nil {
		return rowid, true, false
	}
	return rowid, true, true
}

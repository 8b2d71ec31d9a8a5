package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ccos-go/ccos/ccos/home"
	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
	"github.com/ccos-go/ccos/rtfs/value"
)

func runChain(c *cli, args []string) int {
	return runGroup(c, "chain", "Inspect and verify the causal chain: the signed, hash-chained record of\neverything that happened.", []subcommand{
		{"list", "list actions (default: the last 50)", runChainList},
		{"show", "show one action", runChainShow},
		{"verify", "re-check every hash, link and signature", runChainVerify},
	}, args)
}

func runChainList(c *cli, args []string) int {
	fs := newFlagSet(c, "chain list", "",
		"List causal-chain actions in seq order: the last --limit matching ones.")
	var d dataFlags
	d.register(fs, true)
	var q store.ActionQuery
	fs.StringVar(&q.RunID, "run", "", "only actions of run `R`")
	fs.StringVar(&q.PlanID, "plan", "", "only actions of plan `P`")
	fs.StringVar(&q.IntentID, "intent", "", "only actions about intent `I`")
	typ := fs.String("type", "", "only actions of type `T` (e.g. IntentStatusChanged)")
	fs.StringVar(&q.Name, "name", "", "only actions with step or capability name `NAME`")
	fs.StringVar(&q.ParentID, "parent", "", "only children of the action `ID`")
	limit := fs.Int("limit", 50, "show the last `N` matching actions (0: all)")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return usageError(c, fs, "unexpected argument %q", pos[0])
	}
	if *typ != "" {
		if !model.ActionType(*typ).Valid() {
			return usageError(c, fs, "unknown action type %q", *typ)
		}
		q.Type = model.ActionType(*typ)
	}
	if *limit < 0 {
		return usageError(c, fs, "--limit must not be negative")
	}
	q.Limit, q.Last = *limit, *limit > 0
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		acts, err := e.st.Actions(ctx, q)
		if err != nil {
			return 1, err
		}
		if d.json {
			for _, a := range acts {
				b, err := model.EncodeAction(a)
				if err := printJSON(c.stdout, b, err); err != nil {
					return 1, err
				}
			}
			return 0, nil
		}
		if len(acts) == 0 {
			fmt.Fprintln(c.stdout, "no actions")
			return 0, nil
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "SEQ\tTIME\tTYPE\tACTION\tINTENT\tPLAN\tDETAIL")
		for _, a := range acts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Seq, when(a.Timestamp), a.Type, a.ActionID,
				cell(a.IntentID, 0), cell(a.PlanID, 24), cell(actionSummary(a), 60))
		}
		return 0, tw.Flush()
	})
}

func runChainShow(c *cli, args []string) int {
	fs := newFlagSet(c, "chain show", "ACTION_ID|SEQ",
		"Show one action of the causal chain with all its fields.")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "want exactly one ACTION_ID (or seq number)")
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		a, err := findAction(ctx, e.st, pos[0])
		if err != nil {
			return 1, err
		}
		if d.json {
			b, err := model.EncodeAction(a)
			return 0, printJSON(c.stdout, b, err)
		}
		children, err := e.st.Actions(ctx, store.ActionQuery{ParentID: a.ActionID})
		if err != nil {
			return 1, err
		}
		tw := newTable(c.stdout)
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(tw, "%s\t%s\n", k, v)
			}
		}
		row("Seq", strconv.FormatUint(a.Seq, 10))
		row("Action", a.ActionID)
		row("Type", string(a.Type))
		row("Time", model.FormatTime(a.Timestamp))
		row("Name", a.Name)
		row("Parent", a.ParentActionID)
		row("Run", a.RunID)
		row("Plan", a.PlanID)
		row("Intent", a.IntentID)
		if a.Args != nil {
			row("Args", value.Repr(a.Args))
		}
		if r := a.Result; r != nil {
			row("Success", strconv.FormatBool(r.Success))
			if r.Value != nil {
				row("Value", value.Repr(r.Value))
			}
			if r.Error != nil {
				row("Error", r.Error.Type+": "+r.Error.Message)
				if r.Error.Data != nil {
					row("Error data", value.Repr(r.Error.Data))
				}
			}
		}
		if a.Cost != nil {
			row("Cost", strconv.FormatFloat(*a.Cost, 'g', -1, 64))
		}
		if a.DurationMs != nil {
			row("Duration", (time.Duration(*a.DurationMs) * time.Millisecond).String())
		}
		if a.Metadata != nil && a.Metadata.Len() > 0 {
			row("Metadata", value.Repr(a.Metadata))
		}
		row("Prev hash", a.PrevHash)
		row("Hash", a.Hash)
		if len(children) > 0 {
			ids := make([]string, len(children))
			for i, ch := range children {
				ids[i] = fmt.Sprintf("%s (%s)", ch.ActionID, ch.Type)
			}
			row("Children", strings.Join(ids, ", "))
		}
		return 0, tw.Flush()
	})
}

// findAction looks an action up by id, or by seq when ref is a number.
func findAction(ctx context.Context, st store.Store, ref string) (*model.Action, error) {
	a, err := st.Action(ctx, ref)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	if n, perr := strconv.ParseUint(ref, 10, 64); perr == nil && n > 0 {
		as, err := st.Actions(ctx, store.ActionQuery{AfterSeq: n - 1, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(as) == 1 && as[0].Seq == n {
			return as[0], nil
		}
	}
	return nil, fmt.Errorf("action %s: %w", ref, store.ErrNotFound)
}

func runChainVerify(c *cli, args []string) int {
	fs := newFlagSet(c, "chain verify", "",
		"Re-check the whole causal chain: every action's hash, every prev_hash link,\n"+
			"the seq order and every checkpoint signature (keys: the data directory's\n"+
			"ledger key and :trusted-keys of config.rtfs). Nothing is written.\n"+
			"Exit status: 0 and a one-line summary when intact; 1 naming the first bad\n"+
			"seq and what is wrong otherwise.")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return usageError(c, fs, "unexpected argument %q", pos[0])
	}
	fail := func(err error) int {
		var ve *ledger.VerifyError
		if d.json {
			o := map[string]any{"ok": false, "error": err.Error()}
			if errors.As(err, &ve) {
				o["seq"], o["kind"], o["detail"] = ve.Seq, fmt.Sprint(ve.Kind), ve.Detail
			}
			writeJSONObject(c.stdout, o)
		}
		if errors.As(err, &ve) {
			fmt.Fprintf(c.stderr, "FAIL: seq %d: %s: %s\n", ve.Seq, ve.Kind, ve.Detail)
		} else {
			fmt.Fprintf(c.stderr, "FAIL: %v\n", err)
		}
		return 1
	}
	path, err := home.Resolve(d.dir)
	if err != nil {
		return fail(err)
	}
	// Verifying must not create anything: a missing database is a
	// failure, not an empty (and trivially intact) chain.
	if _, err := os.Stat(filepath.Join(path, home.DBFile)); err != nil {
		return fail(fmt.Errorf("no causal chain in %s: %w", path, err))
	}
	h, err := home.Open(path)
	if err != nil {
		return fail(err)
	}
	keys, err := h.TrustedKeys()
	if err != nil {
		return fail(err)
	}
	st, err := sqlite.Open(h.DBPath())
	if err != nil {
		return fail(fmt.Errorf("opening %s: %w", h.DBPath(), err))
	}
	defer st.Close()
	rep, err := ledger.Verify(context.Background(), st, keys)
	if err != nil {
		return fail(err)
	}
	if rep.Unsigned > 0 {
		// The ledger signs every batch it commits, so actions after the
		// last checkpoint were written behind its back.
		first := rep.HeadSeq - uint64(rep.Unsigned) + 1
		return fail(&ledger.VerifyError{Seq: first, Kind: "unsigned tail", Detail: fmt.Sprintf(
			"%d actions (seq %d..%d) after the last checkpoint are not covered by any signature", rep.Unsigned, first, rep.HeadSeq)})
	}
	if d.json {
		writeJSONObject(c.stdout, map[string]any{
			"ok": true, "actions": rep.Actions, "checkpoints": rep.Checkpoints,
			"head_seq": rep.HeadSeq, "head_hash": rep.HeadHash,
			"elapsed_ms": rep.Elapsed.Milliseconds(),
		})
		return 0
	}
	head := ""
	if rep.HeadHash != "" {
		head = " (" + rep.HeadHash[:min(12, len(rep.HeadHash))] + "…)"
	}
	fmt.Fprintf(c.stdout, "ok: %d actions, %d checkpoints, head seq %d%s, verified in %s\n",
		rep.Actions, rep.Checkpoints, rep.HeadSeq, head, roundDuration(rep.Elapsed))
	return 0
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

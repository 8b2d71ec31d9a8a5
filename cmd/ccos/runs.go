package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/orchestrator"
	"github.com/ccos-go/ccos/rtfs/value"
)

func runRuns(c *cli, args []string) int {
	return runGroup(c, "runs", "Inspect plan runs, from the causal chain: status (running, paused,\ncompleted, failed, interrupted) and step tree.", []subcommand{
		{"list", "list runs, newest first", runRunsList},
		{"show", "show a run and its step tree", runRunsShow},
	}, args)
}

// withOrchestrator opens the data directory read-only with an
// orchestrator for queries.
func withOrchestrator(c *cli, name string, d *dataFlags, fn func(ctx context.Context, o *orchestrator.Orchestrator) (int, error)) int {
	return withData(c, name, d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		o := orchestrator.New(orchestrator.Config{Store: e.st, Intents: e.graph, Plans: e.plans, LockDir: runsDir(e)})
		return fn(ctx, o)
	})
}

// runsDir holds the lock files of live runs.
func runsDir(e *dataEnv) string { return filepath.Join(e.home.Dir(), "runs") }

func runRunsList(c *cli, args []string) int {
	fs := newFlagSet(c, "runs list", "", "List runs, newest first.")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return usageError(c, fs, "unexpected argument %q", pos[0])
	}
	return withOrchestrator(c, fs.Name(), &d, func(ctx context.Context, o *orchestrator.Orchestrator) (int, error) {
		runs, err := o.Runs(ctx)
		if err != nil {
			return 1, err
		}
		if d.json {
			for _, r := range runs {
				writeJSONObject(c.stdout, runJSON(&r))
			}
			return 0, nil
		}
		if len(runs) == 0 {
			fmt.Fprintln(c.stdout, "no runs")
			return 0, nil
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "RUN\tSTATUS\tPLAN\tINTENT\tSTARTED\tUPDATED")
		for _, r := range runs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, cell(r.PlanName+" "+short(r.PlanHash), 40), r.IntentID, when(r.Started), when(r.Updated))
		}
		return 0, tw.Flush()
	})
}

func runJSON(r *orchestrator.RunInfo) map[string]any {
	o := map[string]any{"run_id": r.ID, "status": string(r.Status), "plan_id": r.PlanID, "plan_hash": r.PlanHash,
		"intent_id": r.IntentID, "started": r.Started.UTC().Format(time.RFC3339Nano), "updated": r.Updated.UTC().Format(time.RFC3339Nano)}
	if r.PlanName != "" {
		o["plan_name"] = r.PlanName
	}
	if r.Question != "" {
		o["question"] = r.Question
	}
	if r.Err != nil {
		o["error"] = map[string]any{"type": string(r.Err.Type), "message": r.Err.Message}
	}
	if r.Status == orchestrator.Completed {
		o["value"] = value.Repr(r.Value)
	}
	return o
}

func runRunsShow(c *cli, args []string) int {
	fs := newFlagSet(c, "runs show", "RUN_ID", "Show a run: its status and step tree with durations.")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "expected one RUN_ID")
	}
	return withOrchestrator(c, fs.Name(), &d, func(ctx context.Context, o *orchestrator.Orchestrator) (int, error) {
		info, tree, err := o.Show(ctx, pos[0])
		if err != nil {
			return 1, fmt.Errorf("run %s: %w", pos[0], err)
		}
		if d.json {
			obj := runJSON(info)
			obj["steps"] = treeJSON(tree)
			writeJSONObject(c.stdout, obj)
			return 0, nil
		}
		fmt.Fprintf(c.stdout, "run:     %s\nstatus:  %s\nplan:    %s %s\nintent:  %s\nstarted: %s\nupdated: %s\n",
			info.ID, info.Status, info.PlanName, info.PlanHash, info.IntentID, when(info.Started), when(info.Updated))
		if info.Question != "" {
			fmt.Fprintf(c.stdout, "waiting: %q (ccos resume %s --answer TEXT)\n", info.Question, info.ID)
		}
		if info.Err != nil {
			fmt.Fprintf(c.stdout, "error:   %s\n", value.Repr(info.Err))
		}
		if info.Status == orchestrator.Completed {
			fmt.Fprintf(c.stdout, "value:   %s\n", cell(value.Repr(info.Value), 200))
		}
		fmt.Fprintln(c.stdout)
		printTree(c.stdout, tree, 0)
		return 0, nil
	})
}

func printTree(w io.Writer, n *orchestrator.StepNode, depth int) {
	mark := map[string]string{"completed": "✓", "failed": "✗", "denied": "⊘", "running": "…", "paused": "‖", "interrupted": "!"}[n.Status]
	if mark == "" {
		mark = "?"
	}
	line := fmt.Sprintf("%s%s %s %s", strings.Repeat("  ", depth), mark, n.Kind, n.Name)
	if n.Duration > 0 {
		line += " " + n.Duration.String()
	}
	if n.Status != "completed" {
		line += " [" + n.Status + "]"
	}
	if n.Err != "" {
		line += ": " + cell(n.Err, 120)
	}
	fmt.Fprintln(w, line)
	for _, ch := range n.Children {
		printTree(w, ch, depth+1)
	}
}

func treeJSON(n *orchestrator.StepNode) map[string]any {
	o := map[string]any{"kind": n.Kind, "name": n.Name, "status": n.Status, "path": n.Path, "duration_ms": n.Duration.Milliseconds()}
	if n.Err != "" {
		o["error"] = n.Err
	}
	var kids []any
	for _, ch := range n.Children {
		kids = append(kids, treeJSON(ch))
	}
	if len(kids) > 0 {
		o["children"] = kids
	}
	return o
}

func runCaps(c *cli, args []string) int {
	return runGroup(c, "caps", "The capability marketplace: built-in capabilities and the manifests in\n$CCOS_HOME/capabilities/*.rtfs, with their declared effects.", []subcommand{
		{"list", "list capabilities and their effects", runCapsList},
		{"show", "show a capability's manifest", runCapsShow},
	}, args)
}

// effectsSummary describes declared effects in a few words.
func effectsSummary(ef *caps.Effects) string {
	var parts []string
	for _, c := range []struct {
		name string
		list []string
	}{{"network", ef.Network}, {"read", ef.FSRead}, {"write", ef.FSWrite}, {"env", ef.Env}} {
		if len(c.list) > 0 {
			parts = append(parts, c.name+" "+strings.Join(c.list, ","))
		}
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"clock", ef.Clock}, {"exec", ef.Exec}, {"human", ef.Human}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	if len(parts) == 0 {
		return "pure"
	}
	return strings.Join(parts, "; ")
}

func runCapsList(c *cli, args []string) int {
	fs := newFlagSet(c, "caps list", "", "List capabilities with their declared effects.")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return usageError(c, fs, "unexpected argument %q", pos[0])
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		mk, err := marketplace(e)
		if err != nil {
			return 1, err
		}
		if d.json {
			for _, cp := range mk.List() {
				fmt.Fprintln(c.stdout, value.Repr(cp.Manifest.ToValue()))
			}
			return 0, nil
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "ID\tPROVIDER\tEFFECTS\tDESCRIPTION")
		for _, cp := range mk.List() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cp.ID, cp.Provider, cell(effectsSummary(&cp.Effects), 40), cell(cp.Description, 50))
		}
		return 0, tw.Flush()
	})
}

func runCapsShow(c *cli, args []string) int {
	fs := newFlagSet(c, "caps show", "ID", "Show a capability's manifest (RTFS data).")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "expected one capability ID")
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		mk, err := marketplace(e)
		if err != nil {
			return 1, err
		}
		cp, ok := mk.Get(pos[0])
		if !ok {
			return 1, fmt.Errorf("no capability %s", pos[0])
		}
		fmt.Fprintln(c.stdout, value.Repr(cp.Manifest.ToValue()))
		return 0, nil
	})
}

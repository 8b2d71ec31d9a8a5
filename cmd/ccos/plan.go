package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/value"
)

func runPlan(c *cli, args []string) int {
	return runGroup(c, "plan", "Inspect the plan archive: plans stored under the SHA-256 of their canonical\nencoding.", []subcommand{
		{"list", "list archived plans, newest first", runPlanList},
		{"show", "show an archived plan", runPlanShow},
	}, args)
}

func runPlanList(c *cli, args []string) int {
	fs := newFlagSet(c, "plan list", "",
		"List archived plans, newest first. --json prints one\n"+
			"{\"hash\":...,\"plan\":<canonical plan>} object per line.")
	var d dataFlags
	d.register(fs, true)
	var q store.PlanQuery
	fs.StringVar(&q.IntentID, "intent", "", "only plans for the intent `I`")
	fs.StringVar(&q.PlanID, "id", "", "only versions of the plan `ID`")
	fs.IntVar(&q.Limit, "limit", 0, "at most `N` plans (0: all)")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return usageError(c, fs, "unexpected argument %q", pos[0])
	}
	if q.Limit < 0 {
		return usageError(c, fs, "--limit must not be negative")
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		list, err := e.plans.List(ctx, q)
		if err != nil {
			return 1, err
		}
		if d.json {
			for _, ap := range list {
				b, err := archivedPlanJSON(ap)
				if err := printJSON(c.stdout, b, err); err != nil {
					return 1, err
				}
			}
			return 0, nil
		}
		if len(list) == 0 {
			fmt.Fprintln(c.stdout, "no plans")
			return 0, nil
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "HASH\tPLAN\tNAME\tSTATUS\tINTENTS\tCREATED")
		for _, ap := range list {
			p := ap.Plan
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", short(ap.Hash), cell(p.ID, 30), cell(p.Name, 20), p.Status,
				cell(strings.Join(p.IntentIDs, ","), 40), when(p.CreatedAt))
		}
		return 0, tw.Flush()
	})
}

func runPlanShow(c *cli, args []string) int {
	fs := newFlagSet(c, "plan show", "ID|HASH",
		"Show an archived plan: by plan id (its latest version), by content hash or by\n"+
			"a unique hash prefix of at least 6 hex digits.")
	var d dataFlags
	d.register(fs, true)
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "want exactly one plan ID or HASH")
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		ap, err := e.plans.Find(ctx, pos[0])
		if err != nil {
			return 1, err
		}
		if d.json {
			b, err := archivedPlanJSON(ap)
			return 0, printJSON(c.stdout, b, err)
		}
		p := ap.Plan
		tw := newTable(c.stdout)
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(tw, "%s\t%s\n", k, v)
			}
		}
		row("Plan", p.ID)
		row("Hash", ap.Hash)
		row("Name", p.Name)
		row("Status", string(p.Status))
		row("Language", p.Language)
		row("Intents", strings.Join(p.IntentIDs, ", "))
		row("Created", when(p.CreatedAt))
		if p.InputSchema != nil {
			row("Input", value.Repr(p.InputSchema))
		}
		if p.OutputSchema != nil {
			row("Output", value.Repr(p.OutputSchema))
		}
		if p.Policies != nil && p.Policies.Len() > 0 {
			row("Policies", value.Repr(p.Policies))
		}
		row("Capabilities", strings.Join(p.CapabilitiesRequired, ", "))
		if p.Annotations != nil && p.Annotations.Len() > 0 {
			row("Annotations", value.Repr(p.Annotations))
		}
		if err := tw.Flush(); err != nil {
			return 1, err
		}
		fmt.Fprintf(c.stdout, "\nBody:\n%s\n", strings.TrimRight(p.Body, "\n"))
		return 0, nil
	})
}

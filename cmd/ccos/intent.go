package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ccos-go/ccos/ccos/intents"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

func runIntent(c *cli, args []string) int {
	return runGroup(c, "intent", "Create, inspect and change intents: the why of plans.", []subcommand{
		{"create", "create an intent and print its id", runIntentCreate},
		{"list", "list intents, newest first", runIntentList},
		{"show", "show an intent, its edges and recent actions", runIntentShow},
		{"status", "change an intent's status", runIntentStatus},
		{"link", "relate two intents", runIntentLink},
	}, args)
}

// constraintFlags collects repeated --constraint k=rtfs-value flags.
type constraintFlags []string

func (f *constraintFlags) String() string     { return strings.Join(*f, ",") }
func (f *constraintFlags) Set(s string) error { *f = append(*f, s); return nil }

// parseConstraints turns k=v strings into an RTFS map with keyword keys and
// values read as RTFS data.
func parseConstraints(kvs []string) (*value.Map, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	b := value.NewMapBuilder()
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimPrefix(strings.TrimSpace(k), ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("--constraint %q: want KEY=RTFS-VALUE", kv)
		}
		forms, err := syntax.Parse("--constraint "+k, []byte(v))
		if err != nil {
			return nil, fmt.Errorf("--constraint %s: %v", k, err)
		}
		if len(forms) != 1 {
			return nil, fmt.Errorf("--constraint %s: want one RTFS value, found %d (quote strings: %s='\"text\"')", k, len(forms), k)
		}
		b.Assoc(value.Keyword(k), value.FromSyntax(forms[0]))
	}
	return b.Map(), nil
}

func runIntentCreate(c *cli, args []string) int {
	fs := newFlagSet(c, "intent create", "GOAL",
		"Create an active intent with the goal GOAL and print its id. The creation is\n"+
			"recorded in the causal chain (IntentCreated).\n"+
			"Constraint values are RTFS data: --constraint max-cost=10,\n"+
			"--constraint region='\"eu\"', --constraint tags='[:a :b]'.")
	var d dataFlags
	d.register(fs, true)
	name := fs.String("name", "", "short `NAME` of the intent")
	priority := fs.Int64("priority", 0, "`PRIORITY` (higher is more important)")
	parent := fs.String("parent", "", "`ID` of the parent intent (this one becomes its subgoal)")
	request := fs.String("request", "", "original request, if different from the goal")
	var cons constraintFlags
	fs.Var(&cons, "constraint", "constraint `KEY=RTFS-VALUE` (repeatable)")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageError(c, fs, "want exactly one non-empty GOAL argument")
	}
	m, err := parseConstraints(cons)
	if err != nil {
		return usageError(c, fs, "%v", err)
	}
	return withData(c, fs.Name(), &d, true, func(ctx context.Context, e *dataEnv) (int, error) {
		in, err := e.graph.Create(ctx, &model.Intent{
			Name: *name, Goal: pos[0], OriginalRequest: *request, Priority: *priority,
			ParentIntent: *parent, Constraints: m,
		})
		if err != nil {
			return 1, err
		}
		if d.json {
			b, err := model.EncodeIntent(in)
			return 0, printJSON(c.stdout, b, err)
		}
		fmt.Fprintln(c.stdout, in.ID)
		return 0, nil
	})
}

func runIntentList(c *cli, args []string) int {
	fs := newFlagSet(c, "intent list", "",
		"List intents, newest first.")
	var d dataFlags
	d.register(fs, true)
	status := fs.String("status", "", "only intents with `STATUS` ("+statusNames()+")")
	text := fs.String("text", "", "only intents whose goal, name or request contains `TEXT` (case-insensitive)")
	parent := fs.String("parent", "", "only subgoals of the intent `ID`")
	minPri := fs.Int64("min-priority", 0, "only intents with priority >= `N`")
	limit := fs.Int("limit", 0, "at most `N` intents (0: all)")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return usageError(c, fs, "unexpected argument %q", pos[0])
	}
	if *status != "" && !model.IntentStatus(*status).Valid() {
		return usageError(c, fs, "unknown status %q (want one of %s)", *status, statusNames())
	}
	if *limit < 0 {
		return usageError(c, fs, "--limit must not be negative")
	}
	q := store.IntentQuery{Status: model.IntentStatus(*status), Text: *text, Parent: *parent, Limit: *limit}
	if flagSet(fs, "min-priority") {
		q.MinPriority = minPri
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		list, err := e.graph.List(ctx, q)
		if err != nil {
			return 1, err
		}
		if d.json {
			for _, in := range list {
				b, err := model.EncodeIntent(in)
				if err := printJSON(c.stdout, b, err); err != nil {
					return 1, err
				}
			}
			return 0, nil
		}
		if len(list) == 0 {
			fmt.Fprintln(c.stdout, "no intents")
			return 0, nil
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "ID\tSTATUS\tPRI\tNAME\tGOAL\tCREATED")
		for _, in := range list {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", in.ID, in.Status, in.Priority, cell(in.Name, 20), cell(in.Goal, 50), when(in.CreatedAt))
		}
		return 0, tw.Flush()
	})
}

func statusNames() string {
	names := make([]string, len(model.IntentStatuses))
	for i, s := range model.IntentStatuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func runIntentShow(c *cli, args []string) int {
	fs := newFlagSet(c, "intent show", "ID",
		"Show an intent: its fields, constraints, edges, plans, recent causal-chain\n"+
			"actions and canonical RTFS source. --json prints the intent's canonical encoding.")
	var d dataFlags
	d.register(fs, true)
	nActions := fs.Int("actions", 10, "show the last `N` actions about the intent")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "want exactly one intent ID")
	}
	return withData(c, fs.Name(), &d, false, func(ctx context.Context, e *dataEnv) (int, error) {
		in, err := e.graph.Get(ctx, pos[0])
		if err != nil {
			return 1, err
		}
		if d.json {
			b, err := model.EncodeIntent(in)
			return 0, printJSON(c.stdout, b, err)
		}
		out, err := e.graph.Edges(ctx, store.EdgeQuery{From: in.ID})
		if err != nil {
			return 1, err
		}
		inc, err := e.graph.Edges(ctx, store.EdgeQuery{To: in.ID})
		if err != nil {
			return 1, err
		}
		ps, err := e.plans.ForIntent(ctx, in.ID)
		if err != nil {
			return 1, err
		}
		var acts []*model.Action
		if *nActions > 0 {
			if acts, err = e.st.Actions(ctx, store.ActionQuery{IntentID: in.ID, Limit: *nActions, Last: true}); err != nil {
				return 1, err
			}
		}
		w := c.stdout
		tw := newTable(w)
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(tw, "%s\t%s\n", k, v)
			}
		}
		row("Intent", in.ID)
		row("Name", in.Name)
		row("Goal", in.Goal)
		if in.OriginalRequest != in.Goal {
			row("Request", in.OriginalRequest)
		}
		row("Status", string(in.Status))
		row("Priority", strconv.FormatInt(in.Priority, 10))
		row("Parent", in.ParentIntent)
		row("Triggered by", string(in.TriggeredBy))
		row("Created", model.FormatTime(in.CreatedAt))
		row("Updated", model.FormatTime(in.UpdatedAt))
		for _, m := range []struct {
			k string
			v *value.Map
		}{{"Constraints", in.Constraints}, {"Preferences", in.Preferences}, {"Context", in.GenerationContext}, {"Metadata", in.Metadata}} {
			if m.v != nil && m.v.Len() > 0 {
				row(m.k, value.Repr(m.v))
			}
		}
		row("Success", in.SuccessCriteria)
		if err := tw.Flush(); err != nil {
			return 1, err
		}
		if len(out)+len(inc) > 0 {
			fmt.Fprintln(w, "\nEdges:")
			tw = newTable(w)
			for _, e := range out {
				fmt.Fprintf(tw, "  %s\t-> %s\t%s\n", e.Type, e.To, weight(e))
			}
			for _, e := range inc {
				fmt.Fprintf(tw, "  %s\t<- %s\t%s\n", e.Type, e.From, weight(e))
			}
			tw.Flush()
		}
		if len(ps) > 0 {
			fmt.Fprintln(w, "\nPlans:")
			tw = newTable(w)
			for _, p := range ps {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", short(p.Hash), p.Plan.ID, p.Plan.Status, when(p.Plan.CreatedAt))
			}
			tw.Flush()
		}
		if len(acts) > 0 {
			fmt.Fprintln(w, "\nRecent actions:")
			tw = newTable(w)
			for _, a := range acts {
				fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", a.Seq, when(a.Timestamp), a.Type, a.ActionID, cell(actionSummary(a), 60))
			}
			tw.Flush()
		}
		fmt.Fprintf(w, "\nSource:\n%s\n", in.Source)
		return 0, nil
	})
}

func weight(e *model.IntentEdge) string {
	if e.Weight == nil {
		return ""
	}
	return "weight " + strconv.FormatFloat(*e.Weight, 'g', -1, 64)
}

func runIntentStatus(c *cli, args []string) int {
	fs := newFlagSet(c, "intent status", "ID NEW-STATUS --reason REASON",
		"Move an intent to NEW-STATUS, recording the change (old and new status, reason,\n"+
			"triggering action) in the causal chain. Legal moves:\n"+
			"  active    -> executing | suspended | archived | completed | failed\n"+
			"  executing -> completed | failed | suspended | active\n"+
			"  failed    -> active | archived\n"+
			"  suspended -> active | archived\n"+
			"  completed -> archived\n"+
			"  archived  -> active\n"+
			"An illegal move changes nothing and exits with status 1.")
	var d dataFlags
	d.register(fs, true)
	reason := fs.String("reason", "", "why the status changes (required)")
	trig := fs.String("triggered-by", "", "`ACTION_ID` of the chain action that caused the change")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 2 {
		return usageError(c, fs, "want an intent ID and a NEW-STATUS")
	}
	to := model.IntentStatus(pos[1])
	if !to.Valid() {
		return usageError(c, fs, "unknown status %q (want one of %s)", pos[1], statusNames())
	}
	if strings.TrimSpace(*reason) == "" {
		return usageError(c, fs, "--reason is required")
	}
	return withData(c, fs.Name(), &d, true, func(ctx context.Context, e *dataEnv) (int, error) {
		old, err := e.graph.Get(ctx, pos[0])
		if err != nil {
			return 1, err
		}
		in, a, err := e.graph.SetStatus(ctx, pos[0], to, *reason, *trig)
		var te *model.TransitionError
		if errors.As(err, &te) {
			allowed := allowedFrom(te.From)
			return 1, fmt.Errorf("%s: cannot change status from %s to %s (allowed from %s: %s); nothing changed", pos[0], te.From, te.To, te.From, allowed)
		}
		if err != nil {
			return 1, err
		}
		if d.json {
			b, err := model.EncodeAction(a)
			return 0, printJSON(c.stdout, b, err)
		}
		fmt.Fprintf(c.stdout, "%s: %s -> %s (recorded %s %s, seq %d)\n", in.ID, old.Status, in.Status, a.Type, a.ActionID, a.Seq)
		return 0, nil
	})
}

func allowedFrom(from model.IntentStatus) string {
	var out []string
	for _, s := range model.IntentStatuses {
		if model.CanTransition(from, s) {
			out = append(out, string(s))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func runIntentLink(c *cli, args []string) int {
	fs := newFlagSet(c, "intent link", "FROM TO --type TYPE",
		"Relate two intents with an edge, recorded in the causal chain. For depends-on\n"+
			"and is-subgoal-of, FROM is the child: FROM depends on / is a subgoal of TO.")
	var d dataFlags
	d.register(fs, true)
	typ := fs.String("type", "", "edge `TYPE`: "+edgeNames()+" (required)")
	w := fs.Float64("weight", 0, "edge `WEIGHT`")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 2 {
		return usageError(c, fs, "want FROM and TO intent ids")
	}
	if !model.EdgeType(*typ).Valid() {
		return usageError(c, fs, "--type must be one of %s", edgeNames())
	}
	var wp *float64
	if flagSet(fs, "weight") {
		wp = w
	}
	return withData(c, fs.Name(), &d, true, func(ctx context.Context, e *dataEnv) (int, error) {
		edge, err := e.graph.AddEdge(ctx, pos[0], pos[1], model.EdgeType(*typ), wp)
		if err != nil {
			return 1, err
		}
		if d.json {
			b, err := model.EncodeEdge(edge)
			return 0, printJSON(c.stdout, b, err)
		}
		fmt.Fprintf(c.stdout, "%s %s %s\n", edge.From, edge.Type, edge.To)
		return 0, nil
	})
}

func edgeNames() string {
	names := make([]string, len(model.EdgeTypes))
	for i, t := range model.EdgeTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// actionSummary is a one-line description of an action for tables.
func actionSummary(a *model.Action) string {
	get := func(k string) string {
		if a.Metadata == nil {
			return ""
		}
		v, _ := a.Metadata.Get(value.Keyword(k))
		return value.Str(v)
	}
	var s string
	switch a.Type {
	case model.IntentStatusChanged, model.IntentArchived, model.IntentReactivated:
		s = get("old-status") + " -> " + get("new-status")
		if r := get("reason"); r != "" {
			s += ": " + r
		}
	case model.IntentCreated:
		s = get("goal")
	case model.IntentRelationshipCreated, model.IntentRelationshipModified:
		s = get("type") + " -> " + get("to")
	default:
		s = a.Name
		if a.Type == model.InternalStep && a.Name == intents.UpdatedStep {
			s += " " + get("fields")
		}
	}
	if r := a.Result; r != nil {
		if r.Success {
			if r.Value != nil {
				s += " => " + value.Repr(r.Value)
			}
		} else if r.Error != nil {
			s += " !! " + r.Error.Type + ": " + r.Error.Message
		}
	}
	return s
}

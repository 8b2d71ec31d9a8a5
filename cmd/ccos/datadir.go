package main

// Shared plumbing of the commands that use the data directory (intent,
// chain, plan): the --data-dir flag, opening home → SQLite store → ledger,
// flags after positional arguments, and table/JSON output helpers.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/ccos-go/ccos/ccos/home"
	"github.com/ccos-go/ccos/ccos/intents"
	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
)

// dataFlags are the flags every data-directory command accepts.
type dataFlags struct {
	dir  string
	json bool
}

func (d *dataFlags) register(fs *flag.FlagSet, withJSON bool) {
	fs.StringVar(&d.dir, "data-dir", "", "data directory `DIR` (default $"+home.EnvVar+", else ~/.ccos)")
	if withJSON {
		fs.BoolVar(&d.json, "json", false, "print canonical JSON (one object per line for lists)")
	}
}

// dataEnv is an opened data directory. The ledger is only opened for
// commands that write: reading and verifying never sign or append
// anything, and work on a chain the ledger would refuse to continue.
type dataEnv struct {
	home   *home.Home
	st     *sqlite.Store
	led    *ledger.Ledger // nil unless opened for writing
	graph  *intents.Graph
	plans  *plans.Archive
	closed bool
}

// openData opens the data directory named by the flag (else $CCOS_HOME,
// else ~/.ccos), its SQLite store and, if write is set, the ledger signing
// with the directory's key (created on first use).
func openData(ctx context.Context, dir string, write bool) (*dataEnv, error) {
	path, err := home.Resolve(dir)
	if err != nil {
		return nil, err
	}
	h, err := home.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(h.DBPath())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", h.DBPath(), err)
	}
	e := &dataEnv{home: h, st: st}
	var rec interface {
		Append(context.Context, *model.Action, ...store.Mutation) (*model.Action, error)
	} = readOnly{}
	if write {
		key, keyID, err := h.SigningKey()
		if err != nil {
			st.Close()
			return nil, err
		}
		led, err := ledger.Open(ctx, ledger.Options{Store: st, Key: key, KeyID: keyID})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("%w (run 'ccos chain verify')", err)
		}
		e.led, rec = led, led
	}
	e.graph = intents.New(st, rec)
	e.plans = plans.New(st, rec)
	return e, nil
}

// readOnly is the recorder of a data directory opened without the ledger.
type readOnly struct{}

func (readOnly) Append(context.Context, *model.Action, ...store.Mutation) (*model.Action, error) {
	return nil, errors.New("data directory opened read-only")
}

// close flushes and signs the ledger (if open) and closes the store.
func (e *dataEnv) close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	if e.led != nil {
		errs = append(errs, e.led.Close())
	}
	errs = append(errs, e.st.Close())
	return errors.Join(errs...)
}

// withData opens the data directory, runs fn and closes it; an error from
// opening, from fn or from closing is reported as "ccos NAME: err" with
// exit status 1 (fn returns its own status for other outcomes).
func withData(c *cli, name string, d *dataFlags, write bool, fn func(ctx context.Context, e *dataEnv) (int, error)) int {
	ctx := context.Background()
	e, err := openData(ctx, d.dir, write)
	if err != nil {
		fmt.Fprintf(c.stderr, "ccos %s: %v\n", name, err)
		return 1
	}
	code, err := fn(ctx, e)
	if cerr := e.close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ccos %s: %v\n", name, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (everything after "--" is positional) and returns
// the positional arguments.
func parseArgs(c *cli, fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			tail = args[i+1:]
			args = args[:i]
			break
		}
	}
	for {
		if code, done := parseFlags(c, fs, args); done {
			return nil, code, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return append(pos, tail...), 0, false
}

// usageError reports a usage problem (exit status 2).
func usageError(c *cli, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "ccos %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(c.stderr, "Run 'ccos %s -h' for usage.\n", fs.Name())
	return 2
}

// flagSet reports whether the named flag was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// subcommand is one subcommand of a command group.
type subcommand struct {
	name, summary string
	run           func(c *cli, args []string) int
}

// runGroup dispatches a command group such as `ccos intent SUB ...`.
func runGroup(c *cli, group, description string, subs []subcommand, args []string) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: ccos %s SUBCOMMAND [flags] [args]\n\n%s\n\nSubcommands:\n", group, description)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-8s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'ccos %s SUBCOMMAND -h' for details.\n", group)
	}
	if len(args) == 0 {
		usage(c.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(c.stdout)
		return 0
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(c, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "ccos %s: unknown subcommand %q\n\n", group, args[0])
	usage(c.stderr)
	return 2
}

// newTable returns a tab writer for aligned columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// cell makes a value printable in a table cell: no tabs or newlines,
// "-" when empty, at most max runes.
func cell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return string(r[:max-1]) + "…"
	}
	return s
}

// when formats a time for tables (UTC, seconds).
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// short abbreviates a hash.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// printJSON writes one canonical object per line.
func printJSON(w io.Writer, b []byte, err error) error {
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeJSONObject writes a small summary object (keys sorted) on one line.
func writeJSONObject(w io.Writer, o map[string]any) {
	b, err := json.Marshal(o)
	if err != nil {
		b = []byte(`{"ok":false}`)
	}
	fmt.Fprintf(w, "%s\n", b)
}

// archivedPlanJSON encodes an archived plan as {"hash":...,"plan":<canonical plan>}.
func archivedPlanJSON(ap store.ArchivedPlan) ([]byte, error) {
	p, err := model.EncodePlan(ap.Plan)
	if err != nil {
		return nil, err
	}
	b := append([]byte(`{"hash":`), model.AppendString(nil, ap.Hash)...)
	b = append(b, `,"plan":`...)
	b = append(b, p...)
	return append(b, '}'), nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/orchestrator"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/ccos/sandbox/process"
	"github.com/ccos-go/ccos/ccos/sandbox/wasm"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Exit statuses of run and resume.
const (
	exitCompleted = 0
	exitFailed    = 1
	exitUsage     = 2
	exitPaused    = 3
)

// listFlag collects a repeated flag.
type listFlag []string

func (f *listFlag) String() string     { return strings.Join(*f, ",") }
func (f *listFlag) Set(s string) error { *f = append(*f, s); return nil }

// contextFlags build the runtime context of a run.
type contextFlags struct {
	preset                                  string
	allow, allowHost, allowRead, allowWrite listFlag
	downgrade                               bool
	sandbox, sandboxed                      string
}

func (cf *contextFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.preset, "context", "controlled", "runtime context preset `NAME` ("+strings.Join(security.PresetNames(), ", ")+")")
	fs.Var(&cf.allow, "allow", "allow capability `ID` or prefix (ccos.io.*); repeatable")
	fs.Var(&cf.allowHost, "allow-host", "allow network host `HOST[:PORT]` (*.example.com for subdomains); repeatable")
	fs.Var(&cf.allowRead, "allow-read", "allow reading under `PATH`; repeatable")
	fs.Var(&cf.allowWrite, "allow-write", "allow reading and writing under `PATH`; repeatable")
	fs.BoolVar(&cf.downgrade, "downgrade-isolation", false, "run steps whose isolation level the context disallows at a lower level instead of refusing them")
	fs.StringVar(&cf.sandbox, "sandbox", "process", "sandbox `PROVIDER` for isolated and sandboxed steps: process, bwrap, gvisor, or inprocess (capability-boundary checks only)")
	fs.StringVar(&cf.sandboxed, "sandboxed", "", "sandbox `PROVIDER` for sandboxed steps only (e.g. gvisor; default: as --sandbox)")
}

// providers returns the sandbox providers the flags choose, and a
// function that releases them.
func (cf *contextFlags) providers() (isolated, sandboxed sandbox.Provider, closeFn func(), err error) {
	iso, release1, err := newProvider(cf.sandbox)
	if err != nil {
		return nil, nil, nil, err
	}
	if cf.sandboxed == "" || cf.sandboxed == cf.sandbox {
		return iso, iso, release1, nil
	}
	sb, release2, err := newProvider(cf.sandboxed)
	if err != nil {
		release1()
		return nil, nil, nil, err
	}
	return iso, sb, func() { release1(); release2() }, nil
}

// newProvider builds the sandbox provider called name.
func newProvider(name string) (sandbox.Provider, func(), error) {
	if name == "inprocess" {
		return sandbox.InProcess{}, func() {}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	var p *process.Provider
	switch name {
	case "process":
		p = process.New(exe)
	case "bwrap":
		p = process.NewBwrap(exe)
	case "gvisor":
		p = process.NewGVisor(exe)
	default:
		return nil, nil, fmt.Errorf("unknown sandbox provider %q (want process, bwrap, gvisor or inprocess)", name)
	}
	return p, func() { p.Close() }, nil
}

// pureBuiltins are allowed in every context but pure: they touch nothing.
var pureBuiltins = []string{"ccos.echo", "ccos.math.*", "ccos.data.*", "ccos.io.print", "ccos.io.println", "ccos.io.log"}

func (cf *contextFlags) build() (*security.Context, error) {
	allow := append([]string(nil), cf.allow...)
	if cf.preset == "controlled" {
		allow = append(allow, pureBuiltins...)
	}
	sctx, err := security.Preset(cf.preset, allow)
	if err != nil {
		return nil, err
	}
	if sctx.Level == security.Pure && (len(cf.allow) > 0 || len(cf.allowHost) > 0 || len(cf.allowRead) > 0 || len(cf.allowWrite) > 0) {
		return nil, errors.New("the pure context allows no capabilities; drop the --allow flags or choose another --context")
	}
	for _, a := range cf.allow {
		if sctx.Level == security.Full {
			break // everything is allowed already
		}
		if !slices.Contains(sctx.AllowCaps, a) {
			sctx.AllowCaps = append(sctx.AllowCaps, a)
		}
	}
	sctx.AllowHosts = append(sctx.AllowHosts, cf.allowHost...)
	for _, p := range cf.allowRead {
		cp, err := security.CanonicalPath(p)
		if err != nil {
			return nil, fmt.Errorf("--allow-read %s: %w", p, err)
		}
		sctx.ReadRoots = append(sctx.ReadRoots, cp)
	}
	for _, p := range cf.allowWrite {
		cp, err := security.CanonicalPath(p)
		if err != nil {
			return nil, fmt.Errorf("--allow-write %s: %w", p, err)
		}
		sctx.WriteRoots = append(sctx.WriteRoots, cp)
	}
	if cf.downgrade {
		sctx.Downgrade = true
	}
	if err := sctx.Validate(); err != nil {
		return nil, err
	}
	return sctx, nil
}

func runRun(c *cli, args []string) int {
	fs := newFlagSet(c, "run", "FILE",
		"Run a plan: FILE holds an (intent ...) form, a (plan ...) form, or RTFS forms\n"+
			"(the body of an anonymous plan). The plan is archived, checked, and run step\n"+
			"by step; every event is recorded in the causal chain. 'run: RUN_ID' is the\n"+
			"first line on standard error; the final value is printed on standard output.\n"+
			"Capabilities with effects need --allow (and --allow-host/--allow-read/\n"+
			"--allow-write for their targets).\n"+
			"Exit status: 0 completed, 1 failed, 2 bad usage or invalid plan, 3 paused\n"+
			"(resume with 'ccos resume RUN_ID').")
	var d dataFlags
	d.register(fs, true)
	var cf contextFlags
	cf.register(fs)
	goal := fs.String("intent", "", "create an intent with goal `TEXT` for the run")
	intentID := fs.String("intent-id", "", "run for the existing active intent `ID`")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "expected one plan FILE")
	}
	if *goal != "" && *intentID != "" {
		return usageError(c, fs, "--intent and --intent-id are exclusive")
	}
	src, err := readSource(c, pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "ccos run: %v\n", err)
		return exitUsage
	}
	file, err := plans.ParseFile(pos[0], src)
	if err != nil {
		reportPlanError(c, "run", src, err)
		return exitUsage
	}
	sctx, err := cf.build()
	if err != nil {
		return usageError(c, fs, "%v", err)
	}
	return withRuntime(c, "run", &d, &cf, func(ctx context.Context, o *orchestrator.Orchestrator, p *progress) (int, error) {
		res, err := o.Run(ctx, &orchestrator.Request{File: file, IntentID: *intentID, Goal: *goal, Context: sctx,
			Started: func(id string) { fmt.Fprintf(c.stderr, "run: %s\n", id); p.start() }})
		return finishRun(c, d.json, p, res, err)
	})
}

func readSource(c *cli, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(c.stdin)
	}
	return os.ReadFile(name)
}

// reportPlanError prints an invalid plan's error with its position and
// the source line.
func reportPlanError(c *cli, cmd string, src []byte, err error) {
	var se *syntax.Error
	var fe *plans.FileError
	switch {
	case errors.As(err, &se):
		fmt.Fprintf(c.stderr, "ccos %s: invalid plan: %v\n", cmd, se)
	case errors.As(err, &fe):
		fmt.Fprintf(c.stderr, "ccos %s: invalid plan: %v\n", cmd, fe)
		if line := sourceLine(src, fe.Pos.Line); line != "" {
			fmt.Fprintf(c.stderr, "  %s\n  %s^\n", line, strings.Repeat(" ", max(fe.Pos.Col-1, 0)))
		}
	default:
		if ve := value.AsError(err); ve != nil && ve.Pos.IsValid() {
			fmt.Fprintf(c.stderr, "ccos %s: invalid plan: %s: %s\n", cmd, ve.Pos, ve.Message)
			return
		}
		fmt.Fprintf(c.stderr, "ccos %s: invalid plan: %v\n", cmd, err)
	}
}

func sourceLine(src []byte, n int) string {
	lines := strings.Split(string(src), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimRight(lines[n-1], "\r")
}

// finishRun prints a run's outcome and returns the exit status.
func finishRun(c *cli, asJSON bool, p *progress, res *orchestrator.Result, err error) (int, error) {
	p.stop()
	if err != nil {
		if errors.Is(err, orchestrator.ErrInvalid) {
			fmt.Fprintf(c.stderr, "ccos: %v\n", err)
			return exitUsage, nil
		}
		return exitFailed, err
	}
	if asJSON {
		o := map[string]any{"run_id": res.RunID, "status": string(res.Status)}
		if res.Status == orchestrator.Completed {
			o["value"] = value.Repr(res.Value)
		}
		if res.Err != nil {
			o["error"] = map[string]any{"type": string(res.Err.Type), "message": res.Err.Message}
		}
		if res.Question != "" {
			o["question"] = res.Question
		}
		writeJSONObject(c.stdout, o)
	}
	switch res.Status {
	case orchestrator.Completed:
		if !asJSON {
			fmt.Fprintln(c.stdout, value.Repr(res.Value))
		}
		return exitCompleted, nil
	case orchestrator.Paused:
		fmt.Fprintf(c.stderr, "paused: run %s waits for an answer to %q\n  resume with: ccos resume %s --answer TEXT\n", res.RunID, res.Question, res.RunID)
		return exitPaused, nil
	default:
		fmt.Fprintf(c.stderr, "failed: %s\n", res.Err.Describe())
		return exitFailed, nil
	}
}

// withRuntime opens the data directory for writing, builds the
// marketplace and the orchestrator, and runs fn. SIGINT and SIGTERM
// cancel the run's context (the run then fails with :timeout and is
// recorded).
func withRuntime(c *cli, name string, d *dataFlags, cf *contextFlags, fn func(ctx context.Context, o *orchestrator.Orchestrator, p *progress) (int, error)) int {
	isolated, sandboxed, release, err := cf.providers()
	if err != nil {
		fmt.Fprintf(c.stderr, "ccos %s: %v\n", name, err)
		return exitUsage
	}
	defer release()
	return withData(c, name, d, true, func(ctx context.Context, e *dataEnv) (int, error) {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		mk, err := marketplace(e)
		if err != nil {
			return exitUsage, err
		}
		p := newProgress(c.stderr)
		rt, err := wasm.New(ctx)
		if err != nil {
			return 1, err
		}
		defer rt.Close(context.Background())
		cfg := orchestrator.Config{
			Ledger: e.led, Store: e.st, Intents: e.graph, Plans: e.plans, Caps: mk, WASM: &wasm.Provider{R: rt},
			LockDir: runsDir(e), Out: c.stdout, Progress: p.event,
			LLM: llmConfig(), Isolated: isolated, Sandboxed: sandboxed,
		}
		if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			cfg.Human = &caps.TerminalHuman{In: c.stdin, Out: c.stderr}
		}
		return fn(ctx, orchestrator.New(cfg), p)
	})
}

// marketplace is the built-in capabilities plus the manifests in
// $CCOS_HOME/capabilities.
func marketplace(e *dataEnv) (*caps.Marketplace, error) {
	mk := caps.NewDefault()
	if err := mk.LoadDir(filepath.Join(e.home.Dir(), "capabilities")); err != nil {
		return nil, err
	}
	return mk, nil
}

func llmConfig() *caps.LLMConfig {
	base := os.Getenv("CCOS_LLM_BASE_URL")
	if base == "" {
		return nil
	}
	return &caps.LLMConfig{BaseURL: base, Model: os.Getenv("CCOS_LLM_MODEL"), APIKey: os.Getenv("CCOS_LLM_API_KEY")}
}

func runResume(c *cli, args []string) int {
	fs := newFlagSet(c, "resume", "RUN_ID",
		"Continue a paused or interrupted run. The plan is evaluated again from the\n"+
			"start; steps and calls the causal chain shows finished return their recorded\n"+
			"results instead of running again. A call that was interrupted mid-way runs\n"+
			"again only if its capability is idempotent; otherwise the run fails.\n"+
			"Exit status as for 'ccos run'.")
	var d dataFlags
	d.register(fs, true)
	answer := fs.String("answer", "", "answer `TEXT` to the question the run is paused on")
	var cf contextFlags
	fs.StringVar(&cf.sandbox, "sandbox", "process", "sandbox `PROVIDER` for isolated and sandboxed steps: process, bwrap, gvisor, or inprocess")
	fs.StringVar(&cf.sandboxed, "sandboxed", "", "sandbox `PROVIDER` for sandboxed steps only (default: as --sandbox)")
	pos, code, done := parseArgs(c, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(c, fs, "expected one RUN_ID")
	}
	var opts orchestrator.ResumeOptions
	if flagSet(fs, "answer") {
		opts.Answer = answer
	}
	return withRuntime(c, "resume", &d, &cf, func(ctx context.Context, o *orchestrator.Orchestrator, p *progress) (int, error) {
		opts.Started = func(id string) { fmt.Fprintf(c.stderr, "run: %s (resumed)\n", id); p.start() }
		res, err := o.Resume(ctx, pos[0], opts)
		return finishRun(c, d.json, p, res, err)
	})
}

// progress shows a run's steps as they happen: a live tree redrawn in
// place on a terminal, plain lines otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	on    bool
	open  []orchestrator.Event // open steps, outermost first
	done  []string             // recently finished lines
	last  time.Time
	drawn int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) start() {
	p.mu.Lock()
	p.on = true
	p.mu.Unlock()
}

func (p *progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.on {
		p.redraw(true)
	}
	p.on = false
}

func (p *progress) event(e orchestrator.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on {
		return
	}
	line := p.format(e)
	if !p.tty {
		if line != "" {
			fmt.Fprintln(p.w, line)
		}
		return
	}
	switch e.Kind {
	case orchestrator.StepStarted:
		p.open = append(p.open, e)
	case orchestrator.StepCompleted, orchestrator.StepFailed:
		for i := len(p.open) - 1; i >= 0; i-- {
			if p.open[i].Path == e.Path {
				p.open = append(p.open[:i], p.open[i+1:]...)
				break
			}
		}
	}
	if line != "" && e.Kind != orchestrator.StepStarted && e.Kind != orchestrator.CallStarted {
		p.done = append(p.done, line)
		if len(p.done) > 12 {
			p.done = p.done[len(p.done)-12:]
		}
	}
	if time.Since(p.last) >= 80*time.Millisecond {
		p.redraw(false)
	}
}

func (p *progress) format(e orchestrator.Event) string {
	indent := strings.Repeat("  ", max(e.Depth-1, 0))
	note := ""
	if e.Replayed {
		note = " (replayed)"
	}
	dur := ""
	if e.Duration > 0 {
		dur = " " + e.Duration.Round(time.Microsecond).String()
	}
	switch e.Kind {
	case orchestrator.StepStarted:
		return fmt.Sprintf("%s▶ %s%s", indent, e.Name, note)
	case orchestrator.StepCompleted:
		return fmt.Sprintf("%s✓ %s%s%s", indent, e.Name, dur, note)
	case orchestrator.StepFailed:
		return fmt.Sprintf("%s✗ %s%s: %s%s", indent, e.Name, dur, e.Err, note)
	case orchestrator.StepRetrying:
		return fmt.Sprintf("%s↻ %s: %s (retrying)", indent, e.Name, e.Err)
	case orchestrator.CallDone:
		if e.Err != "" {
			return fmt.Sprintf("%s  call %s%s: %s%s", indent, e.Name, dur, e.Err, note)
		}
		return fmt.Sprintf("%s  call %s%s%s", indent, e.Name, dur, note)
	case orchestrator.Violation:
		return fmt.Sprintf("%s  denied %s: %s", indent, e.Name, e.Err)
	}
	return ""
}

// redraw rewrites the live block: recent finished lines, then the open
// steps with their running times.
func (p *progress) redraw(final bool) {
	p.last = time.Now()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	lines := append([]string(nil), p.done...)
	if !final {
		for _, e := range p.open {
			lines = append(lines, fmt.Sprintf("%s… %s", strings.Repeat("  ", max(e.Depth-1, 0)), e.Name))
		}
	}
	for _, l := range lines {
		b.WriteString("\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for i := len(lines); i < p.drawn; i++ {
		b.WriteString("\x1b[2K\n")
	}
	p.drawn = max(len(lines), p.drawn)
	io.WriteString(p.w, b.String())
}

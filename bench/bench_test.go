// Package bench compares whole-process performance of `ccos eval` against
// CPython 3 on a few small programs. See README.md and compare.sh.
//
// BenchmarkVsPython is a benchmark, not a test: nothing here asserts on
// timing. It only runs under -bench; plain `go test ./...` runs just
// TestProgramsAgree, a cheap correctness check of the program pairs.
package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// python is Debian's CPython 3. The pyenv shim that comes first on PATH in
// this environment is deliberately not used: it adds its own start-up cost
// and resolves to a different interpreter.
const python = "/usr/bin/python3"

// ccosBinEnv names an environment variable holding a prebuilt ccos binary;
// compare.sh sets it so the binary is built once, outside `go test`. When it
// is unset the binary is built into a temporary directory on first use.
const ccosBinEnv = "CCOS_BENCH_BIN"

// program is one benchmark pair: programs/<name>.rtfs and programs/<name>.py
// do the same work and print the same result.
type program struct {
	name string
	want string
	// slow pairs take seconds per run and are left out of TestProgramsAgree;
	// the benchmark still checks their output on every run.
	slow bool
}

var programs = []program{
	{name: "fib", want: "832040"},                      // naive recursive fib(30)
	{name: "loop", want: "50000005000000", slow: true}, // loop/recur sum of 1..10,000,000
	{name: "conj", want: "100000"},                     // 100,000-element vector via conj in reduce
	{name: "mapfilter", want: "250000500000"},          // map/filter/reduce over (range 1000000)
}

var (
	buildOnce sync.Once
	ccosBin   string
	buildErr  error
	tmpDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// ccos returns the path of the ccos binary, building it on first use.
func ccos(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv(ccosBinEnv); p != "" {
			ccosBin, buildErr = filepath.Abs(p)
			return
		}
		tmpDir, buildErr = os.MkdirTemp("", "ccos-bench-")
		if buildErr != nil {
			return
		}
		ccosBin = filepath.Join(tmpDir, "ccos")
		cmd := exec.Command("go", "build", "-o", ccosBin, "github.com/ccos-go/ccos/cmd/ccos")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/ccos: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return ccosBin
}

// command returns the whole-process command running p under impl, "ccos"
// or "python". The ccos step budget and deadline are switched off: the
// default 10,000,000-step budget is exactly what the 10M-iteration loop
// consumes and the default 10 s deadline could end a run on a loaded machine,
// and neither limit is what is being measured.
func command(tb testing.TB, impl string, p program) *exec.Cmd {
	tb.Helper()
	switch impl {
	case "ccos":
		src := filepath.Join("programs", p.name+".rtfs")
		return exec.Command(ccos(tb), "eval", "--max-steps", "0", "--timeout", "0", "-f", src)
	case "python":
		return exec.Command(python, filepath.Join("programs", p.name+".py"))
	}
	tb.Fatalf("unknown implementation %q", impl)
	return nil
}

// run runs cmd to completion and checks that it printed want.
func run(tb testing.TB, cmd *exec.Cmd, want string) {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\nstderr:\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	if got := strings.TrimSpace(stdout.String()); got != want {
		tb.Fatalf("%s printed %q, want %q\nstderr:\n%s", strings.Join(cmd.Args, " "), got, want, stderr.Bytes())
	}
}

func requirePython(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(python); err != nil {
		tb.Skipf("%s not available: %v", python, err)
	}
}

// TestProgramsAgree runs each fast program pair once and checks that ccos
// and CPython print the expected result. It is a correctness check, not a
// measurement. The loop pair is left out: it takes more than a second per
// interpreter, which would make this the slowest test in `go test ./...`;
// its output is still verified on every benchmark run. What remains (fib,
// conj, mapfilter under both interpreters) takes well under a second once
// the binary is built. The test execs processes and builds ccos, so -short
// skips it.
func TestProgramsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("execs ccos and python3; skipped with -short")
	}
	requirePython(t)
	for _, p := range programs {
		if p.slow {
			continue
		}
		for _, impl := range []string{"ccos", "python"} {
			t.Run(p.name+"/"+impl, func(t *testing.T) {
				run(t, command(t, impl, p), p.want)
			})
		}
	}
}

// BenchmarkVsPython measures the wall time of one whole process (start-up,
// parse, evaluation, printing, exit) per iteration, for ccos and CPython on
// each program. Run it with -benchtime 1x, several times; compare.sh runs
// rounds of -count 1 (rather than one -count N, which would run each
// sub-benchmark N times back to back) so that the ccos and python runs of a
// program stay adjacent and drifts in machine load hit both alike, and it
// reports medians.
//
// Besides ns/op (wall time) each sub-benchmark reports cpu-ns/op, the user
// plus system CPU time of the child, which is less sensitive to other load
// on the machine, and peak-RSS-B, the child's maximum resident set size.
func BenchmarkVsPython(b *testing.B) {
	requirePython(b)
	ccos(b) // build outside the measured sub-benchmarks
	for _, p := range programs {
		b.Run(p.name, func(b *testing.B) {
			for _, impl := range []string{"ccos", "python"} {
				b.Run(impl, func(b *testing.B) {
					var cpu time.Duration
					var rss int64
					for b.Loop() {
						cmd := command(b, impl, p)
						run(b, cmd, p.want)
						cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
						rss = max(rss, maxRSS(cmd.ProcessState))
					}
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
					b.ReportMetric(float64(rss), "peak-RSS-B")
				})
			}
		})
	}
}

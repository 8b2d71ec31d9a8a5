package main

// End-to-end tests: TestMain builds the real ccos binary once and the tests
// exec it, checking standard output, standard error and the exit status.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// ccosBin is the path of the binary built by TestMain.
var ccosBin string

// e2eTimeout bounds every single run of the binary.
const e2eTimeout = 20 * time.Second

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ccos-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ccosBin = filepath.Join(dir, "ccos")
	gobin, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			gobin = filepath.Join(root, "bin", "go")
		} else {
			fmt.Fprintln(os.Stderr, "e2e: cannot find the go command:", err)
			return 1
		}
	}
	build := exec.Command(gobin, "build", "-o", ccosBin, ".")
	build.Env = os.Environ()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building ccos: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is the outcome of one run of the binary.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// stderrLines returns the lines of standard error.
func (r result) stderrLines() []string {
	return strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.elapsed, clip(r.stdout), clip(r.stderr))
}

// clip shortens s for failure messages (some outputs echo huge inputs).
func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("... [%d bytes]", len(s))
	}
	return s
}

// testEnv is the environment of the binary: the test's environment with
// CCOS_HOME and HOME pointing into a temporary directory, so no test can
// touch the user's REPL history.
func testEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	return append(os.Environ(), "CCOS_HOME="+home, "HOME="+home)
}

// run executes ccos with args and stdin, failing the test if it does not
// finish within e2eTimeout.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ccosBin, args...)
	cmd.Env = testEnv(t)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("ccos %q did not finish within %v\n%v", args, e2eTimeout, r)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("ccos %q: %v\n%v", args, err, r)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("ccos %q crashed\n%v", args, r)
	}
	return r
}

// writeFile writes a generated program to a temporary file.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ---------------------------------------------------------------- eval

func TestEvalPrintsLastValue(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"expr", "", []string{"eval", "(+ 1 2)"}, "3\n"},
		{"several forms print only the last", "", []string{"eval", "(def x 20) (+ x 1) (* x 2)"}, "40\n"},
		{"arguments are joined", "", []string{"eval", "(+ 1", "2)"}, "3\n"},
		{"stdin", "(def x 5)\n(println \"from stdin\")\n(* x 2)\n", []string{"eval", "-"}, "from stdin\n10\n"},
		{"file with println before the value", "", []string{"eval", "-f", "testdata/hello.rtfs"}, "hello\nworld 42\n42\n"},
		{"flags before the file", "", []string{"eval", "--max-steps", "0", "--timeout", "0", "-f", "testdata/hello.rtfs"}, "hello\nworld 42\n42\n"},
		{"empty program", "", []string{"eval", ""}, "nil\n"},
		{"comments only", ";; nothing\n", []string{"eval", "-"}, "nil\n"},

		// Canonical printing (RTFS.md §2).
		{"nil", "", []string{"eval", "nil"}, "nil\n"},
		{"booleans", "", []string{"eval", "[true false]"}, "[true false]\n"},
		{"float 1.0", "", []string{"eval", "1.0"}, "1.0\n"},
		{"float 1e20", "", []string{"eval", "1e20"}, "1.0E20\n"},
		{"negative float after --", "", []string{"eval", "--", "-0.5"}, "-0.5\n"},
		{"int division to float", "", []string{"eval", "(/ 10 4)"}, "2.5\n"},
		{"exact int division", "", []string{"eval", "(/ 10 5)"}, "2\n"},
		{"NaN", "", []string{"eval", "##NaN"}, "##NaN\n"},
		{"infinities", "", []string{"eval", "[##Inf ##-Inf]"}, "[##Inf ##-Inf]\n"},
		{"string escapes", "", []string{"eval", `"a\"b\n\tc\\d"`}, `"a\"b\n\tc\\d"` + "\n"},
		{"keywords and symbols", "", []string{"eval", "[:k :ns/k 'sym]"}, "[:k :ns/k sym]\n"},
		{"list and vector", "", []string{"eval", "['(1 2) [1 2]]"}, "[(1 2) [1 2]]\n"},
		{"map in insertion order", "", []string{"eval", `{:b "x" :a 1}`}, `{:b "x" :a 1}` + "\n"},
		{"set", "", []string{"eval", "#{1 2}"}, "#{1 2}\n"},
		{"nested", "", []string{"eval", `{:v [1 {:s #{"x"}}]}`}, `{:v [1 {:s #{"x"}}]}` + "\n"},
		{"function", "", []string{"eval", "(defn sq [x] (* x x))"}, "#<fn sq>\n"},
		{"caught error value", "", []string{"eval", `(try (/ 1 0) (catch e e))`}, `#<error :arithmetic-error "division by zero">` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, tt.args...)
			if r.code != 0 || r.stdout != tt.want || r.stderr != "" {
				t.Errorf("ccos %q: want exit 0 and stdout %q, empty stderr; got\n%v", tt.args, tt.want, r)
			}
		})
	}
}

var posLineRE = regexp.MustCompile(`^  at (.+):(\d+):(\d+)$`)

func TestEvalRuntimeErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		first string           // exact first line of stderr
		lines []*regexp.Regexp // each must match some later line
	}{
		{
			name:  "division by zero",
			args:  []string{"eval", "(/ 1 0)"},
			first: `error: #<error :arithmetic-error "division by zero">`,
			lines: []*regexp.Regexp{regexp.MustCompile(`^  at <expr>:1:1$`)},
		},
		{
			name:  "error inside a defn called from top level",
			args:  []string{"eval", "(do (defn f [x] (/ x 0)) (f 1))"},
			first: `error: #<error :arithmetic-error "division by zero">`,
			lines: []*regexp.Regexp{
				regexp.MustCompile(`^  at <expr>:1:17$`),
				regexp.MustCompile(`^  in f \(<expr>:1:\d+\)$`),
			},
		},
		{
			name:  "trace through two functions in a file",
			args:  []string{"eval", "-f", "testdata/trace.rtfs"},
			first: `error: #<error :arithmetic-error "division by zero">`,
			lines: []*regexp.Regexp{
				regexp.MustCompile(`^  at testdata/trace\.rtfs:3:3$`),
				regexp.MustCompile(`^  in f \(testdata/trace\.rtfs:\d+:\d+\)$`),
				regexp.MustCompile(`^  in g \(testdata/trace\.rtfs:\d+:\d+\)$`),
			},
		},
		{
			name:  "undefined symbol",
			args:  []string{"eval", "(+ 1 nope)"},
			first: `error: #<error :undefined-symbol "undefined symbol: nope">`,
			lines: []*regexp.Regexp{regexp.MustCompile(`^  at <expr>:1:`)},
		},
		{
			name:  "thrown value on stdin",
			args:  []string{"eval", "-"},
			first: `error: #<error :error "boom">`,
			lines: []*regexp.Regexp{regexp.MustCompile(`^  at <stdin>:2:`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := ""
			if tt.args[len(tt.args)-1] == "-" {
				stdin = "(def x 1)\n(throw \"boom\")\n"
			}
			r := run(t, stdin, tt.args...)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("want exit 1 and empty stdout; got\n%v", r)
			}
			lines := r.stderrLines()
			if lines[0] != tt.first {
				t.Errorf("first stderr line:\n got %q\nwant %q", lines[0], tt.first)
			}
			for _, re := range tt.lines {
				if !matchesAny(re, lines[1:]) {
					t.Errorf("no stderr line matches %v\n%v", re, r)
				}
			}
		})
	}
}

func matchesAny(re *regexp.Regexp, lines []string) bool {
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

func TestEvalParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		msg      string // substring of the first line's message
		file     string // expected file in the position line
		line     int
		col      int    // expected 1-based column (in runes)
		snippet  string // the source line shown
		caretPad string // what precedes the caret
	}{
		{
			name: "unexpected close bracket", args: []string{"eval", "(+ 1 ]"},
			msg: "found ']'", file: "<expr>", line: 1, col: 6,
			snippet: "(+ 1 ]", caretPad: "     ",
		},
		{
			name: "columns count runes", args: []string{"eval", `(str "héllo" ]`},
			msg: "found ']'", file: "<expr>", line: 1, col: 14,
			snippet: `(str "héllo" ]`, caretPad: strings.Repeat(" ", 13),
		},
		{
			name: "invalid escape in a file", args: []string{"eval", "-f", "testdata/bad_escape.rtfs"},
			msg: "invalid escape", file: "testdata/bad_escape.rtfs", line: 4, col: 5,
			snippet: `  "x\q")`, caretPad: "    ",
		},
		{
			name: "tabs are kept under the caret", args: []string{"eval", "-f", "testdata/bad_close_tabs.rtfs"},
			msg: "found ']'", file: "testdata/bad_close_tabs.rtfs", line: 3, col: 5,
			snippet: "\t\tx ]", caretPad: "\t\t  ",
		},
		{
			name: "ratio literals are rejected", args: []string{"eval", "1/2"},
			msg: "", file: "<expr>", line: 1, col: 1,
			snippet: "1/2", caretPad: "",
		},
		{
			name: "unterminated form", args: []string{"eval", "(+ 1 2"},
			msg: "", file: "<expr>", line: 1, col: 1,
			snippet: "(+ 1 2", caretPad: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.args...)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("want exit 1 and empty stdout; got\n%v", r)
			}
			lines := r.stderrLines()
			if !strings.HasPrefix(lines[0], `error: #<error :parse-error "`) || !strings.HasSuffix(lines[0], `">`) {
				t.Errorf("first line %q is not a canonical parse error", lines[0])
			}
			if !strings.Contains(lines[0], tt.msg) {
				t.Errorf("first line %q does not mention %q", lines[0], tt.msg)
			}
			if len(lines) != 4 {
				t.Fatalf("want 4 stderr lines (error, position, source, caret); got\n%v", r)
			}
			m := posLineRE.FindStringSubmatch(lines[1])
			if m == nil {
				t.Fatalf("second line %q is not a position line", lines[1])
			}
			if m[1] != tt.file || m[2] != strconv.Itoa(tt.line) || m[3] != strconv.Itoa(tt.col) {
				t.Errorf("position %s:%s:%s, want %s:%d:%d", m[1], m[2], m[3], tt.file, tt.line, tt.col)
			}
			if lines[2] != tt.snippet {
				t.Errorf("source line %q, want %q", lines[2], tt.snippet)
			}
			if want := tt.caretPad + "^"; lines[3] != want {
				t.Errorf("caret line %q, want %q", lines[3], want)
			}
			// Whatever the case, the caret sits under the reported column.
			if pad := strings.TrimSuffix(lines[3], "^"); utf8.RuneCountInString(pad) != tt.col-1 {
				t.Errorf("caret at rune column %d, position says %d", utf8.RuneCountInString(pad)+1, tt.col)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr []string // substrings of stderr
	}{
		{"no command", nil, []string{"Usage: ccos COMMAND"}},
		{"unknown command", []string{"bogus"}, []string{`unknown command "bogus"`, "Usage: ccos COMMAND"}},
		{"eval without a program", []string{"eval"}, []string{"Usage: ccos eval"}},
		{"eval unknown flag", []string{"eval", "--bogus", "1"}, []string{"flag provided but not defined", "Usage: ccos eval"}},
		{"eval bad duration", []string{"eval", "--timeout", "soon", "1"}, []string{"invalid value", "Usage: ccos eval"}},
		{"eval negative steps", []string{"eval", "--max-steps", "-1", "1"}, []string{"invalid value", "Usage: ccos eval"}},
		{"eval -f and an expression", []string{"eval", "-f", "testdata/hello.rtfs", "(+ 1 2)"}, []string{"Usage: ccos eval"}},
		{"eval -f and -", []string{"eval", "-f", "testdata/hello.rtfs", "-"}, []string{"Usage: ccos eval"}},
		{"eval missing file", []string{"eval", "-f", "testdata/does-not-exist.rtfs"}, []string{"does-not-exist.rtfs"}},
		{"repl with an argument", []string{"repl", "extra"}, []string{"Usage: ccos repl"}},
		{"repl unknown flag", []string{"repl", "--bogus"}, []string{"flag provided but not defined"}},
		{"help for an unknown command", []string{"help", "bogus"}, []string{`unknown command "bogus"`}},
		{"version with an unknown flag", []string{"version", "--bogus"}, []string{"flag provided but not defined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.args...)
			if r.code != 2 || r.stdout != "" {
				t.Errorf("want exit 2 and empty stdout; got\n%v", r)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not contain %q\n%v", s, r)
				}
			}
		})
	}
}

// ---------------------------------------------------------------- limits

const countLoop = "(loop [i 0] (if (< i 100000) (recur (inc i)) i))"

func TestLimits(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		code    int
		stdout  string // exact, when code is 0
		errType string // when code is 1
		maxTime time.Duration
	}{
		{name: "infinite loop hits the default step limit", args: []string{"eval", "(loop [] (recur))"},
			code: 1, errType: ":limit-exceeded", maxTime: 8 * time.Second},
		{name: "max-steps 1000", args: []string{"eval", "--max-steps", "1000", countLoop},
			code: 1, errType: ":limit-exceeded"},
		{name: "max-steps 0 is unlimited", args: []string{"eval", "--max-steps", "0", countLoop},
			code: 0, stdout: "100000\n"},
		{name: "default budget is enough for a small loop", args: []string{"eval", countLoop},
			code: 0, stdout: "100000\n"},
		{name: "timeout", args: []string{"eval", "--timeout", "200ms", "--max-steps", "0", "(loop [] (recur))"},
			code: 1, errType: ":timeout", maxTime: 5 * time.Second},
		{name: "timeout 0 is no deadline", args: []string{"eval", "--timeout", "0", "--max-steps", "1000", "(loop [] (recur))"},
			code: 1, errType: ":limit-exceeded"},
		{name: "timeout 0 still evaluates", args: []string{"eval", "--timeout", "0", countLoop},
			code: 0, stdout: "100000\n"},
		{name: "max-depth allows shallow recursion", args: []string{"eval", "--max-depth", "100", "(do (defn down [n] (if (< n 50) (down (inc n)) n)) (down 0))"},
			code: 0, stdout: "50\n"},
		{name: "max-depth stops deeper recursion", args: []string{"eval", "--max-depth", "20", "(do (defn down [n] (if (< n 50) (down (inc n)) n)) (down 0))"},
			code: 1, errType: ":limit-exceeded"},
		{name: "loop has constant stack", args: []string{"eval", "--max-depth", "10", countLoop},
			code: 0, stdout: "100000\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Fatalf("want exit %d; got\n%v", tt.code, r)
			}
			if tt.code == 0 && (r.stdout != tt.stdout || r.stderr != "") {
				t.Errorf("want stdout %q and empty stderr; got\n%v", tt.stdout, r)
			}
			if tt.code == 1 {
				if first := r.stderrLines()[0]; !strings.HasPrefix(first, "error: #<error "+tt.errType+` "`) {
					t.Errorf("first stderr line %q is not a %s error", first, tt.errType)
				}
				if r.stdout != "" {
					t.Errorf("unexpected stdout %q", r.stdout)
				}
			}
			if tt.maxTime > 0 && r.elapsed > tt.maxTime {
				t.Errorf("took %v, want under %v", r.elapsed, tt.maxTime)
			}
		})
	}
}

func TestTimeoutActuallyWaits(t *testing.T) {
	// The deadline must not fire immediately: a short program under a
	// generous timeout succeeds, and a runaway one runs until about the
	// deadline.
	r := run(t, "", "eval", "--timeout", "300ms", "--max-steps", "0", "(loop [] (recur))")
	if r.code != 1 || !strings.Contains(r.stderr, ":timeout") {
		t.Fatalf("want a :timeout error; got\n%v", r)
	}
	if r.elapsed < 250*time.Millisecond {
		t.Errorf("timed out after %v, before the 300ms deadline", r.elapsed)
	}
}

func TestDeepRecursion(t *testing.T) {
	r := run(t, "", "eval", "(do (defn down [n] (down (inc n))) (down 0))")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("want exit 1; got\n%v", r)
	}
	lines := r.stderrLines()
	if !strings.HasPrefix(lines[0], `error: #<error :limit-exceeded "`) {
		t.Errorf("first line %q is not a :limit-exceeded error", lines[0])
	}
	if !matchesAny(regexp.MustCompile(`^  in down \(.*\) \[repeated \d+ times\]$`), lines) {
		t.Errorf("no collapsed 'repeated' trace line for down\n%v", r)
	}
	if len(lines) > 40 {
		t.Errorf("trace is not collapsed: %d lines", len(lines))
	}
}

func TestDeeplyNestedLiteral(t *testing.T) {
	const depth = 100000
	path := writeFile(t, "deep.rtfs", strings.Repeat("[", depth)+strings.Repeat("]", depth)+"\n")
	r := run(t, "", "eval", "-f", path)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("want exit 1; got\n%v", r)
	}
	first := r.stderrLines()[0]
	if !strings.HasPrefix(first, `error: #<error :parse-error "`) || !strings.Contains(first, "too deep") {
		t.Errorf("first line %q is not a 'too deep' parse error", first)
	}
	if !strings.Contains(r.stderr, "  at "+path+":1:") {
		t.Errorf("no position line for %s\n%v", path, r)
	}
}

func TestModeratelyNestedLiteral(t *testing.T) {
	const depth = 500
	src := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	path := writeFile(t, "nested.rtfs", src+"\n")
	r := run(t, "", "eval", "-f", path)
	if r.code != 0 || r.stdout != src+"\n" {
		t.Errorf("want the %d-deep vector printed back; got\n%v", depth, r)
	}
}

func TestManyForms(t *testing.T) {
	const n = 50000
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "(def x%d %d)\n", i, i)
	}
	fmt.Fprintf(&b, "(+ x0 x1 x%d)\n", n-1)
	path := writeFile(t, "many.rtfs", b.String())
	r := run(t, "", "eval", "-f", path)
	if want := fmt.Sprintf("%d\n", n); r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("want %q; got\n%v", want, r)
	}
	// The same program on standard input.
	r = run(t, b.String(), "eval", "-")
	if want := fmt.Sprintf("%d\n", n); r.code != 0 || r.stdout != want {
		t.Errorf("stdin: want %q; got\n%v", want, r)
	}
}

// ---------------------------------------------------------------- security

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		code    int
		stdout  string
		errType string
	}{
		{"read-file is refused", `(call :ccos.io.read-file "/etc/hostname")`, 1, "", ":security-error"},
		{"string capability id is refused too", `(call "ccos.io.read-file" "/etc/hostname")`, 1, "", ":security-error"},
		{"execute is refused", `(call :ccos.system.execute "id")`, 1, "", ":security-error"},
		{"refusal can be caught", `(try (call :ccos.io.read-file "/etc/hostname") (catch :security-error e :denied))`, 0, ":denied\n", ""},
		{"echo is allowed", `(call :ccos.echo 5)`, 0, "5\n", ""},
		{"echo keeps structure", `(call :ccos.echo {:a [1 "x"]})`, 0, `{:a [1 "x"]}` + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", "eval", tt.expr)
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Fatalf("want exit %d and stdout %q; got\n%v", tt.code, tt.stdout, r)
			}
			if tt.errType != "" {
				if first := r.stderrLines()[0]; !strings.HasPrefix(first, "error: #<error "+tt.errType+` "`) {
					t.Errorf("first stderr line %q is not a %s error", first, tt.errType)
				}
			}
		})
	}
}

// ---------------------------------------------------------------- version, help

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := run(t, "", args...)
		if r.code != 0 || !regexp.MustCompile(`^ccos \S+\n$`).MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("ccos %q: want 'ccos VERSION' on stdout; got\n%v", args, r)
		}
	}
}

func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := run(t, "", args...)
		if r.code != 0 {
			t.Errorf("ccos %q: want exit 0; got\n%v", args, r)
		}
		for _, s := range []string{"Usage: ccos COMMAND", "eval", "repl", "version"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("ccos %q: stdout does not contain %q\n%v", args, s, r)
			}
		}
	}
}

// commandHelp runs a help request and checks it succeeds and documents
// want (on either stream; see TestCommandHelpGoesToStdout).
func commandHelp(t *testing.T, args []string, want ...string) {
	t.Helper()
	r := run(t, "", args...)
	if r.code != 0 {
		t.Errorf("ccos %q: want exit 0; got\n%v", args, r)
	}
	all := r.stdout + r.stderr
	for _, s := range want {
		if !strings.Contains(all, s) {
			t.Errorf("ccos %q: help does not mention %q\n%v", args, s, r)
		}
	}
}

func TestCommandHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help", "eval"}, []string{"Usage: ccos eval", "-timeout", "-max-steps", "-max-depth", "-f FILE"}},
		{[]string{"eval", "-h"}, []string{"Usage: ccos eval", "-timeout", "-max-steps"}},
		{[]string{"eval", "--help"}, []string{"Usage: ccos eval", "-timeout", "-max-steps"}},
		{[]string{"help", "repl"}, []string{"Usage: ccos repl", "-timeout", "-max-steps", "-history"}},
		{[]string{"repl", "-h"}, []string{"Usage: ccos repl", "-history"}},
		{[]string{"help", "version"}, []string{"Usage: ccos version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			commandHelp(t, tt.args, tt.want...)
		})
	}
}

func TestCommandHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"help", "eval"}, {"eval", "-h"}, {"repl", "-h"}} {
		r := run(t, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: ccos ") || r.stderr != "" {
			t.Errorf("ccos %q: want the usage on stdout and nothing on stderr; got\n%v", args, r)
		}
	}
}

// ---------------------------------------------------------------- repl over a pipe

func TestReplPipeSession(t *testing.T) {
	session, err := os.ReadFile("testdata/repl_session.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(session), "repl")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and empty stderr; got\n%v", r)
	}
	// Piped input: no banner, no prompts, one output block per input.
	wantStart := strings.Join([]string{
		"#<fn sq>",
		"10",
		"19", // the multi-line form
		"#<fn div>",
		`error: #<error :arithmetic-error "division by zero">`,
		"  at <repl:4>:2:3",
		"  in div (<repl:5>:1:1)",
		`error: #<error :parse-error "expected ')' to close '(' at 1:1, found ']'">`,
		"  at <repl:6>:1:6",
		"(+ 1 ]",
		"     ^",
		"100", // sq still defined after the errors
		"5",
		"base",
		"div",
		"sq",
		"",
	}, "\n")
	if !strings.HasPrefix(r.stdout, wantStart) {
		t.Fatalf("session output:\n%s\nwant it to start with:\n%s", r.stdout, wantStart)
	}
	help := strings.TrimPrefix(r.stdout, wantStart)
	for _, s := range []string{":help", ":quit", ":env", ":reset"} {
		if !strings.Contains(help, s) {
			t.Errorf(":help output does not mention %s:\n%s", s, help)
		}
	}
	// Nothing after :quit is evaluated.
	if strings.Contains(help, "after-quit") {
		t.Errorf("input after :quit was evaluated:\n%s", r.stdout)
	}
}

func TestReplPipe(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		input string
		code  int
		want  string
	}{
		{"ends at end of input", nil, "(+ 1 2)\n", 0, "3\n"},
		{"blank lines are ignored", nil, "\n\n(+ 1 2)\n\n", 0, "3\n"},
		{"several forms on a line print the last", nil, "(def a 1) (+ a 1)\n", 0, "2\n"},
		{"form closed on a later line", nil, "(+ 1 2) (+ 3\n4)\n", 0, "7\n"},
		{"string spanning lines", nil, "(str \"a\nb\")\n", 0, "\"a\\nb\"\n"},
		{"unfinished form at end of input", nil, "(+ 1 2)\n(+ 1\n", 1, "3\nerror: input ended inside an unfinished form\n"},
		{":reset forgets definitions", nil, "(def a 1)\n:reset\n:env\na\n", 0,
			"1\ndefinitions cleared\nerror: #<error :undefined-symbol \"undefined symbol: a\">\n  at <repl:2>:1:1\n"},
		{":q and :exit", nil, "1\n:q\n2\n", 0, "1\n"},
		{":exit", nil, "1\n:exit\n2\n", 0, "1\n"},
		{"commands are only commands at the start of an input", nil, "[1\n:quit]\n2\n", 0, "[1 :quit]\n2\n"},
		{"limits apply per input", []string{"--max-steps", "1000"}, "(loop [] (recur))\n(+ 1 2)\n" + countLoop + "\n", 0,
			"error: #<error :limit-exceeded \"evaluation step limit of 1000 exceeded\">\n3\n" +
				"error: #<error :limit-exceeded \"evaluation step limit of 1000 exceeded\">\n"},
		{"timeout per input", []string{"--timeout", "100ms", "--max-steps", "0"}, "(loop [] (recur))\n(+ 1 2)\n", 0,
			"error: #<error :timeout \"evaluation timed out\">\n3\n"},
		{"println output comes before the value", nil, "(do (println \"hi\") 7)\n", 0, "hi\n7\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.input, append([]string{"repl"}, tt.args...)...)
			if r.code != tt.code || r.stdout != tt.want {
				t.Errorf("want exit %d and stdout\n%s\ngot\n%v", tt.code, tt.want, r)
			}
		})
	}
}

// ---------------------------------------------------------------- repl on a terminal

// ptyRepl drives a REPL running on a pseudo-terminal.
type ptyRepl struct {
	t    *testing.T
	cmd  *exec.Cmd
	f    *os.File
	mu   sync.Mutex
	buf  []byte // everything read so far
	seen int    // how much of buf expect has consumed
	more chan struct{}
	done chan struct{} // closed when the reader stops
}

func startPtyRepl(t *testing.T, args ...string) *ptyRepl {
	t.Helper()
	return startPty(t, append([]string{"repl"}, args...)...)
}

// startPty runs ccos with args on a pseudo-terminal.
func startPty(t *testing.T, args ...string) *ptyRepl {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, ccosBin, args...)
	cmd.Env = append(testEnv(t), "TERM=dumb")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("starting the REPL on a pty: %v", err)
	}
	p := &ptyRepl{t: t, cmd: cmd, f: f, more: make(chan struct{}, 1), done: make(chan struct{})}
	t.Cleanup(func() {
		f.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		defer close(p.done)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			if n > 0 {
				p.mu.Lock()
				p.buf = append(p.buf, b[:n]...)
				p.mu.Unlock()
				select {
				case p.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

// expect waits until s appears in the output after what earlier calls
// consumed, and consumes through it.
func (p *ptyRepl) expect(s string) {
	p.t.Helper()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		p.mu.Lock()
		i := bytes.Index(p.buf[p.seen:], []byte(s))
		if i >= 0 {
			p.seen += i + len(s)
			p.mu.Unlock()
			return
		}
		out := string(p.buf[p.seen:])
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.done:
			// Drain what the reader appended last.
			p.mu.Lock()
			found := bytes.Contains(p.buf[p.seen:], []byte(s))
			p.mu.Unlock()
			if !found {
				p.t.Fatalf("REPL output ended without %q; unconsumed output: %q\nall output: %q", s, out, p.output())
			}
		case <-timer.C:
			p.t.Fatalf("timed out waiting for %q; unconsumed output: %q", s, out)
		}
	}
}

func (p *ptyRepl) send(s string) {
	p.t.Helper()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.t.Fatalf("writing %q to the pty: %v", s, err)
	}
}

// wait waits for the REPL to exit and returns its exit status.
func (p *ptyRepl) wait() int {
	p.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- p.cmd.Wait() }()
	select {
	case err := <-errc:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		if err != nil {
			p.t.Fatalf("waiting for the REPL: %v", err)
		}
		return 0
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		p.t.Fatalf("REPL did not exit; output: %q", p.output())
		return -1
	}
}

func (p *ptyRepl) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.buf)
}

func TestReplTerminal(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "sub", "hist")
	p := startPtyRepl(t, "--history", hist)
	p.expect("ccos RTFS REPL")
	p.expect("rtfs> ")

	p.send("(+ 1 2)\r")
	p.expect("\n3\r\n")
	p.expect("rtfs> ")

	// A multi-line form: the continuation prompt, then the value.
	p.send("(+ 1\r")
	p.expect("   .. ")
	p.send("2)\r")
	p.expect("\n3\r\n")
	p.expect("rtfs> ")

	// Errors do not end the session.
	p.send("(/ 1 0)\r")
	p.expect(`error: #<error :arithmetic-error "division by zero">`)
	p.expect("rtfs> ")

	// Up-arrow recalls the previous line; Enter runs it again.
	p.send("(* 6 7)\r")
	p.expect("\n42\r\n")
	p.expect("rtfs> ")
	p.send("\x1b[A")
	p.expect("(* 6 7)")
	p.send("\r")
	p.expect("\n42\r\n")
	p.expect("rtfs> ")

	// Tab completes a name defined in the session.
	p.send("(def my-unique-name 99)\r")
	p.expect("\n99\r\n")
	p.expect("rtfs> ")
	p.send("my-uniq\t")
	p.expect("my-unique-name")
	p.send("\r")
	p.expect("\n99\r\n")
	p.expect("rtfs> ")

	// Ctrl-D on an empty line leaves.
	p.send("\x04")
	if code := p.wait(); code != 0 {
		t.Fatalf("REPL exited with %d; output: %q", code, p.output())
	}

	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatalf("history file: %v", err)
	}
	want := "(+ 1 2)\n(+ 1\n2)\n(/ 1 0)\n(* 6 7)\n(* 6 7)\n(def my-unique-name 99)\nmy-unique-name\n"
	if string(data) != want {
		t.Errorf("history file:\n%q\nwant\n%q", data, want)
	}
}

func TestReplTerminalLoadsHistory(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "hist")
	if err := os.WriteFile(hist, []byte("(+ 100 1)\n(str \"old\" \"er\")\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPtyRepl(t, "--history", hist)
	p.expect("rtfs> ")
	p.send("\x1b[A\x1b[A\r") // two entries back
	p.expect("\n101\r\n")
	p.expect("rtfs> ")
	p.send(":quit\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("REPL exited with %d; output: %q", code, p.output())
	}
	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if want := "(+ 100 1)\n(str \"old\" \"er\")\n(+ 100 1)\n:quit\n"; string(data) != want {
		t.Errorf("history file:\n%q\nwant\n%q", data, want)
	}
}

func TestReplTerminalCtrlDInUnfinishedForm(t *testing.T) {
	p := startPtyRepl(t, "--history", "")
	p.expect("rtfs> ")
	p.send("(+ 1\r")
	p.expect("   .. ")
	p.send("\x04")
	p.expect("(input discarded)")
	p.expect("rtfs> ")
	p.send("(+ 2 2)\r")
	p.expect("\n4\r\n")
	p.send(":quit\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("REPL exited with %d; output: %q", code, p.output())
	}
}

func TestReplTerminalCtrlC(t *testing.T) {
	p := startPtyRepl(t, "--history", "")
	p.expect("rtfs> ")
	p.send("(+ 9 9")
	p.expect("(+ 9 9")
	p.send("\x03")
	p.expect("^C")
	p.expect("rtfs> ")
	p.send("(+ 2 2)\r")
	p.expect("\n4\r\n")
	p.send(":quit\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("REPL exited with %d; output: %q", code, p.output())
	}
}

func TestReplTerminalBlankLinesNotInHistory(t *testing.T) {
	p := startPtyRepl(t, "--history", "")
	p.expect("rtfs> ")
	p.send("(+ 1 2)\r")
	p.expect("\n3\r\n")
	p.expect("rtfs> ")
	p.send("\r")
	p.expect("rtfs> ")
	p.send("   \r")
	p.expect("rtfs> ")
	// Up-arrow skips the blank inputs, as the history file does.
	p.send("\x1b[A\r")
	p.expect("\n3\r\n")
	p.send(":quit\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("REPL exited with %d; output: %q", code, p.output())
	}
}

package confine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Every confinement is irreversible, so the tests run it in a child: the
// test binary re-executed with helperEnv naming a function of helpers,
// which reports "ok NAME" / "FAIL NAME: why" lines and exits 1 on failure.
const (
	helperEnv = "CONFINE_TEST_HELPER"
	argsEnv   = "CONFINE_TEST_ARGS"
)

// helpers are the functions a child can run, registered by the test files.
var helpers = map[string]func(h *helperT){}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		runHelperMain(name)
	}
	os.Exit(m.Run())
}

// helperT collects the results of checks made in a child.
type helperT struct {
	mu     sync.Mutex
	failed bool
	args   map[string]string
}

func (h *helperT) printf(format string, a ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Printf(format+"\n", a...)
}

// logf prints an informational line.
func (h *helperT) logf(format string, a ...any) { h.printf("note "+format, a...) }

// fail records a failed check.
func (h *helperT) fail(name string, format string, a ...any) {
	h.mu.Lock()
	h.failed = true
	h.mu.Unlock()
	h.printf("FAIL %s: %s", name, fmt.Sprintf(format, a...))
}

// ok records a check that must succeed.
func (h *helperT) ok(name string, err error) bool {
	if err != nil {
		h.fail(name, "unexpected error: %v", err)
		return false
	}
	h.printf("ok %s", name)
	return true
}

// denied records a check that must fail with one of want.
func (h *helperT) denied(name string, err error, want ...syscall.Errno) {
	if err == nil {
		h.fail(name, "succeeded, want %v", want)
		return
	}
	for _, w := range want {
		if errors.Is(err, w) {
			h.printf("ok %s (%v)", name, w)
			return
		}
	}
	h.fail(name, "error %v, want %v", err, want)
}

// fails records a check that must fail (any error).
func (h *helperT) fails(name string, err error) {
	if err == nil {
		h.fail(name, "succeeded, want an error")
		return
	}
	h.printf("ok %s (%v)", name, err)
}

func runHelperMain(name string) {
	fn := helpers[name]
	if fn == nil {
		fmt.Printf("FAIL no helper %q\n", name)
		os.Exit(3)
	}
	h := &helperT{args: map[string]string{}}
	if a := os.Getenv(argsEnv); a != "" {
		if err := json.Unmarshal([]byte(a), &h.args); err != nil {
			fmt.Printf("FAIL bad args: %v\n", err)
			os.Exit(3)
		}
	}
	fn(h)
	if h.failed {
		os.Exit(1)
	}
	fmt.Println("HELPER-DONE")
	os.Exit(0)
}

// helperCmd prepares a child running helper name with args.
func helperCmd(t *testing.T, ctx context.Context, name string, args map[string]string) *exec.Cmd {
	t.Helper()
	a, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, argsEnv+"="+string(a))
	cmd.Dir = t.TempDir() // a core dump, if any, lands here
	return cmd
}

// runHelper runs helper name in a child and returns its output and error.
func runHelper(t *testing.T, name string, args map[string]string, attr *syscall.SysProcAttr) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := helperCmd(t, ctx, name, args)
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// expectHelperOK runs helper name and fails the test unless every check
// in it passed. It returns the output.
func expectHelperOK(t *testing.T, name string, args map[string]string, attr *syscall.SysProcAttr) string {
	t.Helper()
	out, err := runHelper(t, name, args, attr)
	checkHelper(t, name, out, err)
	return out
}

// checkHelper fails the test unless the helper's run passed every check.
func checkHelper(t *testing.T, name, out string, err error) {
	t.Helper()
	if err != nil || !strings.Contains(out, "HELPER-DONE") {
		t.Fatalf("helper %s: %v\n%s", name, err, out)
	}
	n := strings.Count(out, "\nok ")
	if strings.HasPrefix(out, "ok ") {
		n++
	}
	t.Logf("helper %s: %d checks passed", name, n)
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "note ") {
			t.Log(l)
		}
	}
	if testing.Verbose() {
		t.Logf("helper %s output:\n%s", name, out)
	}
}

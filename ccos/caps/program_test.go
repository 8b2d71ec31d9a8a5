//go:build unix

package caps

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

func progCap(t *testing.T, path string, timeoutMs int, args ...string) *Capability {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s: %v", path, err)
	}
	c, err := NewFromManifest(&Manifest{ID: "test.prog", Provider: ProviderProgram,
		Program: &ProgramConfig{Path: path, Args: args, Timeout: time.Duration(timeoutMs) * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func progRun(t *testing.T, c *Capability, args ...value.Value) *value.Map {
	t.Helper()
	v, err := Invoke(context.Background(), c, nil, args)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(*value.Map)
	if !ok {
		t.Fatalf("result %v", value.Repr(v))
	}
	return m
}

func progGet(m *value.Map, k string) value.Value {
	v, _ := m.Get(value.Keyword(k))
	return v
}

func TestProgramEcho(t *testing.T) {
	c := progCap(t, "/bin/echo", 0, "-n", "fixed")
	m := progRun(t, c, value.String("hello world"), value.Int(-3), value.Float(1.5), value.Keyword("kw"), value.Keyword("ns/kw"))
	want := value.NewMap(value.Keyword("exit"), value.Int(0),
		value.Keyword("stdout"), value.String("fixed hello world -3 1.5 kw ns/kw"),
		value.Keyword("stderr"), value.String(""))
	if !value.Equal(m, want) {
		t.Errorf("result %s", value.Repr(m))
	}
}

func TestProgramStdin(t *testing.T) {
	c := progCap(t, "/bin/cat", 0)
	in := "line 1\nline 2 é\n"
	m := progRun(t, c, value.NewMap(value.Keyword("stdin"), value.String(in)))
	if progGet(m, "stdout") != value.String(in) || progGet(m, "exit") != value.Int(0) {
		t.Errorf("result %s", value.Repr(m))
	}
	// Without :stdin the program reads an empty input.
	m = progRun(t, c)
	if progGet(m, "stdout") != value.String("") {
		t.Errorf("result %s", value.Repr(m))
	}
}

func TestProgramExitAndEnv(t *testing.T) {
	sh := progCap(t, "/bin/sh", 0, "-c")
	m := progRun(t, sh, value.String("echo out; echo err >&2; exit 3"))
	if progGet(m, "exit") != value.Int(3) || progGet(m, "stdout") != value.String("out\n") || progGet(m, "stderr") != value.String("err\n") {
		t.Errorf("result %s", value.Repr(m))
	}
	m = progRun(t, sh, value.String("kill -9 $$"))
	if progGet(m, "exit") != value.Int(137) {
		t.Errorf("killed: %s", value.Repr(m))
	}

	t.Setenv("CCOS_SECRET_TEST", "s3cret")
	m = progRun(t, progCap(t, "/usr/bin/env", 0))
	if progGet(m, "stdout") != value.String("PATH=/usr/bin:/bin\n") {
		t.Errorf("environment %s", value.Repr(m))
	}
}

func TestProgramTimeoutKillsChildren(t *testing.T) {
	c := progCap(t, "/bin/sh", 300, "-c")
	start := time.Now()
	_, err := Invoke(context.Background(), c, nil, []value.Value{value.String("sleep 30 & echo $!; wait")})
	ve := invWantErr(t, err, value.ErrTimeout, "timed out after 300ms")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// The background sleep was in the process group: it is gone.
	out, _ := ve.Data.(*value.Map).Get(value.Keyword("stdout"))
	progWaitGone(t, out)

	// The caller's cancellation kills too.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	_, err = Invoke(ctx, progCap(t, "/bin/sh", 0, "-c"), nil, []value.Value{value.String("sleep 30")})
	invWantErr(t, err, value.ErrTimeout, "cancelled")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestProgramBackgroundChildHoldingOutput(t *testing.T) {
	// sh exits at once but its child keeps stdout open: the call returns
	// after the wait delay instead of 30 s.
	c := progCap(t, "/bin/sh", 0, "-c")
	start := time.Now()
	m := progRun(t, c, value.String("sleep 30 & echo $!"))
	if progGet(m, "exit") != value.Int(0) {
		t.Errorf("result %s", value.Repr(m))
	}
	if d := time.Since(start); d > programWaitDelay+3*time.Second {
		t.Errorf("took %v", d)
	}
	// The straggler was killed with its process group.
	progWaitGone(t, progGet(m, "stdout"))
}

// progWaitGone waits until the process whose pid is printed in out is
// gone (or a zombie waiting for a reaper).
func progWaitGone(t *testing.T, out value.Value) {
	t.Helper()
	s, _ := out.(value.String)
	pid, err := strconv.Atoi(strings.TrimSpace(string(s)))
	if err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProgramErrors(t *testing.T) {
	c := progCap(t, "/bin/echo", 0)
	for _, tc := range []struct {
		args []value.Value
		msg  string
	}{
		{[]value.Value{value.True}, "argument 1 must be a string, number or keyword, got boolean"},
		{[]value.Value{value.String("a"), nil}, "argument 2 must be"},
		{[]value.Value{value.NewMap(), value.String("a")}, "argument 1 must be"},
		{[]value.Value{value.NewVector()}, "got vector"},
		{[]value.Value{value.String("a\x00b")}, "NUL"},
		{[]value.Value{value.NewMap(value.Keyword("env"), value.String("x"))}, "unknown option :env"},
		{[]value.Value{value.NewMap(value.Keyword("stdin"), value.Int(1))}, ":stdin must be a string"},
	} {
		_, err := Invoke(context.Background(), c, nil, tc.args)
		invWantErr(t, err, value.ErrType, tc.msg)
	}

	missing, err := NewFromManifest(&Manifest{ID: "x.y", Provider: ProviderProgram, Program: &ProgramConfig{Path: "/nonexistent/ccos-prog"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Invoke(context.Background(), missing, nil, nil)
	invWantErr(t, err, value.ErrCapability, "cannot run /nonexistent/ccos-prog")
}

func TestProgramTruncation(t *testing.T) {
	c := progCap(t, "/bin/echo", 0)
	old := maxProgramOutput
	maxProgramOutput = 5
	defer func() { maxProgramOutput = old }()
	m := progRun(t, c, value.String("héllo world"))
	if progGet(m, "stdout") != value.String("héll") || progGet(m, "truncated") != value.True {
		t.Errorf("result %s", value.Repr(m))
	}
}

func TestProgramFromManifestFile(t *testing.T) {
	if _, err := os.Stat("/usr/bin/wc"); err != nil {
		t.Skip(err)
	}
	m := New()
	dir := t.TempDir()
	mpWrite(t, dir, "tools.rtfs", string(readTestdata(t, "tools.rtfs")))
	if err := m.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	c, _ := m.Get("text.count-lines")
	v, err := Invoke(context.Background(), c, nil, []value.Value{value.NewMap(value.Keyword("stdin"), value.String("a\nb\nc\n"))})
	if err != nil {
		t.Fatal(err)
	}
	if out := progGet(v.(*value.Map), "stdout"); strings.TrimSpace(string(out.(value.String))) != "3" {
		t.Errorf("wc -l = %v", value.Repr(v))
	}
	// The input schema requires the options map.
	_, err = Invoke(context.Background(), c, nil, nil)
	invWantErr(t, err, value.ErrValidation, "input does not match")
}

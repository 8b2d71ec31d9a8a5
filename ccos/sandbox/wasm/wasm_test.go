package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Shared across tests: one Runtime, the guest module built once, a
// temporary directory for module files.
var (
	testRT  *Runtime
	rtOnce  sync.Once
	rtErr   error
	tmpRoot string
	tmpOnce sync.Once
	tmpErr  error
	gstOnce sync.Once
	gstPath string
	gstHash string
	gstErr  error
	minOnce sync.Once
	minPath string
	minHash string
	minErr  error
	bgCtx   = context.Background()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testRT != nil {
		_ = testRT.Close(bgCtx)
	}
	if tmpRoot != "" {
		_ = os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

func tmp(t testing.TB) string {
	t.Helper()
	tmpOnce.Do(func() { tmpRoot, tmpErr = os.MkdirTemp("", "ccos-wasm-test-") })
	if tmpErr != nil {
		t.Fatal(tmpErr)
	}
	return tmpRoot
}

// rt returns the shared Runtime.
func rt(t testing.TB) *Runtime {
	t.Helper()
	rtOnce.Do(func() { testRT, rtErr = New(bgCtx) })
	if rtErr != nil {
		t.Fatal(rtErr)
	}
	return testRT
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// goTool finds the go command: on PATH (go test puts GOROOT/bin first)
// or in runtime.GOROOT()/bin.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no go command on PATH or in %s", p)
	}
	return p, nil
}

// guest builds testdata/guest for wasip1 (once per test binary) and
// returns its path and SHA-256.
func guest(t testing.TB) (path, hash string) {
	t.Helper()
	gstOnce.Do(func() {
		dir := tmp(t)
		gstPath = filepath.Join(dir, "guest.wasm")
		gobin, err := goTool()
		if err != nil {
			gstErr = err
			return
		}
		cmd := exec.Command(gobin, "build", "-trimpath", "-o", gstPath, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			gstErr = fmt.Errorf("building the guest module: %v\n%s", err, out)
			return
		}
		b, err := os.ReadFile(gstPath)
		if err != nil {
			gstErr = err
			return
		}
		gstHash = hashOf(b)
	})
	if gstErr != nil {
		t.Fatal(gstErr)
	}
	return gstPath, gstHash
}

// minimal writes the hand-assembled echo module and returns its path and
// SHA-256.
func minimal(t testing.TB) (path, hash string) {
	t.Helper()
	minOnce.Do(func() {
		b := minimalEchoModule()
		minPath = filepath.Join(tmp(t), "minimal.wasm")
		minErr = os.WriteFile(minPath, b, 0o644)
		minHash = hashOf(b)
	})
	if minErr != nil {
		t.Fatal(minErr)
	}
	return minPath, minHash
}

func loadGuest(t testing.TB) *Module {
	t.Helper()
	p, h := guest(t)
	m, err := rt(t).Load(bgCtx, p, h)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run runs the guest operation op with the JSON stdin in under c.
func run(t *testing.T, m *Module, op, in string, c Config) *Output {
	t.Helper()
	c.Args = []string{op}
	c.Stdin = []byte(in)
	out, err := m.Run(bgCtx, c)
	if err != nil {
		t.Fatalf("%s %s: %v", op, in, err)
	}
	return out
}

func wantOK(t *testing.T, out *Output, stdout string) {
	t.Helper()
	if out.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %q", out.ExitCode, out.Stderr)
	}
	if got := strings.TrimSpace(string(out.Stdout)); got != stdout {
		t.Fatalf("stdout %s, want %s", got, stdout)
	}
}

func wantFail(t *testing.T, out *Output, stderr string) {
	t.Helper()
	if out.ExitCode == 0 {
		t.Fatalf("succeeded with stdout %q, want a failure with %q", out.Stdout, stderr)
	}
	if !strings.Contains(string(out.Stderr), stderr) {
		t.Fatalf("stderr %q, want %q", out.Stderr, stderr)
	}
}

func TestMinimalModule(t *testing.T) {
	p, h := minimal(t)
	m, err := rt(t).Load(bgCtx, p, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "x", `[1,"two",{"three":3}]`, strings.Repeat("abc", 50000)} {
		out, err := m.Run(bgCtx, Config{Stdin: []byte(in)})
		if err != nil {
			t.Fatal(err)
		}
		if out.ExitCode != 0 || string(out.Stdout) != in {
			t.Fatalf("exit %d, stdout %d bytes, want %d", out.ExitCode, len(out.Stdout), len(in))
		}
	}
}

func TestLoadRefusesHashMismatch(t *testing.T) {
	p, h := minimal(t)
	wrong := strings.Repeat("0", 64)
	_, err := rt(t).Load(bgCtx, p, wrong)
	var hm *HashMismatchError
	if !errors.As(err, &hm) {
		t.Fatalf("error %v, want a *HashMismatchError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, h) || !strings.Contains(msg, wrong) || !strings.Contains(msg, p) {
		t.Errorf("error %q does not name the file and both hashes", msg)
	}
	if _, err := rt(t).Load(bgCtx, p, "abc"); err == nil || !strings.Contains(err.Error(), "64 hexadecimal") {
		t.Errorf("short hash: %v", err)
	}
	if _, err := rt(t).Load(bgCtx, p, strings.ToUpper(h)); err != nil {
		t.Errorf("upper-case hash: %v", err)
	}
	if _, err := rt(t).Load(bgCtx, filepath.Join(tmp(t), "missing.wasm"), h); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadRefusesNonCommands(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"garbage":    []byte("not wasm"),
		"no start":   append([]byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}, wasmSection(nil, 5, wasmVec(nil, 1, []byte{0x00, 1}))...),
		"empty":      {0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00},
		"env import": voidModule("env", []string{"f"}, []byte{0x0b}),
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".wasm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := rt(t).Load(bgCtx, p, hashOf(b)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestRunTrap(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string][]byte{
		"returns":     {0x0b},
		"unreachable": {0x00, 0x0b},
	} {
		b := voidModule("", nil, body)
		p := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := rt(t).Load(bgCtx, p, hashOf(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := m.Run(bgCtx, Config{})
		if name == "returns" {
			if err != nil || out.ExitCode != 0 {
				t.Errorf("%s: %+v, %v", name, out, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "unreachable") || out == nil {
			t.Errorf("%s: %+v, %v", name, out, err)
		}
	}
}

func TestLoadCache(t *testing.T) {
	r, err := New(bgCtx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(bgCtx)
	p, h := guest(t)
	t0 := time.Now()
	m1, err := r.Load(bgCtx, p, h)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(t0)
	// The same content under another name is the same module.
	other := filepath.Join(t.TempDir(), "copy.wasm")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(other, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	m2, err := r.Load(bgCtx, other, h)
	if err != nil {
		t.Fatal(err)
	}
	second := time.Since(t0)
	t.Logf("first Load %v (compiles), second %v (hashes only)", first, second)
	if m1 != m2 {
		t.Error("second Load returned another *Module")
	}
	if second > first/2 {
		t.Errorf("second Load took %v, first %v: not served from the cache", second, first)
	}
	// Concurrent loads of one module compile it once.
	var wg sync.WaitGroup
	mods := make([]*Module, 4)
	pm, hm := minimal(t)
	for i := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mods[i], _ = r.Load(bgCtx, pm, hm)
		}()
	}
	wg.Wait()
	for _, m := range mods {
		if m == nil || m != mods[0] {
			t.Fatalf("concurrent loads: %v", mods)
		}
	}
	if err := r.Close(bgCtx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(bgCtx, pm, hm); err == nil {
		t.Error("Load after Close succeeded")
	}
}

func TestRunIsolation(t *testing.T) {
	m := loadGuest(t)
	out := run(t, m, "env", "[]", Config{})
	wantOK(t, out, `{"args":["env"],"env":[]}`)
	// Without Config.Clock the guest sees wazero's fake clocks: a fixed
	// epoch (2022-01-01) and sleeps that return at once.
	out = run(t, m, "time", "[]", Config{})
	if !strings.Contains(string(out.Stdout), `"unix":1640995200`) {
		t.Errorf("fake clock: %s", out.Stdout)
	}
	out = run(t, m, "time", "[]", Config{Clock: true})
	var tm struct {
		Unix    int64 `json:"unix"`
		SleptMS int64 `json:"slept-ms"`
	}
	if err := json.Unmarshal(out.Stdout, &tm); err != nil {
		t.Fatalf("real clock: %s: %v", out.Stdout, err)
	}
	if d := time.Now().Unix() - tm.Unix; d < 0 || d > 60 {
		t.Errorf("real clock: guest time %d, host %d", tm.Unix, time.Now().Unix())
	}
	if tm.SleptMS < 50 || out.Wall < 50*time.Millisecond {
		t.Errorf("real sleep: slept %d ms in %v", tm.SleptMS, out.Wall)
	}
	// Nothing is mounted by default.
	wantFail(t, run(t, m, "read", `["/etc/hostname"]`, Config{}), "No such file or directory")
	wantOK(t, run(t, m, "list", `["/"]`, Config{}), "[]")
	// The exit code and stderr come back.
	out = run(t, m, "exit", "[]", Config{})
	if out.ExitCode != 3 || !strings.Contains(string(out.Stderr), "giving up") {
		t.Errorf("exit: %+v", out)
	}
}

// fsFixture makes:
//
//	root/ro/a.txt            "alpha"
//	root/ro/inner -> a.txt   (relative link inside)
//	root/ro/abs -> root/ro/a.txt (absolute link inside)
//	root/ro/escape -> ../outside/secret.txt
//	root/ro/escape-abs -> root/outside/secret.txt
//	root/rw/
//	root/outside/secret.txt  "secret"
//	root/files/only.txt, root/files/other.txt
func fsFixture(t *testing.T) (root string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"ro", "rw", "outside", "files"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, s := range map[string]string{"ro/a.txt": "alpha", "outside/secret.txt": "secret",
		"files/only.txt": "only", "files/other.txt": "other"} {
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"ro/inner": "a.txt", "ro/abs": filepath.Join(root, "ro/a.txt"),
		"ro/escape": "../outside/secret.txt", "ro/escape-abs": filepath.Join(root, "outside/secret.txt")} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRunFilesystem(t *testing.T) {
	m := loadGuest(t)
	root := fsFixture(t)
	ro, rw, outside := filepath.Join(root, "ro"), filepath.Join(root, "rw"), filepath.Join(root, "outside")
	c := Config{ReadOnly: []string{ro}, ReadWrite: []string{rw}}
	js := func(args ...string) string {
		q := make([]string, len(args))
		for i, a := range args {
			q[i] = fmt.Sprintf("%q", a)
		}
		return "[" + strings.Join(q, ",") + "]"
	}

	t.Run("read inside", func(t *testing.T) {
		wantOK(t, run(t, m, "read", js(ro+"/a.txt"), c), `"alpha"`)
		wantOK(t, run(t, m, "list", js(ro), c), `["a.txt","abs","escape","escape-abs","inner"]`)
	})
	t.Run("links inside", func(t *testing.T) {
		wantOK(t, run(t, m, "read", js(ro+"/inner"), c), `"alpha"`)
		wantOK(t, run(t, m, "read", js(ro+"/abs"), c), `"alpha"`)
	})
	t.Run("outside is invisible", func(t *testing.T) {
		wantFail(t, run(t, m, "read", js(outside+"/secret.txt"), c), "No such file or directory")
		wantFail(t, run(t, m, "read", js(ro+"/../outside/secret.txt"), c), "No such file or directory")
		wantFail(t, run(t, m, "list", js(root), c), "No such file or directory")
		wantOK(t, run(t, m, "list", js("/"), c), "[]")
		wantFail(t, run(t, m, "read", js("/etc/passwd"), c), "No such file or directory")
	})
	t.Run("links out are refused", func(t *testing.T) {
		wantFail(t, run(t, m, "read", js(ro+"/escape"), c), "ermission denied")
		wantFail(t, run(t, m, "read", js(ro+"/escape-abs"), c), "ermission denied")
	})
	t.Run("read-only mount refuses writes", func(t *testing.T) {
		wantFail(t, run(t, m, "write", js(ro+"/new.txt", "x"), c), "Read-only file system")
		wantFail(t, run(t, m, "write", js(ro+"/a.txt", "x"), c), "Read-only file system")
		if b, _ := os.ReadFile(filepath.Join(ro, "a.txt")); string(b) != "alpha" {
			t.Errorf("a.txt changed to %q", b)
		}
		if _, err := os.Stat(filepath.Join(ro, "new.txt")); err == nil {
			t.Error("new.txt created")
		}
	})
	t.Run("read-write mount", func(t *testing.T) {
		wantOK(t, run(t, m, "write", js(rw+"/out.txt", "written by wasm"), c), "true")
		if b, err := os.ReadFile(filepath.Join(rw, "out.txt")); err != nil || string(b) != "written by wasm" {
			t.Errorf("out.txt = %q, %v", b, err)
		}
		wantOK(t, run(t, m, "read", js(rw+"/out.txt"), c), `"written by wasm"`)
	})
	t.Run("no symlinks from the guest", func(t *testing.T) {
		wantFail(t, run(t, m, "symlink", js("../outside/secret.txt", rw+"/sneaky"), c), "Operation not permitted")
		wantFail(t, run(t, m, "symlink", js("out.txt", rw+"/harmless"), c), "Operation not permitted")
	})
	t.Run("single files", func(t *testing.T) {
		files := filepath.Join(root, "files")
		c := Config{ReadOnly: []string{files + "/only.txt"}, ReadWrite: []string{files + "/new.txt"}}
		wantOK(t, run(t, m, "read", js(files+"/only.txt"), c), `"only"`)
		wantFail(t, run(t, m, "read", js(files+"/other.txt"), c), "No such file or directory")
		wantOK(t, run(t, m, "list", js(files), c), `["only.txt"]`)
		wantFail(t, run(t, m, "write", js(files+"/only.txt", "x"), c), "Read-only file system")
		wantOK(t, run(t, m, "write", js(files+"/new.txt", "new"), c), "true")
		wantOK(t, run(t, m, "list", js(files), c), `["new.txt","only.txt"]`)
		wantFail(t, run(t, m, "write", js(files+"/other.txt", "x"), c), "No such file or directory")
	})
	t.Run("nested mounts", func(t *testing.T) {
		// A writable file inside a read-only directory: the rest of the
		// directory stays readable and read-only.
		c := Config{ReadOnly: []string{ro}, ReadWrite: []string{ro + "/made.txt"}}
		wantOK(t, run(t, m, "write", js(ro+"/made.txt", "m"), c), "true")
		wantOK(t, run(t, m, "read", js(ro+"/a.txt"), c), `"alpha"`)
		wantFail(t, run(t, m, "write", js(ro+"/a.txt", "x"), c), "Read-only file system")
	})
	t.Run("bad mount", func(t *testing.T) {
		if _, err := m.Run(bgCtx, Config{ReadOnly: []string{"relative"}}); err == nil {
			t.Error("relative mount accepted")
		}
	})
}

func TestRunTimeout(t *testing.T) {
	m := loadGuest(t)
	t0 := time.Now()
	_, err := m.Run(bgCtx, Config{Args: []string{"spin"}, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("stopped after %v", d)
	}
	ctx, cancel := context.WithCancel(bgCtx)
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := m.Run(ctx, Config{Args: []string{"spin"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: error %v", err)
	}
	// The runtime is still usable.
	wantOK(t, run(t, m, "upper", `["ok"]`, Config{}), `"OK"`)
}

func TestRunMemoryCap(t *testing.T) {
	m := loadGuest(t)
	out, err := m.Run(bgCtx, Config{Args: []string{"hog"}, MemoryMB: 32})
	if err != nil {
		t.Fatal(err)
	}
	if out.ExitCode == 0 || !strings.Contains(string(out.Stderr), "out of memory") {
		t.Fatalf("exit %d, stderr %.300q", out.ExitCode, out.Stderr)
	}
	if _, err := m.Run(bgCtx, Config{Args: []string{"echo"}, MemoryMB: 1}); err == nil || !strings.Contains(err.Error(), "initial memory") {
		t.Errorf("initial memory over the cap: %v", err)
	}
	if _, err := m.Run(bgCtx, Config{MemoryMB: MaxMemoryMB + 1}); err == nil {
		t.Error("memory cap over the maximum accepted")
	}

	mem := memoryAllocator(3*pageSize).Allocate(pageSize, 10*pageSize)
	if b := mem.Reallocate(pageSize); len(b) != pageSize {
		t.Fatalf("initial: %d", len(b))
	}
	b := mem.Reallocate(3 * pageSize)
	if len(b) != 3*pageSize || b[3*pageSize-1] != 0 {
		t.Fatalf("grow: %d", len(b))
	}
	if mem.Reallocate(3*pageSize+1) != nil {
		t.Fatal("grew past the cap")
	}
	mem.Free()
}

func TestRunOutputCap(t *testing.T) {
	m := loadGuest(t)
	out, err := m.Run(bgCtx, Config{Args: []string{"flood"}})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Truncated || len(out.Stdout) != MaxOutputBytes {
		t.Fatalf("truncated %v, %d bytes", out.Truncated, len(out.Stdout))
	}
}

func TestRunConcurrent(t *testing.T) {
	m := loadGuest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := fmt.Sprintf(`["call %d"]`, i)
			out, err := m.Run(bgCtx, Config{Args: []string{"upper"}, Stdin: []byte(in)})
			if err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprintf(`"CALL %d"`, i); strings.TrimSpace(string(out.Stdout)) != want {
				errs <- fmt.Errorf("got %s, want %s", out.Stdout, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// ---- provider ----

// wasmCap returns a :wasm capability running the guest operation named
// by the last segment of id.
func wasmCap(t *testing.T, id string, edit func(*caps.Manifest)) *caps.Capability {
	t.Helper()
	p, h := guest(t)
	m := &caps.Manifest{ID: id, Provider: caps.ProviderWASM, WASM: &caps.WASMConfig{Path: p, SHA256: h}}
	if edit != nil {
		edit(m)
	}
	c, err := caps.NewFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newProvider(t *testing.T) *Provider {
	return &Provider{R: rt(t)}
}

func callErr(t *testing.T, err error, typ value.Keyword, msg string) {
	t.Helper()
	var ve *value.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v, want a %s", err, err, typ)
	}
	if ve.Type != typ || !strings.Contains(ve.Message, msg) {
		t.Fatalf("error %s %q, want %s with %q", ve.Type, ve.Message, typ, msg)
	}
}

func TestProviderEchoRoundTrip(t *testing.T) {
	p := newProvider(t)
	if p.Name() != "wasm" || p.Available() != nil {
		t.Fatalf("Name %q Available %v", p.Name(), p.Available())
	}
	c := wasmCap(t, "test.echo", nil)
	kw := func(s string) value.Value { return value.Keyword(s) }
	args := []value.Value{
		value.Int(42), value.Float(2.5), value.String("héllo \"quoted\"\n"), value.True, nil,
		kw("a-keyword"),
		value.NewVector(value.Int(1), value.NewVector(value.String("nested"))),
		value.NewMap(kw("name"), value.String("ccos"), kw("tags"), value.NewVector(value.String("x")),
			kw("inner"), value.NewMap(kw("n"), value.Int(-7))),
	}
	v, usage, err := p.Run(bgCtx, &sandbox.Request{Capability: c, Args: args}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// JSON has no keywords: a keyword comes back as its name, map keys
	// as keywords.
	want := value.NewVector(
		value.Int(42), value.Float(2.5), value.String("héllo \"quoted\"\n"), value.True, nil,
		value.String("a-keyword"),
		value.NewVector(value.Int(1), value.NewVector(value.String("nested"))),
		value.NewMap(kw("name"), value.String("ccos"), kw("tags"), value.NewVector(value.String("x")),
			kw("inner"), value.NewMap(kw("n"), value.Int(-7))),
	)
	if !value.Equal(v, want) {
		t.Fatalf("got %s\nwant %s", value.Repr(v), value.Repr(want))
	}
	if usage.Wall <= 0 || usage.CPU != 0 || usage.PeakMemoryBytes != 0 {
		t.Errorf("usage %+v: want measured wall time only", usage)
	}
	// Values JSON cannot carry are a :type-error before anything runs.
	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: c, Args: []value.Value{value.Float(math.NaN())}}, nil)
	callErr(t, err, value.ErrType, "")
}

func TestProviderSchemasAndErrors(t *testing.T) {
	p := newProvider(t)
	upper := wasmCap(t, "test.upper", func(m *caps.Manifest) {
		src := `{:id "x.y" :provider :local :input-schema [:tuple :string] :output-schema :string}`
		ms, err := caps.ParseManifests("schemas.rtfs", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		m.Input, m.Output = ms[0].Input, ms[0].Output
	})
	v, _, err := p.Run(bgCtx, &sandbox.Request{Capability: upper, Args: []value.Value{value.String("shout")}}, nil)
	if err != nil || v != value.String("SHOUT") {
		t.Fatalf("upper: %v, %v", v, err)
	}
	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: upper, Args: []value.Value{value.Int(1)}}, nil)
	callErr(t, err, value.ErrValidation, "input")

	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: wasmCap(t, "test.exit", nil)}, nil)
	callErr(t, err, value.ErrCapability, "exited with code 3: guest: giving up as asked")

	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: wasmCap(t, "test.notjson", nil)}, nil)
	callErr(t, err, value.ErrCapability, "not JSON")

	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: wasmCap(t, "test.flood", nil)}, nil)
	callErr(t, err, value.ErrCapability, "exceeds")

	spin := wasmCap(t, "test.spin", func(m *caps.Manifest) { m.WASM.Timeout = 5 * time.Second })
	prof := &profile.StepProfile{MicroVM: profile.MicroVMConfig{Timeout: 150 * time.Millisecond}}
	t0 := time.Now()
	_, usage, err := p.Run(bgCtx, &sandbox.Request{Capability: spin}, prof)
	callErr(t, err, value.ErrTimeout, "timed out")
	if d := time.Since(t0); d > 3*time.Second || usage.Wall < 150*time.Millisecond {
		t.Errorf("profile timeout not applied: took %v, usage %v", d, usage.Wall)
	}

	hog := wasmCap(t, "test.hog", func(m *caps.Manifest) { m.WASM.MemoryMB = 512 })
	prof = &profile.StepProfile{MicroVM: profile.MicroVMConfig{MemoryLimitMB: 24}}
	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: hog}, prof)
	callErr(t, err, value.ErrCapability, "out of memory")

	bad := wasmCap(t, "test.echo", func(m *caps.Manifest) { m.WASM.SHA256 = strings.Repeat("ab", 32) })
	_, _, err = p.Run(bgCtx, &sandbox.Request{Capability: bad}, nil)
	callErr(t, err, value.ErrCapability, strings.Repeat("ab", 32))
}

func TestProviderArgsEnvClock(t *testing.T) {
	p := newProvider(t)
	v, _, err := p.Run(bgCtx, &sandbox.Request{Capability: wasmCap(t, "test.env", nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := value.NewMap(value.Keyword("args"), value.NewVector(value.String("test.env")), value.Keyword("env"), value.NewVector())
	if !value.Equal(v, want) {
		t.Errorf("got %s, want %s", value.Repr(v), value.Repr(want))
	}
	clock := func(on bool) int64 {
		c := wasmCap(t, "test.time", func(m *caps.Manifest) { m.Effects.Clock = on })
		v, _, err := p.Run(bgCtx, &sandbox.Request{Capability: c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := v.(*value.Map).Get(value.Keyword("unix"))
		return int64(u.(value.Int))
	}
	if u := clock(false); u != 1640995200 {
		t.Errorf("without :clock the guest saw time %d", u)
	}
	if u := clock(true); time.Now().Unix()-u > 60 {
		t.Errorf("with :clock the guest saw time %d", u)
	}
}

func TestProviderFilesystemFromProfile(t *testing.T) {
	p := newProvider(t)
	root := fsFixture(t)
	ro, rw := filepath.Join(root, "ro"), filepath.Join(root, "rw")
	read := wasmCap(t, "test.read", func(m *caps.Manifest) { m.Effects.FSRead = []string{root} })
	write := wasmCap(t, "test.write", func(m *caps.Manifest) { m.Effects.FSWrite = []string{root} })
	prof := &profile.StepProfile{MicroVM: profile.MicroVMConfig{FS: profile.FSPolicy{
		Kind: profile.FSReadWrite, Read: []string{ro, rw}, Write: []string{rw}}}}
	call := func(c *caps.Capability, prof *profile.StepProfile, args ...value.Value) (value.Value, error) {
		v, _, err := p.Run(bgCtx, &sandbox.Request{Capability: c, Args: args}, prof)
		return v, err
	}
	if v, err := call(read, prof, value.String(ro+"/a.txt")); err != nil || v != value.String("alpha") {
		t.Errorf("read in the profile: %v, %v", v, err)
	}
	// The manifest declares the whole root, the profile narrows it: only
	// the profile's roots are mounted.
	_, err := call(read, prof, value.String(root+"/outside/secret.txt"))
	callErr(t, err, value.ErrCapability, "No such file or directory")
	_, err = call(write, prof, value.String(ro+"/x.txt"), value.String("x"))
	callErr(t, err, value.ErrCapability, "Read-only file system")
	if v, err := call(write, prof, value.String(rw+"/y.txt"), value.String("y")); err != nil || v != value.True {
		t.Errorf("write in the profile: %v, %v", v, err)
	}
	// FSNone mounts nothing, whatever the lists say.
	none := &profile.StepProfile{MicroVM: profile.MicroVMConfig{FS: profile.FSPolicy{Read: []string{ro}}}}
	_, err = call(read, none, value.String(ro+"/a.txt"))
	callErr(t, err, value.ErrCapability, "No such file or directory")
}

func TestProviderRefusesOtherCapabilities(t *testing.T) {
	p := newProvider(t)
	prog, err := caps.NewFromManifest(&caps.Manifest{ID: "x.prog", Provider: caps.ProviderProgram,
		Program: &caps.ProgramConfig{Path: "/bin/echo"}})
	if err != nil {
		t.Fatal(err)
	}
	local, ok := caps.NewDefault().Get("ccos.echo")
	if !ok {
		t.Fatal("no ccos.echo")
	}
	for _, c := range []*caps.Capability{prog, local} {
		_, _, err := p.Run(bgCtx, &sandbox.Request{Capability: c, Args: []value.Value{value.String("x")}}, nil)
		callErr(t, err, value.ErrCapability, "not a WebAssembly module")
	}
	if _, _, err := p.Run(bgCtx, &sandbox.Request{}, nil); err == nil {
		t.Error("nil capability accepted")
	}
	if err := (&Provider{}).Available(); err == nil {
		t.Error("a provider without runtime is available")
	}
}

func TestRunConfigFromProfile(t *testing.T) {
	c := &caps.Capability{Manifest: caps.Manifest{ID: "a.b", Provider: caps.ProviderWASM,
		WASM: &caps.WASMConfig{Path: "/m.wasm", SHA256: strings.Repeat("0", 64), MemoryMB: 100, Timeout: 10 * time.Second}}}
	cfg := runConfig(c, nil)
	if cfg.MemoryMB != 100 || cfg.Timeout != 10*time.Second || cfg.ReadOnly != nil || cfg.ReadWrite != nil ||
		!slices.Equal(cfg.Args, []string{"a.b"}) {
		t.Errorf("no profile: %+v", cfg)
	}
	prof := &profile.StepProfile{MicroVM: profile.MicroVMConfig{Timeout: time.Second, MemoryLimitMB: 256,
		FS: profile.FSPolicy{Kind: profile.FSFull, Read: []string{"*"}, Write: []string{"*"}}}}
	cfg = runConfig(c, prof)
	if cfg.MemoryMB != 100 || cfg.Timeout != time.Second ||
		!slices.Equal(cfg.ReadOnly, []string{"/"}) || !slices.Equal(cfg.ReadWrite, []string{"/"}) {
		t.Errorf("profile: %+v", cfg)
	}
	c.WASM.MemoryMB, c.WASM.Timeout = 0, 0
	prof.MicroVM = profile.MicroVMConfig{MemoryLimitMB: 16, Timeout: time.Hour}
	cfg = runConfig(c, prof)
	if cfg.MemoryMB != 16 || cfg.Timeout != caps.DefaultWASMTimeout {
		t.Errorf("defaults: %+v", cfg)
	}
}

// ---- benchmark ----

// BenchmarkCachedEcho runs the hand-assembled echo module (compiled once)
// with a small JSON argument array and reports the p50 and p95 latency
// of one call (instantiation, WASI set-up, run, teardown).
func BenchmarkCachedEcho(b *testing.B) {
	p, h := minimal(b)
	m, err := rt(b).Load(bgCtx, p, h)
	if err != nil {
		b.Fatal(err)
	}
	in := []byte(`["hello",42,{"k":[1,2,3]}]`)
	n := max(b.N, 200)
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for range n {
		t0 := time.Now()
		out, err := m.Run(bgCtx, Config{Stdin: in, Args: []string{"bench.echo"}})
		lat = append(lat, time.Since(t0))
		if err != nil || string(out.Stdout) != string(in) {
			b.Fatalf("%v %q", err, out.Stdout)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	p50, p95 := lat[len(lat)*50/100], lat[len(lat)*95/100]
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(p95.Nanoseconds())/1e3, "p95-µs")
}

// BenchmarkProviderEcho is the same call through Provider.Run: JSON
// encoding of the arguments, the stat-validated module cache, schema
// checks and JSON decoding of the result.
func BenchmarkProviderEcho(b *testing.B) {
	path, h := minimal(b)
	c, err := caps.NewFromManifest(&caps.Manifest{ID: "bench.echo", Provider: caps.ProviderWASM,
		WASM: &caps.WASMConfig{Path: path, SHA256: h}})
	if err != nil {
		b.Fatal(err)
	}
	p := &Provider{R: rt(b)}
	args := []value.Value{value.String("hello"), value.Int(42),
		value.NewMap(value.Keyword("k"), value.NewVector(value.Int(1), value.Int(2), value.Int(3)))}
	req := &sandbox.Request{Capability: c, Args: args}
	n := max(b.N, 200)
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for range n {
		t0 := time.Now()
		if _, _, err := p.Run(bgCtx, req, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*50/100].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*95/100].Nanoseconds())/1e3, "p95-µs")
}

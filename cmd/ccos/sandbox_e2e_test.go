package main

// End-to-end tests of the OS sandbox (issue: real sandboxes). A probe
// program, registered as program capabilities, tries what a buggy or
// malicious capability might; each test asserts that the sandbox stops it
// and that the causal chain records the refusal, while ccos itself stays
// healthy.

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/sandbox/process"
	"github.com/ccos-go/ccos/rtfs/value"
)

var (
	probeOnce sync.Once
	probePath string
	probeErr  error
)

// buildProbe compiles testdata/probe once.
func buildProbe(t *testing.T) string {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ccos-probe-")
		if err != nil {
			probeErr = err
			return
		}
		probePath = filepath.Join(dir, "probe")
		cmd := exec.Command("go", "build", "-o", probePath, "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = fmt.Errorf("building the probe: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probePath
}

// sandboxName is the provider a sandbox test runs under: the last
// element of its name when it is one of sandboxProviders, else process.
func sandboxName(t *testing.T) string {
	for _, seg := range strings.Split(t.Name(), "/") {
		if slices.Contains(sandboxProviders, seg) {
			return seg
		}
	}
	return "process"
}

// sandboxProviders are the OS sandboxes every sandbox test runs under.
var sandboxProviders = []string{"process", "bwrap", "gvisor"}

// forEachProvider runs f once per sandbox provider, as subtests named
// after them; a provider whose tool is missing is skipped unless CI
// requires it.
func forEachProvider(t *testing.T, f func(t *testing.T)) {
	for _, p := range sandboxProviders {
		t.Run(p, func(t *testing.T) {
			tool := map[string]string{"bwrap": "bwrap", "gvisor": "runsc"}[p]
			if tool != "" {
				if _, err := exec.LookPath(tool); err != nil {
					if os.Getenv("CCOS_REQUIRE_SANDBOX") != "" {
						t.Fatalf("%s is required here but not installed", tool)
					}
					t.Skipf("%s not installed", tool)
				}
			}
			f(t)
		})
	}
}

// requireSandbox skips when the process sandbox cannot work here (not
// root, no Landlock, no cgroups); CI runs as root where it can.
func requireSandbox(t *testing.T) {
	t.Helper()
	p := process.New(ccosBin)
	defer p.Close()
	if err := p.Available(); err != nil {
		if os.Getenv("CCOS_REQUIRE_SANDBOX") != "" {
			t.Fatalf("the process sandbox is required here but unavailable: %v", err)
		}
		t.Skipf("process sandbox unavailable: %v", err)
	}
}

// sandboxDir is a data directory whose capabilities/ holds the probe as
// program capabilities with the given effects.
func sandboxDir(t *testing.T, manifests map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	capDir := filepath.Join(dir, "capabilities")
	os.MkdirAll(capDir, 0o755)
	probe := buildProbe(t)
	var b strings.Builder
	for id, effects := range manifests {
		fmt.Fprintf(&b, "{:id %q :provider :program :program {:path %q :timeout-ms 20000} :effects {:exec true %s}}\n", id, probe, effects)
	}
	if err := os.WriteFile(filepath.Join(capDir, "probe.rtfs"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// probeRun runs a one-step plan calling capability id with args and
// returns the call's result map printed, the run, and the violations.
func probeRun(t *testing.T, dir, id string, args ...string) (string, result, []*model.Action) {
	t.Helper()
	return probeRunFlags(t, dir, nil, id, args...)
}

// probeRunFlags is probeRun with extra ccos run flags.
func probeRunFlags(t *testing.T, dir string, flags []string, id string, args ...string) (string, result, []*model.Action) {
	t.Helper()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	plan := writeFile(t, "p.rtfs", fmt.Sprintf(`(step "probe" (call :%s %s))`, id, strings.Join(quoted, " ")))
	r := inDir(t, dir, append([]string{"run", plan, "--allow", "probe.*", "--sandbox", sandboxName(t)}, flags...)...)
	var violations []*model.Action
	for _, a := range runActions(t, dir, runID(t, r)) {
		if a.Type == model.SecurityViolation {
			violations = append(violations, a)
		}
	}
	return r.stdout, r, violations
}

func violationText(vs []*model.Action) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.Name)
		if v.Metadata != nil {
			b.WriteString(" " + value.Repr(v.Metadata))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestSandboxDirectDialRefused(t *testing.T) {
	requireSandbox(t)
	forEachProvider(t, func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan struct{}, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- struct{}{}
				c.Close()
			}
		}()
		dir := sandboxDir(t, map[string]string{"probe.run": ""})
		out, r, vs := probeRun(t, dir, "probe.run", "dial", ln.Addr().String())
		if r.code != 0 || !strings.Contains(out, ":exit 1") {
			t.Fatalf("the dial was not refused\n%v", r)
		}
		select {
		case <-accepted:
			t.Fatal("the host listener accepted a connection from the sandbox")
		default:
		}
		// gVisor's network stack refuses the connect inside its own
		// kernel, where no per-connect supervision reaches.
		if sandboxName(t) != "gvisor" && !strings.Contains(violationText(vs), ln.Addr().String()) {
			t.Errorf("no SecurityViolation naming %s:\n%s", ln.Addr(), violationText(vs))
		}
	})
}

func TestSandboxEgressProxy(t *testing.T) {
	requireSandbox(t)
	forEachProvider(t, func(t *testing.T) {
		ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
		defer ok.Close()
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "leak") }))
		defer other.Close()
		okHost := strings.TrimPrefix(ok.URL, "http://")
		_, okPort, _ := net.SplitHostPort(okHost)
		dir := sandboxDir(t, map[string]string{
			"probe.net":    fmt.Sprintf(":network [%q]", okHost),
			"probe.rebind": fmt.Sprintf(":network [%q]", "localhost:"+okPort),
		})
		hosts := []string{"--allow-host", okHost, "--allow-host", "localhost:" + okPort}
		out, r, _ := probeRunFlags(t, dir, hosts, "probe.net", "fetch", ok.URL+"/")
		if r.code != 0 || !strings.Contains(out, ":exit 0") || !strings.Contains(out, "200 ok") {
			t.Fatalf("the allow-listed server was not reachable through the proxy\n%v", r)
		}
		out, r, vs := probeRunFlags(t, dir, hosts, "probe.net", "fetch", other.URL+"/")
		if r.code != 0 || strings.Contains(out, "leak") || !strings.Contains(out, ":exit 1") {
			t.Fatalf("a server outside the allow-list was reachable\n%v", r)
		}
		if !strings.Contains(violationText(vs), strings.TrimPrefix(other.URL, "http://")) {
			t.Errorf("no SecurityViolation for the refused server:\n%s", violationText(vs))
		}
		// A name allowed by name that resolves to a loopback address is
		// refused: the proxy checks the address it will dial.
		out, r, vs = probeRunFlags(t, dir, hosts, "probe.rebind", "fetch", "http://localhost:"+okPort+"/")
		if r.code != 0 || !strings.Contains(out, ":exit 1") || len(vs) == 0 {
			t.Fatalf("a name resolving to loopback was not refused\n%v\n%s", r, violationText(vs))
		}
	})
}

func TestSandboxFilesystem(t *testing.T) {
	requireSandbox(t)
	forEachProvider(t, func(t *testing.T) {
		work := t.TempDir()
		ro := filepath.Join(work, "ro")
		rw := filepath.Join(work, "rw")
		outside := filepath.Join(work, "outside")
		for _, d := range []string{ro, rw, outside} {
			os.MkdirAll(d, 0o755)
		}
		os.WriteFile(filepath.Join(ro, "in.txt"), []byte("readable"), 0o644)
		os.Symlink(outside, filepath.Join(rw, "escape"))
		dir := sandboxDir(t, map[string]string{"probe.run": fmt.Sprintf(":fs {:read [%q] :write [%q]}", ro, rw)})
		tests := []struct {
			name string
			args []string
			ok   bool
			file string // must (ok) or must not exist afterwards
		}{
			{"write inside the write root", []string{"write", filepath.Join(rw, "a.txt"), "x"}, true, filepath.Join(rw, "a.txt")},
			{"read inside the read root", []string{"read", filepath.Join(ro, "in.txt")}, true, ""},
			{"write outside", []string{"write", filepath.Join(outside, "b.txt"), "x"}, false, filepath.Join(outside, "b.txt")},
			{"write via ..", []string{"write", rw + "/../outside/c.txt", "x"}, false, filepath.Join(outside, "c.txt")},
			{"write via a planted symlink", []string{"write", filepath.Join(rw, "escape", "d.txt"), "x"}, false, filepath.Join(outside, "d.txt")},
			{"write to the read-only root", []string{"write", filepath.Join(ro, "e.txt"), "x"}, false, filepath.Join(ro, "e.txt")},
			{"read /etc/shadow", []string{"read", "/etc/shadow"}, false, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out, r, _ := probeRunFlags(t, dir, []string{"--allow-read", ro, "--allow-write", rw}, "probe.run", tc.args...)
				if r.code != 0 {
					t.Fatalf("run failed\n%v", r)
				}
				if got := strings.Contains(out, ":exit 0"); got != tc.ok {
					t.Fatalf("succeeded=%v, want %v\n%v", got, tc.ok, r)
				}
				if tc.file != "" {
					_, err := os.Stat(tc.file)
					if exists := err == nil; exists != tc.ok {
						t.Fatalf("%s exists=%v, want %v", tc.file, exists, tc.ok)
					}
				}
			})
		}
	})
}

func TestSandboxLimits(t *testing.T) {
	requireSandbox(t)
	forEachProvider(t, func(t *testing.T) {
		dir := sandboxDir(t, map[string]string{"probe.run": ""})
		t.Run("memory", func(t *testing.T) {
			_, r, vs := probeRun(t, dir, "probe.run", "hog", "1024")
			if r.code != 1 || !strings.Contains(r.stderr, ":resource-error") {
				t.Fatalf("the memory hog was not killed at the limit\n%v", r)
			}
			if !strings.Contains(violationText(vs), "memory") {
				t.Errorf("no SecurityViolation for the memory limit:\n%s", violationText(vs))
			}
		})
		t.Run("deadline", func(t *testing.T) {
			plan := writeFile(t, "p.rtfs", `(step "spin" (with-security-profile {:timeout-ms 1000} (call :probe.run "spin")))`)
			r := inDir(t, dir, "run", plan, "--allow", "probe.*")
			if r.code != 1 || !strings.Contains(r.stderr, ":timeout") || r.elapsed > e2eTimeout/2 {
				t.Fatalf("the CPU-bound loop was not killed at the deadline\n%v", r)
			}
		})
		t.Run("processes", func(t *testing.T) {
			out, r, _ := probeRun(t, dir, "probe.run", "forkbomb")
			if r.code != 0 || !strings.Contains(out, "stopped after") {
				t.Fatalf("the fork bomb was not stopped by the process limit\n%v", r)
			}
			assertNoProbeProcesses(t)
		})
		t.Run("tree is gone", func(t *testing.T) {
			out, r, _ := probeRun(t, dir, "probe.run", "spawn-and-exit")
			if r.code != 0 || !strings.Contains(out, ":exit 0") {
				t.Fatalf("spawn-and-exit\n%v", r)
			}
			assertNoProbeProcesses(t)
		})
	})
}

// assertNoProbeProcesses fails if any process runs the probe binary.
func assertNoProbeProcesses(t *testing.T) {
	t.Helper()
	probe := buildProbe(t)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == probe {
			t.Errorf("process %s (%s) outlived its call", e.Name(), exe)
		}
	}
}

func TestSandboxEnvironmentAndSyscalls(t *testing.T) {
	requireSandbox(t)
	forEachProvider(t, func(t *testing.T) {
		dir := sandboxDir(t, map[string]string{"probe.run": ""})
		t.Setenv("CCOS_TEST_SECRET", "hunter2")
		out, r, _ := probeRun(t, dir, "probe.run", "env", "CCOS_TEST_SECRET")
		if r.code != 0 || strings.Contains(out, "hunter2") || !strings.Contains(out, "(unset)") {
			t.Fatalf("the parent's secret is visible in the sandbox\n%v", r)
		}
		if sandboxName(t) == "gvisor" {
			return // ptrace and mount are gVisor's own kernel's, not the host's
		}
		for _, sc := range []string{"ptrace", "mount"} {
			out, r, _ := probeRun(t, dir, "probe.run", sc)
			if r.code != 0 || !strings.Contains(out, ":exit 1") || !strings.Contains(out, "operation not permitted") {
				t.Errorf("%s was not refused with EPERM\n%v", sc, r)
			}
		}
	})
}

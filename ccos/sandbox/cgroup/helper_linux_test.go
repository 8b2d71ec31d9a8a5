//go:build linux

package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as the processes that run inside the
// groups: helperEnv selects the mode.
const (
	helperEnv = "CCOS_CGROUP_TEST_HELPER"
	waitEnv   = "CCOS_CGROUP_TEST_WAIT" // "1": read one byte from stdin first
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper is the body of a helper process.
func runHelper(mode string) int {
	if os.Getenv(waitEnv) == "1" {
		var b [1]byte
		if _, err := os.Stdin.Read(b[:]); err != nil {
			fmt.Fprintln(os.Stderr, "helper: waiting for the go:", err)
			return 2
		}
	}
	sleep := sleepPath()
	switch mode {
	case "alloc":
		// 200 MiB in 1 MiB steps, every page touched.
		var keep [][]byte
		for i := 0; i < 200; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = byte(i + 1)
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep), "MiB")
		return 0
	case "spin":
		d := 300 * time.Millisecond
		if s := os.Getenv("CCOS_CGROUP_TEST_SPIN"); s != "" {
			d, _ = time.ParseDuration(s)
		}
		start := time.Now()
		n := 0
		for time.Since(start) < d {
			n++
		}
		fmt.Println("spun", n)
		return 0
	case "fork":
		// Spawn sleepers until the pids limit stops us; report and wait.
		var pids []string
		var spawnErr error
		for i := 0; i < 64; i++ {
			c := exec.Command(sleep, "10")
			if err := c.Start(); err != nil {
				spawnErr = err
				break
			}
			pids = append(pids, strconv.Itoa(c.Process.Pid))
		}
		errName := "none"
		switch {
		case spawnErr == nil:
		case errors.Is(spawnErr, syscall.EAGAIN):
			errName = "EAGAIN"
		default:
			errName = strconv.Quote(spawnErr.Error())
		}
		fmt.Printf("READY spawned=%d err=%s threads=%s pids=%s\n", len(pids), errName, threads(), strings.Join(pids, ","))
		time.Sleep(time.Hour)
		return 0
	case "tree":
		var pids []string
		for i := 0; i < 5; i++ {
			c := exec.Command(sleep, "10")
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "helper: spawning:", err)
				return 2
			}
			pids = append(pids, strconv.Itoa(c.Process.Pid))
		}
		fmt.Printf("READY pids=%s\n", strings.Join(pids, ","))
		time.Sleep(time.Hour)
		return 0
	case "bomb":
		// Spawn sleepers forever, ignoring failures.
		announced := false
		for {
			c := exec.Command(sleep, "10")
			if err := c.Start(); err == nil && !announced {
				fmt.Println("READY")
				announced = true
			}
		}
	case "sleep":
		fmt.Println("READY")
		time.Sleep(time.Hour)
		return 0
	}
	fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
	return 2
}

func threads() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func sleepPath() string {
	if p, err := exec.LookPath("sleep"); err == nil {
		return p
	}
	return "/bin/sleep"
}

// helperCmd is the test binary as a helper in mode.
func helperCmd(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// readyLine starts reading cmd's stdout; the returned function waits (at
// most d) for the line starting with "READY" and returns it.
func readyLine(t *testing.T, cmd *exec.Cmd) func(d time.Duration) string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") {
				lines <- sc.Text()
				break
			}
		}
		for sc.Scan() {
		}
		close(lines)
	}()
	return func(d time.Duration) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("helper ended before it was ready")
			}
			return l
		case <-time.After(d):
			t.Fatalf("helper not ready after %v", d)
		}
		return ""
	}
}

// field returns the value of key=value in a READY line.
func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func parsePids(t *testing.T, s string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q", f)
		}
		pids = append(pids, p)
	}
	return pids
}

// waitTimeout waits for cmd, killing it after d.
func waitTimeout(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("helper still running after %v", d)
	}
	return nil
}

// dead reports whether pid no longer runs: it does not exist or is a zombie
// waiting for its parent.
func dead(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	state := s[i+2]
	return state == 'Z' || state == 'X'
}

// waitDead waits up to d for every pid to be dead and returns those that
// still run.
func waitDead(pids []int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var alive []int
		for _, p := range pids {
			if !dead(p) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			return alive
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var nameSeq atomic.Int64

// uniqueName is a group name no other test (or test process) uses.
func uniqueName(t *testing.T) string {
	n := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("t%d-%d-%s", os.Getpid(), nameSeq.Add(1), n)
}

// testParent is the parent every test group lives under.
const testParent = "ccos-test"

// newTestManager is New(testParent), skipping the test where cgroups are
// unsupported.
func newTestManager(t *testing.T) *Manager {
	t.Helper()
	m, err := New(testParent)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("cgroups unsupported here: %v", err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// createGroup is m.Create with a unique name, removed at the end of t.
func createGroup(t *testing.T, m *Manager, l Limits) *Group {
	t.Helper()
	g, err := m.Create(uniqueName(t), l)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Remove(); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	return g
}

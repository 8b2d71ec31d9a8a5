//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMemoryLimitOOMKill(t *testing.T) {
	m := newTestManager(t)
	const limit = 32 << 20
	g := createGroup(t, m, Limits{MemoryBytes: limit})

	// The v1 pattern: the helper waits for a byte on stdin, it is added,
	// then released.
	cmd := helperCmd("alloc", waitEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("Add: %v", err)
	}
	procs, err := g.Procs()
	if err != nil || !slices.Contains(procs, cmd.Process.Pid) {
		t.Errorf("Procs = %v, %v; want it to hold %d", procs, err, cmd.Process.Pid)
	}
	stdin.Write([]byte{1})
	stdin.Close()
	err = waitTimeout(t, cmd, 60*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v; want it killed by SIGKILL", err)
	}
	u, err := g.Usage()
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	t.Logf("v%d usage after OOM: peak %d bytes (%.1f MiB, limit 32 MiB), CPU %v, OOMKilled %v", m.Version(), u.PeakMemoryBytes, float64(u.PeakMemoryBytes)/(1<<20), u.CPU, u.OOMKilled)
	if !u.OOMKilled {
		t.Error("OOMKilled = false")
	}
	if u.PeakMemoryBytes < limit*3/4 || u.PeakMemoryBytes > limit+(1<<20) {
		t.Errorf("peak memory %d bytes; want near the %d limit", u.PeakMemoryBytes, limit)
	}
	if u.CPU <= 0 {
		t.Errorf("CPU = %v; want > 0", u.CPU)
	}
}

func TestPidsLimit(t *testing.T) {
	m := newTestManager(t)
	const max = 8
	g := createGroup(t, m, Limits{Pids: max})
	// One P keeps the helper's runtime from wanting more threads.
	cmd := helperCmd("fork", "GOMAXPROCS=1")
	ready := readyLine(t, cmd)
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer cmd.Process.Kill()
	line := ready(30 * time.Second)
	t.Logf("helper: %s", line)
	spawned, _ := strconv.Atoi(field(line, "spawned"))
	if e := field(line, "err"); e != "EAGAIN" {
		t.Errorf("spawn error %s; want EAGAIN", e)
	}
	if spawned >= max {
		t.Errorf("spawned %d children with pids.max=%d", spawned, max)
	}
	sleepers := parsePids(t, field(line, "pids"))
	procs, err := g.Procs()
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) > max || len(procs) != len(sleepers)+1 {
		t.Errorf("Procs = %v; want the helper and its %d sleepers", procs, len(sleepers))
	}
	if b, err := os.ReadFile(g.pidsDir + "/pids.current"); err == nil {
		t.Logf("pids.current = %s", b)
	}
	u, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.pidsDir + "/pids.events"); err == nil && !u.PidsLimitHit {
		t.Error("PidsLimitHit = false with pids.events present")
	}

	start := time.Now()
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("Kill took %v", time.Since(start))
	if procs, err := g.Procs(); err != nil || len(procs) != 0 {
		t.Errorf("after Kill, Procs = %v, %v", procs, err)
	}
	waitTimeout(t, cmd, 5*time.Second)
	all := append([]int{cmd.Process.Pid}, sleepers...)
	if alive := waitDead(all, time.Second); len(alive) > 0 {
		t.Errorf("still running after Kill: %v", alive)
	}
	for _, p := range all {
		// Each is gone or a zombie: signal 0 fails, or finds a zombie.
		if err := syscall.Kill(p, 0); err == nil && !dead(p) {
			t.Errorf("pid %d answers signals after Kill", p)
		}
	}
}

func TestForkBombKill(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{Pids: 64})
	cmd := helperCmd("bomb")
	ready := readyLine(t, cmd)
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer cmd.Process.Kill()
	ready(30 * time.Second)
	time.Sleep(100 * time.Millisecond)
	before, _ := g.Procs()
	start := time.Now()
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("killed a fork bomb of %d processes in %v", len(before), time.Since(start))
	if procs, err := g.Procs(); err != nil || len(procs) != 0 {
		t.Errorf("after Kill, Procs = %v, %v", procs, err)
	}
	waitTimeout(t, cmd, 5*time.Second)
}

func TestCPULimit(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{CPUs: 0.5})
	cmd := helperCmd("spin")
	start := time.Now()
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := waitTimeout(t, cmd, 30*time.Second); err != nil {
		t.Fatalf("spin helper: %v", err)
	}
	wall := time.Since(start)
	u, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	bound := time.Duration(float64(wall) * 0.5 * 1.3)
	t.Logf("v%d: CPU %v over a wall of %v at 0.5 CPUs (bound %v); peak memory %d bytes", m.Version(), u.CPU, wall, bound, u.PeakMemoryBytes)
	if u.CPU <= 0 || u.CPU > bound {
		t.Errorf("CPU %v; want in (0, %v]", u.CPU, bound)
	}
	if u.PeakMemoryBytes <= 0 {
		t.Errorf("peak memory %d; want > 0", u.PeakMemoryBytes)
	}
}

// TestStartJoinsBeforeWork checks that Start puts the child in the group
// before it runs: the child's own /proc/self/cgroup already names it.
func TestStartJoinsBeforeWork(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{})
	cmd := exec.Command("cat", "/proc/self/cgroup")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	b := make([]byte, 0, 4096)
	for {
		n, err := out.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	want := "/" + testParent + "/" + g.Name()
	t.Logf("child's /proc/self/cgroup:\n%s", b)
	for _, c := range []string{"memory", "pids", "cpu"} {
		if m.Version() == 1 && !containsLine(string(b), c, want) {
			t.Errorf("the %s line does not name %s", c, want)
		}
	}
	if m.Version() == 2 && !containsLine(string(b), "", want) {
		t.Errorf("the v2 line does not name %s", want)
	}
}

// containsLine reports whether a /proc/PID/cgroup text has a line for
// controller (v2: "") whose path is want.
func containsLine(text, controller, want string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 || f[2] != want {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				return true
			}
		}
	}
	return false
}

func TestKillTree(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{MemoryBytes: 256 << 20, Pids: 64})
	cmd := helperCmd("tree")
	ready := readyLine(t, cmd)
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer cmd.Process.Kill()
	line := ready(30 * time.Second)
	sleepers := parsePids(t, field(line, "pids"))
	procs, err := g.Procs()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]int{cmd.Process.Pid}, sleepers...)
	slices.Sort(want)
	if !slices.Equal(procs, want) {
		t.Errorf("Procs = %v; want %v", procs, want)
	}
	start := time.Now()
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	for {
		procs, err = g.Procs()
		if err != nil || len(procs) == 0 || time.Since(start) > time.Second {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("group of %d processes empty %v after Kill began", len(want), took)
	if err != nil || len(procs) != 0 || took > time.Second {
		t.Errorf("after %v, Procs = %v, %v; want empty within a second", took, procs, err)
	}
	waitTimeout(t, cmd, 5*time.Second)
	if alive := waitDead(want, time.Second); len(alive) > 0 {
		t.Errorf("still running after Kill: %v", alive)
	}
}

func TestRemoveDeletesDirectories(t *testing.T) {
	m := newTestManager(t)
	g, err := m.Create(uniqueName(t), Limits{MemoryBytes: 64 << 20, CPUs: 1, Pids: 16})
	if err != nil {
		t.Fatal(err)
	}
	dirs := slices.Clone(g.dirs)
	t.Logf("v%d directories: %v", m.Version(), dirs)
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("group directory missing: %v", err)
		}
	}
	if _, err := m.Create(g.Name(), Limits{}); err == nil {
		t.Error("a second Create of the same name succeeded")
	}
	cmd := helperCmd("spin", "CCOS_CGROUP_TEST_SPIN=10s")
	if err := g.Start(cmd); err != nil {
		g.Remove()
		t.Fatalf("Start: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	waitTimeout(t, cmd, 5*time.Second)
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after Remove (%v)", d, err)
		}
	}
	u, err := g.Usage()
	if err != nil || u.CPU <= 0 {
		t.Errorf("Usage after Remove = %+v, %v; want the CPU measured before", u, err)
	}
	t.Logf("usage recorded at Remove: CPU %v, peak %d bytes", u.CPU, u.PeakMemoryBytes)
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if _, ok := g.CgroupFD(); ok {
		t.Error("CgroupFD usable after Remove")
	}
	if err := g.Add(os.Getpid() + 1); err == nil {
		t.Error("Add after Remove succeeded")
	}
}

func TestParallelGroups(t *testing.T) {
	m := newTestManager(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	base := uniqueName(t)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- oneGroup(m, fmt.Sprintf("%s-%d", base, i), i)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// oneGroup creates a group, runs a sleeper in it, checks that the group
// holds exactly that process, and removes it.
func oneGroup(m *Manager, name string, i int) error {
	g, err := m.Create(name, Limits{MemoryBytes: int64(64+i) << 20, CPUs: 0.25 + float64(i)/100, Pids: int64(8 + i)})
	if err != nil {
		return fmt.Errorf("%s: Create: %w", name, err)
	}
	cmd := exec.Command(sleepPath(), "10")
	if err := g.Start(cmd); err != nil {
		g.Remove()
		return fmt.Errorf("%s: Start: %w", name, err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	procs, err := g.Procs()
	if err != nil || len(procs) != 1 || procs[0] != cmd.Process.Pid {
		g.Remove()
		return fmt.Errorf("%s: Procs = %v, %v; want [%d]", name, procs, err, cmd.Process.Pid)
	}
	if got, err := readInt(g.pidsDir + "/pids.max"); err != nil || got != int64(8+i) {
		g.Remove()
		return fmt.Errorf("%s: pids.max = %d, %v; want %d", name, got, err, 8+i)
	}
	if err := g.Remove(); err != nil {
		return fmt.Errorf("%s: Remove: %w", name, err)
	}
	for _, d := range g.dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %s remains", name, d)
		}
	}
	return nil
}

func TestAddRefusesSelf(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{})
	if err := g.Add(os.Getpid()); err == nil {
		t.Fatal("Add of the calling process succeeded")
	}
	if err := g.Add(0); err == nil {
		t.Fatal("Add(0) succeeded")
	}
}

func TestCreateValidates(t *testing.T) {
	m := newTestManager(t)
	for _, name := range []string{"", ".", "..", "a/b", "memory.max", "cgroup.procs"} {
		if g, err := m.Create(name, Limits{}); err == nil {
			g.Remove()
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	if _, err := m.Create(uniqueName(t), Limits{MemoryBytes: -1}); err == nil {
		t.Error("Create with a negative limit succeeded")
	}
	if _, err := New("../escape"); err == nil {
		t.Error(`New("../escape") succeeded`)
	}
	if _, err := New("/abs"); err == nil {
		t.Error(`New("/abs") succeeded`)
	}
}

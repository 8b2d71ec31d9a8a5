//go:build linux

package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// newCoreV2Manager is a v2 manager that needs no controller, on the
// machine's cgroup2 mount: it exercises the v2 code (CLONE_INTO_CGROUP,
// cgroup.kill, cgroup.freeze, cpu.stat, rmdir) on hybrid machines whose
// v2 mount has no controllers, where New picks v1.
func newCoreV2Manager(t *testing.T) *Manager {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	mounts, err := parseMountinfo(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range mounts {
		if e.fsType != "cgroup2" {
			continue
		}
		m, err := newV2(e.mountPoint, testParent, nil)
		if errors.Is(err, ErrUnsupported) {
			t.Skipf("cgroup v2 at %s unusable: %v", e.mountPoint, err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	t.Skip("no cgroup2 mount")
	return nil
}

func TestV2CoreKillFile(t *testing.T) {
	m := newCoreV2Manager(t)
	g := createGroup(t, m, Limits{})
	fd, ok := g.CgroupFD()
	if !kernelAtLeast(5, 7) {
		if ok {
			t.Fatal("CgroupFD usable before Linux 5.7")
		}
		t.Skip("no CLONE_INTO_CGROUP before Linux 5.7")
	}
	if !ok || fd < 0 {
		t.Fatalf("CgroupFD = %d, %v", fd, ok)
	}
	cmd := helperCmd("tree")
	ready := readyLine(t, cmd)
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer cmd.Process.Kill()
	if !cmd.SysProcAttr.UseCgroupFD || cmd.SysProcAttr.Ptrace {
		t.Errorf("Start did not use CLONE_INTO_CGROUP: %+v", cmd.SysProcAttr)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if err != nil || !containsLine(string(b), "", "/"+testParent+"/"+g.Name()) {
		t.Errorf("child's cgroup file:\n%s(%v)", b, err)
	}
	sleepers := parsePids(t, field(ready(30*time.Second), "pids"))
	want := append([]int{cmd.Process.Pid}, sleepers...)
	slices.Sort(want)
	if procs, err := g.Procs(); err != nil || !slices.Equal(procs, want) {
		t.Errorf("Procs = %v, %v; want %v", procs, err, want)
	}
	start := time.Now()
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	took := time.Since(start)
	t.Logf("cgroup.kill emptied a group of %d in %v", len(want), took)
	if g.noKillFile.Load() {
		t.Error("cgroup.kill was not used")
	}
	if procs, _ := g.Procs(); len(procs) != 0 || took > time.Second {
		t.Errorf("after %v, Procs = %v", took, procs)
	}
	waitTimeout(t, cmd, 5*time.Second)
	if alive := waitDead(want, time.Second); len(alive) > 0 {
		t.Errorf("still running after Kill: %v", alive)
	}
}

func TestV2CoreFreezeKillBomb(t *testing.T) {
	m := newCoreV2Manager(t)
	g := createGroup(t, m, Limits{})
	g.noKillFile.Store(true) // as on kernels before 5.14
	cmd := helperCmd("bomb")
	ready := readyLine(t, cmd)
	if err := g.Start(cmd); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer cmd.Process.Kill()
	ready(30 * time.Second)
	time.Sleep(50 * time.Millisecond)
	before, _ := g.Procs()
	start := time.Now()
	if err := g.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("freeze-kill-thaw emptied a fork bomb of %d processes in %v", len(before), time.Since(start))
	if procs, _ := g.Procs(); len(procs) != 0 {
		t.Errorf("after Kill, Procs = %v", procs)
	}
	if s, _ := readKeyed(filepath.Join(g.dirs[0], "cgroup.events")); s["frozen"] != 0 {
		t.Error("group left frozen")
	}
	waitTimeout(t, cmd, 5*time.Second)
}

func TestV2CoreUsageAndRemove(t *testing.T) {
	m := newCoreV2Manager(t)
	if _, err := m.Create(uniqueName(t), Limits{MemoryBytes: 1 << 30}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a memory limit without the memory controller: %v; want ErrUnsupported", err)
	}
	g, err := m.Create(uniqueName(t), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := helperCmd("spin")
	if err := g.Start(cmd); err != nil {
		g.Remove()
		t.Fatalf("Start: %v", err)
	}
	if err := waitTimeout(t, cmd, 30*time.Second); err != nil {
		t.Error(err)
	}
	u, err := g.Usage()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("v2 cpu.stat: CPU %v for a 300ms spin", u.CPU)
	if u.CPU <= 0 {
		t.Errorf("CPU %v; want > 0", u.CPU)
	}
	dir := g.dirs[0]
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s remains (%v)", dir, err)
	}
	if u2, _ := g.Usage(); u2.CPU < u.CPU {
		t.Errorf("Usage after Remove = %+v; want what was measured", u2)
	}
}

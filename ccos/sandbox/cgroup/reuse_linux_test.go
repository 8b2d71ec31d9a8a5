//go:build linux

package cgroup

import (
	"path/filepath"
	"testing"
	"time"
)

// TestUsageRereads checks that Usage, which reads the usage files through
// descriptors kept open since Create, sees the group's usage grow between
// two calls.
func TestUsageRereads(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{MemoryBytes: 256 << 20})
	before, err := g.Usage()
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	cmd := helperCmd("spin", "CCOS_CGROUP_TEST_SPIN=100ms")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := waitTimeout(t, cmd, 60*time.Second); err != nil {
		t.Fatalf("helper: %v", err)
	}
	after, err := g.Usage()
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	// The spin is 100 ms of wall time; on a loaded machine it gets less
	// CPU, but some.
	if after.CPU < before.CPU+5*time.Millisecond {
		t.Errorf("CPU went from %v to %v after spinning 100ms", before.CPU, after.CPU)
	}
	if after.PeakMemoryBytes <= 0 {
		t.Errorf("peak memory %d after running a process", after.PeakMemoryBytes)
	}
}

// TestUpdateChangesOnlyWhatDiffers checks that Update writes new limits
// and that limits already in place stay in place.
func TestUpdateChangesOnlyWhatDiffers(t *testing.T) {
	m := newTestManager(t)
	g := createGroup(t, m, Limits{MemoryBytes: 64 << 20, CPUs: 1, Pids: 32})
	pidsMax := func() int64 {
		n, err := readInt(filepath.Join(g.pidsDir, "pids.max"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	memFile := "memory.limit_in_bytes"
	if m.Version() == 2 {
		memFile = "memory.max"
	}
	memMax := func() int64 {
		n, err := readInt(filepath.Join(g.memDir, memFile))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, l := range []Limits{
		{MemoryBytes: 128 << 20, CPUs: 1, Pids: 32},
		{MemoryBytes: 128 << 20, CPUs: 1, Pids: 16},
		{MemoryBytes: 32 << 20, CPUs: 0.5, Pids: 16},
		{MemoryBytes: 32 << 20, CPUs: 0.5, Pids: 16},
	} {
		if err := g.Update(l); err != nil {
			t.Fatalf("Update(%+v): %v", l, err)
		}
		if got := memMax(); got != l.MemoryBytes {
			t.Errorf("after Update(%+v): %s = %d", l, memFile, got)
		}
		if got := pidsMax(); got != l.Pids {
			t.Errorf("after Update(%+v): pids.max = %d", l, got)
		}
	}
	if m.Version() == 1 {
		q, err := readInt(filepath.Join(g.cpuDir, "cpu.cfs_quota_us"))
		if err != nil || q != 50000 {
			t.Errorf("cpu.cfs_quota_us = %d, %v; want 50000", q, err)
		}
	}
}

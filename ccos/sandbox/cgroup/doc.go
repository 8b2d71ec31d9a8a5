// Package cgroup gives each sandboxed capability call a control group of
// its own: the group carries the call's limits (memory, CPU, number of
// tasks), measures what the call used, and lets the caller kill the call's
// whole process tree, however it forked.
//
// # Layout
//
// [New] detects how cgroups are mounted, from /proc/self/mountinfo:
//
//   - cgroup v2 (a "cgroup2" mount whose root offers the memory, cpu and
//     pids controllers) is preferred. The controllers are enabled in
//     cgroup.subtree_control of the mount root and of every directory of the
//     parent path, so that the groups below the parent get them.
//   - Otherwise cgroup v1, with one hierarchy per controller (memory, cpu,
//     cpuacct and pids are needed; freezer is used when present). A v2 mount
//     without controllers beside them (the "hybrid" layout) is ignored.
//
// Anything else makes New fail with an error wrapping [ErrUnsupported] that
// names what is missing. Splitting the controllers between v1 and v2 is not
// supported.
//
// The parent directory (for example "ccos") is created at the root of each
// hierarchy the manager uses (the root of the cgroup namespace), not below
// the cgroup of the calling process: the caller's own cgroup may belong to
// whatever runs it, and v2 forbids controllers in a cgroup that holds
// processes. Groups are created one level below the parent.
//
// # Starting a process inside a group
//
// Limits are written when the group is created, before any process joins.
// A process must then enter the group before it does any work:
//
//   - In cgroup v2, [Group.CgroupFD] returns the group's directory file
//     descriptor; set it as syscall.SysProcAttr.CgroupFD with UseCgroupFD so
//     the child is born inside the group (clone3 with CLONE_INTO_CGROUP).
//   - In cgroup v1 there is no such thing. Start the child blocked, for
//     instance waiting to read one byte (or its request) from a pipe, call
//     [Group.Add] with its pid, and only then release it by writing to the
//     pipe. Everything the child forks afterwards is born in the group.
//
// [Group.Start] does either for an arbitrary *exec.Cmd: it uses CgroupFD
// when it is usable and otherwise starts the command under ptrace, which
// stops it right after execve, adds it, and detaches.
//
// # Lifetime
//
// A typical call is Create, start the process inside the group, wait,
// [Group.Kill], reap the child, [Group.Usage], [Group.Remove]. Usage reports
// only what the kernel measured, never the configured limits; after Remove
// it reports what was measured just before the directories were deleted.
//
// On systems other than Linux every function returns [ErrUnsupported].
package cgroup

import (
	"errors"
	"time"
)

// ErrUnsupported is wrapped by every error that says cgroups cannot be used
// here: the operating system, a missing controller or hierarchy, or the
// lack of permission to create groups.
var ErrUnsupported = errors.New("cgroup: not supported")

// Limits for one group; zero fields are not limited.
type Limits struct {
	// MemoryBytes caps the group's memory: memory.limit_in_bytes (v1, and
	// memory.memsw.limit_in_bytes to the same value when present so swap
	// cannot dodge it) or memory.max with memory.swap.max=0 (v2). The
	// kernel's OOM killer kills a process of the group at the limit.
	MemoryBytes int64
	// CPUs caps CPU time as a number of CPUs, e.g. 0.5 is half a CPU:
	// cpu.cfs_quota_us/cpu.cfs_period_us (v1) or cpu.max (v2), with a
	// period of 100 ms.
	CPUs float64
	// Pids caps the number of tasks (processes and threads) in the group:
	// pids.max. Forks beyond it fail with EAGAIN.
	Pids int64
}

// Usage is what a group measured. Zero fields were not measured.
type Usage struct {
	// PeakMemoryBytes is memory.max_usage_in_bytes (v1) or memory.peak
	// (v2; where the kernel lacks it, the largest memory.current seen by a
	// sampler that runs every few milliseconds while the group exists).
	PeakMemoryBytes int64
	// CPU is the CPU time used by the group's tasks: cpuacct.usage (v1) or
	// usage_usec of cpu.stat (v2).
	CPU time.Duration
	// OOMKilled reports that the OOM killer killed a process of the group:
	// the oom_kill counter of memory.oom_control (v1; on kernels without
	// it, memory.failcnt>0) or of memory.events (v2).
	OOMKilled bool
	// PidsLimitHit reports that a fork failed at pids.max: the "max"
	// counter of pids.events, when the kernel has that file.
	PidsLimitHit bool
}

//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Start starts cmd with its process inside the group from its first
// instruction, so the process never runs outside the group's limits.
//
// When [Group.CgroupFD] is usable (v2, Linux 5.7+) the child is cloned
// straight into the group. Otherwise Start sets SysProcAttr.Ptrace: the
// kernel stops the child right after its execve, before it runs a single
// instruction of the new program; Start adds it to the group and detaches
// (the stop's SIGTRAP is discarded). The tracing thread is locked for the
// duration of Start only. cmd.SysProcAttr must not already ask for
// Ptrace. As with exec.Cmd.Start, the caller must call cmd.Wait; when Start
// fails after the process was created, it kills and reaps it itself.
//
// Set-user-ID programs keep their privileges under this ptrace only when
// the caller has CAP_SYS_PTRACE (root has).
func (g *Group) Start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	attr := cmd.SysProcAttr
	if fd, ok := g.CgroupFD(); ok {
		attr.UseCgroupFD, attr.CgroupFD = true, fd
		return cmd.Start()
	}
	if attr.Ptrace {
		return errors.New("cgroup: Start needs SysProcAttr.Ptrace unset in cgroup v1")
	}
	g.mu.Lock()
	removed := g.removed
	g.mu.Unlock()
	if removed {
		return fmt.Errorf("cgroup: group %q was removed", g.name)
	}

	// The tracer is the thread that forked: keep the goroutine on it until
	// the child is detached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr.Ptrace = true
	err := cmd.Start()
	attr.Ptrace = false
	if err != nil {
		return err
	}
	pid := cmd.Process.Pid
	fail := func(err error) error {
		cmd.Process.Kill()
		unix.PtraceDetach(pid)
		cmd.Wait()
		return err
	}

	// Wait for the SIGTRAP stop that follows execve; it is not an exit, so
	// the process stays for cmd.Wait.
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, unix.WALL, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fail(fmt.Errorf("cgroup: waiting for pid %d to stop after exec: %w", pid, err))
	}
	if !ws.Stopped() {
		// It died before it ran (it was killed): it is reaped already.
		cmd.Wait()
		return fmt.Errorf("cgroup: pid %d ended before it could join group %q (%v)", pid, g.name, waitStatusString(ws))
	}
	if err := g.Add(pid); err != nil {
		return fail(err)
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return fail(fmt.Errorf("cgroup: detaching from pid %d: %w", pid, err))
	}
	return nil
}

func waitStatusString(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("signal %v", ws.Signal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

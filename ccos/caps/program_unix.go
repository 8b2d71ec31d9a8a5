//go:build unix

package caps

import (
	"os"
	"os/exec"
	"syscall"
)

// progSetGroup runs cmd in its own process group and makes cancellation
// kill the whole group, so that the program's children die too.
func progSetGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// progKillGroup kills what is left of cmd's process group.
func progKillGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// progExitCode returns the exit status, 128+S for a program killed by
// signal S.
func progExitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

//go:build unix

package caps

import (
	"os/exec"
	"syscall"
)

// biSetProcessGroup runs cmd in a new process group and makes cancellation
// kill the whole group, so children the program started die with it.
func biSetProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// The group id is the leader's pid (Setpgid with Pgid 0).
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}

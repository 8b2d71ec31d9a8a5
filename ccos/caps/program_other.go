//go:build !unix

package caps

import (
	"os"
	"os/exec"
)

// progSetGroup is a no-op without Unix process groups: cancellation kills
// the program only.
func progSetGroup(cmd *exec.Cmd) {}

// progKillGroup is a no-op without Unix process groups.
func progKillGroup(cmd *exec.Cmd) {}

// progExitCode returns the exit status.
func progExitCode(ps *os.ProcessState) int { return ps.ExitCode() }

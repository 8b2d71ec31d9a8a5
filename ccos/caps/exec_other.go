//go:build !unix

package caps

import "os/exec"

// biSetProcessGroup is a no-op where process groups are not available:
// cancellation kills the program only (exec.CommandContext's default).
func biSetProcessGroup(cmd *exec.Cmd) {}

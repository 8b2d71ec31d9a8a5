//go:build linux && !cgo

package confine

import "syscall"

// broadcastMethod is how allThreads reaches every thread in this build.
const broadcastMethod = "allthreads"

// allThreads runs each call, in order, on every thread of the process with
// syscall.AllThreadsSyscall6 (available because this binary has no cgo).
func allThreads(calls ...sysCall) error {
	for _, c := range calls {
		if _, _, e := syscall.AllThreadsSyscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]); e != 0 {
			return e
		}
	}
	return nil
}

// int80 would make a syscall through the i386 compat entry; it needs cgo
// (a cgo package cannot hold Go assembly), so ok is always false here.
func int80(trap uintptr) (r uintptr, ok bool) { return 0, false }

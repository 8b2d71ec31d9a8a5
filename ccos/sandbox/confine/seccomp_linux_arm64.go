//go:build linux

package confine

import "golang.org/x/sys/unix"

// auditArch is the only syscall ABI the filter lets through.
const auditArch = unix.AUDIT_ARCH_AARCH64

// x32SyscallBit is 0: arm64 has no x32-like ABI sharing its audit arch.
const x32SyscallBit = 0

// archDenied are the denied syscalls that exist only on this architecture
// (arm64 has no iopl or ioperm).
var archDenied = []uint32{}

//go:build linux

package confine

import "golang.org/x/sys/unix"

// auditArch is the only syscall ABI the filter lets through.
const auditArch = unix.AUDIT_ARCH_X86_64

// x32SyscallBit marks x32 syscalls (same audit arch as x86-64).
const x32SyscallBit = 0x40000000

// archDenied are the denied syscalls that exist only on this architecture.
var archDenied = []uint32{unix.SYS_IOPL, unix.SYS_IOPERM}

package netwatch

import "golang.org/x/sys/unix"

// On amd64 the kernel also accepts x32 system calls (AUDIT_ARCH_X86_64
// with __X32_SYSCALL_BIT set in the number) and i386 ones
// (AUDIT_ARCH_I386), where connect is both a system call and
// socketcall(SYS_CONNECT, args).
var (
	nativeABI = abi{
		audit:        unix.AUDIT_ARCH_X86_64,
		nrMask:       ^uint32(0x40000000), // clear __X32_SYSCALL_BIT
		connect:      42,                  // __NR_connect
		ioUringSetup: 425,                 // __NR_io_uring_setup
		socketcall:   -1,
	}
	compatABI = &abi{
		audit:        unix.AUDIT_ARCH_I386,
		connect:      362, // __NR_connect (i386)
		ioUringSetup: 425,
		socketcall:   102, // __NR_socketcall (i386)
	}
)

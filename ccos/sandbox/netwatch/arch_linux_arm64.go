package netwatch

import "golang.org/x/sys/unix"

// On arm64 the kernel may also accept AArch32 (EABI) system calls, which
// have no socketcall.
var (
	nativeABI = abi{
		audit:        unix.AUDIT_ARCH_AARCH64,
		connect:      203, // __NR_connect
		ioUringSetup: 425, // __NR_io_uring_setup
		socketcall:   -1,
	}
	compatABI = &abi{
		audit:        unix.AUDIT_ARCH_ARM,
		connect:      283,
		ioUringSetup: 425,
		socketcall:   -1,
	}
)

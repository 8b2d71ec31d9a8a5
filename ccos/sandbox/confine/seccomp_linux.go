//go:build linux && (amd64 || arm64)

package confine

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data (little-endian: the low 32 bits of an
// argument come first).
const (
	seccompDataNr   = 0
	seccompDataArch = 4
	seccompDataArg0 = 16
	seccompDataArg1 = 24
	seccompDataArg2 = 32
)

const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
	retEPERM  = unix.SECCOMP_RET_ERRNO | (uint32(unix.EPERM) & unix.SECCOMP_RET_DATA)
	retENOSYS = unix.SECCOMP_RET_ERRNO | (uint32(unix.ENOSYS) & unix.SECCOMP_RET_DATA)

	retEPROTONOSUPPORT = unix.SECCOMP_RET_ERRNO | (uint32(unix.EPROTONOSUPPORT) & unix.SECCOMP_RET_DATA)
	retEAFNOSUPPORT    = unix.SECCOMP_RET_ERRNO | (uint32(unix.EAFNOSUPPORT) & unix.SECCOMP_RET_DATA)

	// cloneNamespaceFlags are the clone(2) flags that create namespaces
	// (CLONE_NEWTIME is left out: it shares its bit with the exit signal in
	// clone(2) and is only valid for clone3 and unshare, both denied).
	cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
		unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
)

// seccompDenied lists the syscalls that fail with EPERM: the ones named in
// the package contract (see [Seccomp]) plus the arch-specific ones from
// archDenied.
var seccompDenied = append([]uint32{
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT,
	unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_FSOPEN, unix.SYS_FSMOUNT,
	unix.SYS_FSCONFIG, unix.SYS_FSPICK,
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
	unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_KEYCTL,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD,
	unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_REBOOT,
	unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT,
	unix.SYS_QUOTACTL, unix.SYS_SYSLOG,
	unix.SYS_PERSONALITY, unix.SYS_CHROOT, unix.SYS_LOOKUP_DCOOKIE,
	// Beyond the contract: the rest of the mount API, quotactl by fd,
	// io_uring (its IORING_OP_SOCKET etc. would bypass the socket rule)
	// and open_by_handle_at (opens files by handle, skipping path lookup).
	unix.SYS_MOUNT_SETATTR, unix.SYS_OPEN_TREE_ATTR, unix.SYS_QUOTACTL_FD,
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
	unix.SYS_OPEN_BY_HANDLE_AT,
}, archDenied...)

// archPrologue checks the syscall ABI (a foreign one kills the process)
// and leaves the syscall number in the accumulator.
func archPrologue() []bpf.Instruction {
	p := []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompDataArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArch, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: seccompDataNr, Size: 4},
	}
	if x32SyscallBit != 0 {
		// x32 syscalls share the x86-64 audit arch: a foreign ABI too.
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
			bpf.RetConstant{Val: retKill})
	}
	return p
}

// seccompProgram returns the filter installed by [Seccomp].
func seccompProgram() []bpf.Instruction {
	p := archPrologue()
	for _, nr := range seccompDenied {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: nr, SkipTrue: 1},
			bpf.RetConstant{Val: retEPERM})
	}
	p = append(p,
		// clone3 passes its flags in memory, which a filter cannot read:
		// ENOSYS makes the C library and Go fall back to clone(2).
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_CLONE3, SkipTrue: 1},
		bpf.RetConstant{Val: retENOSYS},
		// clone(2) creating namespaces is unshare by another name.
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_CLONE, SkipTrue: 4},
		bpf.LoadAbsolute{Off: seccompDataArg0, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: cloneNamespaceFlags, SkipFalse: 1},
		bpf.RetConstant{Val: retEPERM},
		bpf.RetConstant{Val: retAllow},
		// socket(AF_PACKET, ...) and socket(*, SOCK_RAW or SOCK_PACKET, ...).
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_SOCKET, SkipTrue: 8},
		bpf.LoadAbsolute{Off: seccompDataArg0, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_PACKET, SkipTrue: 5},
		bpf.LoadAbsolute{Off: seccompDataArg1, Size: 4},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SOCK_RAW, SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SOCK_PACKET, SkipTrue: 1},
		bpf.RetConstant{Val: retAllow},
		bpf.RetConstant{Val: retEPERM},
		bpf.RetConstant{Val: retAllow},
	)
	return p
}

// netProtocolProgram returns the filter that [Landlock] installs with
// Net.Restrict: Landlock's TCP rules only cover plain TCP sockets, and an
// MPTCP socket (which speaks TCP on the wire; Go listens with MPTCP by
// default) or an SMC socket (which connects through an in-kernel TCP socket)
// would bypass them. Creating those fails with EPROTONOSUPPORT and
// EAFNOSUPPORT, which makes Go and other MPTCP users fall back to TCP.
func netProtocolProgram() []bpf.Instruction {
	return append(archPrologue(),
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_SOCKET, SkipTrue: 4},
		bpf.LoadAbsolute{Off: seccompDataArg0, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_SMC, SkipTrue: 4},
		bpf.LoadAbsolute{Off: seccompDataArg2, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_MPTCP, SkipTrue: 1},
		bpf.RetConstant{Val: retAllow},
		bpf.RetConstant{Val: retEPROTONOSUPPORT},
		bpf.RetConstant{Val: retEAFNOSUPPORT},
	)
}

// installNetProtocolFilter installs netProtocolProgram on every thread.
func installNetProtocolFilter() error {
	return installFilter(netProtocolProgram())
}

// Seccomp installs, on every thread (SECCOMP_FILTER_FLAG_TSYNC, which also
// gives every thread no_new_privs), a seccomp-BPF filter that makes these
// syscalls fail with EPERM: ptrace, process_vm_readv/writev, mount, umount2,
// pivot_root, move_mount, open_tree, fsopen, fsmount, fsconfig, fspick,
// init_module, finit_module, delete_module, kexec_load, kexec_file_load,
// add_key, request_key, keyctl, bpf, perf_event_open, userfaultfd, unshare,
// setns, reboot, swapon, swapoff, acct, quotactl, syslog, iopl, ioperm
// (amd64), personality, chroot, lookup_dcookie; also mount_setattr,
// open_tree_attr, quotactl_fd, io_uring_setup/enter/register and
// open_by_handle_at; clone(2) with any CLONE_NEW* namespace flag; and
// socket(2) with domain AF_PACKET or type SOCK_RAW or SOCK_PACKET (type &
// 0xf) in any domain. clone3 fails with ENOSYS (its flags cannot be
// inspected; libc and Go fall back to clone). A syscall from a foreign ABI
// (i386 int 0x80 or x32 on amd64, arm32 compat on arm64) kills the process
// (SECCOMP_RET_KILL_PROCESS). Everything else is allowed: the Go runtime,
// file I/O, pipes, sockets, threads, fork and exec keep working.
//
// Filters stack: calling Seccomp again adds a second identical filter.
func Seccomp() error {
	return installFilter(seccompProgram())
}

// installFilter sets no_new_privs and installs prog on every thread
// (SECCOMP_FILTER_FLAG_TSYNC, which also gives all threads no_new_privs).
func installFilter(prog []bpf.Instruction) error {
	insns, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("confine: assembling seccomp filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(insns))
	for i, in := range insns {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("confine: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(filter)
	runtime.KeepAlive(&fprog)
	switch {
	case e == unix.ENOSYS || (e == unix.EINVAL && !seccompFilterAvailable()):
		return fmt.Errorf("%w: seccomp filters are not available in this kernel", ErrUnsupported)
	case e != 0:
		return fmt.Errorf("confine: seccomp(SET_MODE_FILTER, TSYNC): %w", e)
	case r != 0:
		return fmt.Errorf("confine: seccomp TSYNC: thread %d has an incompatible filter", r)
	}
	return nil
}

// seccompFilterAvailable reports whether the kernel has seccomp
// (PR_GET_SECCOMP fails with EINVAL without CONFIG_SECCOMP).
func seccompFilterAvailable() bool {
	_, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	return !errors.Is(err, unix.EINVAL)
}

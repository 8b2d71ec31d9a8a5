//go:build linux && (amd64 || arm64)

package confine

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// filterVM runs a seccomp program in x/net/bpf's interpreter. That VM loads
// words big-endian, so the fields of struct seccomp_data are laid out
// big-endian here, each at the offset where the kernel's native load finds
// the value the filter compares (the low word of an argument on little-endian
// machines).
type filterVM struct {
	t  *testing.T
	vm *bpf.VM
}

func newFilterVM(t *testing.T, prog []bpf.Instruction) *filterVM {
	t.Helper()
	if _, err := bpf.Assemble(prog); err != nil {
		t.Fatalf("assemble: %v", err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	return &filterVM{t: t, vm: vm}
}

func (f *filterVM) run(arch, nr uint32, args ...uint64) uint32 {
	f.t.Helper()
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[seccompDataNr:], nr)
	binary.BigEndian.PutUint32(data[seccompDataArch:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(data[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(data[16+8*i+4:], uint32(a>>32))
	}
	r, err := f.vm.Run(data)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return uint32(r)
}

func (f *filterVM) expect(what string, want, arch, nr uint32, args ...uint64) {
	f.t.Helper()
	if got := f.run(arch, nr, args...); got != want {
		f.t.Errorf("%s (nr %d args %v): got %#x, want %#x", what, nr, args, got, want)
	}
}

// contractDenied is the list from the package contract, by name.
var contractDenied = map[string]uint32{
	"ptrace": unix.SYS_PTRACE, "process_vm_readv": unix.SYS_PROCESS_VM_READV,
	"process_vm_writev": unix.SYS_PROCESS_VM_WRITEV, "mount": unix.SYS_MOUNT,
	"umount2": unix.SYS_UMOUNT2, "pivot_root": unix.SYS_PIVOT_ROOT,
	"move_mount": unix.SYS_MOVE_MOUNT, "open_tree": unix.SYS_OPEN_TREE,
	"fsopen": unix.SYS_FSOPEN, "fsmount": unix.SYS_FSMOUNT, "fsconfig": unix.SYS_FSCONFIG,
	"fspick": unix.SYS_FSPICK, "init_module": unix.SYS_INIT_MODULE,
	"finit_module": unix.SYS_FINIT_MODULE, "delete_module": unix.SYS_DELETE_MODULE,
	"kexec_load": unix.SYS_KEXEC_LOAD, "kexec_file_load": unix.SYS_KEXEC_FILE_LOAD,
	"add_key": unix.SYS_ADD_KEY, "request_key": unix.SYS_REQUEST_KEY, "keyctl": unix.SYS_KEYCTL,
	"bpf": unix.SYS_BPF, "perf_event_open": unix.SYS_PERF_EVENT_OPEN,
	"userfaultfd": unix.SYS_USERFAULTFD, "unshare": unix.SYS_UNSHARE, "setns": unix.SYS_SETNS,
	"reboot": unix.SYS_REBOOT, "swapon": unix.SYS_SWAPON, "swapoff": unix.SYS_SWAPOFF,
	"acct": unix.SYS_ACCT, "quotactl": unix.SYS_QUOTACTL, "syslog": unix.SYS_SYSLOG,
	"personality": unix.SYS_PERSONALITY, "chroot": unix.SYS_CHROOT,
	"lookup_dcookie": unix.SYS_LOOKUP_DCOOKIE,
}

// allowedSyscalls must pass the filters (the Go runtime, I/O, exec).
var allowedSyscalls = []uint32{
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_MMAP,
	unix.SYS_MUNMAP, unix.SYS_FUTEX, unix.SYS_EXECVE, unix.SYS_EXIT_GROUP, unix.SYS_RT_SIGACTION,
	unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK, unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_TGKILL,
	unix.SYS_PIPE2, unix.SYS_WAIT4, unix.SYS_WAITID, unix.SYS_EPOLL_PWAIT, unix.SYS_CLOCK_GETTIME,
	unix.SYS_NANOSLEEP, unix.SYS_SCHED_YIELD, unix.SYS_PRCTL, unix.SYS_SECCOMP, unix.SYS_CONNECT,
	unix.SYS_BIND, unix.SYS_LANDLOCK_RESTRICT_SELF, unix.SYS_MADVISE, unix.SYS_GETRANDOM,
}

func TestSeccompProgram(t *testing.T) {
	f := newFilterVM(t, seccompProgram())
	arch := uint32(auditArch)
	for name, nr := range contractDenied {
		f.expect(name, retEPERM, arch, nr)
	}
	for _, nr := range seccompDenied { // includes archDenied
		f.expect("denied", retEPERM, arch, nr)
	}
	for _, nr := range allowedSyscalls {
		f.expect("allowed", retAllow, arch, nr, 1, 2, 3)
	}

	// Foreign syscall ABIs kill.
	foreign := uint32(unix.AUDIT_ARCH_I386)
	if runtime.GOARCH == "arm64" {
		foreign = unix.AUDIT_ARCH_ARM
	}
	f.expect("foreign arch getpid", retKill, foreign, 20)
	f.expect("foreign arch read", retKill, foreign, 3)
	if x32SyscallBit != 0 {
		f.expect("x32 getpid", retKill, arch, x32SyscallBit|unix.SYS_GETPID)
		f.expect("x32 read", retKill, arch, x32SyscallBit|unix.SYS_READ)
	}

	// socket(2).
	sock := func(what string, want uint32, domain, typ, proto uint64) {
		t.Helper()
		f.expect("socket "+what, want, arch, unix.SYS_SOCKET, domain, typ, proto)
	}
	sock("packet raw", retEPERM, unix.AF_PACKET, unix.SOCK_RAW, 0x0300)
	sock("packet dgram", retEPERM, unix.AF_PACKET, unix.SOCK_DGRAM, 0)
	sock("packet cloexec", retEPERM, unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	sock("inet raw", retEPERM, unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
	sock("inet6 raw nonblock cloexec", retEPERM, unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	sock("netlink raw", retEPERM, unix.AF_NETLINK, unix.SOCK_RAW, 0)
	sock("inet packet", retEPERM, unix.AF_INET, unix.SOCK_PACKET, 0)
	sock("inet stream", retAllow, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	sock("inet6 dgram", retAllow, unix.AF_INET6, unix.SOCK_DGRAM, 0)
	sock("unix stream", retAllow, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	sock("netlink dgram", retAllow, unix.AF_NETLINK, unix.SOCK_DGRAM, 0)
	sock("inet dgram icmp (ping)", retAllow, unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)

	// clone(2) and clone3(2).
	threadFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID)
	f.expect("clone thread", retAllow, arch, unix.SYS_CLONE, threadFlags)
	f.expect("clone vfork", retAllow, arch, unix.SYS_CLONE, unix.CLONE_VFORK|unix.CLONE_VM|uint64(unix.SIGCHLD))
	f.expect("clone pidfd", retAllow, arch, unix.SYS_CLONE, unix.CLONE_VFORK|unix.CLONE_VM|unix.CLONE_PIDFD|uint64(unix.SIGCHLD))
	for _, fl := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER,
		unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP} {
		f.expect("clone namespace", retEPERM, arch, unix.SYS_CLONE, fl|uint64(unix.SIGCHLD))
	}
	f.expect("clone3", retENOSYS, arch, unix.SYS_CLONE3, 0, 88)
}

func TestNetProtocolProgram(t *testing.T) {
	f := newFilterVM(t, netProtocolProgram())
	arch := uint32(auditArch)
	f.expect("socket mptcp", retEPROTONOSUPPORT, arch, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_MPTCP)
	f.expect("socket mptcp6", retEPROTONOSUPPORT, arch, unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_MPTCP)
	f.expect("socket smc", retEAFNOSUPPORT, arch, unix.SYS_SOCKET, unix.AF_SMC, unix.SOCK_STREAM, 0)
	f.expect("socket tcp", retAllow, arch, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	f.expect("socket tcp default", retAllow, arch, unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_STREAM, 0)
	f.expect("socket udp", retAllow, arch, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM, 0)
	for _, nr := range append(allowedSyscalls, unix.SYS_PTRACE, unix.SYS_MOUNT) {
		f.expect("other syscall", retAllow, arch, nr, unix.AF_SMC, 0, unix.IPPROTO_MPTCP)
	}
	foreign := uint32(unix.AUDIT_ARCH_I386)
	if runtime.GOARCH == "arm64" {
		foreign = unix.AUDIT_ARCH_ARM
	}
	f.expect("foreign arch", retKill, foreign, 20)
	if x32SyscallBit != 0 {
		f.expect("x32", retKill, arch, x32SyscallBit|unix.SYS_GETPID)
	}
}

//go:build linux && (amd64 || arm64)

package netwatch

import (
	"fmt"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Kernel UAPI for seccomp user notification (include/uapi/linux/seccomp.h)
// that golang.org/x/sys/unix v0.50.0 does not define: it has the
// SECCOMP_IOCTL_NOTIF_RECV and _SEND request numbers and the flag
// constants, but neither the structures nor SECCOMP_IOCTL_NOTIF_ID_VALID.

// seccompData is struct seccomp_data, the input of a seccomp filter.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	ID    uint64
	PID   uint32 // the target thread's id, in the receiver's PID namespace
	Flags uint32
	Data  seccompData
}

// seccompNotifResp is struct seccomp_notif_resp.
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// seccompNotifSizes is struct seccomp_notif_sizes.
type seccompNotifSizes struct {
	Notif     uint16
	NotifResp uint16
	Data      uint16
}

const (
	// SECCOMP_IOCTL_NOTIF_ID_VALID = _IOW('!', 2, __u64). (Kernels 5.0 to
	// 5.6 defined it as _IOR, 0x80082102; they accept both.)
	seccompIoctlNotifIDValid = 0x40082102

	// offsets into struct seccomp_data, for the filter.
	offNr      = 0
	offArch    = 4
	offArg0    = 16 // low 32 bits of args[0] on little-endian machines
	sysConnect = 3  // SYS_CONNECT, the socketcall(2) call number
)

// The ioctl request numbers encode the structure sizes; make sure ours
// match them.
var _ = [1]struct{}{}[unsafe.Sizeof(seccompNotif{})-0x50]
var _ = [1]struct{}{}[unsafe.Sizeof(seccompNotifResp{})-0x18]
var _ = [1]struct{}{}[unix.SECCOMP_IOCTL_NOTIF_RECV-0xc0502100]
var _ = [1]struct{}{}[unix.SECCOMP_IOCTL_NOTIF_SEND-0xc0182101]

// abi describes one system call ABI the kernel accepts on this machine.
type abi struct {
	audit        uint32 // AUDIT_ARCH_* of seccomp_data.arch
	nrMask       uint32 // applied to the number before comparing (0: none)
	connect      uint32
	ioUringSetup uint32
	socketcall   int64 // -1: the ABI has no socketcall
}

// filter returns the seccomp program (for the host's ABIs):
//
//	native connect, compat connect, compat socketcall(SYS_CONNECT) → USER_NOTIF
//	io_uring_setup (any ABI)                                        → ERRNO(ENOSYS)
//	anything else of a known ABI                                    → ALLOW
//	an unknown ABI                                                  → KILL_PROCESS
func filter() []bpf.Instruction {
	return buildFilter(nativeABI, compatABI)
}

func buildFilter(native abi, compat *abi) []bpf.Instruction {
	var a assembler
	a.ins(bpf.LoadAbsolute{Off: offArch, Size: 4})
	a.jeq(native.audit, "native", "")
	if compat != nil {
		a.jeq(compat.audit, "compat", "")
	}
	a.ins(bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS})
	for _, x := range []struct {
		label string
		abi   *abi
	}{{"native", &native}, {"compat", compat}} {
		if x.abi == nil {
			continue
		}
		a.label(x.label)
		a.ins(bpf.LoadAbsolute{Off: offNr, Size: 4})
		if x.abi.nrMask != 0 {
			a.ins(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: x.abi.nrMask})
		}
		a.jeq(x.abi.connect, "notify", "")
		a.jeq(x.abi.ioUringSetup, "enosys", "")
		if x.abi.socketcall >= 0 {
			a.jeq(uint32(x.abi.socketcall), "", "allow")
			a.ins(bpf.LoadAbsolute{Off: offArg0, Size: 4})
			a.jeq(sysConnect, "notify", "allow")
		}
		a.jmp("allow")
	}
	a.label("allow")
	a.ins(bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW})
	a.label("notify")
	a.ins(bpf.RetConstant{Val: unix.SECCOMP_RET_USER_NOTIF})
	a.label("enosys")
	a.ins(bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)})
	return a.resolve()
}

// assembler is a tiny classic-BPF assembler with forward labels.
type assembler struct {
	prog   []bpf.Instruction
	jumps  map[int]jumpTarget // index → targets ("" = next instruction)
	labels map[string]int
}

type jumpTarget struct{ t, f string }

func (a *assembler) ins(i bpf.Instruction) { a.prog = append(a.prog, i) }

// jeq jumps to label t if A == val, else to label f.
func (a *assembler) jeq(val uint32, t, f string) {
	a.target(jumpTarget{t, f})
	a.ins(bpf.JumpIf{Cond: bpf.JumpEqual, Val: val})
}

// jmp jumps to label t.
func (a *assembler) jmp(t string) {
	a.target(jumpTarget{t: t})
	a.ins(bpf.Jump{})
}

func (a *assembler) target(j jumpTarget) {
	if a.jumps == nil {
		a.jumps = map[int]jumpTarget{}
	}
	a.jumps[len(a.prog)] = j
}

func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.prog)
}

func (a *assembler) resolve() []bpf.Instruction {
	skip := func(from int, label string) uint32 {
		if label == "" {
			return 0
		}
		to, ok := a.labels[label]
		if !ok || to <= from || to-from-1 > 255 {
			panic(fmt.Sprintf("netwatch: bad BPF jump from %d to %q", from, label))
		}
		return uint32(to - from - 1)
	}
	for i, j := range a.jumps {
		switch ins := a.prog[i].(type) {
		case bpf.JumpIf:
			ins.SkipTrue = uint8(skip(i, j.t))
			ins.SkipFalse = uint8(skip(i, j.f))
			a.prog[i] = ins
		case bpf.Jump:
			ins.Skip = skip(i, j.t)
			a.prog[i] = ins
		}
	}
	return a.prog
}

// sockFprog assembles prog for seccomp(2).
func sockFprog(prog []bpf.Instruction) (*unix.SockFprog, error) {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, err
	}
	f := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}, nil
}

// seccomp is the seccomp(2) system call.
func seccomp(op, flags uintptr, arg unsafe.Pointer) (uintptr, error) {
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, op, flags, uintptr(arg))
	if e != 0 {
		return r, e
	}
	return r, nil
}

// ioctl is ioctl(2) with a pointer argument.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

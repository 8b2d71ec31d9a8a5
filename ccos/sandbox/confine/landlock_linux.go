//go:build linux

package confine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// landlockRuleNetPort and landlockNetPortAttr mirror LANDLOCK_RULE_NET_PORT
// and struct landlock_net_port_attr, which x/sys does not define.
const landlockRuleNetPort = 2

type landlockNetPortAttr struct {
	AllowedAccess uint64
	Port          uint64
}

// Filesystem access rights this package knows, in kernel order. Rights the
// running kernel does not know are dropped (probed one by one).
const (
	fsAllRights = unix.LANDLOCK_ACCESS_FS_EXECUTE |
		unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM |
		unix.LANDLOCK_ACCESS_FS_REFER | // ABI 2
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | // ABI 3
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV | // ABI 5
		unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX // newer kernels
	// fsReadRights is what ReadOnly paths get.
	fsReadRights = unix.LANDLOCK_ACCESS_FS_EXECUTE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR
	// fsFileRights are the rights that make sense on a non-directory.
	fsFileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE |
		unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	netTCPRights = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
)

// LandlockABI returns the kernel's Landlock ABI version (0 if unavailable:
// not compiled in, not enabled among the LSMs, or blocked).
func LandlockABI() int {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0
	}
	return int(v)
}

// Landlock restricts the calling process — every thread, see the package
// documentation — to fs and net, and sets no_new_privs. Every access right
// the running kernel knows is handled (rights it does not know are dropped:
// best effort); with Landlock ABI < 1 it returns an error wrapping
// [ErrUnsupported]. Paths that do not exist are skipped. Calling it again
// stacks a further restriction (at most 16 layers).
//
// With net.Restrict on a kernel that handles TCP (ABI >= 4), Landlock also
// installs a small seccomp filter on every thread: Landlock's TCP rules only
// see plain TCP sockets, so socket(2) with IPPROTO_MPTCP fails with
// EPROTONOSUPPORT and with AF_SMC with EAFNOSUPPORT (Go, which listens with
// MPTCP by default, falls back to TCP). Like [Seccomp], that filter kills
// the process on a foreign syscall ABI (i386 or x32 on amd64).
//
// In a cgo binary on a kernel without LANDLOCK_RESTRICT_SELF_TSYNC, threads
// are found through /proc/self/task: a second call needs /proc readable
// under the first call's rules.
//
// The process may be partly restricted when an error is returned after the
// rules were built (applying to some thread failed): a worker must treat any
// error as fatal and exit.
func Landlock(fs FS, net Net) error {
	if LandlockABI() < 1 {
		return fmt.Errorf("%w: Landlock is not available in this kernel", ErrUnsupported)
	}
	handledFS, handledNet := handledRights()
	if !net.Restrict {
		handledNet = 0
	}
	fd, err := createRuleset(unix.LandlockRulesetAttr{Handled_access_fs: handledFS, Handled_access_net: handledNet})
	if err != nil {
		return fmt.Errorf("confine: landlock_create_ruleset: %w", err)
	}
	defer unix.Close(fd)

	for _, p := range fs.ReadOnly {
		if err := addPathRule(fd, p, fsReadRights&handledFS); err != nil {
			return err
		}
	}
	for _, p := range fs.ReadWrite {
		if err := addPathRule(fd, p, handledFS); err != nil {
			return err
		}
	}
	if handledNet&unix.LANDLOCK_ACCESS_NET_CONNECT_TCP != 0 {
		for _, port := range net.ConnectPorts {
			attr := landlockNetPortAttr{AllowedAccess: unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, Port: uint64(port)}
			if _, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(fd), landlockRuleNetPort,
				uintptr(unsafe.Pointer(&attr)), 0, 0, 0); e != 0 {
				return fmt.Errorf("confine: landlock_add_rule(tcp port %d): %w", port, e)
			}
		}
	}
	if handledNet != 0 {
		// Landlock governs plain TCP sockets only: refuse MPTCP and SMC.
		if err := installNetProtocolFilter(); err != nil {
			return err
		}
	}
	return restrictAllThreads(fd)
}

// PrepareLandlock does ahead of time the work of [Landlock] that does not
// depend on its arguments (probing the rights the kernel knows), so that a
// process that is about to confine itself can do it before it learns what
// to allow. Calling it is optional.
func PrepareLandlock() {
	handledRights()
	if !hasRestrictTSYNC() {
		// Rehearse reaching every thread with a harmless system call:
		// what it sets up once (and the code it runs) is then ready.
		_ = allThreads(sysCall{nr: unix.SYS_GETPID})
	}
}

var (
	handledOnce             sync.Once
	handledFSc, handledNetc uint64
)

// handledRights returns the filesystem and network rights the running
// kernel knows (probed once: they cannot change while it runs).
func handledRights() (fs, net uint64) {
	handledOnce.Do(func() {
		handledFSc = knownRights(func(a uint64) unix.LandlockRulesetAttr {
			return unix.LandlockRulesetAttr{Handled_access_fs: a}
		}, fsAllRights)
		handledNetc = knownRights(func(a uint64) unix.LandlockRulesetAttr {
			return unix.LandlockRulesetAttr{Handled_access_net: a}
		}, netTCPRights)
	})
	return handledFSc, handledNetc
}

// createRuleset wraps landlock_create_ruleset, passing the attribute size up
// to the net field (accepted by every ABI as long as unknown fields are 0).
func createRuleset(attr unix.LandlockRulesetAttr) (int, error) {
	size := unsafe.Offsetof(attr.Scoped)
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	runtime.KeepAlive(&attr)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// knownRights returns the subset of rights that the kernel accepts as
// handled, probing each bit on its own.
func knownRights(mk func(uint64) unix.LandlockRulesetAttr, rights uint64) uint64 {
	var known uint64
	for bit := uint64(1); bit != 0 && bit <= rights; bit <<= 1 {
		if rights&bit == 0 {
			continue
		}
		if fd, err := createRuleset(mk(bit)); err == nil {
			unix.Close(fd)
			known |= bit
		}
	}
	return known
}

// addPathRule allows access (masked to file rights for a non-directory)
// beneath path. A path that does not exist is skipped.
func addPathRule(rulesetFd int, path string, access uint64) error {
	if access == 0 {
		return nil
	}
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("confine: landlock path %q: %w", path, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("confine: landlock path %q: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		// Rights that only make sense on directories are refused by the
		// kernel for files. RESOLVE_UNIX may or may not be a file right on
		// the running kernel: try with it, then without.
		fileAccess := access & (fsFileRights | unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX)
		err := addPathBeneath(rulesetFd, pfd, fileAccess)
		if errors.Is(err, unix.EINVAL) && fileAccess&unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX != 0 {
			err = addPathBeneath(rulesetFd, pfd, fileAccess&^unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX)
		}
		if err != nil {
			return fmt.Errorf("confine: landlock_add_rule(%q): %w", path, err)
		}
		return nil
	}
	if err := addPathBeneath(rulesetFd, pfd, access); err != nil {
		return fmt.Errorf("confine: landlock_add_rule(%q): %w", path, err)
	}
	return nil
}

func addPathBeneath(rulesetFd, pfd int, access uint64) error {
	if access == 0 {
		return nil
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(pfd)}
	_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFd), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	runtime.KeepAlive(&attr)
	if e != 0 {
		return e
	}
	return nil
}

// hasRestrictTSYNC reports whether landlock_restrict_self knows
// LANDLOCK_RESTRICT_SELF_TSYNC: unknown flags fail with EINVAL before the
// file descriptor is looked at (EBADF).
func hasRestrictTSYNC() bool {
	_, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, ^uintptr(0), unix.LANDLOCK_RESTRICT_SELF_TSYNC, 0)
	return e == unix.EBADF
}

// threadSyncMethod names how [Landlock] reaches every thread here: "tsync",
// "allthreads" or "signals" (see the package documentation).
func threadSyncMethod() string {
	if hasRestrictTSYNC() {
		return "tsync"
	}
	return broadcastMethod
}

// restrictAllThreads sets no_new_privs and enforces the ruleset on every
// thread of the process.
func restrictAllThreads(rulesetFd int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	nnp := sysCall{nr: unix.SYS_PRCTL, args: [6]uintptr{unix.PR_SET_NO_NEW_PRIVS, 1}}
	if hasRestrictTSYNC() {
		// The kernel needs no_new_privs on the calling thread only; give it
		// to every thread where we can (best effort), then let the kernel
		// synchronize the domain.
		_ = allThreads(nnp)
		if err := nnp.do(); err != nil {
			return fmt.Errorf("confine: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
		restrict := sysCall{nr: unix.SYS_LANDLOCK_RESTRICT_SELF,
			args: [6]uintptr{uintptr(rulesetFd), unix.LANDLOCK_RESTRICT_SELF_TSYNC}}
		if err := restrict.do(); err != nil {
			return fmt.Errorf("confine: landlock_restrict_self(TSYNC): %w", err)
		}
		return nil
	}
	restrict := sysCall{nr: unix.SYS_LANDLOCK_RESTRICT_SELF, args: [6]uintptr{uintptr(rulesetFd)}}
	if err := allThreads(nnp, restrict); err != nil {
		return fmt.Errorf("confine: landlock on all threads: %w", err)
	}
	return nil
}

// sysCall is one raw system call to run on a thread.
type sysCall struct {
	nr   uintptr
	args [6]uintptr
}

// do runs c on the calling thread.
func (c sysCall) do() error {
	_, _, e := unix.Syscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5])
	if e != 0 {
		return e
	}
	return nil
}

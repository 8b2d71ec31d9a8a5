//go:build linux && (amd64 || arm64)

package confine

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["seccomp"] = helperSeccomp
	helpers["seccomp-foreign"] = helperSeccompForeign
}

// deniedProbe calls one syscall that the filter must refuse, with
// arguments that are harmless (they fail or do nothing) without a filter.
type deniedProbe struct {
	name string
	call func() error
	want syscall.Errno // EPERM unless set
	// unsafeUnfiltered probes are not run without the filter.
	unsafeUnfiltered bool
}

func str(s string) uintptr {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return uintptr(unsafe.Pointer(p))
}

func raw(nr uintptr, args ...uintptr) func() error {
	return func() error {
		var a [6]uintptr
		copy(a[:], args)
		r, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		if e != 0 {
			return e
		}
		if nr == unix.SYS_SOCKET {
			unix.Close(int(r))
		}
		return nil
	}
}

const bad = ^uintptr(0) // -1

func deniedProbes() []deniedProbe {
	pid := uintptr(os.Getpid())
	p := []deniedProbe{
		{name: "ptrace(PTRACE_TRACEME)", call: raw(unix.SYS_PTRACE, unix.PTRACE_TRACEME), unsafeUnfiltered: true},
		{name: "ptrace(PTRACE_CONT, 1)", call: raw(unix.SYS_PTRACE, unix.PTRACE_CONT, 1)},
		{name: "process_vm_readv", call: raw(unix.SYS_PROCESS_VM_READV, pid)},
		{name: "process_vm_writev", call: raw(unix.SYS_PROCESS_VM_WRITEV, pid)},
		{name: "mount", call: raw(unix.SYS_MOUNT, str("none"), str("/nonexistent-confine"), str("tmpfs"))},
		{name: "umount2", call: raw(unix.SYS_UMOUNT2, str("/nonexistent-confine"))},
		{name: "pivot_root", call: raw(unix.SYS_PIVOT_ROOT, str("/nonexistent-confine/a"), str("/nonexistent-confine/b"))},
		{name: "move_mount", call: raw(unix.SYS_MOVE_MOUNT, bad, str(""), bad, str(""))},
		{name: "open_tree", call: raw(unix.SYS_OPEN_TREE, bad, str("/nonexistent-confine"))},
		{name: "fsopen", call: raw(unix.SYS_FSOPEN, str("nonexistent-confine-fs"))},
		{name: "fsmount", call: raw(unix.SYS_FSMOUNT, bad)},
		{name: "fsconfig", call: raw(unix.SYS_FSCONFIG, bad)},
		{name: "fspick", call: raw(unix.SYS_FSPICK, bad, str("/nonexistent-confine"))},
		{name: "init_module", call: raw(unix.SYS_INIT_MODULE, 0, 0, str(""))},
		{name: "finit_module", call: raw(unix.SYS_FINIT_MODULE, bad, str(""))},
		{name: "delete_module", call: raw(unix.SYS_DELETE_MODULE, str("nonexistent_confine"))},
		{name: "kexec_load", call: raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0xffffffff)},
		{name: "kexec_file_load", call: raw(unix.SYS_KEXEC_FILE_LOAD, bad, bad, 0, 0, 0xffffffff)},
		{name: "add_key", call: raw(unix.SYS_ADD_KEY, str(""), str(""), 0, 0, 0)},
		{name: "request_key", call: raw(unix.SYS_REQUEST_KEY, str(""), str(""), 0, 0)},
		{name: "keyctl", call: raw(unix.SYS_KEYCTL, 0xffff)},
		{name: "bpf", call: raw(unix.SYS_BPF, 0xffff, 0, 0)},
		{name: "perf_event_open", call: raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, bad, bad, 0)},
		{name: "userfaultfd", call: raw(unix.SYS_USERFAULTFD, 0xffffffff)},
		{name: "unshare", call: raw(unix.SYS_UNSHARE, 0)},
		{name: "setns", call: raw(unix.SYS_SETNS, bad, 0)},
		{name: "reboot", call: raw(unix.SYS_REBOOT, 0, 0, 0, 0)},
		{name: "swapon", call: raw(unix.SYS_SWAPON, str("/nonexistent-confine"), 0)},
		{name: "swapoff", call: raw(unix.SYS_SWAPOFF, str("/nonexistent-confine"))},
		{name: "acct", call: raw(unix.SYS_ACCT, str("/nonexistent-confine/acct"))},
		{name: "quotactl", call: raw(unix.SYS_QUOTACTL, 0xffffffff, 0, 0, 0)},
		{name: "syslog", call: raw(unix.SYS_SYSLOG, 0xffff, 0, 0)},
		{name: "personality", call: raw(unix.SYS_PERSONALITY, 0xffffffff)},
		{name: "chroot", call: raw(unix.SYS_CHROOT, str("/nonexistent-confine"))},
		{name: "lookup_dcookie", call: raw(unix.SYS_LOOKUP_DCOOKIE, 0, 0, 0)},
		{name: "mount_setattr", call: raw(unix.SYS_MOUNT_SETATTR, bad, str(""), 0, 0, 0)},
		{name: "open_tree_attr", call: raw(unix.SYS_OPEN_TREE_ATTR, bad, str("/nonexistent-confine"), 0, 0, 0)},
		{name: "quotactl_fd", call: raw(unix.SYS_QUOTACTL_FD, bad, 0, 0, 0)},
		{name: "io_uring_setup", call: raw(unix.SYS_IO_URING_SETUP, 0, 0)},
		{name: "io_uring_enter", call: raw(unix.SYS_IO_URING_ENTER, bad, 0, 0, 0, 0, 0)},
		{name: "io_uring_register", call: raw(unix.SYS_IO_URING_REGISTER, bad, 0, 0, 0)},
		{name: "open_by_handle_at", call: raw(unix.SYS_OPEN_BY_HANDLE_AT, bad, 0, 0)},
		{name: "socket(AF_PACKET, SOCK_RAW)", call: raw(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW, 0x0300)},
		{name: "socket(AF_PACKET, SOCK_DGRAM)", call: raw(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0x0300)},
		{name: "socket(AF_INET, SOCK_RAW)", call: raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)},
		{name: "socket(AF_INET6, SOCK_RAW|NONBLOCK|CLOEXEC)", call: raw(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)},
		{name: "socket(AF_INET, SOCK_PACKET)", call: raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_PACKET, 0x0300)},
		{name: "clone3", call: raw(unix.SYS_CLONE3, 0, 0), want: unix.ENOSYS},
		{name: "exec with CLONE_NEWNS", call: func() error {
			cmd := exec.Command("/bin/true")
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
			return cmd.Run()
		}},
		{name: "exec with CLONE_NEWUSER", call: func() error {
			cmd := exec.Command("/bin/true")
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
			return cmd.Run()
		}},
	}
	return append(p, archDeniedProbes()...)
}

func TestSeccomp(t *testing.T) {
	// Without the filter, the probes must not already fail with EPERM (else
	// they would prove nothing); kernels differ, so this only logs.
	out := expectHelperOK(t, "seccomp", map[string]string{"install": "0", "dir": t.TempDir()}, nil)
	if strings.Contains(out, "note unfiltered EPERM") {
		t.Log("some probes fail with EPERM even without the filter (see notes)")
	}
	expectHelperOK(t, "seccomp", map[string]string{"install": "1", "dir": t.TempDir()}, nil)
}

func helperSeccomp(h *helperT) {
	install := h.args["install"] == "1"
	pre := startLockedThread()
	if !install {
		for _, p := range deniedProbes() {
			if p.unsafeUnfiltered {
				continue
			}
			if err := p.call(); errors.Is(err, unix.EPERM) {
				h.logf("unfiltered EPERM from %s", p.name)
			} else {
				h.printf("ok unfiltered %s: %v", p.name, err)
			}
		}
		return
	}
	if !h.ok("Seccomp", Seccomp()) {
		return
	}
	probe := func(where string) {
		n := func(s string) string { return where + ": " + s }
		for _, p := range deniedProbes() {
			want := p.want
			if want == 0 {
				want = unix.EPERM
			}
			h.denied(n(p.name), p.call(), want)
		}
		if v, err := noNewPrivs(); err != nil || v != 1 {
			h.fail(n("no_new_privs"), "%d %v", v, err)
		}
		status, err := os.ReadFile("/proc/thread-self/status")
		if err != nil || !strings.Contains(string(status), "\nSeccomp:\t2\n") {
			h.fail(n("thread in seccomp filter mode"), "%v", err)
		} else {
			h.printf("ok %s", n("thread in seccomp filter mode"))
		}
	}
	probe("main")
	if err := pre.run(func() { probe("pre") }); err != nil {
		h.fail("pre", "%v", err)
	}

	// Everything else keeps working.
	dir := h.args["dir"]
	f := filepath.Join(dir, "file")
	h.ok("write file", os.WriteFile(f, []byte("hello"), 0o644))
	data, err := os.ReadFile(f)
	if h.ok("read file", err) && string(data) != "hello" {
		h.fail("read file", "got %q", data)
	}
	h.ok("rename", os.Rename(f, f+"2"))
	h.ok("remove", os.Remove(f+"2"))
	r, w, err := os.Pipe()
	if h.ok("pipe", err) {
		go func() { w.Write([]byte("through the pipe")); w.Close() }()
		var buf bytes.Buffer
		buf.ReadFrom(r)
		if buf.String() != "through the pipe" {
			h.fail("pipe", "read %q", buf.String())
		}
		r.Close()
	}
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	if d := time.Since(start); d < 20*time.Millisecond {
		h.fail("time", "slept %v", d)
	} else {
		h.printf("ok time")
	}
	// Many goroutines, and new OS threads (clone of threads is allowed).
	var wg sync.WaitGroup
	var mu sync.Mutex
	tids := map[int]bool{}
	var arrived sync.WaitGroup
	arrived.Add(8)
	release := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			// Locked together: 8 threads exist at the same time.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			mu.Lock()
			tids[unix.Gettid()] = true
			mu.Unlock()
			arrived.Done()
			<-release
		})
	}
	arrived.Wait()
	close(release)
	sum := make(chan int, 100)
	for i := range 100 {
		wg.Go(func() { sum <- i })
	}
	wg.Wait()
	close(sum)
	total := 0
	for v := range sum {
		total += v
	}
	if total != 4950 || len(tids) != 8 {
		h.fail("goroutines and threads", "sum %d, %d threads", total, len(tids))
	} else {
		h.printf("ok goroutines and new threads")
	}
	out, err := exec.Command("/bin/echo", "hello").Output()
	if h.ok("exec /bin/echo", err) && string(out) != "hello\n" {
		h.fail("exec /bin/echo", "output %q", out)
	}
	out, err = exec.Command("/bin/sh", "-c", "echo $(( 6 * 7 )) | cat").Output()
	if h.ok("exec shell pipeline", err) && string(out) != "42\n" {
		h.fail("exec shell pipeline", "output %q", out)
	}
	cmd := exec.Command("/bin/sleep", "10")
	if h.ok("start sleep", cmd.Start()) {
		h.ok("kill child", cmd.Process.Kill())
		cmd.Wait()
	}
	for _, s := range []struct {
		name             string
		domain, typ, pro int
	}{
		{"tcp", unix.AF_INET, unix.SOCK_STREAM, 0},
		{"udp6", unix.AF_INET6, unix.SOCK_DGRAM, 0},
		{"unix", unix.AF_UNIX, unix.SOCK_STREAM, 0},
		{"netlink route", unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_ROUTE},
	} {
		fd, err := unix.Socket(s.domain, s.typ|unix.SOCK_CLOEXEC, s.pro)
		if h.ok("socket "+s.name, err) {
			unix.Close(fd)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if h.ok("tcp listen", err) {
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Write([]byte("hi"))
				c.Close()
			}
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if h.ok("tcp dial", err) {
			var buf bytes.Buffer
			buf.ReadFrom(c)
			if buf.String() != "hi" {
				h.fail("tcp roundtrip", "%q", buf.String())
			}
			c.Close()
		}
		l.Close()
	}
	h.ok("getpid", func() error {
		if os.Getpid() <= 0 {
			return errors.New("bad pid")
		}
		return nil
	}())
}

// TestSeccompForeignABI checks, live, that a syscall through a foreign ABI
// kills the process: x32 numbering (amd64) and the i386 int $0x80 entry
// (amd64, cgo builds).
func TestSeccompForeignABI(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("foreign-ABI live checks exist for amd64 only (the BPF-level check is in TestSeccompProgram)")
	}
	for _, kind := range []string{"x32", "int80"} {
		t.Run(kind, func(t *testing.T) {
			// Control: without the filter the call returns.
			out, err := runHelper(t, "seccomp-foreign", map[string]string{"kind": kind, "install": "0"}, nil)
			if err != nil {
				t.Fatalf("control run: %v\n%s", err, out)
			}
			res := strings.TrimSpace(out)
			t.Logf("without filter: %s", res)
			if kind == "int80" {
				if strings.Contains(res, "unavailable") {
					t.Skip("int $0x80 needs cgo in this package: " + res)
				}
				var r, pid int
				if _, err := fmt.Sscanf(res, "result=%d pid=%d", &r, &pid); err != nil {
					t.Fatalf("control: %q: %v", res, err)
				}
				if r != pid {
					t.Skipf("the kernel has no i386 syscall entry (int $0x80 returned %d)", r)
				}
			}
			out, err = runHelper(t, "seccomp-foreign", map[string]string{"kind": kind, "install": "1"}, nil)
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("filtered run: %v\n%s", err, out)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
				t.Fatalf("filtered run ended with %v, want killed by SIGSYS\n%s", ws, out)
			}
			t.Logf("with filter: killed by %v", ws.Signal())
		})
	}
}

func helperSeccompForeign(h *helperT) {
	// No core file from the expected SIGSYS.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if h.args["install"] == "1" {
		if err := Seccomp(); err != nil {
			h.fail("Seccomp", "%v", err)
			return
		}
	}
	switch h.args["kind"] {
	case "x32":
		r, _, e := unix.RawSyscall(x32SyscallBit|unix.SYS_GETPID, 0, 0, 0)
		h.printf("result=%d errno=%v", int(r), e)
	case "int80":
		const i386Getpid = 20
		r, ok := int80(i386Getpid)
		if !ok {
			h.printf("unavailable (built without cgo)")
			return
		}
		h.printf("result=%d pid=%d", int(r), os.Getpid())
	}
	if h.args["install"] == "1" {
		h.fail("survived", "foreign syscall did not kill the process")
	}
}

//go:build linux && (amd64 || arm64)

package netwatch

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Available reports why seccomp user notification cannot be used here,
// or nil. It does not install anything, so it cannot tell that Install
// will fail on kernels before 5.7, which lack SECCOMP_FILTER_FLAG_TSYNC_ESRCH
// (Install then fails with EINVAL and installs nothing).
func Available() error {
	action := uint32(unix.SECCOMP_RET_USER_NOTIF)
	if _, err := seccomp(unix.SECCOMP_GET_ACTION_AVAIL, 0, unsafe.Pointer(&action)); err != nil {
		return fmt.Errorf("%w: seccomp user notification unavailable: %v", ErrUnsupported, err)
	}
	var sizes seccompNotifSizes
	if _, err := seccomp(unix.SECCOMP_GET_NOTIF_SIZES, 0, unsafe.Pointer(&sizes)); err != nil {
		return fmt.Errorf("%w: SECCOMP_GET_NOTIF_SIZES: %v", ErrUnsupported, err)
	}
	return nil
}

// Install, called in the sandboxed process (the worker) after its other
// confinement and before running untrusted code, installs a seccomp filter
// that sends connect(2) to a user-notification listener, and passes the
// listener fd to the supervisor over sock (a Unix socket, SCM_RIGHTS),
// then closes its own copy. It applies to all threads of the process
// (SECCOMP_FILTER_FLAG_TSYNC, plus TSYNC_ESRCH which the kernel requires
// together with NEW_LISTENER) and is inherited by children (programs it
// execs). Sets no_new_privs (on every thread: TSYNC propagates it).
//
// When the kernel supports it (5.19+), the filter also uses
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: once the supervisor has received
// a notification, only a fatal signal interrupts the waiting thread. Go
// programs receive signals constantly (SIGURG for preemption, SIGCHLD,
// ...); without the flag such a signal would abandon a notification the
// supervisor is already deciding and restart the connect, so one attempt
// could be decided (and reported) twice.
//
// Install must be called once per process. A connect made before the
// supervisor starts serving waits for it. If Install fails after the
// filter was installed (sending the listener failed), the process is left
// failing closed: every connect then fails with ENOSYS.
func Install(sock *os.File) error {
	if sock == nil {
		return errors.New("netwatch: Install: nil socket")
	}
	prog, err := sockFprog(filter())
	if err != nil {
		return fmt.Errorf("netwatch: assembling the filter: %w", err)
	}
	// no_new_privs is per thread and seccomp(2) checks it on the calling
	// thread, so both calls must happen on the same thread; TSYNC then
	// copies the filter and no_new_privs to every other thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("netwatch: setting no_new_privs: %w", err)
	}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC |
		unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH)
	fd, err := seccomp(unix.SECCOMP_SET_MODE_FILTER, flags|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, unsafe.Pointer(prog))
	if err == unix.EINVAL {
		// Before Linux 5.19: no WAIT_KILLABLE_RECV (nothing was installed).
		fd, err = seccomp(unix.SECCOMP_SET_MODE_FILTER, flags, unsafe.Pointer(prog))
	}
	runtime.KeepAlive(prog)
	if err != nil {
		if err == unix.ESRCH {
			return fmt.Errorf("netwatch: installing the filter: a thread could not be synchronized (it has an unrelated seccomp filter): %w", err)
		}
		return fmt.Errorf("netwatch: installing the filter: %w", err)
	}
	listener := int(fd)
	defer unix.Close(listener)
	if err := sendFD(sock, listener); err != nil {
		return fmt.Errorf("netwatch: filter installed but passing its listener to the supervisor failed (connects will fail with ENOSYS): %w", err)
	}
	return nil
}

// sendFD sends fd over sock with SCM_RIGHTS and one byte of data.
func sendFD(sock *os.File, fd int) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(s uintptr) bool {
		serr = unix.Sendmsg(int(s), []byte{'L'}, unix.UnixRights(fd), nil, unix.MSG_NOSIGNAL)
		return serr != unix.EAGAIN && serr != unix.EINTR
	})
	if err != nil {
		return err
	}
	return serr
}

// Supervise receives the listener fd from sock and serves notifications
// until ctx is done (it then returns ctx.Err()) or the listener reports
// that the filtered processes are gone (it then returns nil: every process
// under the filter has exited; on Linux 6.18 that is reported as soon as
// the last one exits, older kernels may wait until it is reaped). For each
// connect it reads
// the sockaddr from the target's memory (/proc/PID/mem at args[1], length
// args[2], capped at sizeof(struct sockaddr_storage)), re-checks that the
// notification id is still valid (SECCOMP_IOCTL_NOTIF_ID_VALID) after
// reading — so the PID cannot have been reused for another process — and
// calls decide. true → the notification is answered with
// SECCOMP_USER_NOTIF_FLAG_CONTINUE and the kernel performs the connect
// (see the package documentation for the time-of-check caveat); false →
// the connect fails with EACCES and onDeny is called (after the answer,
// so the target does not wait for it). A malformed or unreadable sockaddr
// is denied without asking decide (onDeny gets Family "invalid").
//
// Each notification is handled on its own goroutine, so decide and onDeny
// may be called concurrently and must be safe for that; they should not
// block for long (the connecting thread waits for decide, and Supervise
// waits for running calls before it returns). A nil decide denies
// everything; a nil onDeny is not called.
//
// If decide or onDeny panics, the notification is still answered (denied,
// when decide panicked), supervision stops and Supervise returns an error
// carrying the panic value and stack: the panic is not re-raised, since it
// happened on a goroutine the caller could not recover on.
//
// When Supervise returns, the listener is closed and no goroutine it
// started is left running. From then on every connect of the filtered
// processes fails with ENOSYS (fail closed). sock stays open: if
// Supervise returns before the listener arrived (ctx done), close sock so
// that a listener still in flight in it is released too. Supervise must
// not run in a process under the filter it serves.
func Supervise(ctx context.Context, sock *os.File, decide func(Addr) bool, onDeny func(Addr)) error {
	if sock == nil {
		return errors.New("netwatch: Supervise: nil socket")
	}
	listener, err := recvFD(ctx, sock)
	if err != nil {
		return err
	}
	s := &supervisor{decide: decide, onDeny: onDeny}
	return s.serve(ctx, listener)
}

// recvFD receives the listener fd Install sends, waiting until it arrives,
// sock reaches EOF or ctx is done. The fd is received close-on-exec and
// checked to be a seccomp listener.
func recvFD(ctx context.Context, sock *os.File) (int, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return -1, err
	}
	// sock may be a blocking descriptor the runtime poller does not
	// manage, and its blocking mode belongs to the caller: wait with
	// poll(2) on sock and an eventfd that ctx cancellation signals.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return -1, fmt.Errorf("netwatch: eventfd: %w", err)
	}
	defer unix.Close(efd)
	stop := context.AfterFunc(ctx, func() {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		unix.Write(efd, one[:])
	})
	defer stop()

	fd := -1
	var rerr error
	cerr := rc.Control(func(s uintptr) {
		data := make([]byte, 16)
		oob := make([]byte, unix.CmsgSpace(4*4))
		for {
			pfd := []unix.PollFd{{Fd: int32(s), Events: unix.POLLIN}, {Fd: int32(efd), Events: unix.POLLIN}}
			if _, err := unix.Poll(pfd, -1); err != nil {
				if err == unix.EINTR {
					continue
				}
				rerr = fmt.Errorf("netwatch: waiting for the listener: %w", err)
				return
			}
			if pfd[1].Revents != 0 {
				rerr = ctx.Err()
				return
			}
			n, oobn, _, _, err := unix.Recvmsg(int(s), data, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				rerr = fmt.Errorf("netwatch: receiving the listener: %w", err)
				return
			}
			fds, perr := parseRights(oob[:oobn])
			if perr != nil {
				rerr = perr
				return
			}
			if len(fds) == 0 {
				if n == 0 {
					rerr = errors.New("netwatch: the sandbox closed its socket without sending a listener")
					return
				}
				continue // stray data; keep waiting
			}
			for _, extra := range fds[1:] {
				unix.Close(extra)
			}
			fd = fds[0]
			return
		}
	})
	if cerr != nil {
		return -1, cerr
	}
	if rerr != nil {
		return -1, rerr
	}
	// The sandbox is not trusted to send what it should: make sure this
	// is a seccomp listener before using ioctls on it.
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil || target != "anon_inode:seccomp notify" {
		unix.Close(fd)
		return -1, fmt.Errorf("netwatch: received a descriptor that is not a seccomp listener (%q)", target)
	}
	return fd, nil
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("netwatch: parsing the control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		r, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, r...)
		}
	}
	return fds, nil
}

// supervisor serves one listener.
type supervisor struct {
	decide func(Addr) bool
	onDeny func(Addr)

	listener  int
	notifSize int            // bytes the kernel writes on NOTIF_RECV
	respSize  int            // bytes the kernel reads on NOTIF_SEND
	handlers  sync.WaitGroup // handle goroutines
	cancel    context.CancelFunc

	mu      sync.Mutex
	failErr error // the first failure (a panic in decide or onDeny)
}

// errGone reports that the filtered processes are gone (POLLHUP).
var errGone = errors.New("netwatch: filtered processes gone")

func (s *supervisor) serve(ctx context.Context, listener int) error {
	s.listener = listener
	s.notifSize, s.respSize = int(unsafe.Sizeof(seccompNotif{})), int(unsafe.Sizeof(seccompNotifResp{}))
	var sizes seccompNotifSizes
	if _, err := seccomp(unix.SECCOMP_GET_NOTIF_SIZES, 0, unsafe.Pointer(&sizes)); err == nil {
		// A newer kernel may have larger structures: give it room.
		s.notifSize = max(s.notifSize, int(sizes.Notif))
		s.respSize = max(s.respSize, int(sizes.NotifResp))
	}
	if err := unix.SetNonblock(listener, true); err != nil {
		unix.Close(listener)
		return fmt.Errorf("netwatch: %w", err)
	}
	// Non-blocking, so the runtime poller manages it: waiting for a
	// notification parks a goroutine, not a thread, and a deadline
	// interrupts the wait.
	f := os.NewFile(uintptr(listener), "seccomp-listener")
	// Deferred in this order: the handlers finish (they answer on the
	// listener) before it is closed.
	defer f.Close()
	defer s.handlers.Wait()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("netwatch: %w", err)
	}
	inner, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	defer cancel()
	stop := context.AfterFunc(inner, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]uint64, (s.notifSize+7)/8)
	for {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			rerr = s.recv(int(fd), buf)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			s.mu.Lock()
			ferr := s.failErr
			s.mu.Unlock()
			if ferr != nil {
				return ferr
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("netwatch: waiting for notifications: %w", err)
		}
		switch rerr {
		case nil:
			// Each notification on its own goroutine: a slow decide
			// or onDeny holds up only the connect it is about.
			// (Handling inline here was measured ~20µs faster per
			// connect, but any slow call would stall every connect
			// of the sandbox.)
			n := *(*seccompNotif)(unsafe.Pointer(&buf[0]))
			s.handlers.Add(1)
			go s.handle(n)
		case errGone:
			return nil
		case unix.ENOENT, unix.EINTR:
			// The target was interrupted before we received the
			// notification (it will retry), or we were.
		default:
			return fmt.Errorf("netwatch: receiving a notification: %w", rerr)
		}
	}
}

// recv receives one notification into buf if one is pending. It returns
// EAGAIN when there is none, errGone once the filtered processes are
// gone.
func (s *supervisor) recv(fd int, buf []uint64) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(pfd, 0); err != nil {
		return err
	}
	switch {
	case pfd[0].Revents&unix.POLLIN != 0:
		// Pending: NOTIF_RECV will not block (the kernel counts
		// notifications; a withdrawn one makes it return ENOENT).
		// The kernel requires a zeroed buffer.
		clear(buf)
		return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&buf[0]))
	case pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0:
		return errGone
	}
	return unix.EAGAIN
}

// fail records the first failure and stops serving.
func (s *supervisor) fail(err error) {
	s.mu.Lock()
	if s.failErr == nil {
		s.failErr = err
	}
	s.mu.Unlock()
	s.cancel()
}

// handle decides one notification and answers it.
func (s *supervisor) handle(n seccompNotif) {
	defer s.handlers.Done()
	a, ok, valid := s.addrOf(&n)
	if !valid {
		return // the target is gone or was interrupted: nothing to answer
	}
	answered := false
	inDecide := true
	defer func() {
		if r := recover(); r != nil {
			if !answered {
				s.respond(n.ID, false)
			}
			what := "onDeny"
			if inDecide {
				what = "decide"
			}
			s.fail(fmt.Errorf("netwatch: %s panicked on connect to %v: %v\n%s", what, a, r, debug.Stack()))
		}
	}()
	allow := false
	if ok && s.decide != nil {
		allow = s.decide(a)
	}
	inDecide = false
	s.respond(n.ID, allow)
	answered = true
	if !allow && s.onDeny != nil {
		s.onDeny(a)
	}
}

// respond answers notification id: continue the system call, or fail it
// with EACCES. An error (ENOENT: the target is gone or was interrupted)
// is ignored: there is nobody left to answer.
func (s *supervisor) respond(id uint64, allow bool) {
	buf := make([]uint64, (s.respSize+7)/8)
	r := (*seccompNotifResp)(unsafe.Pointer(&buf[0]))
	r.ID = id
	if allow {
		r.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	} else {
		r.Error = -int32(unix.EACCES)
	}
	ioctl(s.listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&buf[0]))
}

// idValid reports whether notification id is still pending.
func (s *supervisor) idValid(id uint64) bool {
	return ioctl(s.listener, seccompIoctlNotifIDValid, unsafe.Pointer(&id)) == nil
}

// addrOf reads and decodes the destination of the connect in n. ok is
// false when the sockaddr is unreadable or malformed (a is then Family
// "invalid"); valid is false when the notification is no longer pending
// (then nothing read can be trusted and nothing must be answered).
func (s *supervisor) addrOf(n *seccompNotif) (a Addr, ok, valid bool) {
	tid := int(n.PID)
	a, err := readAddr(tid, &n.Data)
	pid := 0
	if tid > 0 {
		pid = tgid(tid)
	}
	// Only now is it certain that tid named the target all along: the
	// notification is pending, so the target is alive and blocked.
	if !s.idValid(n.ID) {
		return Addr{}, false, false
	}
	if err != nil {
		a = Addr{Family: "invalid"}
	}
	a.PID = pid
	return a, err == nil, true
}

// memReader reads target memory.
type memReader interface {
	ReadAt(p []byte, off int64) (int, error)
}

// procMem reads a process's memory through /proc/TID/mem.
type procMem int

func (m procMem) ReadAt(p []byte, off int64) (int, error) {
	n, err := unix.Pread(int(m), p, off)
	if err == nil && n < len(p) {
		err = fmt.Errorf("short read (%d of %d bytes)", n, len(p))
	}
	return n, err
}

// readAddr reads and decodes the sockaddr of the connect described by d,
// made by thread tid.
func readAddr(tid int, d *seccompData) (Addr, error) {
	if tid <= 0 {
		return Addr{}, errors.New("target not visible in this PID namespace")
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(tid)+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Addr{}, err
	}
	defer unix.Close(fd)
	return decodeConnect(d, procMem(fd))
}

// decodeConnect decodes the sockaddr of the connect system call d (of
// any ABI the filter notifies), reading target memory through mem.
func decodeConnect(d *seccompData, mem memReader) (Addr, error) {
	ptr, length := d.Args[1], int32(uint32(d.Args[2]))
	if compatABI != nil && d.Arch == compatABI.audit && compatABI.socketcall >= 0 &&
		d.Nr == int32(compatABI.socketcall) {
		// socketcall(SYS_CONNECT, args): args points to three 32-bit
		// words, fd, addr, addrlen.
		var w [12]byte
		if err := readMem(mem, w[:], d.Args[1]); err != nil {
			return Addr{}, err
		}
		ptr = uint64(binary.LittleEndian.Uint32(w[4:]))
		length = int32(binary.LittleEndian.Uint32(w[8:]))
	}
	// connect(2) takes an int addrlen: the kernel ignores the upper half
	// of the register, and rejects negative or oversized lengths.
	if length < 2 || length > maxSockaddrLen {
		return Addr{}, fmt.Errorf("%w: length %d", errMalformed, length)
	}
	b := make([]byte, length)
	if err := readMem(mem, b, ptr); err != nil {
		return Addr{}, err
	}
	return decodeSockaddr(b)
}

func readMem(mem memReader, b []byte, addr uint64) error {
	if addr == 0 || addr > 1<<63-1 || addr+uint64(len(b)) < addr {
		return fmt.Errorf("bad address %#x", addr)
	}
	_, err := mem.ReadAt(b, int64(addr))
	return err
}

// tgid returns the thread group (process) id of thread tid, or tid if it
// cannot be found. It asks a pidfd (PIDFD_GET_INFO, Linux 6.13) and falls
// back on /proc/TID/status, which costs several times more: the kernel
// computes every field of that file, memory statistics included.
func tgid(tid int) int {
	if !noPidfdInfo.Load() {
		if v, err := pidfdTgid(tid); err == nil {
			return v
		} else if err == unix.EINVAL || err == unix.ENOTTY {
			noPidfdInfo.Store(true) // no PIDFD_THREAD or no PIDFD_GET_INFO
		}
	}
	return statusTgid(tid)
}

// noPidfdInfo records that the kernel lacks PIDFD_THREAD or PIDFD_GET_INFO.
var noPidfdInfo atomic.Bool

const (
	// PIDFD_GET_INFO = _IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info),
	// with the 64-byte first version of struct pidfd_info
	// (include/uapi/linux/pidfd.h), which has __u64 mask at 0 and
	// __u32 tgid at 20; the kernel fills it in the caller's PID namespace.
	pidfdGetInfo     = 0xc040ff0b
	pidfdInfoSize    = 64
	pidfdInfoPID     = 1 // PIDFD_INFO_PID
	pidfdInfoTgidOff = 20
)

func pidfdTgid(tid int) (int, error) {
	fd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var info [pidfdInfoSize / 8]uint64
	info[0] = pidfdInfoPID
	if err := ioctl(fd, pidfdGetInfo, unsafe.Pointer(&info[0])); err != nil {
		return 0, err
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&info[0])), pidfdInfoSize)
	if v := int(binary.NativeEndian.Uint32(b[pidfdInfoTgidOff:])); v > 0 {
		return v, nil
	}
	return 0, unix.ESRCH
}

func statusTgid(tid int) int {
	var buf [512]byte
	fd, err := unix.Open("/proc/"+strconv.Itoa(tid)+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return tid
	}
	n, _ := unix.Read(fd, buf[:])
	unix.Close(fd)
	if n <= 0 {
		return tid
	}
	b := buf[:n]
	i := bytes.Index(b, []byte("\nTgid:"))
	if i < 0 {
		return tid
	}
	b = bytes.TrimLeft(b[i+len("\nTgid:"):], " \t")
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	if v, err := strconv.Atoi(string(b)); err == nil && v > 0 {
		return v
	}
	return tid
}

//go:build linux && cgo

package confine

/*
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CONFINE_MAX_CALLS 4
#define CONFINE_MAX_ACKS 16384

static long confine_nr[CONFINE_MAX_CALLS];
static long confine_args[CONFINE_MAX_CALLS][6];
static int confine_ncalls;
static pid_t confine_pid;
static struct sigaction confine_old;
static atomic_int confine_nacks;
static int confine_ack_tid[CONFINE_MAX_ACKS];
static int confine_ack_err[CONFINE_MAX_ACKS];
static atomic_int confine_ack_ready[CONFINE_MAX_ACKS];
// confine_wake_fd is an eventfd the handler signals after each
// acknowledgement (-1: none), so that the broadcaster sleeps in the kernel
// until a thread answers instead of polling.
static atomic_int confine_wake_fd = -1;

// confine_handler runs the configured system calls on the thread that
// receives the signal, then records the thread id and the first error.
// Signals that did not come from confine_broadcast (tgkill from this
// process) are forwarded to the previous handler.
static void confine_handler(int sig, siginfo_t *si, void *uc) {
	if (si == NULL || si->si_code != SI_TKILL || si->si_pid != confine_pid) {
		if (confine_old.sa_flags & SA_SIGINFO) {
			if (confine_old.sa_sigaction != NULL) {
				confine_old.sa_sigaction(sig, si, uc);
			}
		} else if (confine_old.sa_handler != SIG_DFL && confine_old.sa_handler != SIG_IGN) {
			confine_old.sa_handler(sig);
		}
		return;
	}
	int saved = errno;
	int err = 0;
	for (int i = 0; i < confine_ncalls; i++) {
		long *a = confine_args[i];
		if (syscall(confine_nr[i], a[0], a[1], a[2], a[3], a[4], a[5]) == -1) {
			err = errno;
			break;
		}
	}
	int slot = atomic_fetch_add(&confine_nacks, 1);
	if (slot < CONFINE_MAX_ACKS) {
		confine_ack_tid[slot] = (int)syscall(SYS_gettid);
		confine_ack_err[slot] = err;
		atomic_store(&confine_ack_ready[slot], 1);
	}
	int wfd = atomic_load(&confine_wake_fd);
	if (wfd >= 0) {
		uint64_t one = 1;
		ssize_t r = write(wfd, &one, sizeof one);
		(void)r;
	}
	errno = saved;
}

static int confine_signal(void) { return SIGRTMAX - 3; }

static void confine_set_wake(int fd) { atomic_store(&confine_wake_fd, fd); }

static int confine_set_call(int i, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
	if (i < 0 || i >= CONFINE_MAX_CALLS) {
		return EINVAL;
	}
	confine_nr[i] = nr;
	confine_args[i][0] = a0;
	confine_args[i][1] = a1;
	confine_args[i][2] = a2;
	confine_args[i][3] = a3;
	confine_args[i][4] = a4;
	confine_args[i][5] = a5;
	confine_ncalls = i + 1;
	return 0;
}

// confine_install resets the acknowledgements and installs the handler.
static int confine_install(int sig) {
	int n = atomic_load(&confine_nacks);
	if (n > CONFINE_MAX_ACKS) {
		n = CONFINE_MAX_ACKS;
	}
	for (int i = 0; i < n; i++) {
		atomic_store(&confine_ack_ready[i], 0);
	}
	atomic_store(&confine_nacks, 0);
	confine_pid = getpid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = confine_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(sig, &sa, &confine_old) != 0) {
		return errno;
	}
	return 0;
}

static int confine_restore(int sig) {
	if (sigaction(sig, &confine_old, NULL) != 0) {
		return errno;
	}
	return 0;
}

static int confine_nacked(void) {
	int n = atomic_load(&confine_nacks);
	return n > CONFINE_MAX_ACKS ? CONFINE_MAX_ACKS : n;
}

// confine_ack reports acknowledgement slot i: 1 and its thread id and
// errno once it is written, else 0.
static int confine_ack(int i, int *tid, int *err) {
	if (i < 0 || i >= CONFINE_MAX_ACKS || !atomic_load(&confine_ack_ready[i])) {
		return 0;
	}
	*tid = confine_ack_tid[i];
	*err = confine_ack_err[i];
	return 1;
}

// confine_int80 makes a syscall through the i386 compat entry (int $0x80)
// on x86-64; *ok is 0 elsewhere.
static long confine_int80(long nr, int *ok) {
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory", "r8", "r9", "r10", "r11");
	*ok = 1;
	return ret;
#else
	*ok = 0;
	return -ENOSYS;
#endif
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// broadcastMethod is how allThreads reaches every thread in this build.
const broadcastMethod = "signals"

// broadcastTimeout bounds how long allThreads waits for the threads.
const broadcastTimeout = 10 * time.Second

var broadcastMu sync.Mutex

// wakeFD is the eventfd the signal handler signals (guarded by
// broadcastMu; -1 until first used).
var wakeFD = -1

// allThreads runs each call, in order, on every thread of the process.
//
// This binary uses cgo, where syscall.AllThreadsSyscall6 is refused, so a C
// signal handler does it (the psx approach): each thread listed in
// /proc/self/task is sent a real-time signal with tgkill and runs the calls
// in its handler. The listing is repeated until a pass finds only threads
// that have already acknowledged: a thread created by an acknowledged thread
// inherits its state, one created by a thread not yet reached shows up in a
// later pass (a thread's signal is handled only after its clone returned,
// so its child is listed by then). The calling thread runs the calls last.
func allThreads(calls ...sysCall) error {
	if len(calls) == 0 || len(calls) > 4 {
		return errors.New("allThreads: 1 to 4 calls")
	}
	broadcastMu.Lock()
	defer broadcastMu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	for i, c := range calls {
		a := c.args
		if e := C.confine_set_call(C.int(i), C.long(c.nr), C.long(a[0]), C.long(a[1]), C.long(a[2]),
			C.long(a[3]), C.long(a[4]), C.long(a[5])); e != 0 {
			return unix.Errno(e)
		}
	}
	// Acknowledgements wake us through an eventfd: waiting for them in
	// poll(2) costs nothing when they come at once, where a timed sleep
	// costs at least the runtime timer's granularity (about a
	// millisecond when the process is otherwise idle). It is kept for
	// the life of the process: a handler may still be writing to it
	// after its acknowledgement was seen.
	if wakeFD < 0 {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return fmt.Errorf("eventfd: %w", err)
		}
		wakeFD = fd
		C.confine_set_wake(C.int(fd))
	}
	efd := wakeFD
	var drain [8]byte
	unix.Read(efd, drain[:])
	sig := int(C.confine_signal())
	if e := C.confine_install(C.int(sig)); e != 0 {
		return fmt.Errorf("sigaction: %w", unix.Errno(e))
	}
	defer C.confine_restore(C.int(sig))

	pid, self := unix.Getpid(), unix.Gettid()
	sent := map[int]bool{}
	acked := map[int]bool{}
	var firstErr error
	read := 0
	collect := func() {
		for n := int(C.confine_nacked()); read < n; read++ {
			var tid, e C.int
			if C.confine_ack(C.int(read), &tid, &e) == 0 {
				return // slot reserved but not written yet
			}
			acked[int(tid)] = true
			if e != 0 && firstErr == nil {
				firstErr = fmt.Errorf("thread %d: %w", int(tid), unix.Errno(e))
			}
		}
	}
	deadline := time.Now().Add(broadcastTimeout)
	for {
		tids, err := listThreads()
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if tid == self || sent[tid] {
				continue
			}
			if err := unix.Tgkill(pid, tid, unix.Signal(sig)); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // exited
				}
				return fmt.Errorf("tgkill(%d): %w", tid, err)
			}
			sent[tid] = true
			fresh++
		}
		if fresh == 0 {
			break
		}
		for {
			collect()
			waiting := 0
			for tid := range sent {
				if acked[tid] {
					continue
				}
				if errors.Is(unix.Tgkill(pid, tid, 0), unix.ESRCH) {
					acked[tid] = true // exited before handling the signal
					continue
				}
				waiting = tid
			}
			if waiting == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("thread %d did not run the signal handler within %v", waiting, broadcastTimeout)
			}
			// Until a thread acknowledges (or 1 ms passes, to notice
			// threads that exit without handling the signal).
			pfd := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, 1); n > 0 {
				unix.Read(efd, drain[:])
			}
		}
		if firstErr != nil {
			return firstErr
		}
	}
	for _, c := range calls {
		if err := c.do(); err != nil {
			return fmt.Errorf("thread %d: %w", self, err)
		}
	}
	return nil
}

// listThreads returns the thread ids of this process.
func listThreads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("listing threads (is /proc mounted?): %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// int80 makes the syscall trap (no arguments) through the i386 compat entry
// (int $0x80) and returns its raw result; ok is false where that cannot be
// done. Only the tests use it, to check that [Seccomp] kills a process
// using a foreign syscall ABI.
func int80(trap uintptr) (r uintptr, ok bool) {
	var cok C.int
	r = uintptr(C.confine_int80(C.long(trap), &cok))
	return r, cok != 0
}

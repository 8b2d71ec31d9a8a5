package confine

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// lockedThread is a goroutine locked to its own OS thread, running the
// functions it is given on that thread.
type lockedThread struct {
	tid  int
	work chan func()
}

func startLockedThread() *lockedThread {
	lt := &lockedThread{work: make(chan func())}
	ready := make(chan int)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread stays ours
		ready <- unix.Gettid()
		for f := range lt.work {
			f()
		}
	}()
	lt.tid = <-ready
	return lt
}

// run runs f on the thread and waits; it returns an error if f did not run
// on the expected thread.
func (lt *lockedThread) run(f func()) error {
	done := make(chan error)
	lt.work <- func() {
		if tid := unix.Gettid(); tid != lt.tid {
			done <- fmt.Errorf("ran on thread %d, want %d", tid, lt.tid)
			return
		}
		f()
		done <- nil
	}
	return <-done
}

// noNewPrivs reports the calling thread's no_new_privs flag.
func noNewPrivs() (int, error) {
	return unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
}

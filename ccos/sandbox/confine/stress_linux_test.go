package confine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["landlock-churn"] = helperLandlockChurn
}

// TestLandlockThreadChurn applies Landlock while threads are being created
// and destroyed, then checks that every thread of the process ended up with
// no_new_privs (set together with the domain on each thread, and inherited
// with it) and that the probe is denied on many threads.
func TestLandlockThreadChurn(t *testing.T) {
	requireLandlock(t, 1)
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "secret"), "secret", 0o644)
	expectHelperOK(t, "landlock-churn", map[string]string{"secret": filepath.Join(root, "secret")}, nil)
}

func helperLandlockChurn(h *helperT) {
	secret := h.args["secret"]
	var pre []*lockedThread
	for range 30 {
		pre = append(pre, startLockedThread())
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var created atomic.Int64
	var mu sync.Mutex
	var late []*lockedThread
	// Short-lived threads: a goroutine that exits while locked takes its
	// thread with it.
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				go func() {
					runtime.LockOSThread()
					unix.Nanosleep(&unix.Timespec{Nsec: 100_000}, nil)
					close(done)
				}()
				<-done
				created.Add(1)
			}
		})
	}
	// Long-lived threads started during the call, and blocking syscalls
	// that make the runtime start new Ms.
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%10 == 0 {
				lt := startLockedThread()
				mu.Lock()
				late = append(late, lt)
				mu.Unlock()
			}
			go unix.Nanosleep(&unix.Timespec{Nsec: 2_000_000}, nil)
			time.Sleep(100 * time.Microsecond)
		}
	})
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	err := Landlock(FS{ReadOnly: []string{"/proc"}}, Net{})
	took := time.Since(start)
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if !h.ok("Landlock during thread churn", err) {
		return
	}

	ents, err := os.ReadDir("/proc/self/task")
	if !h.ok("list threads", err) {
		return
	}
	bad := 0
	for _, e := range ents {
		status, err := os.ReadFile(filepath.Join("/proc/self/task", e.Name(), "status"))
		if err != nil {
			continue // exited meanwhile
		}
		if !strings.Contains(string(status), "\nNoNewPrivs:\t1\n") {
			bad++
			h.fail("thread "+e.Name(), "no_new_privs not set")
		}
	}
	if bad == 0 {
		h.printf("ok all %d threads have no_new_privs", len(ents))
	}
	h.logf("Landlock took %v with %d pre-existing locked threads, %d short-lived threads created meanwhile, %d threads at the end",
		took, len(pre), created.Load(), len(ents))
	mu.Lock()
	all := append(pre, late...)
	mu.Unlock()
	for i, lt := range all {
		err := lt.run(func() {
			_, err := os.ReadFile(secret)
			h.denied(fmt.Sprintf("thread %d: read outside", i), err, unix.EACCES)
		})
		if err != nil {
			h.fail("run", "%v", err)
		}
	}
}

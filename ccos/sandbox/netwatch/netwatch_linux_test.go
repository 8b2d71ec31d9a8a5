//go:build linux && (amd64 || arm64)

package netwatch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The tests re-execute the test binary: NETWATCH_HELPER selects what the
// child does instead of running tests.
const helperEnv = "NETWATCH_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// ---- the sandboxed side ----

// Environment of the helpers.
const (
	envAllowTCP  = "NETWATCH_ALLOW_TCP"
	envDenyTCP   = "NETWATCH_DENY_TCP"
	envAllowUnix = "NETWATCH_ALLOW_UNIX"
	envDenyUnix  = "NETWATCH_DENY_UNIX"
	envAbstract  = "NETWATCH_DENY_ABSTRACT"
	envInstall   = "NETWATCH_INSTALL"
	envN         = "NETWATCH_N"
	concurrent   = 64 // concurrent dials in the main helper (half denied)
)

func runHelper(mode string) int {
	var err error
	switch mode {
	case "main":
		err = helperMain()
	case "grandchild":
		err = helperGrandchild()
	case "script":
		err = helperScript()
	case "bench":
		err = helperBench()
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
		return 1
	}
	return 0
}

func install() error {
	return Install(os.NewFile(3, "netwatch-sock"))
}

// exchange dials network/address and checks a byte makes the round trip.
func exchange(network, address string) error {
	c, err := net.DialTimeout(network, address, 10*time.Second)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 'x' {
		return fmt.Errorf("echo over %s %s: %q, %v", network, address, b, err)
	}
	return nil
}

// refused dials network/address and checks it fails with errno want.
func refused(network, address string, want syscall.Errno) error {
	c, err := net.DialTimeout(network, address, 10*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("dial %s %s succeeded, want %v", network, address, want)
	}
	if !errors.Is(err, want) {
		return fmt.Errorf("dial %s %s: %v, want %v", network, address, err, want)
	}
	return nil
}

// taskStatus checks every thread of this process is under a seccomp
// filter with no_new_privs set.
func taskStatus() error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, task := range tasks {
		st, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			return err
		}
		s := string(st)
		if !strings.Contains(s, "\nSeccomp:\t2\n") || !strings.Contains(s, "\nNoNewPrivs:\t1\n") {
			return fmt.Errorf("thread %s not confined:\n%s", task.Name(), s)
		}
	}
	if len(tasks) < 4 {
		return fmt.Errorf("only %d threads: the TSYNC check is weak", len(tasks))
	}
	return nil
}

func helperMain() error {
	fmt.Printf("pid %d\n", os.Getpid())
	// Several threads exist before Install (some parked, locked to
	// their thread): TSYNC must cover them all.
	release := make(chan struct{})
	var parked sync.WaitGroup
	for range 4 {
		parked.Add(1)
		go func() {
			runtime.LockOSThread()
			parked.Done()
			<-release
		}()
	}
	parked.Wait()
	if err := install(); err != nil {
		return err
	}
	err := taskStatus()
	close(release)
	if err != nil {
		return err
	}
	// The listener was passed on and closed here.
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, fd := range fds {
		if l, _ := os.Readlink("/proc/self/fd/" + fd.Name()); strings.Contains(l, "seccomp") {
			return fmt.Errorf("listener still open here as fd %s", fd.Name())
		}
	}

	allowTCP, denyTCP := os.Getenv(envAllowTCP), os.Getenv(envDenyTCP)
	for _, check := range []func() error{
		func() error { return exchange("tcp", allowTCP) },
		func() error { return refused("tcp", denyTCP, syscall.EACCES) },
		func() error { return refused("unix", os.Getenv(envDenyUnix), syscall.EACCES) },
		func() error { return refused("unix", os.Getenv(envAbstract), syscall.EACCES) },
		func() error { return exchange("unix", os.Getenv(envAllowUnix)) },
		func() error {
			// io_uring could connect behind seccomp's back.
			var params [120]byte
			_, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
			if e != unix.ENOSYS {
				return fmt.Errorf("io_uring_setup: %v, want ENOSYS", e)
			}
			return nil
		},
	} {
		if err := check(); err != nil {
			return err
		}
	}

	// A program it executes inherits the filter.
	gc := exec.Command(os.Args[0], "-test.run=^$")
	gc.Env = append(os.Environ(), helperEnv+"=grandchild")
	gc.Stderr = os.Stderr
	if err := gc.Start(); err != nil {
		return err
	}
	fmt.Printf("grandchild-pid %d\n", gc.Process.Pid)
	if err := gc.Wait(); err != nil {
		return fmt.Errorf("grandchild: %w", err)
	}

	// Many concurrent connects are all answered.
	errs := make(chan error, concurrent)
	for i := range concurrent {
		go func() {
			if i%2 == 0 {
				errs <- exchange("tcp", allowTCP)
			} else {
				errs <- refused("tcp", denyTCP, syscall.EACCES)
			}
		}()
	}
	timeout := time.After(30 * time.Second)
	for range concurrent {
		select {
		case err := <-errs:
			if err != nil {
				return fmt.Errorf("concurrent: %w", err)
			}
		case <-timeout:
			return errors.New("concurrent connects not all answered")
		}
	}
	fmt.Println("ok")
	return nil
}

func helperGrandchild() error {
	if err := refused("tcp", os.Getenv(envDenyTCP), syscall.EACCES); err != nil {
		return err
	}
	return exchange("tcp", os.Getenv(envAllowTCP))
}

// helperScript installs the filter, then dials NETWATCH_DENY_TCP once per
// line of standard input naming the expected errno ("EACCES", "ENOSYS"),
// answering "done" each time.
func helperScript() error {
	if err := install(); err != nil {
		return err
	}
	fmt.Println("installed")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var want syscall.Errno
		switch in.Text() {
		case "EACCES":
			want = syscall.EACCES
		case "ENOSYS":
			want = syscall.ENOSYS
		default:
			return fmt.Errorf("bad script line %q", in.Text())
		}
		if err := refused("tcp", os.Getenv(envDenyTCP), want); err != nil {
			return err
		}
		fmt.Println("done")
	}
	return in.Err()
}

// helperBench connects a UDP socket NETWATCH_N times (a connect that
// sends nothing and needs no peer) and prints the nanoseconds it took.
func helperBench() error {
	if os.Getenv(envInstall) != "" {
		if err := install(); err != nil {
			return err
		}
	}
	n, _ := strconv.Atoi(os.Getenv(envN))
	port, _ := strconv.Atoi(os.Getenv(envDenyTCP))
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sa := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	start := time.Now()
	var failed error
	for range n {
		if err := unix.Connect(fd, sa); err != nil && failed == nil {
			failed = err
		}
	}
	elapsed := time.Since(start)
	fmt.Println(elapsed.Nanoseconds())
	if failed != nil && !errors.Is(failed, unix.EACCES) {
		return failed
	}
	return nil
}

// ---- the supervisor side ----

func requireNotify(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		tb.Skipf("seccomp user notification unavailable: %v", err)
	}
}

// sandbox is a helper child and the supervisor's end of its socket.
type sandbox struct {
	cmd    *exec.Cmd
	sock   *os.File
	stdin  io.WriteCloser
	stdout *bufio.Scanner
}

func startHelper(t testing.TB, mode string, env ...string) *sandbox {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "supervisor"), os.NewFile(uintptr(fds[1]), "sandbox")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close() // only the sandbox holds its end now
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		parent.Close()
	})
	return &sandbox{cmd: cmd, sock: parent, stdin: stdin, stdout: bufio.NewScanner(stdout)}
}

// expect reads the helper's next output line.
func (s *sandbox) expect(t testing.TB, prefix string) string {
	t.Helper()
	if !s.stdout.Scan() {
		t.Fatalf("helper output ended waiting for %q: %v", prefix, s.stdout.Err())
	}
	line := s.stdout.Text()
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("helper said %q, want %q", line, prefix)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, prefix))
}

// serveEcho accepts on l, echoing, and counts the connections.
func serveEcho(l net.Listener, accepted *atomic.Int32) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		accepted.Add(1)
		go func() {
			// Not io.Copy: it splices through pooled pipes, which
			// would look like descriptor leaks.
			defer c.Close()
			buf := make([]byte, 64)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

func listen(t *testing.T, network, address string) (net.Listener, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	go serveEcho(l, &n)
	t.Cleanup(func() { l.Close() })
	return l, &n
}

func port(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

func countFDs(t *testing.T) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestSupervise(t *testing.T) {
	requireNotify(t)
	dir := t.TempDir()
	allowTCP, allowed := listen(t, "tcp", "127.0.0.1:0")
	denyTCP, deniedTCP := listen(t, "tcp", "127.0.0.1:0")
	allowUnix, _ := listen(t, "unix", filepath.Join(dir, "proxy.sock"))
	denyUnix, deniedUnix := listen(t, "unix", filepath.Join(dir, "other.sock"))
	abstract := fmt.Sprintf("@netwatch-test-%d", os.Getpid())
	_, deniedAbstract := listen(t, "unix", abstract)

	sb := startHelper(t, "main",
		envAllowTCP+"="+allowTCP.Addr().String(), envDenyTCP+"="+denyTCP.Addr().String(),
		envAllowUnix+"="+allowUnix.Addr().String(), envDenyUnix+"="+denyUnix.Addr().String(),
		envAbstract+"="+abstract)

	var (
		mu      sync.Mutex
		decided []Addr
		denied  []Addr
	)
	decide := func(a Addr) bool {
		mu.Lock()
		decided = append(decided, a)
		mu.Unlock()
		switch a.Family {
		case "inet":
			return a.IP.Equal(net.IPv4(127, 0, 0, 1)) && a.Port == port(allowTCP)
		case "unix":
			return a.Path == allowUnix.Addr().String()
		}
		return false
	}
	onDeny := func(a Addr) {
		mu.Lock()
		denied = append(denied, a)
		mu.Unlock()
	}

	goroutines, fds := runtime.NumGoroutine(), countFDs(t)
	done := make(chan error, 1)
	go func() { done <- Supervise(context.Background(), sb.sock, decide, onDeny) }()

	pid, _ := strconv.Atoi(sb.expect(t, "pid "))
	gcPID, _ := strconv.Atoi(sb.expect(t, "grandchild-pid "))
	sb.expect(t, "ok")
	if err := sb.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if pid != sb.cmd.Process.Pid {
		t.Errorf("helper reported pid %d, started %d", pid, sb.cmd.Process.Pid)
	}
	// The filtered processes are gone (and reaped): Supervise returns.
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Supervise: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Supervise did not return after the sandbox exited")
	}

	mu.Lock()
	defer mu.Unlock()
	count := func(list []Addr, match func(Addr) bool) int {
		n := 0
		for _, a := range list {
			if match(a) {
				n++
			}
		}
		return n
	}
	isTCP := func(l net.Listener, pid int) func(Addr) bool {
		return func(a Addr) bool {
			return a.Family == "inet" && a.IP.Equal(net.IPv4(127, 0, 0, 1)) && a.Port == port(l) && a.PID == pid
		}
	}
	isUnix := func(path string) func(Addr) bool {
		return func(a Addr) bool { return a.Family == "unix" && a.Path == path && a.PID == pid }
	}
	for _, c := range []struct {
		what  string
		list  []Addr
		match func(Addr) bool
		want  int
	}{
		{"denied TCP (child)", denied, isTCP(denyTCP, pid), 1 + concurrent/2},
		{"denied TCP (grandchild)", denied, isTCP(denyTCP, gcPID), 1},
		{"denied unix path", denied, isUnix(denyUnix.Addr().String()), 1},
		{"denied abstract unix", denied, isUnix(abstract), 1},
		{"allowed TCP (child)", decided, isTCP(allowTCP, pid), 1 + concurrent/2},
		{"allowed TCP (grandchild)", decided, isTCP(allowTCP, gcPID), 1},
		{"allowed unix path", decided, isUnix(allowUnix.Addr().String()), 1},
	} {
		if got := count(c.list, c.match); got != c.want {
			t.Errorf("%s: %d notifications, want %d", c.what, got, c.want)
		}
	}
	if len(denied) != 3+concurrent/2+1 || len(decided) != len(denied)+concurrent/2+3 {
		t.Errorf("%d decided, %d denied:\ndecided: %v\ndenied: %v", len(decided), len(denied), decided, denied)
	}
	if n := deniedTCP.Load() + deniedUnix.Load() + deniedAbstract.Load(); n != 0 {
		t.Errorf("denied listeners accepted %d connections", n)
	}
	if n := allowed.Load(); n != 2+concurrent/2 {
		t.Errorf("allowed listener accepted %d connections, want %d", n, 2+concurrent/2)
	}
	checkNoLeaks(t, goroutines, fds)
}

// checkNoLeaks checks Supervise left no goroutine or descriptor behind.
func checkNoLeaks(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before Supervise:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	for countFDs(t) > fds && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := countFDs(t); n > fds {
		var links []string
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			links = append(links, e.Name()+" → "+l)
		}
		t.Errorf("%d descriptors open, %d before Supervise:\n%s", n, fds, strings.Join(links, "\n"))
	}
}

// TestFailClosed: when Supervise stops (cancelled, or decide panicked),
// connects fail with ENOSYS instead of succeeding or hanging.
func TestFailClosed(t *testing.T) {
	requireNotify(t)
	denyTCP, accepted := listen(t, "tcp", "127.0.0.1:0")
	env := envDenyTCP + "=" + denyTCP.Addr().String()

	t.Run("cancel", func(t *testing.T) {
		sb := startHelper(t, "script", env)
		var denials atomic.Int32
		goroutines, fds := runtime.NumGoroutine(), countFDs(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Supervise(ctx, sb.sock, func(Addr) bool { return false }, func(Addr) { denials.Add(1) })
		}()
		sb.expect(t, "installed")
		fmt.Fprintln(sb.stdin, "EACCES")
		sb.expect(t, "done")
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Supervise = %v, want context.Canceled", err)
		}
		checkNoLeaks(t, goroutines, fds)
		fmt.Fprintln(sb.stdin, "ENOSYS")
		sb.expect(t, "done")
		sb.stdin.Close()
		if err := sb.cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
		if denials.Load() != 1 {
			t.Errorf("onDeny called %d times, want 1", denials.Load())
		}
	})

	t.Run("panic", func(t *testing.T) {
		sb := startHelper(t, "script", env)
		var denials atomic.Int32
		done := make(chan error, 1)
		go func() {
			done <- Supervise(context.Background(), sb.sock,
				func(Addr) bool { panic("policy bug") }, func(Addr) { denials.Add(1) })
		}()
		sb.expect(t, "installed")
		fmt.Fprintln(sb.stdin, "EACCES") // the notification is still answered
		sb.expect(t, "done")
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "decide panicked") || !strings.Contains(err.Error(), "policy bug") {
				t.Fatalf("Supervise = %v, want the panic", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Supervise did not stop after decide panicked")
		}
		fmt.Fprintln(sb.stdin, "ENOSYS")
		sb.expect(t, "done")
		sb.stdin.Close()
		if err := sb.cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
		if denials.Load() != 0 {
			t.Errorf("onDeny called %d times after a panic, want 0", denials.Load())
		}
	})

	t.Run("late supervisor", func(t *testing.T) {
		// A connect made before Supervise runs waits for it.
		sb := startHelper(t, "script", env)
		sb.expect(t, "installed")
		fmt.Fprintln(sb.stdin, "EACCES")
		time.Sleep(200 * time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- Supervise(context.Background(), sb.sock, nil, nil) }()
		sb.expect(t, "done")
		sb.stdin.Close()
		if err := sb.cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Supervise: %v", err)
		}
	})

	if n := accepted.Load(); n != 0 {
		t.Errorf("the denied listener accepted %d connections", n)
	}
}

// TestSuperviseNoListener: a sandbox that exits without sending its
// listener, and a cancelled wait for it.
func TestSuperviseNoListener(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := Supervise(ctx, a, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Supervise with a silent peer = %v, want DeadlineExceeded", err)
	}
	// A descriptor that is not a seccomp listener is refused.
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if err := unix.Sendmsg(int(b.Fd()), []byte{'L'}, unix.UnixRights(int(r.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := Supervise(context.Background(), a, nil, nil); err == nil || !strings.Contains(err.Error(), "not a seccomp listener") {
		t.Errorf("Supervise with a pipe = %v", err)
	}
	b.Close()
	if err := Supervise(context.Background(), a, nil, nil); err == nil || !strings.Contains(err.Error(), "without sending") {
		t.Errorf("Supervise after EOF = %v", err)
	}
}

// BenchmarkConnect measures one connect(2) of a UDP socket in the
// sandbox, without the filter and through the supervisor. ns/connect is
// measured inside the sandbox (ns/op also counts starting it).
func BenchmarkConnect(b *testing.B) {
	requireNotify(b)
	for _, c := range []struct {
		name    string
		install bool
		allow   bool
	}{{"plain", false, false}, {"allowed", true, true}, {"denied", true, false}} {
		b.Run(c.name, func(b *testing.B) {
			env := []string{envN + "=" + strconv.Itoa(b.N), envDenyTCP + "=9"}
			if c.install {
				env = append(env, envInstall+"=1")
			}
			sb := startHelper(b, "bench", env...)
			done := make(chan error, 1)
			if c.install {
				go func() {
					done <- Supervise(context.Background(), sb.sock, func(Addr) bool { return c.allow }, nil)
				}()
			} else {
				done <- nil
			}
			ns, err := strconv.ParseFloat(sb.expect(b, ""), 64)
			if err != nil {
				b.Fatal(err)
			}
			if err := sb.cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ns/float64(b.N), "ns/connect")
		})
	}
}

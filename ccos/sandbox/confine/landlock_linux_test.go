package confine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["landlock-fs"] = helperLandlockFS
	helpers["landlock-net"] = helperLandlockNet
}

// systemReadOnly is what a worker needs read-only to exec ordinary
// dynamically linked programs (see the package documentation).
var systemReadOnly = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc/ld.so.cache"}

func requireLandlock(t *testing.T, abi int) {
	t.Helper()
	if got := LandlockABI(); got < abi {
		t.Skipf("kernel Landlock ABI is %d, need >= %d", got, abi)
	}
}

func TestLandlockABI(t *testing.T) {
	abi := LandlockABI()
	t.Logf("Landlock ABI %d, restrict_self TSYNC %v, all-thread method %q", abi, hasRestrictTSYNC(), threadSyncMethod())
	if abi < 0 {
		t.Fatalf("LandlockABI() = %d", abi)
	}
}

func TestLandlockFS(t *testing.T) {
	requireLandlock(t, 1)
	root := t.TempDir()
	a, b, o := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "o")
	for _, d := range []string{a, b, o, filepath.Join(o, "dir")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(a, "file.txt"), "hello-a", 0o644)
	mustWrite(t, filepath.Join(a, "run.sh"), "#!/bin/sh\necho ran-from-a\n", 0o755)
	mustWrite(t, filepath.Join(o, "secret.txt"), "secret", 0o644)
	outsideTmp, err := os.CreateTemp("", "confine-outside-*")
	if err != nil {
		t.Fatal(err)
	}
	outsideTmp.WriteString("outside")
	outsideTmp.Close()
	t.Cleanup(func() { os.Remove(outsideTmp.Name()) })

	expectHelperOK(t, "landlock-fs", map[string]string{"a": a, "b": b, "o": o, "tmpfile": outsideTmp.Name()}, nil)

	// Nothing outside the read-write root changed.
	if got, _ := os.ReadFile(filepath.Join(o, "secret.txt")); string(got) != "secret" {
		t.Errorf("o/secret.txt = %q after the helper", got)
	}
	if got, _ := os.ReadFile(filepath.Join(a, "file.txt")); string(got) != "hello-a" {
		t.Errorf("a/file.txt = %q after the helper", got)
	}
	if got, _ := os.ReadFile(outsideTmp.Name()); string(got) != "outside" {
		t.Errorf("outside temp file = %q after the helper", got)
	}
	for _, d := range []string{a, o, filepath.Join(o, "dir")} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			switch e.Name() {
			case "file.txt", "run.sh", "secret.txt", "dir":
			default:
				t.Errorf("unexpected %s/%s created by the confined helper", d, e.Name())
			}
		}
	}
}

func mustWrite(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func helperLandlockFS(h *helperT) {
	a, b, o := h.args["a"], h.args["b"], h.args["o"]

	// Threads that exist before Landlock is applied.
	var pre []*lockedThread
	for range 3 {
		pre = append(pre, startLockedThread())
	}
	// A thread blocked in read(2) while Landlock is applied.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		h.fail("pipe", "%v", err)
		return
	}
	blockedTid := make(chan int)
	blockedDone := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		blockedTid <- unix.Gettid()
		buf := make([]byte, 8)
		n, err := unix.Read(p[0], buf)
		if err != nil || n != 5 || string(buf[:n]) != "wake!" {
			h.fail("blocked-read", "read %q, %v (want %q)", buf[:n], err, "wake!")
		} else {
			h.printf("ok blocked-read resumed after Landlock")
		}
		landlockProbe(h, "blocked", a, b, o, false)
		close(blockedDone)
	}()
	btid := <-blockedTid
	time.Sleep(50 * time.Millisecond) // let it enter read(2)

	tids := map[int]string{unix.Gettid(): "main"}
	for i, lt := range pre {
		tids[lt.tid] = fmt.Sprintf("pre%d", i)
	}
	tids[btid] = "blocked"
	if len(tids) != len(pre)+2 {
		h.fail("distinct-threads", "threads %v are not distinct", tids)
	}

	err := Landlock(FS{
		ReadOnly:  append([]string{a, "/nonexistent-confine-test/x"}, systemReadOnly...),
		ReadWrite: []string{b, "/dev/null"},
	}, Net{})
	if !h.ok("Landlock", err) {
		return
	}
	h.logf("Landlock applied with method %q on threads %v", threadSyncMethod(), tids)

	if _, err := unix.Write(p[1], []byte("wake!")); err != nil {
		h.fail("wake", "%v", err)
	}
	landlockProbe(h, "main", a, b, o, true)
	for i, lt := range pre {
		where := fmt.Sprintf("pre%d", i)
		if err := lt.run(func() { landlockProbe(h, where, a, b, o, i == 0) }); err != nil {
			h.fail(where, "%v", err)
		}
	}
	<-blockedDone
	// A thread created after Landlock, and unlocked goroutines anywhere.
	if err := startLockedThread().run(func() { landlockProbe(h, "post", a, b, o, false) }); err != nil {
		h.fail("post", "%v", err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_, err := os.ReadFile(filepath.Join(o, "secret.txt"))
			h.denied(fmt.Sprintf("goroutine%d: read outside", i), err, unix.EACCES)
		})
	}
	wg.Wait()
	// The temp file made elsewhere by the parent.
	_, err = os.ReadFile(h.args["tmpfile"])
	h.denied("main: read temp file outside", err, unix.EACCES)
	err = os.WriteFile(h.args["tmpfile"], []byte("x"), 0o644)
	h.denied("main: write temp file outside", err, unix.EACCES)
}

// landlockProbe tries to use and to break the Landlock rules from the
// calling thread. withExec also runs programs.
func landlockProbe(h *helperT, where, a, b, o string, withExec bool) {
	n := func(s string) string { return where + ": " + s }
	if v, err := noNewPrivs(); err != nil || v != 1 {
		h.fail(n("no_new_privs"), "got %d, %v", v, err)
	} else {
		h.printf("ok %s", n("no_new_privs"))
	}

	// Read-only root: read, list, exec yes; write, create, remove no.
	data, err := os.ReadFile(filepath.Join(a, "file.txt"))
	if h.ok(n("read in A"), err) && string(data) != "hello-a" {
		h.fail(n("read in A"), "got %q", data)
	}
	_, err = os.ReadDir(a)
	h.ok(n("list A"), err)
	_, err = os.OpenFile(filepath.Join(a, "file.txt"), os.O_WRONLY, 0)
	h.denied(n("write in A"), err, unix.EACCES)
	err = os.WriteFile(filepath.Join(a, "new-"+where), []byte("x"), 0o644)
	h.denied(n("create in A"), err, unix.EACCES)
	h.denied(n("mkdir in A"), os.Mkdir(filepath.Join(a, "d-"+where), 0o755), unix.EACCES)
	h.denied(n("remove in A"), os.Remove(filepath.Join(a, "file.txt")), unix.EACCES)
	h.denied(n("truncate in A"), os.Truncate(filepath.Join(a, "file.txt"), 0), unix.EACCES)

	// Read-write root: everything.
	f := filepath.Join(b, "f-"+where)
	h.ok(n("create+write in B"), os.WriteFile(f, []byte("data-"+where), 0o644))
	data, err = os.ReadFile(f)
	if h.ok(n("read back in B"), err) && string(data) != "data-"+where {
		h.fail(n("read back in B"), "got %q", data)
	}
	h.ok(n("truncate in B"), os.Truncate(f, 2))
	d := filepath.Join(b, "d-"+where)
	h.ok(n("mkdir in B"), os.Mkdir(d, 0o755))
	h.ok(n("rename in B"), os.Rename(f, filepath.Join(d, "g")))
	h.ok(n("symlink in B"), os.Symlink("g", filepath.Join(d, "s")))
	h.ok(n("remove in B"), os.RemoveAll(d))

	// Outside both roots.
	secret := filepath.Join(o, "secret.txt")
	_, err = os.ReadFile(secret)
	h.denied(n("read outside"), err, unix.EACCES)
	_, err = os.OpenFile(secret, os.O_WRONLY, 0)
	h.denied(n("write outside"), err, unix.EACCES)
	h.denied(n("create outside"), os.WriteFile(filepath.Join(o, "new-"+where), []byte("x"), 0o644), unix.EACCES)
	_, err = os.ReadDir(o)
	h.denied(n("list outside"), err, unix.EACCES)
	h.denied(n("create in /tmp"), os.WriteFile(filepath.Join(os.TempDir(), "confine-"+where), []byte("x"), 0o644), unix.EACCES)
	if _, err := os.Lstat("/etc/shadow"); err == nil {
		_, err = os.ReadFile("/etc/shadow")
		h.denied(n("read /etc/shadow"), err, unix.EACCES)
	}

	// A symlink planted in B that points outside.
	ln := filepath.Join(b, "ln-"+where)
	h.ok(n("plant symlink in B"), os.Symlink(secret, ln))
	_, err = os.ReadFile(ln)
	h.denied(n("read via symlink"), err, unix.EACCES)
	_, err = os.OpenFile(ln, os.O_WRONLY|os.O_TRUNC, 0)
	h.denied(n("write via symlink"), err, unix.EACCES)
	lnd := filepath.Join(b, "lnd-"+where)
	h.ok(n("plant dir symlink in B"), os.Symlink(o, lnd))
	h.denied(n("create via dir symlink"), os.WriteFile(filepath.Join(lnd, "x-"+where), []byte("x"), 0o644), unix.EACCES)
	// Moving or linking files across the boundary.
	h.fails(n("hard link outside file into B"), os.Link(secret, filepath.Join(b, "hl-"+where)))
	mv := filepath.Join(b, "mv-"+where)
	h.ok(n("create file to move"), os.WriteFile(mv, []byte("x"), 0o644))
	h.fails(n("rename out of B"), os.Rename(mv, filepath.Join(o, "mv-"+where)))
	h.fails(n("rename into B from outside"), os.Rename(filepath.Join(o, "dir"), filepath.Join(b, "dir-"+where)))
	// .. escapes.
	_, err = os.ReadFile(b + "/../o/secret.txt")
	h.denied(n("read B/../o"), err, unix.EACCES)
	h.denied(n("create B/../o/x"), os.WriteFile(b+"/../o/x-"+where, []byte("x"), 0o644), unix.EACCES)
	_, err = os.ReadFile(a + "/../../" + filepath.Base(filepath.Dir(o)) + "/o/secret.txt")
	h.denied(n("read A/../../root/o"), err, unix.EACCES)
	for _, p := range []string{ln, lnd, mv} {
		os.Remove(p)
	}

	if !withExec {
		return
	}
	// Programs run: a system binary, a script in A, a script written in B.
	h.ok(n("exec /bin/true"), exec.Command("/bin/true").Run())
	out, err := exec.Command(filepath.Join(a, "run.sh")).Output()
	if h.ok(n("exec script in A"), err) && strings.TrimSpace(string(out)) != "ran-from-a" {
		h.fail(n("exec script in A"), "output %q", out)
	}
	script := filepath.Join(b, "run-"+where+".sh")
	if h.ok(n("write script in B"), os.WriteFile(script, []byte("#!/bin/sh\ncat \"$1\"\n"), 0o755)) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(script, secret)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		// The exec'd program inherits the domain: cat cannot read outside.
		if err == nil || strings.Contains(stdout.String(), "secret") {
			h.fail(n("child reads outside"), "err %v, stdout %q", err, stdout.String())
		} else {
			h.printf("ok %s (%v: %s)", n("child reads outside"), err, strings.TrimSpace(stderr.String()))
		}
		os.Remove(script)
	}
}

func TestLandlockNet(t *testing.T) {
	requireLandlock(t, 4)
	listen := func() (net.Listener, uint16) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("x"))
				c.Close()
			}
		}()
		return l, uint16(l.Addr().(*net.TCPAddr).Port)
	}
	_, p1 := listen()
	_, p2 := listen()
	expectHelperOK(t, "landlock-net", map[string]string{
		"p1": strconv.Itoa(int(p1)), "p2": strconv.Itoa(int(p2)),
	}, nil)
}

func helperLandlockNet(h *helperT) {
	p1, p2 := h.args["p1"], h.args["p2"]
	port1, _ := strconv.Atoi(p1)
	pre := startLockedThread()
	err := Landlock(FS{ReadOnly: []string{"/"}}, Net{Restrict: true, ConnectPorts: []uint16{uint16(port1)}})
	if !h.ok("Landlock", err) {
		return
	}
	probe := func(where string) {
		n := func(s string) string { return where + ": " + s }
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+p1, 5*time.Second)
		if h.ok(n("connect allowed port"), err) {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1)
			if _, err := c.Read(buf); err != nil || buf[0] != 'x' {
				h.fail(n("read from allowed port"), "%q %v", buf, err)
			}
			c.Close()
		}
		_, err = net.DialTimeout("tcp", "127.0.0.1:"+p2, 5*time.Second)
		h.denied(n("connect other port"), err, unix.EACCES)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			l.Close()
		}
		h.denied(n("bind tcp"), err, unix.EACCES)
		l, err = net.Listen("tcp", "127.0.0.1:"+p2)
		if err == nil {
			l.Close()
		}
		h.denied(n("bind tcp fixed port"), err, unix.EACCES, unix.EADDRINUSE)
		// ReadOnly "/" still means read-only.
		_, err = os.ReadFile("/etc/passwd")
		h.ok(n("read under /"), err)
		h.denied(n("write under /"), os.WriteFile(filepath.Join(os.TempDir(), "confine-net-"+where), nil, 0o644), unix.EACCES)
		// MPTCP would bypass Landlock's TCP rules: it is refused, and Go
		// falls back to (restricted) TCP.
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_MPTCP)
		if err == nil {
			unix.Close(fd)
		}
		h.denied(n("socket mptcp"), err, unix.EPROTONOSUPPORT)
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_MPTCP)
		if err == nil {
			unix.Close(fd)
		}
		h.denied(n("socket mptcp6"), err, unix.EPROTONOSUPPORT)
		fd, err = unix.Socket(unix.AF_SMC, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		h.denied(n("socket smc"), err, unix.EAFNOSUPPORT)
		var d net.Dialer
		d.SetMultipathTCP(true)
		_, err = d.Dial("tcp", "127.0.0.1:"+p2)
		h.denied(n("mptcp dial other port"), err, unix.EACCES)
		c, err = d.Dial("tcp", "127.0.0.1:"+p1)
		if h.ok(n("mptcp dial allowed port"), err) {
			c.Close()
		}
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		l, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err == nil {
			l.Close()
		}
		h.denied(n("mptcp listen"), err, unix.EACCES)
		// Plain TCP sockets still work as far as Landlock allows.
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if h.ok(n("socket tcp"), err) {
			unix.Close(fd)
		}
		// Known Landlock gap (documented on Net): listen(2) on an unbound
		// socket auto-binds an ephemeral port without a bind check.
		if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err == nil {
			h.logf("%s: listen without bind: %v", where, unix.Listen(fd, 1))
			unix.Close(fd)
		}
		// UDP is not restricted by Net.
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if h.ok(n("udp unaffected"), err) {
			u.Close()
		}
	}
	probe("main")
	if err := pre.run(func() { probe("pre") }); err != nil {
		h.fail("pre", "%v", err)
	}
}

// TestLandlockEmpty checks that rules for missing paths are skipped, that
// what is not listed is denied, and that a second call stacks.
func TestLandlockEmpty(t *testing.T) {
	requireLandlock(t, 1)
	expectHelperOK(t, "landlock-empty", nil, nil)
}

func init() {
	helpers["landlock-empty"] = func(h *helperT) {
		// Only /proc (needed by a second call in cgo binaries) and paths
		// that do not exist.
		err := Landlock(FS{
			ReadOnly:  []string{"/proc", "/nonexistent-confine-test"},
			ReadWrite: []string{"/nonexistent-confine-test/x/y"},
		}, Net{})
		if !h.ok("Landlock with only /proc and missing paths", err) {
			return
		}
		_, err = os.ReadFile("/etc/passwd")
		h.denied("read /etc/passwd", err, unix.EACCES)
		_, err = os.ReadDir("/")
		h.denied("list /", err, unix.EACCES)
		err = exec.Command("/bin/true").Run()
		h.denied("exec /bin/true", err, unix.EACCES)
		// Landlock stacks: a second call cannot widen the first.
		err = Landlock(FS{ReadOnly: []string{"/"}}, Net{})
		h.ok("second Landlock", err)
		_, err = os.ReadFile("/etc/passwd")
		h.denied("read /etc/passwd after second", err, unix.EACCES)
		_, err = os.ReadFile("/proc/self/status")
		h.ok("read /proc after second", err)
	}
}

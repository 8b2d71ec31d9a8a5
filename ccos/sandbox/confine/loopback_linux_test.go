package confine

import (
	"bytes"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["loopback"] = helperLoopback
}

func TestLoopbackUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := runHelper(t, "loopback", nil, attr)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
		t.Skipf("network namespaces unavailable: %v", err)
	}
	checkHelper(t, "loopback", out, err)
}

func loFlags() (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

func helperLoopback(h *helperT) {
	flags, err := loFlags()
	if !h.ok("read lo flags", err) {
		return
	}
	if flags&unix.IFF_UP != 0 {
		h.fail("lo down in new netns", "flags %#x", flags)
		return
	}
	h.printf("ok lo down in new netns (flags %#x)", flags)
	if ifs, err := net.Interfaces(); err == nil && len(ifs) != 1 {
		h.fail("only lo", "interfaces %v", ifs)
	}
	_, err = net.DialTimeout("tcp", "127.0.0.1:9", time.Second)
	h.fails("dial while lo is down", err)

	if !h.ok("LoopbackUp", LoopbackUp()) {
		return
	}
	flags, err = loFlags()
	if h.ok("read lo flags after", err) && flags&unix.IFF_UP == 0 {
		h.fail("lo up", "flags %#x", flags)
	} else {
		h.printf("ok lo up (flags %#x)", flags)
	}
	h.ok("LoopbackUp again (no-op)", LoopbackUp())

	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:0"
		if network == "tcp6" {
			addr = "[::1]:0"
		}
		l, err := net.Listen(network, addr)
		if !h.ok(network+" listen", err) {
			continue
		}
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Write([]byte("pong"))
				c.Close()
			}
		}()
		c, err := net.DialTimeout(network, l.Addr().String(), 5*time.Second)
		if h.ok(network+" dial", err) {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var buf bytes.Buffer
			buf.ReadFrom(c)
			if buf.String() != "pong" {
				h.fail(network+" roundtrip", "got %q", buf.String())
			} else {
				h.printf("ok %s roundtrip", network)
			}
			c.Close()
		}
		l.Close()
	}
}

//go:build linux && (amd64 || arm64)

package netwatch

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func sockaddrIn(ip net.IP, port int) []byte {
	b := make([]byte, sizeofSockaddrIn)
	binary.NativeEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	copy(b[4:], ip.To4())
	return b
}

func sockaddrIn6(ip net.IP, port int, n int) []byte {
	b := make([]byte, sizeofSockaddrIn6)
	binary.NativeEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	binary.BigEndian.PutUint32(b[4:], 0x12345) // flowinfo, ignored
	copy(b[8:], ip.To16())
	binary.NativeEndian.PutUint32(b[24:], 3) // scope id, ignored
	return b[:n]
}

// sockaddrUn lays out a sockaddr_un the way libc and Go do: addrlen
// covers the family, the path and (for a pathname) its terminating NUL.
func sockaddrUn(path string, nul bool) []byte {
	b := make([]byte, 2, 2+len(path)+1)
	binary.NativeEndian.PutUint16(b, unix.AF_UNIX)
	b = append(b, path...)
	if nul {
		b = append(b, 0)
	}
	return b
}

func TestDecodeSockaddr(t *testing.T) {
	padded := append(sockaddrUn("/run/p.sock", true), make([]byte, 20)...) // full sizeof with garbage after NUL
	padded[len(padded)-1] = 'x'
	other := make([]byte, 16)
	binary.NativeEndian.PutUint16(other, unix.AF_NETLINK)
	unspec := make([]byte, 16)
	tests := []struct {
		name string
		in   []byte
		want Addr
		bad  bool
	}{
		{"inet", sockaddrIn(net.IPv4(127, 0, 0, 1), 8080), Addr{Family: "inet", IP: net.IPv4(127, 0, 0, 1), Port: 8080}, false},
		{"inet high port", sockaddrIn(net.IPv4(10, 1, 2, 3), 65535), Addr{Family: "inet", IP: net.IPv4(10, 1, 2, 3), Port: 65535}, false},
		{"inet long", append(sockaddrIn(net.IPv4(1, 2, 3, 4), 1), 0, 0, 0, 0), Addr{Family: "inet", IP: net.IPv4(1, 2, 3, 4), Port: 1}, false},
		{"inet short", sockaddrIn(net.IPv4(127, 0, 0, 1), 80)[:15], Addr{}, true},
		{"inet6", sockaddrIn6(net.ParseIP("2001:db8::1"), 443, 28), Addr{Family: "inet6", IP: net.ParseIP("2001:db8::1"), Port: 443}, false},
		{"inet6 rfc2133", sockaddrIn6(net.IPv6loopback, 22, 24), Addr{Family: "inet6", IP: net.IPv6loopback, Port: 22}, false},
		{"inet6 mapped v4", sockaddrIn6(net.ParseIP("::ffff:127.0.0.1"), 9, 28), Addr{Family: "inet6", IP: net.IPv4(127, 0, 0, 1), Port: 9}, false},
		{"inet6 short", sockaddrIn6(net.IPv6loopback, 22, 23), Addr{}, true},
		{"unix path", sockaddrUn("/run/proxy.sock", true), Addr{Family: "unix", Path: "/run/proxy.sock"}, false},
		{"unix path no nul", sockaddrUn("/run/proxy.sock", false), Addr{Family: "unix", Path: "/run/proxy.sock"}, false},
		{"unix path garbage after nul", padded, Addr{Family: "unix", Path: "/run/p.sock"}, false},
		{"unix relative", sockaddrUn("s", true), Addr{Family: "unix", Path: "s"}, false},
		{"unix abstract", sockaddrUn("\x00ccos-proxy", false), Addr{Family: "unix", Path: "@ccos-proxy"}, false},
		{"unix abstract nuls", sockaddrUn("\x00a\x00b\x00", false), Addr{Family: "unix", Path: "@a\x00b\x00"}, false},
		{"unix abstract empty", sockaddrUn("\x00", false), Addr{Family: "unix", Path: "@"}, false},
		{"unix unnamed", sockaddrUn("", false), Addr{}, true},
		{"unix too long", sockaddrUn(string(make([]byte, 109)), false), Addr{}, true},
		{"unix max", sockaddrUn("/"+string(make([]byte, 107)), false), Addr{Family: "unix", Path: "/"}, false},
		{"other", other, Addr{Family: "other(16)"}, false},
		{"unspec", unspec, Addr{Family: "other(0)"}, false},
		{"empty", nil, Addr{}, true},
		{"one byte", []byte{1}, Addr{}, true},
		{"too long", append(sockaddrIn(net.IPv4(1, 1, 1, 1), 1), make([]byte, 120)...), Addr{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSockaddr(tt.in)
			if tt.bad {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("decodeSockaddr = %v, %v; want errMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeSockaddr: %v", err)
			}
			if got.Family != tt.want.Family || got.Path != tt.want.Path || got.Port != tt.want.Port ||
				!(got.IP == nil && tt.want.IP == nil || got.IP.Equal(tt.want.IP)) {
				t.Errorf("decodeSockaddr = %+v, want %+v", got, tt.want)
			}
			if got.Family == "inet" && len(got.IP) != net.IPv4len || got.Family == "inet6" && len(got.IP) != net.IPv6len {
				t.Errorf("IP length %d for %s", len(got.IP), got.Family)
			}
		})
	}
}

func TestAddrString(t *testing.T) {
	tests := []struct {
		a    Addr
		want string
	}{
		{Addr{Family: "inet", IP: net.IPv4(127, 0, 0, 1).To4(), Port: 80, PID: 7}, "inet 127.0.0.1:80 pid=7"},
		{Addr{Family: "inet6", IP: net.IPv6loopback, Port: 443, PID: 1}, "inet6 [::1]:443 pid=1"},
		{Addr{Family: "unix", Path: "/run/proxy.sock", PID: 3}, "unix /run/proxy.sock pid=3"},
		{Addr{Family: "unix", Path: "@ab\x00c", PID: 3}, `unix "@ab\x00c" pid=3`},
		{Addr{Family: "unix", Path: "/a b"}, `unix "/a b" pid=0`},
		{Addr{Family: "other(16)", PID: 2}, "other(16) pid=2"},
		{Addr{Family: "invalid", PID: 2}, "invalid pid=2"},
		{Addr{}, "unknown pid=0"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

// fakeMem is target memory for decodeConnect: addr → bytes.
type fakeMem map[int64][]byte

func (m fakeMem) ReadAt(p []byte, off int64) (int, error) {
	for base, b := range m {
		if off >= base && off+int64(len(p)) <= base+int64(len(b)) {
			return copy(p, b[off-base:]), nil
		}
	}
	return 0, unix.EIO
}

func TestDecodeConnect(t *testing.T) {
	sa := sockaddrIn(net.IPv4(127, 0, 0, 1), 9000)
	mem := fakeMem{0x1000: sa}
	d := &seccompData{Nr: int32(nativeABI.connect), Arch: nativeABI.audit, Args: [6]uint64{5, 0x1000, uint64(len(sa))}}
	a, err := decodeConnect(d, mem)
	if err != nil || a.Port != 9000 || a.Family != "inet" {
		t.Fatalf("native connect: %+v, %v", a, err)
	}
	// connect takes an int addrlen: garbage in the upper half of the
	// register is ignored, as the kernel does.
	d.Args[2] |= 0xdead_0000_0000
	if a, err = decodeConnect(d, mem); err != nil || a.Port != 9000 {
		t.Fatalf("addrlen with upper bits: %+v, %v", a, err)
	}
	for _, c := range []struct {
		name string
		args [6]uint64
	}{
		{"null pointer", [6]uint64{5, 0, 16}},
		{"unmapped", [6]uint64{5, 0x2000, 16}},
		{"past the mapping", [6]uint64{5, 0x1000, 17}},
		{"negative length", [6]uint64{5, 0x1000, 0xffffffff}},
		{"oversized length", [6]uint64{5, 0x1000, 129}},
		{"kernel address", [6]uint64{5, 0xffff_8000_0000_0000, 16}},
	} {
		d.Args = c.args
		if a, err := decodeConnect(d, mem); err == nil {
			t.Errorf("%s: decoded %+v, want an error", c.name, a)
		}
	}
	if compatABI == nil || compatABI.socketcall < 0 {
		return
	}
	// i386 socketcall(SYS_CONNECT, args): args points to fd, addr, len.
	words := make([]byte, 12)
	binary.LittleEndian.PutUint32(words[0:], 5)
	binary.LittleEndian.PutUint32(words[4:], 0x1000)
	binary.LittleEndian.PutUint32(words[8:], uint32(len(sa)))
	mem[0x3000] = words
	d = &seccompData{Nr: int32(compatABI.socketcall), Arch: compatABI.audit, Args: [6]uint64{sysConnect, 0x3000}}
	if a, err := decodeConnect(d, mem); err != nil || a.Port != 9000 {
		t.Fatalf("socketcall connect: %+v, %v", a, err)
	}
	// i386 connect(2) itself has the native layout.
	d = &seccompData{Nr: int32(compatABI.connect), Arch: compatABI.audit, Args: [6]uint64{5, 0x1000, uint64(len(sa))}}
	if a, err := decodeConnect(d, mem); err != nil || a.Port != 9000 {
		t.Fatalf("compat connect: %+v, %v", a, err)
	}
}

// TestFilter runs the seccomp program in x/net/bpf's VM. The VM loads
// words big-endian where the kernel loads seccomp_data natively, so the
// input encodes each 32-bit field big-endian: the same values reach A.
func TestFilter(t *testing.T) {
	vm, err := bpf.NewVM(filter())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sockFprog(filter()); err != nil {
		t.Fatal(err)
	}
	run := func(arch uint32, nr uint32, arg0 uint32) uint32 {
		in := make([]byte, 64)
		binary.BigEndian.PutUint32(in[offNr:], nr)
		binary.BigEndian.PutUint32(in[offArch:], arch)
		binary.BigEndian.PutUint32(in[offArg0:], arg0)
		r, err := vm.Run(in)
		if err != nil {
			t.Fatalf("run(%#x, %d): %v", arch, nr, err)
		}
		return uint32(r)
	}
	const (
		notify = unix.SECCOMP_RET_USER_NOTIF
		allow  = unix.SECCOMP_RET_ALLOW
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		kill   = unix.SECCOMP_RET_KILL_PROCESS
	)
	type filterCase struct {
		name       string
		arch, nr   uint32
		arg0, want uint32
	}
	n := nativeABI
	cases := []filterCase{
		{"native connect", n.audit, n.connect, 0, notify},
		{"native io_uring_setup", n.audit, n.ioUringSetup, 0, enosys},
		{"native read", n.audit, 0, 0, allow},
		{"native socket", n.audit, n.connect - 1, 0, allow},
		{"native accept", n.audit, n.connect + 1, 0, allow},
		{"unknown arch", 0x1234, n.connect, 0, kill},
	}
	if n.nrMask != 0 {
		x32 := ^n.nrMask
		cases = append(cases,
			filterCase{"x32 connect", n.audit, n.connect | x32, 0, notify},
			filterCase{"x32 io_uring_setup", n.audit, n.ioUringSetup | x32, 0, enosys})
	}
	if c := compatABI; c != nil {
		cases = append(cases, []filterCase{
			{"compat connect", c.audit, c.connect, 0, notify},
			{"compat io_uring_setup", c.audit, c.ioUringSetup, 0, enosys},
			{"compat other", c.audit, n.connect, 0, allow},
		}...)
		if c.socketcall >= 0 {
			cases = append(cases, []filterCase{
				{"socketcall connect", c.audit, uint32(c.socketcall), sysConnect, notify},
				{"socketcall socket", c.audit, uint32(c.socketcall), 1, allow},
				{"socketcall sendto", c.audit, uint32(c.socketcall), 11, allow},
			}...)
		}
	}
	for _, c := range cases {
		if got := run(c.arch, c.nr, c.arg0); got != c.want {
			t.Errorf("%s: filter returned %#x, want %#x", c.name, got, c.want)
		}
	}
}

func TestTgid(t *testing.T) {
	// Two goroutines locked to two threads: at least one is not the
	// thread group leader.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c <- unix.Gettid()
	}()
	pid, tid := os.Getpid(), <-c
	if tid == pid {
		tid = unix.Gettid()
	}
	if tid == pid {
		t.Fatal("no thread but the leader")
	}
	if v, err := pidfdTgid(tid); err != nil {
		t.Logf("PIDFD_GET_INFO unavailable (%v): the fallback is used", err)
	} else if v != pid {
		t.Errorf("pidfdTgid(%d) = %d, want %d", tid, v, pid)
	}
	if v := statusTgid(tid); v != pid {
		t.Errorf("statusTgid(%d) = %d, want %d", tid, v, pid)
	}
	if v := tgid(tid); v != pid {
		t.Errorf("tgid(%d) = %d, want %d", tid, v, pid)
	}
	if v := tgid(pid); v != pid {
		t.Errorf("tgid(%d) = %d for the leader", pid, v)
	}
}

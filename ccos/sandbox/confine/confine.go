// Package confine holds the Linux confinement primitives that a sandbox
// worker process applies to itself just before it runs untrusted capability
// code (CCOS spec §5, "Enforcement", provider "process"):
//
//   - [Landlock]: filesystem access limited to read-only and read-write
//     roots, and (Landlock ABI >= 4) TCP bind denied and TCP connect limited
//     to a set of ports. It also sets no_new_privs.
//   - [Seccomp]: a seccomp-BPF filter that makes the syscalls a capability
//     never needs (ptrace, mount, module loading, kexec, keyrings, bpf,
//     namespaces, raw and packet sockets, ...) fail with EPERM and kills the
//     process on a foreign syscall ABI.
//   - [LoopbackUp]: brings "lo" up inside a fresh network namespace.
//
// Every confinement is irreversible and applies to the whole process: all
// its threads, and every process it starts afterwards. Children started
// before the call are not affected, so a worker applies these before it
// starts anything else.
//
// # Threads
//
// Go programs are multi-threaded and both Landlock and no_new_privs are
// per-thread attributes in the kernel. [Seccomp] uses
// SECCOMP_FILTER_FLAG_TSYNC, which the kernel applies (with no_new_privs) to
// every thread atomically. For [Landlock] the package picks, in order:
//
//  1. LANDLOCK_RESTRICT_SELF_TSYNC when the kernel knows it (Landlock ABI 8,
//     Linux 7.0): the kernel applies one domain to all threads.
//  2. Otherwise, in a binary built without cgo, [syscall.AllThreadsSyscall6]
//     runs prctl(PR_SET_NO_NEW_PRIVS) and landlock_restrict_self on every
//     thread (the Go runtime stops the world and signals each M).
//  3. Otherwise (cgo binaries, where AllThreadsSyscall returns ENOTSUP — the
//     ccos binary links SQLite through cgo), a small C signal handler does
//     the same: it is installed for one real-time signal (SIGRTMAX-3; the
//     previous handler is put back afterwards and gets any instance of the
//     signal not sent by this package), every thread listed in
//     /proc/self/task is sent that signal with tgkill and runs the two
//     syscalls in its handler, and the listing is repeated until a pass
//     finds no thread that has not acknowledged (threads created meanwhile
//     by a restricted thread inherit the domain; those created by a not yet
//     restricted one show up in the next pass). The calling thread restricts
//     itself last. This needs /proc mounted. It is the approach of the psx
//     library used by github.com/landlock-lsm/go-landlock.
//
// In cases 2 and 3 each thread gets its own (identical) Landlock domain;
// that is why [Landlock] does not set Landlock's signal and abstract-socket
// scopes (sibling domains would be scoped from each other); a worker relies
// on its PID and network namespaces for that isolation instead.
//
// # What a worker must allow
//
// Landlock denies everything that is not listed, including files the Go
// runtime or an exec'd program open later:
//
//   - To exec dynamically linked programs: the program and its directory,
//     the loader and shared libraries, and the loader cache, e.g. ReadOnly
//     "/usr", "/bin", "/sbin", "/lib", "/lib64" (links on merged-/usr
//     systems are followed) and "/etc/ld.so.cache". Execute is part of the
//     read-only rights.
//   - os/exec opens /dev/null for a nil Stdin (read) and nil Stdout/Stderr
//     (write): put "/dev/null" in ReadWrite (a single file is fine).
//   - Go code itself needs nothing after start-up, except for what the
//     standard library reads lazily: /etc/localtime and /usr/share/zoneinfo
//     (time.Local), /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf
//     (name resolution), /etc/ssl/certs (TLS roots), /etc/passwd and
//     /etc/group (os/user), /proc/self (some programs), /tmp or $TMPDIR
//     (os.CreateTemp; ReadWrite).
//   - Unix sockets (the egress proxy): connecting to a socket file is not
//     restricted by Landlock before LANDLOCK_ACCESS_FS_RESOLVE_UNIX; on
//     kernels that know that right it is granted under ReadWrite roots only,
//     so keep the proxy socket in (or be) a ReadWrite path.
package confine

import "errors"

// ErrUnsupported is returned (possibly wrapped) when the running kernel or
// operating system lacks the requested confinement.
var ErrUnsupported = errors.New("confine: not supported on this system")

// FS describes filesystem access after Landlock: everything else is denied.
//
// Paths are resolved when [Landlock] is called (symbolic links in them are
// followed) and the rule covers the whole tree below a directory. Paths that
// do not exist are skipped.
type FS struct {
	// ReadOnly paths (directories or files) are readable and executable:
	// programs and shared libraries under them can run.
	ReadOnly []string
	// ReadWrite paths are readable, executable and writable: files and
	// directories can be created, removed, renamed, linked and truncated
	// inside them (and device ioctls are allowed).
	ReadWrite []string
}

// Net describes TCP access after Landlock (ABI >= 4).
type Net struct {
	// Restrict denies TCP bind and allows TCP connect only to
	// ConnectPorts. On a kernel with Landlock ABI < 4 it is dropped (best
	// effort); callers that depend on it check [LandlockABI] >= 4.
	// UDP and other protocols are not affected. MPTCP and SMC sockets,
	// which Landlock does not see, cannot be created (see [Landlock]).
	// Landlock checks bind(2) but not listen(2): listening on a socket
	// that was never bound still auto-binds an ephemeral port (the
	// worker's own network namespace keeps that port unreachable from
	// outside).
	Restrict bool
	// ConnectPorts are the TCP ports that connect(2) may reach (on any
	// address) when Restrict is set.
	ConnectPorts []uint16
}

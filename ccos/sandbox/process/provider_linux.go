//go:build linux

package process

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/ccos/sandbox/cgroup"
	"github.com/ccos-go/ccos/ccos/sandbox/confine"
	"github.com/ccos-go/ccos/ccos/sandbox/egress"
	"github.com/ccos-go/ccos/ccos/sandbox/netwatch"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/value"
)

// DefaultPids bounds the processes of one call (a fork bomb stops there).
const DefaultPids = 64

// Provider is the process sandbox provider; NewBwrap makes one that
// starts the worker under bubblewrap instead of creating the namespaces
// itself.
type Provider struct {
	exe     string
	bwrap   string // path of bwrap, for the bwrap provider
	runsc   string // path of runsc, for the gvisor provider
	cgroups *cgroup.Manager
	tmp     string
	unavail error

	versionOnce sync.Once
	version     string

	// cleanups counts calls still being cleaned up in the background;
	// Close waits for them (a process that exits mid-kill would leave a
	// frozen cgroup behind).
	cleanups sync.WaitGroup

	poolOnce sync.Once
	pool     chan *worker
	poolMu   sync.Mutex // serialises refills and Close
	closed   bool
}

// NewBwrap returns the bwrap provider: the same worker, started by
// bubblewrap (namespaces, a minimal mount tree with only the profile's
// roots bound in, a fresh /proc and /dev), confined again with Landlock
// and seccomp inside, in the same per-call cgroup.
func NewBwrap(exe string) *Provider {
	path, err := exec.LookPath("bwrap")
	if err != nil {
		return &Provider{exe: exe, unavail: errors.New("bubblewrap (bwrap) is not installed")}
	}
	p := New(exe)
	p.bwrap = path
	return p
}

// New returns the provider that runs workers from the ccos binary exe
// (os.Executable() in production). A provider that cannot work here is
// still returned; Available says why.
func New(exe string) *Provider {
	p := &Provider{exe: exe}
	switch {
	case os.Geteuid() != 0:
		p.unavail = errors.New("the process sandbox needs root (namespaces and cgroups)")
	case confine.LandlockABI() < 1:
		p.unavail = errors.New("the kernel has no Landlock")
	case netwatch.Available() != nil:
		p.unavail = fmt.Errorf("seccomp user notification: %w", netwatch.Available())
	default:
		m, err := cgroup.New("ccos")
		if err != nil {
			p.unavail = fmt.Errorf("cgroups: %w", err)
		} else {
			// Clean up after ccos processes that died mid-call.
			m.Sweep()
		}
		p.cgroups = m
	}
	if p.unavail == nil {
		dir, err := os.MkdirTemp("", "ccos-sandbox-")
		if err != nil {
			p.unavail = err
		}
		p.tmp = dir
	}
	return p
}

// Name implements sandbox.Provider.
func (p *Provider) Name() string {
	switch {
	case p.bwrap != "":
		return "bwrap"
	case p.runsc != "":
		return "gvisor"
	}
	return "process"
}

// Version reports the provider's version for the record: the kernel's
// Landlock ABI and the cgroup version (and bwrap's version).
func (p *Provider) Version() string {
	p.versionOnce.Do(func() { p.version = p.findVersion() })
	return p.version
}

func (p *Provider) findVersion() string {
	v := fmt.Sprintf("landlock-abi-%d", confine.LandlockABI())
	if p.cgroups != nil {
		v += fmt.Sprintf(" cgroup-v%d", p.cgroups.Version())
	}
	if p.bwrap != "" {
		if out, err := exec.Command(p.bwrap, "--version").Output(); err == nil {
			v += " " + strings.TrimSpace(string(out))
		}
	}
	if p.runsc != "" {
		if out, err := exec.Command(p.runsc, "--version").Output(); err == nil {
			v = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
	}
	return v
}

// Available implements sandbox.Provider.
func (p *Provider) Available() error { return p.unavail }

// Close stops the pre-started workers and removes the provider's
// temporary directory.
func (p *Provider) Close() error {
	p.cleanups.Wait()
	p.poolMu.Lock()
	p.closed = true
	p.poolMu.Unlock()
	if p.pool != nil {
	drain:
		for {
			select {
			case w := <-p.pool:
				w.release()
			default:
				break drain
			}
		}
	}
	if p.tmp != "" {
		return os.RemoveAll(p.tmp)
	}
	return nil
}

func randomName() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// systemReadOnly is what a worker that runs programs must read (and
// execute): binaries, shared libraries, the loader's cache.
var systemReadOnly = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"}

// tlsReadOnly is what TLS through the proxy needs (root certificates).
var tlsReadOnly = []string{"/etc/ssl", "/usr/share/ca-certificates", "/etc/pki", "/etc/ca-certificates"}

// Run implements sandbox.Provider.
func (p *Provider) Run(ctx context.Context, sreq *sandbox.Request, prof *profile.StepProfile) (value.Value, sandbox.Usage, error) {
	if p.unavail != nil {
		return nil, sandbox.Usage{}, value.NewError(value.ErrSecurity, "process sandbox unavailable: %v", p.unavail)
	}
	c := sreq.Capability
	req, err := p.request(sreq, prof)
	if err != nil {
		return nil, sandbox.Usage{}, err
	}
	timeout := prof.Limits.MaxExecutionTime
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	req.Timeout = timeout

	limits := cgroup.Limits{MemoryBytes: prof.Limits.MaxMemoryBytes, CPUs: prof.Limits.MaxCPUUsage, Pids: p.pidsLimit()}
	w, err := p.worker(req)
	if err != nil {
		return nil, sandbox.Usage{}, value.NewError(value.ErrSecurity, "sandbox: %v", err)
	}
	cmd, g := w.cmd, w.g
	if err := g.Update(limits); err != nil {
		w.release()
		return nil, sandbox.Usage{}, value.NewError(value.ErrSecurity, "sandbox: cgroup limits: %v", err)
	}
	if prof.MicroVM.Network.Kind != profile.NetDenied {
		sock := filepath.Join(w.dir, "egress.sock")
		px, err := egress.Start(ctx, sock, egress.Options{Policy: egressPolicy(prof.MicroVM.Network), OnDeny: func(d egress.Denial) {
			if sreq.Violation != nil {
				sreq.Violation(&security.Violation{Kind: "host", Subject: fmt.Sprintf("%s:%d", d.Host, d.Port), Reason: "egress proxy: " + d.Reason})
			}
		}})
		if err != nil {
			w.release()
			return nil, sandbox.Usage{}, value.NewError(value.ErrSecurity, "sandbox: egress proxy: %v", err)
		}
		defer px.Close()
		req.ProxySocket = sock
	}
	// Every connect in the sandbox comes to us: only the egress proxy's
	// socket and, for programs, the forwarder in front of it are allowed.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go netwatch.Supervise(watchCtx, w.watch, func(a netwatch.Addr) bool {
		return allowedConnect(a, req.ProxySocket)
	}, func(a netwatch.Addr) {
		if sreq.Violation != nil {
			sreq.Violation(&security.Violation{Kind: "network", Subject: a.String(), Reason: "connect outside the egress proxy refused by the sandbox"})
		}
	})
	start := time.Now()
	// The worker reads the request only now that it is in its cgroup
	// with the call's limits.
	json.NewEncoder(w.reqW).Encode(req)
	w.reqW.Close()
	respR, stderr := w.respR, w.stderr

	type result struct {
		resp response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		if r.err = w.awaitReady(0); r.err == nil {
			r.err = json.NewDecoder(respR).Decode(&r.resp)
		}
		done <- r
	}()
	var res result
	timedOut := false
	timer := time.NewTimer(timeout + 250*time.Millisecond) // the worker's own deadline comes first
	select {
	case res = <-done:
	case <-timer.C:
		timedOut = true
	case <-ctx.Done():
		timedOut = true
	}
	timer.Stop()
	wall := time.Since(start)
	if !timedOut && res.err == nil {
		// Answered: measure, and leave killing the worker's tree and
		// removing its cgroup to release (in the background).
		u, _ := g.Usage()
		p.background(w)
		return p.finish(sreq, prof, res.resp, sandbox.Usage{Wall: wall, CPU: u.CPU, PeakMemoryBytes: u.PeakMemoryBytes}, u, stderr)
	}
	// The worker is PID 1 of its namespace: killing it kills every
	// process it started; the cgroup kill catches anything that raced.
	cmd.Process.Kill()
	g.Kill()
	cmd.Wait()
	respR.Close()
	u, _ := g.Usage()
	defer p.background(w)
	usage := sandbox.Usage{Wall: wall, CPU: u.CPU, PeakMemoryBytes: u.PeakMemoryBytes}

	violation := func(kind, subject, reason string) {
		if sreq.Violation != nil {
			sreq.Violation(&security.Violation{Kind: kind, Subject: subject, Reason: reason})
		}
	}
	switch {
	case u.OOMKilled:
		violation("limit", c.ID, fmt.Sprintf("memory limit of %d bytes reached", prof.Limits.MaxMemoryBytes))
		return nil, usage, value.NewError(value.ErrResource, "%s was killed at its memory limit (%d bytes)", c.ID, prof.Limits.MaxMemoryBytes)
	case timedOut:
		violation("limit", c.ID, fmt.Sprintf("deadline of %v reached", timeout))
		return nil, usage, value.NewError(value.ErrTimeout, "%s was killed at its deadline (%v)", c.ID, timeout)
	case res.err != nil:
		if u.PidsLimitHit {
			violation("limit", c.ID, fmt.Sprintf("process limit of %d reached", DefaultPids))
		}
		return nil, usage, value.NewError(value.ErrCapability, "%s: the sandbox worker died without an answer: %s", c.ID, firstLine(stderr.String()))
	}
	return p.finish(sreq, prof, res.resp, usage, u, stderr)
}

// finish turns the worker's response into the call's result.
func (p *Provider) finish(sreq *sandbox.Request, prof *profile.StepProfile, r response, usage sandbox.Usage, u cgroup.Usage, stderr *bytes.Buffer) (value.Value, sandbox.Usage, error) {
	c := sreq.Capability
	violation := func(kind, subject, reason string) {
		if sreq.Violation != nil {
			sreq.Violation(&security.Violation{Kind: kind, Subject: subject, Reason: reason})
		}
	}
	if u.PidsLimitHit {
		violation("limit", c.ID, fmt.Sprintf("process limit of %d reached", DefaultPids))
	}
	if u.OOMKilled {
		// A program the call ran was killed at the memory limit.
		violation("limit", c.ID, fmt.Sprintf("memory limit of %d bytes reached", prof.Limits.MaxMemoryBytes))
		return nil, usage, value.NewError(value.ErrResource, "%s: a process was killed at the memory limit (%d bytes)", c.ID, prof.Limits.MaxMemoryBytes)
	}
	if r.Err != nil {
		e := &value.Error{Type: value.Keyword(r.Err.Type), Message: r.Err.Message}
		if len(r.Err.Data) > 0 {
			e.Data, _ = model.DecodeValue(r.Err.Data)
		}
		if r.Denied != "" {
			violation("sandbox", c.ID, r.Denied)
		}
		return nil, usage, e
	}
	v, err := model.DecodeValue(r.Value)
	if err != nil {
		return nil, usage, value.NewError(value.ErrCapability, "%s: undecodable result from the sandbox: %v", c.ID, err)
	}
	return v, usage, nil
}

// worker is a started sandbox worker waiting for its request, in its own
// cgroup.
type worker struct {
	cmd    *exec.Cmd
	g      *cgroup.Group
	reqW   *os.File
	respR  *os.File
	watch  *os.File // our end of the socket the seccomp listener arrives on
	stderr *bytes.Buffer
	dir    string // private directory for this worker's proxy socket
	// gvisorID is the gVisor container to delete afterwards.
	gvisorID string
	p        *Provider
	// ready is set once the worker's ready byte was read.
	ready bool
}

// readyTimeout bounds the wait for a pooled worker to become ready.
const readyTimeout = 30 * time.Second

// awaitReady reads the worker's ready byte (once), waiting at most timeout
// (0: no limit).
func (w *worker) awaitReady(timeout time.Duration) error {
	if w.ready {
		return nil
	}
	if timeout > 0 {
		w.respR.SetReadDeadline(time.Now().Add(timeout))
		defer w.respR.SetReadDeadline(time.Time{})
	}
	var b [1]byte
	if _, err := io.ReadFull(w.respR, b[:]); err != nil {
		return fmt.Errorf("waiting for the worker to be ready: %w", err)
	}
	if b[0] != readyByte {
		return fmt.Errorf("the worker sent %q instead of its ready byte", b[0])
	}
	w.ready = true
	return nil
}

// release kills what is left of the worker and removes its cgroup and
// directory.
func (w *worker) release() {
	if w.cmd.ProcessState == nil {
		if w.gvisorID != "" {
			// Let runsc stop its sandbox and reap its own processes.
			w.p.gvisorDelete(w.gvisorID)
		}
		w.cmd.Process.Kill()
		w.cmd.Wait()
		w.g.Kill()
	}
	w.reqW.Close()
	w.respR.Close()
	w.watch.Close()
	if w.gvisorID != "" {
		w.p.gvisorDelete(w.gvisorID)
	}
	w.g.Remove()
	os.RemoveAll(w.dir)
}

// pidsLimit is the cgroup's task limit. gVisor runs the sandboxed
// processes as goroutines of its own kernel (limited inside by
// RLIMIT_NPROC), but its own threads count here.
func (p *Provider) pidsLimit() int64 {
	if p.runsc != "" {
		return gvisorHostTasks
	}
	return DefaultPids
}

// idleLimits hold a pre-started worker until a call gives it its own.
var idleLimits = cgroup.Limits{MemoryBytes: 128 << 20, CPUs: 1, Pids: DefaultPids}

// poolSize is how many process workers wait, started, for calls: starting
// the ccos binary in new namespaces takes several milliseconds, most of a
// call's latency.
const poolSize = 2

// worker returns a started worker for req: a pre-started one when the
// provider keeps a pool (the process provider, whose workers do not
// depend on the call until they read the request), else a new one.
func (p *Provider) worker(req *request) (*worker, error) {
	if p.bwrap != "" || p.runsc != "" {
		return p.spawn(req)
	}
	p.poolOnce.Do(func() { p.pool = make(chan *worker, poolSize) })
	select {
	case w := <-p.pool:
		return w, nil
	default:
	}
	return p.spawn(req)
}

// background cleans up after a call without delaying its result.
func (p *Provider) background(w *worker) {
	p.cleanups.Add(1)
	go func() {
		defer p.cleanups.Done()
		p.afterCall(w)
	}()
}

// afterCall cleans up after a call and starts a worker to replace the one
// it used (after the call, so that starting it does not compete with the
// call for the CPU).
func (p *Provider) afterCall(w *worker) {
	w.release()
	if p.bwrap == "" && p.runsc == "" {
		p.refill()
	}
}

// refill starts a worker for the pool, unless the pool is full or the
// provider closed.
func (p *Provider) refill() {
	p.poolMu.Lock()
	defer p.poolMu.Unlock()
	if p.closed || len(p.pool) == cap(p.pool) {
		return
	}
	w, err := p.spawn(&request{})
	if err != nil {
		return
	}
	// Only a worker that has finished starting is offered to calls.
	if err := w.awaitReady(readyTimeout); err != nil {
		w.release()
		return
	}
	p.pool <- w
}

// spawn starts a worker in a new cgroup with idle limits.
func (p *Provider) spawn(req *request) (*worker, error) {
	name := randomName()
	dir := filepath.Join(p.tmp, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	idle := idleLimits
	idle.Pids = p.pidsLimit()
	g, err := p.cgroups.Create(name, idle)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		g.Remove()
		os.RemoveAll(dir)
		return nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		g.Remove()
		os.RemoveAll(dir)
		return nil, err
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		g.Remove()
		os.RemoveAll(dir)
		return nil, err
	}
	watch, watchChild := os.NewFile(uintptr(fds[0]), "watch"), os.NewFile(uintptr(fds[1]), "watch-child")
	w := &worker{g: g, reqW: reqW, respR: respR, watch: watch, stderr: &bytes.Buffer{}, dir: dir, p: p}
	cmd, err := p.command(req, dir, name)
	if err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		watch.Close()
		watchChild.Close()
		g.Remove()
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Env = []string{}
	cmd.Dir = "/"
	if p.runsc != "" {
		// gVisor passes only standard I/O into the sandbox.
		cmd.Stdin, cmd.Stdout = reqR, respW
		w.gvisorID = name
	} else {
		cmd.ExtraFiles = []*os.File{reqR, respW, watchChild}
	}
	cmd.Stderr = &limitedBuffer{b: w.stderr, max: 64 << 10}
	w.cmd = cmd
	err = g.Start(cmd)
	reqR.Close()
	respW.Close()
	watchChild.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		watch.Close()
		g.Remove()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the worker: %w", err)
	}
	return w, nil
}

// command is the worker's command: the ccos binary in new namespaces, or
// under bubblewrap.
func (p *Provider) command(req *request, dir, name string) (*exec.Cmd, error) {
	if p.runsc != "" {
		return p.gvisorCommand(req, dir, name)
	}
	if p.bwrap == "" {
		cmd := exec.Command(p.exe, WorkerArg)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
			Pdeathsig:  syscall.SIGKILL,
		}
		return cmd, nil
	}
	args := []string{"--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
		"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", p.exe, p.exe}
	type bind struct {
		path string
		rw   bool
	}
	var binds []bind
	// The worker itself is linked against the C library: the system
	// libraries are bound whatever the profile says (Landlock inside
	// still limits the call to the profile's roots).
	for _, r := range append(append([]string(nil), systemReadOnly...), req.ReadOnly...) {
		binds = append(binds, bind{r, false})
	}
	for _, w := range req.ReadWrite {
		binds = append(binds, bind{w, true})
	}
	binds = append(binds, bind{dir, true}) // the proxy socket's directory
	// Parents before children, so that a child's bind is not hidden.
	sort.SliceStable(binds, func(i, j int) bool { return len(binds[i].path) < len(binds[j].path) })
	for _, b := range binds {
		if b.path == "/dev" || strings.HasPrefix(b.path, "/dev/") || b.path == "/proc" || strings.HasPrefix(b.path, "/proc/") {
			continue // bwrap provides them
		}
		flag := "--ro-bind-try"
		if b.rw {
			flag = "--bind-try"
		}
		args = append(args, flag, b.path, b.path)
	}
	args = append(args, "--", p.exe, WorkerArg, preparedArg)
	cmd := exec.Command(p.bwrap, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd, nil
}

// request builds the worker's request from the call and the profile.
func (p *Provider) request(sreq *sandbox.Request, prof *profile.StepProfile) (*request, error) {
	c := sreq.Capability
	args, err := model.EncodeValue(value.NewVector(sreq.Args...))
	if err != nil {
		return nil, value.NewError(value.ErrCapability, "sandbox: encoding arguments: %v", err)
	}
	req := &request{Capability: c.ID, Args: args, Sandboxed: prof.Isolation == security.Sandboxed}
	// An exec-class call may run programs: they need the system's binaries
	// and libraries, /dev/null and a PATH.
	runsPrograms := prof.Flags.SyscallFilter || c.Effects.Exec
	if c.Provenance.Source != "builtin" {
		req.Manifest = value.Repr(c.Manifest.ToValue())
	}
	fsp := prof.MicroVM.FS
	switch fsp.Kind {
	case profile.FSFull:
		req.ReadWrite = []string{"/"}
	default:
		req.ReadOnly = append(req.ReadOnly, fsp.Read...)
		req.ReadWrite = append(req.ReadWrite, fsp.Write...)
	}
	if runsPrograms {
		req.ReadOnly = append(req.ReadOnly, systemReadOnly...)
		req.ReadWrite = append(req.ReadWrite, "/dev/null")
		// The programs the call runs must be readable and executable.
		if c.Program != nil {
			req.ReadOnly = append(req.ReadOnly, c.Program.Path)
		}
		if c.TargetsOf != nil {
			if t, err := c.TargetsOf(sreq.Args); err == nil {
				for _, prog := range t.Programs {
					if filepath.IsAbs(prog) {
						req.ReadOnly = append(req.ReadOnly, prog)
					}
				}
			}
		}
	}
	if prof.MicroVM.Network.Kind != profile.NetDenied {
		req.ReadOnly = append(req.ReadOnly, tlsReadOnly...)
	}
	getenv := os.Getenv
	if sreq.Env != nil && sreq.Env.Getenv != nil {
		getenv = sreq.Env.Getenv
	}
	req.Env = map[string]string{}
	for _, name := range prof.MicroVM.EnvVars {
		if name == "*" {
			for _, kv := range os.Environ() {
				if k, v, ok := strings.Cut(kv, "="); ok {
					req.Env[k] = v
				}
			}
			continue
		}
		if v := getenv(name); v != "" {
			req.Env[name] = v
		}
	}
	if runsPrograms {
		if _, ok := req.Env["PATH"]; !ok {
			req.Env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
		}
	}
	// Landlock can only name what exists: a file the call will create
	// is granted through its nearest existing directory. (The capability
	// boundary has already limited the call to the path itself.)
	for i, w := range req.ReadWrite {
		req.ReadWrite[i] = existingAncestor(w)
	}
	sort.Strings(req.ReadOnly)
	sort.Strings(req.ReadWrite)
	req.ReadWrite = slices.Compact(req.ReadWrite)
	return req, nil
}

// allowedConnect is the sandbox's connect policy: the egress proxy's Unix
// socket, and TCP to the forwarder on the sandbox's own loopback, when
// the call may use the network; a disconnect (AF_UNSPEC) always.
func allowedConnect(a netwatch.Addr, proxySocket string) bool {
	switch a.Family {
	case "other(0)":
		return true
	case "unix":
		return proxySocket != "" && a.Path == proxySocket
	case "inet", "inet6":
		return proxySocket != "" && a.IP.IsLoopback() && fmt.Sprintf("127.0.0.1:%d", a.Port) == forwarderAddr
	}
	return false
}

func existingAncestor(p string) string {
	for {
		if _, err := os.Lstat(p); err == nil || p == "/" || p == "." {
			return p
		}
		p = filepath.Dir(p)
	}
}

// egressPolicy is what the egress proxy lets through for a network policy.
func egressPolicy(n profile.NetworkPolicy) egress.Policy {
	switch n.Kind {
	case profile.NetAllowList:
		return egress.Policy{Allow: n.Hosts}
	case profile.NetDenyList:
		return egress.Policy{Allow: []string{"*"}, Deny: n.Hosts}
	case profile.NetFull:
		return egress.Policy{Allow: []string{"*"}}
	}
	return egress.Policy{}
}

// firstLine is the first line of a worker's error output.
func firstLine(s string) string {
	if s == "" {
		return "(no output)"
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

var _ sandbox.Provider = (*Provider)(nil)

// warmUp starts the pool's workers and waits until they are ready (for
// benchmarks and for callers that know calls are coming).
func (p *Provider) warmUp() {
	// Cleanups of earlier calls refill the pool themselves: wait for
	// them, so that no worker is still starting when this returns.
	p.cleanups.Wait()
	p.poolOnce.Do(func() { p.pool = make(chan *worker, poolSize) })
	for i := 0; i < poolSize; i++ {
		p.refill()
	}
}

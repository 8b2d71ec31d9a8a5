//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// cpuPeriodUs is the CFS period written with every CPU limit.
	cpuPeriodUs = 100000
	// minCPUQuotaUs is the smallest quota the kernel accepts (1 ms).
	minCPUQuotaUs = 1000
	// killTimeout bounds Kill.
	killTimeout = 5 * time.Second
	// freezeTimeout bounds the wait for a group to report itself frozen.
	freezeTimeout = 500 * time.Millisecond
	// rmdirTimeout bounds the retries of rmdir on EBUSY in Remove.
	rmdirTimeout = 2 * time.Second
	// peakSampleEvery is the period of the memory.current sampler used
	// where v2 lacks memory.peak.
	peakSampleEvery = 10 * time.Millisecond
)

// Manager creates groups under a parent directory in every hierarchy it
// needs. It is safe for concurrent use.
type Manager struct {
	version int
	parent  string // the parent as given, cleaned
	// v2: the mount, the parent directory and the controllers enabled
	// below it.
	v2Mount     string
	v2Parent    string
	controllers []string
	// v1: controller -> parent directory in its hierarchy.
	v1Parent map[string]string
	// intoCgroup reports that clone3 with CLONE_INTO_CGROUP is usable.
	intoCgroup bool
	mu         sync.Mutex // serializes setup after New
}

// New detects the cgroup layout, creates the parent directory (for example
// "ccos", or a relative path such as "ccos/test") at the root of each
// hierarchy it needs and, in cgroup v2, enables the memory, cpu and pids
// controllers for it. It returns an error wrapping ErrUnsupported naming
// what is missing when cgroups cannot be used (no suitable layout, or no
// permission to create the parent or enable the controllers).
func New(parent string) (*Manager, error) {
	return newManager(parent, v2Needed)
}

// newManager is New with the v2 controllers to require and enable; the
// tests pass none to exercise the v2 code on a v2 mount without them.
func newManager(parent string, need2 []string) (*Manager, error) {
	parent, err := cleanParent(parent)
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("%w: reading the mounts: %w", ErrUnsupported, err)
	}
	mounts, err := parseMountinfo(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: reading the mounts: %w", ErrUnsupported, err)
	}
	lay, err := detect(mounts, need2)
	if err != nil {
		return nil, err
	}
	if lay.version == 2 {
		return newV2(lay.v2Mount, parent, need2)
	}
	return newV1(lay.v1, parent)
}

// newV2 prepares the parent under a cgroup2 mount.
func newV2(mount, parent string, controllers []string) (*Manager, error) {
	m := &Manager{version: 2, parent: parent, v2Mount: mount, controllers: controllers, intoCgroup: kernelAtLeast(5, 7)}
	m.v2Parent = filepath.Join(mount, parent)
	if err := m.setup(true); err != nil {
		return nil, err
	}
	return m, nil
}

// setup creates the parent directories (again, if someone removed them) and
// in v2 enables the controllers along the way. Only the initial call may
// drop the optional freezer.
func (m *Manager) setup(initial bool) error {
	if m.version == 1 {
		for c, dir := range m.v1Parent {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				if c == "freezer" && initial {
					delete(m.v1Parent, c) // optional
					continue
				}
				return wrapSetup(err)
			}
		}
		return nil
	}
	dir := m.v2Mount
	if err := enableControllers(dir, m.controllers); err != nil {
		return err
	}
	for _, elem := range strings.Split(m.parent, "/") {
		dir = filepath.Join(dir, elem)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return wrapSetup(err)
		}
		if err := enableControllers(dir, m.controllers); err != nil {
			return err
		}
	}
	return nil
}

// enableControllers makes sure every controller is in dir's
// cgroup.subtree_control, so the directories below dir get it.
func enableControllers(dir string, controllers []string) error {
	if len(controllers) == 0 {
		return nil
	}
	file := filepath.Join(dir, "cgroup.subtree_control")
	enabled := func() map[string]bool {
		on := map[string]bool{}
		if b, err := os.ReadFile(file); err == nil {
			for _, c := range strings.Fields(string(b)) {
				on[c] = true
			}
		}
		return on
	}
	on := enabled()
	for _, c := range controllers {
		if on[c] {
			continue
		}
		if err := writeFile(file, "+"+c); err != nil {
			// Someone else may have enabled it meanwhile.
			if enabled()[c] {
				continue
			}
			return fmt.Errorf("%w: cannot enable the cgroup v2 %s controller in %s: %w", ErrUnsupported, c, file, err)
		}
	}
	return nil
}

// newV1 prepares the parent in every v1 hierarchy.
func newV1(mounts map[string]string, parent string) (*Manager, error) {
	m := &Manager{version: 1, parent: parent, v1Parent: map[string]string{}}
	for c, mount := range mounts {
		m.v1Parent[c] = filepath.Join(mount, parent)
	}
	if err := m.setup(true); err != nil {
		return nil, err
	}
	return m, nil
}

// wrapSetup marks permission problems while creating directories as
// ErrUnsupported: a caller falls back the same way as without cgroups.
func wrapSetup(err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return fmt.Errorf("cgroup: %w", err)
}

// cleanParent validates the parent: a relative path without "..".
func cleanParent(parent string) (string, error) {
	p := path.Clean(strings.TrimSpace(parent))
	if p == "." || p == "" || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("cgroup: invalid parent %q: want a relative path such as \"ccos\"", parent)
	}
	return p, nil
}

// validName reports whether name can be one directory of its own.
func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00\n") {
		return fmt.Errorf("cgroup: invalid group name %q", name)
	}
	// Names of v1 and v2 interface files start with a controller name and
	// a dot; refuse anything that could collide with them.
	if i := strings.IndexByte(name, '.'); i > 0 {
		switch name[:i] {
		case "cgroup", "memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "io", "blkio", "devices", "hugetlb", "rdma", "misc", "net_cls", "net_prio", "perf_event":
			return fmt.Errorf("cgroup: invalid group name %q: it looks like a control file", name)
		}
	}
	return nil
}

// kernelAtLeast compares the running kernel's release with major.minor.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// Version returns 1 or 2, the cgroup version in use.
func (m *Manager) Version() int { return m.version }

// Close removes the parent directories when no group is left in them;
// directories that still hold groups (of this manager or of another one)
// are left in place. Groups themselves are not touched.
func (m *Manager) Close() error {
	var dirs []string
	if m.version == 2 {
		dirs = []string{m.v2Parent}
	} else {
		for _, d := range m.v1Parent {
			dirs = append(dirs, d)
		}
	}
	var errs []error
	for _, d := range dirs {
		err := unix.Rmdir(d)
		if err != nil && err != unix.ENOENT && err != unix.EBUSY && err != unix.ENOTEMPTY {
			errs = append(errs, fmt.Errorf("cgroup: removing %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// Create makes the group name below the parent and writes its limits, before
// any process can join it. name must be unique among the live groups of the
// parent (one per call); an existing group of that name is an error.
func (m *Manager) Create(name string, l Limits) (*Group, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if l.MemoryBytes < 0 || l.Pids < 0 || l.CPUs < 0 || math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0) {
		return nil, fmt.Errorf("cgroup: invalid limits %+v", l)
	}
	g := &Group{m: m, name: name, fd: -1}
	if m.version == 2 {
		dir := filepath.Join(m.v2Parent, name)
		g.dirs = []string{dir}
		g.memDir, g.cpuDir, g.acctDir, g.pidsDir, g.freezerDir = dir, dir, dir, dir, dir
	} else {
		// The order of Add: pids first so that forks are counted at once.
		seen := map[string]bool{}
		for _, c := range []string{"pids", "freezer", "memory", "cpu", "cpuacct"} {
			p, ok := m.v1Parent[c]
			if !ok {
				continue
			}
			dir := filepath.Join(p, name)
			switch c {
			case "pids":
				g.pidsDir = dir
			case "freezer":
				g.freezerDir = dir
			case "memory":
				g.memDir = dir
			case "cpu":
				g.cpuDir = dir
			case "cpuacct":
				g.acctDir = dir
			}
			if !seen[dir] {
				seen[dir] = true
				g.dirs = append(g.dirs, dir)
			}
		}
	}
	var made []string
	undo := func() {
		for i := len(made) - 1; i >= 0; i-- {
			unix.Rmdir(made[i])
		}
	}
	for _, dir := range g.dirs {
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, fs.ErrNotExist) {
			// The parent went away (Close of another manager): again.
			m.mu.Lock()
			err = m.setup(false)
			m.mu.Unlock()
			if err == nil {
				err = os.Mkdir(dir, 0o755)
			}
		}
		if err != nil {
			undo()
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("cgroup: group %q already exists (%s)", name, dir)
			}
			return nil, wrapSetup(err)
		}
		made = append(made, dir)
	}
	if err := g.applyLimits(l); err != nil {
		undo()
		return nil, err
	}
	g.limits = l
	g.openUsageFiles()
	if m.version == 2 {
		fd, err := unix.Open(g.dirs[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			undo()
			return nil, fmt.Errorf("cgroup: opening %s: %w", g.dirs[0], err)
		}
		g.fd = fd
		if !exists(filepath.Join(g.memDir, "memory.peak")) && exists(filepath.Join(g.memDir, "memory.current")) {
			g.startSampler()
		}
	}
	return g, nil
}

// applyLimits writes l into the group's files.
func (g *Group) applyLimits(l Limits) error {
	v2 := g.m.version == 2
	if l.MemoryBytes > 0 {
		v := strconv.FormatInt(l.MemoryBytes, 10)
		if v2 {
			if err := writeFile(filepath.Join(g.memDir, "memory.max"), v); err != nil {
				return limitErr("memory", err)
			}
			if f := filepath.Join(g.memDir, "memory.swap.max"); exists(f) {
				if err := writeFile(f, "0"); err != nil {
					return limitErr("memory", err)
				}
			}
		} else {
			if err := writeFile(filepath.Join(g.memDir, "memory.limit_in_bytes"), v); err != nil {
				return limitErr("memory", err)
			}
			// memsw must be at least limit_in_bytes, hence second.
			if f := filepath.Join(g.memDir, "memory.memsw.limit_in_bytes"); exists(f) {
				if err := writeFile(f, v); err != nil {
					return limitErr("memory", err)
				}
			}
		}
	}
	if l.CPUs > 0 {
		quota := int64(math.Round(l.CPUs * cpuPeriodUs))
		if quota < minCPUQuotaUs {
			quota = minCPUQuotaUs
		}
		if v2 {
			if err := writeFile(filepath.Join(g.cpuDir, "cpu.max"), fmt.Sprintf("%d %d", quota, cpuPeriodUs)); err != nil {
				return limitErr("cpu", err)
			}
		} else {
			if err := writeFile(filepath.Join(g.cpuDir, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriodUs)); err != nil {
				return limitErr("cpu", err)
			}
			if err := writeFile(filepath.Join(g.cpuDir, "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10)); err != nil {
				return limitErr("cpu", err)
			}
		}
	}
	if l.Pids > 0 {
		if err := writeFile(filepath.Join(g.pidsDir, "pids.max"), strconv.FormatInt(l.Pids, 10)); err != nil {
			return limitErr("pids", err)
		}
	}
	return nil
}

func limitErr(what string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no %s controller for the limit: %w", ErrUnsupported, what, err)
	}
	return fmt.Errorf("cgroup: setting the %s limit: %w", what, err)
}

// Group is the control group of one call. Its methods are safe for
// concurrent use.
type Group struct {
	m    *Manager
	name string
	// dirs are the group's directories, in the order Add joins them: one
	// in v2, one per distinct hierarchy in v1.
	dirs []string
	// The directory holding each controller's files (all equal in v2).
	memDir, cpuDir, acctDir, pidsDir, freezerDir string

	mu      sync.Mutex
	fd      int // v2 directory fd, -1 when closed or in v1
	removed bool
	final   Usage // measured just before the directories were removed

	peak       atomic.Int64 // sampled memory.current (v2 without memory.peak)
	sampling   bool
	stopSample chan struct{}
	sampleDone chan struct{}
	noKillFile atomic.Bool // v2 kernel without cgroup.kill

	// limits are the limits last written (guarded by mu; a zero field:
	// unknown, written again by the next Update that sets it).
	limits Limits
	// usageFiles are the usage files, opened when the group was made
	// and read with pread(2), so that measuring is a few reads (guarded
	// by mu; closed by Remove).
	usageFiles map[string]*os.File
}

// openUsageFiles opens the files measure reads (those that exist).
func (g *Group) openUsageFiles() {
	var files []string
	if g.m.version == 2 {
		files = []string{filepath.Join(g.memDir, "memory.peak"), filepath.Join(g.cpuDir, "cpu.stat"), filepath.Join(g.memDir, "memory.events")}
	} else {
		files = []string{filepath.Join(g.memDir, "memory.max_usage_in_bytes"), filepath.Join(g.acctDir, "cpuacct.usage"), filepath.Join(g.memDir, "memory.oom_control")}
	}
	files = append(files, filepath.Join(g.pidsDir, "pids.events"))
	g.usageFiles = map[string]*os.File{}
	for _, f := range files {
		if fh, err := os.Open(f); err == nil {
			g.usageFiles[f] = fh
		}
	}
}

// closeUsageFiles closes the files opened by openUsageFiles; g.mu must be
// held.
func (g *Group) closeUsageFiles() {
	for _, f := range g.usageFiles {
		f.Close()
	}
	g.usageFiles = nil
}

// readUsageFile reads a control file: through its open descriptor when
// openUsageFiles opened it, else by name.
func (g *Group) readUsageFile(file string) ([]byte, error) {
	g.mu.Lock()
	f := g.usageFiles[file]
	if f == nil {
		g.mu.Unlock()
		return os.ReadFile(file)
	}
	// Read under mu: Remove closes the files under mu too.
	defer g.mu.Unlock()
	var buf [512]byte
	b := buf[:]
	n := 0
	for {
		m, err := f.ReadAt(b[n:], int64(n))
		n += m
		if err == io.EOF || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n == len(b) {
			b = append(b, make([]byte, len(b))...)
		}
	}
	return b[:n], nil
}

// Name returns the name the group was created with.
func (g *Group) Name() string { return g.name }

// CgroupFD returns a file descriptor of the group's v2 directory, for
// syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}: the child is then
// created directly inside the group. ok is false in v1, on kernels before
// 5.7 (no CLONE_INTO_CGROUP) and after Remove. The descriptor belongs to the
// group and is closed by Remove; do not close it.
func (g *Group) CgroupFD() (fd int, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m.version != 2 || !g.m.intoCgroup || g.fd < 0 || g.removed {
		return -1, false
	}
	return g.fd, true
}

// Add moves the process pid (all its threads) into the group, in every
// hierarchy. Processes it forks afterwards are born in the group. The
// calling process itself cannot be added: Kill would kill it.
func (g *Group) Add(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup: invalid pid %d", pid)
	}
	if pid == os.Getpid() {
		return fmt.Errorf("cgroup: refusing to add the calling process (pid %d) to group %q", pid, g.name)
	}
	g.mu.Lock()
	removed := g.removed
	g.mu.Unlock()
	if removed {
		return fmt.Errorf("cgroup: group %q was removed", g.name)
	}
	for _, dir := range g.dirs {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroup: adding pid %d to %s: %w", pid, dir, err)
		}
	}
	return nil
}

// Procs returns the pids of the processes in the group (the memory
// hierarchy's cgroup.procs in v1), sorted. Zombies are not listed.
func (g *Group) Procs() ([]int, error) {
	g.mu.Lock()
	removed := g.removed
	g.mu.Unlock()
	if removed {
		return nil, nil
	}
	return readProcs(filepath.Join(g.memDir, "cgroup.procs"))
}

// allProcs is the union of cgroup.procs over every directory: a process
// whose Add failed half way is still found and killed.
func (g *Group) allProcs() ([]int, error) {
	set := map[int]bool{}
	for _, dir := range g.dirs {
		pids, err := readProcs(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, p := range pids {
			set[p] = true
		}
	}
	out := make([]int, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Ints(out)
	return out, nil
}

// Usage returns what the group measured so far (after Remove, what it had
// measured just before its directories were deleted).
func (g *Group) Usage() (Usage, error) {
	g.mu.Lock()
	if g.removed {
		u := g.final
		g.mu.Unlock()
		return u, nil
	}
	g.mu.Unlock()
	return g.measure()
}

// measure reads the usage files. Missing files leave their fields zero.
func (g *Group) measure() (Usage, error) {
	var u Usage
	var errs []error
	keep := func(err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if g.m.version == 2 {
		if n, err := g.readUsageInt(filepath.Join(g.memDir, "memory.peak")); err == nil {
			u.PeakMemoryBytes = n
		} else if errors.Is(err, fs.ErrNotExist) {
			if cur, err := readInt(filepath.Join(g.memDir, "memory.current")); err == nil {
				g.notePeak(cur)
			} else {
				keep(err)
			}
			u.PeakMemoryBytes = g.peak.Load()
		} else {
			keep(err)
		}
		if kv, err := g.readUsageKeyed(filepath.Join(g.cpuDir, "cpu.stat")); err == nil {
			u.CPU = time.Duration(kv["usage_usec"]) * time.Microsecond
		} else {
			keep(err)
		}
		if kv, err := g.readUsageKeyed(filepath.Join(g.memDir, "memory.events")); err == nil {
			u.OOMKilled = kv["oom_kill"] > 0
		} else {
			keep(err)
		}
	} else {
		if n, err := g.readUsageInt(filepath.Join(g.memDir, "memory.max_usage_in_bytes")); err == nil {
			u.PeakMemoryBytes = n
		} else {
			keep(err)
		}
		if n, err := g.readUsageInt(filepath.Join(g.acctDir, "cpuacct.usage")); err == nil {
			u.CPU = time.Duration(n)
		} else {
			keep(err)
		}
		if kv, err := g.readUsageKeyed(filepath.Join(g.memDir, "memory.oom_control")); err == nil {
			if n, ok := kv["oom_kill"]; ok {
				u.OOMKilled = n > 0
			} else if fc, err := readInt(filepath.Join(g.memDir, "memory.failcnt")); err == nil {
				// Kernels before 4.13 do not count OOM kills.
				u.OOMKilled = fc > 0
			}
		} else {
			keep(err)
		}
	}
	if kv, err := g.readUsageKeyed(filepath.Join(g.pidsDir, "pids.events")); err == nil {
		u.PidsLimitHit = kv["max"] > 0
	} else {
		keep(err)
	}
	return u, errors.Join(errs...)
}

func (g *Group) notePeak(v int64) {
	for {
		old := g.peak.Load()
		if v <= old || g.peak.CompareAndSwap(old, v) {
			return
		}
	}
}

// startSampler samples memory.current until Remove, for kernels without
// memory.peak.
func (g *Group) startSampler() {
	g.sampling = true
	g.stopSample = make(chan struct{})
	g.sampleDone = make(chan struct{})
	file := filepath.Join(g.memDir, "memory.current")
	go func() {
		defer close(g.sampleDone)
		t := time.NewTicker(peakSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-g.stopSample:
				return
			case <-t.C:
				if v, err := readInt(file); err == nil {
					g.notePeak(v)
				}
			}
		}
	}()
}

// Kill sends SIGKILL to every process in the group, repeating until the
// group is empty, for at most a few seconds. In v2 it writes cgroup.kill
// when the kernel has it (5.14+), which kills forks racing it too;
// otherwise (and in v1) it freezes the group when a freezer is available,
// kills what is in it and thaws it, so a fork bomb cannot outrun it.
// Zombies (killed children not yet reaped by their parent) do not count as
// processes in the group.
func (g *Group) Kill() error {
	g.mu.Lock()
	removed := g.removed
	g.mu.Unlock()
	if removed {
		return nil
	}
	deadline := time.Now().Add(killTimeout)
	delay := time.Millisecond
	for {
		pids, err := g.allProcs()
		if err != nil {
			return fmt.Errorf("cgroup: listing group %q: %w", g.name, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup: group %q still holds %d processes after %v: %v", g.name, len(pids), killTimeout, pids)
		}
		if g.m.version == 2 && !g.noKillFile.Load() {
			err := writeFile(filepath.Join(g.dirs[0], "cgroup.kill"), "1")
			if err != nil {
				g.noKillFile.Store(true)
				g.freezeAndKill()
			}
		} else {
			g.freezeAndKill()
		}
		time.Sleep(delay)
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// freezeAndKill freezes the group (when it can), kills every process in it
// and thaws it: frozen tasks cannot fork, and die once thawed.
func (g *Group) freezeAndKill() {
	thaw := g.freeze()
	pids, _ := g.allProcs()
	self := os.Getpid()
	for _, p := range pids {
		if p != self {
			unix.Kill(p, unix.SIGKILL)
		}
	}
	thaw()
}

// freeze freezes the group and waits (boundedly) for it to be frozen. It
// returns the function that thaws it; without a freezer both do nothing.
func (g *Group) freeze() (thaw func()) {
	nothing := func() {}
	var file, on, off string
	var frozen func() bool
	if g.m.version == 2 {
		file, on, off = filepath.Join(g.dirs[0], "cgroup.freeze"), "1", "0"
		frozen = func() bool {
			kv, err := readKeyed(filepath.Join(g.dirs[0], "cgroup.events"))
			return err != nil || kv["frozen"] == 1
		}
	} else {
		if g.freezerDir == "" {
			return nothing
		}
		file, on, off = filepath.Join(g.freezerDir, "freezer.state"), "FROZEN", "THAWED"
		frozen = func() bool {
			s, err := readString(file)
			return err != nil || s == "FROZEN"
		}
	}
	if err := writeFile(file, on); err != nil {
		return nothing
	}
	thaw = func() { writeFile(file, off) }
	deadline := time.Now().Add(freezeTimeout)
	for !frozen() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return thaw
}

// Remove kills what is left in the group, records its final usage and
// deletes its directories. Calling it again after success does nothing.
func (g *Group) Remove() error {
	g.mu.Lock()
	if g.removed {
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	killErr := g.Kill()
	final, _ := g.measure()

	var errs []error
	if killErr != nil {
		errs = append(errs, killErr)
	}
	for i := len(g.dirs) - 1; i >= 0; i-- {
		if err := rmdirRetry(g.dirs[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if g.removed {
		return nil
	}
	g.removed = true
	g.final = final
	g.closeUsageFiles()
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
	if g.sampling {
		close(g.stopSample)
		<-g.sampleDone
		g.sampling = false
	}
	return nil
}

// rmdirRetry removes a cgroup directory, retrying while the kernel still
// reports it busy (tasks that were just killed are released shortly after
// they exit).
func rmdirRetry(dir string) error {
	deadline := time.Now().Add(rmdirTimeout)
	for {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || time.Now().After(deadline) {
			return fmt.Errorf("cgroup: removing %s: %w", dir, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeFile writes s to an existing control file in one write.
func writeFile(file, s string) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", s, file, err)
	}
	return nil
}

func exists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}

func readString(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (g *Group) readUsageInt(file string) (int64, error) {
	b, err := g.readUsageFile(file)
	if err != nil {
		return 0, err
	}
	return parseInt(file, strings.TrimSpace(string(b)))
}

func (g *Group) readUsageKeyed(file string) (map[string]int64, error) {
	b, err := g.readUsageFile(file)
	if err != nil {
		return nil, err
	}
	return parseKeyed(b), nil
}

// readInt reads a control file holding one integer ("max" reads as
// math.MaxInt64).
func readInt(file string) (int64, error) {
	s, err := readString(file)
	if err != nil {
		return 0, err
	}
	return parseInt(file, s)
}

func parseInt(file, s string) (int64, error) {
	if s == "max" {
		return math.MaxInt64, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", file, err)
	}
	return n, nil
}

// readKeyed reads a flat keyed file of "key value" lines.
func readKeyed(file string) (map[string]int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseKeyed(b), nil
}

// parseKeyed parses "key value" lines.
func parseKeyed(b []byte) map[string]int64 {
	kv := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			kv[f[0]] = n
		}
	}
	return kv
}

// readProcs reads a cgroup.procs file.
func readProcs(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// Update changes the group's limits, for a group created ahead of its use
// (a pre-started worker waits in it with small limits until a call gives
// it the call's limits). Raising and lowering both work: in cgroup v1 the
// memory+swap limit may never be below the memory limit, so it is written
// on both sides of it.
//
// Limits equal to those last written are not written again.
func (g *Group) Update(l Limits) error {
	g.mu.Lock()
	cur := g.limits
	g.limits = Limits{} // unknown until written
	g.mu.Unlock()
	next := cur
	if l.MemoryBytes > 0 {
		next.MemoryBytes = l.MemoryBytes
	}
	if l.CPUs > 0 {
		next.CPUs = l.CPUs
	}
	if l.Pids > 0 {
		next.Pids = l.Pids
	}
	if l.MemoryBytes == cur.MemoryBytes {
		l.MemoryBytes = 0
	}
	if l.CPUs == cur.CPUs {
		l.CPUs = 0
	}
	if l.Pids == cur.Pids {
		l.Pids = 0
	}
	if err := g.update(l); err != nil {
		return err
	}
	g.mu.Lock()
	g.limits = next
	g.mu.Unlock()
	return nil
}

func (g *Group) update(l Limits) error {
	if g.m.version == 1 && l.MemoryBytes > 0 {
		if f := filepath.Join(g.memDir, "memory.memsw.limit_in_bytes"); exists(f) {
			_ = writeFile(f, strconv.FormatInt(l.MemoryBytes, 10)) // may fail when lowering; written again below
		}
	}
	return g.applyLimits(l)
}

// Sweep cleans up after processes that died while managing groups under
// the parent: it thaws groups left frozen (a kill interrupted between
// freezing and thawing leaves their processes stopped for ever) and
// removes the groups that hold no process. Groups of live managers are
// only ever empty or being killed, so sweeping cannot disturb them.
func (m *Manager) Sweep() {
	var parents []string
	if m.version == 2 {
		parents = []string{m.v2Parent}
	} else {
		for _, p := range m.v1Parent {
			parents = append(parents, p)
		}
	}
	for _, parent := range parents {
		ents, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(parent, e.Name())
			if b, err := os.ReadFile(filepath.Join(dir, "freezer.state")); err == nil && strings.TrimSpace(string(b)) == "FROZEN" {
				_ = writeFile(filepath.Join(dir, "freezer.state"), "THAWED")
			}
			if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(b))) == 0 {
				_ = os.Remove(dir)
			}
		}
	}
}

//go:build linux

package process

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
)

// NewGVisor returns the gvisor provider: the same worker, run inside a
// gVisor sandbox (runsc with the ptrace platform, no network but the
// egress proxy's Unix socket) whose filesystem holds only the ccos
// binary, the system libraries it needs and the profile's roots, in the
// same per-call cgroup. gVisor's kernel implements neither Landlock nor
// seccomp user notification: inside it the worker relies on gVisor.
func NewGVisor(exe string) *Provider {
	path, err := exec.LookPath("runsc")
	if err != nil {
		return &Provider{exe: exe, unavail: errors.New("gVisor (runsc) is not installed")}
	}
	p := New(exe)
	p.runsc = path
	if p.unavail == nil {
		if err := os.MkdirAll(filepath.Join(p.tmp, "rootfs"), 0o755); err != nil {
			p.unavail = err
		}
	}
	return p
}

// gvisorHostTasks bounds the host tasks (threads) of one gVisor sandbox:
// runsc, its sentry and its gofer.
const gvisorHostTasks = 1024

// gvisorArg tells the worker it runs inside gVisor: request and response
// on standard input and output, no Landlock or seccomp of its own.
const gvisorArg = "gvisor"

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options,omitempty"`
}

// gvisorCommand writes the call's OCI bundle and returns runsc running it.
func (p *Provider) gvisorCommand(req *request, dir, name string) (*exec.Cmd, error) {
	bundle := filepath.Join(dir, "bundle")
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return nil, err
	}
	mounts := []ociMount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		{Destination: p.exe, Type: "bind", Source: p.exe, Options: []string{"rbind", "ro"}},
		{Destination: dir, Type: "bind", Source: dir, Options: []string{"rbind", "rw"}},
	}
	type bind struct {
		path string
		rw   bool
	}
	// The worker is linked against the C library: it needs the system
	// libraries whatever the profile says.
	var binds []bind
	for _, r := range append(append([]string(nil), systemReadOnly...), req.ReadOnly...) {
		binds = append(binds, bind{r, false})
	}
	for _, w := range req.ReadWrite {
		binds = append(binds, bind{w, true})
	}
	sort.SliceStable(binds, func(i, j int) bool { return len(binds[i].path) < len(binds[j].path) })
	seen := map[string]bool{}
	for _, b := range binds {
		if seen[b.path] || b.path == "/" || b.path == "/dev" || filepath.Dir(b.path) == "/dev" || b.path == "/proc" {
			continue
		}
		if _, err := os.Stat(b.path); err != nil {
			continue
		}
		seen[b.path] = true
		opt := "ro"
		if b.rw {
			opt = "rw"
		}
		mounts = append(mounts, ociMount{Destination: b.path, Type: "bind", Source: b.path, Options: []string{"rbind", opt}})
	}
	spec := map[string]any{
		"ociVersion": "1.0.0",
		"process": map[string]any{
			"terminal": false, "user": map[string]int{"uid": 0, "gid": 0},
			"args": []string{p.exe, WorkerArg, gvisorArg}, "env": []string{}, "cwd": "/", "noNewPrivileges": true,
			// Processes inside are limited by gVisor's kernel.
			"rlimits": []map[string]any{{"type": "RLIMIT_NPROC", "hard": DefaultPids, "soft": DefaultPids}},
		},
		"root":   map[string]any{"path": filepath.Join(p.tmp, "rootfs"), "readonly": true},
		"mounts": mounts,
		"linux": map[string]any{"namespaces": []map[string]string{
			{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
		}},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(p.runsc, "--root", filepath.Join(p.tmp, "state"), "--platform=ptrace", "--network=none",
		"--host-uds=open", "--ignore-cgroups", "run", "--bundle", bundle, name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd, nil
}

// gvisorDelete removes a finished container's state.
func (p *Provider) gvisorDelete(id string) {
	exec.Command(p.runsc, "--root", filepath.Join(p.tmp, "state"), "delete", "--force", id).Run()
}

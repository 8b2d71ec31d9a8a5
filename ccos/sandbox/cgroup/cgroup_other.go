//go:build !linux

package cgroup

import (
	"fmt"
	"os/exec"
	"runtime"
)

// Manager creates groups under a parent; cgroups exist only on Linux.
type Manager struct{}

// New always fails with ErrUnsupported outside Linux.
func New(parent string) (*Manager, error) {
	return nil, fmt.Errorf("%w: cgroups need Linux, this is %s", ErrUnsupported, runtime.GOOS)
}

// Version returns 0: there is no cgroup version outside Linux.
func (m *Manager) Version() int { return 0 }

// Create fails with ErrUnsupported.
func (m *Manager) Create(name string, l Limits) (*Group, error) { return nil, ErrUnsupported }

// Close does nothing.
func (m *Manager) Close() error { return nil }

// Group is one control group; it cannot exist outside Linux.
type Group struct{}

// Name returns "".
func (g *Group) Name() string { return "" }

// Add fails with ErrUnsupported.
func (g *Group) Add(pid int) error { return ErrUnsupported }

// CgroupFD returns (-1, false).
func (g *Group) CgroupFD() (int, bool) { return -1, false }

// Start fails with ErrUnsupported.
func (g *Group) Start(cmd *exec.Cmd) error { return ErrUnsupported }

// Procs fails with ErrUnsupported.
func (g *Group) Procs() ([]int, error) { return nil, ErrUnsupported }

// Usage fails with ErrUnsupported.
func (g *Group) Usage() (Usage, error) { return Usage{}, ErrUnsupported }

// Kill fails with ErrUnsupported.
func (g *Group) Kill() error { return ErrUnsupported }

// Remove fails with ErrUnsupported.
func (g *Group) Remove() error { return ErrUnsupported }

// Update is unsupported off Linux.
func (g *Group) Update(l Limits) error { return ErrUnsupported }

// Sweep does nothing off Linux.
func (m *Manager) Sweep() {}

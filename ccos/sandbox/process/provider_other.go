//go:build !linux

package process

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/rtfs/value"
)

var errNotLinux = errors.New("the process sandbox needs Linux (namespaces, Landlock, seccomp, cgroups)")

// Provider is the process sandbox provider; it is unavailable off Linux.
type Provider struct{}

// New returns the provider; Available reports that it cannot work here.
func New(exe string) *Provider { return &Provider{} }

// Name implements sandbox.Provider.
func (*Provider) Name() string { return "process" }

// Version reports the provider's version.
func (*Provider) Version() string { return "unavailable" }

// Available implements sandbox.Provider.
func (*Provider) Available() error { return errNotLinux }

// Close releases nothing.
func (*Provider) Close() error { return nil }

// Run implements sandbox.Provider: it always fails closed.
func (*Provider) Run(context.Context, *sandbox.Request, *profile.StepProfile) (value.Value, sandbox.Usage, error) {
	return nil, sandbox.Usage{}, value.NewError(value.ErrSecurity, "%v", errNotLinux)
}

// RunWorker is unreachable off Linux.
func RunWorker() int {
	fmt.Fprintln(os.Stderr, errNotLinux)
	return 2
}

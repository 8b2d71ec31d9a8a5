// Package firecracker is the Firecracker microVM sandbox provider's
// availability check. Running capability calls in a microVM needs a KVM
// host that can boot a guest kernel, the firecracker binary, and a guest
// kernel and root filesystem; where any is missing the provider reports
// itself unavailable with the reasons, and every call fails closed. It
// never falls back to running a call somewhere weaker.
package firecracker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Provider is the firecracker provider.
type Provider struct {
	// Kernel and RootFS are the guest images (from configuration).
	Kernel, RootFS string
	// LookPath and Open are the system (replaced in tests).
	LookPath func(string) (string, error)
	Open     func(string, int, os.FileMode) (*os.File, error)
}

// New returns the provider with the given guest images.
func New(kernel, rootfs string) *Provider {
	return &Provider{Kernel: kernel, RootFS: rootfs, LookPath: exec.LookPath, Open: os.OpenFile}
}

// Name implements sandbox.Provider.
func (*Provider) Name() string { return "firecracker" }

// Available implements sandbox.Provider: it lists everything missing.
func (p *Provider) Available() error {
	var missing []string
	if f, err := p.Open("/dev/kvm", os.O_RDWR, 0); err != nil {
		missing = append(missing, fmt.Sprintf("KVM is not usable (/dev/kvm: %v)", errors.Unwrap(err)))
	} else {
		f.Close()
	}
	if _, err := p.LookPath("firecracker"); err != nil {
		missing = append(missing, "the firecracker binary is not installed (no Firecracker build is packaged for this system)")
	}
	if p.Kernel == "" || p.RootFS == "" {
		missing = append(missing, "no guest kernel and root filesystem are configured")
	} else {
		for _, f := range []string{p.Kernel, p.RootFS} {
			if _, err := os.Stat(f); err != nil {
				missing = append(missing, fmt.Sprintf("guest image %s: %v", f, err))
			}
		}
	}
	if len(missing) == 0 {
		// Everything is present, but booting guests is not implemented:
		// say so rather than pretend.
		return errors.New("firecracker: microVM execution is not implemented in this build")
	}
	return fmt.Errorf("firecracker unavailable: %s", strings.Join(missing, "; "))
}

// Run implements sandbox.Provider: it fails closed with the reason.
func (p *Provider) Run(context.Context, *sandbox.Request, *profile.StepProfile) (value.Value, sandbox.Usage, error) {
	return nil, sandbox.Usage{}, value.NewError(value.ErrSecurity, "%v", p.Available())
}

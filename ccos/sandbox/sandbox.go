// Package sandbox defines how a capability call is executed under a step's
// security profile: a Provider runs the call and reports what it measured.
// The orchestrator checks every call at the capability boundary first;
// providers that isolate (process namespaces, bwrap, gVisor, wasm) enforce
// the profile again at the operating-system level.
package sandbox

import (
	"context"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Request is one capability call to execute.
type Request struct {
	Capability *caps.Capability
	Args       []value.Value
	Env        *caps.Env
	// Violation, when set, is told about every operation the sandbox
	// refused (an egress denial, a limit reached, a permission error):
	// the orchestrator records each as a SecurityViolation.
	Violation func(*security.Violation)
}

// Usage is what a provider measured while running a call. Zero fields
// were not measured (never the configured limits).
type Usage struct {
	Wall            time.Duration
	CPU             time.Duration
	PeakMemoryBytes int64
}

// Provider executes capability calls under a profile.
type Provider interface {
	// Name identifies the provider ("inprocess", "process", "bwrap" ...).
	Name() string
	// Available reports why the provider cannot run here, or nil.
	Available() error
	// Run executes req, enforcing p as far as the provider can.
	Run(ctx context.Context, req *Request, p *profile.StepProfile) (value.Value, Usage, error)
}

// InProcess runs calls in the orchestrator's own process: the profile is
// enforced only at the capability boundary. It is what inherit-level
// steps use, and what every step uses until an isolating provider is
// configured.
type InProcess struct{}

// Name implements Provider.
func (InProcess) Name() string { return "inprocess" }

// Available implements Provider.
func (InProcess) Available() error { return nil }

// Run implements Provider.
func (InProcess) Run(ctx context.Context, req *Request, _ *profile.StepProfile) (value.Value, Usage, error) {
	start := time.Now()
	v, err := caps.Invoke(ctx, req.Capability, req.Env, req.Args)
	return v, Usage{Wall: time.Since(start)}, err
}

// Versioned is implemented by providers that can say which version of
// their mechanism ran a call (recorded with its result).
type Versioned interface {
	Version() string
}

// Mock is for unit tests only: it runs inherit-level calls in process
// and refuses every call of an isolated or sandboxed step.
type Mock struct{}

// Name implements Provider.
func (Mock) Name() string { return "mock" }

// Available implements Provider.
func (Mock) Available() error { return nil }

// Run implements Provider.
func (Mock) Run(ctx context.Context, req *Request, p *profile.StepProfile) (value.Value, Usage, error) {
	if p != nil && p.Isolation != security.Inherit {
		return nil, Usage{}, value.NewError(value.ErrSecurity, "the mock sandbox provider refuses %s steps", p.Isolation)
	}
	return InProcess{}.Run(ctx, req, p)
}

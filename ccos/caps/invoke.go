package caps

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// NewFromManifest builds a capability from a manifest: Run and TargetsOf
// for the "http" provider (see httpProvider) and the "program"
// provider (see programProvider). Local capabilities are Go code
// only, so a "local" manifest is an error here. The manifest is copied
// and completed with what its provider implies (method GET, the URL's
// host as the network effect, Exec for programs) before it is validated.
func NewFromManifest(m *Manifest) (*Capability, error) {
	if m == nil {
		return nil, errors.New("caps: NewFromManifest(nil)")
	}
	c := &Capability{Manifest: *m}
	switch m.Provider {
	case ProviderHTTP:
		if m.HTTP == nil {
			break // Validate reports it
		}
		cfg := *m.HTTP
		if cfg.Method == "" {
			cfg.Method = "GET"
		}
		c.HTTP = &cfg
		if len(c.Effects.Network) == 0 {
			c.Effects.Network = []string{urlHostPort(cfg.URL)}
		}
	case ProviderProgram:
		if m.Program == nil {
			break
		}
		cfg := *m.Program
		c.Program = &cfg
		c.Effects.Exec = true
	case ProviderLocal:
		return nil, fmt.Errorf("capability %s: provider :local is implemented in Go and cannot be loaded from a manifest", m.ID)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.Provider {
	case ProviderHTTP:
		c.Run, c.TargetsOf = httpProvider(c.ID, c.HTTP)
	case ProviderProgram:
		c.Run, c.TargetsOf = programProvider(c.ID, c.Program)
	}
	return c, nil
}

// Invoke runs one call of c: it validates the arguments, as a vector,
// against c.Input, runs c.Run and validates the result against c.Output.
//
// Errors are RTFS errors (*value.Error):
//   - a schema mismatch is :validation-error, its message naming the
//     capability, "input" or "output", the schema and the mismatch, its
//     Data {:capability id :schema "..." :path [...] :expected "..."
//     :actual v} and its Cause the *types.Mismatch;
//   - cancellation or expiry of ctx (or a timeout inside the provider)
//     is :timeout;
//   - an error from Run that is not an RTFS error becomes
//     :capability-error wrapping it (Cause), and a panic in Run becomes a
//     :capability-error too;
//   - RTFS errors from Run are returned unchanged.
//
// A nil env is replaced by an empty one.
func Invoke(ctx context.Context, c *Capability, env *Env, args []value.Value) (result value.Value, err error) {
	if c == nil || c.Run == nil {
		id := "<nil>"
		if c != nil {
			id = c.ID
		}
		return nil, value.NewError(value.ErrCapability, "capability %s cannot be run", id)
	}
	if err := ctx.Err(); err != nil {
		return nil, invokeTimeoutErr(c.ID, ctx, err)
	}
	if c.Input != nil {
		if err := invokeCheck(c, "input", c.Input, value.NewVector(args...)); err != nil {
			return nil, err
		}
	}
	if env == nil {
		env = &Env{}
	}
	result, err = invokeRun(ctx, c, env, args)
	if err != nil {
		var ve *value.Error
		switch {
		case errors.As(err, &ve) && ve.Type == value.ErrTimeout:
			return nil, err
		case ctx.Err() != nil || isTimeoutErr(err):
			return nil, invokeTimeoutErr(c.ID, ctx, err)
		case ve != nil:
			return nil, err
		}
		return nil, &value.Error{Type: value.ErrCapability,
			Message: fmt.Sprintf("capability %s: %v", c.ID, err), Cause: err}
	}
	if c.Output != nil {
		if err := invokeCheck(c, "output", c.Output, result); err != nil {
			return nil, err
		}
	}
	return result, nil
}

// invokeRun calls c.Run, turning a panic into a :capability-error.
func invokeRun(ctx context.Context, c *Capability, env *Env, args []value.Value) (v value.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, value.NewError(value.ErrCapability, "capability %s panicked: %v", c.ID, r)
		}
	}()
	return c.Run(ctx, env, args)
}

// isTimeoutErr reports whether err is a context expiry or a network timeout.
func isTimeoutErr(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// invokeTimeoutErr returns the :timeout error of a call interrupted by ctx (or
// by a provider timeout when ctx is still live).
func invokeTimeoutErr(id string, ctx context.Context, cause error) *value.Error {
	what := "timed out"
	if errors.Is(ctx.Err(), context.Canceled) {
		what = "was cancelled"
	}
	return &value.Error{Type: value.ErrTimeout,
		Message: fmt.Sprintf("capability %s %s", id, what), Cause: cause}
}

func invokeCheck(c *Capability, which string, t *types.Type, v value.Value) error {
	err := t.Check(v)
	if err == nil {
		return nil
	}
	var mm *types.Mismatch
	if !errors.As(err, &mm) {
		return &value.Error{Type: value.ErrValidation,
			Message: fmt.Sprintf("capability %s: %s does not match %s: %v", c.ID, which, t, err), Cause: err}
	}
	kw := func(s string) value.Value { return value.Keyword(s) }
	data := value.NewMap(
		kw("capability"), value.String(c.ID),
		kw("which"), kw(which),
		kw("schema"), value.String(t.String()),
		kw("path"), value.NewVector(mm.Path...),
		kw("expected"), value.String(mm.Expected),
		kw("actual"), mm.Actual,
		kw("missing"), value.Bool(mm.Missing),
	)
	return &value.Error{Type: value.ErrValidation,
		Message: fmt.Sprintf("capability %s: %s does not match %s: %v", c.ID, which, t, mm),
		Data:    data, Cause: mm}
}

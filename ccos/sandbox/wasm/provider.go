package wasm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Provider is the sandbox provider of :wasm capabilities (see the package
// documentation for the calling convention). It runs only capabilities
// whose manifest has a WASM configuration. R must be set; a Provider is
// safe for concurrent use.
type Provider struct {
	R *Runtime

	mu     sync.Mutex
	loaded map[string]*loadedFile // by path + "\x00" + hash
}

// loadedFile remembers a module file that was hashed and compiled, so
// that calls do not hash it again while it is unchanged.
type loadedFile struct {
	m     *Module
	size  int64
	mtime time.Time
	ino   uint64
	ctime time.Time
}

var _ sandbox.Provider = (*Provider)(nil)

// Name implements sandbox.Provider.
func (*Provider) Name() string { return "wasm" }

// Available implements sandbox.Provider: wazero is pure Go, so the
// provider works wherever it has a Runtime.
func (p *Provider) Available() error {
	if p == nil || p.R == nil {
		return errors.New("wasm: provider has no runtime")
	}
	return nil
}

// Run implements sandbox.Provider. It runs one call of the :wasm
// capability req.Capability under the step profile prof: the profile's
// filesystem roots (MicroVM.FS Read read-only, Write read-write; "*" is
// the whole filesystem) are the only paths the module sees, its memory
// cap is the manifest's :memory-mb lowered to MicroVM.MemoryLimitMB and
// its timeout the manifest's :timeout-ms lowered to MicroVM.Timeout. A
// nil profile mounts nothing. The call goes through caps.Invoke, so the
// capability's schemas are checked and errors are RTFS errors (a
// timeout is :timeout). Usage reports the measured wall time only.
//
// The module file is loaded with Runtime.Load (hash checked, compiled
// once); later calls reuse it without hashing the file again while its
// size, modification and change times and inode stay the same.
func (p *Provider) Run(ctx context.Context, req *sandbox.Request, prof *profile.StepProfile) (value.Value, sandbox.Usage, error) {
	start := time.Now()
	if err := p.Available(); err != nil {
		return nil, sandbox.Usage{}, err
	}
	if req == nil || req.Capability == nil {
		return nil, sandbox.Usage{}, errors.New("wasm: no capability to run")
	}
	c := req.Capability
	if c.WASM == nil {
		return nil, sandbox.Usage{}, value.NewError(value.ErrCapability,
			"capability %s is not a WebAssembly module (provider %q): the wasm sandbox runs only :wasm capabilities", c.ID, c.Provider)
	}
	cfg := runConfig(c, prof)
	run := *c
	run.Run = func(ctx context.Context, _ *caps.Env, args []value.Value) (value.Value, error) {
		return p.call(ctx, c, cfg, args)
	}
	v, err := caps.Invoke(ctx, &run, req.Env, req.Args)
	return v, sandbox.Usage{Wall: time.Since(start)}, err
}

// runConfig is the Config of a call of c under prof (without Stdin).
func runConfig(c *caps.Capability, prof *profile.StepProfile) Config {
	w := c.WASM
	cfg := Config{
		MemoryMB: w.MemoryMB,
		Timeout:  w.Timeout,
		Args:     []string{c.ID},
		Clock:    c.Effects.Clock,
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = caps.DefaultWASMMemoryMB
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = caps.DefaultWASMTimeout
	}
	if prof == nil {
		return cfg
	}
	vm := &prof.MicroVM
	if vm.MemoryLimitMB > 0 && vm.MemoryLimitMB < cfg.MemoryMB {
		cfg.MemoryMB = vm.MemoryLimitMB
	}
	if vm.Timeout > 0 && vm.Timeout < cfg.Timeout {
		cfg.Timeout = vm.Timeout
	}
	if vm.FS.Kind != profile.FSNone {
		root := func(r string) string {
			if r == "*" {
				return "/"
			}
			return r
		}
		for _, r := range vm.FS.Read {
			cfg.ReadOnly = append(cfg.ReadOnly, root(r))
		}
		for _, r := range vm.FS.Write {
			cfg.ReadWrite = append(cfg.ReadWrite, root(r))
		}
	}
	return cfg
}

// call runs the module of c with args as its JSON stdin and decodes its
// JSON stdout.
func (p *Provider) call(ctx context.Context, c *caps.Capability, cfg Config, args []value.Value) (value.Value, error) {
	in, err := stdlib.SerializeJSON(value.NewVector(args...))
	if err != nil {
		return nil, err // a :type-error naming the value
	}
	m, err := p.load(ctx, c.WASM)
	if err != nil {
		return nil, value.NewError(value.ErrCapability, "capability %s: %v", c.ID, err)
	}
	cfg.Stdin = []byte(in)
	out, err := m.Run(ctx, cfg)
	if err != nil {
		if out != nil && len(out.Stderr) > 0 {
			err = fmt.Errorf("%w; stderr: %s", err, stderrText(out.Stderr))
		}
		return nil, err // Invoke turns timeouts into :timeout
	}
	if out.ExitCode != 0 {
		return nil, value.NewError(value.ErrCapability, "capability %s: module exited with code %d: %s",
			c.ID, out.ExitCode, stderrText(out.Stderr)).
			WithData(value.NewMap(
				value.Keyword("exit"), value.Int(int64(out.ExitCode)),
				value.Keyword("stderr"), value.String(out.Stderr[:min(len(out.Stderr), maxErrStderr)])))
	}
	if out.Truncated {
		return nil, value.NewError(value.ErrCapability, "capability %s: module output exceeds %d bytes", c.ID, MaxOutputBytes)
	}
	s := strings.TrimSpace(string(out.Stdout))
	if s == "" {
		return nil, nil
	}
	v, err := stdlib.ParseJSON(s, true)
	if err != nil {
		return nil, &value.Error{Type: value.ErrCapability,
			Message: fmt.Sprintf("capability %s: module output is not JSON: %v", c.ID, err), Cause: err}
	}
	return v, nil
}

// maxErrStderr caps the stderr kept in the Data of an exit error.
const maxErrStderr = 64 << 10

// stderrText returns stderr for an error message: trimmed, at most 4 KiB.
func stderrText(b []byte) string {
	const max = 4096
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	if s == "" {
		return "(no stderr)"
	}
	return s
}

// load returns the compiled module of w. A module file whose size,
// modification and change times and inode are those of a previous load
// is not hashed again.
func (p *Provider) load(ctx context.Context, w *caps.WASMConfig) (*Module, error) {
	key := w.Path + "\x00" + strings.ToLower(w.SHA256)
	fi, statErr := os.Stat(w.Path)
	if statErr == nil {
		p.mu.Lock()
		lf := p.loaded[key]
		p.mu.Unlock()
		if lf != nil && lf.same(fi) {
			return lf.m, nil
		}
	}
	m, err := p.R.Load(ctx, w.Path, w.SHA256)
	if err != nil {
		return nil, err
	}
	if statErr == nil {
		p.mu.Lock()
		if p.loaded == nil {
			p.loaded = make(map[string]*loadedFile)
		}
		p.loaded[key] = newLoadedFile(m, fi)
		p.mu.Unlock()
	}
	return m, nil
}

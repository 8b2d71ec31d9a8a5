package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Defaults and limits of a run.
const (
	// DefaultMemoryMB is the linear-memory cap when Config.MemoryMB is 0.
	DefaultMemoryMB = 64
	// MaxMemoryMB is the whole 32-bit address space of a wasm memory.
	MaxMemoryMB = 4096
	// DefaultTimeout bounds a run when Config.Timeout is 0.
	DefaultTimeout = 30 * time.Second
	// MaxOutputBytes caps each of stdout and stderr.
	MaxOutputBytes = 16 << 20
	// MaxModuleBytes caps the size of a module file.
	MaxModuleBytes = 256 << 20
)

// wasiModule is the import namespace of WASI preview1.
const wasiModule = "wasi_snapshot_preview1"

// pageSize is the size of a WebAssembly memory page.
const pageSize = 65536

// Runtime compiles and runs WebAssembly modules. It holds one wazero
// runtime (with WASI preview1 and an in-memory compilation cache) and the
// compiled modules by content hash. It is safe for concurrent use.
type Runtime struct {
	rt    wazero.Runtime
	cache wazero.CompilationCache

	mu     sync.Mutex
	mods   map[string]*loadEntry // by lower-case hex SHA-256
	closed bool
}

// loadEntry is a module being compiled or compiled.
type loadEntry struct {
	done chan struct{} // closed when m or err is set
	m    *Module
	err  error
}

// New returns a Runtime. wazero's compiler is used where it is supported
// (amd64, arm64), its interpreter elsewhere.
func New(ctx context.Context) (*Runtime, error) {
	cache := wazero.NewCompilationCache()
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithCompilationCache(cache).
		WithCoreFeatures(api.CoreFeaturesV2)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating WASI: %w", err)
	}
	return &Runtime{rt: rt, cache: cache, mods: make(map[string]*loadEntry)}, nil
}

// Close releases the runtime and every module compiled by it; running
// modules are stopped.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mods = map[string]*loadEntry{}
	r.mu.Unlock()
	err := r.rt.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// Module is a compiled WASI command module.
type Module struct {
	r        *Runtime
	compiled wazero.CompiledModule
	sha256   string
	minPages uint32 // initial size of its memory
}

// SHA256 returns the lower-case hex SHA-256 of the module's bytes.
func (m *Module) SHA256() string { return m.sha256 }

// HashMismatchError is the error of Load when the file's content is not
// the one wanted.
type HashMismatchError struct {
	Path      string
	Want, Got string // lower-case hex SHA-256
}

// Error names the file and both hashes.
func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("wasm: %s has SHA-256 %s, want %s: refusing to load it", e.Path, e.Got, e.Want)
}

// Load reads the module file at path, checks that its SHA-256 is
// wantSHA256 (hex, either case; a mismatch is a *HashMismatchError naming
// both hashes) and compiles it. Compiled modules are cached by content
// hash: loading the same bytes again costs reading and hashing the file
// and returns the same *Module. The module must be a WASI preview1
// command: imports only from wasi_snapshot_preview1, an exported memory
// and a _start function.
func (r *Runtime) Load(ctx context.Context, path, wantSHA256 string) (*Module, error) {
	want := strings.ToLower(wantSHA256)
	if len(want) != 64 {
		return nil, fmt.Errorf("wasm: invalid SHA-256 %q: want 64 hexadecimal digits", wantSHA256)
	}
	if _, err := hex.DecodeString(want); err != nil {
		return nil, fmt.Errorf("wasm: invalid SHA-256 %q: want 64 hexadecimal digits", wantSHA256)
	}
	bin, err := readModule(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bin)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, &HashMismatchError{Path: path, Want: want, Got: got}
	}
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errors.New("wasm: runtime is closed")
		}
		e, ok := r.mods[want]
		if !ok {
			e = &loadEntry{done: make(chan struct{})}
			r.mods[want] = e
			r.mu.Unlock()
			e.m, e.err = r.compile(ctx, bin, want)
			if e.err != nil {
				r.mu.Lock()
				if r.mods[want] == e {
					delete(r.mods, want) // let a later Load try again
				}
				r.mu.Unlock()
			}
			close(e.done)
			if e.err != nil {
				return nil, fmt.Errorf("wasm: %s: %w", path, e.err)
			}
			return e.m, nil
		}
		r.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.m, nil
		}
		// The compilation by another caller failed (perhaps its context
		// was cancelled): try ourselves.
	}
}

func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wasm: %w", err)
	}
	defer f.Close()
	bin, err := io.ReadAll(io.LimitReader(f, MaxModuleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wasm: reading %s: %w", path, err)
	}
	if len(bin) > MaxModuleBytes {
		return nil, fmt.Errorf("wasm: %s is larger than %d bytes", path, MaxModuleBytes)
	}
	return bin, nil
}

// compile compiles bin and checks that it is a WASI command.
func (r *Runtime) compile(ctx context.Context, bin []byte, sum string) (*Module, error) {
	cm, err := r.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("compiling: %w", err)
	}
	fail := func(format string, args ...any) (*Module, error) {
		_ = cm.Close(ctx)
		return nil, fmt.Errorf("not a WASI preview1 command module: "+format, args...)
	}
	for _, f := range cm.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod != wasiModule {
			return fail("imports %s.%s (only %s is provided)", mod, name, wasiModule)
		}
	}
	if n := len(cm.ImportedMemories()); n > 0 {
		return fail("imports a memory")
	}
	if _, ok := cm.ExportedFunctions()["_start"]; !ok {
		return fail("no exported _start function")
	}
	mems := cm.ExportedMemories()
	mem, ok := mems["memory"]
	if !ok {
		return fail("no exported memory named \"memory\"")
	}
	return &Module{r: r, compiled: cm, sha256: sum, minPages: mem.Min()}, nil
}

// Config is how one run of a module is confined.
type Config struct {
	// ReadOnly and ReadWrite are absolute host paths made visible to
	// the guest at the same paths, read-only and read-write. A
	// directory is visible with everything below it; a file (or a path
	// that does not exist yet) is visible alone in its parent
	// directory. Nothing else is visible.
	ReadOnly, ReadWrite []string
	// MemoryMB caps the linear memory (0 means DefaultMemoryMB; at most
	// MaxMemoryMB).
	MemoryMB int64
	// Timeout bounds the run (0 means DefaultTimeout); the module is
	// closed when it expires.
	Timeout time.Duration
	// Stdin is the module's standard input.
	Stdin []byte
	// Args are the module's arguments (argv, including argv[0]).
	Args []string
	// Clock gives the module the real wall and monotonic clocks and real
	// sleeps instead of wazero's deterministic fake clocks.
	Clock bool
}

// Output is what a run produced.
type Output struct {
	Stdout, Stderr []byte
	// ExitCode is the code the module exited with (0 when _start
	// returned).
	ExitCode uint32
	// Wall is the measured time of instantiating and running the
	// module.
	Wall time.Duration
	// Truncated is set when stdout or stderr went over MaxOutputBytes.
	Truncated bool
}

// timeoutError reports a run stopped by its Config.Timeout.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("wasm: module stopped after its %v timeout", e.after)
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout reports true (net.Error style).
func (e *timeoutError) Timeout() bool { return true }

// Run instantiates the module under c and runs its _start function. The
// module's exit code, whatever it is, is in the Output with a nil error.
// The error is non-nil when the module could not run (bad Config, a mount
// that cannot be set up, initial memory over the cap), when it trapped
// (then the Output holds what it wrote before), or when it was stopped
// by the timeout (an error wrapping context.DeadlineExceeded) or by ctx
// (an error wrapping ctx.Err()).
func (m *Module) Run(ctx context.Context, c Config) (*Output, error) {
	memMB := c.MemoryMB
	if memMB == 0 {
		memMB = DefaultMemoryMB
	}
	if memMB < 0 || memMB > MaxMemoryMB {
		return nil, fmt.Errorf("wasm: memory cap %d MiB out of range (1 to %d)", memMB, MaxMemoryMB)
	}
	limitPages := uint64(memMB) * (1 << 20) / pageSize
	if uint64(m.minPages) > limitPages {
		return nil, fmt.Errorf("wasm: module needs %d MiB of initial memory, more than its %d MiB cap",
			(uint64(m.minPages)*pageSize+(1<<20)-1)>>20, memMB)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("wasm: negative timeout %v", timeout)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fsc, err := mountConfig(c.ReadOnly, c.ReadWrite)
	if err != nil {
		return nil, err
	}

	// The module runs in a context of its own, carrying none of the
	// caller's values (wazero reads socket listeners, memory allocators
	// and more from the context), cancelled with the caller's.
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	rctx, cancelT := context.WithTimeout(base, timeout)
	defer cancelT()
	rctx = experimental.WithMemoryAllocator(rctx, memoryAllocator(limitPages*pageSize))

	stdout := &capBuffer{max: MaxOutputBytes}
	stderr := &capBuffer{max: MaxOutputBytes}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(c.Args...).
		WithStdin(bytes.NewReader(c.Stdin)).
		WithStdout(stdout).
		WithStderr(stderr).
		WithFSConfig(fsc).
		WithRandSource(rand.Reader)
	if c.Clock {
		mc = mc.WithSysWalltime().WithSysNanotime().WithNanosleep(func(ns int64) {
			t := time.NewTimer(time.Duration(ns))
			defer t.Stop()
			select {
			case <-t.C:
			case <-rctx.Done():
			}
		})
	}

	start := time.Now()
	mod, err := m.r.rt.InstantiateModule(rctx, m.compiled, mc)
	wall := time.Since(start)
	if mod != nil {
		_ = mod.Close(context.Background())
	}
	out := &Output{Stdout: stdout.b, Stderr: stderr.b, Wall: wall,
		Truncated: stdout.truncated || stderr.truncated}
	if err == nil {
		return out, nil
	}
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			if cerr := ctx.Err(); cerr != nil {
				return out, fmt.Errorf("wasm: module stopped: %w", cerr)
			}
			if rctx.Err() != nil {
				return out, &timeoutError{after: timeout}
			}
		default:
			out.ExitCode = ee.ExitCode()
			return out, nil
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return out, fmt.Errorf("wasm: module stopped: %w", cerr)
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return out, &timeoutError{after: timeout}
	}
	return out, fmt.Errorf("wasm: module failed: %w", err)
}

// capBuffer keeps up to max bytes; writes past that fail.
type capBuffer struct {
	b         []byte
	max       int
	truncated bool
}

var errOutputLimit = errors.New("output limit reached")

// Write implements io.Writer.
func (w *capBuffer) Write(p []byte) (int, error) {
	if room := w.max - len(w.b); len(p) > room {
		w.b = append(w.b, p[:room]...)
		w.truncated = true
		return room, errOutputLimit
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// memoryAllocator returns an allocator whose memories never grow past
// limit bytes: memory.grow beyond it fails (returns -1 to the guest).
func memoryAllocator(limit uint64) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		return &cappedMemory{limit: limit, hint: min(capacity, limit)}
	})
}

// cappedMemory is a linear memory that cannot grow past limit bytes.
type cappedMemory struct {
	buf   []byte
	limit uint64
	hint  uint64 // initial capacity
}

// Reallocate implements experimental.LinearMemory. Wasm memories only
// grow, so bytes past len(buf) were never written and are still zero.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	c := max(size, m.hint, min(2*uint64(cap(m.buf)), m.limit))
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

// Free implements experimental.LinearMemory.
func (m *cappedMemory) Free() { m.buf = nil }

// Package wasm runs capabilities shipped as WebAssembly modules, with
// wazero (a pure-Go WebAssembly runtime: no cgo, nothing downloaded).
//
// # Runtime and modules
//
// A Runtime compiles modules once: Load reads a .wasm file, refuses it
// unless its SHA-256 is the one the manifest pins, and compiles it; the
// compiled module is cached by content hash, so loading the same bytes
// again (from any path) returns the same *Module after hashing the file.
// Module.Run instantiates the module afresh for every call, so calls share
// no state, and runs its _start function under a Config:
//
//   - Filesystem: only the host paths in Config.ReadOnly and
//     Config.ReadWrite are visible, each at the same path in the guest.
//     A directory is pre-opened as a whole; any other path (a file, or one
//     that does not exist yet) makes its parent directory visible with
//     only that one entry in it. Read-only mounts refuse every write
//     (EROFS). Symbolic links are resolved inside the mount: one that
//     leads out of it is refused (EACCES), and the guest cannot create
//     symbolic links. Paths outside the mounts do not exist for the guest
//     (unless "/" is mounted, an empty directory is mounted there).
//   - Memory: the module's linear memory is capped at Config.MemoryMB
//     (default 64 MiB); memory.grow beyond it fails, which a Go or C guest
//     reports as out of memory. A module whose initial memory exceeds the
//     cap is refused before it runs.
//   - Time: Config.Timeout (default 30 s) bounds the call; when it expires
//     (or the caller's context is done) wazero closes the module, even in
//     the middle of a loop, and Run returns an error wrapping
//     context.DeadlineExceeded (or the caller's context error).
//   - Network: none. wazero's WASI sockets exist only for listeners the
//     host pre-opens, and Run pre-opens none; the context the module runs
//     in carries no value of the caller's (no socket configuration, memory
//     allocator or listener can be injected through it).
//   - Environment: empty. Arguments: Config.Args (the provider passes the
//     capability id as argv[0]).
//   - Clocks: by default the guest sees wazero's deterministic fake clocks
//     (wall and monotonic time start at a fixed point and advance 1 ms per
//     reading; sleeps return at once), so a module without the :clock
//     effect cannot observe time. Config.Clock gives it the real clocks and
//     real sleeps (cut short when the call's context is done).
//   - Randomness: crypto/rand.
//   - Output: stdout and stderr are captured up to MaxOutputBytes each;
//     past that the guest's writes fail and Output.Truncated is set.
//
// # Calling convention of :wasm capabilities
//
// Provider runs capabilities whose manifest has a :wasm section. The
// module is a WASI preview1 command (it imports only from
// wasi_snapshot_preview1, exports its memory as "memory" and a "_start"
// function). For a call:
//
//   - stdin is the call's positional arguments as one JSON array, each
//     RTFS value converted by stdlib.SerializeJSON (maps to objects,
//     keywords to their names, nil to null, ...);
//   - argv is [capability id]; the environment is empty;
//   - stdout, decoded with stdlib.ParseJSON(stdout, true) (object keys
//     become keywords), is the result; an empty (or all-whitespace) stdout
//     is nil;
//   - a non-zero exit code is a :capability-error whose message carries
//     the exit code and the module's stderr; stdout that is not JSON, or
//     output over MaxOutputBytes, is a :capability-error too;
//   - the step profile decides what the module sees: its filesystem
//     policy roots (profile.MicroVMConfig.FS Read and Write, never more)
//     are mounted read-only and read-write, its memory limit lowers the
//     manifest's :memory-mb cap and its timeout lowers the manifest's
//     :timeout-ms; the manifest's :clock effect turns on the real clocks.
//
// The capability's input and output schemas are checked as for every
// provider (caps.Invoke), and a timeout is a :timeout error.
package wasm

// Package process is the default sandbox provider on Linux: for every
// isolated or sandboxed capability call, the ccos binary re-executes
// itself as a sandbox worker in new mount, PID, network, IPC and UTS
// namespaces, inside a per-call cgroup with the profile's memory, CPU and
// process limits. The worker confines itself with Landlock (the profile's
// read-only and read-write roots, TCP restricted to the egress forwarder)
// and, at the sandboxed level, a seccomp filter; it starts from an empty
// environment plus the profile's variables, runs the capability and sends
// the result back over a pipe. Its network namespace has no route out:
// allowed hosts are reached only through the parent's egress proxy, bound
// into the sandbox as a Unix socket. The parent kills the whole process
// tree at the profile's deadline and reports measured wall time, CPU time
// and peak memory.
package process

import (
	"time"
)

// WorkerArg is the argument with which the ccos binary runs as a sandbox
// worker; cmd/ccos hands control to RunWorker when it sees it.
const WorkerArg = "__ccos-sandbox-worker"

// preparedArg follows WorkerArg when a wrapper (bubblewrap) has set up
// the namespaces, mounts and /proc already.
const preparedArg = "prepared"

// Worker file descriptors (ExtraFiles 0 and 1).
const (
	requestFD  = 3
	responseFD = 4
	// watchFD is a Unix socket over which the worker hands the parent
	// the seccomp listener that makes its connects observable.
	watchFD = 5
)

// forwarderAddr is where, inside the worker's own network namespace, the
// egress forwarder listens for programs (HTTP_PROXY): the only TCP
// destination a sandboxed process may connect to.
const forwarderAddr = "127.0.0.1:3128"

// readyByte is the byte a worker writes on responseFD, before the
// response, once it has done everything that does not depend on the call
// and waits for the request.
const readyByte = 'R'

// request is what the parent sends the worker (JSON on requestFD).
type request struct {
	Capability string // id
	// Manifest is the capability's manifest as RTFS data, for
	// capabilities that are not built in (http, program).
	Manifest string `json:",omitempty"`
	Args     []byte // model.EncodeValue of the argument vector

	ReadOnly  []string // Landlock read-only roots (profile + what the worker needs)
	ReadWrite []string
	Sandboxed bool // install the seccomp filter
	// ProxySocket is the egress proxy's Unix socket; empty: no network.
	ProxySocket string `json:",omitempty"`
	Env         map[string]string
	Timeout     time.Duration
}

// response is what the worker sends back (JSON on responseFD).
type response struct {
	Value []byte     `json:",omitempty"` // model.EncodeValue of the result
	Err   *errorInfo `json:",omitempty"`
	// Denied is set when the capability failed because the sandbox
	// refused an operation (a permission error from the kernel).
	Denied string `json:",omitempty"`
}

type errorInfo struct {
	Type    string
	Message string
	Data    []byte `json:",omitempty"`
}

//go:build linux

package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/sandbox/confine"
	"github.com/ccos-go/ccos/ccos/sandbox/egress"
	"github.com/ccos-go/ccos/ccos/sandbox/netwatch"
	"github.com/ccos-go/ccos/rtfs/value"
)

// RunWorker is the sandbox worker's main function: cmd/ccos calls it when
// its first argument is WorkerArg. It reads one request, confines itself,
// runs the capability and writes the response. Its exit status is 0 when a
// response was written.
func RunWorker() int {
	reqF := os.NewFile(requestFD, "request")
	respF := os.NewFile(responseFD, "response")
	inGVisor := len(os.Args) > 2 && os.Args[2] == gvisorArg
	if inGVisor {
		reqF, respF = os.Stdin, os.Stdout
	}
	if reqF == nil || respF == nil {
		fmt.Fprintln(os.Stderr, "ccos sandbox worker: started without its pipes")
		return 2
	}
	// Everything that does not depend on the call happens before the
	// request arrives: a pre-started worker has it done when the call
	// comes.
	prepared := len(os.Args) > 2 && (os.Args[2] == preparedArg || inGVisor)
	setupErr := setup(prepared)
	builtins := map[string]*caps.Capability{}
	for _, c := range caps.Builtins() {
		builtins[c.ID] = c
	}
	if !inGVisor {
		confine.PrepareLandlock()
	}
	warmCodecs()
	// Tell the parent that the worker is ready: it waits for this before
	// it offers a pre-started worker to a call.
	if _, err := respF.Write([]byte{readyByte}); err != nil {
		fmt.Fprintln(os.Stderr, "ccos sandbox worker: writing the ready byte:", err)
		return 2
	}
	var req request
	// The parent writes the request only once the worker is in its
	// cgroup with the call's limits.
	if err := json.NewDecoder(reqF).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "ccos sandbox worker: reading the request:", err)
		return 2
	}
	reqF.Close()
	var resp *response
	if setupErr != nil {
		resp = fail(value.ErrSecurity, "sandbox: %v", setupErr)
	} else {
		resp = work(&req, builtins, inGVisor)
	}
	if err := json.NewEncoder(respF).Encode(resp); err != nil {
		fmt.Fprintln(os.Stderr, "ccos sandbox worker: writing the response:", err)
		return 2
	}
	respF.Close()
	return 0
}

// setup prepares the namespaces the worker was started in (unless a
// wrapper such as bubblewrap already did): private mounts, a /proc of the
// new PID namespace (the host's processes are not visible), loopback up.
func setup(prepared bool) error {
	if prepared {
		return nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := confine.LoopbackUp(); err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	return nil
}

// warmCodecs runs the request and response codecs once on dummy values,
// so that what they build on first use (reflection caches) is ready
// before the call.
func warmCodecs() {
	var req request
	json.Unmarshal([]byte(`{"Capability":"","Args":"","ReadOnly":[],"ReadWrite":[],"Env":{},"Timeout":0}`), &req)
	if enc, err := model.EncodeValue(value.NewVector(value.Int(0), value.String(""))); err == nil {
		if v, err := model.DecodeValue(enc); err == nil {
			if enc, err := model.EncodeValue(v); err == nil {
				json.NewEncoder(io.Discard).Encode(&response{Value: enc})
			}
		}
	}
	json.NewEncoder(io.Discard).Encode(&response{Err: &errorInfo{}})
}

func fail(typ value.Keyword, format string, args ...any) *response {
	return &response{Err: &errorInfo{Type: string(typ), Message: fmt.Sprintf(format, args...)}}
}

func work(req *request, builtins map[string]*caps.Capability, inGVisor bool) *response {
	ctx := context.Background()
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	os.Clearenv()
	for k, v := range req.Env {
		os.Setenv(k, v)
	}
	env := &caps.Env{Out: io.Discard, Files: caps.NewFiles(), Getenv: os.Getenv, Now: time.Now,
		HTTP: &http.Client{Transport: &http.Transport{DialContext: noNetwork}}}
	var ports []uint16
	if req.ProxySocket != "" {
		addr, err := egress.Forward(ctx, forwarderAddr, req.ProxySocket)
		if err != nil {
			return fail(value.ErrSecurity, "sandbox: egress forwarder: %v", err)
		}
		proxy := "http://" + addr.String()
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
			os.Setenv(k, proxy)
			env.ProgramEnv = append(env.ProgramEnv, k+"="+proxy)
		}
		if ta, ok := addr.(*net.TCPAddr); ok {
			ports = append(ports, uint16(ta.Port))
		}
		env.HTTP = &http.Client{Transport: egress.Transport(req.ProxySocket)}
	}
	c, err := capability(req, builtins)
	if err != nil {
		return fail(value.ErrCapability, "sandbox: %v", err)
	}
	argv, err := model.DecodeValue(req.Args)
	if err != nil {
		return fail(value.ErrCapability, "sandbox: decoding arguments: %v", err)
	}
	vec, ok := argv.(*value.Vector)
	if !ok {
		return fail(value.ErrCapability, "sandbox: arguments are not a vector")
	}
	var args []value.Value
	vec.Range(func(_ int, v value.Value) bool { args = append(args, v); return true })

	if !inGVisor {
		if err := confine.Landlock(confine.FS{ReadOnly: req.ReadOnly, ReadWrite: req.ReadWrite}, confine.Net{Restrict: true, ConnectPorts: ports}); err != nil {
			return fail(value.ErrSecurity, "sandbox: landlock: %v", err)
		}
		if req.Sandboxed {
			if err := confine.Seccomp(); err != nil {
				return fail(value.ErrSecurity, "sandbox: seccomp: %v", err)
			}
		}
		// From here on every connect(2) of the worker and of the
		// programs it starts is decided, and denials recorded, by the
		// parent.
		if err := netwatch.Install(os.NewFile(watchFD, "watch")); err != nil {
			return fail(value.ErrSecurity, "sandbox: connect supervision: %v", err)
		}
	}
	v, err := caps.Invoke(ctx, c, env, args)
	env.Files.CloseAll()
	if err != nil {
		e := value.AsError(err)
		r := &response{Err: &errorInfo{Type: string(e.Type), Message: e.Message}}
		if e.Data != nil {
			r.Err.Data, _ = model.EncodeValue(e.Data)
		}
		if denied(err) {
			r.Denied = e.Message
		}
		return r
	}
	enc, err := model.EncodeValue(v)
	if err != nil {
		return fail(value.ErrCapability, "sandbox: encoding the result: %v", err)
	}
	return &response{Value: enc}
}

// noNetwork is the dialer of a worker without network access.
func noNetwork(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.EACCES}
}

// denied reports a failure caused by the sandbox refusing an operation.
func denied(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

// capability builds the capability the request names: a built-in, or one
// from the manifest the parent sent.
func capability(req *request, builtins map[string]*caps.Capability) (*caps.Capability, error) {
	if req.Manifest == "" {
		if c, ok := builtins[req.Capability]; ok {
			return c, nil
		}
		return nil, fmt.Errorf("unknown built-in capability %s", req.Capability)
	}
	ms, err := caps.ParseManifests("manifest:"+req.Capability, []byte(req.Manifest))
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 || ms[0].ID != req.Capability {
		return nil, fmt.Errorf("manifest for %s does not describe it", req.Capability)
	}
	return caps.NewFromManifest(ms[0])
}

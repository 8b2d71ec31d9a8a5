// Package egress is the egress proxy of the process sandbox: the only way
// out of a sandbox worker's network namespace.
//
// The worker's namespace has no route out. The parent process runs a
// Proxy on a Unix socket that is bound into the sandbox; inside, Go code
// reaches it with Transport (or DialContextVia), and external programs
// through Forward, a loopback TCP forwarder whose address is set as
// HTTP_PROXY/HTTPS_PROXY.
//
// The proxy speaks HTTP/1.1 proxy protocol: CONNECT host:port opens a
// tunnel (used for HTTPS and anything else over TCP), and absolute-form
// requests ("GET http://host/path") are forwarded. For every request it
// canonicalises the requested host like security.ParseURL, checks the
// name against the Policy (deny wins; a refused name is never resolved),
// resolves it itself (never in the sandbox), checks every resolved
// address — non-public addresses such as loopback, private, link-local
// (including the cloud metadata address 169.254.169.254), CGNAT,
// multicast and unspecified ones are refused unless the allow list names
// them by IP literal or CIDR — and then dials exactly the checked address,
// so DNS rebinding cannot redirect the connection.
//
// Refusals — including hosts that are not valid host names and IPv4
// addresses in obfuscated spellings such as "0x7f.1" — get a 403 with a
// short text reason and are reported through Options.OnDeny and
// Proxy.Denials. Requests that are not proxy requests at all (malformed,
// origin-form, CONNECT without a port, schemes other than http and https)
// get a 400 and are not reported; names that do not resolve and upstreams
// that cannot be reached get a 502.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// dialTimeout bounds the default dial and each name resolution.
	dialTimeout = 10 * time.Second
	// DefaultIdleTimeout is used when Options.IdleTimeout is zero.
	DefaultIdleTimeout = 2 * time.Minute
	// maxDenials bounds the denials kept for Denials; OnDeny sees all.
	maxDenials = 1024
	// SocketMode is the permission of the proxy's Unix socket: owner
	// and group may connect (connecting needs write permission), others
	// may not. The sandbox worker runs as root in its own namespaces,
	// which on the host is the parent's user (or, with a group mapping,
	// its group), so 0600 could lock out a worker mapped through the
	// group; 0660 admits it without opening the socket to anyone else.
	// The mode is applied right after the socket is created, so place it
	// in a directory only the parent and the sandbox can reach.
	SocketMode os.FileMode = 0o660
)

// Denial is a refused connection, reported to the parent (which records a
// SecurityViolation).
type Denial struct {
	Host   string // as requested (truncated to 255 bytes)
	Port   int
	IP     string // the resolved address, if resolution happened and the address was refused
	Reason string
	Time   time.Time
}

// Resolver resolves names (tests inject a fake; default
// net.DefaultResolver.LookupIPAddr).
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Options configure a Proxy.
type Options struct {
	Policy Policy
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// OnDeny is called for every refused request (may be nil). Calls are
	// serialised; a slow OnDeny delays the refused request's response.
	OnDeny func(Denial)
	// Dial connects to a checked address ("ip:port"); nil means a
	// net.Dialer with a 10 s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// IdleTimeout closes tunnels with no traffic in either direction, and
	// idle keep-alive client connections, after this long. Zero means
	// DefaultIdleTimeout; negative means no idle limit.
	IdleTimeout time.Duration
}

// Proxy is a running egress proxy. Its methods are safe for concurrent
// use.
type Proxy struct {
	path     string
	opts     Options
	resolver Resolver
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	idle     time.Duration

	ctx    context.Context // canceled by Close; base of every request
	cancel context.CancelFunc
	srv    *http.Server
	rp     *httputil.ReverseProxy
	tr     *http.Transport
	served chan struct{} // closed when srv.Serve returns

	mu      sync.Mutex
	closed  bool
	conns   map[net.Conn]struct{} // hijacked client conns and tunnel upstreams
	tunnels sync.WaitGroup
	denials []Denial

	denyMu    sync.Mutex // serialises OnDeny
	closeOnce sync.Once
	closeErr  error

	panics    atomic.Int64 // handler panics recovered (tests assert zero)
	lastPanic atomic.Value // string
}

// Start listens on a new Unix socket at socketPath (it fails if the path
// exists; the socket gets mode SocketMode, 0660) and serves HTTP/1.1 proxy
// requests until Close is called or ctx is done: CONNECT host:port
// (tunnels, e.g. for HTTPS) and absolute-form requests (GET
// http://host/path), which it forwards without hop-by-hop and Proxy-*
// headers. Malformed policy patterns are an error.
func Start(ctx context.Context, socketPath string, o Options) (*Proxy, error) {
	if err := o.Policy.validate(); err != nil {
		return nil, err
	}
	p := &Proxy{
		path:     socketPath,
		opts:     o,
		resolver: o.Resolver,
		dial:     o.Dial,
		idle:     o.IdleTimeout,
		conns:    make(map[net.Conn]struct{}),
		served:   make(chan struct{}),
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.dial == nil {
		p.dial = (&net.Dialer{Timeout: dialTimeout}).DialContext
	}
	switch {
	case p.idle == 0:
		p.idle = DefaultIdleTimeout
	case p.idle < 0:
		p.idle = 0
	}
	ln, err := net.Listen("unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	if err := os.Chmod(socketPath, SocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("egress: %w", err)
	}
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.tr = &http.Transport{
		Proxy:               nil, // never chain to the parent's own proxy settings
		DialContext:         p.transportDial,
		DisableCompression:  true, // pass Accept-Encoding and bodies through untouched
		TLSHandshakeTimeout: dialTimeout,
		MaxIdleConns:        64,
		IdleConnTimeout:     90 * time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      p.tr,
		ModifyResponse: func(r *http.Response) error { stripProxyHeaders(r.Header); return nil },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "ccos egress: upstream error: "+err.Error(), http.StatusBadGateway)
		},
		ErrorLog: discardLog,
	}
	srvIdle := p.idle
	if srvIdle == 0 {
		srvIdle = -1 // http.Server: 0 would fall back to ReadTimeout
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       srvIdle,
		BaseContext:       func(net.Listener) context.Context { return p.ctx },
		ErrorLog:          discardLog,
	}
	go func() {
		defer close(p.served)
		p.srv.Serve(ln)
	}()
	go func() {
		<-p.ctx.Done() // ctx done, or Close
		p.Close()
	}()
	return p, nil
}

var discardLog = log.New(io.Discard, "", 0)

// Addr returns the socket path.
func (p *Proxy) Addr() string { return p.path }

// Denials returns the refusals so far (at most the first 1024; OnDeny
// sees every one).
func (p *Proxy) Denials() []Denial {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Denial(nil), p.denials...)
}

// Close stops listening (removing the socket), cancels requests in
// flight, closes active tunnels and waits for them to end. It is
// idempotent.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.cancel()
		err := p.srv.Close()
		<-p.served
		p.tunnels.Wait()
		p.tr.CloseIdleConnections()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			p.closeErr = err
		}
	})
	return p.closeErr
}

// track registers conns to be closed by Close; it reports false (and
// closes them) if the proxy is already closed. On success the caller
// holds a p.tunnels count and must call untrack when done.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	p.tunnels.Add(1)
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.tunnels.Done()
}

// deny records a refusal, reports it and answers 403.
func (p *Proxy) deny(w http.ResponseWriter, host string, port int, r *refusal) {
	if len(host) > 255 {
		host = host[:255]
	}
	d := Denial{Host: host, Port: port, IP: r.ip, Reason: r.reason, Time: time.Now()}
	p.mu.Lock()
	if len(p.denials) < maxDenials {
		p.denials = append(p.denials, d)
	}
	p.mu.Unlock()
	if p.opts.OnDeny != nil {
		p.denyMu.Lock()
		func() {
			defer p.denyMu.Unlock()
			p.opts.OnDeny(d)
		}()
	}
	w.Header().Set("Connection", "close")
	http.Error(w, "ccos egress: refused: "+r.reason, http.StatusForbidden)
}

// serveHTTP is the proxy's request handler.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.panics.Add(1)
			p.lastPanic.Store(fmt.Sprintf("%v\n%s", v, debug.Stack()))
			panic(http.ErrAbortHandler) // drop the connection quietly
		}
	}()
	if r.Method == http.MethodConnect {
		p.serveConnect(w, r)
		return
	}
	if r.URL == nil || !r.URL.IsAbs() || r.URL.Host == "" {
		http.Error(w, "ccos egress: not a proxy request: want an absolute URL (http://host/path) or CONNECT host:port", http.StatusBadRequest)
		return
	}
	scheme := strings.ToLower(r.URL.Scheme)
	if scheme != "http" && scheme != "https" {
		http.Error(w, fmt.Sprintf("ccos egress: unsupported scheme %q (want http or https; use CONNECT for anything else)", r.URL.Scheme), http.StatusBadRequest)
		return
	}
	host := r.URL.Hostname()
	t, ok := p.check(w, r.Context(), scheme, host, r.URL.Port())
	if !ok {
		return
	}
	ctx := context.WithValue(r.Context(), checkedKey{}, t)
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// check parses and authorizes a destination, answering the request itself
// (400, 403 or 502) when it does not pass.
func (p *Proxy) check(w http.ResponseWriter, ctx context.Context, scheme, host, port string) (*target, bool) {
	t, err := parseDest(scheme, host, port)
	var tgt *target
	if err == nil {
		tgt, err = p.authorize(ctx, t)
	}
	if err == nil {
		return tgt, true
	}
	var br *badRequest
	var ref *refusal
	switch {
	case errors.As(err, &br):
		http.Error(w, "ccos egress: bad request: "+br.msg, http.StatusBadRequest)
	case errors.As(err, &ref):
		n := 0
		switch {
		case t != nil:
			n = t.Port
		case port != "":
			n, _ = strconv.Atoi(port)
		case scheme == "https":
			n = 443
		default:
			n = 80
		}
		p.deny(w, host, n, ref)
	default:
		http.Error(w, "ccos egress: "+err.Error(), http.StatusBadGateway)
	}
	return nil, false
}

// serveConnect handles CONNECT host:port: it checks and dials the
// destination, then hijacks the client connection and splices the two.
func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	hp := r.URL.Host
	if hp == "" {
		hp = r.Host
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil || port == "" {
		http.Error(w, "ccos egress: bad request: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	// Resolve and dial under the proxy's context, not the request's:
	// net/http cancels the latter when the client half-closes, which a
	// tunnel client may legitimately do right after its first bytes.
	tgt, ok := p.check(w, p.ctx, "https", host, port)
	if !ok {
		return
	}
	up, err := p.dialChecked(p.ctx, tgt.ips, tgt.t.Port)
	if err != nil {
		http.Error(w, fmt.Sprintf("ccos egress: cannot connect to %s: %v", tgt.t.HostPort(), err), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "ccos egress: cannot tunnel on this connection", http.StatusInternalServerError)
		return
	}
	client, brw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !p.track(client, up) {
		return
	}
	defer p.untrack(client, up)
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		client.Close()
		up.Close()
		return
	}
	var src io.Reader = client
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after the request (e.g. a TLS
		// ClientHello) are already in the server's buffer.
		src = io.MultiReader(io.LimitReader(brw.Reader, int64(n)), client)
	}
	splice(client, src, up, p.idle)
}

// checkedKey carries the *target a forwarded request was authorized for
// to the transport's dialer.
type checkedKey struct{}

// transportDial is the forwarding transport's dialer: it dials only the
// addresses checked for the request being sent, never resolving again.
func (p *Proxy) transportDial(ctx context.Context, network, addr string) (net.Conn, error) {
	t, _ := ctx.Value(checkedKey{}).(*target)
	if t == nil {
		return nil, errors.New("egress: dial without a policy check")
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port != strconv.Itoa(t.t.Port) {
		return nil, fmt.Errorf("egress: dial address %q does not match the checked target %s", addr, t.t.HostPort())
	}
	return p.dialChecked(ctx, t.ips, t.t.Port)
}

// rewrite prepares a forwarded request: hop-by-hop headers are already
// gone; Proxy-* headers go too, and the Host header is taken from the
// request URL (an absolute-form request's authority wins over Host).
func rewrite(pr *httputil.ProxyRequest) {
	pr.Out.Host = ""
	stripProxyHeaders(pr.Out.Header)
}

func stripProxyHeaders(h http.Header) {
	for k := range h {
		if len(k) >= 6 && strings.EqualFold(k[:6], "proxy-") {
			delete(h, k)
		}
	}
}

// splice copies between a (reading from ar, which starts with any bytes
// already buffered for a) and b in both directions until both directions
// end, propagating half-closes, and closes both. With idle > 0, it closes
// both after idle without traffic in either direction.
func splice(a net.Conn, ar io.Reader, b net.Conn, idle time.Duration) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	touch := func() { last.Store(time.Now().UnixNano()) }
	closeBoth := func() { a.Close(); b.Close() }

	done := make(chan struct{})
	if idle > 0 {
		go func() {
			tm := time.NewTimer(idle)
			defer tm.Stop()
			for {
				select {
				case <-done:
					return
				case <-tm.C:
					d := time.Since(time.Unix(0, last.Load()))
					if d >= idle {
						closeBoth()
						return
					}
					tm.Reset(idle - d)
				}
			}
		}()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		copyHalf(b, ar, touch, closeBoth)
	}()
	copyHalf(a, b, touch, closeBoth)
	wg.Wait()
	close(done)
	closeBoth()
}

// copyHalf copies src to dst. At a clean EOF it half-closes dst (if it
// can) so the peer sees the end of the stream; on any error, or if dst
// cannot half-close, it closes both sides.
func copyHalf(dst net.Conn, src io.Reader, touch, closeBoth func()) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			touch()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				closeBoth()
				return
			}
		}
		if err == io.EOF {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				return
			}
			closeBoth()
			return
		}
		if err != nil {
			closeBoth()
			return
		}
	}
}

// panicCount reports handler panics recovered so far (for tests).
func (p *Proxy) panicCount() (int64, string) {
	s, _ := p.lastPanic.Load().(string)
	return p.panics.Load(), s
}

package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// proxyURL is the fixed proxy URL a Transport uses. The host is never
// resolved: DialContextVia connects every proxy connection to the socket.
var proxyURL = &url.URL{Scheme: "http", Host: "ccos-egress"}

// DialContextVia returns a DialContext that ignores its address and
// connects to the proxy's Unix socket at socketPath. It is meant for an
// http.Transport whose Proxy is the fixed URL "http://ccos-egress" (see
// Transport); used on its own
// it yields raw connections to the proxy, which expects proxy requests.
func DialContextVia(socketPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: dialTimeout}
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", socketPath)
	}
}

// Transport returns an http.Transport for use inside the sandbox that
// sends every request through the proxy at socketPath: its Proxy is the
// fixed URL "http://ccos-egress" and its DialContext is DialContextVia(socketPath), so
// plain HTTP goes as absolute-form requests and HTTPS as CONNECT tunnels
// (TLS is end to end, verified by the transport as usual). Environment
// proxy settings are ignored.
func Transport(socketPath string) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyURL(proxyURL),
		DialContext:           DialContextVia(socketPath),
		ForceAttemptHTTP2:     true, // HTTP/2 inside CONNECT tunnels
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Forward listens on listenAddr (e.g. "127.0.0.1:0", inside the sandbox's
// own loopback) and forwards every accepted TCP connection to the Unix
// socket at socketPath, byte for byte; it returns the bound address (for
// HTTP_PROXY=http://ADDR). It stops listening and closes the connections
// it forwards when ctx is done.
func Forward(ctx context.Context, listenAddr, socketPath string) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listenAddr)
	if err != nil {
		return nil, err
	}
	f := &forwarder{conns: make(map[net.Conn]struct{})}
	go func() {
		<-ctx.Done()
		ln.Close()
		f.closeAll()
	}()
	go f.serve(ctx, ln, socketPath)
	return ln.Addr(), nil
}

type forwarder struct {
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (f *forwarder) serve(ctx context.Context, ln net.Listener, socketPath string) {
	dial := DialContextVia(socketPath)
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary trouble such as running out of file
			// descriptors: back off as net/http does.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			continue
		}
		delay = 0
		go func() {
			u, err := dial(ctx, "", "")
			if err != nil {
				c.Close()
				return
			}
			if !f.add(c, u) {
				return
			}
			defer f.remove(c, u)
			splice(c, c, u, 0)
		}()
	}
}

func (f *forwarder) add(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *forwarder) remove(conns ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range conns {
		delete(f.conns, c)
	}
}

func (f *forwarder) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
}

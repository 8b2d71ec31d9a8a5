package egress

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pipeDial answers every dial with an in-memory connection to a tiny
// HTTP server, so fuzzed requests that pass the policy never reach the
// network.
func pipeDial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, s := net.Pipe()
	go func() {
		defer s.Close()
		s.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(s)); err != nil {
			return
		}
		io.WriteString(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	}()
	return c, nil
}

// FuzzProxyRequest writes arbitrary bytes to the proxy socket: the proxy
// must never panic and must keep serving afterwards.
func FuzzProxyRequest(f *testing.F) {
	for _, s := range []string{
		"GET http://public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n",
		"CONNECT public.test:443 HTTP/1.1\r\nHost: public.test:443\r\n\r\nhello",
		"CONNECT rebind.test:80 HTTP/1.1\r\n\r\n",
		"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n",
		"GET http://[::ffff:127.0.0.1]:80/ HTTP/1.1\r\n\r\n",
		"POST http://public.test/p HTTP/1.1\r\nContent-Length: 5\r\nProxy-Authorization: x\r\nConnection: close\r\n\r\nhello",
		"GET http://public.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET http://public.test/ HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"GET http://public.test/ HTTP/1.1\r\n\r\nGET http://denied.test/ HTTP/1.1\r\n\r\n",
		"GET https://public.test/ HTTP/1.1\r\n\r\n",
		"CONNECT 0x7f.1:80 HTTP/1.1\r\n\r\n",
		"CONNECT [::1]:80 HTTP/1.1\r\n\r\n",
		"GET http://xn--bcher-kva.test/ HTTP/1.1\r\n\r\n",
		"GET http://B\xc3\xbccher.test/ HTTP/1.1\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"garbage",
		"",
		"\x16\x03\x01\x00\x05hello",
	} {
		f.Add([]byte(s))
	}
	names := map[string][]string{
		"public.test": {"93.184.215.14"},
		"rebind.test": {"127.0.0.1"},
		"denied.test": {"93.184.215.15"},
	}
	p := startProxy(f, Options{
		Policy:      Policy{Allow: []string{"*", "10.0.0.0/8"}, Deny: []string{"denied.test"}},
		Resolver:    &fakeResolver{m: names},
		Dial:        pipeDial,
		IdleTimeout: time.Second,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("unix", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		go func() {
			c.Write(data)
			c.(*net.UnixConn).CloseWrite()
		}()
		io.Copy(io.Discard, c)
		c.Close()

		// The proxy still answers, and has not panicked.
		c, err = net.Dial("unix", p.Addr())
		if err != nil {
			t.Fatalf("proxy stopped accepting: %v", err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "CONNECT denied.test:443 HTTP/1.1\r\nHost: denied.test:443\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("proxy no longer serving: %v %v", resp, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "deny pattern") {
			t.Fatalf("unexpected refusal %q", b)
		}
		if n, s := p.panicCount(); n != 0 {
			t.Fatalf("proxy handler panicked: %s", s)
		}
	})
}

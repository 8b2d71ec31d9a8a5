package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeResolver resolves names from a fixed table and records lookups.
type fakeResolver struct {
	m     map[string][]string
	mu    sync.Mutex
	calls []string
}

func (f *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.mu.Lock()
	f.calls = append(f.calls, host)
	f.mu.Unlock()
	ips, ok := f.m[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func (f *fakeResolver) looked(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == host {
			return true
		}
	}
	return false
}

// fakeDial records the addresses the proxy dials and connects them all to
// one local address instead (so nothing goes to the internet).
type fakeDial struct {
	to    string
	mu    sync.Mutex
	addrs []string
}

func (f *fakeDial) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.addrs = append(f.addrs, addr)
	f.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, f.to)
}

func (f *fakeDial) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.addrs...)
}

// socketPath returns a short socket path (Unix socket paths are limited
// to about 108 bytes, which t.TempDir can exceed).
func socketPath(t testing.TB) string {
	dir, err := os.MkdirTemp("", "egress")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

func startProxy(t testing.TB, o Options) *Proxy {
	t.Helper()
	p, err := Start(context.Background(), socketPath(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n, s := p.panicCount(); n != 0 {
			t.Errorf("proxy handler panicked %d times; last: %s", n, s)
		}
	})
	return p
}

// upstream is a test server that echoes its name and records requests.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newUpstream(t testing.TB, name string, tlsServer bool) *upstream {
	u := &upstream{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, r)
		u.mu.Unlock()
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})
	if tlsServer {
		u.Server = httptest.NewTLSServer(h)
	} else {
		u.Server = httptest.NewServer(h)
	}
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return nil
	}
	return u.reqs[len(u.reqs)-1]
}

func port(t testing.TB, rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func get(t testing.TB, c *http.Client, rawURL string) (int, string) {
	t.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// raw sends req over a new connection to addr ("unix" socket path or
// TCP address) and reads one response.
func raw(t testing.TB, network, addr, req string) (*http.Response, string, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading response to %q: %v", req, err)
	}
	var body string
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(req, "CONNECT") {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp, body, c, br
}

func TestLocalServersThroughTransport(t *testing.T) {
	s1 := newUpstream(t, "one", false)
	s2 := newUpstream(t, "two", false)
	p1, p2 := port(t, s1.URL), port(t, s2.URL)
	var mu sync.Mutex
	var seen []Denial
	p := startProxy(t, Options{
		Policy: Policy{Allow: []string{"127.0.0.1:" + strconv.Itoa(p1)}},
		OnDeny: func(d Denial) { mu.Lock(); seen = append(seen, d); mu.Unlock() },
	})
	c := &http.Client{Transport: Transport(p.Addr()), Timeout: 10 * time.Second}

	for _, tc := range []struct {
		url      string
		status   int
		body     string
		denyPort int
	}{
		{s1.URL + "/a", 200, "one /a", 0},
		{s2.URL + "/b", 403, "not on the egress allow list", p2},
		{s1.URL + "/c", 200, "one /c", 0},
	} {
		status, body := get(t, c, tc.url)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tc.url, status, body, tc.status, tc.body)
		}
	}
	ds := p.Denials()
	if len(ds) != 1 {
		t.Fatalf("Denials = %+v, want one", ds)
	}
	d := ds[0]
	if d.Host != "127.0.0.1" || d.Port != p2 || d.Reason == "" || d.Time.IsZero() {
		t.Errorf("Denial = %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != d {
		t.Errorf("OnDeny saw %+v, want %+v", seen, d)
	}
}

func TestHTTPSViaConnect(t *testing.T) {
	ts := newUpstream(t, "tls", true)
	pt := strconv.Itoa(port(t, ts.URL))
	for _, tc := range []struct {
		allow  string
		ok     bool
		reason string
	}{
		{"127.0.0.1:" + pt, true, ""},
		{"127.0.0.0/8", true, ""},
		{"*:" + pt, false, "loopback"}, // a wildcard never reaches a loopback address
		{"127.0.0.1:1", false, "not on the egress allow list"},
	} {
		t.Run(tc.allow, func(t *testing.T) {
			p := startProxy(t, Options{Policy: Policy{Allow: []string{tc.allow}}})
			tr := Transport(p.Addr())
			tr.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			defer tr.CloseIdleConnections()
			resp, err := c.Get(ts.URL + "/secure")
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "tls /secure" || resp.TLS == nil {
					t.Fatalf("got %d %q (TLS %v)", resp.StatusCode, b, resp.TLS != nil)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("CONNECT succeeded, want refusal")
			}
			ds := p.Denials()
			if len(ds) != 1 || !strings.Contains(ds[0].Reason, tc.reason) {
				t.Fatalf("Denials = %+v, want one mentioning %q", ds, tc.reason)
			}
			// The raw CONNECT answer is a 403 with the reason.
			resp2, body, _, _ := raw(t, "unix", p.Addr(), "CONNECT 127.0.0.1:"+pt+" HTTP/1.1\r\nHost: 127.0.0.1:"+pt+"\r\n\r\n")
			if resp2.StatusCode != 403 || !strings.Contains(body, tc.reason) {
				t.Fatalf("raw CONNECT = %d %q", resp2.StatusCode, body)
			}
		})
	}
}

var testNames = map[string][]string{
	"rebind.test":      {"127.0.0.1"},
	"public.test":      {"93.184.215.14"},
	"public2.test":     {"93.184.215.15", "93.184.215.16"},
	"mixed.test":       {"93.184.215.14", "10.0.0.5"},
	"metadata.test":    {"169.254.169.254"},
	"api.example.test": {"93.184.215.20"},
	"v6.test":          {"2606:4700::1111"},
	"mapped.test":      {"::ffff:127.0.0.1"},
	"nat64.test":       {"64:ff9b::a00:1"},
	"cgnat.test":       {"100.64.1.1"},
	"internal.test":    {"10.1.2.3"},
	"good.example.org": {"93.184.215.30"},
	"bad.example.org":  {"93.184.215.31"},
	"example.com":      {"93.184.215.34"},
}

func TestPolicy(t *testing.T) {
	up := newUpstream(t, "up", false)
	for _, tc := range []struct {
		name   string
		allow  []string
		deny   []string
		url    string
		status int
		dialed string // the exact address dialed, for allowed requests
		reason []string
		ip     string // Denial.IP
		noDNS  bool   // the name must not have been resolved
	}{
		{name: "rebinding to loopback", allow: []string{"rebind.test"}, url: "http://rebind.test/", status: 403,
			reason: []string{"127.0.0.1", "loopback"}, ip: "127.0.0.1"},
		{name: "public name dialed at its checked address", allow: []string{"rebind.test", "public.test"}, url: "http://public.test/x", status: 200,
			dialed: "93.184.215.14:80"},
		{name: "several addresses", allow: []string{"*"}, url: "http://public2.test:8080/", status: 200, dialed: "93.184.215.15:8080"},
		{name: "public IPv6", allow: []string{"*"}, url: "http://v6.test/", status: 200, dialed: "[2606:4700::1111]:80"},
		{name: "metadata literal", allow: []string{"*"}, url: "http://169.254.169.254/latest/meta-data/", status: 403,
			reason: []string{"169.254.169.254", "metadata"}, ip: "169.254.169.254"},
		{name: "metadata by name", allow: []string{"metadata.test"}, url: "http://metadata.test/", status: 403,
			reason: []string{"169.254.169.254", "link-local"}, ip: "169.254.169.254"},
		{name: "star allows public", allow: []string{"*"}, url: "http://public.test/", status: 200, dialed: "93.184.215.14:80"},
		{name: "star refuses 10/8", allow: []string{"*"}, url: "http://10.0.0.1/", status: 403, reason: []string{"private"}, ip: "10.0.0.1"},
		{name: "star refuses 192.168/16", allow: []string{"*"}, url: "http://192.168.1.1/", status: 403, reason: []string{"private"}},
		{name: "star refuses 172.16/12", allow: []string{"*"}, url: "http://172.20.0.1/", status: 403, reason: []string{"private"}},
		{name: "star refuses CGNAT", allow: []string{"*"}, url: "http://100.64.0.1/", status: 403, reason: []string{"CGNAT"}},
		{name: "star refuses CGNAT name", allow: []string{"*"}, url: "http://cgnat.test/", status: 403, reason: []string{"CGNAT"}},
		{name: "star refuses ::1", allow: []string{"*"}, url: "http://[::1]:8080/", status: 403, reason: []string{"loopback"}},
		{name: "star refuses fe80::/10", allow: []string{"*"}, url: "http://[fe80::1]/", status: 403, reason: []string{"link-local"}},
		{name: "star refuses fc00::/7", allow: []string{"*"}, url: "http://[fd12::1]/", status: 403, reason: []string{"unique local"}},
		{name: "star refuses unspecified", allow: []string{"*"}, url: "http://0.0.0.0/", status: 403, reason: []string{"unspecified"}},
		{name: "star refuses 0/8", allow: []string{"*"}, url: "http://0.1.2.3/", status: 403, reason: []string{"this network"}},
		{name: "star refuses multicast", allow: []string{"*"}, url: "http://224.0.0.1/", status: 403, reason: []string{"multicast"}},
		{name: "star refuses broadcast", allow: []string{"*"}, url: "http://255.255.255.255/", status: 403, reason: []string{"reserved"}},
		{name: "mapped literal", allow: []string{"*"}, url: "http://[::ffff:127.0.0.1]/", status: 403, reason: []string{"127.0.0.1", "loopback"}},
		{name: "mapped by name", allow: []string{"*"}, url: "http://mapped.test/", status: 403, reason: []string{"127.0.0.1", "loopback"}},
		{name: "NAT64 of private", allow: []string{"*"}, url: "http://nat64.test/", status: 403, reason: []string{"NAT64", "private"}},
		{name: "any private address refuses the name", allow: []string{"*"}, url: "http://mixed.test/", status: 403,
			reason: []string{"10.0.0.5"}, ip: "10.0.0.5"},
		{name: "star with port is still a wildcard", allow: []string{"*:80"}, url: "http://10.0.0.1/", status: 403, reason: []string{"private"}},
		{name: "explicit CIDR allows private literal", allow: []string{"10.0.0.0/8"}, url: "http://10.0.0.1/", status: 200, dialed: "10.0.0.1:80"},
		{name: "explicit CIDR allows private name", allow: []string{"internal.test", "10.0.0.0/8"}, url: "http://internal.test:81/", status: 200,
			dialed: "10.1.2.3:81"},
		{name: "explicit IP with other port does not", allow: []string{"rebind.test", "127.0.0.1:9"}, url: "http://rebind.test/", status: 403,
			reason: []string{"loopback"}},
		{name: "deny wins by name", allow: []string{"*.example.org"}, deny: []string{"bad.example.org"}, url: "http://bad.example.org/", status: 403,
			reason: []string{"deny pattern"}, noDNS: true},
		{name: "deny leaves others", allow: []string{"*.example.org"}, deny: []string{"bad.example.org"}, url: "http://good.example.org/", status: 200,
			dialed: "93.184.215.30:80"},
		{name: "deny wins over explicit IP", allow: []string{"127.0.0.1"}, deny: []string{"127.0.0.0/8"}, url: "http://127.0.0.1:8080/", status: 403,
			reason: []string{"deny pattern"}},
		{name: "deny by resolved address", allow: []string{"*"}, deny: []string{"93.184.215.0/24"}, url: "http://public.test/", status: 403,
			reason: []string{"93.184.215.14", "deny pattern"}, ip: "93.184.215.14"},
		{name: "deny star", allow: []string{"*"}, deny: []string{"*"}, url: "http://public.test/", status: 403, reason: []string{"deny pattern"}, noDNS: true},
		{name: "empty allow list", url: "http://public.test/", status: 403, reason: []string{"allow list is empty"}, noDNS: true},
		{name: "not allowed is not resolved", allow: []string{"other.test"}, url: "http://public.test/", status: 403, reason: []string{"not on the egress allow list"}, noDNS: true},
		{name: "port pattern", allow: []string{"public.test:8443"}, url: "http://public.test/", status: 403, reason: []string{"not on the egress allow list"}},
		{name: "port pattern match", allow: []string{"public.test:8443"}, url: "http://public.test:8443/", status: 200, dialed: "93.184.215.14:8443"},
		{name: "uppercase spelling", allow: []string{"api.example.test"}, url: "http://API.Example.TEST/", status: 200, dialed: "93.184.215.20:80"},
		{name: "trailing dot spelling", allow: []string{"api.example.test"}, url: "http://api.example.test./", status: 200, dialed: "93.184.215.20:80"},
		{name: "uppercase trailing dot", allow: []string{"api.example.test"}, url: "http://API.EXAMPLE.TEST.:80/", status: 200, dialed: "93.184.215.20:80"},
		{name: "pattern spelling", allow: []string{"API.Example.Test."}, url: "http://api.example.test/", status: 200, dialed: "93.184.215.20:80"},
		{name: "subdomain wildcard", allow: []string{"*.example.test"}, url: "http://api.example.test/", status: 200, dialed: "93.184.215.20:80"},
		{name: "unresolvable is a gateway error", allow: []string{"*"}, url: "http://nx.test/", status: 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &fakeResolver{m: testNames}
			fd := &fakeDial{to: up.Listener.Addr().String()}
			p := startProxy(t, Options{Policy: Policy{Allow: tc.allow, Deny: tc.deny}, Resolver: res, Dial: fd.Dial})
			tr := Transport(p.Addr())
			defer tr.CloseIdleConnections()
			status, body := get(t, &http.Client{Transport: tr, Timeout: 10 * time.Second}, tc.url)
			if status != tc.status {
				t.Fatalf("status %d %q, want %d", status, body, tc.status)
			}
			ds := p.Denials()
			switch tc.status {
			case 200:
				if got := fd.dialed(); len(got) != 1 || got[0] != tc.dialed {
					t.Errorf("dialed %q, want exactly [%s]", got, tc.dialed)
				}
				if !strings.HasPrefix(body, "up /") {
					t.Errorf("body %q", body)
				}
				if len(ds) != 0 {
					t.Errorf("Denials = %+v", ds)
				}
			case 403:
				if got := fd.dialed(); len(got) != 0 {
					t.Errorf("refused request dialed %q", got)
				}
				if len(ds) != 1 {
					t.Fatalf("Denials = %+v, want one", ds)
				}
				for _, r := range tc.reason {
					if !strings.Contains(ds[0].Reason, r) || !strings.Contains(body, r) {
						t.Errorf("reason %q / body %q does not mention %q", ds[0].Reason, body, r)
					}
				}
				if tc.ip != "" && ds[0].IP != tc.ip {
					t.Errorf("Denial.IP = %q, want %q", ds[0].IP, tc.ip)
				}
				u, _ := url.Parse(tc.url)
				if ds[0].Host != u.Hostname() {
					t.Errorf("Denial.Host = %q, want %q", ds[0].Host, u.Hostname())
				}
				if tc.noDNS && len(res.calls) != 0 {
					t.Errorf("refused name was resolved: %q", res.calls)
				}
			default:
				if len(ds) != 0 {
					t.Errorf("Denials = %+v", ds)
				}
			}
		})
	}
}

// TestRebindingConnect checks the CONNECT path dials the checked address:
// the fake dialer leads to a local TLS server whose certificate is valid
// for example.com.
func TestRebindingConnect(t *testing.T) {
	ts := newUpstream(t, "tls", true)
	for _, tc := range []struct {
		names  map[string][]string
		ok     bool
		dialed string
	}{
		{map[string][]string{"example.com": {"93.184.215.34"}}, true, "93.184.215.34:443"},
		{map[string][]string{"example.com": {"127.0.0.1"}}, false, ""},
		{map[string][]string{"example.com": {"169.254.169.254"}}, false, ""},
	} {
		fd := &fakeDial{to: ts.Listener.Addr().String()}
		res := &fakeResolver{m: tc.names}
		p := startProxy(t, Options{Policy: Policy{Allow: []string{"example.com:443"}}, Resolver: res, Dial: fd.Dial})
		tr := Transport(p.Addr())
		tr.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://example.com/r")
		if tc.ok {
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "tls /r" {
				t.Errorf("body %q", b)
			}
		} else if err == nil {
			resp.Body.Close()
			t.Errorf("%v: CONNECT succeeded", tc.names)
		}
		if got := fd.dialed(); tc.ok && (len(got) != 1 || got[0] != tc.dialed) || !tc.ok && len(got) != 0 {
			t.Errorf("%v: dialed %q, want %q", tc.names, got, tc.dialed)
		}
		if n := len(p.Denials()); tc.ok == (n != 0) {
			t.Errorf("%v: %d denials", tc.names, n)
		}
		tr.CloseIdleConnections()
	}
}

func TestHeaders(t *testing.T) {
	up := newUpstream(t, "up", false)
	hp := up.Listener.Addr().String()
	p := startProxy(t, Options{Policy: Policy{Allow: []string{hp}}})
	resp, body, _, _ := raw(t, "unix", p.Addr(), "GET http://"+hp+"/h?q=1 HTTP/1.1\r\n"+
		"Host: evil.example\r\n"+
		"Proxy-Authorization: Basic eDp5\r\n"+
		"Proxy-Connection: keep-alive\r\n"+
		"Proxy-Foo: bar\r\n"+
		"Connection: X-Secret\r\n"+
		"X-Secret: 1\r\n"+
		"Keep-Alive: timeout=5\r\n"+
		"Accept-Encoding: identity\r\n"+
		"X-Keep: yes\r\n\r\n")
	if resp.StatusCode != 200 || body != "up /h" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	r := up.last()
	if r.Host != hp {
		t.Errorf("upstream Host = %q, want %q", r.Host, hp)
	}
	if r.URL.RawQuery != "q=1" || r.RequestURI != "/h?q=1" {
		t.Errorf("upstream RequestURI = %q", r.RequestURI)
	}
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "proxy-") || k == "X-Secret" || k == "Keep-Alive" {
			t.Errorf("upstream saw header %s", k)
		}
	}
	if r.Header.Get("X-Keep") != "yes" || r.Header.Get("Accept-Encoding") != "identity" {
		t.Errorf("upstream headers %v", r.Header)
	}
}

func TestForward(t *testing.T) {
	up := newUpstream(t, "up", false)
	hp := up.Listener.Addr().String()
	p := startProxy(t, Options{Policy: Policy{Allow: []string{hp}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Forward(ctx, "127.0.0.1:0", p.Addr())
	if err != nil {
		t.Fatal(err)
	}

	// Absolute-form, as curl sends with HTTP_PROXY.
	resp, body, _, _ := raw(t, "tcp", addr.String(), "GET http://"+hp+"/plain HTTP/1.1\r\nHost: "+hp+"\r\nUser-Agent: curl/8\r\nProxy-Connection: Keep-Alive\r\n\r\n")
	if resp.StatusCode != 200 || body != "up /plain" {
		t.Fatalf("absolute-form: %d %q", resp.StatusCode, body)
	}
	// CONNECT, as curl sends for HTTPS_PROXY (or --proxytunnel).
	resp, _, conn, br := raw(t, "tcp", addr.String(), "CONNECT "+hp+" HTTP/1.1\r\nHost: "+hp+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	fmt.Fprintf(conn, "GET /tunnel HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", hp)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "up /tunnel" {
		t.Fatalf("through tunnel: %q", b)
	}
	// Refusals come back through the forwarder too.
	resp, body, _, _ = raw(t, "tcp", addr.String(), "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
	if resp.StatusCode != 403 || !strings.Contains(body, "refused") {
		t.Fatalf("refused: %d %q", resp.StatusCode, body)
	}
	// A Go client configured like HTTP_PROXY=http://ADDR.
	pu, _ := url.Parse("http://" + addr.String())
	tr := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer tr.CloseIdleConnections()
	if status, body := get(t, &http.Client{Transport: tr, Timeout: 10 * time.Second}, up.URL+"/go"); status != 200 || body != "up /go" {
		t.Fatalf("Go client via forwarder: %d %q", status, body)
	}

	// An open connection, then cancel: the forwarder stops.
	idle, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(50 * time.Millisecond)
	cancel()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("open forwarded connection after cancel: read err %v, want EOF/closed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("forwarder still accepting after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestBadRequests(t *testing.T) {
	up := newUpstream(t, "up", false)
	hp := up.Listener.Addr().String()
	res := &fakeResolver{m: testNames}
	p := startProxy(t, Options{Policy: Policy{Allow: []string{hp, "*"}}, Resolver: res})
	for _, tc := range []struct {
		req    string
		status int
	}{
		{"garbage\r\n\r\n", 400},
		{"\x00\x01\x02\x03\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: public.test\r\n\r\n", 400},
		{"GET /x HTTP/1.0\r\n\r\n", 400},
		{"CONNECT nohost HTTP/1.1\r\nHost: nohost\r\n\r\n", 400},
		{"CONNECT :80 HTTP/1.1\r\nHost: :80\r\n\r\n", 400},
		{"CONNECT public.test: HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT public.test:0 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT public.test:99999 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT public.test:+80 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT /path HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET ftp://public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n", 400},
		{"GET http:///nohost HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET http://public.test/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"GET http://public.test/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
		{"GET http://public.test/ HTTP/1.1\r\nBad Header\r\n\r\n", 400},
		{"GET http://public.test/ HTTP/9.9\r\n\r\n", 505},
		{"GET http://public.test/ HTTP/1.1\r\nX: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431},
		// Obfuscated or invalid hosts are refused (and reported).
		{"CONNECT 0x7f.1:80 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"CONNECT 127.1:80 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"GET http://2130706433/ HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"GET http://0177.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"CONNECT [fe80::1%25eth0]:80 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"CONNECT a..b:80 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
	} {
		c, err := net.Dial("unix", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go io.WriteString(c, tc.req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("%.60q: %v", tc.req, err)
		} else if resp.StatusCode != tc.status {
			t.Errorf("%.60q: status %d, want %d", tc.req, resp.StatusCode, tc.status)
		}
		c.Close()
	}
	for _, d := range p.Denials() {
		if !strings.Contains(d.Reason, "invalid") && !strings.Contains(d.Reason, "looks like") {
			t.Errorf("unexpected denial %+v", d)
		}
	}
	if n := len(p.Denials()); n != 6 {
		t.Errorf("%d denials, want 6: %+v", n, p.Denials())
	}
	// Still serving.
	c := &http.Client{Transport: Transport(p.Addr()), Timeout: 10 * time.Second}
	if status, body := get(t, c, up.URL+"/after"); status != 200 || body != "up /after" {
		t.Fatalf("after garbage: %d %q", status, body)
	}
}

// echoServer accepts connections and echoes; it reports each connection's
// end on the returned channel.
func echoServer(t testing.TB) (string, <-chan error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ended := make(chan error, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, err := io.Copy(c, c)
				ended <- err
			}()
		}
	}()
	return ln.Addr().String(), ended
}

func openTunnel(t testing.TB, sock, hp string) net.Conn {
	t.Helper()
	resp, _, c, br := raw(t, "unix", sock, "CONNECT "+hp+" HTTP/1.1\r\nHost: "+hp+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", resp.StatusCode)
	}
	if br.Buffered() != 0 {
		t.Fatal("unexpected bytes after CONNECT response")
	}
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("echo: %q %v", b, err)
	}
	return c
}

func TestConnectBufferedAndHalfClose(t *testing.T) {
	hp, ended := echoServer(t)
	p := startProxy(t, Options{Policy: Policy{Allow: []string{hp}}})
	c, err := net.Dial("unix", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Data sent in the same write as the CONNECT request reaches upstream.
	io.WriteString(c, "CONNECT "+hp+" HTTP/1.1\r\nHost: "+hp+"\r\n\r\nearly bytes")
	c.(*net.UnixConn).CloseWrite()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "early bytes" {
		t.Fatalf("echoed %q, %v", rest, err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream connection did not end after half-close")
	}
}

func TestCloseStopsTunnels(t *testing.T) {
	hp, ended := echoServer(t)
	p, err := Start(context.Background(), socketPath(t), Options{Policy: Policy{Allow: []string{hp}}})
	if err != nil {
		t.Fatal(err)
	}
	c1 := openTunnel(t, p.Addr(), hp)
	c2 := openTunnel(t, p.Addr(), hp)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []net.Conn{c1, c2} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("tunnel still open after Close: %d %v", n, err)
		}
	}
	for range 2 {
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("upstream side of a tunnel still open after Close")
		}
	}
	if _, err := os.Stat(p.Addr()); !os.IsNotExist(err) {
		t.Errorf("socket still exists after Close: %v", err)
	}
	if c, err := net.Dial("unix", p.Addr()); err == nil {
		c.Close()
		t.Error("dial succeeded after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	hp, ended := echoServer(t)
	p := startProxy(t, Options{Policy: Policy{Allow: []string{hp}}, IdleTimeout: 200 * time.Millisecond})
	c := openTunnel(t, p.Addr(), hp)
	// Traffic keeps it open past the timeout ...
	for range 4 {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(c, "x")
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatalf("tunnel closed while active: %v", err)
		}
	}
	// ... silence closes it.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("idle tunnel not closed: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream not closed")
	}
}

func TestStart(t *testing.T) {
	t.Run("mode", func(t *testing.T) {
		p := startProxy(t, Options{})
		fi, err := os.Stat(p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
			t.Errorf("socket mode %v, want socket 0660", fi.Mode())
		}
	})
	t.Run("existing path", func(t *testing.T) {
		path := socketPath(t)
		if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		if p, err := Start(context.Background(), path, Options{}); err == nil {
			p.Close()
			t.Fatal("Start over an existing file succeeded")
		}
		if b, _ := os.ReadFile(path); string(b) != "keep" {
			t.Error("existing file clobbered")
		}
	})
	t.Run("bad pattern", func(t *testing.T) {
		for _, pol := range []Policy{{Allow: []string{"exa mple.com"}}, {Deny: []string{"10.0.0.0/99"}}} {
			if p, err := Start(context.Background(), socketPath(t), Options{Policy: pol}); err == nil {
				p.Close()
				t.Errorf("Start with %+v succeeded", pol)
			}
		}
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		p, err := Start(ctx, socketPath(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := os.Stat(p.Addr()); os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("proxy still listening after its context was canceled")
			}
			time.Sleep(10 * time.Millisecond)
		}
		p.Close()
	})
}

func TestDenialsBounded(t *testing.T) {
	var n int
	var mu sync.Mutex
	p := startProxy(t, Options{OnDeny: func(Denial) { mu.Lock(); n++; mu.Unlock() }})
	// Each 403 closes its connection.
	for i := 0; i < maxDenials+10; i++ {
		c, err := net.Dial("unix", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "CONNECT x.test:443 HTTP/1.1\r\nHost: x.test:443\r\n\r\n")
		io.Copy(io.Discard, c)
		c.Close()
	}
	if got := len(p.Denials()); got != maxDenials {
		t.Errorf("kept %d denials, want %d", got, maxDenials)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != maxDenials+10 {
		t.Errorf("OnDeny called %d times, want %d", n, maxDenials+10)
	}
}

func TestNonPublic(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true},
		{"93.184.215.14", true},
		{"2606:4700::1111", true},
		{"2001:4860:4860::8888", true},
		{"2001::1", false},         // Teredo
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"10.255.0.1", false},
		{"172.31.255.255", false},
		{"172.32.0.1", true},
		{"192.168.0.1", false},
		{"169.254.169.254", false},
		{"169.254.1.1", false},
		{"100.64.0.0", false},
		{"100.127.255.255", false},
		{"100.128.0.0", true},
		{"0.0.0.0", false},
		{"224.0.0.251", false},
		{"239.255.255.250", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fdff::1", false},
		{"ff02::1", false},
		{"64:ff9b::7f00:1", false},
		{"2002:7f00:1::1", false},
		{"2001:db8::1", false},
		{"fec0::1", false},
	} {
		a, err := netip.ParseAddr(tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := nonPublic(a); (got == "") != tc.public {
			t.Errorf("nonPublic(%s) = %q, want public=%v", tc.addr, got, tc.public)
		}
	}
}

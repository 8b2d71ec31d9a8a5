package caps

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// httpCap builds an http capability from manifest text; %u in src is
// replaced by url.
func httpCap(t *testing.T, src, url string) *Capability {
	t.Helper()
	ms, err := ParseManifests("http.rtfs", []byte(strings.ReplaceAll(src, "%u", url)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewFromManifest(ms[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kwm(kvs ...any) *value.Map {
	b := value.NewMapBuilder()
	for i := 0; i < len(kvs); i += 2 {
		var v value.Value
		switch x := kvs[i+1].(type) {
		case string:
			v = value.String(x)
		case int:
			v = value.Int(x)
		case value.Value:
			v = x
		}
		b.Assoc(value.Keyword(kvs[i].(string)), v)
	}
	return b.Map()
}

func TestHTTPGetQueryHeadersJSON(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"temp": 21.5, "name": "Paris", "tags": ["a", 1], "nested": {"ok": true}}`)
	}))
	defer srv.Close()
	c := httpCap(t, `{:id "weather.current" :provider :http
		:http {:url "%u/v1/current?units=metric" :headers {"Accept" "application/json" "X-Key" "k1"}}
		:input-schema [:tuple [:map [:city :string]]]
		:output-schema [:map [:temp :float] [:name :string]]}`, srv.URL)
	arg := kwm("city", "Paris", "n", 3, "multi", value.NewVector(value.String("a"), value.Keyword("b")),
		"flag", value.True, "skip", nil, "ns/key", "v")
	v, err := Invoke(context.Background(), c, nil, []value.Value{arg})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "GET" || got.URL.Path != "/v1/current" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	q := got.URL.Query()
	for k, want := range map[string]string{"units": "metric", "city": "Paris", "n": "3", "flag": "true", "ns/key": "v"} {
		if q.Get(k) != want {
			t.Errorf("query %s = %q, want %q (%s)", k, q.Get(k), want, got.URL.RawQuery)
		}
	}
	if m := q["multi"]; len(m) != 2 || m[0] != "a" || m[1] != "b" {
		t.Errorf("multi = %q", m)
	}
	if q.Has("skip") {
		t.Error("nil value sent")
	}
	if got.Header.Get("Accept") != "application/json" || got.Header.Get("X-Key") != "k1" {
		t.Errorf("headers %v", got.Header)
	}
	want := value.NewMap(
		value.Keyword("temp"), value.Float(21.5),
		value.Keyword("name"), value.String("Paris"),
		value.Keyword("tags"), value.NewVector(value.String("a"), value.Int(1)),
		value.Keyword("nested"), value.NewMap(value.Keyword("ok"), value.True))
	if !value.Equal(v, want) {
		t.Errorf("result %v, want %v", value.Repr(v), value.Repr(want))
	}

	// Zero arguments: just the URL's own query.
	if _, err := Invoke(context.Background(), httpCap(t, `{:id "a.b" :provider :http :http {:url "%u/x?units=metric"}}`, srv.URL), nil, nil); err != nil {
		t.Fatal(err)
	}
	if got.URL.RawQuery != "units=metric" {
		t.Errorf("query %q", got.URL.RawQuery)
	}
}

func TestHTTPPostJSONBody(t *testing.T) {
	var method, ctype, body, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ctype, auth = r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "created\xff")
	}))
	defer srv.Close()
	c := httpCap(t, `{:id "notes.create" :provider :http
		:http {:url "%u/notes" :method "POST" :headers {"Authorization" "Bearer t"}}}`, srv.URL)
	arg := kwm("title", "hi", "n", 2, "tags", value.NewVector(value.Keyword("a")), "none", nil)
	v, err := Invoke(context.Background(), c, nil, []value.Value{arg})
	if err != nil {
		t.Fatal(err)
	}
	if method != "POST" || ctype != "application/json" || auth != "Bearer t" {
		t.Errorf("request %s %q %q", method, ctype, auth)
	}
	if body != `{"title":"hi","n":2,"tags":["a"],"none":null}` {
		t.Errorf("body %s", body)
	}
	if v != value.String("created\uFFFD") {
		t.Errorf("result %v", value.Repr(v))
	}

	// A configured Content-Type wins; no arguments means no body.
	c = httpCap(t, `{:id "a.b" :provider :http :http {:url "%u" :method "PUT" :headers {"content-type" "application/vnd.x+json"}}}`, srv.URL)
	if _, err := Invoke(context.Background(), c, nil, []value.Value{kwm("a", 1)}); err != nil {
		t.Fatal(err)
	}
	if method != "PUT" || ctype != "application/vnd.x+json" || body != `{"a":1}` {
		t.Errorf("request %s %q %s", method, ctype, body)
	}
	if _, err := Invoke(context.Background(), c, nil, nil); err != nil {
		t.Fatal(err)
	}
	if body != "" {
		t.Errorf("body %q without arguments", body)
	}
}

func TestHTTPOutputModes(t *testing.T) {
	ctype, resp := "", ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		io.WriteString(w, resp)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		output, ctype, resp string
		want                value.Value
		errType             value.Keyword
	}{
		{"", "text/plain", `{"a":1}`, value.String(`{"a":1}`), ""},
		{"", "application/problem+json", `{"a":1}`, kwm("a", 1), ""},
		{"", "application/json", ``, nil, ""},
		{"", "application/json", `{"a":`, nil, value.ErrParse},
		{":json", "text/plain", `[1, 2]`, value.NewVector(value.Int(1), value.Int(2)), ""},
		{":json", "text/plain", `not json`, value.String("not json"), ""},
		{":text", "application/json", `{"a":1}`, value.String(`{"a":1}`), ""},
	} {
		ctype, resp = tc.ctype, tc.resp
		out := ""
		if tc.output != "" {
			out = ":output " + tc.output
		}
		c := httpCap(t, `{:id "a.b" :provider :http :http {:url "%u" `+out+`}}`, srv.URL)
		v, err := Invoke(context.Background(), c, nil, nil)
		if tc.errType != "" {
			var ve *value.Error
			if e, ok := err.(*value.Error); ok {
				ve = e
			}
			if ve == nil || ve.Type != tc.errType {
				t.Errorf("%s %s %q: error %v, want %s", tc.output, tc.ctype, tc.resp, err, tc.errType)
			}
			continue
		}
		if err != nil || !value.Equal(v, tc.want) {
			t.Errorf("%s %s %q: %v, %v; want %v", tc.output, tc.ctype, tc.resp, value.Repr(v), err, value.Repr(tc.want))
		}
	}
}

func TestHTTPStatusError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `no such city`)
	}))
	defer srv.Close()
	c := httpCap(t, `{:id "a.b" :provider :http :http {:url "%u/x"}}`, srv.URL)
	_, err := Invoke(context.Background(), c, nil, []value.Value{kwm("secret", "s3")})
	ve := invWantErr(t, err, value.ErrNetwork, "HTTP status 404")
	if !value.Equal(ve.Data, kwm("status", 404, "body", "no such city")) {
		t.Errorf("data %v", value.Repr(ve.Data))
	}
	if strings.Contains(ve.Message, "s3") {
		t.Errorf("message leaks the query: %s", ve.Message)
	}
}

func TestHTTPTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	c := httpCap(t, `{:id "slow.one" :provider :http :http {:url "%u" :timeout-ms 100}}`, srv.URL)
	start := time.Now()
	_, err := Invoke(context.Background(), c, nil, nil)
	invWantErr(t, err, value.ErrTimeout, "timed out after 100ms")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}

	// The caller's deadline applies too.
	c = httpCap(t, `{:id "slow.one" :provider :http :http {:url "%u"}}`, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = Invoke(ctx, c, nil, nil)
	invWantErr(t, err, value.ErrTimeout, "deadline exceeded")
}

func TestHTTPLimitsAndArgs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 2000))
	}))
	defer srv.Close()
	c := httpCap(t, `{:id "a.b" :provider :http :http {:url "%u"}}`, srv.URL)
	old := maxHTTPResponse
	maxHTTPResponse = 1000
	_, err := Invoke(context.Background(), c, nil, nil)
	maxHTTPResponse = old
	invWantErr(t, err, value.ErrResource, "larger than 1000 bytes")
	if v, err := Invoke(context.Background(), c, nil, []value.Value{nil}); err != nil || len(v.(value.String)) != 2000 {
		t.Errorf("nil argument: %v", err)
	}

	_, err = Invoke(context.Background(), c, nil, []value.Value{kwm(), kwm()})
	invWantErr(t, err, value.ErrArity, "expected 0 or 1 argument")
	_, err = Invoke(context.Background(), c, nil, []value.Value{value.String("x")})
	invWantErr(t, err, value.ErrType, "expected a map argument, got string")
	_, err = Invoke(context.Background(), c, nil, []value.Value{kwm("a", kwm())})
	invWantErr(t, err, value.ErrType, `query parameter "a": cannot send map`)

	post := httpCap(t, `{:id "a.b" :provider :http :http {:url "%u" :method "POST"}}`, srv.URL)
	_, err = Invoke(context.Background(), post, nil, []value.Value{kwm("f", value.Float(math.NaN()))})
	if err == nil {
		t.Error("NaN serialized")
	}
}

func TestHTTPRedirectsAndClient(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other host")
	}))
	defer other.Close()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			io.WriteString(w, "final")
		}
	}))
	defer srv.Close()

	v, err := Invoke(context.Background(), httpCap(t, `{:id "a.b" :provider :http :http {:url "%u/here"}}`, srv.URL), nil, nil)
	if err != nil || v != value.String("final") {
		t.Errorf("same-origin redirect: %v, %v", v, err)
	}
	_, err = Invoke(context.Background(), httpCap(t, `{:id "a.b" :provider :http :http {:url "%u/away"}}`, srv.URL), nil, nil)
	ve := invWantErr(t, err, value.ErrNetwork, "HTTP status 302")
	if s, _ := ve.Data.(*value.Map).Get(value.Keyword("status")); s != value.Int(302) {
		t.Errorf("status %v", s)
	}

	if tr, ok := defaultHTTPClient().Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Error("default client uses a proxy from the environment")
	}

	// Env.HTTP is used when set.
	used := false
	client := &http.Client{Transport: roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := httpCap(t, `{:id "a.b" :provider :http :http {:url "%u/final"}}`, srv.URL)
	if _, err := Invoke(context.Background(), c, &Env{HTTP: client}, nil); err != nil || !used {
		t.Errorf("Env.HTTP: used %v, %v", used, err)
	}

	// Connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Invoke(context.Background(), httpCap(t, `{:id "a.b" :provider :http :http {:url "%u"}}`, "http://"+addr), nil, nil)
	invWantErr(t, err, value.ErrNetwork, "GET http://"+addr)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

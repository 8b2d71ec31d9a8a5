package caps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/value"
)

// DefaultHTTPTimeout is the timeout of an http capability call whose
// manifest sets none.
const DefaultHTTPTimeout = 30 * time.Second

// maxHTTPResponse caps the response body an http capability reads; a
// variable so tests can lower it.
var maxHTTPResponse int64 = 16 << 20

// maxErrorBody caps the body kept in the data of a non-2xx error.
const maxErrorBody = 64 << 10

// defaultHTTPClient is used when Env.HTTP is nil: no proxy from the
// environment, bounded dialing and TLS handshakes, and redirects followed
// only within the same scheme, host and port (the authorizer checked the
// configured URL, not wherever a server redirects to). Each call copies
// it and sets Timeout to the call's timeout.
var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{
		Transport: t,
		Timeout:   DefaultHTTPTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if o := via[0].URL; req.URL.Scheme != o.Scheme || req.URL.Host != o.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
})

// httpProvider returns Run and TargetsOf of an http capability.
//
// Calling convention: zero arguments, or one map argument (nil counts as
// none). For GET, HEAD, DELETE and OPTIONS the map becomes the query
// string, merged with the URL's own query: keys are keywords (their name,
// "ns/name" when namespaced), strings or symbols; values are strings,
// numbers, booleans, keywords (their name) or vectors/lists of those
// (repeated parameters); nil values are left out. For other methods the
// map is sent as the JSON body (stdlib.SerializeJSON) with Content-Type
// application/json unless the manifest's headers set one.
//
// The call times out after the configured timeout (DefaultHTTPTimeout if
// none). The result is the response body: decoded with
// stdlib.ParseJSON(body, true) (keyword keys) when the Content-Type is
// JSON (application/json or */*+json) or, with :output :json, whenever it
// parses; otherwise the body string (invalid UTF-8 replaced by U+FFFD).
// With :output :text it is always the string. An empty JSON body is nil.
// A non-2xx status is a :network-error with Data {:status N :body "..."}
// (the body cut to 64 KiB); a body over 16 MiB is a :resource-error.
// Connection failures are :network-error values and timeouts :timeout.
func httpProvider(id string, cfg *HTTPConfig) (Func, func([]value.Value) (Targets, error)) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	method := cfg.Method
	if method == "" {
		method = "GET"
	}
	queryMethod := method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS"
	run := func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		var arg *value.Map
		switch len(args) {
		case 0:
		case 1:
			switch x := args[0].(type) {
			case nil:
			case *value.Map:
				arg = x
			default:
				return nil, value.NewError(value.ErrType, "capability %s: expected a map argument, got %s", id, value.TypeName(x))
			}
		default:
			return nil, value.NewError(value.ErrArity, "capability %s: expected 0 or 1 argument (a map), got %d", id, len(args))
		}
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return nil, value.NewError(value.ErrCapability, "capability %s: invalid url: %v", id, err)
		}
		var body io.Reader
		if arg != nil {
			if queryMethod {
				q := u.Query()
				if err := httpAddQuery(q, arg); err != nil {
					return nil, value.NewError(value.ErrType, "capability %s: %v", id, err)
				}
				u.RawQuery = q.Encode()
			} else {
				s, err := stdlib.SerializeJSON(arg)
				if err != nil {
					return nil, err
				}
				body = strings.NewReader(s)
			}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(cctx, method, u.String(), body)
		if err != nil {
			return nil, value.NewError(value.ErrCapability, "capability %s: %v", id, err)
		}
		for k, v := range cfg.Headers {
			if strings.EqualFold(k, "Host") {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
		if body != nil && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		var client *http.Client
		if env != nil && env.HTTP != nil {
			client = env.HTTP
		} else {
			c := *defaultHTTPClient()
			c.Timeout = timeout
			client = &c
		}
		what := method + " " + redactURL(u)
		resp, err := client.Do(req)
		if err != nil {
			if cctx.Err() != nil || isTimeoutErr(err) {
				return nil, &value.Error{Type: value.ErrTimeout,
					Message: fmt.Sprintf("capability %s: %s: %s", id, what, provTimeoutWord(ctx, timeout)), Cause: err}
			}
			return nil, &value.Error{Type: value.ErrNetwork,
				Message: fmt.Sprintf("capability %s: %s: %v", id, what, unwrapURLError(err)), Cause: err}
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPResponse+1))
		if err != nil {
			if cctx.Err() != nil || isTimeoutErr(err) {
				return nil, &value.Error{Type: value.ErrTimeout,
					Message: fmt.Sprintf("capability %s: %s: %s reading the response", id, what, provTimeoutWord(ctx, timeout)), Cause: err}
			}
			return nil, &value.Error{Type: value.ErrNetwork,
				Message: fmt.Sprintf("capability %s: %s: reading the response: %v", id, what, err), Cause: err}
		}
		if int64(len(raw)) > maxHTTPResponse {
			return nil, value.NewError(value.ErrResource, "capability %s: %s: response body larger than %d bytes", id, what, maxHTTPResponse)
		}
		text := strings.ToValidUTF8(string(raw), "\uFFFD")
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			eb := text
			if len(eb) > maxErrorBody {
				eb = strings.ToValidUTF8(eb[:maxErrorBody], "")
			}
			return nil, value.NewError(value.ErrNetwork, "capability %s: %s: HTTP status %d", id, what, resp.StatusCode).
				WithData(value.NewMap(value.Keyword("status"), value.Int(resp.StatusCode), value.Keyword("body"), value.String(eb)))
		}
		switch {
		case cfg.Output == HTTPOutputText:
		case isJSONContentType(resp.Header.Get("Content-Type")):
			if strings.TrimSpace(text) == "" {
				return nil, nil
			}
			v, err := stdlib.ParseJSON(text, true)
			if err != nil {
				return nil, &value.Error{Type: value.ErrParse,
					Message: fmt.Sprintf("capability %s: %s: response is declared JSON but does not parse: %v", id, what, err), Cause: err}
			}
			return v, nil
		case cfg.Output == HTTPOutputJSON:
			if v, err := stdlib.ParseJSON(text, true); err == nil {
				return v, nil
			}
		}
		return value.String(text), nil
	}
	targets := func([]value.Value) (Targets, error) {
		return Targets{URLs: []string{cfg.URL}}, nil
	}
	return run, targets
}

func provTimeoutWord(ctx context.Context, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "cancelled"
	}
	if ctx.Err() != nil {
		return "deadline exceeded"
	}
	return "timed out after " + timeout.String()
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL renders u without its query (which may hold secrets) and
// user information.
func redactURL(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery = ""
	r.ForceQuery = false
	return r.String()
}

func isJSONContentType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// httpAddQuery adds the entries of m to q.
func httpAddQuery(q url.Values, m *value.Map) error {
	var err error
	m.Range(func(k, v value.Value) bool {
		var name string
		switch x := k.(type) {
		case value.Keyword:
			name = string(x)
		case value.String:
			name = string(x)
		case value.Symbol:
			name = string(x)
		default:
			err = fmt.Errorf("query keys must be keywords or strings, got %s", value.TypeName(k))
			return false
		}
		var items []value.Value
		switch x := v.(type) {
		case *value.Vector:
			items = x.Items()
		case *value.List:
			items = x.Items()
		default:
			items = []value.Value{v}
		}
		for _, it := range items {
			if it == nil {
				continue
			}
			s, ok := httpScalar(it)
			if !ok {
				err = fmt.Errorf("query parameter %q: cannot send %s", name, value.TypeName(it))
				return false
			}
			q.Add(name, s)
		}
		return true
	})
	return err
}

// httpScalar renders a string, number, boolean or keyword as text:
// strings as they are, keywords and symbols by name (as in JSON), numbers
// and booleans as printed.
func httpScalar(v value.Value) (string, bool) {
	switch x := v.(type) {
	case value.String:
		return string(x), true
	case value.Keyword:
		return string(x), true
	case value.Symbol:
		return string(x), true
	case value.Int, value.Float, value.Bool:
		return value.Repr(x), true
	}
	return "", false
}

package caps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Network defaults of the built-in capabilities.
const (
	// DefaultHTTPFetchTimeout bounds ccos.network.http-fetch without
	// :timeout-ms.
	DefaultHTTPFetchTimeout = 30 * time.Second
	// DefaultLLMTimeout bounds one ccos.ai.llm-execute request.
	DefaultLLMTimeout = 5 * time.Minute
	// biMaxRedirects bounds the same-origin redirects followed.
	biMaxRedirects = 10
)

// biTransport is the default transport of the network built-ins:
// http.DefaultTransport's settings without the proxy from the
// environment (a proxy would bypass the host the authorizer checked).
var biTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return t
}()

// biHTTPClient returns the client for a network built-in: a copy of
// env.HTTP (or a client on biTransport) that follows redirects only
// within the origin (scheme, host and port) of the original request,
// unless env.HTTP sets its own CheckRedirect. A redirect elsewhere is not
// followed: the 3xx response is returned, since the authorizer only
// checked the original URL.
func biHTTPClient(env *Env) *http.Client {
	var c http.Client
	if env.HTTP != nil {
		c = *env.HTTP
	} else {
		c.Transport = biTransport
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = biSameOriginRedirect
	}
	return &c
}

func biSameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= biMaxRedirects {
		return http.ErrUseLastResponse
	}
	o := via[0].URL
	if req.URL.Scheme != o.Scheme || biHostPort(req.URL) != biHostPort(o) {
		return http.ErrUseLastResponse
	}
	return nil
}

func biHostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// biFetchURL parses and checks the URL argument: absolute, http or https,
// with a host.
func biFetchURL(id, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &value.Error{Type: value.ErrNetwork, Message: id + ": invalid URL: " + err.Error(), Cause: err}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, value.Errorf(value.ErrNetwork, "%s: invalid URL %q: need an absolute http or https URL", id, raw)
	}
	return u, nil
}

// biNetErr turns a failed request into :timeout (deadline or
// cancellation) or :network-error.
func biNetErr(ctx context.Context, id string, err error) error {
	if ctx.Err() != nil {
		return biCtxErr(id, ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &value.Error{Type: value.ErrTimeout, Message: id + ": " + err.Error(), Cause: err}
	}
	return &value.Error{Type: value.ErrNetwork, Message: id + ": " + err.Error(), Cause: err}
}

// biReadBody reads at most limit bytes of a response body; a longer body is
// a :limit-exceeded error.
func biReadBody(ctx context.Context, id string, r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, biNetErr(ctx, id, err)
	}
	if int64(len(b)) > limit {
		return nil, biLimitErr(id, "the response body", limit)
	}
	return b, nil
}

const biFetchOpts = "[:map [:method [:union :string :keyword] {:optional true}] " +
	"[:headers [:map-of [:union :string :keyword] :string] {:optional true}] " +
	"[:body :any {:optional true}] [:timeout-ms :int {:optional true}]]"

// httpFetchCap is ccos.network.http-fetch: url opts{:method :headers :body
// :timeout-ms} → {:status N :headers {"name" "value"} :body "text"}.
//
// :method is a string or keyword (default GET); :headers maps names to
// string values; :body is a string, or any other value sent as JSON
// (with Content-Type application/json unless a header sets one);
// :timeout-ms bounds the whole exchange (default 30 s). Response header
// names are lower-case, repeated values joined with ", ". A non-2xx
// status is a result, not an error; transport failures are
// :network-error, timeouts :timeout, a body over 16 MiB :limit-exceeded.
// Redirects are followed only within the URL's origin.
func httpFetchCap() *Capability {
	const id = "ccos.network.http-fetch"
	c := newBuiltin(id, "performs an HTTP request and returns {:status :headers :body}; non-2xx statuses are results, not errors",
		"[:union [:tuple :string] [:tuple :string "+biFetchOpts+"]]",
		"[:map [:status :int] [:headers [:map-of :string :string]] [:body :string]]",
		Effects{Network: biStar()}, "network", "http")
	c.Hints.Download = true
	c.Run = func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 2); err != nil {
			return nil, err
		}
		raw, err := biString(id, args, 0, "the URL")
		if err != nil {
			return nil, err
		}
		u, err := biFetchURL(id, raw)
		if err != nil {
			return nil, err
		}
		opts, err := biOpts(id, args, 1)
		if err != nil {
			return nil, err
		}
		method := "GET"
		if m := biOpt(opts, "method"); m != nil {
			s, ok := biName(m)
			if !ok || s == "" || strings.ContainsAny(s, " \t\r\n()<>@,;:\\\"/[]?={}") {
				return nil, value.Errorf(value.ErrType, "%s: :method must be an HTTP method name, got %s", id, value.Repr(m))
			}
			method = strings.ToUpper(s)
		}
		header := http.Header{}
		if hv := biOpt(opts, "headers"); hv != nil {
			hm, ok := hv.(*value.Map)
			if !ok {
				return nil, biTypeErr(id, ":headers as a map", hv)
			}
			var herr error
			hm.Range(func(k, v value.Value) bool {
				name, ok := biName(k)
				sv, ok2 := v.(value.String)
				if !ok || !ok2 || name == "" {
					herr = value.Errorf(value.ErrType, "%s: :headers must map names to strings, got %s %s", id, value.Repr(k), value.Repr(v))
					return false
				}
				header.Add(name, string(sv))
				return true
			})
			if herr != nil {
				return nil, herr
			}
		}
		var body io.Reader
		switch b := biOpt(opts, "body").(type) {
		case nil:
		case value.String:
			body = strings.NewReader(string(b))
		default:
			s, err := stdlib.SerializeJSON(b)
			if err != nil {
				return nil, err
			}
			body = strings.NewReader(s)
			if header.Get("Content-Type") == "" {
				header.Set("Content-Type", "application/json")
			}
		}
		timeout := DefaultHTTPFetchTimeout
		if ms, err := biOptMs(id, opts, "timeout-ms"); err != nil {
			return nil, err
		} else if ms > 0 {
			timeout = time.Duration(ms) * time.Millisecond
		}
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
		if err != nil {
			return nil, &value.Error{Type: value.ErrNetwork, Message: id + ": " + err.Error(), Cause: err}
		}
		req.Header = header
		resp, err := biHTTPClient(biEnv(env)).Do(req)
		if err != nil {
			return nil, biNetErr(ctx, id, err)
		}
		defer resp.Body.Close()
		b, err := biReadBody(ctx, id, resp.Body, MaxFetchBodyBytes)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			names = append(names, k)
		}
		slices.Sort(names)
		hb := value.NewMapBuilder()
		for _, k := range names {
			hb.Assoc(value.String(strings.ToLower(k)), value.String(strings.Join(resp.Header[k], ", ")))
		}
		return value.NewMap(
			value.Keyword("status"), value.Int(resp.StatusCode),
			value.Keyword("headers"), hb.Map(),
			value.Keyword("body"), value.String(b),
		), nil
	}
	c.TargetsOf = func(args []value.Value) (Targets, error) {
		raw, err := biString(id, args, 0, "the URL")
		if err != nil {
			return Targets{}, err
		}
		if _, err := biFetchURL(id, raw); err != nil {
			return Targets{}, err
		}
		return Targets{URLs: []string{raw}}, nil
	}
	return c
}

// llmExecuteCap is ccos.ai.llm-execute: {:model :prompt :system} →
// string. It POSTs an OpenAI-compatible chat completion to
// {BaseURL}/chat/completions with "Authorization: Bearer APIKey" (when a
// key is set) and returns the first choice's message content. :model
// overrides the configured model; :system adds a system message.
//
// TargetsOf returns no targets because the endpoint comes from env.LLM,
// not from the arguments: the orchestrator adds the configured LLM
// endpoint's URL to the call's targets before authorising it.
func llmExecuteCap() *Capability {
	const id = "ccos.ai.llm-execute"
	c := newBuiltin(id, "asks the configured OpenAI-compatible LLM endpoint (CCOS_LLM_BASE_URL) to complete a prompt and returns the answer text",
		"[:tuple [:map [:prompt :string] [:model :string {:optional true}] [:system :string {:optional true}]]]",
		":string", Effects{Network: biStar()}, "ai", "llm", "network")
	c.Run = func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		m, ok := args[0].(*value.Map)
		if !ok {
			return nil, biTypeErr(id, "a map {:prompt :model :system}", args[0])
		}
		field := func(k string, required bool) (string, error) {
			v := biOpt(m, k)
			if v == nil {
				if required {
					return "", value.Errorf(value.ErrType, "%s: missing :%s", id, k)
				}
				return "", nil
			}
			s, ok := v.(value.String)
			if !ok {
				return "", biTypeErr(id, ":"+k+" as a string", v)
			}
			return string(s), nil
		}
		prompt, err := field("prompt", true)
		if err != nil {
			return nil, err
		}
		model, err := field("model", false)
		if err != nil {
			return nil, err
		}
		system, err := field("system", false)
		if err != nil {
			return nil, err
		}
		env = biEnv(env)
		if env.LLM == nil || env.LLM.BaseURL == "" {
			return nil, value.Errorf(value.ErrCapability, "%s: no LLM is configured; set CCOS_LLM_BASE_URL (an OpenAI-compatible API base such as https://api.openai.com/v1), CCOS_LLM_MODEL and, if the endpoint needs one, CCOS_LLM_API_KEY", id)
		}
		if model == "" {
			model = env.LLM.Model
		}
		if model == "" {
			return nil, value.Errorf(value.ErrCapability, "%s: no model given; pass :model or set CCOS_LLM_MODEL", id)
		}
		endpoint := strings.TrimRight(env.LLM.BaseURL, "/") + "/chat/completions"
		if _, err := biFetchURL(id, endpoint); err != nil {
			return nil, value.Errorf(value.ErrCapability, "%s: CCOS_LLM_BASE_URL %q is not an absolute http or https URL", id, env.LLM.BaseURL)
		}
		type msg struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		reqBody := struct {
			Model    string `json:"model"`
			Messages []msg  `json:"messages"`
		}{Model: model}
		if system != "" {
			reqBody.Messages = append(reqBody.Messages, msg{"system", system})
		}
		reqBody.Messages = append(reqBody.Messages, msg{"user", prompt})
		payload, err := json.Marshal(reqBody)
		if err != nil {
			return nil, biTypeErr(id, "text", args[0])
		}
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, DefaultLLMTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
		if err != nil {
			return nil, &value.Error{Type: value.ErrNetwork, Message: id + ": " + err.Error(), Cause: err}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if env.LLM.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+env.LLM.APIKey)
		}
		resp, err := biHTTPClient(env).Do(req)
		if err != nil {
			return nil, biNetErr(ctx, id, err)
		}
		defer resp.Body.Close()
		b, err := biReadBody(ctx, id, resp.Body, MaxFetchBodyBytes)
		if err != nil {
			return nil, err
		}
		var out struct {
			Choices []struct {
				Message struct {
					Content *string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		jerr := json.Unmarshal(b, &out)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			detail := strings.TrimSpace(string(b))
			if jerr == nil && out.Error != nil && out.Error.Message != "" {
				detail = out.Error.Message
			}
			if len(detail) > 500 {
				detail = detail[:500] + "..."
			}
			return nil, value.Errorf(value.ErrNetwork, "%s: %s returned %s: %s", id, endpoint, resp.Status, detail)
		}
		if jerr != nil {
			return nil, &value.Error{Type: value.ErrNetwork, Message: id + ": invalid response from " + endpoint + ": " + jerr.Error(), Cause: jerr}
		}
		if len(out.Choices) == 0 || out.Choices[0].Message.Content == nil {
			return nil, value.Errorf(value.ErrNetwork, "%s: response from %s has no choices[0].message.content", id, endpoint)
		}
		return value.String(*out.Choices[0].Message.Content), nil
	}
	c.TargetsOf = func(args []value.Value) (Targets, error) { return Targets{}, nil }
	return c
}

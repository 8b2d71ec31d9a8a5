package caps

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// btEchoServer answers with the request's method, path, a header and body.
func btEchoServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Method+" "+r.Header.Get("X-Token")+" "+r.Header.Get("Content-Type")+" "+string(b))
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusNotFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1<<20)
		for range MaxFetchBodyBytes>>20 + 1 {
			io.WriteString(w, chunk)
		}
	})
	mux.HandleFunc("/redirect-here", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusFound)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestBuiltinHTTPFetch(t *testing.T) {
	s := btEchoServer(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other origin")
	}))
	defer other.Close()
	away := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/", http.StatusFound)
	}))
	defer away.Close()

	env, _ := btEnv(t)
	c := btCap(t, "ccos.network.http-fetch")
	get := func(m value.Value, k string) value.Value {
		v, _ := m.(*value.Map).Get(value.Keyword(k))
		return v
	}
	tests := []struct {
		name   string
		args   []value.Value
		status int
		body   string
		header [2]string // a response header that must be present
	}{
		{"get", []value.Value{btStr(s.URL + "/echo")}, 200, "GET   ", [2]string{"x-method", "GET"}},
		{"headers joined", []value.Value{btStr(s.URL + "/echo")}, 200, "GET   ", [2]string{"x-multi", "a, b"}},
		{"post string body", []value.Value{btStr(s.URL + "/echo"), btVal(t, `{:method :post :headers {"X-Token" "t1" :content-type "text/csv"} :body "a,b"}`)}, 200, "POST t1 text/csv a,b", [2]string{"content-type", "text/plain"}},
		{"json body", []value.Value{btStr(s.URL + "/echo"), btVal(t, `{:method "put" :body {:a [1 2]}}`)}, 200, `PUT  application/json {"a":[1,2]}`, [2]string{"x-method", "PUT"}},
		{"non-2xx is a result", []value.Value{btStr(s.URL + "/missing")}, 404, "nope\n", [2]string{}},
		{"same-origin redirect followed", []value.Value{btStr(s.URL + "/redirect-here")}, 200, "GET   ", [2]string{}},
		{"cross-origin redirect not followed", []value.Value{btStr(away.URL + "/")}, 302, "", [2]string{"location", other.URL + "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := btCall(t, c, env, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if get(v, "status") != value.Int(tt.status) {
				t.Errorf("status %v, want %d", get(v, "status"), tt.status)
			}
			if tt.body != "" && get(v, "body") != btStr(tt.body) {
				t.Errorf("body %q, want %q", get(v, "body"), tt.body)
			}
			if tt.header[0] != "" {
				hv, _ := get(v, "headers").(*value.Map).Get(btStr(tt.header[0]))
				if hv != btStr(tt.header[1]) {
					t.Errorf("header %s = %v, want %q (headers %s)", tt.header[0], hv, tt.header[1], value.Repr(get(v, "headers")))
				}
			}
		})
	}

	errTests := []struct {
		name string
		ctx  context.Context
		args []value.Value
		typ  value.Keyword
		msg  string
	}{
		{"timeout-ms", t.Context(), []value.Value{btStr(s.URL + "/slow"), btVal(t, `{:timeout-ms 100}`)}, value.ErrTimeout, "timed out"},
		{"body cap", t.Context(), []value.Value{btStr(s.URL + "/big")}, value.ErrLimit, "16 MiB"},
		{"connection refused", t.Context(), []value.Value{btStr("http://127.0.0.1:1/")}, value.ErrNetwork, ""},
		{"not http", t.Context(), []value.Value{btStr("ftp://example.com/")}, value.ErrNetwork, "absolute http"},
		{"bad method", t.Context(), []value.Value{btStr(s.URL), btVal(t, `{:method "GET /x"}`)}, value.ErrType, ":method"},
		{"bad headers", t.Context(), []value.Value{btStr(s.URL), btVal(t, `{:headers {"X" 1}}`)}, value.ErrType, ":headers"},
		{"bad timeout", t.Context(), []value.Value{btStr(s.URL), btVal(t, `{:timeout-ms 0}`)}, value.ErrType, ":timeout-ms"},
		{"bad opts", t.Context(), []value.Value{btStr(s.URL), value.Int(1)}, value.ErrType, "options"},
	}
	for _, tt := range errTests {
		_, err := c.Run(tt.ctx, env, tt.args)
		if btErrType(err) != tt.typ || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want %s mentioning %q", tt.name, err, tt.typ, tt.msg)
		}
	}

	// Cancelling the call's context stops it.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Run(ctx, env, []value.Value{btStr(s.URL + "/slow")})
	btWantErr(t, err, value.ErrTimeout, "cancelled")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Errorf("cancel: %v after %v", err, time.Since(start))
	}

	// env.HTTP is used when set.
	used := false
	env.HTTP = &http.Client{Transport: btRoundTrip(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	if _, err := btCall(t, c, env, []value.Value{btStr(s.URL + "/echo")}); err != nil || !used {
		t.Errorf("env.HTTP used = %v, err %v", used, err)
	}
}

type btRoundTrip func(*http.Request) (*http.Response, error)

func (f btRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBuiltinHTTPDefaultClientNoProxy(t *testing.T) {
	c := biHTTPClient(&Env{})
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil {
		t.Fatalf("default transport %T uses a proxy from the environment", c.Transport)
	}
	if c.CheckRedirect == nil {
		t.Fatal("no redirect policy")
	}
	// A caller's client is copied, not modified.
	mine := &http.Client{}
	if biHTTPClient(&Env{HTTP: mine}); mine.CheckRedirect != nil {
		t.Fatal("env.HTTP was modified")
	}
}

// btLLMServer is a fake OpenAI-compatible endpoint; it records the last
// request.
type btLLMServer struct {
	*httptest.Server
	auth string
	path string
	req  struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
}

func btNewLLMServer(t *testing.T, status int, reply string) *btLLMServer {
	t.Helper()
	s := &btLLMServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.auth = r.Header.Get("Authorization")
		s.path = r.URL.Path
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", 400)
			return
		}
		json.NewDecoder(r.Body).Decode(&s.req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestBuiltinLLMExecute(t *testing.T) {
	c := btCap(t, "ccos.ai.llm-execute")
	ok := btNewLLMServer(t, 200, `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}]}`)
	env, _ := btEnv(t)
	env.LLM = &LLMConfig{BaseURL: ok.URL + "/v1/", Model: "default-model", APIKey: "sk-test"}

	v, err := btCall(t, c, env, []value.Value{btVal(t, `{:prompt "Capital of France?" :system "Be brief."}`)})
	if err != nil || v != btStr("Paris.") {
		t.Fatalf("llm-execute = %v, %v", v, err)
	}
	if ok.path != "/v1/chat/completions" || ok.auth != "Bearer sk-test" || ok.req.Model != "default-model" {
		t.Errorf("request path %q auth %q model %q", ok.path, ok.auth, ok.req.Model)
	}
	if len(ok.req.Messages) != 2 || ok.req.Messages[0].Role != "system" || ok.req.Messages[0].Content != "Be brief." ||
		ok.req.Messages[1].Role != "user" || ok.req.Messages[1].Content != "Capital of France?" {
		t.Errorf("messages %+v", ok.req.Messages)
	}
	// :model overrides; no key, no Authorization; no system message.
	env.LLM.APIKey = ""
	if _, err := btCall(t, c, env, []value.Value{btVal(t, `{:prompt "hi" :model "other"}`)}); err != nil {
		t.Fatal(err)
	}
	if ok.req.Model != "other" || ok.auth != "" || len(ok.req.Messages) != 1 {
		t.Errorf("model %q auth %q messages %d", ok.req.Model, ok.auth, len(ok.req.Messages))
	}

	denied := btNewLLMServer(t, 401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}`)
	empty := btNewLLMServer(t, 200, `{"choices":[]}`)
	garbage := btNewLLMServer(t, 200, `<html>`)
	tests := []struct {
		name string
		llm  *LLMConfig
		arg  string
		typ  value.Keyword
		msg  string
	}{
		{"not configured", nil, `{:prompt "x"}`, value.ErrCapability, "CCOS_LLM_BASE_URL"},
		{"no model", &LLMConfig{BaseURL: ok.URL}, `{:prompt "x"}`, value.ErrCapability, "CCOS_LLM_MODEL"},
		{"bad base url", &LLMConfig{BaseURL: "localhost:8080", Model: "m"}, `{:prompt "x"}`, value.ErrCapability, "CCOS_LLM_BASE_URL"},
		{"http error", &LLMConfig{BaseURL: denied.URL, Model: "m"}, `{:prompt "x"}`, value.ErrNetwork, "Incorrect API key"},
		{"no choices", &LLMConfig{BaseURL: empty.URL, Model: "m"}, `{:prompt "x"}`, value.ErrNetwork, "no choices"},
		{"not json", &LLMConfig{BaseURL: garbage.URL, Model: "m"}, `{:prompt "x"}`, value.ErrNetwork, "invalid response"},
		{"missing prompt", &LLMConfig{BaseURL: ok.URL, Model: "m"}, `{:model "m"}`, value.ErrType, ":prompt"},
		{"prompt not a string", &LLMConfig{BaseURL: ok.URL, Model: "m"}, `{:prompt 1}`, value.ErrType, ":prompt"},
		{"not a map", &LLMConfig{BaseURL: ok.URL, Model: "m"}, `"hi"`, value.ErrType, ""},
	}
	for _, tt := range tests {
		env.LLM = tt.llm
		_, err := c.Run(t.Context(), env, []value.Value{btVal(t, tt.arg)})
		if btErrType(err) != tt.typ || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want %s mentioning %q", tt.name, err, tt.typ, tt.msg)
		}
	}
}

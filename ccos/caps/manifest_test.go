package caps

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "manifests", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestParseManifestsHTTP(t *testing.T) {
	ms, err := ParseManifests("weather.rtfs", readTestdata(t, "weather.rtfs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("got %d manifests, want 1", len(ms))
	}
	m := ms[0]
	want := Manifest{
		ID:          "weather.current",
		Version:     "1.0.0",
		Description: "Current weather for a city",
		Provider:    ProviderHTTP,
		Effects: Effects{
			Network:    []string{"api.weather.example:443"},
			FSRead:     []string{"/data"},
			Env:        []string{"HOME"},
			Idempotent: true,
		},
		Tags: []string{"weather"},
		HTTP: &HTTPConfig{
			URL:     "https://api.weather.example/v1/current",
			Method:  "GET",
			Headers: map[string]string{"Accept": "application/json"},
			Timeout: 5 * time.Second,
		},
	}
	if got := m.Input.String(); got != "[:tuple [:map [:city :string]]]" {
		t.Errorf("Input = %s", got)
	}
	if m.Output != types.Any {
		t.Errorf("Output = %v, want :any", m.Output)
	}
	got := *m
	got.Input, got.Output = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("manifest =\n%#v\nwant\n%#v", got, want)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseManifestsProgramAndDefaults(t *testing.T) {
	ms, err := ParseManifests("tools.rtfs", readTestdata(t, "tools.rtfs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d manifests, want 2", len(ms))
	}
	wc, echo := ms[0], ms[1]
	if wc.ID != "text.count-lines" || wc.Provider != ProviderProgram ||
		!reflect.DeepEqual(wc.Program, &ProgramConfig{Path: "/usr/bin/wc", Args: []string{"-l"}, Timeout: 10 * time.Second}) {
		t.Errorf("wc = %+v %+v", wc, wc.Program)
	}
	if !wc.Effects.Exec || !wc.Effects.Deterministic || !wc.Effects.Idempotent {
		t.Errorf("wc effects = %+v", wc.Effects)
	}
	// :exec is implied for programs; everything else defaults to empty.
	if !reflect.DeepEqual(echo.Effects, Effects{Exec: true}) {
		t.Errorf("echo effects = %+v", echo.Effects)
	}
	if echo.Input != nil || echo.Output != nil || echo.Version != "" || echo.HTTP != nil {
		t.Errorf("echo = %+v", echo)
	}

	ms, err = ParseManifests("post.rtfs", readTestdata(t, "post.rtfs"))
	if err != nil {
		t.Fatal(err)
	}
	p := ms[0]
	if p.HTTP.Method != "POST" || p.HTTP.Output != HTTPOutputJSON || p.HTTP.Timeout != 0 || len(p.HTTP.Headers) != 2 {
		t.Errorf("post http = %+v", p.HTTP)
	}
	if !p.Hints.Download || p.Hints.ComputeHeavy {
		t.Errorf("hints = %+v", p.Hints)
	}
	wantProv := Provenance{Source: "registry", ContentHash: "abc123",
		RegisteredAt: time.Date(2024, 1, 15, 10, 30, 45, 123e6, time.UTC)}
	if p.Provenance != wantProv {
		t.Errorf("provenance = %+v, want %+v", p.Provenance, wantProv)
	}
}

func TestParseManifestsImpliedNetwork(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://API.example.com/x", "api.example.com:443"},
		{"http://example.com/x", "example.com:80"},
		{"http://127.0.0.1:8080/x", "127.0.0.1:8080"},
		{"http://[::1]:9/x", "[::1]:9"},
	} {
		src := `{:id "a.b" :provider :http :http {:url "` + tc.url + `"}}`
		ms, err := ParseManifests("m.rtfs", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := ms[0].Effects.Network; !reflect.DeepEqual(got, []string{tc.want}) {
			t.Errorf("%s: network = %q, want [%q]", tc.url, got, tc.want)
		}
		if ms[0].HTTP.Method != "GET" {
			t.Errorf("default method = %q", ms[0].HTTP.Method)
		}
	}
	// Declared patterns that cover the URL.
	for _, net := range []string{`["*"]`, `["*.example.com"]`, `["api.example.com"]`, `["x.org" "API.example.com:443"]`} {
		src := `{:id "a.b" :provider :http :http {:url "https://api.example.com/"} :effects {:network ` + net + `}}`
		if _, err := ParseManifests("m.rtfs", []byte(src)); err != nil {
			t.Errorf("%s: %v", net, err)
		}
	}
}

// posOf returns the position of the nth (1-based) occurrence of at in src.
func posOf(t *testing.T, file, src, at string, nth int) string {
	t.Helper()
	off := -1
	for range nth {
		i := strings.Index(src[off+1:], at)
		if i < 0 {
			t.Fatalf("%q not in %q", at, src)
		}
		off += 1 + i
	}
	line := 1 + strings.Count(src[:off], "\n")
	col := 1 + len([]rune(src[strings.LastIndex(src[:off], "\n")+1:off]))
	return file + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col)
}

func TestParseManifestsErrors(t *testing.T) {
	const h = `:provider :http :http {:url "https://h.example/"}`
	const p = `:provider :program :program {:path "/bin/echo"}`
	for _, tc := range []struct {
		name, src string
		at        string // the error is at the first occurrence of at
		nth       int    // or at its nth occurrence
		msg       string
	}{
		{"empty file", ``, "", 0, "no manifest"},
		{"comment only", `; nothing`, "", 0, "no manifest"},
		{"not a map", `{:id "a.b" ` + h + `} [:id "x"]`, `[`, 0, "a manifest must be a map, got a vector"},
		{"unknown key", `{:id "a.b" ` + h + ` :bogus 1}`, `:bogus`, 0, "unknown key :bogus in a manifest"},
		{"string key", `{"id" "a.b"}`, `"id"`, 0, "keys must be keywords"},
		{"missing id", `{` + h + `}`, `{`, 0, "no :id"},
		{"missing provider", `{:id "a.b"}`, `{`, 0, `"a.b" has no :provider`},
		{"id keyword", `{:id :a.b ` + h + `}`, `:a.b`, 0, ":id must be a string, got a keyword"},
		{"id digit", `{:id "9lives" ` + h + `}`, `"9lives"`, 0, "must start with a letter"},
		{"id empty segment", `{:id "a..b" ` + h + `}`, `"a..b"`, 0, "empty segment"},
		{"id space", `{:id "a b" ` + h + `}`, `"a b"`, 0, "not allowed"},
		{"id empty", `{:id "" ` + h + `}`, `""`, 0, "empty capability id"},
		{"duplicate id", `{:id "a.b" ` + h + "}\n{:id \"a.b\" " + h + `}`, `"a.b"`, 2, "duplicate capability id"},
		{"provider unsupported", `{:id "a.b" :provider :mcp}`, `:mcp`, 0, "unsupported provider :mcp"},
		{"provider string", `{:id "a.b" :provider "http"}`, `"http"`, 0, ":provider must be a keyword"},
		{"http config missing", `{:id "a.b" :provider :http}`, `:http`, 0, "needs an :http"},
		{"http url missing", `{:id "a.b" :provider :http :http {:method "GET"}}`, `{:method`, 0, ":http has no :url"},
		{"http url scheme", `{:id "a.b" :provider :http :http {:url "ftp://x.example/"}}`, `"ftp:`, 0, "scheme must be http or https"},
		{"http url host", `{:id "a.b" :provider :http :http {:url "http:///x"}}`, `"http:`, 0, "no host"},
		{"http method", `{:id "a.b" :provider :http :http {:url "http://x.example" :method "FETCH"}}`, `"FETCH"`, 0, "invalid :method"},
		{"http headers type", `{:id "a.b" :provider :http :http {:url "http://x.example" :headers ["A"]}}`, `["A"]`, 0, "map of strings to strings"},
		{"http header value", `{:id "a.b" :provider :http :http {:url "http://x.example" :headers {"A" 1}}}`, `1}`, 0, `header "A" must be a string`},
		{"http header name", `{:id "a.b" :provider :http :http {:url "http://x.example" :headers {"A B" "1"}}}`, `"A B"`, 0, "invalid header name"},
		{"http header dup", `{:id "a.b" :provider :http :http {:url "http://x.example" :headers {"a" "1" "A" "2"}}}`, `"A"`, 0, "duplicate header"},
		{"http unknown key", `{:id "a.b" :provider :http :http {:url "http://x.example" :body "x"}}`, `:body`, 0, "unknown key :body in :http"},
		{"http timeout negative", `{:id "a.b" :provider :http :http {:url "http://x.example" :timeout-ms -5}}`, `-5`, 0, "between 1 and"},
		{"http timeout string", `{:id "a.b" :provider :http :http {:url "http://x.example" :timeout-ms "5"}}`, `"5"`, 0, "integer number of milliseconds"},
		{"http output", `{:id "a.b" :provider :http :http {:url "http://x.example" :output :xml}}`, `:xml`, 0, ":output must be :json or :text"},
		{"http with program", `{:id "a.b" ` + h + ` :program {:path "/bin/echo"}}`, `:program`, 0, ":program is only allowed with :provider :program"},
		{"http network not covering", `{:id "a.b" ` + h + ` :effects {:network ["other.example"]}}`, `["other`, 0, "does not cover"},
		{"http network empty", `{:id "a.b" ` + h + ` :effects {:network []}}`, `[]`, 0, "does not cover"},
		{"http network port", `{:id "a.b" ` + h + ` :effects {:network ["h.example:80"]}}`, `["h`, 0, "does not cover"},
		{"program config missing", `{:id "a.b" :provider :program}`, `:program`, 0, "needs a :program"},
		{"program exec false", `{:id "a.b" ` + p + ` :effects {:exec false}}`, `false`, 0, ":exec must be true"},
		{"program path relative", `{:id "a.b" :provider :program :program {:path "wc"}}`, `"wc"`, 0, "clean absolute path"},
		{"program path unclean", `{:id "a.b" :provider :program :program {:path "/bin/../bin/wc"}}`, `"/bin/..`, 0, "clean absolute path"},
		{"program path missing", `{:id "a.b" :provider :program :program {:args []}}`, `{:args`, 0, ":program has no :path"},
		{"program args type", `{:id "a.b" :provider :program :program {:path "/bin/echo" :args ["-l" 2]}}`, `2]`, 0, "must hold strings, got an integer"},
		{"program with http", `{:id "a.b" ` + p + ` :http {:url "http://x.example"}}`, `:http {`, 0, ":http is only allowed with :provider :http"},
		{"local with http", `{:id "a.b" :provider :local :http {:url "http://x.example"}}`, `:http {`, 0, ":http is only allowed"},
		{"input schema", `{:id "a.b" ` + h + ` :input-schema [:vectr :int]}`, `[:vectr`, 0, "invalid :input-schema"},
		{"output schema", `{:id "a.b" ` + h + ` :output-schema "int"}`, `"int"`, 0, "invalid :output-schema"},
		{"effects type", `{:id "a.b" ` + h + ` :effects [:exec]}`, `[:exec]`, 0, ":effects must be a map"},
		{"effects bool", `{:id "a.b" ` + h + ` :effects {:clock "yes"}}`, `"yes"`, 0, ":effects :clock must be true or false"},
		{"effects unknown", `{:id "a.b" ` + h + ` :effects {:gpu true}}`, `:gpu`, 0, "unknown key :gpu in :effects"},
		{"effects fs key", `{:id "a.b" ` + h + ` :effects {:fs {:rd []}}}`, `:rd`, 0, "unknown key :rd in :effects :fs"},
		{"effects fs relative", `{:id "a.b" ` + h + ` :effects {:fs {:read ["data"]}}}`, `"data"`, 0, "must be absolute"},
		{"effects fs unclean", `{:id "a.b" ` + h + ` :effects {:fs {:write ["/tmp/"]}}}`, `"/tmp/"`, 0, "not clean"},
		{"effects env", `{:id "a.b" ` + h + ` :effects {:env ["1X"]}}`, `"1X"`, 0, "invalid environment variable name"},
		{"effects network pattern", `{:id "a.b" ` + h + ` :effects {:network ["*" "bad host"]}}`, `"bad host"`, 0, "invalid host pattern"},
		{"hints type", `{:id "a.b" ` + h + ` :hints {:download 1}}`, `1}`, 0, ":hints :download must be true or false"},
		{"hints unknown", `{:id "a.b" ` + h + ` :hints {:gpu true}}`, `:gpu`, 0, "unknown key :gpu in :hints"},
		{"tags type", `{:id "a.b" ` + h + ` :tags "x"}`, `"x"`, 0, ":tags must be a vector of strings"},
		{"tags element", `{:id "a.b" ` + h + ` :tags ["x" :y]}`, `:y`, 0, ":tags must hold strings, got a keyword"},
		{"tags empty", `{:id "a.b" ` + h + ` :tags [" "]}`, `" "`, 0, "empty tag"},
		{"version type", `{:id "a.b" ` + h + ` :version 1}`, `1}`, 0, ":version must be a string"},
		{"version spaces", `{:id "a.b" ` + h + ` :version "1 0"}`, `"1 0"`, 0, "invalid version"},
		{"description type", `{:id "a.b" ` + h + ` :description nil}`, `nil`, 0, ":description must be a string, got nil"},
		{"provenance time", `{:id "a.b" ` + h + ` :provenance {:registered-at "yesterday"}}`, `"yesterday"`, 0, "invalid timestamp"},
		{"provenance key", `{:id "a.b" ` + h + ` :provenance {:signer "x"}}`, `:signer`, 0, "unknown key :signer in :provenance"},
		{"multi-line", "{:id \"a.b\"\n :provider :http\n :http {:url \"https://h.example/\"}\n :effects {:exec 1}}", `1}`, 0, ":effects :exec must be true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ParseManifests("m.rtfs", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; got %+v", ms)
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not a *ManifestError", err, err)
			}
			want := "m.rtfs:1:1"
			if tc.at != "" {
				want = posOf(t, "m.rtfs", tc.src, tc.at, max(tc.nth, 1))
			}
			if got := me.Pos.String(); got != want {
				t.Errorf("position %s, want %s (%v)", got, want, err)
			}
			if !strings.HasPrefix(err.Error(), want+": ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want %q at %s", err, tc.msg, want)
			}
		})
	}
}

func TestParseManifestsSyntaxError(t *testing.T) {
	_, err := ParseManifests("m.rtfs", []byte("{:id \"a.b\"\n :provider :http"))
	var se *syntax.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v, want *syntax.Error", err, err)
	}
	if !strings.HasPrefix(err.Error(), "m.rtfs:") {
		t.Errorf("error %q does not name the file", err)
	}
	_, err = ParseManifests("m.rtfs", []byte(`{:id "a.b" :id "c.d"}`))
	if !errors.As(err, &se) || se.Pos.String() != "m.rtfs:1:12" {
		t.Errorf("duplicate key: %v", err)
	}
}

// equalManifests compares manifests, schemas by their canonical text.
func equalManifests(a, b *Manifest) bool {
	if a.Input.String() != b.Input.String() || a.Output.String() != b.Output.String() ||
		(a.Input == nil) != (b.Input == nil) || (a.Output == nil) != (b.Output == nil) {
		return false
	}
	x, y := *a, *b
	x.Input, x.Output, y.Input, y.Output = nil, nil, nil, nil
	return reflect.DeepEqual(x, y)
}

func mfRoundTrip(t testing.TB, m *Manifest) *Manifest {
	t.Helper()
	text := value.Repr(m.ToValue())
	ms, err := ParseManifests("rt.rtfs", []byte(text))
	if err != nil {
		t.Fatalf("re-parsing %s: %v", text, err)
	}
	if len(ms) != 1 {
		t.Fatalf("re-parsing %s: %d manifests", text, len(ms))
	}
	if !equalManifests(m, ms[0]) {
		t.Fatalf("round trip changed the manifest:\n%s\n%#v\n%#v", text, *m, *ms[0])
	}
	if again := value.Repr(ms[0].ToValue()); again != text {
		t.Fatalf("ToValue not stable:\n%s\n%s", text, again)
	}
	return ms[0]
}

func TestManifestRoundTrip(t *testing.T) {
	for _, f := range []string{"weather.rtfs", "tools.rtfs", "post.rtfs"} {
		ms, err := ParseManifests(f, readTestdata(t, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			mfRoundTrip(t, m)
		}
	}
	m := &Manifest{
		ID: "x.y", Provider: ProviderLocal, Description: "with \"quotes\"\n",
		Input:  types.MustParse("[:tuple [:and :int [:> 0]] [:map [:k :string {:optional true}]]]"),
		Output: types.MustParse(":string?"),
		Effects: Effects{FSRead: []string{"*"}, FSWrite: []string{"/tmp/out"}, Env: []string{"*"},
			Clock: true, Human: true},
		Hints:      Hints{ComputeHeavy: true},
		Provenance: Provenance{Source: "builtin", RegisteredAt: time.Now().UTC().Truncate(time.Millisecond)},
	}
	mfRoundTrip(t, m)

	v, ok := m.ToValue().(*value.Map)
	if !ok {
		t.Fatalf("ToValue is %T", m.ToValue())
	}
	pv, _ := v.Get(value.Keyword("provenance"))
	pm, ok := pv.(*value.Map)
	if !ok {
		t.Fatalf(":provenance = %v", pv)
	}
	if ts, _ := pm.Get(value.Keyword("registered-at")); ts != value.Timestamp(m.Provenance.RegisteredAt.Format(timestampLayout)) {
		t.Errorf(":registered-at = %v", ts)
	}
	if got := m.String(); !strings.HasPrefix(got, `{:id "x.y" :description `) {
		t.Errorf("String() = %s", got)
	}
}

func TestValidate(t *testing.T) {
	good := []*Manifest{
		{ID: "a", Provider: ProviderLocal},
		{ID: "a.b-c_d.9", Provider: ProviderHTTP, HTTP: &HTTPConfig{URL: "http://x.example/"}, Effects: Effects{Network: []string{"*"}}},
		{ID: "a.b", Provider: ProviderProgram, Program: &ProgramConfig{Path: "/bin/true"}, Effects: Effects{Exec: true}},
	}
	for _, m := range good {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", m.ID, err)
		}
	}
	bad := map[string]*Manifest{
		"invalid capability id":       {ID: "-a", Provider: ProviderLocal},
		"no provider":                 {ID: "a"},
		"unsupported provider":        {ID: "a", Provider: "mcp"},
		"needs an HTTP":               {ID: "a", Provider: ProviderHTTP},
		"do not cover":                {ID: "a", Provider: ProviderHTTP, HTTP: &HTTPConfig{URL: "http://x.example/"}},
		"exec must be true":           {ID: "a", Provider: ProviderProgram, Program: &ProgramConfig{Path: "/bin/true"}},
		"clean absolute path":         {ID: "a", Provider: ProviderProgram, Program: &ProgramConfig{Path: "true"}, Effects: Effects{Exec: true}},
		"no :http, :program or :wasm": {ID: "a", Provider: ProviderLocal, Program: &ProgramConfig{Path: "/bin/true"}},
		"invalid host pattern":        {ID: "a", Provider: ProviderLocal, Effects: Effects{Network: []string{"a b"}}},
		"must be absolute":            {ID: "a", Provider: ProviderLocal, Effects: Effects{FSWrite: []string{"x"}}},
		"invalid :method":             {ID: "a", Provider: ProviderHTTP, HTTP: &HTTPConfig{URL: "http://x.example/", Method: "get"}, Effects: Effects{Network: []string{"*"}}},
		"invalid http output mode":    {ID: "a", Provider: ProviderHTTP, HTTP: &HTTPConfig{URL: "http://x.example/", Output: "xml"}, Effects: Effects{Network: []string{"*"}}},
	}
	for want, m := range bad {
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want %q", m, err, want)
		}
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "ccos.io.read-file", "weather.current", "A.b_c.1x", "x." + strings.Repeat("y", 200)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", "1a", ".a", "a.", "a..b", "a.-b", "a/b", "a b", ":a", "é", strings.Repeat("a", 257)} {
		if err := ValidateID(id); err == nil {
			t.Errorf("%q: no error", id)
		}
	}
}

func FuzzParseManifests(f *testing.F) {
	ents, err := os.ReadDir(filepath.Join("testdata", "manifests"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		f.Add(readTestdata(f, e.Name()))
	}
	f.Add([]byte(`{:id "a.b" :provider :program :program {:path "/bin/echo"} :effects {:exec false}}`))
	f.Add([]byte(`{:id "a.b" :provider :http :http {:url "http://[::1]:80/"} :effects {:network ["[::1]"]}}`))
	f.Add([]byte(`{:id "a.b" :provider :local :input-schema [:map-of :keyword [:vector :int]] :provenance {:registered-at "2024-01-01T00:00:00.5+02:00"}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		ms, err := ParseManifests("fuzz.rtfs", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.rtfs:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		for _, m := range ms {
			if err := m.Validate(); err != nil {
				t.Fatalf("parsed manifest does not validate: %v\n%s", err, src)
			}
			m.Provenance.RegisteredAt = m.Provenance.RegisteredAt.Truncate(time.Millisecond)
			mfRoundTrip(t, m)
		}
	})
}

package caps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

const testHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParseManifestsWASM(t *testing.T) {
	file := filepath.Join("testdata", "manifests", "upper.rtfs")
	ms, err := ParseManifests(file, readTestdata(t, "upper.rtfs"))
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	dir, err := filepath.Abs(filepath.Join("testdata", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	want := WASMConfig{Path: filepath.Join(dir, "modules", "upper.wasm"), SHA256: testHash, MemoryMB: 64, Timeout: 5 * time.Second}
	if m.Provider != ProviderWASM || m.WASM == nil || *m.WASM != want {
		t.Fatalf("provider %q, wasm %+v, want %+v", m.Provider, m.WASM, want)
	}
	if len(m.Effects.FSRead) != 1 || m.Effects.FSRead[0] != "/data" || len(m.Effects.Network) != 0 || m.Effects.Exec {
		t.Errorf("effects %+v", m.Effects)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	back := mfRoundTrip(t, m)
	if *back.WASM != want {
		t.Errorf("round trip: %+v", back.WASM)
	}
	v := m.ToValue().(*value.Map)
	wv, _ := v.Get(value.Keyword("wasm"))
	if got := value.Repr(wv); got != `{:path "`+want.Path+`" :sha256 "`+testHash+`" :memory-mb 64 :timeout-ms 5000}` {
		t.Errorf(":wasm = %s", got)
	}

	// Defaults stay zero and are not printed; an absolute path is kept.
	ms, err = ParseManifests("/etc/ccos/m.rtfs", []byte(`{:id "a.b" :provider :wasm :wasm {:path "/opt/m.wasm" :sha256 "`+testHash+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := *ms[0].WASM; got != (WASMConfig{Path: "/opt/m.wasm", SHA256: testHash}) {
		t.Errorf("minimal: %+v", got)
	}
	mfRoundTrip(t, ms[0])
	if s := ms[0].String(); strings.Contains(s, "memory-mb") || strings.Contains(s, "timeout-ms") {
		t.Errorf("defaults printed: %s", s)
	}
	// A relative path resolves against the manifest's directory.
	ms, err = ParseManifests("/etc/ccos/caps/m.rtfs", []byte(`{:id "a.b" :provider :wasm :wasm {:path "../mods/m.wasm" :sha256 "`+testHash+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := ms[0].WASM.Path; got != "/etc/ccos/mods/m.wasm" {
		t.Errorf("relative path resolved to %s", got)
	}
}

func TestParseManifestsWASMErrors(t *testing.T) {
	const w = `:provider :wasm :wasm {:path "m.wasm" :sha256 "` + testHash + `"}`
	for _, tc := range []struct {
		name, src string
		at        string // the error is at the first occurrence of at
		msg       string
	}{
		{"config missing", `{:id "a.b" :provider :wasm}`, `:wasm}`, "needs a :wasm"},
		{"config type", `{:id "a.b" :provider :wasm :wasm "m.wasm"}`, `"m.wasm"`, ":wasm must be a map, got a string"},
		{"unknown key", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "` + testHash + `" :env {}}}`, `:env`, "unknown key :env in :wasm"},
		{"path missing", `{:id "a.b" :provider :wasm :wasm {:sha256 "` + testHash + `"}}`, `{:sha256`, ":wasm has no :path"},
		{"path type", `{:id "a.b" :provider :wasm :wasm {:path :m :sha256 "` + testHash + `"}}`, `:m `, ":wasm :path must be a string, got a keyword"},
		{"path empty", `{:id "a.b" :provider :wasm :wasm {:path "" :sha256 "` + testHash + `"}}`, `""`, ":wasm :path is empty"},
		{"path unclean", `{:id "a.b" :provider :wasm :wasm {:path "/opt/../m.wasm" :sha256 "` + testHash + `"}}`, `"/opt/..`, "not clean"},
		{"hash missing", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm"}}`, `{:path`, ":wasm has no :sha256"},
		{"hash short", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "abc"}}`, `"abc"`, "64 hexadecimal digits"},
		{"hash not hex", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "` + strings.Repeat("g", 64) + `"}}`, `"ggg`, "64 hexadecimal digits"},
		{"memory type", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "` + testHash + `" :memory-mb "64"}}`, `"64"`, ":memory-mb must be an integer"},
		{"memory zero", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "` + testHash + `" :memory-mb 0}}`, `0}`, "between 1 and 4096"},
		{"memory huge", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "` + testHash + `" :memory-mb 4097}}`, `4097`, "between 1 and 4096"},
		{"timeout", `{:id "a.b" :provider :wasm :wasm {:path "m.wasm" :sha256 "` + testHash + `" :timeout-ms 0}}`, `0}`, ":wasm :timeout-ms must be between 1"},
		{"network", `{:id "a.b" ` + w + ` :effects {:network ["api.example.com:443"]}}`, `["api`, "wasm modules get no network"},
		{"exec", `{:id "a.b" ` + w + ` :effects {:exec true}}`, `true}`, "cannot declare :effects :exec true"},
		{"env", `{:id "a.b" ` + w + ` :effects {:env ["HOME"]}}`, `["HOME"]`, "wasm modules get no environment"},
		{"wasm with http provider", `{:id "a.b" :provider :http :http {:url "https://h.example/"} :wasm {:path "m.wasm" :sha256 "` + testHash + `"}}`, `:wasm {`, ":wasm is only allowed with :provider :wasm"},
		{"wasm with local provider", `{:id "a.b" :provider :local :wasm {:path "m.wasm" :sha256 "` + testHash + `"}}`, `:wasm {`, ":wasm is only allowed with :provider :wasm"},
		{"http with wasm provider", `{:id "a.b" ` + w + ` :http {:url "https://h.example/"}}`, `:http {`, ":http is only allowed with :provider :http"},
		{"program with wasm provider", `{:id "a.b" ` + w + ` :program {:path "/bin/echo"}}`, `:program {`, ":program is only allowed with :provider :program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ParseManifests("m.rtfs", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; got %+v", ms[0])
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not a *ManifestError", err, err)
			}
			want := posOf(t, "m.rtfs", tc.src, tc.at, 1)
			if got := me.Pos.String(); got != want {
				t.Errorf("position %s, want %s (%v)", got, want, err)
			}
			if !strings.HasPrefix(err.Error(), want+": ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want %q at %s", err, tc.msg, want)
			}
		})
	}
	// Empty :network and :env vectors and :exec false are fine.
	src := `{:id "a.b" ` + w + ` :effects {:network [] :env [] :exec false :clock true}}`
	if _, err := ParseManifests("m.rtfs", []byte(src)); err != nil {
		t.Errorf("%s: %v", src, err)
	}
}

func TestValidateWASM(t *testing.T) {
	good := &Manifest{ID: "a.b", Provider: ProviderWASM, WASM: &WASMConfig{Path: "/m.wasm", SHA256: strings.ToUpper(testHash), MemoryMB: 4096, Timeout: time.Minute},
		Effects: Effects{FSRead: []string{"/data"}, FSWrite: []string{"/tmp/out"}, Clock: true}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := func(edit func(*WASMConfig)) *WASMConfig {
		c := WASMConfig{Path: "/m.wasm", SHA256: testHash}
		edit(&c)
		return &c
	}
	none := func(*WASMConfig) {}
	bad := map[string]*Manifest{
		"needs a WASM configuration":       {ID: "a", Provider: ProviderWASM},
		"wasm path \"m.wasm\"":             {ID: "a", Provider: ProviderWASM, WASM: cfg(func(c *WASMConfig) { c.Path = "m.wasm" })},
		"wasm path \"/a/../m.wasm\"":       {ID: "a", Provider: ProviderWASM, WASM: cfg(func(c *WASMConfig) { c.Path = "/a/../m.wasm" })},
		"invalid :sha256":                  {ID: "a", Provider: ProviderWASM, WASM: cfg(func(c *WASMConfig) { c.SHA256 = "" })},
		"wasm memory 5000 MiB":             {ID: "a", Provider: ProviderWASM, WASM: cfg(func(c *WASMConfig) { c.MemoryMB = 5000 })},
		"wasm timeout -1s":                 {ID: "a", Provider: ProviderWASM, WASM: cfg(func(c *WASMConfig) { c.Timeout = -time.Second })},
		"get no network":                   {ID: "a", Provider: ProviderWASM, WASM: cfg(none), Effects: Effects{Network: []string{"*"}}},
		"cannot run programs":              {ID: "a", Provider: ProviderWASM, WASM: cfg(none), Effects: Effects{Exec: true}},
		"get no environment":               {ID: "a", Provider: ProviderWASM, WASM: cfg(none), Effects: Effects{Env: []string{"HOME"}}},
		"wasm capability has no :http":     {ID: "a", Provider: ProviderWASM, WASM: cfg(none), Program: &ProgramConfig{Path: "/bin/true"}},
		"http capability has no :program":  {ID: "a", Provider: ProviderHTTP, HTTP: &HTTPConfig{URL: "http://x.example/"}, WASM: cfg(none), Effects: Effects{Network: []string{"*"}}},
		"program capability has no :http ": {ID: "a", Provider: ProviderProgram, Program: &ProgramConfig{Path: "/bin/true"}, WASM: cfg(none), Effects: Effects{Exec: true}},
	}
	for want, m := range bad {
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want %q", m, err, want)
		}
	}
}

// A :wasm capability loads into the marketplace but runs only in the wasm
// sandbox provider: its Run is unset and Invoke refuses it.
func TestLoadDirWASM(t *testing.T) {
	dir := t.TempDir()
	src := `{:id "text.upper" :provider :wasm :wasm {:path "upper.wasm" :sha256 "` + testHash + `"}}`
	if err := os.WriteFile(filepath.Join(dir, "upper.rtfs"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New()
	if err := m.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	c, ok := m.Get("text.upper")
	if !ok {
		t.Fatal("not registered")
	}
	if c.WASM == nil || c.WASM.Path != filepath.Join(dir, "upper.wasm") {
		t.Fatalf("wasm %+v", c.WASM)
	}
	_, err := Invoke(context.Background(), c, nil, []value.Value{value.String("x")})
	var ve *value.Error
	if !errors.As(err, &ve) || ve.Type != value.ErrCapability {
		t.Fatalf("Invoke outside the wasm sandbox: %v", err)
	}
}

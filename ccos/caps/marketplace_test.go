package caps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

func mpLocal(id, desc string, tags ...string) *Capability {
	return &Capability{
		Manifest: Manifest{ID: id, Description: desc, Provider: ProviderLocal, Tags: tags},
		Run: func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
			return value.String(id), nil
		},
	}
}

func mpIDs(cs []*Capability) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return strings.Join(ids, " ")
}

func TestMarketplaceRegister(t *testing.T) {
	m := New()
	for _, c := range []*Capability{
		mpLocal("zeta.tool", "Last one", "b"),
		mpLocal("alpha.fetch", "Fetches WEATHER data", "net", "weather"),
		mpLocal("mid.thing", "weather-free", "weather"),
	} {
		if err := m.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	err := m.Register(mpLocal("mid.thing", "again"))
	if !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "mid.thing") {
		t.Errorf("duplicate: %v", err)
	}
	if c, _ := m.Get("mid.thing"); c.Description != "weather-free" {
		t.Errorf("duplicate replaced the original")
	}
	if err := m.Register(&Capability{Manifest: Manifest{ID: "no.run", Provider: ProviderLocal}}); err == nil {
		t.Error("Register without Run succeeded")
	}
	if err := m.Register(mpLocal("bad id", "")); err == nil {
		t.Error("Register with a bad id succeeded")
	}
	prog := mpLocal("prog.x", "")
	prog.Provider, prog.Program = ProviderProgram, &ProgramConfig{Path: "/bin/true"}
	if err := m.Register(prog); err == nil || !strings.Contains(err.Error(), "exec") {
		t.Errorf("dishonest program capability: %v", err)
	}
	if err := m.Register(nil); err == nil {
		t.Error("Register(nil) succeeded")
	}

	c, ok := m.Get("alpha.fetch")
	if !ok || c.ID != "alpha.fetch" {
		t.Fatalf("Get = %v %v", c, ok)
	}
	if c.Provenance.Source != "builtin" || c.Provenance.RegisteredAt.IsZero() {
		t.Errorf("provenance = %+v", c.Provenance)
	}
	if _, ok := m.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	if got := mpIDs(m.List()); got != "alpha.fetch mid.thing zeta.tool" {
		t.Errorf("List = %s", got)
	}
	for _, tc := range []struct {
		q    string
		tags []string
		want string
	}{
		{"", nil, "alpha.fetch mid.thing zeta.tool"},
		{"weather", nil, "alpha.fetch mid.thing"},
		{"WEATHER", []string{"net"}, "alpha.fetch"},
		{"", []string{"weather"}, "alpha.fetch mid.thing"},
		{"", []string{"weather", "b"}, ""},
		{"TOOL", nil, "zeta.tool"},
		{"last", nil, "zeta.tool"},
		{"xyz", nil, ""},
	} {
		if got := mpIDs(m.Search(tc.q, tc.tags)); got != tc.want {
			t.Errorf("Search(%q, %q) = %q, want %q", tc.q, tc.tags, got, tc.want)
		}
	}
}

func TestMarketplaceRegisterCopies(t *testing.T) {
	// The same capability value may go into two marketplaces concurrently.
	c := mpLocal("shared.cap", "")
	var wg sync.WaitGroup
	ms := make([]*Marketplace, 8)
	for i := range ms {
		ms[i] = New()
		wg.Go(func() {
			if err := ms[i].Register(c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if !c.Provenance.RegisteredAt.IsZero() {
		t.Error("Register modified its argument")
	}
}

func TestNewDefault(t *testing.T) {
	m := NewDefault()
	if len(m.List()) != len(Builtins()) {
		t.Errorf("NewDefault has %d capabilities, Builtins %d", len(m.List()), len(Builtins()))
	}
	for _, id := range []string{"ccos.echo", "ccos.math.add", "ccos.io.read-file", "ccos.system.execute"} {
		c, ok := m.Get(id)
		if !ok {
			t.Errorf("%s missing", id)
			continue
		}
		if c.Provider != ProviderLocal || c.Provenance.Source != "builtin" {
			t.Errorf("%s: provider %q provenance %+v", id, c.Provider, c.Provenance)
		}
	}
}

func mpWrite(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	wsrc := string(readTestdata(t, "weather.rtfs"))
	wpath := mpWrite(t, dir, "b-weather.rtfs", wsrc)
	mpWrite(t, dir, "a-tools.rtfs", string(readTestdata(t, "tools.rtfs")))
	mpWrite(t, dir, "notes.txt", "not a manifest")
	if err := os.Mkdir(filepath.Join(dir, "sub.rtfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	mpWrite(t, filepath.Join(dir, "sub.rtfs"), "x.rtfs", "garbage {")

	m := NewDefault()
	before := time.Now().UTC()
	if err := m.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	c, ok := m.Get("weather.current")
	if !ok {
		t.Fatal("weather.current not loaded")
	}
	sum := sha256.Sum256([]byte(wsrc))
	if c.Provenance.Source != wpath || c.Provenance.ContentHash != hex.EncodeToString(sum[:]) ||
		c.Provenance.RegisteredAt.Before(before.Add(-time.Second)) {
		t.Errorf("provenance = %+v", c.Provenance)
	}
	if c.Run == nil || c.TargetsOf == nil {
		t.Error("loaded capability has no Run/TargetsOf")
	}
	for _, id := range []string{"text.count-lines", "text.echo"} {
		if _, ok := m.Get(id); !ok {
			t.Errorf("%s not loaded", id)
		}
	}
	if got := mpIDs(m.Search("", []string{"text"})); got != "text.count-lines text.echo" {
		t.Errorf("Search text = %s", got)
	}
	// Loading again collides with what is now registered.
	if err := m.LoadDir(dir); !errors.Is(err, ErrDuplicate) {
		t.Errorf("second LoadDir: %v", err)
	}
	// A missing directory is not an error.
	if err := m.LoadDir(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}

func TestLoadDirErrors(t *testing.T) {
	good := `{:id "good.one" :provider :program :program {:path "/bin/echo"}}`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // substring; %d is the directory
	}{
		{"parse error", map[string]string{"a.rtfs": good, "b.rtfs": "{:id \"x.y\"\n :provider :program :bogus 1}"},
			"%d/b.rtfs:2:21: unknown key :bogus"},
		{"syntax error", map[string]string{"a.rtfs": "{:id"}, "%d/a.rtfs:1:1"},
		{"builtin collision", map[string]string{"a.rtfs": good, "b.rtfs": `{:id "ccos.echo" :provider :program :program {:path "/bin/echo"}}`},
			`%d/b.rtfs:1:6: ccos.echo: capability id already registered (by builtin)`},
		{"file collision", map[string]string{"a.rtfs": good, "b.rtfs": "\n" + good},
			`%d/b.rtfs:2:6: good.one: capability id already registered (also defined at %d/a.rtfs:1:6)`},
		{"local provider", map[string]string{"a.rtfs": `{:id "x.y" :provider :local}`},
			"%d/a.rtfs:1:1: capability x.y: provider :local is implemented in Go"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tc.files {
				mpWrite(t, dir, name, src)
			}
			m := NewDefault()
			n := len(m.List())
			err := m.LoadDir(dir)
			want := strings.ReplaceAll(tc.want, "%d", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
			if len(m.List()) != n {
				t.Errorf("a failed LoadDir registered %d capabilities", len(m.List())-n)
			}
		})
	}
}

func TestLoadDirTooLarge(t *testing.T) {
	dir := t.TempDir()
	mpWrite(t, dir, "big.rtfs", strings.Repeat(" ", MaxManifestFileBytes+1))
	if err := New().LoadDir(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error %v", err)
	}
}

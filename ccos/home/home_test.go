package home

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"github.com/ccos-go/ccos/rtfs/value"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ccos-go/ccos/ccos/ledger"
)

func TestResolvePrecedence(t *testing.T) {
	t.Setenv(EnvVar, "/env/dir")
	t.Setenv("HOME", "/home/someone")
	if got, _ := Resolve("/flag/dir"); got != "/flag/dir" {
		t.Errorf("flag: %s", got)
	}
	if got, _ := Resolve(""); got != "/env/dir" {
		t.Errorf("env: %s", got)
	}
	t.Setenv(EnvVar, "")
	if got, _ := Resolve(""); got != "/home/someone/.ccos" {
		t.Errorf("default: %s", got)
	}
	wd, _ := os.Getwd()
	if got, _ := Resolve("rel"); got != filepath.Join(wd, "rel") {
		t.Errorf("relative: %s", got)
	}
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	h, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v %v", fi.Mode(), err)
	}
	if h.DBPath() != filepath.Join(dir, "ccos.db") {
		t.Errorf("DBPath %s", h.DBPath())
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := Open(f); err == nil {
		t.Error("opened a file as data directory")
	}
}

func TestSigningKeyCreatedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	h, _ := Open(dir)
	if keys, err := h.TrustedKeys(); err != nil || len(keys) != 0 {
		t.Fatalf("trusted keys before the key exists: %v %v", keys, err)
	}
	if _, err := os.Stat(h.KeyPath()); !os.IsNotExist(err) {
		t.Fatal("TrustedKeys created the key")
	}
	k1, id1, err := h.SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(h.KeyPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", fi.Mode(), err)
	}
	if id1 != ledger.KeyID(k1.Public().(ed25519.PublicKey)) {
		t.Errorf("key id %s", id1)
	}
	data1, _ := os.ReadFile(h.KeyPath())
	// A new Home over the same directory loads the same key.
	h2, _ := Open(dir)
	k2, id2, err := h2.SigningKey()
	if err != nil || !k1.Equal(k2) || id1 != id2 {
		t.Fatalf("key not reused: %v", err)
	}
	data2, _ := os.ReadFile(h.KeyPath())
	if !bytes.Equal(data1, data2) {
		t.Error("key file rewritten")
	}
	keys, err := h2.TrustedKeys()
	if err != nil || len(keys) != 1 || !keys[id1].Equal(k1.Public()) {
		t.Errorf("trusted keys %v %v", keys, err)
	}
	// No temporary files are left behind: only the key and the config.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("leftover files: %v", entries)
	}
}

func TestConcurrentFirstUseAgrees(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, _ := Open(dir)
			_, id, err := h.SigningKey()
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("different keys: %v", ids)
		}
	}
}

func TestBadKeyFileRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		dir := t.TempDir()
		h, _ := Open(dir)
		if _, _, err := h.SigningKey(); err != nil {
			t.Fatal(err)
		}
		os.Chmod(h.KeyPath(), mode)
		h2, _ := Open(dir)
		if _, _, err := h2.SigningKey(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %#o: %v", mode, err)
		}
		if _, err := h2.TrustedKeys(); err == nil {
			t.Errorf("mode %#o: TrustedKeys accepted the key", mode)
		}
	}
	dir := t.TempDir()
	h, _ := Open(dir)
	os.WriteFile(h.KeyPath(), []byte("garbage"), 0o600)
	if _, _, err := h.SigningKey(); err == nil {
		t.Error("garbage key accepted")
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	h, _ := Open(dir)
	// A new data directory holds the commented default config.
	if fi, err := os.Stat(h.ConfigPath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default config: %v %v", fi, err)
	}
	cfg, err := h.Config()
	if err != nil || len(cfg.TrustedKeys) != 0 {
		t.Fatalf("default config: %v %v", cfg, err)
	}
	if tk, ok := cfg.Get("trusted-keys"); !ok || tk.(*value.Map).Len() != 0 {
		t.Fatalf("default config lacks an empty :trusted-keys: %v", cfg.Values)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	id := ledger.KeyID(pub)
	b64 := base64.StdEncoding.EncodeToString(pub)
	os.WriteFile(h.ConfigPath(), []byte(`; config
{:trusted-keys {"`+id+`" "`+b64+`"}
 :custom [1 2 3]}`), 0o600)
	cfg, err = h.Config()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := cfg.Get("custom"); !ok || v == nil {
		t.Error("unknown key dropped")
	}
	if !cfg.TrustedKeys[id].Equal(pub) {
		t.Errorf("trusted keys %v", cfg.TrustedKeys)
	}
	_, own, _ := h.SigningKey()
	keys, err := h.TrustedKeys()
	if err != nil || len(keys) != 2 || keys[own] == nil || keys[id] == nil {
		t.Errorf("trusted keys %v %v", keys, err)
	}
	for name, src := range map[string]string{
		"not a map":  `[1 2]`,
		"two forms":  `{} {}`,
		"bad syntax": `{:a`,
		"bad key":    `{:trusted-keys {"` + id + `" "bm90IGEga2V5"}}`,
		"wrong id":   `{:trusted-keys {"ed25519:0000000000000000" "` + b64 + `"}}`,
		"not map":    `{:trusted-keys ["x"]}`,
	} {
		os.WriteFile(h.ConfigPath(), []byte(src), 0o600)
		if _, err := h.Config(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Package home manages the CCOS data directory (CCOS.md §8): where it is
// (--data-dir, else $CCOS_HOME, else ~/.ccos), the SQLite database in it,
// the ledger's persistent Ed25519 signing key and the optional config file.
//
// Layout:
//
//	DIR/                 mode 0700 when created here
//	DIR/ccos.db          the SQLite store (see DBPath)
//	DIR/ledger.key       PEM PKCS#8 Ed25519 private key, mode 0600
//	DIR/config.rtfs      RTFS map, e.g. {:trusted-keys {"id" "base64"}}; a commented default is created
package home

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// File names inside the data directory.
const (
	DBFile     = "ccos.db"
	KeyFile    = "ledger.key"
	ConfigFile = "config.rtfs"
)

// EnvVar names the environment variable that selects the data directory
// when no --data-dir flag is given.
const EnvVar = "CCOS_HOME"

// pemType is the PEM block type of the key file.
const pemType = "PRIVATE KEY"

// Resolve returns the data directory: flagValue if not empty, else
// $CCOS_HOME if set, else ~/.ccos. The result is absolute.
func Resolve(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = os.Getenv(EnvVar)
	}
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the data directory: set --data-dir or %s (%v)", EnvVar, err)
		}
		dir = filepath.Join(h, ".ccos")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", dir, err)
	}
	return abs, nil
}

// Home is an opened data directory. Its methods are safe for concurrent
// use.
type Home struct {
	dir string

	mu    sync.Mutex
	key   ed25519.PrivateKey
	keyID string
}

// Open opens the data directory dir, creating it (mode 0700) if needed.
func Open(dir string) (*Home, error) {
	if dir == "" {
		return nil, errors.New("empty data directory path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s is not a directory", dir)
	}
	h := &Home{dir: dir}
	if err := h.writeDefaultConfig(); err != nil {
		return nil, err
	}
	return h, nil
}

// defaultConfig documents the settings a data directory understands.
const defaultConfig = `;; ccos configuration: one RTFS map. Created with the data directory;
;; edit freely, unknown keys are kept for later versions.
{
 ;; Public keys (besides this directory's own ledger key) whose checkpoint
 ;; signatures ccos chain verify accepts: {"key-id" "base64 public key"}.
 :trusted-keys {}
}
`

// writeDefaultConfig creates config.rtfs when the directory has none, so
// that every data directory holds a config file to edit.
func (h *Home) writeDefaultConfig() error {
	f, err := os.OpenFile(h.ConfigPath(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data directory: config: %w", err)
	}
	if _, err := f.WriteString(defaultConfig); err != nil {
		f.Close()
		return fmt.Errorf("data directory: config: %w", err)
	}
	return f.Close()
}

// Dir returns the data directory's path.
func (h *Home) Dir() string { return h.dir }

// DBPath returns the path of the SQLite database.
func (h *Home) DBPath() string { return filepath.Join(h.dir, DBFile) }

// KeyPath returns the path of the ledger's signing key.
func (h *Home) KeyPath() string { return filepath.Join(h.dir, KeyFile) }

// ConfigPath returns the path of the optional config file.
func (h *Home) ConfigPath() string { return filepath.Join(h.dir, ConfigFile) }

// SigningKey returns the ledger's signing key and its key id, creating the
// key file (mode 0600) on first use. A key file that group or others may
// access is refused: whoever can read it can forge checkpoints.
func (h *Home) SigningKey() (ed25519.PrivateKey, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.key != nil {
		return h.key, h.keyID, nil
	}
	key, err := h.loadKey()
	if errors.Is(err, fs.ErrNotExist) {
		key, err = h.createKey()
	}
	if err != nil {
		return nil, "", err
	}
	h.key = key
	h.keyID = ledger.KeyID(key.Public().(ed25519.PublicKey))
	return h.key, h.keyID, nil
}

// loadKey reads the key file; the error wraps fs.ErrNotExist when there is
// none.
func (h *Home) loadKey() (ed25519.PrivateKey, error) {
	path := h.KeyPath()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("signing key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s has mode %#o: it must not be accessible by group or others (chmod 600 %s)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return parseKey(path, data)
}

func parseKey(path string, data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("signing key %s: not a PEM %q block", path, pemType)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an Ed25519 key", path)
	}
	return key, nil
}

// createKey generates a key and installs it atomically: written and synced
// to a temporary file (mode 0600) in the same directory, then linked into
// place. Linking never replaces an existing file, so when two processes
// race to create the key both end up using the one that won.
func (h *Home) createKey() (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	tmp, err := os.CreateTemp(h.dir, ".ledger.key.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating signing key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("creating signing key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("creating signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("creating signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("creating signing key: %w", err)
	}
	path := h.KeyPath()
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return h.loadKey() // another process created it first
		}
		// File systems without hard links: fall back to rename, which is
		// still atomic but could replace a key created concurrently.
		if _, statErr := os.Lstat(path); statErr == nil {
			return h.loadKey()
		}
		if err := os.Rename(tmpName, path); err != nil {
			return nil, fmt.Errorf("creating signing key: %w", err)
		}
	}
	syncDir(h.dir)
	return key, nil
}

// syncDir makes a directory entry durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Config is the content of config.rtfs.
type Config struct {
	// Values is the whole config map, unknown keys included (empty when
	// there is no config file).
	Values *value.Map
	// TrustedKeys are the extra public keys accepted when verifying the
	// chain, by key id (from :trusted-keys {"key-id" "base64 pubkey"}).
	TrustedKeys map[string]ed25519.PublicKey
}

// Get returns the value of a keyword key of the config map.
func (c *Config) Get(key string) (value.Value, bool) {
	if c.Values == nil {
		return nil, false
	}
	return c.Values.Get(value.Keyword(key))
}

// Config reads the optional config file config.rtfs: a single RTFS map.
// A missing file yields an empty config.
func (h *Home) Config() (*Config, error) {
	cfg := &Config{Values: value.NewMap(), TrustedKeys: map[string]ed25519.PublicKey{}}
	path := h.ConfigPath()
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	forms, err := syntax.Parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(forms) == 0 {
		return cfg, nil
	}
	if len(forms) != 1 {
		return nil, fmt.Errorf("config %s: want a single map, found %d forms", path, len(forms))
	}
	m, ok := value.FromSyntax(forms[0]).(*value.Map)
	if !ok {
		return nil, fmt.Errorf("config %s: want a map, found %s", path, value.Repr(value.FromSyntax(forms[0])))
	}
	cfg.Values = m
	if tk, ok := cfg.Get("trusted-keys"); ok && tk != nil {
		tm, ok := tk.(*value.Map)
		if !ok {
			return nil, fmt.Errorf("config %s: :trusted-keys must be a map of key id to base64 public key", path)
		}
		var perr error
		tm.Range(func(k, v value.Value) bool {
			id, ok1 := k.(value.String)
			b64, ok2 := v.(value.String)
			if !ok1 || !ok2 {
				perr = fmt.Errorf("config %s: :trusted-keys entry %s %s: want string key id and base64 string", path, value.Repr(k), value.Repr(v))
				return false
			}
			raw, err := base64.StdEncoding.DecodeString(string(b64))
			if err != nil || len(raw) != ed25519.PublicKeySize {
				perr = fmt.Errorf("config %s: trusted key %q: not a base64 Ed25519 public key", path, string(id))
				return false
			}
			pub := ed25519.PublicKey(raw)
			if want := ledger.KeyID(pub); want != string(id) {
				perr = fmt.Errorf("config %s: trusted key %q: the key's id is %q", path, string(id), want)
				return false
			}
			cfg.TrustedKeys[string(id)] = pub
			return true
		})
		if perr != nil {
			return nil, perr
		}
	}
	return cfg, nil
}

// TrustedKeys returns the public keys accepted when verifying the chain:
// this data directory's signing key (when it exists; asking does not
// create it) and the :trusted-keys of the config.
func (h *Home) TrustedKeys() (map[string]ed25519.PublicKey, error) {
	cfg, err := h.Config()
	if err != nil {
		return nil, err
	}
	keys := make(map[string]ed25519.PublicKey, len(cfg.TrustedKeys)+1)
	for id, k := range cfg.TrustedKeys {
		keys[id] = k
	}
	h.mu.Lock()
	key, id := h.key, h.keyID
	h.mu.Unlock()
	if key == nil {
		k, err := h.loadKey()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return keys, nil
		case err != nil:
			return nil, err
		}
		key, id = k, ledger.KeyID(k.Public().(ed25519.PublicKey))
	}
	keys[id] = key.Public().(ed25519.PublicKey)
	return keys, nil
}

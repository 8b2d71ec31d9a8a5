package caps

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccos-go/ccos/rtfs/syntax"
)

// Limits of a wasm capability.
const (
	// DefaultWASMMemoryMB caps the linear memory of a module whose
	// manifest sets no :memory-mb.
	DefaultWASMMemoryMB = 64
	// MaxWASMMemoryMB is the largest :memory-mb: the whole 32-bit
	// address space of a WebAssembly memory.
	MaxWASMMemoryMB = 4096
	// DefaultWASMTimeout is the timeout of a wasm call whose manifest
	// sets no :timeout-ms.
	DefaultWASMTimeout = 30 * time.Second
)

// WASMConfig configures a wasm capability: a WASI preview1 command
// module, pinned by the SHA-256 of its bytes.
type WASMConfig struct {
	// Path is the clean absolute path of the .wasm file. A manifest may
	// write it relative to the manifest file's directory; parsing makes
	// it absolute.
	Path string
	// SHA256 is the hex SHA-256 of the module file (required); a file
	// with other content is refused when the module is loaded.
	SHA256 string
	// MemoryMB caps the module's linear memory (0 means
	// DefaultWASMMemoryMB); the step profile may lower it further.
	MemoryMB int64
	// Timeout bounds one call (0 means DefaultWASMTimeout); the step
	// profile may lower it further.
	Timeout time.Duration
}

// parseWASMConfig parses the :wasm {:path :sha256 :memory-mb :timeout-ms}
// map. A relative :path is resolved against the directory of the file the
// form was read from.
func parseWASMConfig(n syntax.Node) (*WASMConfig, error) {
	es, err := mfFields(n, ":wasm", "path", "sha256", "memory-mb", "timeout-ms")
	if err != nil {
		return nil, err
	}
	c := &WASMConfig{}
	havePath, haveHash := false, false
	for _, e := range es {
		switch e.key {
		case "path":
			p, err := mfString(e.v, ":wasm :path")
			if err != nil {
				return nil, err
			}
			if c.Path, err = resolveWASMPath(p, e.v.Pos().File); err != nil {
				return nil, mfErr(e.v, "%v", err)
			}
			havePath = true
		case "sha256":
			if c.SHA256, err = mfString(e.v, ":wasm :sha256"); err != nil {
				return nil, err
			}
			if err := validateSHA256(c.SHA256); err != nil {
				return nil, mfErr(e.v, "%v", err)
			}
			c.SHA256 = strings.ToLower(c.SHA256)
			haveHash = true
		case "memory-mb":
			i, ok := e.v.(*syntax.Int)
			if !ok {
				return nil, mfErr(e.v, ":wasm :memory-mb must be an integer number of MiB, got %s", mfNodeKind(e.v))
			}
			if i.Value < 1 || i.Value > MaxWASMMemoryMB {
				return nil, mfErr(e.v, ":wasm :memory-mb must be between 1 and %d, got %d", MaxWASMMemoryMB, i.Value)
			}
			c.MemoryMB = i.Value
		case "timeout-ms":
			if c.Timeout, err = mfTimeout(e.v, ":wasm :timeout-ms"); err != nil {
				return nil, err
			}
		}
	}
	if !havePath {
		return nil, mfErr(n, ":wasm has no :path")
	}
	if !haveHash {
		return nil, mfErr(n, ":wasm has no :sha256 (the hex SHA-256 of the module file)")
	}
	return c, nil
}

// resolveWASMPath makes a :wasm :path absolute: an absolute path must be
// clean, a relative one is joined to the directory of the manifest file.
func resolveWASMPath(p, manifestFile string) (string, error) {
	if p == "" {
		return "", errors.New(":wasm :path is empty")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", errors.New(":wasm :path contains a NUL byte")
	}
	if filepath.IsAbs(p) {
		if filepath.Clean(p) != p {
			return "", fmt.Errorf(":wasm :path %q is not clean (write %q)", p, filepath.Clean(p))
		}
		return p, nil
	}
	abs, err := filepath.Abs(filepath.Join(filepath.Dir(manifestFile), p))
	if err != nil {
		return "", fmt.Errorf(":wasm :path %q: %v", p, err)
	}
	return abs, nil
}

// validateSHA256 accepts 64 hexadecimal digits.
func validateSHA256(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("invalid :sha256 %q: want 64 hexadecimal digits", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Errorf("invalid :sha256 %q: want 64 hexadecimal digits", s)
		}
	}
	return nil
}

// validateWASM checks a wasm capability's configuration and the effects
// a module can have: WASI preview1 as ccos runs it gives a module no
// network, no programs to run and no environment.
func (m *Manifest) validateWASM() error {
	c := m.WASM
	if c == nil {
		return errors.New("provider wasm needs a WASM configuration")
	}
	if c.Path == "" || strings.IndexByte(c.Path, 0) >= 0 || !filepath.IsAbs(c.Path) || filepath.Clean(c.Path) != c.Path {
		return fmt.Errorf("wasm path %q must be a clean absolute path", c.Path)
	}
	if err := validateSHA256(c.SHA256); err != nil {
		return err
	}
	if c.MemoryMB < 0 || c.MemoryMB > MaxWASMMemoryMB {
		return fmt.Errorf("wasm memory %d MiB out of range (0 to %d)", c.MemoryMB, MaxWASMMemoryMB)
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		return fmt.Errorf("wasm timeout %v out of range", c.Timeout)
	}
	if len(m.Effects.Network) > 0 {
		return errors.New("wasm modules get no network: effects network must be empty")
	}
	if m.Effects.Exec {
		return errors.New("wasm modules cannot run programs: effects exec must be false")
	}
	if len(m.Effects.Env) > 0 {
		return errors.New("wasm modules get no environment: effects env must be empty")
	}
	return nil
}

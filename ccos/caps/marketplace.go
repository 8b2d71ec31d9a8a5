package caps

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrDuplicate is wrapped by the error Register and LoadDir return when a
// capability id is already registered.
var ErrDuplicate = errors.New("capability id already registered")

// MaxManifestFileBytes bounds the size of one manifest file read by LoadDir.
const MaxManifestFileBytes = 1 << 20

// Marketplace is the registry of capabilities. It is safe for concurrent
// use; registration normally happens during setup and lookups afterwards.
type Marketplace struct {
	mu   sync.RWMutex
	byID map[string]*Capability
	now  func() time.Time
}

// New returns an empty marketplace.
func New() *Marketplace {
	return &Marketplace{byID: make(map[string]*Capability), now: time.Now}
}

// NewDefault returns a marketplace holding every built-in capability. A
// built-in that fails to register is a programming error and panics.
func NewDefault() *Marketplace {
	m := New()
	for _, c := range Builtins() {
		if err := m.Register(c); err != nil {
			panic("caps: registering built-in capability: " + err.Error())
		}
	}
	return m
}

// Register adds a capability. It is an error if the id is already
// registered, if Run is nil or if the manifest is invalid (see
// Manifest.Validate). An empty Provider means ProviderLocal, an empty
// Provenance.Source means "builtin" for local capabilities, and a zero
// Provenance.RegisteredAt is set to the current time. The marketplace
// keeps its own shallow copy, so c may be registered in several
// marketplaces; Get returns that copy.
func (m *Marketplace) Register(c *Capability) error {
	if c == nil {
		return errors.New("caps: Register(nil)")
	}
	cc := *c
	if cc.Provider == "" {
		cc.Provider = ProviderLocal
	}
	if cc.Provenance.Source == "" && cc.Provider == ProviderLocal {
		cc.Provenance.Source = "builtin"
	}
	if err := cc.Validate(); err != nil {
		return fmt.Errorf("caps: %w", err)
	}
	if cc.Run == nil {
		return fmt.Errorf("caps: capability %s has no Run function", cc.ID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.byID[cc.ID]; dup {
		return fmt.Errorf("caps: %s: %w", cc.ID, ErrDuplicate)
	}
	if cc.Provenance.RegisteredAt.IsZero() {
		cc.Provenance.RegisteredAt = m.now().UTC()
	}
	m.byID[cc.ID] = &cc
	return nil
}

// Get returns the capability registered under id.
func (m *Marketplace) Get(id string) (*Capability, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.byID[id]
	return c, ok
}

// List returns every capability, sorted by id.
func (m *Marketplace) List() []*Capability {
	return m.Search("", nil)
}

// Search returns the capabilities, sorted by id, whose id or description
// contains query (case-insensitively; "" matches all) and that carry
// every one of tags (exact match).
func (m *Marketplace) Search(query string, tags []string) []*Capability {
	q := strings.ToLower(query)
	m.mu.RLock()
	out := make([]*Capability, 0, len(m.byID))
	for _, c := range m.byID {
		if q != "" && !strings.Contains(strings.ToLower(c.ID), q) &&
			!strings.Contains(strings.ToLower(c.Description), q) {
			continue
		}
		if !mpHasTags(c.Tags, tags) {
			continue
		}
		out = append(out, c)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Capability) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func mpHasTags(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

// LoadDir registers the capabilities of every *.rtfs manifest file in dir
// (not its subdirectories), in file name order. Each capability's
// provenance is the file: Source is its path, ContentHash the hex SHA-256
// of its bytes and RegisteredAt the load time. A missing dir is not an
// error. Loading is all or nothing: a file that does not parse, a
// manifest NewFromManifest rejects (e.g. a :local provider) or an id
// already registered (a built-in, or another file's) is an error naming
// the file and position, and then nothing is registered.
func (m *Marketplace) LoadDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("caps: loading manifests: %w", err)
	}
	now := m.now().UTC()
	var loaded []*Capability
	idPos := make(map[string]string)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".rtfs") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows symlinks
		if err != nil {
			return fmt.Errorf("caps: loading manifests: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		src, err := readManifestFile(path)
		if err != nil {
			return fmt.Errorf("caps: loading manifests: %w", err)
		}
		sum := sha256.Sum256(src)
		ps, err := parseManifests(path, src)
		if err != nil {
			return fmt.Errorf("caps: loading manifests: %w", err)
		}
		for _, p := range ps {
			p.m.Provenance = Provenance{Source: path, ContentHash: hex.EncodeToString(sum[:]), RegisteredAt: now}
			c, err := NewFromManifest(p.m)
			if err != nil {
				return fmt.Errorf("caps: loading manifests: %s: %w", p.form, err)
			}
			if prev, dup := idPos[c.ID]; dup {
				return fmt.Errorf("caps: loading manifests: %s: %s: %w (also defined at %s)", p.idPos, c.ID, ErrDuplicate, prev)
			}
			idPos[c.ID] = p.idPos.String()
			loaded = append(loaded, c)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range loaded {
		if prev, dup := m.byID[c.ID]; dup {
			return fmt.Errorf("caps: loading manifests: %s: %s: %w (by %s)", idPos[c.ID], c.ID, ErrDuplicate, prev.Provenance.Source)
		}
	}
	for _, c := range loaded {
		m.byID[c.ID] = c
	}
	return nil
}

func readManifestFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxManifestFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxManifestFileBytes {
		return nil, fmt.Errorf("%s: manifest file larger than %d bytes", path, MaxManifestFileBytes)
	}
	return src, nil
}

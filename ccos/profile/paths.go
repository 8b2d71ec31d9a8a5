package profile

import (
	"path/filepath"
	"slices"

	"github.com/ccos-go/ccos/ccos/security"
)

// anyPath is the root that stands for every path.
const anyPath = "*"

// canonRoot canonicalises a declared root (manifest or option): "*" stays,
// anything else goes through security.CanonicalPath, falling back to a
// lexically cleaned absolute path when that fails.
func canonRoot(r string) string {
	if r == anyPath {
		return r
	}
	if c, err := security.CanonicalPath(r); err == nil {
		return c
	}
	if a, err := filepath.Abs(r); err == nil {
		return a
	}
	return filepath.Clean(r)
}

// rootCovers reports whether root r contains canonical path p.
func rootCovers(r, p string) bool {
	return r == anyPath || (p != anyPath && security.Within(r, p))
}

// anyRootCovers reports whether some root contains p.
func anyRootCovers(roots []string, p string) bool {
	for _, r := range roots {
		if rootCovers(r, p) {
			return true
		}
	}
	return false
}

// minimalRoots sorts roots and drops duplicates and roots inside another
// root; "*" absorbs everything.
func minimalRoots(roots []string) []string {
	if len(roots) == 0 {
		return nil
	}
	if slices.Contains(roots, anyPath) {
		return []string{anyPath}
	}
	roots = sortUniq(roots)
	out := roots[:0:0]
	for i, r := range roots {
		inside := false
		for j, o := range roots {
			if i != j && security.Within(o, r) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, r)
		}
	}
	return out
}

// intersectRoot returns the roots covering the paths both a and b cover.
func intersectRoot(a, b string) (string, bool) {
	switch {
	case a == anyPath:
		return b, true
	case b == anyPath, security.Within(b, a):
		return a, true
	case security.Within(a, b):
		return b, true
	}
	return "", false
}

// intersectRoots intersects a profile's roots with a context's roots.
func intersectRoots(roots, ctxRoots []string) []string {
	if slices.Contains(ctxRoots, anyPath) {
		return roots
	}
	var out []string
	for _, r := range roots {
		for _, c := range ctxRoots {
			if x, ok := intersectRoot(r, c); ok {
				out = append(out, x)
			}
		}
	}
	return out
}

// fsPolicy builds the policy of readable and writable roots: write roots
// are readable, so read roots inside a write root are dropped.
func fsPolicy(read, write []string) FSPolicy {
	write = minimalRoots(write)
	if slices.Contains(write, anyPath) {
		return FSPolicy{Kind: FSFull, Read: []string{anyPath}, Write: []string{anyPath}}
	}
	read = minimalRoots(read)
	if len(write) > 0 && len(read) > 0 {
		kept := read[:0:0]
		for _, r := range read {
			if !anyRootCovers(write, r) {
				kept = append(kept, r)
			}
		}
		read = kept
		if len(read) == 0 {
			read = nil
		}
	}
	switch {
	case len(write) > 0:
		return FSPolicy{Kind: FSReadWrite, Read: read, Write: write}
	case len(read) > 0:
		return FSPolicy{Kind: FSReadOnly, Read: read}
	}
	return FSPolicy{Kind: FSNone}
}

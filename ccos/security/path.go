package security

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxLinks bounds the symbolic links (and re-resolutions) CanonicalPath
// follows, like the kernel's ELOOP limit.
const maxLinks = 255

// CanonicalPath returns the canonical form of p: absolute (relative paths
// are taken relative to the process's working directory), clean, and with
// every symbolic link in its existing part resolved. Components are
// resolved in order as the kernel does, so "link/.." is the parent of the
// link's target, not the directory holding the link. A path that does not
// exist (yet) is allowed: its longest existing prefix is resolved and the
// rest appended, so the result never passes through a symbolic link as of
// the time of the call. Capabilities should open the canonical path
// returned by CheckRead or CheckWrite rather than their raw argument.
func CanonicalPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("canonical path: empty path")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("canonical path %q: contains a NUL byte", p)
	}
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("canonical path %q: %w", p, err)
		}
		// No filepath.Join: cleaning ".." before resolving symbolic
		// links would be wrong.
		p = wd + string(filepath.Separator) + p
	}
	return resolvePath(p)
}

// resolvePath resolves the absolute path p component by component.
func resolvePath(p string) (string, error) {
	sep := string(filepath.Separator)
	vol := filepath.VolumeName(p)
	root := vol + sep
	dest, rest := root, p[len(vol):]
	links := 0
	for rest != "" {
		var comp string
		comp, rest, _ = strings.Cut(rest, sep)
		switch comp {
		case "", ".":
			continue
		case "..":
			dest = filepath.Dir(dest)
			continue
		}
		cand := filepath.Join(dest, comp)
		fi, err := os.Lstat(cand)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				return "", fmt.Errorf("canonical path %q: %w", p, err)
			}
			if !hasDotDot(rest) {
				return filepath.Join(cand, rest), nil
			}
			// A missing component followed by "..": the kernel would
			// fail, but code that cleans the path first would not.
			// Resolve the lexically cleaned path instead, so the result
			// is free of symbolic links either way.
			if links++; links > maxLinks {
				return "", fmt.Errorf("canonical path %q: too many levels of symbolic links", p)
			}
			dest, rest = root, filepath.Join(cand, rest)[len(vol):]
			continue
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			dest = cand
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("canonical path %q: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(cand)
		if err != nil {
			return "", fmt.Errorf("canonical path %q: %w", p, err)
		}
		if filepath.IsAbs(target) {
			v := filepath.VolumeName(target)
			dest, target = v+sep, target[len(v):]
		}
		if rest != "" {
			target += sep + rest
		}
		rest = target
	}
	return dest, nil
}

func hasDotDot(p string) bool {
	for _, c := range strings.Split(p, string(filepath.Separator)) {
		if c == ".." {
			return true
		}
	}
	return false
}

// Within reports whether path p is root or lies under root. Both should be
// canonical (see CanonicalPath); the comparison is by path segment, so
// "/data2" is not within "/data".
func Within(root, p string) bool {
	if root == "" || p == "" {
		return false
	}
	root, p = filepath.Clean(root), filepath.Clean(p)
	if root == p {
		return true
	}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		root += string(filepath.Separator)
	}
	return strings.HasPrefix(p, root)
}

// findRoot returns the first root in lists that contains the canonical
// path cp. Roots are canonicalised (a root that is a symbolic link is
// resolved); "*" contains everything; relative or unresolvable roots
// contain nothing.
func findRoot(cp string, lists ...[]string) (string, bool) {
	for _, list := range lists {
		for _, r := range list {
			if r == "*" {
				return r, true
			}
			if !filepath.IsAbs(r) {
				continue
			}
			if cr, err := CanonicalPath(r); err == nil && Within(cr, cp) {
				return r, true
			}
		}
	}
	return "", false
}

// CheckRead canonicalises path and checks it lies within one of c's read
// or write roots. It returns the canonical path, which the caller should
// use from then on, or a *Violation of kind "read". A Pure context allows
// no file access.
func (c *Context) CheckRead(path string) (string, error) {
	deny := func(format string, args ...any) (string, error) {
		return "", &Violation{Kind: "read", Subject: path, Reason: fmt.Sprintf(format, args...)}
	}
	if c.Level == Pure {
		return deny("the pure security level allows no file access")
	}
	cp, err := CanonicalPath(path)
	if err != nil {
		return deny("%v", err)
	}
	if _, ok := findRoot(cp, c.ReadRoots, c.WriteRoots); ok {
		return cp, nil
	}
	return deny("resolves to %s, which is not under any readable root of context %s", cp, c.displayName())
}

// CheckWrite canonicalises path and checks it lies within one of c's write
// roots. It returns the canonical path, which the caller should use from
// then on, or a *Violation of kind "write"; a path that is only under a
// read root is denied because that root is read-only. A Pure context
// allows no file access.
func (c *Context) CheckWrite(path string) (string, error) {
	deny := func(format string, args ...any) (string, error) {
		return "", &Violation{Kind: "write", Subject: path, Reason: fmt.Sprintf(format, args...)}
	}
	if c.Level == Pure {
		return deny("the pure security level allows no file access")
	}
	cp, err := CanonicalPath(path)
	if err != nil {
		return deny("%v", err)
	}
	if _, ok := findRoot(cp, c.WriteRoots); ok {
		return cp, nil
	}
	if root, ok := findRoot(cp, c.ReadRoots); ok {
		return deny("resolves to %s, under root %s, which is read-only", cp, root)
	}
	return deny("resolves to %s, which is not under any writable root of context %s", cp, c.displayName())
}

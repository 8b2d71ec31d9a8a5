package wasm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// maxSymlinks bounds the symbolic links followed while resolving one path
// (as Linux's MAXSYMLINKS).
const maxSymlinks = 40

// mount is one pre-opened directory: host directory host (canonical)
// visible at guest path guest, with its entries filtered by rules.
type mount struct {
	guest, host string
	// rules maps "." (the whole directory) or the name of one entry to
	// whether it is writable. A path is visible when a rule covers it.
	rules map[string]bool
}

// planMounts turns the read-only and read-write paths of a Config into
// mounts: a directory is mounted whole at its own path; any other path
// (a file or a missing path) mounts its parent with a rule for that one
// name. Mounts at the same guest path are merged. A path whose parent
// does not exist is visible nowhere and is skipped. Unless "/" itself is
// mounted, an empty directory is mounted at "/", so that the guest finds
// every other path missing.
func planMounts(ro, rw []string) ([]*mount, error) {
	byGuest := map[string]*mount{}
	add := func(p string, writable bool) error {
		if p == "" || strings.IndexByte(p, 0) >= 0 || !filepath.IsAbs(p) {
			return fmt.Errorf("wasm: mount path %q must be absolute", p)
		}
		p = filepath.Clean(p)
		guest, host, name := p, "", "."
		if canon, err := filepath.EvalSymlinks(p); err == nil {
			if fi, err := os.Stat(canon); err == nil && fi.IsDir() {
				host = canon
			}
		}
		if host == "" {
			if p == "/" {
				return nil
			}
			guest, name = filepath.Dir(p), filepath.Base(p)
			canon, err := filepath.EvalSymlinks(guest)
			if err != nil {
				return nil // nothing to see
			}
			fi, err := os.Stat(canon)
			if err != nil || !fi.IsDir() {
				return nil
			}
			host = canon
		}
		m := byGuest[guest]
		if m == nil {
			m = &mount{guest: guest, host: host, rules: map[string]bool{}}
			byGuest[guest] = m
		}
		m.rules[name] = m.rules[name] || writable
		return nil
	}
	for _, p := range ro {
		if err := add(p, false); err != nil {
			return nil, err
		}
	}
	for _, p := range rw {
		if err := add(p, true); err != nil {
			return nil, err
		}
	}
	if byGuest["/"] == nil {
		// An empty root: every path outside the mounts resolves through
		// it to "no such file or directory".
		byGuest["/"] = &mount{guest: "/", host: "/", rules: map[string]bool{}}
	}
	out := make([]*mount, 0, len(byGuest))
	for _, m := range byGuest {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *mount) int { return strings.Compare(a.guest, b.guest) })
	// The guest resolves a path through the mount with the longest
	// matching guest path, so a mount inside a whole-directory mount
	// must show what the outer one shows there too.
	for _, a := range out {
		for _, b := range out {
			wb, whole := b.rules["."]
			if a == b || !whole || !strings.HasPrefix(a.guest, strings.TrimSuffix(b.guest, "/")+"/") {
				continue
			}
			a.rules["."] = a.rules["."] || wb
		}
	}
	return out, nil
}

// mountConfig returns the wazero filesystem configuration of a run.
func mountConfig(ro, rw []string) (wazero.FSConfig, error) {
	mounts, err := planMounts(ro, rw)
	if err != nil {
		return nil, err
	}
	cfg := wazero.NewFSConfig()
	for _, m := range mounts {
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(newConfinedFS(m), m.guest)
	}
	return cfg, nil
}

// confinedFS is a host directory as the guest may see it: paths are
// resolved by confinedFS itself, following symbolic links only inside the
// directory, then checked against the mount's rules, and only then
// handed, free of symbolic links, to wazero's directory filesystem
// (opened with O_NOFOLLOW so that a link swapped in meanwhile is not
// followed).
type confinedFS struct {
	m     *mount
	inner experimentalsys.FS
	whole bool // a "." rule: the whole directory is visible
}

func newConfinedFS(m *mount) *confinedFS {
	_, whole := m.rules["."]
	return &confinedFS{m: m, inner: sysfs.DirFS(m.host), whole: whole}
}

var _ experimentalsys.FS = (*confinedFS)(nil)

// String names the mount in wazero's messages.
func (c *confinedFS) String() string { return c.m.host }

// access reports whether the resolved relative path p may be read and
// written.
func (c *confinedFS) access(p string) (read, write bool) {
	if w, ok := c.m.rules["."]; ok {
		read, write = true, w
	}
	if p == "." {
		return true, write
	}
	first, _, _ := strings.Cut(p, "/")
	if w, ok := c.m.rules[first]; ok {
		read, write = true, write || w
	}
	return read, write
}

// splitPath splits a clean relative path into its components.
func splitPath(p string) []string {
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// resolve resolves the guest-relative path p inside the mount: symbolic
// links are followed (the last component's only when followLast), an
// absolute link target must lie inside the mount's host directory, and a
// link or ".." leading out of the mount is EACCES. The result is a clean
// relative path without symbolic links (as of now) except possibly its
// last component when !followLast.
func (c *confinedFS) resolve(p string, followLast bool) (string, experimentalsys.Errno) {
	trailing := strings.HasSuffix(p, "/")
	p = path.Clean("/" + p)[1:]
	if trailing && p != "" {
		followLast = true // "dir/" names the directory a link points to
	}
	queue := splitPath(p)
	var done []string
	links := 0
	for len(queue) > 0 {
		comp := queue[0]
		queue = queue[1:]
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", experimentalsys.EACCES
			}
			done = done[:len(done)-1]
			continue
		}
		next := append(done, comp)
		if len(queue) == 0 && !followLast {
			done = next
			break
		}
		host := filepath.Join(c.m.host, filepath.Join(next...))
		fi, err := os.Lstat(host)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// Nothing below exists, so nothing below is a link.
				done = next
				continue
			}
			return "", experimentalsys.UnwrapOSError(err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", experimentalsys.ELOOP
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", experimentalsys.UnwrapOSError(err)
		}
		if filepath.IsAbs(target) {
			rel, err := filepath.Rel(c.m.host, filepath.Clean(target))
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				return "", experimentalsys.EACCES
			}
			done = done[:0]
			target = rel
		}
		queue = append(splitPath(path.Clean(filepath.ToSlash(target))), queue...)
	}
	if len(done) == 0 {
		return ".", 0
	}
	rp := strings.Join(done, "/")
	if trailing {
		rp += "/"
	}
	return rp, 0
}

// check resolves p and checks the access an operation needs: ENOENT
// when the path is not visible, EROFS when it is visible but read-only.
func (c *confinedFS) check(p string, followLast, write bool) (string, experimentalsys.Errno) {
	rp, errno := c.resolve(p, followLast)
	if errno != 0 {
		return "", errno
	}
	r, w := c.access(rp)
	switch {
	case !r:
		return "", experimentalsys.ENOENT
	case write && !w:
		return "", experimentalsys.EROFS
	}
	return rp, 0
}

const writeFlags = experimentalsys.O_WRONLY | experimentalsys.O_RDWR | experimentalsys.O_CREAT |
	experimentalsys.O_TRUNC | experimentalsys.O_APPEND

// OpenFile implements experimentalsys.FS.
func (c *confinedFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	rp, errno := c.check(p, flag&experimentalsys.O_NOFOLLOW == 0, flag&writeFlags != 0)
	if errno != 0 {
		return nil, errno
	}
	f, errno := c.inner.OpenFile(rp, flag|experimentalsys.O_NOFOLLOW, perm)
	if errno != 0 {
		return nil, errno
	}
	if rp == "." && !c.whole {
		return &filteredDir{File: f, rules: c.m.rules}, 0
	}
	return f, 0
}

// Lstat implements experimentalsys.FS.
func (c *confinedFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	rp, errno := c.check(p, false, false)
	if errno != 0 {
		return sys.Stat_t{}, errno
	}
	return c.inner.Lstat(rp)
}

// Stat implements experimentalsys.FS.
func (c *confinedFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	rp, errno := c.check(p, true, false)
	if errno != 0 {
		return sys.Stat_t{}, errno
	}
	return c.inner.Lstat(rp) // rp has no links left
}

// Mkdir implements experimentalsys.FS.
func (c *confinedFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	rp, errno := c.check(p, false, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Mkdir(rp, perm)
}

// Chmod implements experimentalsys.FS.
func (c *confinedFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	rp, errno := c.check(p, true, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Chmod(rp, perm)
}

// Rename implements experimentalsys.FS.
func (c *confinedFS) Rename(from, to string) experimentalsys.Errno {
	rf, errno := c.check(from, false, true)
	if errno != 0 {
		return errno
	}
	rt, errno := c.check(to, false, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Rename(rf, rt)
}

// Rmdir implements experimentalsys.FS.
func (c *confinedFS) Rmdir(p string) experimentalsys.Errno {
	rp, errno := c.check(p, false, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Rmdir(rp)
}

// Unlink implements experimentalsys.FS.
func (c *confinedFS) Unlink(p string) experimentalsys.Errno {
	rp, errno := c.check(p, false, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Unlink(rp)
}

// Link implements experimentalsys.FS. The source must be writable too: a
// hard link in a writable place would otherwise make a read-only file
// writable.
func (c *confinedFS) Link(oldPath, newPath string) experimentalsys.Errno {
	ro, errno := c.check(oldPath, false, true)
	if errno != 0 {
		return errno
	}
	rn, errno := c.check(newPath, false, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Link(ro, rn)
}

// Symlink implements experimentalsys.FS: the guest cannot create
// symbolic links (they could point host programs out of the mount).
func (c *confinedFS) Symlink(string, string) experimentalsys.Errno {
	return experimentalsys.EPERM
}

// Readlink implements experimentalsys.FS.
func (c *confinedFS) Readlink(p string) (string, experimentalsys.Errno) {
	rp, errno := c.check(p, false, false)
	if errno != 0 {
		return "", errno
	}
	return c.inner.Readlink(rp)
}

// Utimens implements experimentalsys.FS.
func (c *confinedFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	rp, errno := c.check(p, true, true)
	if errno != 0 {
		return errno
	}
	return c.inner.Utimens(rp, atim, mtim)
}

// filteredDir is the root directory of a mount that shows only some of
// its entries: Readdir hides the others.
type filteredDir struct {
	experimentalsys.File
	rules map[string]bool
}

// Readdir implements experimentalsys.File, returning only entries that
// rules name. Like the File it wraps, it returns fewer than n entries
// only at the end of the directory.
func (d *filteredDir) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	keep := func(out, ents []experimentalsys.Dirent) []experimentalsys.Dirent {
		for _, e := range ents {
			if _, ok := d.rules[e.Name]; ok {
				out = append(out, e)
			}
		}
		return out
	}
	if n <= 0 {
		ents, errno := d.File.Readdir(n)
		return keep(nil, ents), errno
	}
	var out []experimentalsys.Dirent
	for len(out) < n {
		want := n - len(out)
		ents, errno := d.File.Readdir(want)
		out = keep(out, ents)
		if errno != 0 {
			return out, errno
		}
		if len(ents) < want {
			break
		}
	}
	return out, 0
}

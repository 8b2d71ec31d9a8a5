package security

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fsFixture builds, under a fresh temporary directory:
//
//	data/file.txt
//	data/sub/inner.txt
//	data/escape -> <tmp>/secret      (symlink out of the root)
//	data/rel-escape -> ../secret     (relative symlink out of the root)
//	data/inside -> sub               (symlink staying inside)
//	data/dangling -> <tmp>/secret/new.txt
//	data2/file.txt
//	secret/passwd
//	ro/file.txt
//	link-root -> data                (a root that is itself a symlink)
type fsFixture struct {
	tmp, data, data2, secret, ro, linkRoot string
}

func newFS(t *testing.T) fsFixture {
	t.Helper()
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := fsFixture{
		tmp:      tmp,
		data:     filepath.Join(tmp, "data"),
		data2:    filepath.Join(tmp, "data2"),
		secret:   filepath.Join(tmp, "secret"),
		ro:       filepath.Join(tmp, "ro"),
		linkRoot: filepath.Join(tmp, "link-root"),
	}
	for _, d := range []string{filepath.Join(f.data, "sub"), f.data2, f.secret, f.ro} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{
		filepath.Join(f.data, "file.txt"), filepath.Join(f.data, "sub", "inner.txt"),
		filepath.Join(f.data2, "file.txt"), filepath.Join(f.secret, "passwd"), filepath.Join(f.ro, "file.txt"),
	} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		filepath.Join(f.data, "escape"):     f.secret,
		filepath.Join(f.data, "rel-escape"): "../secret",
		filepath.Join(f.data, "inside"):     "sub",
		filepath.Join(f.data, "dangling"):   filepath.Join(f.secret, "new.txt"),
		f.linkRoot:                          "data",
	}
	for l, target := range links {
		if err := os.Symlink(target, l); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	return f
}

func TestCanonicalPath(t *testing.T) {
	f := newFS(t)
	tests := []struct{ in, want string }{
		{f.data, f.data},
		{f.data + "/", f.data},
		{f.data + "//sub/./inner.txt", filepath.Join(f.data, "sub", "inner.txt")},
		{f.data + "/../secret/passwd", filepath.Join(f.secret, "passwd")},
		{f.data + "/escape/passwd", filepath.Join(f.secret, "passwd")},
		{f.data + "/rel-escape/passwd", filepath.Join(f.secret, "passwd")},
		{f.data + "/inside/inner.txt", filepath.Join(f.data, "sub", "inner.txt")},
		{f.data + "/dangling", filepath.Join(f.secret, "new.txt")},
		{f.linkRoot + "/file.txt", filepath.Join(f.data, "file.txt")},
		{f.data + "/new/deeper/file", filepath.Join(f.data, "new", "deeper", "file")},
		// "escape/.." is the parent of the link's target, as the kernel sees it.
		{f.data + "/escape/../data2/file.txt", filepath.Join(f.data2, "file.txt")},
		// A missing component followed by "..": the lexically cleaned
		// path is resolved, symlinks included.
		{f.data + "/missing/../escape/passwd", filepath.Join(f.secret, "passwd")},
		{f.data + "/file.txt/../sub", filepath.Join(f.data, "sub")},
		{"/../../" + strings.TrimPrefix(f.data, "/"), f.data},
	}
	for _, tt := range tests {
		got, err := CanonicalPath(tt.in)
		if err != nil {
			t.Errorf("CanonicalPath(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("CanonicalPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	t.Chdir(f.data)
	if got, err := CanonicalPath("sub/../file.txt"); err != nil || got != filepath.Join(f.data, "file.txt") {
		t.Errorf("relative CanonicalPath = %q, %v", got, err)
	}
	if got, err := CanonicalPath("escape/passwd"); err != nil || got != filepath.Join(f.secret, "passwd") {
		t.Errorf("relative CanonicalPath through symlink = %q, %v", got, err)
	}

	for _, bad := range []string{"", "a\x00b"} {
		if _, err := CanonicalPath(bad); err == nil {
			t.Errorf("CanonicalPath(%q) succeeded", bad)
		}
	}
	loop := filepath.Join(f.tmp, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	if _, err := CanonicalPath(loop + "/x"); err == nil {
		t.Error("CanonicalPath through a symlink loop succeeded")
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		root, p string
		want    bool
	}{
		{"/data", "/data", true},
		{"/data", "/data/x", true},
		{"/data", "/data/x/y", true},
		{"/data", "/data2", false},
		{"/data", "/data2/x", false},
		{"/data", "/dat", false},
		{"/data", "/", false},
		{"/", "/anything", true},
		{"/", "/", true},
		{"/data/", "/data/x", true},
		{"", "/data", false},
		{"/data", "", false},
	}
	for _, tt := range tests {
		if got := Within(tt.root, tt.p); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.root, tt.p, got, tt.want)
		}
	}
}

func TestCheckReadWrite(t *testing.T) {
	f := newFS(t)
	c := &Context{Name: "fs", Level: Controlled, Isolations: []Isolation{Isolated},
		ReadRoots:  []string{f.ro, f.linkRoot},
		WriteRoots: []string{filepath.Join(f.data, "sub")}}
	type op int
	const (
		read op = iota
		write
	)
	tests := []struct {
		op     op
		path   string
		want   string // canonical path, "" for denied
		reason string // substring of the violation
	}{
		{read, f.data + "/file.txt", filepath.Join(f.data, "file.txt"), ""},
		{read, f.linkRoot + "/file.txt", filepath.Join(f.data, "file.txt"), ""},
		{read, f.data + "/sub/inner.txt", filepath.Join(f.data, "sub", "inner.txt"), ""},
		{read, f.ro + "/file.txt", filepath.Join(f.ro, "file.txt"), ""},
		{read, f.data + "/../secret/passwd", "", "not under any readable root"},
		{read, f.data + "/escape/passwd", "", "not under any readable root"},
		{read, f.data + "/rel-escape/passwd", "", "not under any readable root"},
		{read, f.data + "/missing/../escape/passwd", "", "not under any readable root"},
		{read, f.data2 + "/file.txt", "", "not under any readable root"},
		{read, f.data + "2/file.txt", "", "not under any readable root"},
		{read, "", "", "empty path"},
		{write, f.data + "/sub/new.txt", filepath.Join(f.data, "sub", "new.txt"), ""},
		{write, f.data + "/inside/new.txt", filepath.Join(f.data, "sub", "new.txt"), ""},
		{write, f.data + "/sub/../file.txt", "", "read-only"},
		{write, f.ro + "/file.txt", "", "read-only"},
		{write, f.data + "/dangling", "", "not under any writable root"},
		{write, f.secret + "/passwd", "", "not under any writable root"},
		{write, f.data + "/sub/../../secret/passwd", "", "not under any writable root"},
	}
	for _, tt := range tests {
		var got string
		var err error
		kind := "read"
		if tt.op == read {
			got, err = c.CheckRead(tt.path)
		} else {
			kind = "write"
			got, err = c.CheckWrite(tt.path)
		}
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("Check%s(%q) = %q, %v; want %q", kind, tt.path, got, err, tt.want)
			}
			continue
		}
		var v *Violation
		if !errors.As(err, &v) || v.Kind != kind {
			t.Errorf("Check%s(%q) = %q, %v; want a %s violation", kind, tt.path, got, err, kind)
			continue
		}
		if !strings.Contains(v.Reason, tt.reason) {
			t.Errorf("Check%s(%q) reason %q does not mention %q", kind, tt.path, v.Reason, tt.reason)
		}
	}

	star := &Context{Level: Full, Isolations: []Isolation{Inherit}, ReadRoots: []string{"*"}}
	if _, err := star.CheckRead(f.secret + "/passwd"); err != nil {
		t.Errorf("read root * denied: %v", err)
	}
	if _, err := star.CheckWrite(f.secret + "/passwd"); err == nil {
		t.Error("write allowed without write roots")
	}
	pure := &Context{Level: Pure, ReadRoots: []string{"*"}, WriteRoots: []string{"*"}}
	if _, err := pure.CheckRead(f.data + "/file.txt"); err == nil {
		t.Error("pure context allowed a read")
	}
	rel := &Context{Level: Controlled, Isolations: []Isolation{Isolated}, ReadRoots: []string{"."}}
	t.Chdir(f.data)
	if _, err := rel.CheckRead("file.txt"); err == nil {
		t.Error("relative root allowed a read")
	}
}

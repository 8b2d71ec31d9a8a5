package caps

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ccos-go/ccos/rtfs/value"
)

// btFileOps runs the handle capabilities against env.
type btFileOps struct {
	t   *testing.T
	env *Env
}

func (o btFileOps) run(id string, args ...value.Value) (value.Value, error) {
	o.t.Helper()
	return btCall(o.t, btCap(o.t, id), o.env, args)
}

func (o btFileOps) open(path, mode string) value.Value {
	o.t.Helper()
	h, err := o.run("ccos.io.open-file", btStr(path), value.Keyword(mode))
	if err != nil {
		o.t.Fatalf("open %s %s: %v", path, mode, err)
	}
	return h
}

func (o btFileOps) ok(id string, args ...value.Value) value.Value {
	o.t.Helper()
	v, err := o.run(id, args...)
	if err != nil {
		o.t.Fatalf("%s: %v", id, err)
	}
	return v
}

func TestFilesHandles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lines.txt")
	env, _ := btEnv(t)
	o := btFileOps{t, env}

	w := o.open(path, "write")
	if got, want := value.Repr(w), fmt.Sprintf(`{:handle 1 :path %s :mode :write}`, value.Quote(path)); got != want {
		t.Fatalf("handle %s, want %s", got, want)
	}
	o.ok("ccos.io.write-line", w, btStr("first"))
	o.ok("ccos.io.write-line", w, btStr(""))
	o.ok("ccos.io.write-line", w, btStr("third ünïcode"))
	// Wrong mode.
	_, err := o.run("ccos.io.read-line", w)
	btWantErr(t, err, value.ErrIO, "not :read")
	o.ok("ccos.io.close-file", w)
	// Closed handle.
	_, err = o.run("ccos.io.write-line", w, btStr("late"))
	btWantErr(t, err, value.ErrIO, "closed")
	_, err = o.run("ccos.io.close-file", w)
	btWantErr(t, err, value.ErrIO, "closed")

	a := o.open(path, "append")
	o.ok("ccos.io.write-line", a, btStr("fourth\r"))
	o.ok("ccos.io.close-file", a)
	// A final line without a newline.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("last")
	f.Close()

	r := o.open(path, "read")
	if n, _ := r.(*value.Map).Get(value.Keyword("handle")); n != value.Int(3) {
		t.Errorf("third handle is %v, want 3 (never reused)", n)
	}
	var lines []string
	for {
		v := o.ok("ccos.io.read-line", r)
		if v == nil {
			break
		}
		lines = append(lines, string(v.(value.String)))
	}
	if got := strings.Join(lines, "|"); got != "first||third ünïcode|fourth|last" {
		t.Errorf("lines %q", got)
	}
	if v := o.ok("ccos.io.read-line", r); v != nil {
		t.Errorf("read-line after EOF = %v, want nil", v)
	}
	_, err = o.run("ccos.io.write-line", r, btStr("x"))
	btWantErr(t, err, value.ErrIO, "open for :read")
	if env.Files.Len() != 1 {
		t.Errorf("open handles %d, want 1", env.Files.Len())
	}
	o.ok("ccos.io.close-file", r)
	if env.Files.Len() != 0 {
		t.Errorf("open handles %d, want 0", env.Files.Len())
	}
}

func TestFilesHandleErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	os.WriteFile(path, []byte("a\n"), 0o644)
	env, _ := btEnv(t)
	o := btFileOps{t, env}
	h := o.open(path, "read")

	tests := []struct {
		name string
		id   string
		args []value.Value
		typ  value.Keyword
		msg  string
	}{
		{"unknown handle", "ccos.io.read-line", []value.Value{btVal(t, fmt.Sprintf(`{:handle 99 :path %s :mode :read}`, value.Quote(path)))}, value.ErrIO, "unknown or closed"},
		{"forged path", "ccos.io.read-line", []value.Value{btVal(t, `{:handle 1 :path "/etc/passwd" :mode :read}`)}, value.ErrIO, "does not match"},
		{"forged mode", "ccos.io.write-line", []value.Value{btVal(t, fmt.Sprintf(`{:handle 1 :path %s :mode :write}`, value.Quote(path))), btStr("x")}, value.ErrIO, "does not match"},
		{"not a handle map", "ccos.io.close-file", []value.Value{btVal(t, `{:path "x"}`)}, value.ErrIO, "not a file handle"},
		{"not a map", "ccos.io.read-line", []value.Value{value.Int(1)}, value.ErrType, ""},
		{"line not a string", "ccos.io.write-line", []value.Value{h, value.Int(1)}, value.ErrType, ""},
		{"open missing file", "ccos.io.open-file", []value.Value{btStr(filepath.Join(dir, "missing")), value.Keyword("read")}, value.ErrIO, "missing"},
		{"open a directory", "ccos.io.open-file", []value.Value{btStr(dir), value.Keyword("read")}, value.ErrIO, "directory"},
		{"open in a missing dir", "ccos.io.open-file", []value.Value{btStr(filepath.Join(dir, "no", "f")), value.Keyword("write")}, value.ErrIO, ""},
		{"bad mode", "ccos.io.open-file", []value.Value{btStr(path), value.Keyword("rw")}, value.ErrType, ":read, :write or :append"},
		{"string mode", "ccos.io.open-file", []value.Value{btStr(path), btStr("read")}, value.ErrType, ""},
	}
	for _, tt := range tests {
		_, err := btCap(t, tt.id).Run(t.Context(), env, tt.args)
		if err == nil || btErrType(err) != tt.typ || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want %s mentioning %q", tt.name, err, tt.typ, tt.msg)
		}
	}
	// The real handle still works.
	if v := o.ok("ccos.io.read-line", h); v != btStr("a") {
		t.Errorf("read-line = %v", v)
	}

	// No file table in the Env.
	_, err := btCap(t, "ccos.io.open-file").Run(t.Context(), &Env{}, []value.Value{btStr(path), value.Keyword("read")})
	btWantErr(t, err, value.ErrIO, "no file handle table")
	_, err = btCap(t, "ccos.io.read-line").Run(t.Context(), &Env{}, []value.Value{h})
	btWantErr(t, err, value.ErrIO, "unknown or closed")
}

func TestFilesCloseAll(t *testing.T) {
	dir := t.TempDir()
	env, _ := btEnv(t)
	o := btFileOps{t, env}
	var hs []value.Value
	for i := range 3 {
		hs = append(hs, o.open(filepath.Join(dir, fmt.Sprint(i)), "write"))
	}
	o.ok("ccos.io.write-line", hs[0], btStr("kept"))
	if err := env.Files.CloseAll(); err != nil {
		t.Fatal(err)
	}
	if env.Files.Len() != 0 {
		t.Fatalf("%d handles left", env.Files.Len())
	}
	for _, h := range hs {
		_, err := o.run("ccos.io.write-line", h, btStr("x"))
		btWantErr(t, err, value.ErrIO, "closed")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "0")); string(b) != "kept\n" {
		t.Errorf("file 0 holds %q", b)
	}
	// Still usable, and handle numbers keep increasing.
	h := o.open(filepath.Join(dir, "0"), "read")
	if n, _ := h.(*value.Map).Get(value.Keyword("handle")); n != value.Int(4) {
		t.Errorf("handle after CloseAll = %v, want 4", n)
	}
	var nilFiles *Files
	if err := nilFiles.CloseAll(); err != nil || nilFiles.Len() != 0 {
		t.Errorf("nil Files: %v", err)
	}
}

func TestFilesLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, nil, 0o644)
	env, _ := btEnv(t)
	o := btFileOps{t, env}
	var last value.Value
	for range MaxOpenFiles {
		last = o.open(path, "read")
	}
	_, err := o.run("ccos.io.open-file", btStr(path), value.Keyword("read"))
	btWantErr(t, err, value.ErrResource, "too many open files")
	o.ok("ccos.io.close-file", last)
	o.open(path, "read")
}

func TestFilesConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	env, _ := btEnv(t)
	o := btFileOps{t, env}
	h := o.open(path, "append")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if err := env.Files.writeLine(h, fmt.Sprintf("line-%d-%d", i, j)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	o.ok("ccos.io.close-file", h)
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "line-") {
			t.Fatalf("interleaved line %q", l)
		}
	}
}

func TestFilesLongLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	long := strings.Repeat("x", 100_000)
	os.WriteFile(path, []byte(long+"\r\nshort"), 0o644)
	env, _ := btEnv(t)
	o := btFileOps{t, env}
	h := o.open(path, "read")
	if v := o.ok("ccos.io.read-line", h); v != btStr(long) {
		t.Errorf("long line: got %d bytes", len(string(v.(value.String))))
	}
	if v := o.ok("ccos.io.read-line", h); v != btStr("short") {
		t.Errorf("second line %v", v)
	}
}

package caps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ccos-go/ccos/rtfs/value"
)

func btStr(s string) value.Value { return value.String(s) }

func TestBuiltinFileExists(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, _ := btEnv(t)
	c := btCap(t, "ccos.io.file-exists")
	for _, tt := range []struct {
		path string
		want bool
	}{
		{file, true},
		{dir, true},
		{filepath.Join(dir, "missing"), false},
		{filepath.Join(file, "under-a-file"), false},
	} {
		v, err := btCall(t, c, env, []value.Value{btStr(tt.path)})
		if err != nil || v != value.Bool(tt.want) {
			t.Errorf("file-exists %s = %v, %v; want %v", tt.path, v, err, tt.want)
		}
	}
}

func TestBuiltinReadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(file, []byte("line 1\nline 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, _ := btEnv(t)
	c := btCap(t, "ccos.io.read-file")
	v, err := btCall(t, c, env, []value.Value{btStr(file)})
	if err != nil || v != btStr("line 1\nline 2\n") {
		t.Fatalf("read-file = %v, %v", v, err)
	}
	_, err = btCall(t, c, env, []value.Value{btStr(filepath.Join(dir, "missing"))})
	btWantErr(t, err, value.ErrIO, "missing")
	_, err = btCall(t, c, env, []value.Value{btStr(dir)})
	btWantErr(t, err, value.ErrIO, "")
	_, err = c.Run(t.Context(), env, []value.Value{value.Int(1)})
	btWantErr(t, err, value.ErrType, "")

	// Over the cap: a sparse file one byte too large.
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxReadFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = btCall(t, c, env, []value.Value{btStr(big)})
	btWantErr(t, err, value.ErrLimit, "64 MiB")
}

func TestBuiltinWriteFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "out.txt")
	env, _ := btEnv(t)
	c := btCap(t, "ccos.io.write-file")
	steps := []struct {
		args []value.Value
		want string // file content after the call
	}{
		{[]value.Value{btStr(file), btStr("héllo")}, "héllo"},
		{[]value.Value{btStr(file), btStr("new")}, "new"},
		{[]value.Value{btStr(file), btStr("+more"), btVal(t, `{:append true}`)}, "new+more"},
		{[]value.Value{btStr(file), btStr("!"), btVal(t, `{:append false}`)}, "!"},
		{[]value.Value{btStr(file), btStr(""), btVal(t, `{}`)}, ""},
	}
	for i, s := range steps {
		v, err := btCall(t, c, env, s.args)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if v != value.Int(len(string(s.args[1].(value.String)))) {
			t.Errorf("step %d: bytes written %v", i, v)
		}
		b, _ := os.ReadFile(file)
		if string(b) != s.want {
			t.Errorf("step %d: file holds %q, want %q", i, b, s.want)
		}
	}
	_, err := btCall(t, c, env, []value.Value{btStr(filepath.Join(dir, "no", "such", "dir")), btStr("x")})
	btWantErr(t, err, value.ErrIO, "")
	_, err = c.Run(t.Context(), env, []value.Value{btStr(file), btStr("x"), btVal(t, `{:append "yes"}`)})
	btWantErr(t, err, value.ErrType, ":append")
	_, err = c.Run(t.Context(), env, []value.Value{btStr(file), value.Int(1)})
	btWantErr(t, err, value.ErrType, "")
	_, err = c.Run(t.Context(), env, []value.Value{btStr(file), btStr("x"), value.Int(1)})
	btWantErr(t, err, value.ErrType, "options")
	_, err = c.Run(t.Context(), env, []value.Value{btStr(file)})
	btWantErr(t, err, value.ErrArity, "")
}

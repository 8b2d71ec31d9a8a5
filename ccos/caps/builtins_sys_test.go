package caps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

func TestBuiltinGetEnv(t *testing.T) {
	env, _ := btEnv(t)
	c := btCap(t, "ccos.system.get-env")
	for _, tt := range []struct {
		name string
		want value.Value
	}{
		{"CCOS_TEST_VAR", btStr("hello")},
		{"EMPTY", nil},
		{"UNSET_ZZ", nil},
	} {
		v, err := btCall(t, c, env, []value.Value{btStr(tt.name)})
		if err != nil || v != tt.want {
			t.Errorf("get-env %s = %v, %v; want %v", tt.name, v, err, tt.want)
		}
	}
	// Without env.Getenv it reads the process environment.
	t.Setenv("CCOS_CAPS_TEST_ENV", "from-os")
	if v, err := btCall(t, c, &Env{}, []value.Value{btStr("CCOS_CAPS_TEST_ENV")}); err != nil || v != btStr("from-os") {
		t.Errorf("os fallback = %v, %v", v, err)
	}
	_, err := c.Run(t.Context(), env, []value.Value{value.Keyword("HOME")})
	btWantErr(t, err, value.ErrType, "")
}

func TestBuiltinTime(t *testing.T) {
	env, _ := btEnv(t)
	v, err := btCall(t, btCap(t, "ccos.system.current-time"), env, nil)
	if err != nil || v != btStr("2025-01-02T03:04:05.678Z") {
		t.Errorf("current-time = %v, %v", v, err)
	}
	v, err = btCall(t, btCap(t, "ccos.system.current-timestamp-ms"), env, nil)
	if err != nil || v != value.Int(env.Now().UnixMilli()) {
		t.Errorf("current-timestamp-ms = %v, %v", v, err)
	}
	// Real clock without env.Now.
	before := time.Now().UnixMilli()
	v, err = btCall(t, btCap(t, "ccos.system.current-timestamp-ms"), &Env{}, nil)
	if n, ok := v.(value.Int); err != nil || !ok || int64(n) < before || int64(n) > time.Now().UnixMilli() {
		t.Errorf("real current-timestamp-ms = %v, %v", v, err)
	}
	v, err = btCall(t, btCap(t, "ccos.system.current-time"), &Env{}, nil)
	if s, ok := v.(value.String); err != nil || !ok || len(s) != len("2025-01-02T03:04:05.678Z") || !strings.HasSuffix(string(s), "Z") {
		t.Errorf("real current-time = %v, %v", v, err)
	} else if _, perr := time.Parse(time.RFC3339Nano, string(s)); perr != nil {
		t.Errorf("current-time %s is not RFC 3339: %v", s, perr)
	}
	_, err = btCap(t, "ccos.system.current-time").Run(t.Context(), env, []value.Value{value.Int(1)})
	btWantErr(t, err, value.ErrArity, "")
}

func TestBuiltinSleep(t *testing.T) {
	env, _ := btEnv(t)
	c := btCap(t, "ccos.system.sleep")
	start := time.Now()
	if v, err := btCall(t, c, env, []value.Value{value.Int(30)}); err != nil || v != nil {
		t.Fatalf("sleep = %v, %v", v, err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("slept %v", d)
	}
	if _, err := btCall(t, c, env, []value.Value{value.Int(0)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := c.Run(ctx, env, []value.Value{value.Int(60_000)})
	btWantErr(t, err, value.ErrTimeout, "timed out")
	if time.Since(start) > 5*time.Second {
		t.Errorf("sleep ignored the context")
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = c.Run(ctx, env, []value.Value{value.Int(9223372036854775807)})
	btWantErr(t, err, value.ErrTimeout, "cancelled")
	_, err = c.Run(t.Context(), env, []value.Value{value.Int(-5)})
	btWantErr(t, err, value.ErrType, "non-negative")
	_, err = c.Run(t.Context(), env, []value.Value{value.Float(1)})
	btWantErr(t, err, value.ErrType, "")
}

func TestBuiltinExecute(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	env, _ := btEnv(t)
	c := btCap(t, "ccos.system.execute")
	get := func(m value.Value, k string) value.Value {
		v, _ := m.(*value.Map).Get(value.Keyword(k))
		return v
	}
	t.Setenv("CCOS_SECRET_ZZ", "leaked")
	tests := []struct {
		name                string
		args                []value.Value
		exit                int
		stdout, stderr      string
		stdoutHas, noStdout string
	}{
		{"exit status and streams", btArgs(t, `["/bin/sh" "-c" "echo out; echo err >&2; exit 3"]`), 3, "out\n", "err\n", "", ""},
		{"arguments not through a shell", btArgs(t, `["/bin/sh" "-c" "printf '%s|' \"$@\"" "sh" "a b" "$HOME" "*"]`), 0, "a b|$HOME|*|", "", "", ""},
		{"stdin", btArgs(t, `["/bin/sh" "-c" "tr a-z A-Z" {:stdin "hello"}]`), 0, "HELLO", "", "", ""},
		{"no stdin is empty", btArgs(t, `["/bin/sh" "-c" "cat; echo done"]`), 0, "done\n", "", "", ""},
		{"environment cleared except PATH", btArgs(t, `["/bin/sh" "-c" "env" {:env {"FOO" "bar" :BAZ "q x"}}]`), 0, "", "", "FOO=bar", "CCOS_SECRET_ZZ"},
		{"PATH kept", btArgs(t, `["sh" "-c" "echo \"$PATH\""]`), 0, os.Getenv("PATH") + "\n", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := btCall(t, c, env, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if get(v, "exit") != value.Int(tt.exit) {
				t.Errorf("exit %v, want %d (%s)", get(v, "exit"), tt.exit, value.Repr(v))
			}
			out := string(get(v, "stdout").(value.String))
			if tt.stdout != "" && out != tt.stdout {
				t.Errorf("stdout %q, want %q", out, tt.stdout)
			}
			if tt.stdoutHas != "" && !strings.Contains(out, tt.stdoutHas) {
				t.Errorf("stdout %q lacks %q", out, tt.stdoutHas)
			}
			if tt.noStdout != "" && strings.Contains(out, tt.noStdout) {
				t.Errorf("stdout %q has %q", out, tt.noStdout)
			}
			if tt.stderr != "" && get(v, "stderr") != btStr(tt.stderr) {
				t.Errorf("stderr %v, want %q", get(v, "stderr"), tt.stderr)
			}
			if _, ok := v.(*value.Map).Get(value.Keyword("truncated")); ok {
				t.Errorf("unexpected :truncated")
			}
		})
	}
	t.Run("env has only PATH and opts", func(t *testing.T) {
		v, err := btCall(t, c, env, btArgs(t, `["/bin/sh" "-c" "env" {:env {"FOO" "bar"}}]`))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(get(v, "stdout").(value.String))), "\n") {
			name, _, _ := strings.Cut(l, "=")
			switch name {
			case "PATH", "FOO", "PWD", "SHLVL", "_": // sh sets PWD, SHLVL and _ itself
			default:
				t.Errorf("unexpected variable %s", l)
			}
		}
	})

	errTests := []struct {
		name string
		args []value.Value
		typ  value.Keyword
		msg  string
	}{
		{"not found", btArgs(t, `["no-such-program-zz"]`), value.ErrIO, "no-such-program-zz"},
		{"not executable", []value.Value{btStr(t.TempDir())}, value.ErrIO, ""},
		{"number argument", btArgs(t, `["echo" 1]`), value.ErrType, "argument 1"},
		{"opts not last", btArgs(t, `["echo" {} "x"]`), value.ErrType, "argument 1"},
		{"empty program", btArgs(t, `[""]`), value.ErrType, "empty"},
		{"no program", nil, value.ErrArity, ""},
		{"bad env", btArgs(t, `["echo" {:env {"A=B" "x"}}]`), value.ErrType, ":env"},
		{"bad stdin", btArgs(t, `["echo" {:stdin 1}]`), value.ErrType, ":stdin"},
		{"bad timeout", btArgs(t, `["echo" {:timeout-ms -1}]`), value.ErrType, ":timeout-ms"},
	}
	for _, tt := range errTests {
		_, err := c.Run(t.Context(), env, tt.args)
		if btErrType(err) != tt.typ || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want %s mentioning %q", tt.name, err, tt.typ, tt.msg)
		}
	}
}

// TestBuiltinExecuteTimeoutKillsGroup checks that a timeout kills the
// program and the children it started.
func TestBuiltinExecuteTimeoutKillsGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh and process groups")
	}
	env, _ := btEnv(t)
	c := btCap(t, "ccos.system.execute")
	for _, how := range []string{"timeout-ms", "context"} {
		t.Run(how, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			script := "sleep 30 & echo $! > " + pidFile + "; echo started; wait"
			args := []value.Value{btStr("/bin/sh"), btStr("-c"), btStr(script)}
			ctx := t.Context()
			if how == "timeout-ms" {
				args = append(args, btVal(t, `{:timeout-ms 300}`))
			} else {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			start := time.Now()
			_, err := c.Run(ctx, env, args)
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
			btWantErr(t, err, value.ErrTimeout, "killed")
			if how == "context" && !errors.Is(err, context.Canceled) {
				t.Errorf("cancellation error does not wrap context.Canceled: %v", err)
			}
			var ve *value.Error
			errors.As(err, &ve)
			if m, ok := ve.Data.(*value.Map); !ok {
				t.Errorf("no output data: %v", ve.Data)
			} else if out, _ := m.Get(value.Keyword("stdout")); out != btStr("started\n") {
				t.Errorf("partial stdout %v", out)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for btProcessAlive(pid) {
				if time.Now().After(deadline) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("child %d survived the timeout", pid)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// btProcessAlive reports whether pid runs (a zombie counts as dead).
func btProcessAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS != "linux"
	}
	// pid (comm) S ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestBuiltinExecuteOutputCap(t *testing.T) {
	b := &biCapBuffer{limit: 5}
	b.Write([]byte("abc"))
	if n, err := b.Write([]byte("defg")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	b.Write([]byte("h"))
	if b.String() != "abcde" || !b.truncated {
		t.Fatalf("buffer %q truncated %v", b.String(), b.truncated)
	}
}

package caps

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// specBuiltinIDs are the built-in capability ids of CCOS.md §4.
var specBuiltinIDs = []string{
	"ccos.echo", "ccos.math.add",
	"ccos.io.log", "ccos.io.print", "ccos.io.println",
	"ccos.io.file-exists", "ccos.io.read-file", "ccos.io.write-file",
	"ccos.io.open-file", "ccos.io.read-line", "ccos.io.write-line", "ccos.io.close-file",
	"ccos.network.http-fetch",
	"ccos.data.parse-json", "ccos.data.serialize-json",
	"ccos.system.get-env", "ccos.system.current-time", "ccos.system.current-timestamp-ms",
	"ccos.system.sleep", "ccos.system.execute",
	"ccos.ask-human", "ccos.ai.llm-execute",
}

// btCap returns the built-in capability id.
func btCap(t testing.TB, id string) *Capability {
	t.Helper()
	for _, c := range Builtins() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no built-in capability %s", id)
	return nil
}

// btVal reads an RTFS value from source text (e.g. `{:a 1}`).
func btVal(t testing.TB, src string) value.Value {
	t.Helper()
	n, err := syntax.ParseExpr("test", []byte(src))
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return value.FromSyntax(n)
}

// btArgs reads the positional arguments from source text holding a
// vector, e.g. `["a" 1]`.
func btArgs(t testing.TB, src string) []value.Value {
	t.Helper()
	v, ok := btVal(t, src).(*value.Vector)
	if !ok {
		t.Fatalf("%q is not a vector", src)
	}
	return v.Items()
}

// btEnv returns an Env with captured output, a file table, a fixed
// clock and a fake environment.
func btEnv(t testing.TB) (*Env, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	files := NewFiles()
	t.Cleanup(func() { files.CloseAll() })
	vars := map[string]string{"CCOS_TEST_VAR": "hello", "EMPTY": ""}
	return &Env{
		Out:    &out,
		Files:  files,
		Getenv: func(k string) string { return vars[k] },
		Now:    func() time.Time { return time.Date(2025, 1, 2, 4, 4, 5, 678_900_000, time.FixedZone("CET", 3600)) },
	}, &out
}

// btCall checks args against c's Input schema, runs c and, on success,
// checks the result against its Output schema.
func btCall(t testing.TB, c *Capability, env *Env, args []value.Value) (value.Value, error) {
	t.Helper()
	return btCallCtx(t, context.Background(), c, env, args)
}

func btCallCtx(t testing.TB, ctx context.Context, c *Capability, env *Env, args []value.Value) (value.Value, error) {
	t.Helper()
	if err := c.Input.Check(value.NewVector(args...)); err != nil {
		t.Fatalf("%s: input schema %s rejects %s: %v", c.ID, c.Input, value.Repr(value.NewVector(args...)), err)
	}
	v, err := c.Run(ctx, env, args)
	if err == nil {
		if oerr := c.Output.Check(v); oerr != nil {
			t.Fatalf("%s: output schema %s rejects %s: %v", c.ID, c.Output, value.Repr(v), oerr)
		}
	}
	return v, err
}

// btErrType returns the RTFS error type of err ("" when err is not one).
func btErrType(err error) value.Keyword {
	var e *value.Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

func btWantErr(t testing.TB, err error, typ value.Keyword, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got none", typ)
	}
	if got := btErrType(err); got != typ {
		t.Fatalf("want a %s error, got %v (%T)", typ, err, err)
	}
	if contains != "" && !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not mention %q", err, contains)
	}
}

func TestBuiltinList(t *testing.T) {
	cs := Builtins()
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, specBuiltinIDs) {
		t.Fatalf("Builtins ids\n got %v\nwant %v", ids, specBuiltinIDs)
	}
	// Fresh values every call.
	again := Builtins()
	for i := range cs {
		if cs[i] == again[i] {
			t.Fatalf("%s: Builtins returned the same *Capability twice", cs[i].ID)
		}
		if len(cs[i].Tags) > 0 && &cs[i].Tags[0] == &again[i].Tags[0] {
			t.Fatalf("%s: tags slice shared between calls", cs[i].ID)
		}
		if len(cs[i].Effects.Network) > 0 && &cs[i].Effects.Network[0] == &again[i].Effects.Network[0] {
			t.Fatalf("%s: effects slice shared between calls", cs[i].ID)
		}
	}
}

// builtinEffectClass says what each built-in touches.
var builtinEffectClass = map[string]struct {
	read, write, network, exec, env, clock, human bool
	deterministic, idempotent                     bool
}{
	"ccos.echo":                        {deterministic: true, idempotent: true},
	"ccos.math.add":                    {deterministic: true, idempotent: true},
	"ccos.io.log":                      {deterministic: true},
	"ccos.io.print":                    {deterministic: true},
	"ccos.io.println":                  {deterministic: true},
	"ccos.io.file-exists":              {read: true, idempotent: true},
	"ccos.io.read-file":                {read: true, idempotent: true},
	"ccos.io.write-file":               {write: true},
	"ccos.io.open-file":                {read: true, write: true},
	"ccos.io.read-line":                {read: true},
	"ccos.io.write-line":               {write: true},
	"ccos.io.close-file":               {read: true, write: true},
	"ccos.network.http-fetch":          {network: true},
	"ccos.data.parse-json":             {deterministic: true, idempotent: true},
	"ccos.data.serialize-json":         {deterministic: true, idempotent: true},
	"ccos.system.get-env":              {env: true, idempotent: true},
	"ccos.system.current-time":         {clock: true, idempotent: true},
	"ccos.system.current-timestamp-ms": {clock: true, idempotent: true},
	"ccos.system.sleep":                {clock: true, deterministic: true, idempotent: true},
	"ccos.system.execute":              {exec: true},
	"ccos.ask-human":                   {human: true},
	"ccos.ai.llm-execute":              {network: true},
}

func TestBuiltinManifestsHonest(t *testing.T) {
	for _, c := range Builtins() {
		t.Run(c.ID, func(t *testing.T) {
			if c.Version != "1.0.0" || c.Provider != "local" || c.Provenance.Source != "builtin" {
				t.Errorf("version/provider/source = %q %q %q", c.Version, c.Provider, c.Provenance.Source)
			}
			if c.Description == "" || c.Input == nil || c.Output == nil || c.Run == nil || len(c.Tags) == 0 {
				t.Errorf("incomplete manifest: %+v", c.Manifest)
			}
			if c.HTTP != nil || c.Program != nil {
				t.Errorf("a local built-in has provider configuration")
			}
			want, ok := builtinEffectClass[c.ID]
			if !ok {
				t.Fatalf("no expected effects")
			}
			e := c.Effects
			touches := want.read || want.write || want.network || want.exec || want.env || want.clock || want.human
			if e.Pure() == touches {
				t.Errorf("Pure() = %v but touches = %v", e.Pure(), touches)
			}
			for _, x := range []struct {
				name      string
				got, want bool
			}{
				{"fs read", len(e.FSRead) > 0, want.read},
				{"fs write", len(e.FSWrite) > 0, want.write},
				{"network", len(e.Network) > 0, want.network},
				{"exec", e.Exec, want.exec},
				{"env", len(e.Env) > 0, want.env},
				{"clock", e.Clock, want.clock},
				{"human", e.Human, want.human},
				{"deterministic", e.Deterministic, want.deterministic},
				{"idempotent", e.Idempotent, want.idempotent},
			} {
				if x.got != x.want {
					t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
				}
			}
			// Patterns are "any target the arguments name".
			for _, l := range [][]string{e.FSRead, e.FSWrite, e.Network, e.Env} {
				if len(l) > 0 && !slices.Equal(l, []string{"*"}) {
					t.Errorf("effect pattern %v, want [*]", l)
				}
			}
			if touches && !want.clock && !want.human && c.ID != "ccos.ai.llm-execute" && c.TargetsOf == nil {
				t.Errorf("touches the world through its arguments but has no TargetsOf")
			}
			if c.Hints.Download != (c.ID == "ccos.network.http-fetch") || c.Hints.ComputeHeavy {
				t.Errorf("hints %+v", c.Hints)
			}
		})
	}
}

// TestBuiltinInputSchemas checks that each Input schema accepts the
// documented call shapes and rejects ill-typed calls.
func TestBuiltinInputSchemas(t *testing.T) {
	h := `{:handle 1 :path "/tmp/f" :mode :read}`
	tests := []struct {
		id   string
		args string
		ok   bool
	}{
		{"ccos.echo", `[1]`, true},
		{"ccos.echo", `[nil]`, true},
		{"ccos.echo", `[]`, false},
		{"ccos.echo", `[1 2]`, false},
		{"ccos.math.add", `[]`, true},
		{"ccos.math.add", `[1 2.5 3]`, true},
		{"ccos.math.add", `[1 "2"]`, false},
		{"ccos.io.log", `[]`, true},
		{"ccos.io.print", `["a" 1 nil {:k 1}]`, true},
		{"ccos.io.println", `["x"]`, true},
		{"ccos.io.file-exists", `["/tmp"]`, true},
		{"ccos.io.file-exists", `[:tmp]`, false},
		{"ccos.io.read-file", `["a.txt"]`, true},
		{"ccos.io.read-file", `["a" "b"]`, false},
		{"ccos.io.write-file", `["a.txt" "content"]`, true},
		{"ccos.io.write-file", `["a.txt" "content" {:append true}]`, true},
		{"ccos.io.write-file", `["a.txt" "content" {}]`, true},
		{"ccos.io.write-file", `["a.txt" "content" {:append "yes"}]`, false},
		{"ccos.io.write-file", `["a.txt" 42]`, false},
		{"ccos.io.write-file", `["a.txt"]`, false},
		{"ccos.io.open-file", `["a.txt" :read]`, true},
		{"ccos.io.open-file", `["a.txt" :write]`, true},
		{"ccos.io.open-file", `["a.txt" :append]`, true},
		{"ccos.io.open-file", `["a.txt" :delete]`, false},
		{"ccos.io.open-file", `["a.txt"]`, false},
		{"ccos.io.read-line", `[` + h + `]`, true},
		{"ccos.io.read-line", `[1]`, false},
		{"ccos.io.write-line", `[` + h + ` "line"]`, true},
		{"ccos.io.write-line", `[` + h + `]`, false},
		{"ccos.io.close-file", `[` + h + `]`, true},
		{"ccos.io.close-file", `[{:handle "1"}]`, false},
		{"ccos.network.http-fetch", `["https://example.com/"]`, true},
		{"ccos.network.http-fetch", `["https://example.com/" {:method :post :headers {"X-A" "1" :accept "text/plain"} :body "x" :timeout-ms 500}]`, true},
		{"ccos.network.http-fetch", `["https://example.com/" {:body {:a [1 2]}}]`, true},
		{"ccos.network.http-fetch", `["https://example.com/" {:timeout-ms "5"}]`, false},
		{"ccos.network.http-fetch", `["https://example.com/" {:headers {"X-A" 1}}]`, false},
		{"ccos.network.http-fetch", `[]`, false},
		{"ccos.data.parse-json", `["{}"]`, true},
		{"ccos.data.parse-json", `[{}]`, false},
		{"ccos.data.serialize-json", `[{:a [1 2]}]`, true},
		{"ccos.system.get-env", `["HOME"]`, true},
		{"ccos.system.get-env", `[:HOME]`, false},
		{"ccos.system.current-time", `[]`, true},
		{"ccos.system.current-time", `[1]`, false},
		{"ccos.system.current-timestamp-ms", `[]`, true},
		{"ccos.system.sleep", `[10]`, true},
		{"ccos.system.sleep", `[0]`, true},
		{"ccos.system.sleep", `[-1]`, false},
		{"ccos.system.sleep", `[1.5]`, false},
		{"ccos.system.execute", `["ls"]`, true},
		{"ccos.system.execute", `["/bin/sh" "-c" "echo hi"]`, true},
		{"ccos.system.execute", `["/bin/sh" "-c" "cat" {:stdin "x" :timeout-ms 1000 :env {"A" "1" :B "2"}}]`, true},
		{"ccos.system.execute", `[]`, false},
		{"ccos.system.execute", `["ls" 1]`, false},
		{"ccos.system.execute", `["ls" {:timeout-ms "1"}]`, false},
		{"ccos.ask-human", `["Proceed?"]`, true},
		{"ccos.ask-human", `[]`, false},
		{"ccos.ai.llm-execute", `[{:prompt "hi"}]`, true},
		{"ccos.ai.llm-execute", `[{:prompt "hi" :model "m" :system "be brief"}]`, true},
		{"ccos.ai.llm-execute", `[{:model "m"}]`, false},
		{"ccos.ai.llm-execute", `["hi"]`, false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.id] = true
		c := btCap(t, tt.id)
		err := c.Input.Check(btVal(t, tt.args))
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: schema %s: ok = %v, want %v (%v)", tt.id, tt.args, c.Input, err == nil, tt.ok, err)
		}
	}
	for _, id := range specBuiltinIDs {
		if !seen[id] {
			t.Errorf("no schema case for %s", id)
		}
	}
}

// TestBuiltinTargets checks TargetsOf for every built-in that has one.
func TestBuiltinTargets(t *testing.T) {
	h := `{:handle 1 :path "/tmp/f" :mode :write}`
	tests := []struct {
		id   string
		args string
		want Targets
		err  value.Keyword
	}{
		{"ccos.io.file-exists", `["data/x.txt"]`, Targets{Reads: []string{"data/x.txt"}}, ""},
		{"ccos.io.read-file", `["/etc/hosts"]`, Targets{Reads: []string{"/etc/hosts"}}, ""},
		{"ccos.io.read-file", `[1]`, Targets{}, value.ErrType},
		{"ccos.io.write-file", `["out/../x" "c" {:append true}]`, Targets{Writes: []string{"out/../x"}}, ""},
		{"ccos.io.open-file", `["/tmp/a" :read]`, Targets{Reads: []string{"/tmp/a"}}, ""},
		{"ccos.io.open-file", `["/tmp/a" :write]`, Targets{Writes: []string{"/tmp/a"}}, ""},
		{"ccos.io.open-file", `["/tmp/a" :append]`, Targets{Writes: []string{"/tmp/a"}}, ""},
		{"ccos.io.open-file", `["/tmp/a" :bogus]`, Targets{}, value.ErrType},
		{"ccos.io.open-file", `["/tmp/a"]`, Targets{}, value.ErrArity},
		{"ccos.io.read-line", `[` + h + `]`, Targets{}, ""},
		{"ccos.io.write-line", `[` + h + ` "x"]`, Targets{}, ""},
		{"ccos.io.close-file", `[` + h + `]`, Targets{}, ""},
		{"ccos.network.http-fetch", `["https://api.example.com:8443/v1?q=1" {:method "POST"}]`, Targets{URLs: []string{"https://api.example.com:8443/v1?q=1"}}, ""},
		{"ccos.network.http-fetch", `["file:///etc/passwd"]`, Targets{}, value.ErrNetwork},
		{"ccos.network.http-fetch", `["/relative"]`, Targets{}, value.ErrNetwork},
		{"ccos.system.get-env", `["HOME"]`, Targets{Env: []string{"HOME"}}, ""},
		{"ccos.system.execute", `["git" "status" {:timeout-ms 10}]`, Targets{Programs: []string{"git"}}, ""},
		{"ccos.system.execute", `["./bin/tool"]`, Targets{Programs: []string{"./bin/tool"}}, ""},
		{"ccos.system.execute", `[]`, Targets{}, value.ErrArity},
		{"ccos.ai.llm-execute", `[{:prompt "x"}]`, Targets{}, ""},
	}
	for _, tt := range tests {
		c := btCap(t, tt.id)
		if c.TargetsOf == nil {
			t.Fatalf("%s has no TargetsOf", tt.id)
		}
		got, err := c.TargetsOf(btArgs(t, tt.args))
		if tt.err != "" {
			if btErrType(err) != tt.err {
				t.Errorf("%s %s: err = %v, want %s", tt.id, tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", tt.id, tt.args, err)
			continue
		}
		if !btTargetsEqual(got, tt.want) {
			t.Errorf("%s %s: targets %+v, want %+v", tt.id, tt.args, got, tt.want)
		}
	}
	// The rest touch nothing through their arguments (pure, log output,
	// clock, human): no TargetsOf.
	for _, id := range []string{"ccos.echo", "ccos.math.add", "ccos.io.log", "ccos.io.print", "ccos.io.println",
		"ccos.data.parse-json", "ccos.data.serialize-json", "ccos.system.current-time",
		"ccos.system.current-timestamp-ms", "ccos.system.sleep", "ccos.ask-human"} {
		if btCap(t, id).TargetsOf != nil {
			t.Errorf("%s: unexpected TargetsOf", id)
		}
	}
}

func btTargetsEqual(a, b Targets) bool {
	return slices.Equal(a.URLs, b.URLs) && slices.Equal(a.Reads, b.Reads) && slices.Equal(a.Writes, b.Writes) &&
		slices.Equal(a.Env, b.Env) && slices.Equal(a.Programs, b.Programs)
}

func TestBuiltinPure(t *testing.T) {
	env, _ := btEnv(t)
	tests := []struct {
		id   string
		args string
		want string // canonical form of the result
		err  value.Keyword
	}{
		{"ccos.echo", `[{:a [1 "x"]}]`, `{:a [1 "x"]}`, ""},
		{"ccos.echo", `[nil]`, `nil`, ""},
		{"ccos.math.add", `[]`, `0`, ""},
		{"ccos.math.add", `[1 2 3]`, `6`, ""},
		{"ccos.math.add", `[1 2.5]`, `3.5`, ""},
		{"ccos.math.add", `[9223372036854775807 1]`, ``, value.ErrArithmetic},
		{"ccos.data.parse-json", `["{\"a\": [1, 2.5, null, true, \"s\"], \"b\": {\"c\": 1}}"]`, `{:a [1 2.5 nil true "s"] :b {:c 1}}`, ""},
		{"ccos.data.parse-json", `["{bad"]`, ``, value.ErrParse},
		{"ccos.data.serialize-json", `[{:a [1 2.5 nil true "s"] :b :kw}]`, `"{\"a\":[1,2.5,null,true,\"s\"],\"b\":\"kw\"}"`, ""},
	}
	for _, tt := range tests {
		c := btCap(t, tt.id)
		v, err := btCall(t, c, env, btArgs(t, tt.args))
		if tt.err != "" {
			btWantErr(t, err, tt.err, "")
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", tt.id, tt.args, err)
			continue
		}
		if got := value.Repr(v); got != tt.want {
			t.Errorf("%s %s = %s, want %s", tt.id, tt.args, got, tt.want)
		}
	}
	// Defensive type and arity checks in Run.
	for _, x := range []struct {
		id   string
		args []value.Value
		err  value.Keyword
	}{
		{"ccos.echo", nil, value.ErrArity},
		{"ccos.math.add", []value.Value{value.String("1")}, value.ErrType},
		{"ccos.data.parse-json", []value.Value{value.Int(1)}, value.ErrType},
		{"ccos.data.serialize-json", nil, value.ErrArity},
		{"ccos.data.serialize-json", []value.Value{value.NewAtom(nil)}, value.ErrType},
	} {
		_, err := btCap(t, x.id).Run(context.Background(), env, x.args)
		btWantErr(t, err, x.err, "")
	}
}

func TestBuiltinPrint(t *testing.T) {
	tests := []struct {
		id, args, want string
	}{
		{"ccos.io.println", `["a" 1 nil :k "s" [1 "x"]]`, "a 1  :k s [1 \"x\"]\n"},
		{"ccos.io.println", `[]`, "\n"},
		{"ccos.io.print", `["no newline" 2.5]`, "no newline 2.5"},
		{"ccos.io.log", `["step" {:n 1}]`, "step {:n 1}\n"},
	}
	for _, tt := range tests {
		env, out := btEnv(t)
		v, err := btCall(t, btCap(t, tt.id), env, btArgs(t, tt.args))
		if err != nil || v != nil {
			t.Fatalf("%s: %v %v", tt.id, v, err)
		}
		if out.String() != tt.want {
			t.Errorf("%s %s wrote %q, want %q", tt.id, tt.args, out.String(), tt.want)
		}
	}
	// No output writer: discarded, no error.
	if _, err := btCap(t, "ccos.io.println").Run(context.Background(), &Env{}, []value.Value{value.String("x")}); err != nil {
		t.Fatal(err)
	}
	// A failing writer is an :io-error.
	_, err := btCap(t, "ccos.io.print").Run(context.Background(), &Env{Out: btFailWriter{}}, []value.Value{value.String("x")})
	btWantErr(t, err, value.ErrIO, "disk full")
}

type btFailWriter struct{}

func (btFailWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestBuiltinNeverPanics runs every built-in (and its TargetsOf) on odd
// arguments with a nil and an empty Env: errors are fine, panics are not.
func TestBuiltinNeverPanics(t *testing.T) {
	t.Chdir(t.TempDir())
	odd := [][]value.Value{
		nil,
		{nil},
		{nil, nil, nil},
		{value.Int(1)},
		{value.Float(-1)},
		{value.Keyword("read")},
		{value.String("")},
		{value.String("no-such-file-zz"), value.Keyword("nope")},
		{value.String("no-such-program-zz"), value.Int(1), value.EmptyMap},
		{value.EmptyMap},
		{value.NewMap(value.Keyword("handle"), value.String("x"))},
		{value.NewMap(value.Keyword("handle"), value.Int(1), value.Keyword("path"), value.Int(2))},
		{value.EmptyVector, value.EmptyVector},
		{value.String("http://"), value.NewMap(value.Keyword("method"), value.Int(1), value.Keyword("headers"), value.Int(2))},
		{value.NewMap(value.Keyword("prompt"), value.Int(1))},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, c := range Builtins() {
		for _, env := range []*Env{nil, {}} {
			for _, args := range odd {
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s %s panicked: %v", c.ID, value.Repr(value.NewVector(args...)), r)
						}
					}()
					if c.TargetsOf != nil {
						c.TargetsOf(args)
					}
					c.Run(ctx, env, args)
				}()
			}
		}
	}
}

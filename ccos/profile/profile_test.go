package profile

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// fakeCatalog is a Catalog over a map.
type fakeCatalog map[string]*caps.Capability

func (c fakeCatalog) Get(id string) (*caps.Capability, bool) {
	cp, ok := c[id]
	return cp, ok
}

// stringArg returns args[i] as a string, like the built-ins' TargetsOf.
func stringArg(args []value.Value, i int) (string, error) {
	if i >= len(args) {
		return "", errors.New("missing argument")
	}
	s, ok := args[i].(value.String)
	if !ok {
		return "", errors.New("not a string")
	}
	return string(s), nil
}

func capability(id string, eff caps.Effects, targets func([]value.Value) (caps.Targets, error)) *caps.Capability {
	return &caps.Capability{Manifest: caps.Manifest{ID: id, Effects: eff}, TargetsOf: targets}
}

// testCatalog has manifests shaped like the real built-ins.
func testCatalog() fakeCatalog {
	pure := caps.Effects{Deterministic: true, Idempotent: true}
	cat := fakeCatalog{}
	add := func(c *caps.Capability) { cat[c.ID] = c }
	add(capability("ccos.math.add", pure, nil))
	add(capability("ccos.data.parse-json", pure, nil))
	fetch := capability("ccos.network.http-fetch", caps.Effects{Network: []string{"*"}},
		func(args []value.Value) (caps.Targets, error) {
			u, err := stringArg(args, 0)
			return caps.Targets{URLs: []string{u}}, err
		})
	fetch.Hints.Download = true
	add(fetch)
	add(capability("ccos.ai.llm-execute", caps.Effects{Network: []string{"*"}},
		func([]value.Value) (caps.Targets, error) { return caps.Targets{}, nil }))
	add(capability("corp.api.get", caps.Effects{Network: []string{"api.corp.example:443", "*.cdn.example"}},
		func(args []value.Value) (caps.Targets, error) {
			u, err := stringArg(args, 0)
			return caps.Targets{URLs: []string{u}}, err
		}))
	add(capability("ccos.io.read-file", caps.Effects{FSRead: []string{"*"}, Idempotent: true},
		func(args []value.Value) (caps.Targets, error) {
			p, err := stringArg(args, 0)
			return caps.Targets{Reads: []string{p}}, err
		}))
	add(capability("ccos.io.write-file", caps.Effects{FSWrite: []string{"*"}},
		func(args []value.Value) (caps.Targets, error) {
			p, err := stringArg(args, 0)
			return caps.Targets{Writes: []string{p}}, err
		}))
	add(capability("ccos.io.read-line", caps.Effects{FSRead: []string{"*"}},
		func([]value.Value) (caps.Targets, error) { return caps.Targets{}, nil }))
	add(capability("ccos.system.get-env", caps.Effects{Env: []string{"*"}, Idempotent: true},
		func(args []value.Value) (caps.Targets, error) {
			v, err := stringArg(args, 0)
			return caps.Targets{Env: []string{v}}, err
		}))
	add(capability("ccos.system.execute", caps.Effects{Exec: true},
		func(args []value.Value) (caps.Targets, error) {
			p, err := stringArg(args, 0)
			return caps.Targets{Programs: []string{p}}, err
		}))
	add(capability("ccos.system.current-time", caps.Effects{Clock: true}, nil))
	heavy := capability("ccos.analytics.crunch", caps.Effects{Deterministic: true}, nil)
	heavy.Hints.ComputeHeavy = true
	add(heavy)
	// A manifest without TargetsOf touches what it declares.
	add(capability("corp.report.write", caps.Effects{FSWrite: []string{"/srv/reports"}}, nil))
	return cat
}

var allIsolations = []security.Isolation{security.Inherit, security.Isolated, security.Sandboxed}

// fullContext is a Full context allowing everything, with no limits.
func fullContext() *security.Context {
	return &security.Context{
		Level:      security.Full,
		ReadRoots:  []string{"*"},
		WriteRoots: []string{"*"},
		AllowEnv:   []string{"*"},
		Isolations: allIsolations,
	}
}

func parse(t testing.TB, src string) syntax.Node {
	t.Helper()
	n, err := syntax.ParseExpr("test.rtfs", []byte(src))
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return n
}

func deriveSrc(t testing.TB, src string, ctx *security.Context) (*StepProfile, error) {
	t.Helper()
	return Derive(&Request{StepName: "s", Form: parse(t, src)}, testCatalog(), ctx)
}

func mustDerive(t testing.TB, src string, ctx *security.Context) *StepProfile {
	t.Helper()
	p, err := deriveSrc(t, src, ctx)
	if err != nil {
		t.Fatalf("Derive(%s): %v", src, err)
	}
	return p
}

func canon(t testing.TB, p string) string {
	t.Helper()
	c, err := security.CanonicalPath(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// violationKind returns err's *security.Violation kind, or "".
func violationKind(err error) string {
	var v *security.Violation
	if errors.As(err, &v) {
		return v.Kind
	}
	return ""
}

// TestOriginalDesign checks the expectations of the original design's
// StepProfileDeriver tests, derived from manifests instead of names.
func TestOriginalDesign(t *testing.T) {
	ctx := fullContext()
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, p *StepProfile)
	}{
		{"pure math", `(step "add-numbers" (call :ccos.math.add 1 2))`, func(t *testing.T, p *StepProfile) {
			want(t, "isolation", p.Isolation, security.Inherit)
			want(t, "deterministic", p.Deterministic, true)
			want(t, "syscall filter", p.Flags.SyscallFilter, false)
			want(t, "network", p.MicroVM.Network.Kind, NetDenied)
			want(t, "fs", p.MicroVM.FS.Kind, FSNone)
			want(t, "capabilities", strings.Join(p.Capabilities, ","), "ccos.math.add")
		}},
		{"network fetch", `(step "fetch-data" (call :ccos.network.http-fetch "https://api.example.com/data"))`, func(t *testing.T, p *StepProfile) {
			want(t, "isolation", p.Isolation, security.Isolated)
			want(t, "deterministic", p.Deterministic, false)
			want(t, "network acl", p.Flags.NetworkACL, true)
			want(t, "syscall filter", p.Flags.SyscallFilter, false)
			want(t, "network", p.MicroVM.Network.Kind, NetAllowList)
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "api.example.com:443")
			want(t, "fs", p.MicroVM.FS.Kind, FSNone)
		}},
		{"file read", `(step "read-file" (call :ccos.io.read-file "/data/input.txt"))`, func(t *testing.T, p *StepProfile) {
			want(t, "isolation", p.Isolation, security.Isolated)
			want(t, "deterministic", p.Deterministic, false)
			want(t, "fs acl", p.Flags.FSACL, true)
			want(t, "network acl", p.Flags.NetworkACL, false)
			want(t, "fs", p.MicroVM.FS.Kind, FSReadOnly)
			want(t, "read", strings.Join(p.MicroVM.FS.Read, ","), canon(t, "/data/input.txt"))
			want(t, "write", len(p.MicroVM.FS.Write), 0)
		}},
		{"system execute", `(step "list-files" (call :ccos.system.execute "ls" "-la"))`, func(t *testing.T, p *StepProfile) {
			want(t, "isolation", p.Isolation, security.Sandboxed)
			want(t, "deterministic", p.Deterministic, false)
			want(t, "syscall filter", p.Flags.SyscallFilter, true)
			want(t, "log syscalls", p.Flags.LogSyscalls, true)
			want(t, "read-only fs", p.Flags.ReadOnlyFS, true)
			want(t, "memory protection", p.Flags.MemoryProtection, true)
			want(t, "cpu monitoring", p.Flags.CPUMonitoring, true)
		}},
		{"compute heavy", `(step "analyze-data" (call :ccos.analytics.crunch big-dataset))`, func(t *testing.T, p *StepProfile) {
			if p.Limits.MaxExecutionTime < 300*time.Second || p.Limits.MaxMemoryBytes < 1<<30 || p.Limits.MaxCPUUsage < 2 {
				t.Errorf("limits %+v, want ≥ 300 s, 1 GiB, 2 CPUs", p.Limits)
			}
			want(t, "isolation", p.Isolation, security.Inherit)
			want(t, "microvm memory", p.MicroVM.MemoryLimitMB, int64(1024))
		}},
		{"json parse", `(step "parse-json" (call :ccos.data.parse-json "{\"key\": \"value\"}"))`, func(t *testing.T, p *StepProfile) {
			want(t, "deterministic", p.Deterministic, true)
			want(t, "isolation", p.Isolation, security.Inherit)
		}},
		{"download bandwidth", `(step "download-file" (call :ccos.network.http-fetch "https://example.com/large-file.zip"))`, func(t *testing.T, p *StepProfile) {
			if p.Limits.MaxNetworkBandwidth < 10<<20 {
				t.Errorf("bandwidth %d, want ≥ 10 MiB/s", p.Limits.MaxNetworkBandwidth)
			}
			want(t, "time", p.Limits.MaxExecutionTime, 120*time.Second)
		}},
		{"default limits", `(step "x" (+ 1 2))`, func(t *testing.T, p *StepProfile) {
			want(t, "limits", p.Limits, DefaultLimits)
			want(t, "capabilities", len(p.Capabilities), 0)
		}},
		{"file limits", `(step "x" (call :ccos.io.read-file "/tmp/a"))`, func(t *testing.T, p *StepProfile) {
			want(t, "time", p.Limits.MaxExecutionTime, 60*time.Second)
			want(t, "io", p.Limits.MaxIOOps, int64(5000))
		}},
		{"max over kinds", `(step "x" (call :ccos.io.read-file "/tmp/a") (call :ccos.network.http-fetch "http://h.example/") (call :ccos.analytics.crunch 1))`, func(t *testing.T, p *StepProfile) {
			want(t, "limits", p.Limits, ResourceLimits{
				MaxExecutionTime: 300 * time.Second, MaxMemoryBytes: 1 << 30, MaxCPUUsage: 2,
				MaxIOOps: 5000, MaxNetworkBandwidth: 10 << 20,
			})
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "h.example:80")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, mustDerive(t, tc.src, ctx))
		})
	}
}

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestDeriveEffects(t *testing.T) {
	ctx := fullContext()
	tmp := canon(t, t.TempDir())
	type exp struct {
		iso    security.Isolation
		net    NetworkKind
		hosts  string
		fs     FSKind
		read   string
		write  string
		env    string
		caps   string
		det    bool
		unk    bool
		netACL bool
		fsACL  bool
	}
	tests := []struct {
		name string
		src  string
		defs map[string]string
		want exp
	}{
		{"string id", `(step "x" (call "ccos.math.add" 1 2))`, nil,
			exp{iso: security.Inherit, caps: "ccos.math.add", det: true}},
		{"dynamic id is unknown", `(step "x" (let [id :ccos.math.add] (call id 1 2)))`, nil,
			exp{iso: security.Sandboxed, unk: true, netACL: true, fsACL: true}},
		{"dynamic id beside literal calls", `(step "x" (call :ccos.io.read-file "/tmp/a") (call (keyword "ccos.io.read-file") "/etc/passwd"))`, nil,
			exp{iso: security.Sandboxed, unk: true, netACL: true, fsACL: true}},
		{"non-literal URL gives declared effects", `(step "x" (call :ccos.network.http-fetch url))`, nil,
			exp{iso: security.Isolated, net: NetFull, caps: "ccos.network.http-fetch", netACL: true}},
		{"literal and non-literal calls", `(step "x" (call :ccos.network.http-fetch "https://a.example/") (call :ccos.network.http-fetch (str "https://" h)))`, nil,
			exp{iso: security.Isolated, net: NetFull, caps: "ccos.network.http-fetch", netACL: true}},
		{"two literal URLs", `(step "x" (call :ccos.network.http-fetch "https://b.example/x") (call :ccos.network.http-fetch "http://A.Example:8080/y"))`, nil,
			exp{iso: security.Isolated, net: NetAllowList, hosts: "a.example:8080,b.example:443", caps: "ccos.network.http-fetch", netACL: true}},
		{"non-literal options keep the literal URL", `(step "x" (call :ccos.network.http-fetch "https://api.example.com/" {:method m}))`, nil,
			exp{iso: security.Isolated, net: NetAllowList, hosts: "api.example.com:443", caps: "ccos.network.http-fetch", netACL: true}},
		{"endpoint from configuration", `(step "x" (call :ccos.ai.llm-execute {:prompt "hi"}))`, nil,
			exp{iso: security.Isolated, net: NetFull, caps: "ccos.ai.llm-execute", netACL: true}},
		{"manifest host patterns", `(step "x" (call :corp.api.get u))`, nil,
			exp{iso: security.Isolated, net: NetAllowList, hosts: "*.cdn.example,api.corp.example:443", caps: "corp.api.get", netACL: true}},
		{"write with non-literal content", `(step "x" (call :ccos.io.write-file "` + tmp + `/out.txt" text))`, nil,
			exp{iso: security.Isolated, fs: FSReadWrite, write: tmp + "/out.txt", caps: "ccos.io.write-file", fsACL: true}},
		{"read and write", `(step "x" (call :ccos.io.read-file "` + tmp + `/in/a.txt") (call :ccos.io.write-file "` + tmp + `/in" "x") (call :ccos.io.read-file "/etc/hosts"))`, nil,
			exp{iso: security.Isolated, fs: FSReadWrite, read: canon(t, "/etc/hosts"), write: tmp + "/in", caps: "ccos.io.read-file,ccos.io.write-file", fsACL: true}},
		{"non-literal path", `(step "x" (call :ccos.io.read-file p))`, nil,
			exp{iso: security.Isolated, fs: FSReadOnly, read: "*", caps: "ccos.io.read-file", fsACL: true}},
		{"handle operation adds no roots", `(step "x" (call :ccos.io.read-line h))`, nil,
			exp{iso: security.Isolated, fs: FSNone, caps: "ccos.io.read-line", fsACL: true}},
		{"manifest roots without TargetsOf", `(step "x" (call :corp.report.write "/srv/reports/a"))`, nil,
			exp{iso: security.Isolated, fs: FSReadWrite, write: canon(t, "/srv/reports"), caps: "corp.report.write", fsACL: true}},
		{"literal env", `(step "x" (call :ccos.system.get-env "HOME") (call :ccos.system.get-env "USER"))`, nil,
			exp{iso: security.Isolated, env: "HOME,USER", caps: "ccos.system.get-env"}},
		{"non-literal env", `(step "x" (call :ccos.system.get-env v))`, nil,
			exp{iso: security.Isolated, env: "*", caps: "ccos.system.get-env"}},
		{"clock is inherit but non-deterministic", `(step "x" (call :ccos.system.current-time))`, nil,
			exp{iso: security.Inherit, caps: "ccos.system.current-time"}},
		{"nested steps count", `(step "outer" (step "inner" (step-if c (call :ccos.math.add 1) (step-parallel (call :ccos.io.read-file "/tmp/a")))))`, nil,
			exp{iso: security.Isolated, fs: FSReadOnly, read: canon(t, "/tmp/a"), caps: "ccos.io.read-file,ccos.math.add", fsACL: true}},
		{"calls inside arguments and options", `(step "x" :params {"u" (call :ccos.system.get-env "U")} (call :ccos.math.add (call :ccos.math.add 1 2)))`, nil,
			exp{iso: security.Isolated, env: "U", caps: "ccos.math.add,ccos.system.get-env"}},
		{"quoted calls are data", `(step "x" '(call :ccos.system.execute "rm") (quote (call :nope.nothing)))`, nil,
			exp{iso: security.Inherit, det: true}},
		{"defs are followed transitively", `(step "x" (fetch-all))`, map[string]string{
			"fetch-all": `(defn fetch-all [] (map fetch-one ["a" "b"]))`,
			"fetch-one": `(defn fetch-one [x] (helper) (call :ccos.network.http-fetch "https://api.example.com/data"))`,
			"helper":    `(def helper (fn [] (fetch-all) (call :ccos.math.add 1)))`,
			"unused":    `(defn unused [] (call :ccos.system.execute "rm"))`,
		}, exp{iso: security.Isolated, net: NetAllowList, hosts: "api.example.com:443", caps: "ccos.math.add,ccos.network.http-fetch", netACL: true}},
		{"aliases call capabilities", `(step "x" (read-lines "/tmp/a") (map tool/http-fetch urls))`, nil,
			exp{iso: security.Isolated, net: NetFull, fs: FSReadOnly, read: canon(t, "/tmp/a"), caps: "ccos.io.read-file,ccos.network.http-fetch", netACL: true, fsACL: true}},
		{"a def shadows an alias", `(step "x" (read-lines "/tmp/a"))`, map[string]string{
			"read-lines": `(defn read-lines [p] (call :ccos.math.add 1))`,
		}, exp{iso: security.Inherit, caps: "ccos.math.add", det: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var defs map[string]syntax.Node
			if tc.defs != nil {
				defs = map[string]syntax.Node{}
				for k, v := range tc.defs {
					defs[k] = parse(t, v)
				}
			}
			p, err := Derive(&Request{StepName: "x", Form: parse(t, tc.src), Defs: defs}, testCatalog(), ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := exp{
				iso: p.Isolation, net: p.MicroVM.Network.Kind, hosts: strings.Join(p.MicroVM.Network.Hosts, ","),
				fs: p.MicroVM.FS.Kind, read: strings.Join(p.MicroVM.FS.Read, ","), write: strings.Join(p.MicroVM.FS.Write, ","),
				env: strings.Join(p.MicroVM.EnvVars, ","), caps: strings.Join(p.Capabilities, ","),
				det: p.Deterministic, unk: p.Unknown, netACL: p.Flags.NetworkACL, fsACL: p.Flags.FSACL,
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDeriveErrors(t *testing.T) {
	ctx := fullContext()
	tests := []struct {
		name, src, kind string
	}{
		{"unknown capability", `(step "x" (call :no.such.cap 1))`, "capability"},
		{"unknown capability beside a dynamic one", `(step "x" (call (f) 1) (call "no.such.cap"))`, "capability"},
		{"host outside the manifest", `(step "x" (call :corp.api.get "https://evil.example/"))`, "host"},
		{"port outside the manifest", `(step "x" (call :corp.api.get "https://api.corp.example:8443/"))`, "host"},
		{"invalid URL", `(step "x" (call :ccos.network.http-fetch "ftp://x.example/"))`, "host"},
		{"path outside the manifest", `(step "x" (call :corp.report.write "/etc/passwd"))`, ""},
		{"isolation option cannot widen", `(step "x" :isolation :inherit (call :ccos.io.read-file "/tmp/a"))`, "isolation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts map[string]value.Value
			if strings.Contains(tc.src, ":isolation :inherit") {
				opts = map[string]value.Value{"isolation": value.Keyword("inherit")}
			}
			p, err := Derive(&Request{StepName: "x", Form: parse(t, tc.src), Options: opts}, testCatalog(), ctx)
			if tc.kind == "" {
				// Literal arguments TargetsOf rejects (the call cannot
				// pass the capability boundary) or a manifest without
				// TargetsOf: no error, nothing widened.
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if p.MicroVM.Network.Kind != NetDenied && p.MicroVM.Network.Kind != NetFull {
					t.Errorf("network %+v", p.MicroVM.Network)
				}
				return
			}
			if got := violationKind(err); got != tc.kind {
				t.Fatalf("error %v (kind %q), want a violation of kind %q", err, got, tc.kind)
			}
		})
	}
}

func TestRejectedLiteralArgsAddNothing(t *testing.T) {
	p := mustDerive(t, `(step "x" (call :ccos.network.http-fetch 42))`, fullContext())
	if p.MicroVM.Network.Kind != NetDenied || p.Isolation != security.Isolated || !p.Flags.NetworkACL {
		t.Errorf("profile %+v", p)
	}
}

func TestOptionsRaiseIsolation(t *testing.T) {
	p, err := Derive(&Request{StepName: "x", Form: parse(t, `(step "x" (call :ccos.math.add 1))`),
		Options: map[string]value.Value{"isolation": value.Keyword("sandboxed"), "retry": value.Int(3)}}, testCatalog(), fullContext())
	if err != nil {
		t.Fatal(err)
	}
	if p.Isolation != security.Sandboxed {
		t.Errorf("isolation %v, want sandboxed", p.Isolation)
	}
	_, err = Derive(&Request{StepName: "x", Form: parse(t, `(step "x" 1)`),
		Options: map[string]value.Value{"isolation": value.Keyword("bogus")}}, testCatalog(), fullContext())
	if err == nil {
		t.Error("bogus isolation accepted")
	}
}

func TestContextAdjustments(t *testing.T) {
	fetch := `(step "x" (call :ccos.network.http-fetch "https://api.example.com/data") (call :ccos.network.http-fetch "https://other.example/"))`
	tests := []struct {
		name  string
		src   string
		ctx   func(c *security.Context)
		check func(t *testing.T, p *StepProfile, err error)
	}{
		{"limits clamped", `(step "x" (call :ccos.analytics.crunch 1))`, func(c *security.Context) {
			c.MaxExecution = 10 * time.Second
			c.MaxMemoryBytes = 100 << 20
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "time", p.Limits.MaxExecutionTime, 10*time.Second)
			want(t, "memory", p.Limits.MaxMemoryBytes, int64(100<<20))
			want(t, "cpu", p.Limits.MaxCPUUsage, 2.0)
			want(t, "microvm timeout", p.MicroVM.Timeout, 10*time.Second)
			want(t, "microvm memory", p.MicroVM.MemoryLimitMB, int64(100))
		}},
		{"limits below the context are kept", `(step "x" 1)`, func(c *security.Context) {
			c.MaxExecution = time.Hour
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "time", p.Limits.MaxExecutionTime, 30*time.Second)
		}},
		{"allow-list intersected with context hosts", fetch, func(c *security.Context) {
			c.AllowHosts = []string{"*.example.com"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "network", p.MicroVM.Network.Kind, NetAllowList)
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "api.example.com:443")
		}},
		{"context port pattern", fetch, func(c *security.Context) {
			c.AllowHosts = []string{"other.example:8443", "API.example.com"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "api.example.com:443")
		}},
		{"context deny-list", fetch, func(c *security.Context) {
			c.DenyHosts = []string{"other.example"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "api.example.com:443")
		}},
		{"nothing left is denied", fetch, func(c *security.Context) {
			c.Level = security.Controlled
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "network", p.MicroVM.Network.Kind, NetDenied)
			want(t, "network acl", p.Flags.NetworkACL, true)
		}},
		{"full network under a Full context", `(step "x" (call :ccos.network.http-fetch u))`, nil,
			func(t *testing.T, p *StepProfile, err error) {
				want(t, "network", p.MicroVM.Network.Kind, NetFull)
			}},
		{"full network becomes the context allow-list", `(step "x" (call :ccos.network.http-fetch u))`, func(c *security.Context) {
			c.AllowHosts = []string{"b.example", "a.example:443"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "network", p.MicroVM.Network.Kind, NetAllowList)
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "a.example:443,b.example")
		}},
		{"full network minus the context deny-list", `(step "x" (call :ccos.network.http-fetch u))`, func(c *security.Context) {
			c.DenyHosts = []string{"evil.example"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "network", p.MicroVM.Network.Kind, NetDenyList)
			want(t, "hosts", strings.Join(p.MicroVM.Network.Hosts, ","), "evil.example")
		}},
		{"fs roots intersected", `(step "x" (call :ccos.io.read-file p) (call :ccos.io.write-file "/tmp/x/y" "z") (call :ccos.io.read-file "/etc/passwd"))`, func(c *security.Context) {
			c.ReadRoots = []string{"/usr"}
			c.WriteRoots = []string{"/tmp/x"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "fs", p.MicroVM.FS.Kind, FSReadWrite)
			// The non-literal read gets every readable root of the
			// context; /etc/passwd is outside them.
			want(t, "read", strings.Join(p.MicroVM.FS.Read, ","), canon(t, "/tmp/x")+","+canon(t, "/usr"))
			want(t, "write", strings.Join(p.MicroVM.FS.Write, ","), canon(t, "/tmp/x/y"))
		}},
		{"env intersected", `(step "x" (call :ccos.system.get-env v))`, func(c *security.Context) {
			c.AllowEnv = []string{"HOME"}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "env", strings.Join(p.MicroVM.EnvVars, ","), "HOME")
		}},
		{"disallowed isolation refused", `(step "read-file" (call :ccos.io.read-file "/data/input.txt"))`, func(c *security.Context) {
			c.Isolations = []security.Isolation{security.Inherit}
		}, func(t *testing.T, p *StepProfile, err error) {
			if violationKind(err) != "isolation" {
				t.Fatalf("err %v, want an isolation violation", err)
			}
		}},
		{"disallowed isolation downgraded", `(step "read-file" (call :ccos.io.read-file "/data/input.txt"))`, func(c *security.Context) {
			c.Isolations = []security.Isolation{security.Inherit}
			c.Downgrade = true
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "isolation", p.Isolation, security.Inherit)
			want(t, "downgraded", p.Downgraded, "isolated->inherit")
			want(t, "fs acl still on", p.Flags.FSACL, true)
			v, _ := p.ToValue().(*value.Map).Get(value.Keyword("downgraded"))
			want(t, "metadata", v, value.Value(value.String("isolated->inherit")))
		}},
		{"sandboxed downgraded to isolated", `(step "x" (call :ccos.system.execute "ls"))`, func(c *security.Context) {
			c.Isolations = []security.Isolation{security.Inherit, security.Isolated}
			c.Downgrade = true
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "isolation", p.Isolation, security.Isolated)
			want(t, "downgraded", p.Downgraded, "sandboxed->isolated")
		}},
		{"stricter allowed level is used", `(step "x" (call :ccos.io.read-file "/tmp/a"))`, func(c *security.Context) {
			c.Isolations = []security.Isolation{security.Sandboxed}
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "isolation", p.Isolation, security.Sandboxed)
			want(t, "downgraded", p.Downgraded, "")
		}},
		{"unknown profile downgraded", `(step "x" (call id))`, func(c *security.Context) {
			c.Isolations = []security.Isolation{security.Inherit}
			c.Downgrade = true
		}, func(t *testing.T, p *StepProfile, err error) {
			want(t, "isolation", p.Isolation, security.Inherit)
			want(t, "downgraded", p.Downgraded, "sandboxed->inherit")
			want(t, "unknown", p.Unknown, true)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := fullContext()
			if tc.ctx != nil {
				tc.ctx(ctx)
			}
			p, err := deriveSrc(t, tc.src, ctx)
			if err != nil && !strings.Contains(tc.name, "refused") {
				t.Fatal(err)
			}
			tc.check(t, p, err)
		})
	}
}

func TestRoot(t *testing.T) {
	forms, err := syntax.Parse("plan.rtfs", []byte(`
		(defn f [] (call :ccos.io.read-file "/tmp/a"))
		(call :ccos.math.add 1 2)
		(step "s" (call :ccos.system.get-env "HOME"))`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Root(forms, map[string]syntax.Node{"f": forms[0]}, testCatalog(), fullContext())
	if err != nil {
		t.Fatal(err)
	}
	want(t, "step", p.StepName, "")
	want(t, "caps", strings.Join(p.Capabilities, ","), "ccos.io.read-file,ccos.math.add,ccos.system.get-env")
	want(t, "isolation", p.Isolation, security.Isolated)
	if !p.AllowsCapability("ccos.math.add") || p.AllowsCapability("ccos.system.execute") {
		t.Error("AllowsCapability")
	}
}

func TestProfileIDAndHash(t *testing.T) {
	src := `(step "fetch" (call :ccos.network.http-fetch "https://api.example.com/data"))`
	a := mustDerive(t, src, fullContext())
	b := mustDerive(t, src, fullContext())
	if a.Hash != b.Hash || a.ProfileID != b.ProfileID {
		t.Errorf("not deterministic: %s %s", a.Hash, b.Hash)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(a.Hash) || a.ProfileID != "sp-"+a.Hash[:16] {
		t.Errorf("hash %q id %q", a.Hash, a.ProfileID)
	}
	c := mustDerive(t, `(step "fetch" (call :ccos.network.http-fetch "https://api.example.org/data"))`, fullContext())
	if c.Hash == a.Hash {
		t.Error("different profiles hash alike")
	}
	got := value.Repr(a.ToValue())
	wantRepr := `{:capabilities ["ccos.network.http-fetch"] :deterministic false :downgraded nil :env-vars [] ` +
		`:flags {:cpu-monitoring true :fs-acl false :log-syscalls false :memory-protection true :network-acl true :read-only-fs false :syscall-filter false} ` +
		`:fs {:policy :none :read [] :write []} :hash "` + a.Hash + `" :isolation :isolated ` +
		`:limits {:max-cpu-usage 1.0 :max-execution-time-ms 120000 :max-io-operations 1000 :max-memory-bytes 268435456 :max-network-bandwidth 10485760} ` +
		`:microvm {:cpu-limit 1.0 :memory-limit-mb 256 :timeout-ms 120000} ` +
		`:network {:hosts ["api.example.com:443"] :policy :allow-list} :profile-id "` + a.ProfileID + `" :step "s" :unknown false}`
	if got != wantRepr {
		t.Errorf("ToValue:\n got %s\nwant %s", got, wantRepr)
	}
}

func TestNarrow(t *testing.T) {
	tmp := canon(t, t.TempDir())
	base := mustDerive(t, `(step "x"
		(call :ccos.network.http-fetch "https://api.example.com/data")
		(call :ccos.network.http-fetch "https://b.example.org/")
		(call :ccos.io.read-file "`+tmp+`/in")
		(call :ccos.io.write-file "`+tmp+`/out" s))`, fullContext())
	full := mustDerive(t, `(step "x" (call :ccos.network.http-fetch u) (call :ccos.io.write-file p s))`, fullContext())
	kw := value.Kw
	strs := func(xs ...string) value.Value {
		vs := make([]value.Value, len(xs))
		for i, x := range xs {
			vs[i] = value.String(x)
		}
		return value.NewVector(vs...)
	}
	tests := []struct {
		name  string
		p     *StepProfile
		opts  value.Value
		kind  string // violation kind, "" for success
		check func(t *testing.T, q *StepProfile)
	}{
		{"nil options", base, nil, "", func(t *testing.T, q *StepProfile) {
			want(t, "hash", q.Hash, base.Hash)
		}},
		{"stricter isolation", base, value.NewMap(kw("isolation"), kw("sandboxed")), "", func(t *testing.T, q *StepProfile) {
			want(t, "isolation", q.Isolation, security.Sandboxed)
			if q.Hash == base.Hash || q.ProfileID == base.ProfileID {
				t.Error("hash not recomputed")
			}
		}},
		{"same isolation", base, value.NewMap(kw("isolation"), value.String("isolated")), "", nil},
		{"laxer isolation", base, value.NewMap(kw("isolation"), kw("inherit")), "isolation", nil},
		{"host subset", base, value.NewMap(kw("network-hosts"), strs("api.example.com")), "", func(t *testing.T, q *StepProfile) {
			want(t, "network", q.MicroVM.Network.Kind, NetAllowList)
			want(t, "hosts", strings.Join(q.MicroVM.Network.Hosts, ","), "api.example.com:443")
		}},
		{"host as URL", base, value.NewMap(kw("network-hosts"), strs("https://B.example.org/x")), "", func(t *testing.T, q *StepProfile) {
			want(t, "hosts", strings.Join(q.MicroVM.Network.Hosts, ","), "b.example.org:443")
		}},
		{"wildcard narrows to the matching hosts", base, value.NewMap(kw("network-hosts"), strs("*.example.org")), "", func(t *testing.T, q *StepProfile) {
			want(t, "hosts", strings.Join(q.MicroVM.Network.Hosts, ","), "b.example.org:443")
		}},
		{"no hosts denies", base, value.NewMap(kw("network-hosts"), strs()), "", func(t *testing.T, q *StepProfile) {
			want(t, "network", q.MicroVM.Network.Kind, NetDenied)
		}},
		{"new host widens", base, value.NewMap(kw("network-hosts"), strs("api.example.com", "evil.example")), "host", nil},
		{"other port widens", base, value.NewMap(kw("network-hosts"), strs("api.example.com:8443")), "host", nil},
		{"full network narrows to a list", full, value.NewMap(kw("network-hosts"), strs("*.example.com")), "", func(t *testing.T, q *StepProfile) {
			want(t, "hosts", strings.Join(q.MicroVM.Network.Hosts, ","), "*.example.com")
		}},
		{"fs-read subset", base, value.NewMap(kw("fs-read"), strs(tmp+"/in/sub")), "", func(t *testing.T, q *StepProfile) {
			want(t, "read", strings.Join(q.MicroVM.FS.Read, ","), tmp+"/in/sub")
			want(t, "write", strings.Join(q.MicroVM.FS.Write, ","), tmp+"/out")
		}},
		{"fs-read outside", base, value.NewMap(kw("fs-read"), strs("/etc")), "read", nil},
		{"fs-read escape", base, value.NewMap(kw("fs-read"), strs(tmp+"/in/../secret")), "read", nil},
		{"fs-read superset narrows to the current roots", base, value.NewMap(kw("fs-read"), strs(tmp)), "", func(t *testing.T, q *StepProfile) {
			want(t, "read", strings.Join(q.MicroVM.FS.Read, ","), tmp+"/in")
		}},
		{"fs-write none", base, value.NewMap(kw("fs-write"), strs()), "", func(t *testing.T, q *StepProfile) {
			want(t, "fs", q.MicroVM.FS.Kind, FSReadOnly)
			want(t, "read", strings.Join(q.MicroVM.FS.Read, ","), tmp+"/in")
		}},
		{"fs-write outside the write roots", base, value.NewMap(kw("fs-write"), strs(tmp+"/in")), "write", nil},
		{"fs full narrows", full, value.NewMap(kw("fs-read"), strs("/usr"), kw("fs-write"), strs(tmp)), "", func(t *testing.T, q *StepProfile) {
			want(t, "fs", q.MicroVM.FS.Kind, FSReadWrite)
			want(t, "read", strings.Join(q.MicroVM.FS.Read, ","), canon(t, "/usr"))
			want(t, "write", strings.Join(q.MicroVM.FS.Write, ","), tmp)
		}},
		{"lower timeout and memory", base, value.NewMap(kw("timeout-ms"), value.Int(5000), kw("memory-mb"), value.Int(64)), "", func(t *testing.T, q *StepProfile) {
			want(t, "time", q.Limits.MaxExecutionTime, 5*time.Second)
			want(t, "memory", q.Limits.MaxMemoryBytes, int64(64<<20))
			want(t, "microvm", q.MicroVM.Timeout, 5*time.Second)
		}},
		{"higher timeout", base, value.NewMap(kw("timeout-ms"), value.Int(999999)), "limit", nil},
		{"higher memory", base, value.NewMap(kw("memory-mb"), value.Int(4096)), "limit", nil},
		{"step options are ignored", base, value.NewMap(kw("retry"), value.Int(3), kw("params"), value.EmptyMap), "", nil},
		{"denied network stays denied", mustDerive(t, `(step "x" 1)`, fullContext()), value.NewMap(kw("network-hosts"), strs("a.example")), "host", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := value.Repr(tc.p.ToValue())
			q, err := Narrow(tc.p, tc.opts)
			if after := value.Repr(tc.p.ToValue()); after != before {
				t.Errorf("Narrow modified its input")
			}
			if tc.kind != "" {
				if got := violationKind(err); got != tc.kind {
					t.Fatalf("err %v (kind %q), want kind %q", err, got, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, q)
			}
		})
	}
	if _, err := Narrow(base, value.Int(1)); err == nil {
		t.Error("non-map options accepted")
	}
	if _, err := Narrow(base, value.NewMap(kw("network-hosts"), value.Int(1))); err == nil {
		t.Error("non-vector hosts accepted")
	}
}

func TestCheck(t *testing.T) {
	tmp := canon(t, t.TempDir())
	allowed := filepath.Join(tmp, "allowed")
	outside := filepath.Join(tmp, "secret")
	for _, d := range []string{allowed, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	p := mustDerive(t, `(step "x"
		(call :ccos.network.http-fetch "https://api.example.com/data")
		(call :ccos.io.read-file "`+allowed+`")
		(call :ccos.io.write-file "`+allowed+`/out" s)
		(call :ccos.system.get-env "HOME"))`, fullContext())
	exec := mustDerive(t, `(step "x" (call :ccos.system.execute "ls"))`, fullContext())
	full := mustDerive(t, `(step "x" (call :ccos.network.http-fetch u) (call :ccos.io.write-file f s) (call :ccos.system.get-env v))`, fullContext())
	unknown := mustDerive(t, `(step "x" (call id))`, fullContext())
	tests := []struct {
		name string
		p    *StepProfile
		t    caps.Targets
		kind string
	}{
		{"allowed host", p, caps.Targets{URLs: []string{"https://api.example.com/other?q=1"}}, ""},
		{"allowed host with explicit port and case", p, caps.Targets{URLs: []string{"https://API.Example.COM:443/"}}, ""},
		{"userinfo trick", p, caps.Targets{URLs: []string{"https://api.example.com@evil.example/"}}, "host"},
		{"other host", p, caps.Targets{URLs: []string{"https://evil.example/"}}, "host"},
		{"other port", p, caps.Targets{URLs: []string{"http://api.example.com/"}}, "host"},
		{"invalid URL", p, caps.Targets{URLs: []string{"::nope"}}, "host"},
		{"network denied", exec, caps.Targets{URLs: []string{"https://api.example.com/"}}, "host"},
		{"full network", full, caps.Targets{URLs: []string{"https://anything.example/"}}, ""},
		{"read inside", p, caps.Targets{Reads: []string{allowed + "/a/b.txt"}}, ""},
		{"read a write root", p, caps.Targets{Reads: []string{allowed + "/out"}}, ""},
		{"read dot-dot escape", p, caps.Targets{Reads: []string{allowed + "/../secret/x"}}, "read"},
		{"read symlink escape", p, caps.Targets{Reads: []string{allowed + "/link/x"}}, "read"},
		{"read elsewhere", p, caps.Targets{Reads: []string{"/etc/passwd"}}, "read"},
		{"write inside", p, caps.Targets{Writes: []string{allowed + "/out"}}, ""},
		{"write into a read root", p, caps.Targets{Writes: []string{allowed + "/x"}}, "write"},
		{"fs none", exec, caps.Targets{Reads: []string{"/tmp"}}, "read"},
		{"fs full", full, caps.Targets{Writes: []string{"/anywhere"}}, ""},
		{"env allowed", p, caps.Targets{Env: []string{"HOME"}}, ""},
		{"env denied", p, caps.Targets{Env: []string{"AWS_SECRET_ACCESS_KEY"}}, "env"},
		{"env star", full, caps.Targets{Env: []string{"ANY"}}, ""},
		{"program in exec step", exec, caps.Targets{Programs: []string{"ls"}}, ""},
		{"program elsewhere", p, caps.Targets{Programs: []string{"ls"}}, "capability"},
		{"unknown allows nothing", unknown, caps.Targets{Env: []string{"HOME"}}, "capability"},
		{"no targets", unknown, caps.Targets{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check(tc.t)
			if got := violationKind(err); got != tc.kind || (tc.kind == "" && err != nil) {
				t.Errorf("Check = %v (kind %q), want kind %q", err, got, tc.kind)
			}
		})
	}
	if unknown.AllowsCapability("ccos.math.add") {
		t.Error("unknown profile allows a capability")
	}
	if !exec.AllowsCapability("ccos.system.execute") || exec.AllowsCapability("ccos.io.read-file") {
		t.Error("AllowsCapability")
	}
}

// TestBuiltins derives profiles against the real built-in capabilities.
func TestBuiltins(t *testing.T) {
	m := caps.NewDefault()
	tmp := canon(t, t.TempDir())
	tests := []struct {
		src string
		iso security.Isolation
		det bool
	}{
		{`(step "x" (call :ccos.math.add 1 2))`, security.Inherit, true},
		{`(step "x" (call :ccos.data.parse-json "{}"))`, security.Inherit, true},
		{`(step "x" (call :ccos.network.http-fetch "https://api.example.com/data" {:method m}))`, security.Isolated, false},
		{`(step "x" (call :ccos.io.read-file "` + tmp + `/a"))`, security.Isolated, false},
		{`(step "x" (call :ccos.io.open-file "` + tmp + `/a" :write))`, security.Isolated, false},
		{`(step "x" (call :ccos.system.execute "ls" "-la"))`, security.Sandboxed, false},
	}
	for _, tc := range tests {
		p, err := Derive(&Request{StepName: "x", Form: parse(t, tc.src)}, m, fullContext())
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if p.Isolation != tc.iso || p.Deterministic != tc.det {
			t.Errorf("%s: isolation %v deterministic %v", tc.src, p.Isolation, p.Deterministic)
		}
	}
	p, err := Derive(&Request{StepName: "x", Form: parse(t, `(step "x" (call :ccos.io.open-file "`+tmp+`/a" :write))`)}, m, fullContext())
	if err == nil && (p.MicroVM.FS.Kind != FSReadWrite || !slices.Equal(p.MicroVM.FS.Write, []string{tmp + "/a"})) {
		t.Errorf("open-file :write: %+v", p.MicroVM.FS)
	}
}

// TestCanonicalMatchesToValue keeps the hashed encoding identical to the
// printed ToValue without :profile-id and :hash.
func TestCanonicalMatchesToValue(t *testing.T) {
	srcs := []string{
		`(step "a" (call :ccos.math.add 1))`,
		`(step "b \"quoted\"" (call :ccos.network.http-fetch "https://api.example.com/data") (call :ccos.io.write-file "/tmp/x" s) (call :ccos.system.get-env "HOME"))`,
		`(step "c" (call :ccos.system.execute "ls") (call :ccos.analytics.crunch 1))`,
		`(step "d" (call id))`,
	}
	for _, src := range srcs {
		ctx := fullContext()
		ctx.Isolations = []security.Isolation{security.Inherit}
		ctx.Downgrade = true
		ctx.MaxMemoryBytes = 1000
		p := mustDerive(t, src, ctx)
		m := p.ToValue().(*value.Map).Dissoc(value.Keyword("profile-id")).Dissoc(value.Keyword("hash"))
		if got, want := p.canonical(), value.Repr(m); got != want {
			t.Errorf("canonical:\n got %s\nwant %s", got, want)
		}
	}
}

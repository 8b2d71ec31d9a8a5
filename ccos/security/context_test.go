package security

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

func TestLevelAndIsolationNames(t *testing.T) {
	for _, l := range []Level{Pure, Controlled, Full} {
		got, err := ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), got, err)
		}
	}
	if l, err := ParseLevel(":Controlled"); err != nil || l != Controlled {
		t.Errorf("ParseLevel(:Controlled) = %v, %v", l, err)
	}
	if _, err := ParseLevel("admin"); err == nil {
		t.Error("ParseLevel(admin) succeeded")
	}
	if s := Level(9).String(); s != "Level(9)" {
		t.Errorf("Level(9).String() = %q", s)
	}
	for _, i := range []Isolation{Inherit, Isolated, Sandboxed} {
		got, err := ParseIsolation(i.String())
		if err != nil || got != i {
			t.Errorf("ParseIsolation(%q) = %v, %v", i.String(), got, err)
		}
	}
	if got := []string{Inherit.String(), Isolated.String(), Sandboxed.String()}; !slices.Equal(got, []string{"inherit", "isolated", "sandboxed"}) {
		t.Errorf("isolation names %q", got)
	}
	if _, err := ParseIsolation("microvm"); err == nil {
		t.Error("ParseIsolation(microvm) succeeded")
	}
}

func TestMatchCapability(t *testing.T) {
	tests := []struct {
		pattern, id string
		want        bool
	}{
		{"ccos.echo", "ccos.echo", true},
		{"ccos.echo", "ccos.echo2", false},
		{"ccos.echo", "ccos.ech", false},
		{"ccos.io.*", "ccos.io.read-file", true},
		{"ccos.io.*", "ccos.io.a.b", true},
		{"ccos.io.*", "ccos.io", false},
		{"ccos.io.*", "ccos.iox.read", false},
		{"ccos.io.*", "ccos.io.", false},
		{"*", "anything.at.all", true},
		{"ccos.*", "ccos.io.read-file", true},
		{"ccos.*", "ccosx.y", false},
		{"ccos.io*", "ccos.io.read-file", false},
	}
	for _, tt := range tests {
		if got := MatchCapability(tt.pattern, tt.id); got != tt.want {
			t.Errorf("MatchCapability(%q, %q) = %v, want %v", tt.pattern, tt.id, got, tt.want)
		}
	}
}

func TestAllowsCapability(t *testing.T) {
	ctl := &Context{Level: Controlled, Isolations: []Isolation{Isolated},
		AllowCaps: []string{"ccos.echo", "ccos.io.*", "ccos.math.add"},
		DenyCaps:  []string{"ccos.io.write-file", "ccos.io.danger.*"}}
	full := &Context{Level: Full, Isolations: []Isolation{Inherit}, DenyCaps: []string{"ccos.system.*"}}
	pure := &Context{Level: Pure, AllowCaps: []string{"*"}}
	tests := []struct {
		ctx  *Context
		id   string
		want bool
	}{
		{ctl, "ccos.echo", true},
		{ctl, "ccos.math.add", true},
		{ctl, "ccos.math.mul", false},
		{ctl, "ccos.io.read-file", true},
		{ctl, "ccos.io.write-file", false},
		{ctl, "ccos.io.danger.rm", false},
		{ctl, "ccos.network.http-fetch", false},
		{ctl, "", false},
		{full, "ccos.network.http-fetch", true},
		{full, "anything", true},
		{full, "ccos.system.execute", false},
		{pure, "ccos.echo", false},
		{&Context{}, "ccos.echo", false},
	}
	for _, tt := range tests {
		err := tt.ctx.AllowsCapability(tt.id)
		if got := err == nil; got != tt.want {
			t.Errorf("%s AllowsCapability(%q) = %v, want allowed=%v", tt.ctx.Level, tt.id, err, tt.want)
			continue
		}
		if err != nil {
			var v *Violation
			if !errors.As(err, &v) || v.Kind != "capability" || v.Subject != tt.id {
				t.Errorf("AllowsCapability(%q) error %#v", tt.id, err)
			}
		}
	}
	err := ctl.AllowsCapability("ccos.io.write-file")
	if !strings.Contains(err.Error(), "deny pattern") {
		t.Errorf("deny reason not given: %v", err)
	}
}

func TestIsolationPolicy(t *testing.T) {
	if !(&Context{}).AllowsIsolation(Inherit) || (&Context{}).AllowsIsolation(Isolated) {
		t.Error("zero (pure) context should allow inherit only")
	}
	c := &Context{Level: Controlled, Isolations: []Isolation{Isolated}}
	tests := []struct {
		ctx        *Context
		derived    Isolation
		want       Isolation
		downgraded bool
		refused    bool
	}{
		{c, Isolated, Isolated, false, false},
		{c, Inherit, Isolated, false, false},   // raised: more isolation is a narrowing
		{c, Sandboxed, Sandboxed, false, true}, // refused by default
		{&Context{Level: Controlled, Isolations: []Isolation{Sandboxed}, Downgrade: true}, Isolation(7), 0, false, true},
		{&Context{Level: Controlled, Isolations: []Isolation{Isolated}, Downgrade: true}, Sandboxed, Isolated, true, false},
		{&Context{Level: Controlled, Isolations: []Isolation{Inherit}, Downgrade: true}, Sandboxed, Inherit, true, false},
		{&Context{Level: Controlled, Isolations: []Isolation{Sandboxed}}, Inherit, Sandboxed, false, false},
	}
	for i, tt := range tests {
		got, down, err := tt.ctx.ResolveIsolation(tt.derived)
		if tt.refused {
			var v *Violation
			if !errors.As(err, &v) || v.Kind != "isolation" {
				t.Errorf("%d: ResolveIsolation(%s) = %s, %v, %v; want refusal", i, tt.derived, got, down, err)
			}
			continue
		}
		if err != nil || got != tt.want || down != tt.downgraded {
			t.Errorf("%d: ResolveIsolation(%s) = %s, %v, %v; want %s, %v", i, tt.derived, got, down, err, tt.want, tt.downgraded)
		}
	}
}

func TestCheckEnv(t *testing.T) {
	c := &Context{Level: Controlled, Isolations: []Isolation{Inherit}, AllowEnv: []string{"HOME", "LANG"}}
	star := &Context{Level: Controlled, Isolations: []Isolation{Inherit}, AllowEnv: []string{"*"}}
	pure := &Context{Level: Pure, AllowEnv: []string{"*"}}
	tests := []struct {
		ctx  *Context
		name string
		want bool
	}{
		{c, "HOME", true},
		{c, "home", false},
		{c, "AWS_SECRET_ACCESS_KEY", false},
		{c, "", false},
		{c, "HOME=x", false},
		{star, "ANYTHING", true},
		{pure, "HOME", false},
	}
	for _, tt := range tests {
		err := tt.ctx.CheckEnv(tt.name)
		if got := err == nil; got != tt.want {
			t.Errorf("CheckEnv(%q) = %v, want allowed=%v", tt.name, err, tt.want)
		}
		var v *Violation
		if err != nil && (!errors.As(err, &v) || v.Kind != "env") {
			t.Errorf("CheckEnv(%q) error %v is not an env violation", tt.name, err)
		}
	}
}

func TestPresets(t *testing.T) {
	names := PresetNames()
	want := []string{"pure", "controlled", "full", "user_code", "system_management", "data_processing", "agent_coordination", "file_operations"}
	if !slices.Equal(names, want) {
		t.Fatalf("PresetNames() = %q", names)
	}
	names[0] = "mutated"
	if PresetNames()[0] != "pure" {
		t.Fatal("PresetNames shares its slice")
	}
	for _, name := range want {
		c, err := Preset(name, nil)
		if err != nil {
			t.Errorf("Preset(%q): %v", name, err)
			continue
		}
		if c.Name != name {
			t.Errorf("Preset(%q).Name = %q", name, c.Name)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Preset(%q) invalid: %v", name, err)
		}
		d, _ := Preset(name, nil)
		d.AllowCaps = append(d.AllowCaps, "mutated")
		if e, _ := Preset(name, nil); slices.Contains(e.AllowCaps, "mutated") {
			t.Errorf("Preset(%q) shares state", name)
		}
	}
	check := func(name string, caps []string, id string, want bool) {
		t.Helper()
		c, err := Preset(name, caps)
		if err != nil {
			t.Fatalf("Preset(%q, %q): %v", name, caps, err)
		}
		if got := c.AllowsCapability(id) == nil; got != want {
			t.Errorf("Preset(%q, %q) allows %q = %v, want %v", name, caps, id, got, want)
		}
	}
	check("pure", nil, "ccos.echo", false)
	check("controlled", []string{"ccos.echo"}, "ccos.echo", true)
	check("controlled", []string{"ccos.echo"}, "ccos.math.add", false)
	check("controlled", nil, "ccos.echo", false)
	check("full", nil, "ccos.system.execute", true)
	check("user_code", nil, "ccos.math.add", true)
	check("user_code", nil, "ccos.data.parse-json", true)
	check("user_code", nil, "ccos.io.read-file", false)
	check("user_code", nil, "ccos.network.http-fetch", false)
	check("user_code", []string{"acme.extra"}, "acme.extra", true)
	check("system_management", nil, "ccos.system.current-time", true)
	check("system_management", nil, "ccos.io.write-file", true)
	check("system_management", nil, "ccos.network.http-fetch", false)
	check("data_processing", nil, "ccos.io.read-file", true)
	check("data_processing", nil, "ccos.io.write-file", false)
	check("data_processing", nil, "ccos.network.http-fetch", true)
	check("agent_coordination", nil, "ccos.ask-human", true)
	check("agent_coordination", nil, "ccos.ai.llm-execute", true)
	check("agent_coordination", nil, "ccos.io.read-file", false)
	check("file_operations", nil, "ccos.io.write-file", true)
	check("file_operations", nil, "ccos.network.http-fetch", false)

	pure, _ := Preset("pure", nil)
	if !slices.Equal(pure.Isolations, []Isolation{Inherit}) {
		t.Errorf("pure isolations %v", pure.Isolations)
	}
	ctl, _ := Preset("controlled", []string{"ccos.io.read-file"})
	if !slices.Equal(ctl.Isolations, []Isolation{Inherit, Isolated, Sandboxed}) || ctl.MaxExecution != 5*time.Minute || ctl.MaxMemoryBytes != 512<<20 {
		t.Errorf("controlled preset %+v", ctl)
	}
	uc, _ := Preset("user_code", nil)
	if !slices.Equal(uc.Isolations, []Isolation{Sandboxed}) {
		t.Errorf("user_code isolations %v", uc.Isolations)
	}
	full, _ := Preset("full", []string{"ignored"})
	if slices.Contains(full.AllowCaps, "ignored") {
		t.Error("full preset added caps")
	}
	if _, err := full.CheckURL("https://example.com/"); err != nil {
		t.Errorf("full preset denies a host: %v", err)
	}
	if _, err := full.CheckRead("/etc/hostname"); err != nil {
		t.Errorf("full preset denies a read: %v", err)
	}
	ac, _ := Preset("agent_coordination", nil)
	if !ac.ExposesContextTo("ccos.ai.llm-execute") || ac.ExposesContextTo("ccos.echo") {
		t.Error("agent_coordination context exposure")
	}

	if _, err := Preset("pure", []string{"ccos.echo"}); err == nil {
		t.Error("Preset(pure, caps) succeeded")
	}
	if _, err := Preset("root", nil); err == nil {
		t.Error("Preset(root) succeeded")
	}
	if _, err := Preset("controlled", []string{"bad pattern*"}); err == nil {
		t.Error("Preset with a malformed cap succeeded")
	}
}

func TestClone(t *testing.T) {
	c, _ := Preset("data_processing", nil)
	c.AllowHosts = []string{"api.example.com"}
	d := c.Clone()
	if !reflect.DeepEqual(c, d) {
		t.Fatal("clone differs")
	}
	d.AllowCaps[0] = "x"
	d.AllowHosts[0] = "evil.com"
	d.Isolations[0] = Inherit
	if c.AllowCaps[0] == "x" || c.AllowHosts[0] == "evil.com" || c.Isolations[0] == Inherit {
		t.Error("clone shares slices")
	}
	if (*Context)(nil).Clone() != nil {
		t.Error("nil clone")
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Context {
		return &Context{Level: Controlled, Isolations: []Isolation{Isolated}}
	}
	tests := []struct {
		name   string
		mutate func(c *Context)
		errSub string // "" means valid
	}{
		{"base", func(c *Context) {}, ""},
		{"pure zero", func(c *Context) { *c = Context{} }, ""},
		{"limits at max", func(c *Context) {
			c.MaxExecution, c.MaxMemoryBytes, c.MaxActions, c.MaxCost = 24*time.Hour, 64<<30, 10_000_000, 1e9
		}, ""},
		{"bad level", func(c *Context) { c.Level = 7 }, "invalid security level"},
		{"exec too long", func(c *Context) { c.MaxExecution = 25 * time.Hour }, "max execution time"},
		{"exec negative", func(c *Context) { c.MaxExecution = -time.Second }, "negative"},
		{"memory too big", func(c *Context) { c.MaxMemoryBytes = 65 << 30 }, "max memory"},
		{"memory negative", func(c *Context) { c.MaxMemoryBytes = -1 }, "negative"},
		{"actions too many", func(c *Context) { c.MaxActions = 10_000_001 }, "max actions"},
		{"actions negative", func(c *Context) { c.MaxActions = -1 }, "negative"},
		{"cost negative", func(c *Context) { c.MaxCost = -0.5 }, "max cost"},
		{"cost NaN", func(c *Context) { c.MaxCost = math.NaN() }, "finite"},
		{"cost Inf", func(c *Context) { c.MaxCost = math.Inf(1) }, "finite"},
		{"bad cap star", func(c *Context) { c.AllowCaps = []string{"ccos.*.read"} }, ":allow"},
		{"bad cap empty", func(c *Context) { c.AllowCaps = []string{""} }, ":allow"},
		{"bad cap prefix only", func(c *Context) { c.DenyCaps = []string{".*"} }, ":deny"},
		{"bad cap dots", func(c *Context) { c.DenyCaps = []string{"ccos..io"} }, ":deny"},
		{"bad cap space", func(c *Context) { c.AllowCaps = []string{"ccos. echo"} }, ":allow"},
		{"bad expose", func(c *Context) { c.ExposeContextTo = []string{"a*"} }, ":expose-context-to"},
		{"bad host", func(c *Context) { c.AllowHosts = []string{"exa mple.com"} }, ":allow-hosts"},
		{"bad host wildcard", func(c *Context) { c.DenyHosts = []string{"ex*.com"} }, ":deny-hosts"},
		{"bad host port", func(c *Context) { c.AllowHosts = []string{"example.com:99999"} }, ":allow-hosts"},
		{"bad host ipv4", func(c *Context) { c.DenyHosts = []string{"127.1"} }, ":deny-hosts"},
		{"relative read root", func(c *Context) { c.ReadRoots = []string{"data"} }, "not an absolute path"},
		{"empty write root", func(c *Context) { c.WriteRoots = []string{""} }, ":write"},
		{"bad env", func(c *Context) { c.AllowEnv = []string{"A=B"} }, ":env"},
		{"bad isolation", func(c *Context) { c.Isolations = []Isolation{5} }, "invalid isolation"},
		{"no isolation", func(c *Context) { c.Isolations = nil }, "no isolation level"},
		{"full with allow-list", func(c *Context) { c.Level = Full; c.AllowCaps = []string{"ccos.echo"} }, "level full allows every capability"},
		{"full with star", func(c *Context) { c.Level = Full; c.AllowCaps = []string{"*"} }, ""},
		{"file cap at inherit", func(c *Context) {
			c.AllowCaps, c.Isolations = []string{"ccos.io.read-file"}, []Isolation{Inherit}
		}, "requires a sandbox-capable isolation level"},
		{"network cap at inherit", func(c *Context) {
			c.AllowCaps, c.Isolations = []string{"ccos.network.http-fetch"}, []Isolation{Inherit}
		}, "requires a sandbox-capable isolation level"},
		{"ccos.* at inherit", func(c *Context) {
			c.AllowCaps, c.Isolations = []string{"ccos.*"}, []Isolation{Inherit}
		}, "file or network"},
		{"hosts at inherit", func(c *Context) {
			c.AllowHosts, c.Isolations = []string{"example.com"}, []Isolation{Inherit}
		}, "network hosts"},
		{"read roots at inherit", func(c *Context) {
			c.ReadRoots, c.Isolations = []string{"/data"}, []Isolation{Inherit}
		}, "file reads"},
		{"file cap with isolated", func(c *Context) {
			c.AllowCaps, c.Isolations = []string{"ccos.io.read-file"}, []Isolation{Inherit, Isolated}
		}, ""},
		{"console cap at inherit", func(c *Context) {
			c.AllowCaps, c.Isolations = []string{"ccos.io.log", "ccos.echo", "ccos.math.*"}, []Isolation{Inherit}
		}, ""},
		{"full file at inherit", func(c *Context) {
			c.Level, c.AllowCaps, c.Isolations = Full, nil, []Isolation{Inherit}
		}, ""},
	}
	for _, tt := range tests {
		c := ok()
		tt.mutate(c)
		err := c.Validate()
		if tt.errSub == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", tt.name, tt.errSub)
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 {
			t.Errorf("%s: error %T is not a *ValidationError", tt.name, err)
		}
		if !strings.Contains(err.Error(), tt.errSub) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.errSub)
		}
	}
}

func TestNarrow(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	out := filepath.Join(tmp, "out")
	for _, d := range []string{filepath.Join(data, "sub"), filepath.Join(out, "x")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(tmp, filepath.Join(data, "up")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	parent := func() *Context {
		return &Context{Name: "parent", Level: Controlled,
			AllowCaps:       []string{"ccos.io.*", "ccos.echo"},
			DenyCaps:        []string{"ccos.io.delete"},
			AllowHosts:      []string{"*.example.com", "api.other.org:443"},
			DenyHosts:       []string{"bad.example.com"},
			ReadRoots:       []string{data},
			WriteRoots:      []string{out},
			AllowEnv:        []string{"HOME"},
			MaxExecution:    time.Minute,
			MaxMemoryBytes:  1 << 30,
			MaxCost:         10,
			MaxActions:      100,
			Isolations:      []Isolation{Isolated, Sandboxed},
			ExposeContextTo: []string{"ccos.ai.*"},
		}
	}

	// Accepted narrowings.
	good := []struct {
		name  string
		child *Context
		check func(t *testing.T, r *Context)
	}{
		{"identity", parent(), nil},
		{"empty controlled child inherits limits and isolation", &Context{Level: Controlled},
			func(t *testing.T, r *Context) {
				if r.MaxExecution != time.Minute || r.MaxMemoryBytes != 1<<30 || r.MaxCost != 10 || r.MaxActions != 100 {
					t.Errorf("limits not inherited: %+v", r)
				}
				if !slices.Equal(r.Isolations, []Isolation{Isolated, Sandboxed}) {
					t.Errorf("isolations %v", r.Isolations)
				}
				if r.Name != "parent" {
					t.Errorf("name %q", r.Name)
				}
				if !slices.Equal(r.DenyCaps, []string{"ccos.io.delete"}) || !slices.Equal(r.DenyHosts, []string{"bad.example.com"}) {
					t.Errorf("deny lists not inherited: %v %v", r.DenyCaps, r.DenyHosts)
				}
				if r.AllowsCapability("ccos.echo") == nil {
					t.Error("empty child allows ccos.echo")
				}
			}},
		{"pure child", &Context{Level: Pure}, func(t *testing.T, r *Context) {
			if r.AllowsCapability("ccos.echo") == nil {
				t.Error("pure child allows a capability")
			}
		}},
		{"narrower everything", &Context{Name: "child", Level: Controlled,
			AllowCaps:       []string{"ccos.io.read-file", "ccos.io.x.*"},
			DenyCaps:        []string{"ccos.io.x.y"},
			AllowHosts:      []string{"api.example.com:443", "*.cdn.example.com", "api.other.org:443"},
			ReadRoots:       []string{filepath.Join(data, "sub"), filepath.Join(out, "x")},
			WriteRoots:      []string{filepath.Join(out, "x")},
			AllowEnv:        []string{"HOME"},
			MaxExecution:    time.Second,
			MaxMemoryBytes:  1 << 20,
			MaxCost:         1,
			MaxActions:      10,
			Isolations:      []Isolation{Sandboxed},
			ExposeContextTo: []string{"ccos.ai.llm-execute"},
		}, func(t *testing.T, r *Context) {
			if r.Name != "child" || r.MaxExecution != time.Second || r.MaxActions != 10 {
				t.Errorf("child values lost: %+v", r)
			}
			if !slices.Equal(r.DenyCaps, []string{"ccos.io.delete", "ccos.io.x.y"}) {
				t.Errorf("deny union %v", r.DenyCaps)
			}
			if r.AllowsCapability("ccos.io.delete") == nil {
				t.Error("parent deny lost")
			}
		}},
	}
	for _, tt := range good {
		r, err := parent().Narrow(tt.child)
		if err != nil {
			t.Errorf("%s: Narrow: %v", tt.name, err)
			continue
		}
		if tt.check != nil {
			tt.check(t, r)
		}
	}

	// Full parent without host restrictions, full child inherits a restriction.
	fullParent := &Context{Level: Full, AllowHosts: []string{"example.com"}, Isolations: []Isolation{Inherit}}
	r, err := fullParent.Narrow(&Context{Level: Full, Isolations: []Isolation{Inherit}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.AllowHosts, []string{"example.com"}) {
		t.Errorf("full child lost the parent's host restriction: %v", r.AllowHosts)
	}
	if _, err := r.CheckURL("https://evil.com/"); err == nil {
		t.Error("narrowed full context allows evil.com")
	}
	anyParent := &Context{Level: Full, Isolations: []Isolation{Inherit, Isolated}}
	if _, err := anyParent.Narrow(&Context{Level: Controlled, AllowCaps: []string{"*"}, AllowHosts: []string{"*"}, Isolations: []Isolation{Inherit, Isolated}}); err != nil {
		t.Errorf("controlled child of unrestricted full parent: %v", err)
	}

	// Refused widenings.
	bad := []struct {
		field  string
		mutate func(c *Context)
	}{
		{":level", func(c *Context) { c.Level = Full; c.AllowCaps = nil }},
		{":allow", func(c *Context) { c.AllowCaps = append(c.AllowCaps, "ccos.system.execute") }},
		{":allow", func(c *Context) { c.AllowCaps = []string{"ccos.*"} }},
		{":allow", func(c *Context) { c.AllowCaps = []string{"*"} }},
		{":allow", func(c *Context) { c.AllowCaps = []string{"ccos.io"} }},
		{":allow-hosts", func(c *Context) { c.AllowHosts = []string{"example.com"} }},
		{":allow-hosts", func(c *Context) { c.AllowHosts = []string{"*"} }},
		{":allow-hosts", func(c *Context) { c.AllowHosts = []string{"api.other.org"} }},
		{":allow-hosts", func(c *Context) { c.AllowHosts = []string{"api.other.org:80"} }},
		{":allow-hosts", func(c *Context) { c.AllowHosts = []string{"10.0.0.0/8"} }},
		{":read", func(c *Context) { c.ReadRoots = []string{tmp} }},
		{":read", func(c *Context) { c.ReadRoots = []string{data + "/../"} }},
		{":read", func(c *Context) { c.ReadRoots = []string{filepath.Join(data, "up")} }},
		{":read", func(c *Context) { c.ReadRoots = []string{data + "2"} }},
		{":read", func(c *Context) { c.ReadRoots = []string{"*"} }},
		{":write", func(c *Context) { c.WriteRoots = []string{data} }},
		{":write", func(c *Context) { c.WriteRoots = []string{"*"} }},
		{":env", func(c *Context) { c.AllowEnv = []string{"PATH"} }},
		{":env", func(c *Context) { c.AllowEnv = []string{"*"} }},
		{":max-execution-ms", func(c *Context) { c.MaxExecution = time.Hour }},
		{":max-memory-bytes", func(c *Context) { c.MaxMemoryBytes = 2 << 30 }},
		{":max-cost", func(c *Context) { c.MaxCost = 10.5 }},
		{":max-actions", func(c *Context) { c.MaxActions = 101 }},
		{":isolation", func(c *Context) { c.Isolations = []Isolation{Inherit} }},
		{":on-disallowed-isolation", func(c *Context) { c.Downgrade = true }},
		{":expose-context-to", func(c *Context) { c.ExposeContextTo = []string{"*"} }},
		{":expose-context-to", func(c *Context) { c.ExposeContextTo = []string{"ccos.echo"} }},
	}
	for _, tt := range bad {
		child := parent()
		tt.mutate(child)
		r, err := parent().Narrow(child)
		var v *Violation
		if !errors.As(err, &v) || v.Kind != "context" {
			t.Errorf("%s: Narrow = %+v, %v; want a context violation", tt.field, r, err)
			continue
		}
		if r != nil {
			t.Errorf("%s: Narrow returned a context with its violation", tt.field)
		}
		if !strings.Contains(v.Subject, tt.field) {
			t.Errorf("%s: violation %q does not name the field", tt.field, err)
		}
	}

	// Several widenings are all reported.
	child := parent()
	child.MaxActions, child.AllowEnv = 1000, []string{"PATH"}
	_, err = parent().Narrow(child)
	if err == nil || !strings.Contains(err.Error(), ":env") || !strings.Contains(err.Error(), ":max-actions") {
		t.Errorf("multiple widenings: %v", err)
	}

	// Unlimited parent limits accept any child limit; pure parent refuses caps.
	if _, err := (&Context{Level: Controlled, Isolations: []Isolation{Inherit}}).Narrow(
		&Context{Level: Controlled, MaxActions: 5, Isolations: []Isolation{Inherit}}); err != nil {
		t.Errorf("limit under unlimited parent: %v", err)
	}
	if _, err := (&Context{Level: Pure}).Narrow(&Context{Level: Controlled, AllowCaps: []string{"ccos.echo"}, Isolations: []Isolation{Inherit}}); err == nil {
		t.Error("controlled child of pure parent accepted")
	}
	// A narrowing that would be invalid on its own is reported.
	if _, err := (&Context{Level: Controlled, AllowCaps: []string{"ccos.*"}, Isolations: []Isolation{Inherit, Isolated}}).Narrow(
		&Context{Level: Controlled, AllowCaps: []string{"ccos.io.read-file"}, Isolations: []Isolation{Inherit}}); err == nil {
		t.Error("invalid narrowed context accepted")
	}
	if r, err := parent().Narrow(nil); err != nil || !reflect.DeepEqual(r, parent()) {
		t.Errorf("Narrow(nil) = %+v, %v", r, err)
	}
}

func TestValueRoundTrip(t *testing.T) {
	ctxs := []*Context{
		{},
		{Name: "everything", Level: Controlled,
			AllowCaps:       []string{"ccos.io.*", "ccos.echo"},
			DenyCaps:        []string{"ccos.io.delete"},
			AllowHosts:      []string{"*.example.com", "[::1]:8080"},
			DenyHosts:       []string{"bad.example.com"},
			ReadRoots:       []string{"/data"},
			WriteRoots:      []string{"/tmp/out"},
			AllowEnv:        []string{"HOME"},
			MaxExecution:    90 * time.Second,
			MaxMemoryBytes:  1 << 30,
			MaxCost:         2.5,
			MaxActions:      100,
			Isolations:      []Isolation{Isolated, Sandboxed},
			Downgrade:       true,
			ExposeContextTo: []string{"ccos.ai.*"},
		},
	}
	for _, name := range PresetNames() {
		c, err := Preset(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctxs = append(ctxs, c)
	}
	for _, c := range ctxs {
		v := c.ToValue()
		back, err := FromValue(v)
		if err != nil {
			t.Errorf("FromValue(%s): %v", value.Repr(v), err)
			continue
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v\nvia %s", c.Name, back, c, value.Repr(v))
		}
	}

	v := ctxs[1].ToValue()
	repr := value.Repr(v)
	for _, sub := range []string{":level :controlled", ":isolation [:isolated :sandboxed]", ":on-disallowed-isolation :downgrade", ":max-execution-ms 90000"} {
		if !strings.Contains(repr, sub) {
			t.Errorf("ToValue %s lacks %q", repr, sub)
		}
	}

	sub := &Context{Level: Pure, MaxExecution: 1500 * time.Microsecond}
	back, err := FromValue(sub.ToValue())
	if err != nil || back.MaxExecution != 2*time.Millisecond {
		t.Errorf("sub-millisecond limit: %v, %v", back, err)
	}
}

func TestFromValueStrict(t *testing.T) {
	kw := value.Kw
	strs := func(xs ...string) value.Value {
		items := make([]value.Value, len(xs))
		for i, x := range xs {
			items[i] = value.String(x)
		}
		return value.NewVector(items...)
	}
	base := func(kvs ...value.Value) value.Value {
		all := append([]value.Value{kw("level"), kw("controlled"), kw("isolation"), value.NewVector(kw("isolated"))}, kvs...)
		return value.NewMap(all...)
	}
	okCases := []value.Value{
		base(),
		base(kw("allow"), value.NewList(value.String("ccos.echo"))),
		base(kw("level"), value.String("controlled")),
		base(kw("max-cost"), value.Int(3)),
		base(kw("max-cost"), nil),
		value.NewMap(),
	}
	for _, v := range okCases {
		if _, err := FromValue(v); err != nil {
			t.Errorf("FromValue(%s): %v", value.Repr(v), err)
		}
	}
	c, _ := FromValue(base(kw("max-cost"), value.Int(3), kw("name"), value.String("n")))
	if c.MaxCost != 3 || c.Name != "n" || c.Level != Controlled {
		t.Errorf("FromValue fields %+v", c)
	}
	badCases := []value.Value{
		nil,
		value.String("controlled"),
		strs("a"),
		base(kw("allowed"), strs("ccos.echo")),
		base(value.String("allow"), strs("ccos.echo")),
		base(kw("level"), kw("root")),
		base(kw("level"), value.Int(1)),
		base(kw("allow"), value.String("ccos.echo")),
		base(kw("allow"), value.NewVector(kw("ccos.echo"))),
		base(kw("allow"), strs("bad*pattern")),
		base(kw("isolation"), value.NewVector(kw("microvm"))),
		base(kw("isolation"), value.NewVector()),
		base(kw("max-execution-ms"), value.Int(-1)),
		base(kw("max-execution-ms"), value.Int(math.MaxInt64)),
		base(kw("max-execution-ms"), value.Float(10)),
		base(kw("max-memory-bytes"), value.Int(128<<30)),
		base(kw("max-actions"), value.Int(math.MaxInt64)),
		base(kw("max-cost"), value.Float(-1)),
		base(kw("max-cost"), value.Float(math.NaN())),
		base(kw("max-cost"), value.String("1")),
		base(kw("on-disallowed-isolation"), kw("maybe")),
		base(kw("read"), strs("relative/root")),
		base(kw("name"), kw("n")),
		base(kw("allow"), strs("ccos.io.read-file"), kw("isolation"), value.NewVector(kw("inherit"))),
	}
	for _, v := range badCases {
		if c, err := FromValue(v); err == nil {
			t.Errorf("FromValue(%s) = %+v, want error", value.Repr(v), c)
		}
	}
	_, err := FromValue(base(kw("allowed"), strs("x")))
	if err == nil || !strings.Contains(err.Error(), ":allowed") {
		t.Errorf("unknown key error does not name the key: %v", err)
	}
}

package security

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

var presetNames = []string{
	"pure",
	"controlled",
	"full",
	"user_code",
	"system_management",
	"data_processing",
	"agent_coordination",
	"file_operations",
}

// PresetNames returns the names of the presets Preset knows, in the
// original design's order.
func PresetNames() []string { return slices.Clone(presetNames) }

// Preset returns a fresh, validated runtime context built from a named
// preset of the original design. caps extends the preset's capability
// allow-list; it is the whole allow-list for "controlled", is ignored by
// "full" (which allows everything already), and must be empty for "pure".
// Presets that touch files or the network come without roots or hosts: the
// caller adds ReadRoots, WriteRoots and AllowHosts afterwards (and should
// call Validate again).
//
// The presets (limits are wall time, memory, capability calls):
//
//   - pure: no capabilities, no files, hosts or environment; steps run at
//     the inherit isolation level only; 1 min, 256 MiB.
//   - controlled: the caps allow-list; every isolation level; 5 min,
//     512 MiB, 1000 actions.
//   - full: every capability, host, path and environment variable; every
//     isolation level; no limits. For trusted code only.
//   - user_code: untrusted user code. Controlled with pure capabilities only
//     (ccos.echo, ccos.math.*, ccos.data.*, ccos.io.log); every step runs
//     sandboxed; 2 min, 256 MiB, 1000 actions.
//   - system_management: controlled with ccos.system.*, ccos.io.*,
//     ccos.data.*, ccos.echo; a few innocuous environment variables
//     (HOME, LANG, PATH, TZ, USER); isolated or sandboxed only; 10 min,
//     1 GiB, 1000 actions.
//   - data_processing: controlled with ccos.data.*, ccos.math.*, ccos.echo,
//     ccos.io.log, ccos.io.read-file, ccos.network.http-fetch,
//     ccos.ai.llm-execute, ccos.ask-human; isolated or sandboxed only;
//     30 min, 2 GiB, 10000 actions.
//   - agent_coordination: controlled with ccos.ask-human, ccos.ai.*,
//     ccos.agent.*, ccos.data.*, ccos.echo, ccos.io.log; every isolation
//     level; ccos.ai.* and ccos.agent.* may receive the read-only context
//     snapshot; 30 min, 512 MiB, 1000 actions.
//   - file_operations: controlled with ccos.io.*; isolated or sandboxed
//     only; read and write roots are given by the caller; 10 min, 512 MiB,
//     10000 actions.
func Preset(name string, caps []string) (*Context, error) {
	all := []Isolation{Inherit, Isolated, Sandboxed}
	confined := []Isolation{Isolated, Sandboxed}
	var c *Context
	switch name {
	case "pure":
		if len(caps) > 0 {
			return nil, fmt.Errorf("security preset pure allows no capabilities, got %q", caps)
		}
		c = &Context{Level: Pure, Isolations: []Isolation{Inherit},
			MaxExecution: time.Minute, MaxMemoryBytes: 256 * mib}
	case "controlled":
		c = &Context{Level: Controlled, Isolations: all,
			MaxExecution: 5 * time.Minute, MaxMemoryBytes: 512 * mib, MaxActions: 1_000_000}
	case "full":
		c = &Context{Level: Full, AllowCaps: []string{"*"},
			ReadRoots: []string{"*"}, WriteRoots: []string{"*"}, AllowEnv: []string{"*"},
			Isolations: all}
		caps = nil
	case "user_code":
		c = &Context{Level: Controlled,
			AllowCaps:    []string{"ccos.echo", "ccos.math.*", "ccos.data.*", "ccos.io.log"},
			Isolations:   []Isolation{Sandboxed},
			MaxExecution: 2 * time.Minute, MaxMemoryBytes: 256 * mib, MaxActions: 100_000}
	case "system_management":
		c = &Context{Level: Controlled,
			AllowCaps:    []string{"ccos.system.*", "ccos.io.*", "ccos.data.*", "ccos.echo"},
			AllowEnv:     []string{"HOME", "LANG", "PATH", "TZ", "USER"},
			Isolations:   confined,
			MaxExecution: 10 * time.Minute, MaxMemoryBytes: gib, MaxActions: 1_000_000}
	case "data_processing":
		c = &Context{Level: Controlled,
			AllowCaps: []string{"ccos.data.*", "ccos.math.*", "ccos.echo", "ccos.io.log",
				"ccos.io.read-file", "ccos.network.http-fetch", "ccos.ai.llm-execute", "ccos.ask-human"},
			Isolations:   confined,
			MaxExecution: 30 * time.Minute, MaxMemoryBytes: 2 * gib, MaxActions: 1_000_000}
	case "agent_coordination":
		c = &Context{Level: Controlled,
			AllowCaps: []string{"ccos.ask-human", "ccos.ai.*", "ccos.agent.*", "ccos.data.*",
				"ccos.echo", "ccos.io.log"},
			Isolations:      all,
			ExposeContextTo: []string{"ccos.ai.*", "ccos.agent.*"},
			MaxExecution:    30 * time.Minute, MaxMemoryBytes: 512 * mib, MaxActions: 1_000_000}
	case "file_operations":
		c = &Context{Level: Controlled,
			AllowCaps:    []string{"ccos.io.*"},
			Isolations:   confined,
			MaxExecution: 10 * time.Minute, MaxMemoryBytes: 512 * mib, MaxActions: 1_000_000}
	default:
		return nil, fmt.Errorf("unknown security preset %q (known: %s)", name, strings.Join(presetNames, ", "))
	}
	c.Name = name
	for _, p := range caps {
		if !slices.Contains(c.AllowCaps, p) {
			c.AllowCaps = append(c.AllowCaps, p)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("security preset %s: %w", name, err)
	}
	return c, nil
}

// Package security holds the runtime context of a run (what it may do at
// all), its presets and narrowing rules, and the authorizer primitives that
// check a capability call's real targets against it: capability id
// patterns, URLs parsed into canonical hosts, and paths canonicalised with
// symlinks resolved before any prefix check.
package security

import (
	"fmt"
	"time"
)

// Level is a runtime context's security level.
type Level int

const (
	// Pure allows no capability at all.
	Pure Level = iota
	// Controlled allows the capabilities on the allow-list.
	Controlled
	// Full allows every capability (deny patterns still apply).
	Full
)

// Isolation is a step's isolation level.
type Isolation int

const (
	// Inherit runs in the orchestrator's process.
	Inherit Isolation = iota
	// Isolated runs in a sandbox with the profile's fs/network policy.
	Isolated
	// Sandboxed adds a syscall filter and a read-only root.
	Sandboxed
)

// Context is the runtime context of a run: the outer bound on what any of
// its steps may do. A zero Context is Pure with no limits set.
type Context struct {
	Name  string // preset or user-given name, for display
	Level Level
	// AllowCaps and DenyCaps hold exact capability ids, "prefix.*"
	// patterns, or "*". Deny wins.
	AllowCaps, DenyCaps []string
	// AllowHosts and DenyHosts hold host patterns: "example.com",
	// "example.com:443", "*.example.com", an IP literal, "*". An empty
	// AllowHosts with Level Full allows every host; with Controlled it
	// allows none. Deny wins.
	AllowHosts, DenyHosts []string
	// ReadRoots and WriteRoots are canonical absolute directories (or
	// files); a write root is also readable. "*" means anywhere.
	ReadRoots, WriteRoots []string
	// AllowEnv lists environment variable names that may be read; "*"
	// means all.
	AllowEnv []string

	MaxExecution   time.Duration // 0: no limit set
	MaxMemoryBytes int64
	MaxCost        float64
	MaxActions     int

	// Isolations lists the isolation levels steps may run at.
	Isolations []Isolation
	// Downgrade opts in to downgrading a step whose derived isolation
	// level is not allowed (sandboxed → isolated → inherit) instead of
	// refusing it.
	Downgrade bool
	// ExposeContextTo lists capability patterns that may receive a
	// read-only snapshot of the plan/intent/step ids.
	ExposeContextTo []string
}

// Violation is a denial by the authorizer. The orchestrator turns it into
// an RTFS :security-error and a SecurityViolation record.
type Violation struct {
	// Kind is one of "capability", "host", "read", "write", "env",
	// "isolation", "limit", "context".
	Kind    string
	Subject string // the capability id, URL, path, variable ...
	Reason  string
}

// Error returns "<kind> <subject> denied: <reason>".
func (v *Violation) Error() string {
	return fmt.Sprintf("%s %s denied: %s", v.Kind, v.Subject, v.Reason)
}

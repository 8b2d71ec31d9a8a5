// Package profile derives a step's security profile from what the step can
// call: the declared effects of the capabilities it names (found
// statically, never by matching substrings of names), narrowed by literal
// arguments and clamped to the run's security context.
package profile

import (
	"time"

	"github.com/ccos-go/ccos/ccos/security"
)

// NetworkKind is the shape of a network policy.
type NetworkKind int

const (
	NetDenied NetworkKind = iota
	NetAllowList
	NetDenyList
	NetFull
)

// NetworkPolicy says which hosts a step may reach. Hosts are host
// patterns as security.MatchHost reads them ("host", "host:port",
// "*.suffix", IP literals, "*"); entries derived from literal URLs carry
// the URL's explicit or default port ("api.example.com:443").
type NetworkPolicy struct {
	Kind  NetworkKind
	Hosts []string // the allow-list or deny-list, sorted
}

// FSKind is the shape of a filesystem policy.
type FSKind int

const (
	FSNone FSKind = iota
	FSReadOnly
	FSReadWrite
	FSFull
)

// FSPolicy says which paths a step may read and write. Roots are
// canonical (security.CanonicalPath) or "*" for any path; FSFull has Read
// and Write ["*"].
type FSPolicy struct {
	Kind  FSKind
	Read  []string // readable roots, sorted (write roots are readable too)
	Write []string // writable roots, sorted
}

// MicroVMConfig is the sandbox configuration of a step (the original
// design's name): what a sandbox provider must enforce.
type MicroVMConfig struct {
	Timeout       time.Duration
	MemoryLimitMB int64
	CPULimit      float64
	Network       NetworkPolicy
	FS            FSPolicy
	EnvVars       []string // variables passed into the sandbox
}

// ResourceLimits are the step's limits.
type ResourceLimits struct {
	MaxExecutionTime    time.Duration
	MaxMemoryBytes      int64
	MaxCPUUsage         float64 // CPUs
	MaxIOOps            int64   // 0: unlimited
	MaxNetworkBandwidth int64   // bytes/s; 0: unlimited
}

// SecurityFlags are the enforcement switches of a profile.
type SecurityFlags struct {
	SyscallFilter    bool
	NetworkACL       bool
	FSACL            bool
	MemoryProtection bool
	CPUMonitoring    bool
	LogSyscalls      bool
	ReadOnlyFS       bool
}

// StepProfile is a step's derived security profile.
type StepProfile struct {
	ProfileID     string // "sp-" + first 16 hex digits of Hash
	StepName      string
	Isolation     security.Isolation
	MicroVM       MicroVMConfig
	Deterministic bool
	Limits        ResourceLimits
	Flags         SecurityFlags
	// Capabilities are the capability ids the step may call, sorted.
	Capabilities []string
	// Unknown is set when the step calls a capability whose id is not a
	// literal: it gets the strictest profile and may call nothing.
	Unknown bool
	// Downgraded records "sandboxed->isolated" etc. when the context
	// opted in to downgrading a disallowed isolation level.
	Downgraded string
	// Hash is the SHA-256 of the profile's canonical encoding.
	Hash string
}

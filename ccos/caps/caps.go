// Package caps is the capability marketplace: manifests with schemas and
// declared effects, the registry the orchestrator looks capabilities up
// in, and the providers that execute them (local Go functions, HTTP
// endpoints, external programs; WebAssembly modules are described here
// and run by the wasm sandbox provider).
package caps

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Effects is what a capability may do, as its manifest declares. The
// profile derivation unions the effects of a step's capabilities; the
// authorizer checks each call's actual Targets against them.
type Effects struct {
	// Network lists host patterns ("api.example.com:443",
	// "*.example.org", "*" for any host the arguments name).
	Network []string
	// FSRead and FSWrite list path roots ("*" for any path the
	// arguments name).
	FSRead, FSWrite []string
	Exec            bool     // runs external programs
	Env             []string // environment variables read ("*" any)
	Clock           bool     // reads time or sleeps
	Human           bool     // asks a human
	// Deterministic: same arguments, same result. Idempotent: running
	// it twice has the effect of running it once (resume may re-run an
	// interrupted call).
	Deterministic bool
	Idempotent    bool
}

// Pure reports whether the effects touch nothing outside the process.
func (e *Effects) Pure() bool {
	return len(e.Network) == 0 && len(e.FSRead) == 0 && len(e.FSWrite) == 0 &&
		!e.Exec && len(e.Env) == 0 && !e.Clock && !e.Human
}

// Hints are resource hints for profile derivation.
type Hints struct {
	ComputeHeavy bool
	Download     bool // moves large payloads over the network
	// Cost is charged against a plan's :max-cost policy per call.
	Cost float64
}

// Provenance says where a capability came from.
type Provenance struct {
	Source       string // "builtin" or the manifest file path
	ContentHash  string // sha256 of the manifest file (or artifact)
	RegisteredAt time.Time
}

// Manifest describes a capability.
type Manifest struct {
	ID          string
	Version     string
	Description string
	Provider    string // "local", "http", "program", "wasm"
	// Input is checked against the vector of positional arguments,
	// Output against the result; nil means unchecked.
	Input, Output *types.Type
	Effects       Effects
	Hints         Hints
	Tags          []string
	Provenance    Provenance

	HTTP    *HTTPConfig    // Provider "http"
	Program *ProgramConfig // Provider "program"
	WASM    *WASMConfig    // Provider "wasm"
}

// HTTPConfig configures an http capability: the call's first argument, a
// map, becomes the JSON body (or query for GET, HEAD, DELETE and
// OPTIONS). See NewFromManifest for the full calling convention.
type HTTPConfig struct {
	URL     string            // absolute http or https URL
	Method  string            // "" means GET
	Headers map[string]string // sent with every request
	Timeout time.Duration     // 0 means DefaultHTTPTimeout
	// Output selects how the response body is decoded: HTTPOutputAuto
	// (""), HTTPOutputJSON ("json") or HTTPOutputText ("text").
	Output string
}

// ProgramConfig configures a program capability: Path run with Args
// followed by the call's string arguments. See NewFromManifest for the
// full calling convention.
type ProgramConfig struct {
	Path    string        // clean absolute path of the executable
	Args    []string      // fixed leading arguments
	Timeout time.Duration // 0 means DefaultProgramTimeout
}

// Targets are the concrete things one call touches, computed from its
// arguments: the authorizer checks them against the runtime context and
// the step profile, and profile derivation uses them to narrow effects
// when the arguments are literals.
type Targets struct {
	URLs     []string // absolute URLs
	Reads    []string // paths read
	Writes   []string // paths written
	Env      []string // variables read
	Programs []string // programs executed
}

// Env is what a call may use from the run that makes it.
type Env struct {
	// Out receives ccos.io.print/println/log output.
	Out io.Writer
	// Human answers ccos.ask-human; nil means no human is reachable.
	Human Human
	// Files is the run's table of open file handles.
	Files *Files
	// Getenv reads the process environment (os.Getenv in production).
	Getenv func(string) string
	// LLM configures ccos.ai.llm-execute; nil means none is configured.
	LLM *LLMConfig
	// HTTP is the client for network capabilities (nil: a default
	// client with no proxy from the environment).
	HTTP *http.Client
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// ProgramEnv is added to the environment of the programs a call
	// runs: inside a sandbox, the proxy variables (HTTP_PROXY=...) that
	// lead to the egress proxy.
	ProgramEnv []string
}

// Human asks a person a question.
type Human interface {
	Ask(ctx context.Context, prompt string) (string, error)
}

// LLMConfig points at an OpenAI-compatible chat-completions API.
type LLMConfig struct {
	BaseURL, Model, APIKey string
}

// Func is a local capability's implementation.
type Func func(ctx context.Context, env *Env, args []value.Value) (value.Value, error)

// Capability is a registered capability: its manifest and how to run it.
type Capability struct {
	Manifest
	// Run executes a call with validated arguments.
	Run Func
	// TargetsOf computes the call's Targets from its arguments; nil
	// means the call touches exactly what the manifest declares.
	TargetsOf func(args []value.Value) (Targets, error)
}

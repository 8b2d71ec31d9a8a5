package caps

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Builtin manifest constants.
const (
	builtinVersion  = "1.0.0"
	builtinProvider = "local"
	builtinSource   = "builtin"
)

// Size limits of the built-in capabilities.
const (
	// MaxReadFileBytes caps ccos.io.read-file and one ccos.io.read-line.
	MaxReadFileBytes = 64 << 20
	// MaxFetchBodyBytes caps the response body of ccos.network.http-fetch
	// and ccos.ai.llm-execute.
	MaxFetchBodyBytes = 16 << 20
	// MaxExecuteOutputBytes caps each of stdout and stderr captured by
	// ccos.system.execute; longer output is truncated and the result
	// carries :truncated true.
	MaxExecuteOutputBytes = 16 << 20
	// MaxOpenFiles caps the handles one run's Files table holds at once.
	MaxOpenFiles = 256
)

// Builtins returns fresh Capability values for every built-in capability
// of CCOS.md §4, in a stable order. Callers may modify the returned values
// (e.g. set Provenance.RegisteredAt) without affecting later calls.
//
// Each one declares its effects honestly:
//   - pure (no effects, deterministic, idempotent): ccos.echo,
//     ccos.math.add, ccos.data.parse-json, ccos.data.serialize-json;
//   - log output only (no effects, deterministic, not idempotent since a
//     second call prints again): ccos.io.log, ccos.io.print,
//     ccos.io.println;
//   - file system: ccos.io.file-exists, ccos.io.read-file,
//     ccos.io.write-file and the handle family ccos.io.open-file,
//     read-line, write-line, close-file (FSRead/FSWrite ["*"]: any path
//     the arguments name);
//   - network: ccos.network.http-fetch and ccos.ai.llm-execute
//     (Network ["*"]);
//   - environment, clock, programs and people: ccos.system.get-env,
//     ccos.system.current-time, ccos.system.current-timestamp-ms,
//     ccos.system.sleep, ccos.system.execute, ccos.ask-human.
//
// The capabilities do not check security themselves: the orchestrator
// authorises the Targets computed by TargetsOf before calling Run. Run
// still checks its arguments defensively (never panicking on any
// arguments) although the Input schema rejects ill-typed calls first.
func Builtins() []*Capability {
	return []*Capability{
		echoCap(),
		mathAddCap(),
		printCap("ccos.io.log", "writes its arguments, separated by spaces, as one log line to the run's output", true),
		printCap("ccos.io.print", "writes its arguments, separated by spaces, to the run's output without a newline", false),
		printCap("ccos.io.println", "writes its arguments, separated by spaces, to the run's output followed by a newline", true),
		fileExistsCap(),
		readFileCap(),
		writeFileCap(),
		openFileCap(),
		readLineCap(),
		writeLineCap(),
		closeFileCap(),
		httpFetchCap(),
		parseJSONCap(),
		serializeJSONCap(),
		getEnvCap(),
		currentTimeCap(),
		currentTimestampMsCap(),
		sleepCap(),
		executeCap(),
		askHumanCap(),
		llmExecuteCap(),
	}
}

// newBuiltin returns a capability with the common manifest fields set.
func newBuiltin(id, desc, input, output string, eff Effects, tags ...string) *Capability {
	return &Capability{Manifest: Manifest{
		ID:          id,
		Version:     builtinVersion,
		Description: desc,
		Provider:    builtinProvider,
		Input:       types.MustParse(input),
		Output:      types.MustParse(output),
		Effects:     eff,
		Tags:        tags,
		Provenance:  Provenance{Source: builtinSource},
	}}
}

// biStar returns a fresh ["*"], the Effects pattern for "any target the
// arguments name".
func biStar() []string { return []string{"*"} }

// biEnv returns env, or an empty Env when env is nil.
func biEnv(env *Env) *Env {
	if env == nil {
		return &Env{}
	}
	return env
}

// biArity checks the number of arguments.
func biArity(id string, args []value.Value, lo, hi int) error {
	if len(args) < lo || (hi >= 0 && len(args) > hi) {
		switch {
		case lo == hi:
			return value.Errorf(value.ErrArity, "%s takes %d argument(s), got %d", id, lo, len(args))
		case hi < 0:
			return value.Errorf(value.ErrArity, "%s takes at least %d argument(s), got %d", id, lo, len(args))
		default:
			return value.Errorf(value.ErrArity, "%s takes %d to %d arguments, got %d", id, lo, hi, len(args))
		}
	}
	return nil
}

// biTypeErr reports an argument of the wrong type.
func biTypeErr(id, what string, got value.Value) error {
	return value.Errorf(value.ErrType, "%s: expected %s, got %s", id, what, value.TypeName(got))
}

// biString returns args[i] as a Go string.
func biString(id string, args []value.Value, i int, what string) (string, error) {
	if i >= len(args) {
		return "", value.Errorf(value.ErrArity, "%s: missing %s", id, what)
	}
	s, ok := args[i].(value.String)
	if !ok {
		return "", biTypeErr(id, what+" (a string)", args[i])
	}
	return string(s), nil
}

// biOpts returns the optional options map at args[i]: nil when absent or
// nil, an error when it is not a map.
func biOpts(id string, args []value.Value, i int) (*value.Map, error) {
	if i >= len(args) || args[i] == nil {
		return nil, nil
	}
	m, ok := args[i].(*value.Map)
	if !ok {
		return nil, biTypeErr(id, "an options map", args[i])
	}
	return m, nil
}

// biOpt returns opts[:key] (nil when opts is nil or the key is absent).
func biOpt(opts *value.Map, key string) value.Value {
	if opts == nil {
		return nil
	}
	v, _ := opts.Get(value.Keyword(key))
	return v
}

// biOptMs returns the positive :timeout-ms style option in milliseconds,
// or 0 when absent.
func biOptMs(id string, opts *value.Map, key string) (int64, error) {
	v := biOpt(opts, key)
	if v == nil {
		return 0, nil
	}
	n, ok := v.(value.Int)
	if !ok || n <= 0 {
		return 0, value.Errorf(value.ErrType, "%s: :%s must be a positive integer (milliseconds), got %s", id, key, value.Repr(v))
	}
	return int64(n), nil
}

// biName returns a map key or option naming something (a header, an
// environment variable) as a string: strings and keywords are accepted.
func biName(v value.Value) (string, bool) {
	switch x := v.(type) {
	case value.String:
		return string(x), true
	case value.Keyword:
		return string(x), true
	}
	return "", false
}

// biIOErr wraps a Go I/O error as an :io-error.
func biIOErr(id string, err error) error {
	var ve *value.Error
	if errors.As(err, &ve) {
		return ve
	}
	return &value.Error{Type: value.ErrIO, Message: id + ": " + err.Error(), Cause: err}
}

// biCtxErr reports a call stopped by its context: a deadline is a
// :timeout, a cancellation a :timeout "cancelled" wrapping
// context.Canceled (the evaluator's convention).
func biCtxErr(id string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &value.Error{Type: value.ErrTimeout, Message: id + ": timed out", Cause: context.DeadlineExceeded}
	}
	return &value.Error{Type: value.ErrTimeout, Message: id + ": cancelled", Cause: err}
}

// biLimitErr reports a payload over a size limit.
func biLimitErr(id, what string, limit int64) error {
	return value.Errorf(value.ErrLimit, "%s: %s exceeds %s", id, what, biSize(limit))
}

func biSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// biGetenv returns env.Getenv, falling back to os.Getenv.
func biGetenv(env *Env) func(string) string {
	if env.Getenv != nil {
		return env.Getenv
	}
	return os.Getenv
}

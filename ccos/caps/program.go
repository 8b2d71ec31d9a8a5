package caps

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// DefaultProgramTimeout is the timeout of a program capability call whose
// manifest sets none.
const DefaultProgramTimeout = 60 * time.Second

// programPATH is the whole environment of a program capability.
const programPATH = "PATH=/usr/bin:/bin"

// maxProgramOutput caps each of stdout and stderr kept from a program; a
// variable so tests can lower it.
var maxProgramOutput = 16 << 20

// programWaitDelay bounds how long a call waits for the output pipes after
// the program exited or was killed (a background child may hold them).
const programWaitDelay = 2 * time.Second

// programProvider returns Run and TargetsOf of a program capability.
//
// Calling convention: the program runs as Path, then the configured Args,
// then one argument per call argument: strings as they are, integers and
// floats as printed, keywords and symbols by name (as in JSON); other
// values are a :type-error. A trailing map argument is options instead:
// {:stdin "text"} feeds the program's standard input (otherwise it reads
// an empty input).
//
// The program runs with an empty environment except PATH=/usr/bin:/bin,
// in its own process group, in the current directory. The result is
// {:exit N :stdout "..." :stderr "..."} whatever the exit status (a
// program killed by signal S exits 128+S); each stream is kept up to
// 16 MiB, and the result then carries :truncated true. When the
// configured timeout (DefaultProgramTimeout if none) expires or ctx is
// done, the whole process group is killed and the call fails with a
// :timeout error whose Data holds the partial {:stdout :stderr}. A
// program that cannot be started is a :capability-error.
func programProvider(id string, cfg *ProgramConfig) (Func, func([]value.Value) (Targets, error)) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultProgramTimeout
	}
	run := func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		argv, stdin, err := programArgs(id, args)
		if err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(cctx, cfg.Path, append(append([]string(nil), cfg.Args...), argv...)...)
		cmd.Env = append([]string{programPATH}, env.ProgramEnv...)
		progSetGroup(cmd)
		cmd.WaitDelay = programWaitDelay
		if stdin != nil {
			cmd.Stdin = strings.NewReader(*stdin)
		}
		stdout := &progOutput{max: maxProgramOutput}
		stderr := &progOutput{max: maxProgramOutput}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		err = cmd.Run()
		if cmd.ProcessState == nil {
			return nil, &value.Error{Type: value.ErrCapability,
				Message: fmt.Sprintf("capability %s: cannot run %s: %v", id, cfg.Path, err), Cause: err}
		}
		if errors.Is(err, exec.ErrWaitDelay) {
			// The program exited but left children holding its output
			// open; its process group still exists, so kill them.
			progKillGroup(cmd)
		}
		if err != nil && cctx.Err() != nil {
			return nil, (&value.Error{Type: value.ErrTimeout,
				Message: fmt.Sprintf("capability %s: %s %s", id, cfg.Path, provTimeoutWord(ctx, timeout)), Cause: cctx.Err()}).
				WithData(value.NewMap(
					value.Keyword("stdout"), value.String(stdout.String()),
					value.Keyword("stderr"), value.String(stderr.String())))
		}
		exit := progExitCode(cmd.ProcessState)
		kvs := []value.Value{
			value.Keyword("exit"), value.Int(exit),
			value.Keyword("stdout"), value.String(stdout.String()),
			value.Keyword("stderr"), value.String(stderr.String()),
		}
		if stdout.truncated || stderr.truncated {
			kvs = append(kvs, value.Keyword("truncated"), value.True)
		}
		return value.NewMap(kvs...), nil
	}
	targets := func([]value.Value) (Targets, error) {
		return Targets{Programs: []string{cfg.Path}}, nil
	}
	return run, targets
}

// programArgs converts call arguments to program arguments and the
// optional trailing {:stdin "..."} options map.
func programArgs(id string, args []value.Value) (argv []string, stdin *string, err error) {
	if n := len(args); n > 0 {
		if opts, ok := args[n-1].(*value.Map); ok {
			args = args[:n-1]
			var bad error
			opts.Range(func(k, v value.Value) bool {
				if k != value.Keyword("stdin") {
					bad = value.NewError(value.ErrType, "capability %s: unknown option %s (allowed: :stdin)", id, value.Repr(k))
					return false
				}
				s, ok := v.(value.String)
				if !ok {
					bad = value.NewError(value.ErrType, "capability %s: :stdin must be a string, got %s", id, value.TypeName(v))
					return false
				}
				str := string(s)
				stdin = &str
				return true
			})
			if bad != nil {
				return nil, nil, bad
			}
		}
	}
	argv = make([]string, 0, len(args))
	for i, a := range args {
		var s string
		switch x := a.(type) {
		case value.String:
			s = string(x)
		case value.Keyword:
			s = string(x)
		case value.Symbol:
			s = string(x)
		case value.Int, value.Float:
			s = value.Repr(x)
		default:
			return nil, nil, value.NewError(value.ErrType,
				"capability %s: argument %d must be a string, number or keyword, got %s", id, i+1, value.TypeName(a))
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, nil, value.NewError(value.ErrType, "capability %s: argument %d contains a NUL byte", id, i+1)
		}
		argv = append(argv, s)
	}
	return argv, stdin, nil
}

// progOutput keeps the first max bytes written to it and discards the rest.
type progOutput struct {
	b         strings.Builder
	max       int
	truncated bool
}

func (w *progOutput) Write(p []byte) (int, error) {
	n := len(p)
	if room := w.max - w.b.Len(); room < len(p) {
		w.truncated = true
		p = p[:max(room, 0)]
	}
	w.b.Write(p)
	return n, nil
}

// String returns the kept output, with invalid UTF-8 (including a
// sequence cut by truncation) replaced by U+FFFD.
func (w *progOutput) String() string { return strings.ToValidUTF8(w.b.String(), "\uFFFD") }

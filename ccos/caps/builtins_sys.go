package caps

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// getEnvCap is ccos.system.get-env: name → string, or nil when the
// variable is unset or empty. It reads through env.Getenv (os.Getenv when
// nil).
func getEnvCap() *Capability {
	const id = "ccos.system.get-env"
	c := newBuiltin(id, "returns the value of an environment variable, or nil when it is unset or empty",
		"[:tuple :string]", ":string?", Effects{Env: biStar(), Idempotent: true}, "system", "env")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		name, err := biString(id, args, 0, "the variable name")
		if err != nil {
			return nil, err
		}
		if v := biGetenv(biEnv(env))(name); v != "" {
			return value.String(v), nil
		}
		return nil, nil
	}
	c.TargetsOf = func(args []value.Value) (Targets, error) {
		name, err := biString(id, args, 0, "the variable name")
		if err != nil {
			return Targets{}, err
		}
		return Targets{Env: []string{name}}, nil
	}
	return c
}

// biNow returns env.Now(), or time.Now() when it is nil.
func biNow(env *Env) time.Time {
	if env.Now != nil {
		return env.Now()
	}
	return time.Now()
}

// currentTimeCap is ccos.system.current-time: → the current time as an
// RFC 3339 UTC string with milliseconds, e.g. "2025-01-02T03:04:05.678Z".
func currentTimeCap() *Capability {
	const id = "ccos.system.current-time"
	c := newBuiltin(id, "returns the current time as an RFC 3339 UTC string with milliseconds",
		"[:tuple]", ":string", Effects{Clock: true, Idempotent: true}, "system", "time")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 0, 0); err != nil {
			return nil, err
		}
		return value.String(biNow(biEnv(env)).UTC().Format("2006-01-02T15:04:05.000Z")), nil
	}
	return c
}

// currentTimestampMsCap is ccos.system.current-timestamp-ms: → the
// current Unix time in milliseconds.
func currentTimestampMsCap() *Capability {
	const id = "ccos.system.current-timestamp-ms"
	c := newBuiltin(id, "returns the current Unix time in milliseconds",
		"[:tuple]", ":int", Effects{Clock: true, Idempotent: true}, "system", "time")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 0, 0); err != nil {
			return nil, err
		}
		return value.Int(biNow(biEnv(env)).UnixMilli()), nil
	}
	return c
}

// sleepCap is ccos.system.sleep: ms → nil. It returns early with a
// :timeout error when the call's context ends.
func sleepCap() *Capability {
	const id = "ccos.system.sleep"
	c := newBuiltin(id, "waits the given number of milliseconds",
		"[:tuple [:and :int [:>= 0]]]", ":nil", Effects{Clock: true, Deterministic: true, Idempotent: true}, "system", "time")
	c.Run = func(ctx context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		n, ok := args[0].(value.Int)
		if !ok || n < 0 {
			return nil, value.Errorf(value.ErrType, "%s: expected a non-negative number of milliseconds, got %s", id, value.Repr(args[0]))
		}
		if ctx == nil {
			ctx = context.Background()
		}
		if err := ctx.Err(); err != nil {
			return nil, biCtxErr(id, err)
		}
		d := time.Duration(n) * time.Millisecond
		if int64(n) > int64(1<<63-1)/int64(time.Millisecond) {
			d = 1<<63 - 1
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, biCtxErr(id, ctx.Err())
		}
	}
	return c
}

const biExecuteOpts = "[:map [:stdin :string {:optional true}] [:timeout-ms :int {:optional true}] " +
	"[:env [:map-of [:union :string :keyword] :string] {:optional true}]]"

// biExecuteArgs splits the arguments of ccos.system.execute into the
// program, its arguments and the options.
func biExecuteArgs(args []value.Value) (prog string, argv []string, opts *value.Map, err error) {
	const id = "ccos.system.execute"
	if len(args) == 0 {
		return "", nil, nil, value.Errorf(value.ErrArity, "%s: missing the program", id)
	}
	prog, err = biString(id, args, 0, "the program")
	if err != nil {
		return "", nil, nil, err
	}
	if prog == "" {
		return "", nil, nil, value.Errorf(value.ErrType, "%s: the program is an empty string", id)
	}
	rest := args[1:]
	if n := len(rest); n > 0 {
		if m, ok := rest[n-1].(*value.Map); ok {
			opts, rest = m, rest[:n-1]
		}
	}
	for i, a := range rest {
		s, ok := a.(value.String)
		if !ok {
			return "", nil, nil, value.Errorf(value.ErrType, "%s: argument %d must be a string (only the last argument may be an options map), got %s", id, i+1, value.TypeName(a))
		}
		argv = append(argv, string(s))
	}
	return prog, argv, opts, nil
}

// executeCap is ccos.system.execute: program arg... opts{:stdin
// :timeout-ms :env} → {:exit N :stdout "..." :stderr "..."}.
//
// The program runs directly (no shell) in its own process group with an
// environment holding only PATH (the orchestrator's) plus opts :env.
// :stdin is fed to it (default: empty). When :timeout-ms passes or the
// call's context ends, the whole process group is killed and the call
// fails with :timeout (its :data holds the output so far). A non-zero
// exit status is a result, not an error; a program killed by a signal
// exits with -1. Output over 16 MiB per stream is truncated and the
// result then carries :truncated true. Failing to start the program is
// an :io-error.
func executeCap() *Capability {
	const id = "ccos.system.execute"
	c := newBuiltin(id, "runs a program with arguments (no shell) and returns {:exit :stdout :stderr}",
		"[:and [:vector [:union :string "+biExecuteOpts+"]] [:min-count 1]]",
		"[:map [:exit :int] [:stdout :string] [:stderr :string]]",
		Effects{Exec: true}, "system", "exec")
	c.Run = func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		prog, argv, opts, err := biExecuteArgs(args)
		if err != nil {
			return nil, err
		}
		environ := []string{}
		if p, ok := os.LookupEnv("PATH"); ok {
			environ = append(environ, "PATH="+p)
		}
		if ev := biOpt(opts, "env"); ev != nil {
			em, ok := ev.(*value.Map)
			if !ok {
				return nil, biTypeErr(id, ":env as a map", ev)
			}
			var extra []string
			var eerr error
			em.Range(func(k, v value.Value) bool {
				name, ok := biName(k)
				sv, ok2 := v.(value.String)
				if !ok || !ok2 || name == "" || strings.ContainsAny(name, "=\x00") || strings.ContainsRune(string(sv), 0) {
					eerr = value.Errorf(value.ErrType, "%s: :env must map variable names to strings, got %s %s", id, value.Repr(k), value.Repr(v))
					return false
				}
				extra = append(extra, name+"="+string(sv))
				return true
			})
			if eerr != nil {
				return nil, eerr
			}
			slices.Sort(extra)
			environ = append(environ, extra...)
		}
		var stdin string
		switch s := biOpt(opts, "stdin").(type) {
		case nil:
		case value.String:
			stdin = string(s)
		default:
			return nil, biTypeErr(id, ":stdin as a string", s)
		}
		ms, err := biOptMs(id, opts, "timeout-ms")
		if err != nil {
			return nil, err
		}
		if ctx == nil {
			ctx = context.Background()
		}
		if ms > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
			defer cancel()
		}
		if err := ctx.Err(); err != nil {
			return nil, biCtxErr(id, err)
		}
		cmd := exec.CommandContext(ctx, prog, argv...)
		cmd.Env = environ
		if env != nil {
			cmd.Env = append(cmd.Env, env.ProgramEnv...)
		}
		cmd.Stdin = strings.NewReader(stdin)
		stdout := &biCapBuffer{limit: MaxExecuteOutputBytes}
		stderr := &biCapBuffer{limit: MaxExecuteOutputBytes}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		biSetProcessGroup(cmd)
		// Do not wait forever for output pipes held open by
		// descendants that outlive the program.
		cmd.WaitDelay = 2 * time.Second
		runErr := cmd.Run()
		result := func() *value.Map {
			m := value.NewMap(
				value.Keyword("exit"), value.Int(biExitCode(cmd)),
				value.Keyword("stdout"), value.String(stdout.String()),
				value.Keyword("stderr"), value.String(stderr.String()),
			)
			if stdout.truncated || stderr.truncated {
				m = m.Assoc(value.Keyword("truncated"), value.True)
			}
			return m
		}
		if cerr := ctx.Err(); cerr != nil && cmd.ProcessState != nil && !cmd.ProcessState.Success() {
			e := biCtxErr(id, cerr).(*value.Error)
			e.Message += " (" + prog + " killed)"
			return nil, e.WithData(result())
		}
		if runErr != nil {
			var ee *exec.ExitError
			switch {
			case errors.As(runErr, &ee), errors.Is(runErr, exec.ErrWaitDelay):
				// exited (or left pipes open): the status is the result
			case cmd.ProcessState == nil:
				if cerr := ctx.Err(); cerr != nil {
					return nil, biCtxErr(id, cerr)
				}
				return nil, biIOErr(id, runErr)
			default:
				return nil, biIOErr(id, runErr)
			}
		}
		return result(), nil
	}
	c.TargetsOf = func(args []value.Value) (Targets, error) {
		prog, _, _, err := biExecuteArgs(args)
		if err != nil {
			return Targets{}, err
		}
		return Targets{Programs: []string{prog}}, nil
	}
	return c
}

// biExitCode returns the exit status of a finished command (-1 when it was
// killed by a signal or did not run).
func biExitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}

// biCapBuffer collects output up to limit bytes and drops the rest.
type biCapBuffer struct {
	mu        sync.Mutex
	b         []byte
	limit     int
	truncated bool
}

func (c *biCapBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.limit - len(c.b)
	if len(p) > room {
		c.b = append(c.b, p[:max(room, 0)]...)
		c.truncated = true
	} else {
		c.b = append(c.b, p...)
	}
	return len(p), nil
}

func (c *biCapBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.b)
}

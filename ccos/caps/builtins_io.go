package caps

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/ccos-go/ccos/rtfs/value"
)

// biHandleType is the schema of a file handle value.
const biHandleType = "[:map [:handle :int] [:path :string] [:mode [:enum :read :write :append]]]"

// biPathTargets returns a TargetsOf that reports args[0], the path, as
// read (write false) or written (write true), exactly as given.
func biPathTargets(id string, write bool) func(args []value.Value) (Targets, error) {
	return func(args []value.Value) (Targets, error) {
		p, err := biString(id, args, 0, "the path")
		if err != nil {
			return Targets{}, err
		}
		if write {
			return Targets{Writes: []string{p}}, nil
		}
		return Targets{Reads: []string{p}}, nil
	}
}

// biNoTargets is the TargetsOf of the handle operations: the handle's file
// was authorised when ccos.io.open-file opened it.
func biNoTargets(args []value.Value) (Targets, error) { return Targets{}, nil }

// fileExistsCap is ccos.io.file-exists: path → bool.
func fileExistsCap() *Capability {
	const id = "ccos.io.file-exists"
	c := newBuiltin(id, "reports whether a file or directory exists at the path",
		"[:tuple :string]", ":bool", Effects{FSRead: biStar(), Idempotent: true}, "io", "fs")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		p, err := biString(id, args, 0, "the path")
		if err != nil {
			return nil, err
		}
		_, err = os.Stat(p)
		switch {
		case err == nil:
			return value.True, nil
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG):
			return value.False, nil
		}
		return nil, biIOErr(id, err)
	}
	c.TargetsOf = biPathTargets(id, false)
	return c
}

// readFileCap is ccos.io.read-file: path → string, at most
// MaxReadFileBytes (a larger file is a :limit-exceeded error).
func readFileCap() *Capability {
	const id = "ccos.io.read-file"
	c := newBuiltin(id, "reads a whole file as a string (at most 64 MiB)",
		"[:tuple :string]", ":string", Effects{FSRead: biStar(), Idempotent: true}, "io", "fs")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		p, err := biString(id, args, 0, "the path")
		if err != nil {
			return nil, err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, biIOErr(id, err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxReadFileBytes+1))
		if err != nil {
			return nil, biIOErr(id, err)
		}
		if len(b) > MaxReadFileBytes {
			return nil, biLimitErr(id, p, MaxReadFileBytes)
		}
		return value.String(b), nil
	}
	c.TargetsOf = biPathTargets(id, false)
	return c
}

// writeFileCap is ccos.io.write-file: path content opts{:append bool} →
// bytes written. The file is created (mode 0644) or truncated, or
// appended to with {:append true}. It is not idempotent: appending twice
// writes twice.
func writeFileCap() *Capability {
	const id = "ccos.io.write-file"
	c := newBuiltin(id, "writes a string to a file, replacing it or, with {:append true}, appending; returns the bytes written",
		"[:union [:tuple :string :string] [:tuple :string :string [:map [:append :bool {:optional true}]]]]",
		":int", Effects{FSWrite: biStar()}, "io", "fs")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 2, 3); err != nil {
			return nil, err
		}
		p, err := biString(id, args, 0, "the path")
		if err != nil {
			return nil, err
		}
		content, err := biString(id, args, 1, "the content")
		if err != nil {
			return nil, err
		}
		opts, err := biOpts(id, args, 2)
		if err != nil {
			return nil, err
		}
		flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		switch a := biOpt(opts, "append").(type) {
		case nil:
		case value.Bool:
			if a {
				flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
			}
		default:
			return nil, biTypeErr(id, ":append as a boolean", a)
		}
		f, err := os.OpenFile(p, flag, 0o644)
		if err != nil {
			return nil, biIOErr(id, err)
		}
		n, werr := f.WriteString(content)
		cerr := f.Close()
		if werr != nil {
			return nil, biIOErr(id, werr)
		}
		if cerr != nil {
			return nil, biIOErr(id, cerr)
		}
		return value.Int(n), nil
	}
	c.TargetsOf = biPathTargets(id, true)
	return c
}

// biOpenMode returns the mode argument of ccos.io.open-file.
func biOpenMode(args []value.Value) (string, error) {
	const id = "ccos.io.open-file"
	if len(args) < 2 {
		return "", value.Errorf(value.ErrArity, "%s: missing the mode (:read, :write or :append)", id)
	}
	k, ok := args[1].(value.Keyword)
	if !ok {
		return "", biTypeErr(id, "the mode :read, :write or :append", args[1])
	}
	switch m := string(k); m {
	case biModeRead, biModeWrite, biModeAppend:
		return m, nil
	}
	return "", value.Errorf(value.ErrType, "%s: mode must be :read, :write or :append, got %s", id, value.Repr(k))
}

// openFileCap is ccos.io.open-file: path mode → handle. :write creates or
// truncates, :append creates or appends. The handle lives in env.Files
// until ccos.io.close-file or the end of the run.
func openFileCap() *Capability {
	const id = "ccos.io.open-file"
	c := newBuiltin(id, "opens a file for line-by-line reading (:read), writing (:write, truncates) or appending (:append); returns a handle",
		"[:tuple :string [:enum :read :write :append]]", biHandleType,
		Effects{FSRead: biStar(), FSWrite: biStar()}, "io", "fs")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 2, 2); err != nil {
			return nil, err
		}
		p, err := biString(id, args, 0, "the path")
		if err != nil {
			return nil, err
		}
		mode, err := biOpenMode(args)
		if err != nil {
			return nil, err
		}
		env = biEnv(env)
		if env.Files == nil {
			return nil, value.Errorf(value.ErrIO, "%s: this run has no file handle table", id)
		}
		return env.Files.openPath(p, mode)
	}
	c.TargetsOf = func(args []value.Value) (Targets, error) {
		p, err := biString(id, args, 0, "the path")
		if err != nil {
			return Targets{}, err
		}
		mode, err := biOpenMode(args)
		if err != nil {
			return Targets{}, err
		}
		if mode == biModeRead {
			return Targets{Reads: []string{p}}, nil
		}
		return Targets{Writes: []string{p}}, nil
	}
	return c
}

// readLineCap is ccos.io.read-line: handle → line without its terminator,
// or nil at end of file.
func readLineCap() *Capability {
	const id = "ccos.io.read-line"
	c := newBuiltin(id, "reads the next line from a :read handle (without the newline), or nil at end of file",
		"[:tuple "+biHandleType+"]", ":string?", Effects{FSRead: biStar()}, "io", "fs")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		return biEnv(env).Files.readLine(args[0])
	}
	c.TargetsOf = biNoTargets
	return c
}

// writeLineCap is ccos.io.write-line: handle line → nil; it writes the
// line and a newline.
func writeLineCap() *Capability {
	const id = "ccos.io.write-line"
	c := newBuiltin(id, "writes a line and a newline to a :write or :append handle",
		"[:tuple "+biHandleType+" :string]", ":nil", Effects{FSWrite: biStar()}, "io", "fs")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 2, 2); err != nil {
			return nil, err
		}
		line, err := biString(id, args, 1, "the line")
		if err != nil {
			return nil, err
		}
		return nil, biEnv(env).Files.writeLine(args[0], line)
	}
	c.TargetsOf = biNoTargets
	return c
}

// closeFileCap is ccos.io.close-file: handle → nil. Closing an unknown or
// already closed handle is an :io-error.
func closeFileCap() *Capability {
	const id = "ccos.io.close-file"
	c := newBuiltin(id, "closes a file handle",
		"[:tuple "+biHandleType+"]", ":nil", Effects{FSRead: biStar(), FSWrite: biStar()}, "io", "fs")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		return nil, biEnv(env).Files.closeHandle(args[0])
	}
	c.TargetsOf = biNoTargets
	return c
}

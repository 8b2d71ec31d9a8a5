package caps

import (
	"context"
	"io"
	"strings"

	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/value"
)

// biPure are the effects of a capability that touches nothing and
// always returns the same result.
func biPure() Effects { return Effects{Deterministic: true, Idempotent: true} }

// echoCap is ccos.echo: x → x.
func echoCap() *Capability {
	c := newBuiltin("ccos.echo", "returns its argument unchanged", "[:tuple :any]", ":any", biPure(), "core")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity("ccos.echo", args, 1, 1); err != nil {
			return nil, err
		}
		return args[0], nil
	}
	return c
}

// mathAddCap is ccos.math.add: n... → sum. Integers stay integers
// (overflow is an :arithmetic-error); the sum is a float when any
// argument is. It matches the local host's implementation.
func mathAddCap() *Capability {
	c := newBuiltin("ccos.math.add", "adds numbers: integers stay integers, the sum is a float if any argument is",
		"[:vector :number]", ":number", biPure(), "core", "math")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		var isum int64
		var fsum float64
		isFloat := false
		for _, a := range args {
			switch x := a.(type) {
			case value.Int:
				s := isum + int64(x)
				if (isum^s)&(int64(x)^s) < 0 {
					return nil, value.Errorf(value.ErrArithmetic, "ccos.math.add: integer overflow")
				}
				isum = s
				fsum += float64(x)
			case value.Float:
				isFloat = true
				fsum += float64(x)
			default:
				return nil, biTypeErr("ccos.math.add", "numbers", a)
			}
		}
		if isFloat {
			return value.Float(fsum), nil
		}
		return value.Int(isum), nil
	}
	return c
}

// printCap is ccos.io.log, ccos.io.print or ccos.io.println: x... → nil.
// The arguments are joined with spaces as str shows them (strings raw,
// nil empty, other values in canonical form, like the println function)
// and written to env.Out (discarded when nil). Log output is not an
// effect on the world, so the manifest declares none; the capability is
// not idempotent since a second call writes again.
func printCap(id, desc string, newline bool) *Capability {
	c := newBuiltin(id, desc, "[:vector :any]", ":nil", Effects{Deterministic: true}, "io", "log")
	c.Run = func(_ context.Context, env *Env, args []value.Value) (value.Value, error) {
		env = biEnv(env)
		if env.Out == nil {
			return nil, nil
		}
		var b strings.Builder
		for i, a := range args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(value.Str(a))
		}
		if newline {
			b.WriteByte('\n')
		}
		if _, err := io.WriteString(env.Out, b.String()); err != nil {
			return nil, biIOErr(id, err)
		}
		return nil, nil
	}
	return c
}

// parseJSONCap is ccos.data.parse-json: string → value, object keys as
// keywords (as the local host does).
func parseJSONCap() *Capability {
	c := newBuiltin("ccos.data.parse-json", "parses a JSON string into a value; object keys become keywords",
		"[:tuple :string]", ":any", biPure(), "data", "json")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity("ccos.data.parse-json", args, 1, 1); err != nil {
			return nil, err
		}
		s, err := biString("ccos.data.parse-json", args, 0, "the JSON text")
		if err != nil {
			return nil, err
		}
		return stdlib.ParseJSON(s, true)
	}
	return c
}

// serializeJSONCap is ccos.data.serialize-json: value → string.
func serializeJSONCap() *Capability {
	c := newBuiltin("ccos.data.serialize-json", "serialises a value as compact JSON",
		"[:tuple :any]", ":string", biPure(), "data", "json")
	c.Run = func(_ context.Context, _ *Env, args []value.Value) (value.Value, error) {
		if err := biArity("ccos.data.serialize-json", args, 1, 1); err != nil {
			return nil, err
		}
		s, err := stdlib.SerializeJSON(args[0])
		if err != nil {
			return nil, err
		}
		return value.String(s), nil
	}
	return c
}

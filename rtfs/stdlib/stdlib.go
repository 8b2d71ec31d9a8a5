// Package stdlib provides the pure builtin functions of RTFS (RTFS.md §4).
// Nothing here performs I/O: effects are capabilities reached through the
// host.
package stdlib

import (
	"fmt"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Value is value.Value.
type Value = value.Value

// Universe returns a new table of every builtin, keyed by name, for
// eval.NewEnv.
func Universe() map[string]Value {
	r := &registry{m: map[string]Value{}}
	registerArith(r)
	registerCore(r)
	registerSeq(r)
	registerMaps(r)
	registerStrings(r)
	registerFuncs(r)
	registerData(r)
	return r.m
}

type registry struct {
	m map[string]Value
}

// add registers a builtin taking between min and max arguments (max < 0:
// any number).
func (r *registry) add(name string, min, max int, fn eval.BuiltinFunc) *eval.Builtin {
	if _, dup := r.m[name]; dup {
		panic("stdlib: duplicate builtin " + name)
	}
	b := &eval.Builtin{Name: name, Fn: fn, MinArgs: min, MaxArgs: max}
	r.m[name] = b
	return b
}

// alias registers another name for an existing builtin.
func (r *registry) alias(name, existing string) {
	if _, dup := r.m[name]; dup {
		panic("stdlib: duplicate builtin " + name)
	}
	r.m[name] = r.m[existing]
}

// typeError reports that fn received a value of the wrong type.
func typeError(fn, want string, got Value) error {
	return value.Errorf(value.ErrType, "%s: expected %s, got %s", fn, want, describe(got))
}

// describe names a value's type and, for short values, the value.
func describe(v Value) string {
	s := value.Repr(v)
	if len(s) > 40 {
		return value.TypeName(v)
	}
	return fmt.Sprintf("%s %s", value.TypeName(v), s)
}

func toInt(fn string, v Value) (int64, error) {
	if i, ok := v.(value.Int); ok {
		return int64(i), nil
	}
	return 0, typeError(fn, "an integer", v)
}

func toInt2(fn string, v Value) (int, error) {
	i, err := toInt(fn, v)
	return int(i), err
}

func toString(fn string, v Value) (string, error) {
	if s, ok := v.(value.String); ok {
		return string(s), nil
	}
	return "", typeError(fn, "a string", v)
}

func isFn(v Value) bool {
	_, ok := v.(value.Fn)
	return ok
}

func toFn(fn string, v Value) (Value, error) {
	switch v.(type) {
	case value.Fn, value.Keyword, *value.Map, *value.Set, *value.Vector:
		return v, nil
	}
	return nil, typeError(fn, "a function", v)
}

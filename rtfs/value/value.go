// Package value defines the runtime values of RTFS: scalars, persistent
// collections, atoms and errors, together with structural equality, hashing,
// ordering and the canonical printer.
//
// RTFS nil is the Go nil interface value; every other value implements
// Value. Values are immutable except Atom, whose contents change atomically.
package value

import (
	"strings"
)

// Value is an RTFS value. The nil interface is RTFS nil.
type Value interface {
	// TypeName returns the RTFS type name (see RTFS.md §4, type-name).
	TypeName() string
}

// Scalar value types.
type (
	// Bool is true or false.
	Bool bool
	// Int is a 64-bit signed integer; overflow is an error, never a wrap.
	Int int64
	// Float is a 64-bit IEEE float.
	Float float64
	// String is an immutable UTF-8 string.
	String string
	// Keyword is a keyword; the name excludes the leading colon.
	Keyword string
	// Symbol is a symbol, as data (quoted code).
	Symbol string
	// Timestamp is an ISO-8601 UTC timestamp literal, kept as written.
	Timestamp string
	// UUID is a UUID literal, kept as written.
	UUID string
)

// Common constants.
const (
	True  = Bool(true)
	False = Bool(false)
)

func (Bool) TypeName() string      { return "boolean" }
func (Int) TypeName() string       { return "integer" }
func (Float) TypeName() string     { return "float" }
func (String) TypeName() string    { return "string" }
func (Keyword) TypeName() string   { return "keyword" }
func (Symbol) TypeName() string    { return "symbol" }
func (Timestamp) TypeName() string { return "timestamp" }
func (UUID) TypeName() string      { return "uuid" }

// Namespace returns the part of a keyword before the last '/', or "".
func (k Keyword) Namespace() string { return namespaceOf(string(k)) }

// LocalName returns the part of a keyword after the last '/'.
func (k Keyword) LocalName() string { return localNameOf(string(k)) }

// Namespace returns the part of a symbol before the last '/', or "".
func (s Symbol) Namespace() string { return namespaceOf(string(s)) }

// LocalName returns the part of a symbol after the last '/'.
func (s Symbol) LocalName() string { return localNameOf(string(s)) }

func namespaceOf(s string) string {
	if s == "/" {
		return ""
	}
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		return s[:i]
	}
	return ""
}

func localNameOf(s string) string {
	if s == "/" {
		return s
	}
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		return s[i+1:]
	}
	return s
}

// Resource is a handle to a named host resource (resource://name).
type Resource struct {
	Name string
}

func (*Resource) TypeName() string { return "resource" }

// Fn is implemented by every callable function value (closures and
// builtins). Functions compare by identity.
type Fn interface {
	Value
	// FnName returns the function's name, or "" when anonymous.
	FnName() string
}

// Closer is implemented by values that with-resource must close.
type Closer interface {
	Close() error
}

// TypeName returns the RTFS type name of v, including "nil".
func TypeName(v Value) string {
	if v == nil {
		return "nil"
	}
	return v.TypeName()
}

// Truthy reports whether v counts as true: everything but nil and false.
func Truthy(v Value) bool {
	switch x := v.(type) {
	case nil:
		return false
	case Bool:
		return bool(x)
	}
	return true
}

// Kw is shorthand for Keyword(name).
func Kw(name string) Keyword { return Keyword(name) }

package value

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ccos-go/ccos/rtfs/syntax"
)

// Built-in error types (RTFS.md §5).
const (
	ErrParse      Keyword = "parse-error"
	ErrType       Keyword = "type-error"
	ErrArity      Keyword = "arity-error"
	ErrUndefined  Keyword = "undefined-symbol"
	ErrArithmetic Keyword = "arithmetic-error"
	ErrIndex      Keyword = "index-error"
	ErrKey        Keyword = "key-error"
	ErrMatch      Keyword = "match-error"
	ErrSecurity   Keyword = "security-error"
	ErrCapability Keyword = "capability-error"
	ErrResource   Keyword = "resource-error"
	ErrTimeout    Keyword = "timeout"
	ErrLimit      Keyword = "limit-exceeded"
	ErrValidation Keyword = "validation-error"
	ErrNetwork    Keyword = "network-error"
	ErrIO         Keyword = "io-error"
	ErrGeneric    Keyword = "error"
)

// Frame is one entry of an RTFS stack trace: a function that was called
// and the position of the call, so a trace reads "in f (where f was
// called)", innermost first.
type Frame struct {
	Func string
	Pos  syntax.Pos
}

// Error is an RTFS error value. It is also a Go error, so evaluator code
// returns it through the ordinary error path.
type Error struct {
	Type    Keyword
	Message string
	Data    Value
	// Pos is where the error was raised, when known.
	Pos syntax.Pos
	// Trace lists the active RTFS calls, innermost first.
	Trace []Frame
	// Cause is the Go error this one wraps, if any.
	Cause error
}

func (*Error) TypeName() string { return "error" }

// Error returns the canonical printed form, #<error :type "message">.
func (e *Error) Error() string { return Repr(e) }

// Unwrap returns the wrapped Go error.
func (e *Error) Unwrap() error { return e.Cause }

// NewError returns an error of type typ with a formatted message.
func NewError(typ Keyword, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// Errorf is NewError; the name reads better at call sites that return it.
func Errorf(typ Keyword, format string, args ...any) error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// WithData returns e after setting its data.
func (e *Error) WithData(d Value) *Error {
	e.Data = d
	return e
}

// AsError converts any Go error to an RTFS error: RTFS errors are returned
// as they are, other errors become :error values wrapping them.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Type: ErrGeneric, Message: err.Error(), Cause: err}
}

// Describe renders the error for humans: the canonical form, then the
// position and the RTFS stack trace.
func (e *Error) Describe() string {
	var b strings.Builder
	b.WriteString(Repr(e))
	if e.Pos.IsValid() {
		b.WriteString("\n  at ")
		b.WriteString(e.Pos.String())
	}
	// Collapse runs of identical frames (deep recursion) and cap the
	// length so a trace stays readable.
	const maxShown = 30
	shown := 0
	for i := 0; i < len(e.Trace); {
		j := i + 1
		for j < len(e.Trace) && e.Trace[j] == e.Trace[i] {
			j++
		}
		if shown == maxShown {
			fmt.Fprintf(&b, "\n  ... %d more frames", len(e.Trace)-i)
			break
		}
		f := e.Trace[i]
		b.WriteString("\n  in ")
		if f.Func == "" {
			b.WriteString("<top level>")
		} else {
			b.WriteString(f.Func)
		}
		if f.Pos.IsValid() {
			b.WriteString(" (")
			b.WriteString(f.Pos.String())
			b.WriteString(")")
		}
		if j-i > 1 {
			fmt.Fprintf(&b, " [repeated %d times]", j-i)
		}
		shown++
		i = j
	}
	return b.String()
}

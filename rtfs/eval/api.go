package eval

import (
	"fmt"

	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// EvalForm resolves, compiles and runs one top-level form.
func (th *Thread) EvalForm(form syntax.Node) (v Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = value.Errorf(value.ErrGeneric, "internal error: %v", r)
		}
	}()
	rp, err := resolve.Resolve(form)
	if err != nil {
		return nil, err
	}
	p, err := Compile(th.env, rp)
	if err != nil {
		return nil, err
	}
	return th.Run(p)
}

// EvalSource parses src and evaluates its forms in order, returning the
// value of the last one. Parse errors are returned as :parse-error values
// carrying the position; the *syntax.Error is their Cause.
func (th *Thread) EvalSource(filename string, src []byte) (Value, error) {
	forms, err := syntax.Parse(filename, src)
	if err != nil {
		return nil, ParseError(err)
	}
	var last Value
	for _, f := range forms {
		if last, err = th.EvalForm(f); err != nil {
			return nil, err
		}
	}
	return last, nil
}

// ParseError converts a reader error into an RTFS :parse-error.
func ParseError(err error) *value.Error {
	if se, ok := err.(*syntax.Error); ok {
		return &value.Error{Type: value.ErrParse, Message: se.Msg, Pos: se.Pos, Cause: se}
	}
	return &value.Error{Type: value.ErrParse, Message: fmt.Sprint(err), Cause: err}
}

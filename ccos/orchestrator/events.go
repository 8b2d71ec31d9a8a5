package orchestrator

import (
	"time"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// EventKind says what happened in a progress Event.
type EventKind string

// Progress event kinds.
const (
	StepStarted   EventKind = "step-started"
	StepCompleted EventKind = "step-completed"
	StepFailed    EventKind = "step-failed"
	StepRetrying  EventKind = "step-retrying"
	CallStarted   EventKind = "call-started"
	CallDone      EventKind = "call-done"
	Violation     EventKind = "security-violation"
)

// Event is a live progress report of a run (for display; the causal
// chain is the record).
type Event struct {
	Kind     EventKind
	Path     string
	Name     string
	Depth    int
	Duration time.Duration
	Err      string // the error of a failed step or call
	Replayed bool   // taken from the chain on resume, not run again
}

type literalCall struct {
	id  string
	pos syntax.Pos
}

// literalCalls finds the (call :id ...) forms with a literal id.
func literalCalls(forms []syntax.Node) []literalCall {
	var out []literalCall
	var walk func(n syntax.Node)
	walk = func(n syntax.Node) {
		var elems []syntax.Node
		switch x := n.(type) {
		case *syntax.List:
			elems = x.Elems
			if len(elems) >= 2 {
				if s, ok := elems[0].(*syntax.Symbol); ok {
					switch s.Name {
					case "quote":
						return
					case "call":
						switch id := elems[1].(type) {
						case *syntax.Keyword:
							out = append(out, literalCall{id: id.Name, pos: id.At})
						case *syntax.String:
							out = append(out, literalCall{id: id.Value, pos: id.At})
						}
					}
				}
			}
		case *syntax.Vector:
			elems = x.Elems
		case *syntax.Map:
			elems = x.Elems
		case *syntax.Set:
			elems = x.Elems
		}
		for _, e := range elems {
			walk(e)
		}
	}
	for _, f := range forms {
		walk(f)
	}
	return out
}

// checkOutput validates a plan's result against its :output-schema.
func checkOutput(schema value.Value, v value.Value) error {
	t, err := types.Parse(schema)
	if err != nil {
		return value.Errorf(value.ErrValidation, "plan :output-schema: %v", err)
	}
	if err := t.Check(v); err != nil {
		return value.Errorf(value.ErrValidation, "plan result does not match :output-schema: %v", err)
	}
	return nil
}

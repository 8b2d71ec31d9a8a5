package plans

import (
	"fmt"
	"strings"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/rtfs/resolve"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// File is a parsed plan file: an optional (intent ...) form, and either a
// (plan ...) form or plain RTFS forms that become the body of an anonymous
// plan.
type File struct {
	Intent *model.Intent // nil when the file has no (intent ...) form
	// IntentPos is where the (intent ...) form starts.
	IntentPos syntax.Pos
	// Plan has Body set to the body's source text; ID is empty.
	Plan *model.Plan
	// Forms are the body's forms, parsed with their positions in the file.
	Forms []syntax.Node
	// Defs maps the names that top-level def/defn forms of the body
	// define to those forms (profile derivation follows calls into them).
	Defs map[string]syntax.Node
}

// FileError is an invalid plan file, with the position of the problem.
type FileError struct {
	Pos syntax.Pos
	Msg string
}

func (e *FileError) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap lets callers test for ErrValidation.
func (e *FileError) Unwrap() error { return ErrValidation }

func fileErr(pos syntax.Pos, format string, args ...any) error {
	return &FileError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ParseFile parses a plan file and checks that its body resolves (special
// forms well formed, recur in tail position...), so that an invalid plan is
// rejected with a position before anything runs.
func ParseFile(filename string, src []byte) (*File, error) {
	forms, err := syntax.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	f := &File{}
	var planForm *syntax.List
	var plain []syntax.Node
	for _, n := range forms {
		switch head(n) {
		case "intent":
			if f.Intent != nil {
				return nil, fileErr(n.Pos(), "a plan file holds at most one (intent ...) form")
			}
			if f.Intent, err = parseIntent(src, n.(*syntax.List)); err != nil {
				return nil, err
			}
			f.IntentPos = n.Pos()
		case "plan":
			if planForm != nil {
				return nil, fileErr(n.Pos(), "a plan file holds at most one (plan ...) form")
			}
			planForm = n.(*syntax.List)
		default:
			plain = append(plain, n)
		}
	}
	switch {
	case planForm != nil && len(plain) > 0:
		return nil, fileErr(plain[0].Pos(), "forms outside the (plan ...) form: put them in its :body")
	case planForm != nil:
		if err := parsePlan(src, planForm, f); err != nil {
			return nil, err
		}
	case len(plain) == 0:
		return nil, fileErr(syntax.Pos{File: filename, Line: 1, Col: 1}, "the file has no plan: expected a (plan ...) form or RTFS forms")
	default:
		f.Plan = &model.Plan{Body: plainBody(src, plain, f.Intent != nil, f.IntentPos)}
		f.Forms = plain
	}
	f.Plan.Body = faithfulBody(f.Plan.Body, f.Forms)
	f.Plan.Language = LanguageRTFS
	if f.Intent != nil && len(f.Plan.IntentIDs) == 0 && f.Intent.ID != "" {
		f.Plan.IntentIDs = []string{f.Intent.ID}
	}
	for _, n := range f.Forms {
		if _, err := resolve.Resolve(n); err != nil {
			return nil, err
		}
	}
	f.Defs = Defs(f.Forms)
	return f, nil
}

// ParseBody parses an archived plan body (for resume) into forms and
// their definitions.
func ParseBody(filename, body string) ([]syntax.Node, map[string]syntax.Node, error) {
	forms, err := syntax.Parse(filename, []byte(body))
	if err != nil {
		return nil, nil, err
	}
	return forms, Defs(forms), nil
}

// Defs maps the names defined by top-level (def name ...) and
// (defn name ...) forms to those forms.
func Defs(forms []syntax.Node) map[string]syntax.Node {
	defs := map[string]syntax.Node{}
	var walk func(n syntax.Node)
	walk = func(n syntax.Node) {
		l, ok := n.(*syntax.List)
		if !ok || len(l.Elems) < 2 {
			return
		}
		switch head(l) {
		case "def", "defn":
			if s, ok := l.Elems[1].(*syntax.Symbol); ok {
				defs[s.Name] = l
			}
		case "do":
			for _, e := range l.Elems[1:] {
				walk(e)
			}
		}
	}
	for _, n := range forms {
		walk(n)
	}
	return defs
}

func head(n syntax.Node) string {
	l, ok := n.(*syntax.List)
	if !ok || len(l.Elems) == 0 {
		return ""
	}
	if s, ok := l.Elems[0].(*syntax.Symbol); ok {
		return s.Name
	}
	return ""
}

// end returns the offset just past n in the source.
func end(src []byte, n syntax.Node) int {
	switch x := n.(type) {
	case *syntax.List:
		return x.End.Offset + 1
	case *syntax.Vector:
		return x.End.Offset + 1
	case *syntax.Map:
		return x.End.Offset + 1
	case *syntax.Set:
		return x.End.Offset + 1
	}
	// An atom: re-read up to the next delimiter.
	i := n.Pos().Offset
	if i < len(src) && src[i] == '"' {
		for i++; i < len(src); i++ {
			if src[i] == '\\' {
				i++
			} else if src[i] == '"' {
				return i + 1
			}
		}
		return len(src)
	}
	for i < len(src) && !strings.ContainsRune(" \t\r\n,()[]{}", rune(src[i])) {
		i++
	}
	return i
}

// faithfulBody returns body if it parses back to forms, else the forms
// printed: the archived body must be the plan that was checked (a slice
// of the source can miss what precedes a form's position, such as
// ^metadata).
func faithfulBody(body string, forms []syntax.Node) string {
	if again, err := syntax.Parse("body", []byte(body)); err == nil && len(again) == len(forms) {
		same := true
		for i := range forms {
			if !syntax.Equal(again[i], forms[i]) {
				same = false
				break
			}
		}
		if same {
			return body
		}
	}
	parts := make([]string, len(forms))
	for i, n := range forms {
		parts[i] = syntax.Print(n)
	}
	return strings.Join(parts, "\n")
}

// plainBody is the source of the plain forms of a file: the text from the
// first to the last (comments included), unless the (intent ...) form
// lies between them, in which case the forms' texts joined by newlines.
func plainBody(src []byte, plain []syntax.Node, hasIntent bool, intentPos syntax.Pos) string {
	first, last := plain[0], plain[len(plain)-1]
	if !hasIntent || intentPos.Offset < first.Pos().Offset || intentPos.Offset > last.Pos().Offset {
		return sourceOf(src, first, last)
	}
	parts := make([]string, len(plain))
	for i, n := range plain {
		parts[i] = sourceOf(src, n, n)
	}
	return strings.Join(parts, "\n")
}

func sourceOf(src []byte, first, last syntax.Node) string {
	return string(src[first.Pos().Offset:end(src, last)])
}

// options reads the keyword options of a (intent "name" :k v ...) or
// (plan "name" :k v ...) form.
func options(l *syntax.List, what string) (name string, opts map[string]syntax.Node, order []string, err error) {
	elems := l.Elems[1:]
	if len(elems) > 0 {
		if s, ok := elems[0].(*syntax.String); ok {
			name = s.Value
			elems = elems[1:]
		}
	}
	opts = map[string]syntax.Node{}
	for i := 0; i < len(elems); i += 2 {
		k, ok := elems[i].(*syntax.Keyword)
		if !ok {
			return "", nil, nil, fileErr(elems[i].Pos(), "%s: expected a keyword option, got %s", what, syntax.Print(elems[i]))
		}
		if i+1 == len(elems) {
			return "", nil, nil, fileErr(k.At, "%s: option :%s has no value", what, k.Name)
		}
		if _, dup := opts[k.Name]; dup {
			return "", nil, nil, fileErr(k.At, "%s: option :%s given twice", what, k.Name)
		}
		opts[k.Name] = elems[i+1]
		order = append(order, k.Name)
	}
	return name, opts, order, nil
}

func stringOpt(n syntax.Node, what, key string) (string, error) {
	s, ok := n.(*syntax.String)
	if !ok {
		return "", fileErr(n.Pos(), "%s :%s must be a string", what, key)
	}
	return s.Value, nil
}

func mapOpt(n syntax.Node, what, key string) (*value.Map, error) {
	m, ok := value.FromSyntax(n).(*value.Map)
	if !ok {
		return nil, fileErr(n.Pos(), "%s :%s must be a map", what, key)
	}
	return m, nil
}

func stringsOpt(n syntax.Node, what, key string) ([]string, error) {
	v, ok := n.(*syntax.Vector)
	if !ok {
		return nil, fileErr(n.Pos(), "%s :%s must be a vector of strings or keywords", what, key)
	}
	var out []string
	for _, e := range v.Elems {
		switch x := e.(type) {
		case *syntax.String:
			out = append(out, x.Value)
		case *syntax.Keyword:
			out = append(out, x.Name)
		default:
			return nil, fileErr(e.Pos(), "%s :%s must be a vector of strings or keywords", what, key)
		}
	}
	return out, nil
}

func parseIntent(src []byte, l *syntax.List) (*model.Intent, error) {
	name, opts, order, err := options(l, "intent")
	if err != nil {
		return nil, err
	}
	in := &model.Intent{Name: name, TriggeredBy: model.TriggerHumanRequest}
	for _, k := range order {
		n := opts[k]
		switch k {
		case "intent-id":
			in.ID, err = stringOpt(n, "intent", k)
		case "goal":
			in.Goal, err = stringOpt(n, "intent", k)
		case "original-request":
			in.OriginalRequest, err = stringOpt(n, "intent", k)
		case "constraints":
			in.Constraints, err = mapOpt(n, "intent", k)
		case "preferences":
			in.Preferences, err = mapOpt(n, "intent", k)
		case "metadata":
			in.Metadata, err = mapOpt(n, "intent", k)
		case "priority":
			p, ok := n.(*syntax.Int)
			if !ok {
				return nil, fileErr(n.Pos(), "intent :priority must be an integer")
			}
			in.Priority = p.Value
		case "success-criteria":
			if head(n) != "fn" {
				return nil, fileErr(n.Pos(), "intent :success-criteria must be a (fn [result] ...) form")
			}
			if _, err := resolve.Resolve(n); err != nil {
				return nil, err
			}
			in.SuccessCriteria = sourceOf(src, n, n)
		default:
			return nil, fileErr(n.Pos(), "intent: unknown option :%s", k)
		}
		if err != nil {
			return nil, err
		}
	}
	if in.Goal == "" {
		return nil, fileErr(l.At, "intent: :goal is required")
	}
	if in.OriginalRequest == "" {
		in.OriginalRequest = in.Goal
	}
	return in, nil
}

// PolicyKeys are the plan policies the orchestrator enforces.
var PolicyKeys = []string{"max-duration-ms", "max-actions", "max-cost", "retry"}

func parsePlan(src []byte, l *syntax.List, f *File) error {
	name, opts, order, err := options(l, "plan")
	if err != nil {
		return err
	}
	p := &model.Plan{Name: name}
	for _, k := range order {
		n := opts[k]
		switch k {
		case "plan-id":
			p.ID, err = stringOpt(n, "plan", k)
		case "name":
			p.Name, err = stringOpt(n, "plan", k)
		case "intent-ids":
			p.IntentIDs, err = stringsOpt(n, "plan", k)
		case "body":
			f.Forms = []syntax.Node{n}
			p.Body = sourceOf(src, n, n)
		case "policies":
			if p.Policies, err = mapOpt(n, "plan", k); err == nil {
				err = checkPolicies(n.(*syntax.Map))
			}
		case "capabilities-required":
			p.CapabilitiesRequired, err = stringsOpt(n, "plan", k)
		case "input-schema":
			p.InputSchema = value.FromSyntax(n)
		case "output-schema":
			p.OutputSchema = value.FromSyntax(n)
		case "annotations":
			p.Annotations, err = mapOpt(n, "plan", k)
		default:
			return fileErr(n.Pos(), "plan: unknown option :%s", k)
		}
		if err != nil {
			return err
		}
	}
	if p.Body == "" {
		return fileErr(l.At, "plan: :body is required")
	}
	f.Plan = p
	return nil
}

func checkPolicies(m *syntax.Map) error {
	for i := 0; i+1 < len(m.Elems); i += 2 {
		k, ok := m.Elems[i].(*syntax.Keyword)
		if !ok {
			return fileErr(m.Elems[i].Pos(), "plan :policies keys must be keywords")
		}
		v := m.Elems[i+1]
		switch k.Name {
		case "max-duration-ms", "max-actions":
			if x, ok := v.(*syntax.Int); !ok || x.Value <= 0 {
				return fileErr(v.Pos(), "policy :%s must be a positive integer", k.Name)
			}
		case "max-cost":
			switch x := v.(type) {
			case *syntax.Int:
				if x.Value < 0 {
					return fileErr(v.Pos(), "policy :max-cost must not be negative")
				}
			case *syntax.Float:
				if !(x.Value >= 0) {
					return fileErr(v.Pos(), "policy :max-cost must not be negative")
				}
			default:
				return fileErr(v.Pos(), "policy :max-cost must be a number")
			}
		case "retry":
			if _, err := RetryPolicyOf(value.FromSyntax(v)); err != nil {
				return fileErr(v.Pos(), "%v", err)
			}
		default:
			return fileErr(k.At, "unknown policy :%s (known: :%s)", k.Name, strings.Join(PolicyKeys, " :"))
		}
	}
	return nil
}

// RetryPolicy is the :retry policy of a plan: how many times a failed
// step is attempted and how long to wait between attempts.
type RetryPolicy struct {
	MaxAttempts int
	BackoffMs   int64
}

// RetryPolicyOf reads a :retry policy value: an integer (max attempts) or
// {:max-attempts n :backoff-ms ms}.
func RetryPolicyOf(v value.Value) (RetryPolicy, error) {
	switch x := v.(type) {
	case value.Int:
		if x < 1 || x > 100 {
			return RetryPolicy{}, fmt.Errorf("policy :retry must be between 1 and 100 attempts")
		}
		return RetryPolicy{MaxAttempts: int(x)}, nil
	case *value.Map:
		rp := RetryPolicy{MaxAttempts: 1}
		var bad error
		x.Range(func(k, v value.Value) bool {
			kw, _ := k.(value.Keyword)
			n, isInt := v.(value.Int)
			switch {
			case kw == "max-attempts" && isInt && n >= 1 && n <= 100:
				rp.MaxAttempts = int(n)
			case kw == "backoff-ms" && isInt && n >= 0 && n <= 600_000:
				rp.BackoffMs = int64(n)
			default:
				bad = fmt.Errorf("policy :retry: bad entry %s %s (want :max-attempts 1..100, :backoff-ms 0..600000)", value.Repr(k), value.Repr(v))
				return false
			}
			return true
		})
		return rp, bad
	}
	return RetryPolicy{}, fmt.Errorf("policy :retry must be an integer or a map")
}

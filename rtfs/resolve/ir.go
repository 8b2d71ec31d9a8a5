package resolve

import (
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Expr is a resolved expression. Every special form has its own node type;
// everything else is a Call.
type Expr interface {
	Pos() syntax.Pos
}

// Binding is one local variable: a slot in the frame of the function arity
// that declares it.
type Binding struct {
	Name  string
	Index int // slot in the declaring frame
	// Captured is set when an inner function refers to the binding; the
	// slot then holds a cell shared with the closures.
	Captured bool
	// Forward marks letrec bindings whose cell exists before their value.
	Forward bool
	Type    *types.Type // annotation checked when the binding happens
	At      syntax.Pos
}

// Function is a fn literal (also defn, letfn entries, and the branches of
// parallel forms, which run as closures in their own frame).
type Function struct {
	At      syntax.Pos
	Name    string
	Meta    value.Value // metadata map or nil
	Arities []*Arity
	// Free lists the variables of enclosing frames the function captures;
	// a closure holds one cell per entry.
	Free []*FreeVar
}

// FreeVar says where a captured variable comes from in the frame that
// creates the closure.
type FreeVar struct {
	B *Binding
	// FromParentLocal: the cell is the parent frame's local slot
	// ParentIndex; otherwise it is the parent's free variable ParentIndex.
	FromParentLocal bool
	ParentIndex     int
}

// Arity is one parameter list and body of a function, with its own frame.
// Frame layout: fixed parameters, then the rest list when variadic, then
// other locals; free variables follow at FreeBase.
type Arity struct {
	At        syntax.Pos
	NumParams int
	Variadic  bool
	// Params holds, per argument slot, the pattern bound from it (nil
	// when the argument is bound directly in its slot).
	Params   []Pattern
	Rest     Pattern
	RetType  *types.Type
	SelfSlot int // slot receiving the closure itself, or -1
	// SelfCaptured: the self slot holds a cell.
	SelfCaptured bool
	// ParamBindings are simple parameters living in their argument slot,
	// which may need cells or type checks at entry.
	ParamBindings []*Binding
	FreeBase      int
	NumLocals     int // total frame size, free slots included
	Body          Expr
}

// Program is a resolved top-level form: a frame without parameters.
type Program struct {
	Body      Expr
	NumLocals int
	Source    syntax.Node
}

// Const is a literal or quoted value.
type Const struct {
	At    syntax.Pos
	Value value.Value
}

// LocalRef reads a local of the current frame.
type LocalRef struct {
	At syntax.Pos
	B  *Binding
}

// FreeRef reads a captured variable (free slot Index of the current frame).
type FreeRef struct {
	At    syntax.Pos
	Index int
	B     *Binding
}

// GlobalRef reads a global (def, builtin).
type GlobalRef struct {
	At   syntax.Pos
	Name string
}

// If is (if c a b).
type If struct {
	At               syntax.Pos
	Cond, Then, Else Expr
}

// Do evaluates in order and returns the last value.
type Do struct {
	At    syntax.Pos
	Exprs []Expr
}

// LetBinding binds a pattern to a value.
type LetBinding struct {
	Pat  Pattern
	Init Expr
}

// Let is a sequential let; Forward lists letrec cells to create first.
type Let struct {
	At       syntax.Pos
	Forward  []*Binding
	Bindings []LetBinding
	Body     Expr
}

// FnExpr creates a closure.
type FnExpr struct {
	At syntax.Pos
	Fn *Function
}

// Call applies a function to arguments.
type Call struct {
	At   syntax.Pos
	Fn   Expr
	Args []Expr
	// Name is the callee's name as written, for traces.
	Name string
}

// Def defines a global.
type Def struct {
	At   syntax.Pos
	Name string
	Type *types.Type
	Init Expr
	Meta value.Value
}

// SetVar is set!: Target is a LocalRef, FreeRef or GlobalRef.
type SetVar struct {
	At     syntax.Pos
	Target Expr
	Value  Expr
}

// Loop is (loop [bindings] body); recur jumps back with new values.
type Loop struct {
	At       syntax.Pos
	Bindings []LetBinding
	Body     Expr
}

// Recur rebinds the enclosing loop's (or arity's) bindings.
type Recur struct {
	At   syntax.Pos
	Args []Expr
	// Loop is the target loop, or nil when the target is the function
	// arity (Arity).
	Loop  *Loop
	Arity *Arity
}

// And and Or short-circuit.
type And struct {
	At    syntax.Pos
	Exprs []Expr
}

// Or returns the first truthy value.
type Or struct {
	At    syntax.Pos
	Exprs []Expr
}

// CaseClause matches any of Values.
type CaseClause struct {
	Values []value.Value
	Body   Expr
}

// Case compares a value with constants.
type Case struct {
	At      syntax.Pos
	X       Expr
	Clauses []CaseClause
	Default Expr // nil: no default, no match is an error
}

// MatchClause is one pattern and body of match.
type MatchClause struct {
	Pat  MatchPattern
	Body Expr
}

// Match is pattern matching; no match is a :match-error.
type Match struct {
	At      syntax.Pos
	X       Expr
	Clauses []MatchClause
}

// Catch is one catch clause; Type "" catches everything.
type Catch struct {
	At   syntax.Pos
	Type value.Keyword
	B    *Binding
	Body Expr
}

// Try is try/catch/finally.
type Try struct {
	At      syntax.Pos
	Body    Expr
	Catches []Catch
	Finally Expr
}

// Throw raises a value.
type Throw struct {
	At syntax.Pos
	X  Expr
}

// VectorLit, MapLit and SetLit build collections from evaluated elements.
type VectorLit struct {
	At    syntax.Pos
	Elems []Expr
}

// MapLit is {k v ...} with non-constant parts (flattened).
type MapLit struct {
	At    syntax.Pos
	Elems []Expr
}

// SetLit is #{...} with non-constant parts.
type SetLit struct {
	At    syntax.Pos
	Elems []Expr
}

// Deref is @x / (deref x). When X is a GlobalRef that is unbound at run
// time, Name is looked up in the host context instead.
type Deref struct {
	At syntax.Pos
	X  Expr
}

// ContextLookup reads a host-context value (@plan-id when not bound,
// (resource:ref "name")).
type ContextLookup struct {
	At   syntax.Pos
	Name Expr
}

// ForClause is one clause of for/doseq: a binding, :when, :while or :let.
type ForClause struct {
	Kind string // "bind", "when", "while", "let"
	Pat  Pattern
	X    Expr
	Lets []LetBinding
}

// For is for (Collect) or doseq.
type For struct {
	At      syntax.Pos
	Clauses []ForClause
	Body    Expr
	Collect bool
}

// Dotimes is (dotimes [i n] body).
type Dotimes struct {
	At   syntax.Pos
	B    *Binding
	N    Expr
	Body Expr
}

// While is (while c body).
type While struct {
	At   syntax.Pos
	Cond Expr
	Body Expr
}

// WithResource binds a resource and closes it on exit.
type WithResource struct {
	At   syntax.Pos
	B    *Binding
	Init Expr
	Body Expr
}

// Parallel runs branches concurrently and returns a map of results.
type Parallel struct {
	At       syntax.Pos
	Keys     []value.Keyword
	Branches []*Function
}

// StepKind distinguishes the step forms.
type StepKind int

// Step kinds.
const (
	StepPlain StepKind = iota
	StepIf
	StepLoop
	StepParallel
)

func (k StepKind) String() string {
	switch k {
	case StepIf:
		return "step-if"
	case StepLoop:
		return "step-loop"
	case StepParallel:
		return "step-parallel"
	}
	return "step"
}

// Step is any of the step forms.
type Step struct {
	At   syntax.Pos
	Kind StepKind
	Name string
	// Options are the literal and evaluated options; Params is evaluated
	// after the step starts and bound to ParamsB.
	Options map[string]Expr
	Params  Expr
	ParamsB *Binding
	// Body for step; Cond/Then/Else for step-if; Cond/Body for step-loop;
	// Branches for step-parallel.
	Body     Expr
	Cond     Expr
	Then     Expr
	Else     Expr
	Branches []*Function
	// Form is the whole step form, for hosts that analyse it.
	Form syntax.Node
}

// CallCap is (call :id args...).
type CallCap struct {
	At   syntax.Pos
	ID   Expr
	Args []Expr
}

// LogStep is (log-step :level? args...).
type LogStep struct {
	At    syntax.Pos
	Level string
	Args  []Expr
}

// Discover is (discover-agents criteria).
type Discover struct {
	At       syntax.Pos
	Criteria Expr
}

// WithProfile is (with-security-profile opts body...).
type WithProfile struct {
	At   syntax.Pos
	Opts Expr
	Body Expr
	Form syntax.Node
}

func (e *Const) Pos() syntax.Pos         { return e.At }
func (e *LocalRef) Pos() syntax.Pos      { return e.At }
func (e *FreeRef) Pos() syntax.Pos       { return e.At }
func (e *GlobalRef) Pos() syntax.Pos     { return e.At }
func (e *If) Pos() syntax.Pos            { return e.At }
func (e *Do) Pos() syntax.Pos            { return e.At }
func (e *Let) Pos() syntax.Pos           { return e.At }
func (e *FnExpr) Pos() syntax.Pos        { return e.At }
func (e *Call) Pos() syntax.Pos          { return e.At }
func (e *Def) Pos() syntax.Pos           { return e.At }
func (e *SetVar) Pos() syntax.Pos        { return e.At }
func (e *Loop) Pos() syntax.Pos          { return e.At }
func (e *Recur) Pos() syntax.Pos         { return e.At }
func (e *And) Pos() syntax.Pos           { return e.At }
func (e *Or) Pos() syntax.Pos            { return e.At }
func (e *Case) Pos() syntax.Pos          { return e.At }
func (e *Match) Pos() syntax.Pos         { return e.At }
func (e *Try) Pos() syntax.Pos           { return e.At }
func (e *Throw) Pos() syntax.Pos         { return e.At }
func (e *VectorLit) Pos() syntax.Pos     { return e.At }
func (e *MapLit) Pos() syntax.Pos        { return e.At }
func (e *SetLit) Pos() syntax.Pos        { return e.At }
func (e *Deref) Pos() syntax.Pos         { return e.At }
func (e *ContextLookup) Pos() syntax.Pos { return e.At }
func (e *For) Pos() syntax.Pos           { return e.At }
func (e *Dotimes) Pos() syntax.Pos       { return e.At }
func (e *While) Pos() syntax.Pos         { return e.At }
func (e *WithResource) Pos() syntax.Pos  { return e.At }
func (e *Parallel) Pos() syntax.Pos      { return e.At }
func (e *Step) Pos() syntax.Pos          { return e.At }
func (e *CallCap) Pos() syntax.Pos       { return e.At }
func (e *LogStep) Pos() syntax.Pos       { return e.At }
func (e *Discover) Pos() syntax.Pos      { return e.At }
func (e *WithProfile) Pos() syntax.Pos   { return e.At }

// Pattern is a destructuring pattern (let, fn params, loop, for).
type Pattern interface{ pattern() }

// BindPat binds the whole value to B.
type BindPat struct{ B *Binding }

// IgnorePat is _.
type IgnorePat struct{}

// VecPat is [a b & rest :as all].
type VecPat struct {
	At    syntax.Pos
	Elems []Pattern
	Rest  Pattern
	As    *Binding
}

// MapPatEntry binds the value at Key.
type MapPatEntry struct {
	Key     value.Value
	Pat     Pattern
	Default Expr // from :or, or nil
}

// MapPat is {:keys [a] :strs [b] x :x :or {..} :as m}.
type MapPat struct {
	At      syntax.Pos
	Entries []MapPatEntry
	As      *Binding
}

func (*BindPat) pattern()   {}
func (*IgnorePat) pattern() {}
func (*VecPat) pattern()    {}
func (*MapPat) pattern()    {}

// MatchPattern is a pattern of match.
type MatchPattern interface{ matchPattern() }

// MLit matches an equal value.
type MLit struct{ Value value.Value }

// MWild matches anything.
type MWild struct{}

// MBind matches anything and binds it.
type MBind struct{ B *Binding }

// MVec matches a sequential value of the same length (or longer with Rest).
type MVec struct {
	Elems []MatchPattern
	Rest  MatchPattern
}

// MMapEntry requires Key to be present and its value to match Pat.
type MMapEntry struct {
	Key value.Value
	Pat MatchPattern
}

// MMap matches a map having the listed keys.
type MMap struct{ Entries []MMapEntry }

// MGuard matches Pat and then requires Guard to be truthy.
type MGuard struct {
	Pat   MatchPattern
	Guard Expr
}

// MAlt matches if any alternative does.
type MAlt struct{ Alts []MatchPattern }

// MAs binds the whole value and matches Pat.
type MAs struct {
	B   *Binding
	Pat MatchPattern
}

// MType checks the value's type, then matches Pat.
type MType struct {
	Type *types.Type
	Pat  MatchPattern
}

func (*MLit) matchPattern()   {}
func (*MWild) matchPattern()  {}
func (*MBind) matchPattern()  {}
func (*MVec) matchPattern()   {}
func (*MMap) matchPattern()   {}
func (*MGuard) matchPattern() {}
func (*MAlt) matchPattern()   {}
func (*MAs) matchPattern()    {}
func (*MType) matchPattern()  {}

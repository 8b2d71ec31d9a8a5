package eval

import (
	"sort"
	"sync"
)

// Global is the cell of one global name. Compiled code holds the cell, so
// a global lookup is a pointer load however many globals exist.
type Global struct {
	Name    string
	value   Value
	defined bool
}

// Value returns the global's value and whether it is defined.
func (g *Global) Value() (Value, bool) { return g.value, g.defined }

// Env is a global namespace: the builtins of a universe plus the plan's
// own definitions, which may shadow builtins.
type Env struct {
	mu       sync.Mutex
	universe map[string]Value
	globals  map[string]*Global
}

// NewEnv returns an environment whose unshadowed globals come from
// universe (which is not modified).
func NewEnv(universe map[string]Value) *Env {
	return &Env{universe: universe, globals: make(map[string]*Global)}
}

// cell returns the cell for name, creating it (from the universe when the
// name is a builtin) on first use.
func (e *Env) cell(name string) *Global {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.globals[name]
	if !ok {
		g = &Global{Name: name}
		if v, ok := e.universe[name]; ok {
			g.value, g.defined = v, true
		}
		e.globals[name] = g
	}
	return g
}

// Define sets a global.
func (e *Env) Define(name string, v Value) {
	g := e.cell(name)
	e.mu.Lock()
	g.value, g.defined = v, true
	e.mu.Unlock()
}

// Lookup returns a global's value.
func (e *Env) Lookup(name string) (Value, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.globals[name]; ok {
		return g.value, g.defined
	}
	v, ok := e.universe[name]
	return v, ok
}

// Names returns the names of all defined globals, builtins included,
// sorted (for REPL completion and help).
func (e *Env) Names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for n := range e.universe {
		seen[n] = true
		out = append(out, n)
	}
	for n, g := range e.globals {
		if g.defined && !seen[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

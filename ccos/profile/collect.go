package profile

import (
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// aliases are the stdlib compatibility functions that call a capability
// on the caller's behalf (RTFS.md §7): a step that uses one can call that
// capability although no (call ...) form names it. A capability named
// only through an alias that the catalog does not know is skipped (the
// alias fails at run time), unlike an unknown literal id in a call form.
var aliases = map[string]string{
	"read-lines":        "ccos.io.read-file",
	"tool/http-fetch":   "ccos.network.http-fetch",
	"tool/current-time": "ccos.system.current-time",
}

// site is one place a capability may be called from.
type site struct {
	// args are the call's argument forms; opaque is set when the
	// arguments are not visible (an alias used as a value, e.g.
	// (map read-lines paths)).
	args   []syntax.Node
	opaque bool
	alias  bool
}

// use is everything the collector found about one capability id.
type use struct {
	sites []site
	alias bool // only reached through aliases
}

// collector walks forms and gathers the capability calls they can make.
type collector struct {
	defs    map[string]syntax.Node
	visited map[string]bool
	uses    map[string]*use
	order   []string // ids in first-seen order
	dynamic bool     // some call names its capability with a non-literal
}

func newCollector(defs map[string]syntax.Node) *collector {
	return &collector{defs: defs, uses: make(map[string]*use, 4)}
}

func (c *collector) add(id string, s site) {
	u := c.uses[id]
	if u == nil {
		u = &use{alias: s.alias}
		c.uses[id] = u
		c.order = append(c.order, id)
	}
	if !s.alias {
		u.alias = false
	}
	u.sites = append(u.sites, s)
}

// includeDef walks the definition of a top-level function the forms
// refer to, once.
func (c *collector) includeDef(name string) {
	def, ok := c.defs[name]
	if !ok || def == nil {
		return
	}
	if c.visited == nil {
		c.visited = make(map[string]bool, 4)
	}
	if c.visited[name] {
		return
	}
	c.visited[name] = true
	c.walk(def)
}

// walk visits n. Quoted forms are data and are not walked. A symbol that
// names a top-level function (Defs) includes that function's calls,
// whether the symbol is called or passed as a value.
func (c *collector) walk(n syntax.Node) {
	switch x := n.(type) {
	case *syntax.List:
		if x == nil || len(x.Elems) == 0 {
			return
		}
		if head, ok := x.Elems[0].(*syntax.Symbol); ok && head != nil {
			switch head.Name {
			case "quote":
				return
			case "call":
				c.callForm(x)
				return
			}
			if id, ok := aliases[head.Name]; ok {
				if _, shadowed := c.defs[head.Name]; !shadowed {
					c.add(id, site{args: x.Elems[1:], alias: true})
					c.walkAll(x.Elems[1:])
					return
				}
			}
		}
		c.walkAll(x.Elems)
	case *syntax.Vector:
		if x != nil {
			c.walkAll(x.Elems)
		}
	case *syntax.Map:
		if x != nil {
			c.walkAll(x.Elems)
		}
	case *syntax.Set:
		if x != nil {
			c.walkAll(x.Elems)
		}
	case *syntax.Symbol:
		if x == nil {
			return
		}
		if _, ok := c.defs[x.Name]; ok {
			c.includeDef(x.Name)
			return
		}
		if id, ok := aliases[x.Name]; ok {
			c.add(id, site{opaque: true, alias: true})
		}
	}
}

func (c *collector) walkAll(ns []syntax.Node) {
	for _, n := range ns {
		c.walk(n)
	}
}

// callForm records (call id args...). A keyword or string literal id is
// static; anything else makes the forms dynamic.
func (c *collector) callForm(l *syntax.List) {
	if len(l.Elems) < 2 {
		return
	}
	args := l.Elems[2:]
	switch id := l.Elems[1].(type) {
	case *syntax.Keyword:
		c.add(id.Name, site{args: args})
	case *syntax.String:
		c.add(id.Value, site{args: args})
	default:
		c.dynamic = true
		c.walk(l.Elems[1])
	}
	c.walkAll(args)
}

// isLiteral reports whether n is a self-evaluating constant: a scalar
// literal or a collection of them. Symbols and lists (calls) are not.
func isLiteral(n syntax.Node) bool {
	switch x := n.(type) {
	case *syntax.Nil, *syntax.Bool, *syntax.Int, *syntax.Float, *syntax.String,
		*syntax.Keyword, *syntax.Timestamp, *syntax.UUID, *syntax.Resource:
		return true
	case *syntax.Vector:
		return allLiteral(x.Elems)
	case *syntax.Map:
		return allLiteral(x.Elems)
	case *syntax.Set:
		return allLiteral(x.Elems)
	}
	return false
}

func allLiteral(ns []syntax.Node) bool {
	for _, n := range ns {
		if !isLiteral(n) {
			return false
		}
	}
	return true
}

// probe stands for an argument whose value is not known statically. It
// is passed to Capability.TargetsOf to learn whether the call's targets
// depend on that argument: a TargetsOf that inspects it fails (wrong
// type) or returns something different for the two probes.
type probe struct{ n int }

// TypeName implements value.Value.
func (*probe) TypeName() string { return "ccos.profile/unknown-argument" }

// probeMarker is the string probe; a target containing it was computed
// from an unknown argument.
const probeMarker = "\x00ccos-profile-unknown-argument\x00"

// argValues converts a call's argument forms to values; unknown[i] is
// set (and vals[i] nil) for each non-literal argument.
func argValues(args []syntax.Node) (vals []value.Value, unknown []bool, known bool) {
	vals = make([]value.Value, len(args))
	known = true
	for i, a := range args {
		if isLiteral(a) {
			vals[i] = value.FromSyntax(a)
			continue
		}
		if unknown == nil {
			unknown = make([]bool, len(args))
		}
		unknown[i] = true
		known = false
	}
	return vals, unknown, known
}

// withProbe returns a copy of vals with every unknown argument replaced
// by p.
func withProbe(vals []value.Value, unknown []bool, p value.Value) []value.Value {
	out := make([]value.Value, len(vals))
	for i, v := range vals {
		if unknown[i] {
			v = p
		}
		out[i] = v
	}
	return out
}

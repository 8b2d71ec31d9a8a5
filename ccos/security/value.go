package security

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// Keys of the data form (see ToValue).
const (
	keyName       = "name"
	keyLevel      = "level"
	keyAllow      = "allow"
	keyDeny       = "deny"
	keyAllowHosts = "allow-hosts"
	keyDenyHosts  = "deny-hosts"
	keyRead       = "read"
	keyWrite      = "write"
	keyEnv        = "env"
	keyMaxExecMs  = "max-execution-ms"
	keyMaxMemory  = "max-memory-bytes"
	keyMaxCost    = "max-cost"
	keyMaxActions = "max-actions"
	keyIsolation  = "isolation"
	keyOnDisallow = "on-disallowed-isolation"
	keyExpose     = "expose-context-to"
)

// ToValue returns c's data form, an RTFS map with keyword keys, for config
// files, causal-chain metadata and display:
//
//	{:name "ci"                        ; omitted when empty
//	 :level :controlled                ; :pure | :controlled | :full
//	 :allow ["ccos.echo" "ccos.data.*"] :deny [...]
//	 :allow-hosts ["api.example.com:443"] :deny-hosts [...]
//	 :read ["/data"] :write ["/tmp/out"] :env ["HOME"]
//	 :max-execution-ms 300000 :max-memory-bytes 536870912
//	 :max-cost 2.5 :max-actions 1000   ; limits omitted when 0 (no limit)
//	 :isolation [:isolated :sandboxed]
//	 :on-disallowed-isolation :refuse  ; or :downgrade
//	 :expose-context-to ["ccos.ai.*"]}
//
// Empty lists are omitted, except :isolation. A sub-millisecond
// MaxExecution is rounded up to a whole millisecond.
func (c *Context) ToValue() value.Value {
	b := value.NewMapBuilder()
	kw := func(k string) value.Keyword { return value.Keyword(k) }
	strs := func(key string, xs []string) {
		if len(xs) == 0 {
			return
		}
		items := make([]value.Value, len(xs))
		for i, x := range xs {
			items[i] = value.String(x)
		}
		b.Assoc(kw(key), value.NewVector(items...))
	}
	if c.Name != "" {
		b.Assoc(kw(keyName), value.String(c.Name))
	}
	b.Assoc(kw(keyLevel), kw(c.Level.String()))
	strs(keyAllow, c.AllowCaps)
	strs(keyDeny, c.DenyCaps)
	strs(keyAllowHosts, c.AllowHosts)
	strs(keyDenyHosts, c.DenyHosts)
	strs(keyRead, c.ReadRoots)
	strs(keyWrite, c.WriteRoots)
	strs(keyEnv, c.AllowEnv)
	if c.MaxExecution != 0 {
		ms := c.MaxExecution / time.Millisecond
		if c.MaxExecution%time.Millisecond > 0 {
			ms++
		}
		b.Assoc(kw(keyMaxExecMs), value.Int(ms))
	}
	if c.MaxMemoryBytes != 0 {
		b.Assoc(kw(keyMaxMemory), value.Int(c.MaxMemoryBytes))
	}
	if c.MaxCost != 0 {
		b.Assoc(kw(keyMaxCost), value.Float(c.MaxCost))
	}
	if c.MaxActions != 0 {
		b.Assoc(kw(keyMaxActions), value.Int(c.MaxActions))
	}
	isos := make([]value.Value, len(c.Isolations))
	for i, iso := range c.Isolations {
		isos[i] = kw(iso.String())
	}
	b.Assoc(kw(keyIsolation), value.NewVector(isos...))
	onDisallowed := "refuse"
	if c.Downgrade {
		onDisallowed = "downgrade"
	}
	b.Assoc(kw(keyOnDisallow), kw(onDisallowed))
	strs(keyExpose, c.ExposeContextTo)
	return b.Map()
}

// FromValue builds a context from its data form (see ToValue) and
// validates it. It is strict: the value must be a map with keyword keys,
// every key must be known, and every value must have the right type
// (string lists as vectors or lists of strings; enumerations as keywords
// or strings; limits as non-negative integers, :max-cost also as a float).
// A key whose value is nil counts as absent; a missing :level means pure.
func FromValue(v value.Value) (*Context, error) {
	m, ok := v.(*value.Map)
	if !ok {
		return nil, fmt.Errorf("security context: want a map, got %s", value.TypeName(v))
	}
	c := &Context{}
	var err error
	m.Range(func(k, x value.Value) bool {
		key, ok := k.(value.Keyword)
		if !ok {
			err = fmt.Errorf("security context: key %s is not a keyword", value.Repr(k))
			return false
		}
		if x == nil {
			return true
		}
		if e := c.setField(string(key), x); e != nil {
			err = fmt.Errorf("security context: :%s: %w", key, e)
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Context) setField(key string, x value.Value) error {
	var err error
	switch key {
	case keyName:
		s, ok := x.(value.String)
		if !ok {
			return fmt.Errorf("want a string, got %s", value.TypeName(x))
		}
		c.Name = string(s)
	case keyLevel:
		var s string
		if s, err = enumName(x); err == nil {
			c.Level, err = ParseLevel(s)
		}
	case keyAllow:
		c.AllowCaps, err = stringList(x)
	case keyDeny:
		c.DenyCaps, err = stringList(x)
	case keyAllowHosts:
		c.AllowHosts, err = stringList(x)
	case keyDenyHosts:
		c.DenyHosts, err = stringList(x)
	case keyRead:
		c.ReadRoots, err = stringList(x)
	case keyWrite:
		c.WriteRoots, err = stringList(x)
	case keyEnv:
		c.AllowEnv, err = stringList(x)
	case keyExpose:
		c.ExposeContextTo, err = stringList(x)
	case keyMaxExecMs:
		var n int64
		if n, err = nonNegInt(x); err == nil {
			if n > MaxExecutionLimit.Milliseconds() {
				return fmt.Errorf("%d ms exceeds the maximum %v", n, MaxExecutionLimit)
			}
			c.MaxExecution = time.Duration(n) * time.Millisecond
		}
	case keyMaxMemory:
		c.MaxMemoryBytes, err = nonNegInt(x)
	case keyMaxActions:
		var n int64
		if n, err = nonNegInt(x); err == nil {
			if n > MaxActionsLimit {
				return fmt.Errorf("%d exceeds the maximum %d", n, MaxActionsLimit)
			}
			c.MaxActions = int(n)
		}
	case keyMaxCost:
		switch f := x.(type) {
		case value.Float:
			c.MaxCost = float64(f)
		case value.Int:
			c.MaxCost = float64(f)
		default:
			return fmt.Errorf("want a number, got %s", value.TypeName(x))
		}
		if math.IsNaN(c.MaxCost) || c.MaxCost < 0 {
			return fmt.Errorf("want a non-negative number, got %v", c.MaxCost)
		}
	case keyIsolation:
		items, e := listItems(x)
		if e != nil {
			return e
		}
		c.Isolations = nil
		for _, it := range items {
			s, e := enumName(it)
			if e != nil {
				return e
			}
			iso, e := ParseIsolation(s)
			if e != nil {
				return e
			}
			c.Isolations = append(c.Isolations, iso)
		}
	case keyOnDisallow:
		var s string
		if s, err = enumName(x); err == nil {
			switch s {
			case "refuse":
				c.Downgrade = false
			case "downgrade":
				c.Downgrade = true
			default:
				err = fmt.Errorf("want :refuse or :downgrade, got %s", value.Repr(x))
			}
		}
	default:
		return errors.New("unknown key")
	}
	return err
}

func enumName(x value.Value) (string, error) {
	switch s := x.(type) {
	case value.Keyword:
		return string(s), nil
	case value.String:
		return string(s), nil
	}
	return "", fmt.Errorf("want a keyword, got %s", value.TypeName(x))
}

func listItems(x value.Value) ([]value.Value, error) {
	switch l := x.(type) {
	case *value.Vector:
		return l.Items(), nil
	case *value.List:
		return l.Items(), nil
	}
	return nil, fmt.Errorf("want a vector, got %s", value.TypeName(x))
}

func stringList(x value.Value) ([]string, error) {
	items, err := listItems(x)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, it := range items {
		s, ok := it.(value.String)
		if !ok {
			return nil, fmt.Errorf("item %d: want a string, got %s", i, value.TypeName(it))
		}
		out = append(out, string(s))
	}
	return out, nil
}

func nonNegInt(x value.Value) (int64, error) {
	n, ok := x.(value.Int)
	if !ok {
		return 0, fmt.Errorf("want an integer, got %s", value.TypeName(x))
	}
	if n < 0 {
		return 0, fmt.Errorf("want a non-negative integer, got %d", n)
	}
	return int64(n), nil
}

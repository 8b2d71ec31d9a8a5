package intents

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Source returns the canonical RTFS form of an intent, generated from its
// fields:
//
//	(intent "name"
//	  :intent-id "intent-..."
//	  :goal "..."
//	  :original-request "..."
//	  :constraints {:max-cost 10}
//	  ...)
//
// The name is the intent's id when it has none. Optional fields are left
// out when empty; map entries are sorted by their printed key so that the
// form is a function of the intent, not of map insertion order. The
// success criteria, RTFS source already, is embedded as written. The
// result reads back with the RTFS reader.
func Source(in *model.Intent) string {
	var b strings.Builder
	name := in.Name
	if name == "" {
		name = in.ID
	}
	b.WriteString("(intent ")
	b.WriteString(value.Quote(name))
	field := func(key, repr string) {
		b.WriteString("\n  :")
		b.WriteString(key)
		b.WriteByte(' ')
		b.WriteString(repr)
	}
	str := func(key, s string) {
		if s != "" {
			field(key, value.Quote(s))
		}
	}
	mp := func(key string, m *value.Map) {
		if m != nil && m.Len() > 0 {
			field(key, sortedMapRepr(m))
		}
	}
	str("intent-id", in.ID)
	str("goal", in.Goal)
	str("original-request", in.OriginalRequest)
	mp("constraints", in.Constraints)
	mp("preferences", in.Preferences)
	if s := strings.TrimSpace(in.SuccessCriteria); s != "" {
		field("success-criteria", s)
	}
	if in.Status != "" {
		field("status", ":"+string(in.Status))
	}
	field("priority", strconv.FormatInt(in.Priority, 10))
	str("parent-intent", in.ParentIntent)
	if in.TriggeredBy != "" {
		field("triggered-by", ":"+string(in.TriggeredBy))
	}
	mp("generation-context", in.GenerationContext)
	if !in.CreatedAt.IsZero() {
		field("created-at", value.Quote(model.FormatTime(in.CreatedAt)))
	}
	if !in.UpdatedAt.IsZero() {
		field("updated-at", value.Quote(model.FormatTime(in.UpdatedAt)))
	}
	mp("metadata", in.Metadata)
	b.WriteByte(')')
	return b.String()
}

// sortedMapRepr prints a map with its entries sorted by printed key (and
// nested maps likewise), so equal maps print equally.
func sortedMapRepr(m *value.Map) string {
	type entry struct{ k, v string }
	var es []entry
	m.Range(func(k, v value.Value) bool {
		es = append(es, entry{valueRepr(k), valueRepr(v)})
		return true
	})
	sort.Slice(es, func(i, j int) bool { return es[i].k < es[j].k })
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range es {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.k)
		b.WriteByte(' ')
		b.WriteString(e.v)
	}
	b.WriteByte('}')
	return b.String()
}

// valueRepr prints v, sorting the entries of maps (at any depth inside
// vectors, lists and maps).
func valueRepr(v value.Value) string {
	switch x := v.(type) {
	case *value.Map:
		return sortedMapRepr(x)
	case *value.Vector:
		parts := make([]string, 0, x.Len())
		x.Range(func(_ int, e value.Value) bool {
			parts = append(parts, valueRepr(e))
			return true
		})
		return "[" + strings.Join(parts, " ") + "]"
	case *value.List:
		var parts []string
		x.Range(func(e value.Value) bool {
			parts = append(parts, valueRepr(e))
			return true
		})
		return "(" + strings.Join(parts, " ") + ")"
	case *value.Set:
		var parts []string
		x.Range(func(e value.Value) bool {
			parts = append(parts, valueRepr(e))
			return true
		})
		sort.Strings(parts)
		return "#{" + strings.Join(parts, " ") + "}"
	}
	return value.Repr(v)
}

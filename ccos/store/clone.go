package store

import (
	"slices"

	"github.com/ccos-go/ccos/ccos/model"
)

// The Clone functions return copies of model objects that share nothing
// mutable with the original (RTFS values are immutable and are shared), so
// that a store's caller cannot change what is stored, and vice versa.

// CloneAction returns a copy of a (nil for nil).
func CloneAction(a *model.Action) *model.Action {
	if a == nil {
		return nil
	}
	c := *a
	if a.Result != nil {
		r := *a.Result
		if r.Error != nil {
			e := *r.Error
			r.Error = &e
		}
		c.Result = &r
	}
	if a.Cost != nil {
		v := *a.Cost
		c.Cost = &v
	}
	if a.DurationMs != nil {
		v := *a.DurationMs
		c.DurationMs = &v
	}
	return &c
}

// CloneCheckpoint returns a copy of c (nil for nil).
func CloneCheckpoint(c *model.Checkpoint) *model.Checkpoint {
	if c == nil {
		return nil
	}
	x := *c
	x.Signature = slices.Clone(c.Signature)
	return &x
}

// CloneIntent returns a copy of in (nil for nil).
func CloneIntent(in *model.Intent) *model.Intent {
	if in == nil {
		return nil
	}
	c := *in
	return &c
}

// CloneEdge returns a copy of e (nil for nil).
func CloneEdge(e *model.IntentEdge) *model.IntentEdge {
	if e == nil {
		return nil
	}
	c := *e
	if e.Weight != nil {
		w := *e.Weight
		c.Weight = &w
	}
	return &c
}

// ClonePlan returns a copy of p (nil for nil).
func ClonePlan(p *model.Plan) *model.Plan {
	if p == nil {
		return nil
	}
	c := *p
	c.IntentIDs = slices.Clone(p.IntentIDs)
	c.CapabilitiesRequired = slices.Clone(p.CapabilitiesRequired)
	return &c
}

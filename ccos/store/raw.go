package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
)

// RawAction is a stored action before decoding: its canonical body and
// the indexed columns stored beside it.
type RawAction struct {
	Seq, TimestampMs                                  int64
	ActionID, ParentActionID, RunID, PlanID, IntentID string
	Type, Name, Hash, PrevHash                        string
	Body                                              []byte
}

// Decode returns the action that readers of the store see: the decoded
// body with the columns laid over it. A column edited behind the store's
// back therefore changes what is read, and verification (which hashes
// what Decode returns) notices.
func (r *RawAction) Decode() (*model.Action, error) {
	a, err := model.DecodeAction(r.Body)
	if err != nil {
		return nil, fmt.Errorf("action at seq %d: %w", r.Seq, err)
	}
	a.Seq = uint64(r.Seq)
	a.ActionID, a.ParentActionID, a.RunID = r.ActionID, r.ParentActionID, r.RunID
	a.PlanID, a.IntentID, a.Name = r.PlanID, r.IntentID, r.Name
	a.Type = model.ActionType(r.Type)
	a.Hash, a.PrevHash = r.Hash, r.PrevHash
	if a.Timestamp.UnixMilli() != r.TimestampMs {
		a.Timestamp = time.UnixMilli(r.TimestampMs).UTC()
	}
	return a, nil
}

// ContentHash returns HashAction of what Decode returns (an error if
// Decode or HashAction fails). Canonical bodies, which is every body the
// store wrote, are hashed as stored without decoding their RTFS values;
// anything else takes the exact path. buf is scratch space (may be nil)
// and is returned, possibly grown, for reuse.
func (r *RawAction) ContentHash(buf []byte) (string, []byte, error) {
	cols := model.Action{
		Seq: uint64(r.Seq), ActionID: r.ActionID, ParentActionID: r.ParentActionID, RunID: r.RunID,
		PlanID: r.PlanID, IntentID: r.IntentID, Type: model.ActionType(r.Type), Name: r.Name,
		PrevHash: r.PrevHash, Timestamp: time.UnixMilli(r.TimestampMs).UTC(),
	}
	h, ok, buf := model.HashStoredAction(r.Body, &cols, buf)
	if ok {
		return h, buf, nil
	}
	a, err := r.Decode()
	if err != nil {
		return "", buf, err
	}
	h, err = model.HashAction(a)
	return h, buf, err
}

// RawScanner is implemented by stores that can hand out actions
// undecoded, in storage order like ScanActions, so that verification can
// decode them on every CPU instead of on the reading goroutine.
type RawScanner interface {
	ScanRawActions(ctx context.Context, fn func(*RawAction) error) error
}

package ledger

import (
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
)

// rawHasher computes store.RawAction.ContentHash with scratch space kept
// between rows: one per worker.
type rawHasher struct {
	cols model.Action
	buf  []byte
}

// hash returns r.ContentHash(): HashAction of what r.Decode returns.
func (h *rawHasher) hash(r *store.RawAction) (string, error) {
	h.cols = model.Action{
		Seq: uint64(r.Seq), ActionID: r.ActionID, ParentActionID: r.ParentActionID, RunID: r.RunID,
		PlanID: r.PlanID, IntentID: r.IntentID, Type: model.ActionType(r.Type), Name: r.Name,
		PrevHash: r.PrevHash, Timestamp: time.UnixMilli(r.TimestampMs).UTC(),
	}
	s, ok, buf := model.HashStoredAction(r.Body, &h.cols, h.buf)
	h.buf = buf
	if ok {
		return s, nil
	}
	// As ContentHash: the exact path.
	a, err := r.Decode()
	if err != nil {
		return "", err
	}
	return model.HashAction(a)
}

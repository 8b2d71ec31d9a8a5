package ledger

import (
	"slices"
	"sync"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
)

// SubscriberBuffer is the capacity of a subscription's channel.
const SubscriberBuffer = 1024

// Filter selects the actions a subscriber receives; zero fields do not
// filter, and Types (when not empty) lists the accepted types.
type Filter struct {
	RunID, PlanID, IntentID string
	Types                   []model.ActionType
}

func (f *Filter) match(a *model.Action) bool {
	switch {
	case f.RunID != "" && a.RunID != f.RunID,
		f.PlanID != "" && a.PlanID != f.PlanID,
		f.IntentID != "" && a.IntentID != f.IntentID,
		len(f.Types) > 0 && !slices.Contains(f.Types, a.Type):
		return false
	}
	return true
}

type subscriber struct {
	f  Filter
	ch chan *model.Action
}

type subscribers struct {
	mu     sync.Mutex
	closed bool
	set    map[*subscriber]struct{}
}

// Subscribe returns a channel that receives every action matching f that
// becomes durable from now on, in seq order, and a function that ends the
// subscription (and closes the channel; calling it again does nothing).
//
// A slow subscriber never blocks appends: the channel has a buffer of
// SubscriberBuffer actions, and a subscriber whose buffer is full when the
// writer publishes is disconnected: its channel is closed without the
// action. Nothing is silently skipped: a consumer that sees its channel
// closed before it called the cancel function knows it fell behind, and
// catches up by re-subscribing and then querying the actions after the
// last seq it saw (store.ActionQuery{AfterSeq: seq}), dropping duplicates
// by seq. The channel is also closed when the ledger is closed.
func (l *Ledger) Subscribe(f Filter) (<-chan *model.Action, func()) {
	f.Types = slices.Clone(f.Types)
	s := &subscriber{f: f, ch: make(chan *model.Action, SubscriberBuffer)}
	l.subs.mu.Lock()
	defer l.subs.mu.Unlock()
	if l.subs.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	if l.subs.set == nil {
		l.subs.set = map[*subscriber]struct{}{}
	}
	l.subs.set[s] = struct{}{}
	return s.ch, func() {
		l.subs.mu.Lock()
		defer l.subs.mu.Unlock()
		if _, ok := l.subs.set[s]; ok {
			delete(l.subs.set, s)
			close(s.ch)
		}
	}
}

// publish delivers the actions of committed requests (writer goroutine).
func (ss *subscribers) publish(reqs []*request) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.set) == 0 {
		return
	}
	for s := range ss.set {
		for _, r := range reqs {
			if !s.f.match(r.a) {
				continue
			}
			select {
			case s.ch <- store.CloneAction(r.a):
			default:
				delete(ss.set, s)
				close(s.ch)
			}
			if _, ok := ss.set[s]; !ok {
				break
			}
		}
	}
}

func (ss *subscribers) closeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for s := range ss.set {
		close(s.ch)
	}
	ss.set = nil
}

package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
)

// Problem is what Verify found wrong.
type Problem string

// Problems, in the words `ccos chain verify` prints.
const (
	ChangedContent     Problem = "changed content"
	MissingAction      Problem = "missing action"
	InsertedAction     Problem = "inserted action"
	Reordered          Problem = "reordered"
	BrokenLink         Problem = "broken link"
	BadSignature       Problem = "bad signature"
	CheckpointMismatch Problem = "checkpoint mismatch"
	TruncatedTail      Problem = "truncated tail"
)

// VerifyError names the first bad seq of a chain and what is wrong there.
type VerifyError struct {
	Seq    uint64
	Kind   Problem
	Detail string
}

func (e *VerifyError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("seq %d: %s", e.Seq, e.Kind)
	}
	return fmt.Sprintf("seq %d: %s: %s", e.Seq, e.Kind, e.Detail)
}

// Report summarises a verification.
type Report struct {
	Actions     int    // actions checked and found good
	Checkpoints int    // checkpoints read
	HeadSeq     uint64 // last good action
	HeadHash    string
	// Unsigned counts the actions after the last checkpoint. The ledger
	// signs every commit batch, so a ledger it wrote has none; actions
	// appended behind its back with correct hashes and links can only
	// be told apart this way (or by a later checkpoint that does not
	// match them).
	Unsigned int
	Elapsed  time.Duration
}

// Verify re-checks the whole chain held by st, reading actions in storage
// order:
//   - every action's hash, recomputed from its content;
//   - gap-free seq from 1 in storage order and every prev_hash link;
//   - every checkpoint's signature (keys maps key ids to public keys; an
//     unknown key id is a bad signature) and that its head hash is the
//     hash of the action at its seq.
//
// It returns the report and, on the first problem (by chain position), a
// *VerifyError naming the seq:
//   - changed content: the stored hash does not match the content; or the
//     content and hash were rewritten together, which shows as the next
//     action (or a checkpoint) committing to a different hash;
//   - missing action: a seq that is absent (a deleted row);
//   - reordered: the first seq whose row is stored after a later one;
//   - inserted action: a second row for an existing seq, or a row that
//     links neither to its predecessor nor from its successor;
//   - broken link: a prev_hash that cannot be explained otherwise;
//   - bad signature, checkpoint mismatch: at the checkpoint's seq;
//   - truncated tail: a checkpoint refers to a seq beyond the last action
//     (rows dropped at the end), naming the first missing seq.
//
// Rows appended after the last checkpoint with correct hashes and links
// are not an error: Report.Unsigned counts them. Dropping the tail
// together with the checkpoints that cover it is not detectable from the
// store alone; checkpoints published elsewhere (or compared with an
// earlier Report) are needed for that.
func Verify(ctx context.Context, st store.Store, keys map[string]ed25519.PublicKey) (*Report, error) {
	start := time.Now()
	rep := &Report{}
	cps, ready, err := loadCheckpoints(ctx, st, keys)
	if err != nil {
		return rep, err
	}
	rep.Checkpoints = len(cps)
	c := &checker{next: 1, cps: cps, ready: ready, rep: rep}
	err = scanHashed(ctx, st, c)
	<-ready
	if err != nil {
		rep.Elapsed = time.Since(start)
		return rep, err
	}
	c.finish()
	rep.Elapsed = time.Since(start)
	if c.err != nil {
		return rep, c.err
	}
	return rep, nil
}

// cpInfo is what Verify keeps of a checkpoint.
type cpInfo struct {
	seq  uint64
	head string
	bad  string // why the signature is bad, "" if good
}

// loadCheckpoints reads every checkpoint and starts checking the
// signatures in parallel, in the background while the actions are read:
// the bad fields are set when ready is closed.
func loadCheckpoints(ctx context.Context, st store.Store, keys map[string]ed25519.PublicKey) ([]cpInfo, <-chan struct{}, error) {
	var raw []*model.Checkpoint
	err := st.ScanCheckpoints(ctx, func(c *model.Checkpoint) error {
		raw = append(raw, c)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: read checkpoints: %w", err)
	}
	out := make([]cpInfo, len(raw))
	for i, c := range raw {
		if i > 0 && c.Seq < raw[i-1].Seq {
			return nil, nil, fmt.Errorf("ledger: store returned checkpoints out of seq order")
		}
		out[i] = cpInfo{seq: c.Seq, head: c.HeadHash}
	}
	workers := min(runtime.GOMAXPROCS(0), len(raw)/64+1)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(raw); i += workers {
				c := raw[i]
				pub, ok := keys[c.KeyID]
				switch {
				case !ok:
					out[i].bad = fmt.Sprintf("unknown key id %q", c.KeyID)
				case len(pub) != ed25519.PublicKeySize:
					out[i].bad = fmt.Sprintf("malformed public key for key id %q", c.KeyID)
				case !ed25519.Verify(pub, model.CheckpointPayload(c), c.Signature):
					out[i].bad = "signature does not verify with key " + c.KeyID
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(ready)
	}()
	return out, ready, nil
}

// item is a row with its recomputed hash: seq, stored hash and prev_hash
// are what readers of the store see for the row. Stores that hand out raw
// or packed rows leave hash empty until a worker unpacks and hashes them.
type item struct {
	seq          uint64
	stored, prev string // the row's hash and prev_hash
	a            *model.Action
	raw          *store.RawAction
	packed       string // for store.PackedScanner.UnpackAction
	hash         string
	err          error // the row cannot be decoded or hashed
	fatal        error // the row could not be read
}

type chunk struct {
	items []item
	done  chan struct{}
}

const chunkSize = 1024

var errStop = errors.New("stop scan")

// scanHashed reads the actions in storage order, recomputes their hashes
// on all CPUs and feeds them to c in order, until c has decided.
func scanHashed(ctx context.Context, st store.Store, c *checker) error {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk, workers*2)
	order := make(chan *chunk, workers*4)
	var stop atomic.Bool
	ps, _ := st.(store.PackedScanner)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var (
				h  rawHasher
				pr store.RawAction
			)
			for ch := range work {
				for i := range ch.items {
					it := &ch.items[i]
					if it.packed != "" {
						if err := ps.UnpackAction(it.packed, &pr); err != nil {
							// Not what the store handed out: a
							// failure to read, not a finding.
							it.fatal, it.packed = err, ""
							continue
						}
						it.raw, it.packed = &pr, ""
					}
					if r := it.raw; r != nil {
						// Decode's overlay: these come from the columns.
						it.seq, it.stored, it.prev = uint64(r.Seq), r.Hash, r.PrevHash
						// An undecodable row is changed content at its
						// seq.
						it.hash, it.err = h.hash(r)
						it.raw = nil
						continue
					}
					it.seq, it.stored, it.prev = it.a.Seq, it.a.Hash, it.a.PrevHash
					it.hash, it.err = model.HashAction(it.a)
					it.a = nil
				}
				close(ch.done)
			}
		})
	}
	consumed := make(chan struct{})
	var readErr error // set by the consumer before it stops
	// Chunks the checker is done with, for the reader to fill again.
	free := make(chan *chunk, workers*4)
	go func() {
		defer close(consumed)
		<-c.ready       // the checker needs the checkpoint signatures
		var last *chunk // the checker may still point into its last item
		for ch := range order {
			<-ch.done
			if stop.Load() {
				continue
			}
			for i := range ch.items {
				if it := &ch.items[i]; it.fatal != nil {
					readErr = it.fatal
					stop.Store(true)
					break
				}
				if c.feed(&ch.items[i]) {
					stop.Store(true)
					break
				}
			}
			// The checker only keeps the item it has just been fed
			// (c.cur), so it is done with the chunk before ch.
			if last != nil {
				select {
				case free <- last:
				default:
				}
			}
			last = ch
		}
	}()
	newChunk := func() *chunk {
		select {
		case ch := <-free:
			// Every item is overwritten whole by add.
			ch.items, ch.done = ch.items[:0], make(chan struct{})
			return ch
		default:
			return &chunk{items: make([]item, 0, chunkSize), done: make(chan struct{})}
		}
	}
	cur := newChunk()
	send := func() {
		work <- cur
		order <- cur
		cur = newChunk()
	}
	add := func(it item) error {
		if stop.Load() {
			return errStop
		}
		cur.items = append(cur.items, it)
		if len(cur.items) == chunkSize {
			send()
		}
		return nil
	}
	var err error
	if ps != nil {
		// Even the columns are split by the workers.
		err = ps.ScanPackedActions(ctx, func(packed string, r *store.RawAction) error {
			return add(item{packed: packed, raw: r})
		})
	} else if rs, ok := st.(store.RawScanner); ok {
		// Decoding is most of the work: leave it to the workers.
		err = rs.ScanRawActions(ctx, func(r *store.RawAction) error { return add(item{raw: r}) })
	} else {
		err = st.ScanActions(ctx, 1, func(a *model.Action) error { return add(item{a: a}) })
	}
	if len(cur.items) > 0 {
		send()
	}
	close(work)
	close(order)
	wg.Wait()
	<-consumed
	if readErr != nil {
		err = readErr
	}
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("ledger: read actions: %w", err)
	}
	return nil
}

// checker follows the chain in storage order. It looks one row ahead to
// tell an inserted row from a rewritten predecessor.
type checker struct {
	next uint64 // seq expected next
	prev string // hash of the last good action
	cps  []cpInfo
	// ready is closed once the cps' signatures are checked.
	ready <-chan struct{}
	ci    int // index of the first checkpoint not yet matched
	rep   *Report

	cur *item // the row being decided, waiting for its successor
	err *VerifyError
	// gap: a row with seq > next was seen; look for seq next later on.
	gap     bool
	gapSeen uint64 // the seq that was found instead
}

// feed takes the next row; it returns true when the outcome is decided
// and no more rows are needed.
func (c *checker) feed(it *item) bool {
	if c.gap {
		return c.resolveGap(it)
	}
	if c.cur == nil {
		c.cur = it
		return false
	}
	cur := c.cur
	c.cur = it
	return c.step(cur, it)
}

// finish decides the last row and the checkpoints past the end.
func (c *checker) finish() {
	if c.err == nil && !c.gap && c.cur != nil {
		cur := c.cur
		c.cur = nil
		c.step(cur, nil)
	}
	if c.err != nil {
		return
	}
	if c.gap {
		c.err = &VerifyError{Seq: c.next, Kind: MissingAction, Detail: fmt.Sprintf("no action with seq %d (found seq %d in its place)", c.next, c.gapSeen)}
		return
	}
	// Checkpoints beyond the last action.
	if c.ci < len(c.cps) {
		cp := c.cps[c.ci]
		if cp.bad != "" {
			c.err = &VerifyError{Seq: cp.seq, Kind: BadSignature, Detail: "checkpoint: " + cp.bad}
		} else {
			c.err = &VerifyError{Seq: c.next, Kind: TruncatedTail, Detail: fmt.Sprintf("a signed checkpoint covers seq %d but the chain ends at seq %d", cp.seq, c.next-1)}
		}
		return
	}
	last := uint64(0)
	if len(c.cps) > 0 {
		last = c.cps[len(c.cps)-1].seq
	}
	c.rep.Unsigned = int(c.next - 1 - last)
}

// step decides about cur given the row after it (nil at the end).
func (c *checker) step(cur, nxt *item) bool {
	a := cur
	if cur.err != nil {
		c.err = &VerifyError{Seq: a.seq, Kind: ChangedContent, Detail: "cannot decode or encode: " + cur.err.Error()}
		return true
	}
	if cur.hash != a.stored {
		c.err = &VerifyError{Seq: a.seq, Kind: ChangedContent, Detail: "stored hash does not match the content"}
		return true
	}
	switch {
	case a.seq < c.next:
		c.err = &VerifyError{Seq: a.seq, Kind: InsertedAction, Detail: fmt.Sprintf("a second row claims seq %d", a.seq)}
		return true
	case a.seq > c.next:
		// A gap: the expected seq was deleted or is stored later.
		c.gap, c.gapSeen = true, a.seq
		if nxt != nil {
			return c.resolveGap(nxt)
		}
		return false
	case a.prev != c.prev:
		c.err = c.brokenLink(cur, nxt)
		return true
	}
	return c.accept(a)
}

// accept takes a as the next good action and checks the checkpoints at
// its seq.
func (c *checker) accept(a *item) bool {
	for ; c.ci < len(c.cps) && c.cps[c.ci].seq <= a.seq; c.ci++ {
		cp := c.cps[c.ci]
		switch {
		case cp.bad != "":
			c.err = &VerifyError{Seq: cp.seq, Kind: BadSignature, Detail: "checkpoint: " + cp.bad}
		case cp.seq < a.seq:
			// Only possible for seq 0: nothing to match.
			continue
		case cp.head != a.stored:
			c.err = &VerifyError{Seq: cp.seq, Kind: CheckpointMismatch, Detail: "the signed head hash differs from the stored action's hash"}
		default:
			continue
		}
		return true
	}
	c.rep.Actions++
	c.rep.HeadSeq, c.rep.HeadHash = a.seq, a.stored
	c.next, c.prev = a.seq+1, a.stored
	return false
}

// brokenLink explains a row with the expected seq whose prev_hash is not
// the previous action's hash.
func (c *checker) brokenLink(cur, nxt *item) *VerifyError {
	a := cur
	if a.seq == 1 {
		return &VerifyError{Seq: 1, Kind: BrokenLink, Detail: "the first action has a prev_hash"}
	}
	signed := false // a good checkpoint vouches for cur
	for i := c.ci; i < len(c.cps) && c.cps[i].seq <= a.seq; i++ {
		if c.cps[i].seq == a.seq && c.cps[i].bad == "" && c.cps[i].head == a.stored {
			signed = true
		}
	}
	switch {
	case nxt != nil && nxt.seq == a.seq:
		return &VerifyError{Seq: a.seq, Kind: InsertedAction, Detail: fmt.Sprintf("two rows claim seq %d and this one does not link to seq %d", a.seq, a.seq-1)}
	case signed || nxt != nil && nxt.err == nil && nxt.prev == a.stored && nxt.stored == nxt.hash:
		// cur is part of the signed or linked chain, so the previous
		// row is not what cur committed to.
		return &VerifyError{Seq: a.seq - 1, Kind: ChangedContent, Detail: fmt.Sprintf("content and hash were rewritten: seq %d links to a different hash", a.seq)}
	default:
		return &VerifyError{Seq: a.seq, Kind: InsertedAction, Detail: fmt.Sprintf("does not link to seq %d, and nothing links to it", a.seq-1)}
	}
}

// resolveGap looks for the missing seq c.next among the rows after a gap.
func (c *checker) resolveGap(it *item) bool {
	a := it
	if a.seq != c.next {
		return false
	}
	if it.err == nil && it.hash == a.stored && a.prev == c.prev {
		c.err = &VerifyError{Seq: c.next, Kind: Reordered, Detail: fmt.Sprintf("stored after seq %d", c.gapSeen)}
	} else {
		c.err = &VerifyError{Seq: c.next, Kind: MissingAction, Detail: fmt.Sprintf("seq %d was found in its place; a later row claiming seq %d does not link to seq %d", c.gapSeen, c.next, c.next-1)}
	}
	return true
}

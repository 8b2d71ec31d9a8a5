// Package ledger is the causal chain of CCOS (CCOS.md §2): an append-only,
// hash-chained, signed and durable log of actions.
//
// # Writing
//
// All appends go through one writer goroutine. Append does the work that
// does not depend on the chain position in the caller's goroutine (copy,
// id, timestamp, canonical encoding with placeholders, see encode.go) and
// hands the action to the writer. The writer takes every append that is
// waiting (up to Options.MaxBatch), gives each its seq, prev_hash and hash
// in order, signs the new head and commits actions, mutations and the
// signed checkpoint in one Store.Commit (one transaction, one fsync: group
// commit). Append returns once that commit is durable.
//
// # Checkpoints
//
// Every commit batch carries a checkpoint {seq, head hash, time, key id}
// signed with Ed25519, so every acknowledged action is covered by a
// signature as soon as it is acknowledged. Should a head ever be unsigned
// (a store opened with Options.AllowUnsignedTail), the writer signs it
// within Options.CheckpointInterval, and Close signs it at the latest.
//
// # Reading
//
// Get, Query and Children read the store directly; Subscribe delivers the
// actions of each durable batch to live consumers (see Subscribe for what
// happens to slow ones). Verify re-checks a whole store.
package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/rtfs/value"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("ledger: closed")

// Options configure a Ledger.
type Options struct {
	Store store.Store
	// Key signs checkpoints; required.
	Key ed25519.PrivateKey
	// KeyID is recorded with each checkpoint (default KeyID(Key's public
	// key)).
	KeyID string
	// MaxBatch is the most actions one commit holds (default 4096).
	MaxBatch int
	// CheckpointInterval bounds how long a head may stay unsigned
	// (default 1s). Since every batch is signed, it only matters for an
	// unsigned tail accepted by AllowUnsignedTail.
	CheckpointInterval time.Duration
	// Now is the clock (default time.Now); times are truncated with
	// model.Millis.
	Now func() time.Time
	// AllowUnsignedTail lets Open accept a store whose last actions are not
	// covered by a checkpoint (and sign over them). The ledger commits a
	// checkpoint with every batch, so such a tail was written behind its
	// back; by default Open refuses it, since signing it would bless rows
	// that nobody vouched for.
	AllowUnsignedTail bool
}

// head is the chain head as seen by readers of Head.
type head struct {
	seq  uint64
	hash string
}

// request is one pending Append.
type request struct {
	ctx  context.Context
	a    *model.Action
	pe   *preEncoded
	muts []store.Mutation
	err  error
	done chan struct{}
}

// Ledger is the causal chain. Its methods are safe for concurrent use.
type Ledger struct {
	st       store.Store
	key      ed25519.PrivateKey
	keyID    string
	maxBatch int
	interval time.Duration
	now      func() time.Time

	// closeMu orders Appends (read-locked while handing a request over)
	// against Close (which closes reqs under the write lock).
	closeMu sync.RWMutex
	closed  bool
	reqs    chan *request
	done    chan struct{} // closed when the writer has exited
	failed  atomic.Pointer[error]
	// pending counts appends from their start until the writer completes
	// them (or they fail before reaching it).
	pending atomic.Int64
	// blocked counts Append calls waiting for their action to be
	// durable: the appenders whose next append group commit should wait
	// for. Submit's pipelining callers are not blocked and are not
	// waited for.
	blocked atomic.Int64

	head atomic.Pointer[head]

	// metaEnc memoises the encodings of shared metadata maps
	// (SubmitOptions.SharedMetadata).
	metaMu  sync.Mutex
	metaEnc map[*value.Map][]byte

	subs subscribers

	stats struct{ commits, actions atomic.Int64 }

	// Writer state (writer goroutine only).
	hasher     *hasher
	seq        uint64
	hash       string
	signedSeq  uint64 // seq of the last checkpoint written
	lastSigned time.Time
	batch      []*request
	// recent holds, for the last few commits, how many Append calls were
	// blocked when the commit started (its batch plus those still
	// pending): an estimate of how many appenders are active, which
	// gather waits for.
	recent  [8]int64
	recentI int
	actions []*model.Action
	bodies  [][]byte
	muts    []store.Mutation
}

// Open returns a ledger over o.Store, continuing its chain. It checks the
// stored head against the last checkpoint (the head must be signed and the
// checkpoint must match it) and starts the writer.
func Open(ctx context.Context, o Options) (*Ledger, error) {
	if o.Store == nil {
		return nil, errors.New("ledger: Options.Store is required")
	}
	if len(o.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("ledger: Options.Key (an Ed25519 private key) is required")
	}
	l := &Ledger{
		st:       o.Store,
		key:      o.Key,
		keyID:    o.KeyID,
		maxBatch: o.MaxBatch,
		interval: o.CheckpointInterval,
		now:      o.Now,
		hasher:   newHasher(),
	}
	if l.keyID == "" {
		l.keyID = KeyID(o.Key.Public().(ed25519.PublicKey))
	}
	if l.maxBatch <= 0 {
		l.maxBatch = 4096
	}
	if l.interval <= 0 {
		l.interval = time.Second
	}
	if l.now == nil {
		l.now = time.Now
	}
	if err := l.loadHead(ctx, o.AllowUnsignedTail); err != nil {
		return nil, err
	}
	l.head.Store(&head{seq: l.seq, hash: l.hash})
	l.reqs = make(chan *request, l.maxBatch)
	l.done = make(chan struct{})
	l.lastSigned = l.now()
	go l.run()
	return l, nil
}

// loadHead reads the stored head and checks the tail after the last
// checkpoint: its hashes and links, and that the checkpoint matches.
func (l *Ledger) loadHead(ctx context.Context, allowUnsigned bool) error {
	last, cp, err := l.st.Head(ctx)
	if err != nil {
		return fmt.Errorf("ledger: read head: %w", err)
	}
	if last == nil {
		if cp != nil {
			return &VerifyError{Seq: 1, Kind: TruncatedTail, Detail: fmt.Sprintf("checkpoint at seq %d but the chain is empty", cp.Seq)}
		}
		return nil
	}
	from := uint64(1)
	if cp != nil {
		if cp.Seq > last.Seq {
			return &VerifyError{Seq: last.Seq + 1, Kind: TruncatedTail, Detail: fmt.Sprintf("last checkpoint is at seq %d but the chain ends at seq %d", cp.Seq, last.Seq)}
		}
		from = cp.Seq
	}
	// Check the tail from the checkpointed action on.
	next, prev := from, ""
	err = l.st.ScanActions(ctx, from, func(a *model.Action) error {
		h, err := model.HashAction(a)
		if err != nil {
			return err
		}
		if h != a.Hash {
			return &VerifyError{Seq: a.Seq, Kind: ChangedContent, Detail: "stored hash does not match the content"}
		}
		if a.Seq != next {
			return &VerifyError{Seq: next, Kind: MissingAction, Detail: fmt.Sprintf("expected seq %d, found seq %d", next, a.Seq)}
		}
		if cp != nil && a.Seq == cp.Seq {
			if a.Hash != cp.HeadHash {
				return &VerifyError{Seq: a.Seq, Kind: CheckpointMismatch, Detail: "last checkpoint's head hash differs from the stored action"}
			}
		} else if a.PrevHash != prev {
			return &VerifyError{Seq: a.Seq, Kind: BrokenLink, Detail: "prev_hash does not match the previous action"}
		}
		next, prev = a.Seq+1, a.Hash
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: stored chain head: %w", err)
	}
	if next != last.Seq+1 || prev != last.Hash {
		return fmt.Errorf("ledger: stored chain head: %w", &VerifyError{Seq: next, Kind: MissingAction, Detail: fmt.Sprintf("chain ends at seq %d, head is seq %d", next-1, last.Seq)})
	}
	l.seq, l.hash = last.Seq, last.Hash
	if cp != nil {
		l.signedSeq = cp.Seq
	}
	if l.signedSeq < l.seq && !allowUnsigned {
		return fmt.Errorf("ledger: stored chain head: %d actions after the last checkpoint (seq %d..%d) are not signed; refusing to sign over them (Verify the store; Options.AllowUnsignedTail accepts them)", l.seq-l.signedSeq, l.signedSeq+1, l.seq)
	}
	return nil
}

// NewActionID returns a fresh action id: "act-" and 20 hex digits, the
// first 12 the creation time in milliseconds, the rest random.
func NewActionID() string {
	// Time first, then randomness: ids of actions appended together sort
	// together, so the unique index on action ids grows at its right edge
	// instead of dirtying a random page per insert (which dominated the
	// cost of a commit).
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return "act-" + hex.EncodeToString(b[:])
}

// Append records a and returns a copy of it with ActionID (a random one if
// empty), Timestamp (now if zero; always truncated to milliseconds), Seq,
// PrevHash and Hash filled in, once the batch holding it is durable. a
// itself is not modified. muts are committed in the same transaction.
//
// If ctx is done before the writer takes the action, it is not recorded;
// if it is done later, Append returns ctx.Err() and the action may or may
// not have been recorded.
func (l *Ledger) Append(ctx context.Context, a *model.Action, muts ...store.Mutation) (*model.Action, error) {
	l.blocked.Add(1)
	defer l.blocked.Add(-1)
	p, err := l.Submit(ctx, a, muts...)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// Pending is an action submitted to the writer and not yet known to be
// durable.
type Pending struct {
	r *request
}

// Done is closed once the action is durable or has failed.
func (p *Pending) Done() <-chan struct{} { return p.r.done }

// Wait returns the committed action (as Append does) once it is durable.
// If ctx is done first, it returns ctx.Err() and the action may or may not
// be recorded.
func (p *Pending) Wait(ctx context.Context) (*model.Action, error) {
	select {
	case <-p.r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.r.err != nil {
		return nil, p.r.err
	}
	return store.CloneAction(p.r.a), nil
}

// Err returns the outcome of a completed action: nil once it is
// durable, or why it failed. It must be called only after Done is
// closed; unlike Wait it does not copy the action.
func (p *Pending) Err() error {
	select {
	case <-p.r.done:
	default:
		panic("ledger: Pending.Err called before Done")
	}
	return p.r.err
}

// Submit queues a for appending and returns without waiting for
// durability: a caller that records many events pipelines them into the
// writer's group commits and waits only where it must (before a side
// effect, at the end of a run). Actions submitted by one goroutine are
// committed in submission order. Validation errors and a closed or failed
// ledger are reported at once.
func (l *Ledger) Submit(ctx context.Context, a *model.Action, muts ...store.Mutation) (*Pending, error) {
	return l.SubmitWith(ctx, a, SubmitOptions{}, muts...)
}

// SubmitOptions let a caller that records many actions on a hot path
// spare the ledger work. They change nothing that is recorded.
type SubmitOptions struct {
	// Owned hands the action over to the ledger: SubmitWith fills in and
	// keeps a itself instead of a copy. The caller must neither modify
	// nor read a afterwards (copy what it needs, such as a preassigned
	// ActionID, before submitting).
	Owned bool
	// SharedMetadata says that a.Metadata is a map the caller records
	// again and again (the very same *value.Map, deeply immutable: no
	// atoms or other mutable values inside): the ledger encodes it once
	// and reuses its canonical encoding.
	SharedMetadata bool
}

// maxSharedMetadata bounds the ledger's memo of shared metadata
// encodings; it is emptied when full.
const maxSharedMetadata = 1024

// metadataEncoding returns the memoised canonical encoding of m.
func (l *Ledger) metadataEncoding(m *value.Map) ([]byte, error) {
	l.metaMu.Lock()
	enc, ok := l.metaEnc[m]
	l.metaMu.Unlock()
	if ok {
		return enc, nil
	}
	enc, err := model.EncodeValue(m)
	if err != nil {
		return nil, err
	}
	l.metaMu.Lock()
	if len(l.metaEnc) >= maxSharedMetadata {
		clear(l.metaEnc)
	}
	if l.metaEnc == nil {
		l.metaEnc = map[*value.Map][]byte{}
	}
	l.metaEnc[m] = enc
	l.metaMu.Unlock()
	return enc, nil
}

// SubmitWith is Submit with options.
func (l *Ledger) SubmitWith(ctx context.Context, a *model.Action, o SubmitOptions, muts ...store.Mutation) (*Pending, error) {
	if a == nil {
		return nil, errors.New("ledger: nil action")
	}
	l.pending.Add(1)
	submitted := false
	defer func() {
		if !submitted {
			l.pending.Add(-1)
		}
	}()
	if !a.Type.Valid() {
		return nil, fmt.Errorf("ledger: unknown action type %q", a.Type)
	}
	c := a
	if !o.Owned {
		c = store.CloneAction(a)
	}
	if c.ActionID == "" {
		c.ActionID = NewActionID()
	}
	if c.Timestamp.IsZero() {
		c.Timestamp = l.now()
	}
	c.Timestamp = model.Millis(c.Timestamp)
	c.Seq, c.PrevHash, c.Hash = 0, "", ""
	var meta []byte
	if o.SharedMetadata && c.Metadata != nil {
		var err error
		if meta, err = l.metadataEncoding(c.Metadata); err != nil {
			return nil, fmt.Errorf("ledger: encode action: metadata: %w", err)
		}
	}
	pe, err := preEncodeMeta(c, meta)
	if err != nil {
		return nil, fmt.Errorf("ledger: encode action: %w", err)
	}
	r := &request{ctx: ctx, a: c, pe: pe, muts: muts, done: make(chan struct{})}

	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if perr := l.failed.Load(); perr != nil {
		return nil, *perr
	}
	select {
	case l.reqs <- r:
		submitted = true
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &Pending{r: r}, nil
}

// run is the writer goroutine.
func (l *Ledger) run() {
	defer close(l.done)
	ticker := time.NewTicker(l.interval)
	defer ticker.Stop()
	for {
		var r *request
		var ok bool
		select {
		case r, ok = <-l.reqs:
		case <-ticker.C:
			if l.signedSeq < l.seq && l.now().Sub(l.lastSigned) >= l.interval {
				l.writeCheckpoint()
			}
			continue
		}
		if !ok {
			break
		}
		l.batch = append(l.batch[:0], r)
		open := l.gather()
		l.commitBatch(l.batch)
		clear(l.batch)
		if !open {
			break
		}
	}
	if l.signedSeq < l.seq {
		l.writeCheckpoint()
	}
}

// gatherWait bounds how long the writer waits for appends that are in
// progress (counted in l.pending) but not yet queued.
const gatherWait = time.Millisecond

// gather adds queued requests to l.batch (which holds one) up to
// l.maxBatch. Group commit works best when every append in progress is in
// the batch: Append counts itself in l.pending before it encodes, so the
// writer knows how many are coming and lets them (yielding the CPU) finish
// encoding and queue, for at most gatherWait. Without this, concurrent
// appenders settle into two cohorts that alternate, each committing half
// as many actions per fsync. It returns false when reqs is closed.
func (l *Ledger) gather() bool {
	var deadline time.Time
	for len(l.batch) < l.maxBatch {
		select {
		case r, ok := <-l.reqs:
			if !ok {
				return false
			}
			l.batch = append(l.batch, r)
			continue
		default:
		}
		if int64(len(l.batch)) >= max(l.pending.Load(), l.concurrency()) {
			return true
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(gatherWait)
		} else if time.Now().After(deadline) {
			return true
		}
		runtime.Gosched()
	}
	return true
}

// concurrency estimates how many appenders are active: the most appends
// in flight at the start of any of the last few commits. Without it,
// concurrent appenders settle into two cohorts that take turns, each
// committing half of them per fsync; waiting for the estimate (at most
// gatherWait) lets acknowledged appenders come back and join the batch.
func (l *Ledger) concurrency() int64 {
	var c int64
	for _, n := range l.recent {
		c = max(c, n)
	}
	return c
}

// sign returns a signed checkpoint of the current head.
func (l *Ledger) sign(seq uint64, hash string) *model.Checkpoint {
	cp := &model.Checkpoint{Seq: seq, HeadHash: hash, Time: model.Millis(l.now()), KeyID: l.keyID}
	cp.Signature = ed25519.Sign(l.key, model.CheckpointPayload(cp))
	return cp
}

// writeCheckpoint commits a checkpoint of the current head on its own.
func (l *Ledger) writeCheckpoint() {
	cp := l.sign(l.seq, l.hash)
	if err := l.st.Commit(context.Background(), &store.Batch{Checkpoint: cp}); err == nil {
		l.signedSeq, l.lastSigned = cp.Seq, l.now()
	}
}

// commitBatch assigns positions to the requests, commits them with a
// checkpoint and completes them. If the commit fails, the requests are
// committed one at a time so that one bad request (a duplicate action id,
// a rejected mutation) fails alone.
func (l *Ledger) commitBatch(batch []*request) {
	live := batch[:0:0]
	// Appenders blocked now will be ready for the next batch: those
	// still pending and those in this batch once acked.
	l.recent[l.recentI%len(l.recent)] = min(l.blocked.Load(), int64(l.maxBatch))
	l.recentI++
	l.pending.Add(-int64(len(batch)))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := l.commit(live)
	if err != nil && len(live) > 1 && l.failed.Load() == nil {
		for _, r := range live {
			l.complete([]*request{r}, l.commit([]*request{r}))
		}
		return
	}
	l.complete(live, err)
}

// commit commits reqs as one batch and advances the head; on failure the
// head is unchanged (or the ledger is marked failed if the store's state
// is unknown).
func (l *Ledger) commit(reqs []*request) error {
	seq, prev := l.seq, l.hash
	l.actions = l.actions[:0]
	l.bodies = l.bodies[:0]
	l.muts = l.muts[:0]
	for _, r := range reqs {
		seq++
		a := r.a
		a.Seq, a.PrevHash = seq, prev
		a.Hash = l.hasher.hash(r.pe, seq, prev)
		l.bodies = append(l.bodies, r.pe.body(seq, prev, a.Hash))
		prev = a.Hash
		l.actions = append(l.actions, a)
		l.muts = append(l.muts, r.muts...)
	}
	cp := l.sign(seq, prev)
	err := l.st.Commit(context.Background(), &store.Batch{Actions: l.actions, Bodies: l.bodies, Mutations: l.muts, Checkpoint: cp})
	clear(l.actions)
	clear(l.bodies)
	clear(l.muts)
	if err != nil {
		// Did it land anyway (e.g. an error after the commit)?
		last, _, herr := l.st.Head(context.Background())
		switch {
		case herr == nil && last != nil && last.Seq == seq && last.Hash == prev:
			err = nil
		case herr == nil && (last == nil && l.seq == 0 || last != nil && last.Seq == l.seq && last.Hash == l.hash):
			for _, r := range reqs {
				r.a.Seq, r.a.PrevHash, r.a.Hash = 0, "", ""
			}
			return fmt.Errorf("ledger: commit: %w", err)
		default:
			ferr := fmt.Errorf("ledger: store state unknown after a failed commit (%v); reopen the ledger", err)
			l.failed.Store(&ferr)
			return ferr
		}
	}
	l.seq, l.hash = seq, prev
	l.stats.commits.Add(1)
	l.stats.actions.Add(int64(len(reqs)))
	l.signedSeq, l.lastSigned = seq, l.now()
	l.head.Store(&head{seq: seq, hash: prev})
	return nil
}

// complete finishes reqs with err and publishes committed actions.
func (l *Ledger) complete(reqs []*request, err error) {
	if err == nil {
		l.subs.publish(reqs)
	}
	for _, r := range reqs {
		r.err = err
		close(r.done)
	}
}

// Get returns the action with the given id.
func (l *Ledger) Get(ctx context.Context, id string) (*model.Action, error) {
	return l.st.Action(ctx, id)
}

// Query returns the actions matching q in seq order.
func (l *Ledger) Query(ctx context.Context, q store.ActionQuery) ([]*model.Action, error) {
	return l.st.Actions(ctx, q)
}

// Children returns the actions whose parent is id, in seq order.
func (l *Ledger) Children(ctx context.Context, id string) ([]*model.Action, error) {
	return l.st.Actions(ctx, store.ActionQuery{ParentID: id})
}

// Head returns the seq and hash of the last durable action (0, "" for an
// empty chain).
func (l *Ledger) Head() (seq uint64, hash string) {
	h := l.head.Load()
	return h.seq, h.hash
}

// Close waits for pending appends to be committed, signs the head if it
// is not yet signed and stops the writer. It does not close the store.
// Appends after Close fail with ErrClosed.
func (l *Ledger) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.closeMu.Unlock()
	<-l.done
	l.subs.closeAll()
	if l.signedSeq < l.seq {
		return fmt.Errorf("ledger: could not sign the head (seq %d)", l.seq)
	}
	return nil
}

// KeyID names an Ed25519 public key: "ed25519:" and the first 16 hex
// digits of the SHA-256 of the key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"sync"

	"github.com/ccos-go/ccos/ccos/model"
)

// Pre-encoding. The hash of an action covers its canonical encoding, which
// includes seq and prev_hash, known only to the single writer. Everything
// else is known when Append is called, so the appender's goroutine encodes
// the action once with placeholders and remembers where seq and prev_hash
// go; the writer then only feeds the pieces and the two values to SHA-256.
// The encoder reports the offsets of both (model.ActionContentOffsets).

// placeholderHash stands in for prev_hash while pre-encoding: 64 lowercase
// hex digits, the length of a real hash.
const placeholderHash = "0000000000000000000000000000000000000000000000000000000000000000"

// preEncoded is an action's canonical content split around its prev_hash
// value and its seq digits: content = head + prev_hash + mid + seq + tail.
type preEncoded struct {
	head, mid, tail []byte
	// prevKeyAt is where `"prev_hash":"` starts in head; the content
	// with prev_hash omitted (as for seq 1) is head[:prevKeyAt] (less the
	// comma before it) + mid + seq + tail, see noPrevHead.
	prevKeyAt int
	// hashAt is where the stored encoding's hash member goes, in head
	// and noPrevHead alike (it sorts before prev_hash).
	hashAt int
	// state is SHA-256 (encoding.BinaryAppender form) after head: the
	// appender's goroutine hashes the part of the content that does not
	// depend on the chain, so that the single writer, which does, only
	// hashes prev_hash, mid, seq and tail.
	state    []byte
	stateBuf [128]byte
}

// preEncode encodes a (whose Seq and PrevHash are ignored) for hashing by
// the writer. The encoder reports where prev_hash and seq go, so nothing
// is searched for.
func preEncode(a *model.Action) (*preEncoded, error) { return preEncodeMeta(a, nil) }

// preEncodeMeta is preEncode with a.Metadata already encoded (meta, when
// not nil, is model.EncodeValue(a.Metadata)).
func preEncodeMeta(a *model.Action, meta []byte) (*preEncoded, error) {
	c := *a
	c.Seq = 0
	c.PrevHash = placeholderHash
	b, offs, err := model.AppendActionContentOffsets(make([]byte, 0, len(meta)+640), &c, meta)
	if err != nil {
		return nil, err
	}
	valStart := offs.PrevHash
	if valStart < 0 || offs.Seq < valStart || !bytes.HasPrefix(b[valStart:], []byte(placeholderHash)) || b[offs.Seq] != '0' {
		return nil, errors.New("ledger: unexpected canonical action layout")
	}
	p := valStart - len(`"prev_hash":"`)
	valEnd := valStart + len(placeholderHash)
	seqDigit := offs.Seq
	pe := &preEncoded{
		head:      b[:valStart],
		mid:       b[valEnd:seqDigit],
		tail:      b[seqDigit+1:],
		prevKeyAt: p,
		hashAt:    offs.Hash,
	}
	// prev_hash is never the first key: a comma precedes it, and keys
	// follow it (seq, type, v).
	if pe.hashAt < 0 || pe.hashAt > p || p < 1 || b[p-1] != ',' {
		return nil, errors.New("ledger: unexpected canonical action layout")
	}
	d := digests.Get().(hash.Hash)
	d.Reset()
	d.Write(pe.head)
	pe.state, err = d.(encoding.BinaryAppender).AppendBinary(pe.stateBuf[:0])
	digests.Put(d)
	if err != nil {
		return nil, err
	}
	return pe, nil
}

// digests are SHA-256 states for preEncode.
var digests = sync.Pool{New: func() any { return sha256.New() }}

// noPrevHead is the content before the seq digits without prev_hash:
// `"prev_hash":"…"` and the comma before it dropped. Only the first action
// of a chain needs it.
func (pe *preEncoded) noPrevHead() []byte {
	return append(append([]byte(nil), pe.head[:pe.prevKeyAt-1]...), pe.mid[1:]...)
}

// body returns model.EncodeAction of the action with seq, prev and hash,
// spliced from the pre-encoded pieces.
func (pe *preEncoded) body(seq uint64, prev, hash string) []byte {
	head := pe.head
	if prev == "" {
		head = pe.noPrevHead()
	}
	n := len(head) + len(`,"hash":""`) + len(hash) + len(prev) + len(pe.mid) + 20 + len(pe.tail)
	b := make([]byte, 0, n)
	b = append(b, head[:pe.hashAt]...)
	b = append(b, `,"hash":"`...)
	b = append(b, hash...)
	b = append(b, '"')
	b = append(b, head[pe.hashAt:]...)
	if prev != "" {
		b = append(b, prev...)
		b = append(b, pe.mid...)
	}
	b = strconv.AppendUint(b, seq, 10)
	return append(b, pe.tail...)
}

// hasher computes action hashes from pre-encoded content; it belongs to
// the writer goroutine.
type hasher struct {
	h   hash.Hash
	num []byte
	sum []byte
}

func newHasher() *hasher { return &hasher{h: sha256.New()} }

// hash returns the hex hash of the pre-encoded action with seq and prev.
func (x *hasher) hash(pe *preEncoded, seq uint64, prev string) string {
	x.num = strconv.AppendUint(x.num[:0], seq, 10)
	if prev == "" {
		x.h.Reset()
		x.h.Write(pe.noPrevHead())
	} else {
		// Continue from the appender's hash of head.
		if err := x.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(pe.state); err != nil {
			x.h.Reset()
			x.h.Write(pe.head)
		}
		x.h.Write([]byte(prev))
		x.h.Write(pe.mid)
	}
	x.h.Write(x.num)
	x.h.Write(pe.tail)
	x.sum = x.h.Sum(x.sum[:0])
	return hex.EncodeToString(x.sum)
}

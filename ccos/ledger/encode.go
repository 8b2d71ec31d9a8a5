package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"

	"github.com/ccos-go/ccos/ccos/model"
)

// Pre-encoding. The hash of an action covers its canonical encoding, which
// includes seq and prev_hash, known only to the single writer. Everything
// else is known when Append is called, so the appender's goroutine encodes
// the action once with placeholders and remembers where seq and prev_hash
// go; the writer then only feeds the pieces and the two values to SHA-256.
//
// The canonical encoding is a JSON object with sorted keys; string
// contents are escaped, so an unescaped `"prev_hash":"` or `"seq":` can
// only be a key of the top-level object (nested objects have fixed keys
// of their own): the placeholders are found unambiguously.

// placeholderHash stands in for prev_hash while pre-encoding: 64 lowercase
// hex digits, the length of a real hash.
const placeholderHash = "0000000000000000000000000000000000000000000000000000000000000000"

var (
	prevKey = []byte(`"prev_hash":"` + placeholderHash + `"`)
	seqKey  = []byte(`"seq":0`)
)

// preEncoded is an action's canonical content split around its prev_hash
// value and its seq digits: content = head + prev_hash + mid + seq + tail.
type preEncoded struct {
	head, mid, tail []byte
	// noPrev is the content with prev_hash omitted (as for seq 1), split
	// around seq: noPrevHead + seq + noPrevTail.
	noPrevHead, noPrevTail []byte
}

// preEncode encodes a (whose Seq and PrevHash are ignored) for hashing by
// the writer.
func preEncode(a *model.Action) (*preEncoded, error) {
	c := *a
	c.Seq = 0
	c.PrevHash = placeholderHash
	b, err := model.ActionContent(&c)
	if err != nil {
		return nil, err
	}
	p := bytes.Index(b, prevKey)
	s := bytes.Index(b, seqKey)
	if p < 0 || s < 0 || s < p || bytes.Count(b, prevKey) != 1 || bytes.Count(b, seqKey) != 1 {
		return nil, errors.New("ledger: unexpected canonical action layout")
	}
	valStart := p + len(`"prev_hash":"`)
	valEnd := valStart + len(placeholderHash)
	seqDigit := s + len(`"seq":`)
	pe := &preEncoded{
		head: b[:valStart],
		mid:  b[valEnd:seqDigit],
		tail: b[seqDigit+1:],
	}
	// Without prev_hash: drop `"prev_hash":"…"` and one adjacent comma.
	// prev_hash is never the only key, and keys follow it (seq, type, v).
	pe.noPrevHead = append(append([]byte(nil), b[:p]...), b[p+len(prevKey)+1:seqDigit]...)
	pe.noPrevTail = pe.tail
	return pe, nil
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
	x.h.Reset()
	x.num = strconv.AppendUint(x.num[:0], seq, 10)
	if prev == "" {
		x.h.Write(pe.noPrevHead)
		x.h.Write(x.num)
		x.h.Write(pe.noPrevTail)
	} else {
		x.h.Write(pe.head)
		x.h.Write([]byte(prev))
		x.h.Write(pe.mid)
		x.h.Write(x.num)
		x.h.Write(pe.tail)
	}
	x.sum = x.h.Sum(x.sum[:0])
	return hex.EncodeToString(x.sum)
}

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
// The encoder reports the offsets of both (model.ActionContentOffsets).

// placeholderHash stands in for prev_hash while pre-encoding: 64 lowercase
// hex digits, the length of a real hash.
const placeholderHash = "0000000000000000000000000000000000000000000000000000000000000000"

var prevKey = []byte(`"prev_hash":"` + placeholderHash + `"`)

// preEncoded is an action's canonical content split around its prev_hash
// value and its seq digits: content = head + prev_hash + mid + seq + tail.
type preEncoded struct {
	head, mid, tail []byte
	// noPrev is the content with prev_hash omitted (as for seq 1), split
	// around seq: noPrevHead + seq + noPrevTail.
	noPrevHead, noPrevTail []byte
	// hashAt is where the stored encoding's hash member goes, in head
	// and noPrevHead alike (it sorts before prev_hash).
	hashAt int
}

// preEncode encodes a (whose Seq and PrevHash are ignored) for hashing by
// the writer. The encoder reports where prev_hash and seq go, so nothing
// is searched for.
func preEncode(a *model.Action) (*preEncoded, error) {
	c := *a
	c.Seq = 0
	c.PrevHash = placeholderHash
	b, offs, err := model.ActionContentOffsets(&c)
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
		head: b[:valStart],
		mid:  b[valEnd:seqDigit],
		tail: b[seqDigit+1:],
	}
	// Without prev_hash: drop `"prev_hash":"…"` and one adjacent comma.
	// prev_hash is never the only key, and keys follow it (seq, type, v).
	pe.noPrevHead = append(append([]byte(nil), b[:p]...), b[p+len(prevKey)+1:seqDigit]...)
	pe.noPrevTail = pe.tail
	pe.hashAt = offs.Hash
	if pe.hashAt < 0 || pe.hashAt > p {
		return nil, errors.New("ledger: unexpected canonical action layout")
	}
	return pe, nil
}

// body returns model.EncodeAction of the action with seq, prev and hash,
// spliced from the pre-encoded pieces.
func (pe *preEncoded) body(seq uint64, prev, hash string) []byte {
	head, tail := pe.head, pe.tail
	if prev == "" {
		head, tail = pe.noPrevHead, pe.noPrevTail
	}
	n := len(head) + len(`,"hash":""`) + len(hash) + len(prev) + len(pe.mid) + 20 + len(tail)
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
	return append(b, tail...)
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

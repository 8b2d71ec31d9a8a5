package plans

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/memory"
)

// newLedger returns the real ledger over a memory store, verified when
// the test ends.
func newLedger(t *testing.T) (store.Store, *ledger.Ledger) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	l, err := ledger.Open(context.Background(), ledger.Options{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		if _, err := ledger.Verify(context.Background(), st, map[string]ed25519.PublicKey{ledger.KeyID(pub): pub}); err != nil {
			t.Errorf("chain does not verify: %v", err)
		}
		st.Close()
	})
	return st, l
}

func newArchive(t *testing.T) (store.Store, *ledger.Ledger, *Archive) {
	t.Helper()
	st, l := newLedger(t)
	return st, l, New(st, l)
}

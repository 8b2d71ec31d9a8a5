// Package ledgertest gives tests of the ledger's consumers a real ledger
// over an in-memory store, whose chain is verified when the test ends.
package ledgertest

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/memory"
)

// New returns a memory store and a ledger writing to it. When the test
// ends the ledger is closed and the whole chain must verify.
func New(t testing.TB) (store.Store, *ledger.Ledger) {
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

package plans

import (
	"testing"

	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/ledger/ledgertest"
	"github.com/ccos-go/ccos/ccos/store"
)

func newArchive(t *testing.T) (store.Store, *ledger.Ledger, *Archive) {
	t.Helper()
	st, l := ledgertest.New(t)
	return st, l, New(st, l)
}

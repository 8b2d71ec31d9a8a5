package intents

import (
	"testing"

	"github.com/ccos-go/ccos/ccos/ledger/ledgertest"
	"github.com/ccos-go/ccos/ccos/store"
)

func newGraph(t *testing.T) (store.Store, *Graph) {
	t.Helper()
	st, l := ledgertest.New(t)
	return st, New(st, l)
}

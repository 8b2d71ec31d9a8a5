package caps

import (
	"errors"
	"testing"

	"github.com/ccos-go/ccos/rtfs/value"
)

// These tests tie the built-ins to the marketplace code (manifest.go,
// marketplace.go, invoke.go).

// TestBuiltinManifestsValidate checks that every built-in manifest passes
// Manifest.Validate, so NewDefault can register them all.
func TestBuiltinManifestsValidate(t *testing.T) {
	for _, c := range Builtins() {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
	}
	m := NewDefault()
	for _, id := range specBuiltinIDs {
		if _, ok := m.Get(id); !ok {
			t.Errorf("NewDefault lacks %s", id)
		}
	}
}

// TestBuiltinViaInvoke runs built-ins through Invoke: schemas apply, and
// a *NeedsHuman stays reachable with errors.As.
func TestBuiltinViaInvoke(t *testing.T) {
	env, _ := btEnv(t)
	v, err := Invoke(t.Context(), btCap(t, "ccos.math.add"), env, btArgs(t, `[1 2 3.5]`))
	if err != nil || v != value.Float(6.5) {
		t.Fatalf("math.add = %v, %v", v, err)
	}
	_, err = Invoke(t.Context(), btCap(t, "ccos.io.read-file"), env, btArgs(t, `[42]`))
	btWantErr(t, err, value.ErrValidation, "")
	_, err = Invoke(t.Context(), btCap(t, "ccos.ask-human"), env, btArgs(t, `["Go ahead?"]`))
	var nh *NeedsHuman
	if !errors.As(err, &nh) || nh.Prompt != "Go ahead?" {
		t.Fatalf("ask-human via Invoke: %v", err)
	}
}

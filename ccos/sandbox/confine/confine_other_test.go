//go:build !linux

package confine

import (
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if LandlockABI() != 0 {
		t.Errorf("LandlockABI() = %d", LandlockABI())
	}
	for name, err := range map[string]error{
		"Landlock":   Landlock(FS{}, Net{}),
		"Seccomp":    Seccomp(),
		"LoopbackUp": LoopbackUp(),
	} {
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s() = %v, want ErrUnsupported", name, err)
		}
	}
}

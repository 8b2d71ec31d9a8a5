package firecracker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/rtfs/value"
)

func TestUnavailableSaysWhy(t *testing.T) {
	p := New("", "")
	p.LookPath = func(string) (string, error) { return "", errors.New("not found") }
	p.Open = func(string, int, os.FileMode) (*os.File, error) {
		return nil, &os.PathError{Op: "open", Path: "/dev/kvm", Err: os.ErrPermission}
	}
	err := p.Available()
	if err == nil {
		t.Fatal("available without KVM, binary or images")
	}
	for _, want := range []string{"KVM", "firecracker binary", "guest kernel"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("reason lacks %q: %v", want, err)
		}
	}
	_, _, rerr := p.Run(context.Background(), nil, nil)
	if e := value.AsError(rerr); e == nil || e.Type != value.ErrSecurity {
		t.Fatalf("Run did not fail closed: %v", rerr)
	}
}

func TestThisMachine(t *testing.T) {
	// Whatever this machine has, the provider must not claim to work.
	if err := New("", "").Available(); err == nil {
		t.Fatal("firecracker reported available")
	} else {
		t.Log(err)
	}
}

//go:build !linux || !(amd64 || arm64)

package netwatch

import (
	"context"
	"os"
)

// Available reports why seccomp user notification cannot be used here:
// on this platform, always ErrUnsupported.
func Available() error { return ErrUnsupported }

// Install returns ErrUnsupported on this platform.
func Install(sock *os.File) error { return ErrUnsupported }

// Supervise returns ErrUnsupported on this platform.
func Supervise(ctx context.Context, sock *os.File, decide func(Addr) bool, onDeny func(Addr)) error {
	return ErrUnsupported
}

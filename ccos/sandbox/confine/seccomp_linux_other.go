//go:build linux && !amd64 && !arm64

package confine

import "fmt"

// Seccomp is implemented for linux/amd64 and linux/arm64 only.
func Seccomp() error { return ErrUnsupported }

// installNetProtocolFilter cannot be done without a seccomp filter.
func installNetProtocolFilter() error {
	return fmt.Errorf("%w: no seccomp filter for this architecture to close Landlock's MPTCP gap", ErrUnsupported)
}

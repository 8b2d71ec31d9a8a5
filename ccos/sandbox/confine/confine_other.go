//go:build !linux

package confine

// LandlockABI returns the kernel's Landlock ABI version: always 0 here.
func LandlockABI() int { return 0 }

// Landlock is not supported on this operating system.
func Landlock(fs FS, net Net) error { return ErrUnsupported }

// Seccomp is not supported on this operating system.
func Seccomp() error { return ErrUnsupported }

// LoopbackUp is not supported on this operating system.
func LoopbackUp() error { return ErrUnsupported }

// PrepareLandlock does nothing here.
func PrepareLandlock() {}

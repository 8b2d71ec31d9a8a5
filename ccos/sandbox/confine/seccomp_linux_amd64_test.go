package confine

import "golang.org/x/sys/unix"

// archDeniedProbes are the live probes for archDenied.
func archDeniedProbes() []deniedProbe {
	return []deniedProbe{
		{name: "iopl", call: raw(unix.SYS_IOPL, 4)},
		{name: "ioperm", call: raw(unix.SYS_IOPERM, 0x10000, 1, 0)},
	}
}

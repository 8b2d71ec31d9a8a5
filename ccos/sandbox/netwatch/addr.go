package netwatch

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"unicode"
)

// ErrUnsupported is returned on platforms without seccomp user
// notification support in this package (every OS but Linux, and Linux
// architectures other than amd64 and arm64).
var ErrUnsupported = errors.New("netwatch: not supported")

// Addr is a destination a sandboxed process tried to connect to.
type Addr struct {
	// Family is "unix", "inet", "inet6", "other(N)" for any other address
	// family N (for instance "other(0)" for AF_UNSPEC, which a datagram
	// socket uses to dissolve its association and which connects nowhere),
	// or "invalid" when the sockaddr could not be read or is malformed
	// (such a connect is always denied, without asking decide).
	Family string
	// Path is the socket path of a unix address as the target passed it
	// (not resolved), or "@name" for an abstract socket.
	Path string
	// IP is the destination of an inet or inet6 address. An inet6 socket
	// may carry an IPv4-mapped address (::ffff:a.b.c.d); compare with
	// net.IP.Equal, which treats the two forms as equal.
	IP net.IP
	// Port is the destination port of an inet or inet6 address.
	Port int
	// PID is the process (thread group) that called connect, in the
	// supervisor's PID namespace; 0 if it is not visible there.
	PID int
}

// String formats a for logs and the audit ledger, for instance
// "inet 127.0.0.1:8080 pid=42" or "unix /run/proxy.sock pid=42".
func (a Addr) String() string {
	var s string
	switch a.Family {
	case "unix":
		s = "unix " + quoteIfNeeded(a.Path)
	case "inet", "inet6":
		host := "<nil>"
		if a.IP != nil {
			host = a.IP.String()
		}
		s = a.Family + " " + net.JoinHostPort(host, strconv.Itoa(a.Port))
	case "":
		s = "unknown"
	default:
		s = a.Family
	}
	return fmt.Sprintf("%s pid=%d", s, a.PID)
}

// quoteIfNeeded returns s, quoted when it is empty or contains spaces or
// non-printable characters (abstract socket names may contain any byte).
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}

package netwatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// maxSockaddrLen is sizeof(struct sockaddr_storage): connect(2) fails
// with EINVAL for a longer address, so the supervisor never reads more.
const maxSockaddrLen = 128

// Linux sockaddr sizes (uapi/linux/un.h, in.h, in6.h).
const (
	sizeofSockaddrUn  = 110 // sa_family_t + char sun_path[108]
	sizeofSockaddrIn  = 16
	sizeofSockaddrIn6 = 28
	// sin6RFC2133Len is a sockaddr_in6 without sin6_scope_id, which the
	// kernel still accepts for inet6 connects (SIN6_LEN_RFC2133).
	sin6RFC2133Len = 24
)

// errMalformed reports a sockaddr the kernel itself would reject.
var errMalformed = errors.New("malformed sockaddr")

// decodeSockaddr decodes a Linux sockaddr of len(b) bytes (the addrlen
// passed to connect) into an Addr (without PID). It mirrors the kernel's
// own length checks: an address the kernel would reject with EINVAL is
// reported as errMalformed.
func decodeSockaddr(b []byte) (Addr, error) {
	if len(b) < 2 || len(b) > maxSockaddrLen {
		return Addr{}, fmt.Errorf("%w: length %d", errMalformed, len(b))
	}
	family := binary.NativeEndian.Uint16(b)
	switch family {
	case unix.AF_UNIX:
		// unix_validate_addr: the path must have at least one byte and
		// the whole address must fit struct sockaddr_un.
		if len(b) <= 2 || len(b) > sizeofSockaddrUn {
			return Addr{}, fmt.Errorf("%w: unix address of length %d", errMalformed, len(b))
		}
		p := b[2:]
		if p[0] == 0 {
			// Abstract: every byte of the name is significant.
			return Addr{Family: "unix", Path: "@" + string(p[1:])}, nil
		}
		// Pathname: the kernel terminates the path at addrlen and then
		// uses it as a C string.
		for i, c := range p {
			if c == 0 {
				p = p[:i]
				break
			}
		}
		return Addr{Family: "unix", Path: string(p)}, nil
	case unix.AF_INET:
		if len(b) < sizeofSockaddrIn {
			return Addr{}, fmt.Errorf("%w: inet address of length %d", errMalformed, len(b))
		}
		return Addr{
			Family: "inet",
			Port:   int(binary.BigEndian.Uint16(b[2:4])),
			IP:     net.IP(append([]byte(nil), b[4:8]...)),
		}, nil
	case unix.AF_INET6:
		if len(b) < sin6RFC2133Len {
			return Addr{}, fmt.Errorf("%w: inet6 address of length %d", errMalformed, len(b))
		}
		// sin6_port at 2, sin6_flowinfo at 4, sin6_addr at 8.
		return Addr{
			Family: "inet6",
			Port:   int(binary.BigEndian.Uint16(b[2:4])),
			IP:     net.IP(append([]byte(nil), b[8:24]...)),
		}, nil
	default:
		return Addr{Family: fmt.Sprintf("other(%d)", family)}, nil
	}
}

package security

import (
	"fmt"
	"strings"
)

var levelNames = [...]string{Pure: "pure", Controlled: "controlled", Full: "full"}

var isolationNames = [...]string{Inherit: "inherit", Isolated: "isolated", Sandboxed: "sandboxed"}

// String returns "pure", "controlled" or "full" (Level(n) for an invalid
// value).
func (l Level) String() string {
	if l.valid() {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

func (l Level) valid() bool { return l >= Pure && l <= Full }

// ParseLevel parses a security level name: "pure", "controlled" or "full".
// Case is ignored and a leading ':' (keyword spelling) is accepted.
func ParseLevel(s string) (Level, error) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), ":"))
	for i, n := range levelNames {
		if n == name {
			return Level(i), nil
		}
	}
	return Pure, fmt.Errorf("unknown security level %q (want pure, controlled or full)", s)
}

// String returns "inherit", "isolated" or "sandboxed" (Isolation(n) for an
// invalid value).
func (i Isolation) String() string {
	if i.valid() {
		return isolationNames[i]
	}
	return fmt.Sprintf("Isolation(%d)", int(i))
}

func (i Isolation) valid() bool { return i >= Inherit && i <= Sandboxed }

// ParseIsolation parses an isolation level name: "inherit", "isolated" or
// "sandboxed". Case is ignored and a leading ':' is accepted.
func ParseIsolation(s string) (Isolation, error) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), ":"))
	for i, n := range isolationNames {
		if n == name {
			return Isolation(i), nil
		}
	}
	return Inherit, fmt.Errorf("unknown isolation level %q (want inherit, isolated or sandboxed)", s)
}

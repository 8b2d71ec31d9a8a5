package profile

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/ccos-go/ccos/ccos/security"
)

// Host entries.
//
// A network allow-list (or deny-list) entry is a host pattern in the
// syntax of security.Context.AllowHosts: "*", "host", "*.suffix", an IP
// literal ("[v6]" for IPv6), each optionally followed by ":port". A port
// of 0 (absent) means any port.
//
// Entries derived from literal URLs always carry the port: the URL's
// explicit port or its scheme's default, so "https://api.example.com/data"
// narrows the allow-list to exactly "api.example.com:443". Entries copied
// from manifests, contexts or with-security-profile options keep the form
// they were written in (lower-cased).

// defaultPort is the port a URL scheme implies (0 when unknown).
func defaultPort(scheme string) int {
	switch strings.ToLower(scheme) {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

// withPort returns t with its port made explicit (scheme default).
func withPort(t *security.URLTarget) *security.URLTarget {
	if t.Port != 0 {
		return t
	}
	c := *t
	c.Port = defaultPort(t.Scheme)
	return &c
}

// hostKey is the allow-list entry of a parsed URL: canonical host and
// explicit port.
func hostKey(t *security.URLTarget) string {
	return joinHostPort(strings.ToLower(t.Host), withPort(t).Port)
}

// splitHostPattern splits an entry into its lower-cased host part and
// its port (0: any).
func splitHostPattern(s string) (host string, port int) {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i >= 0 {
			host = s[1:i]
			rest := s[i+1:]
			if strings.HasPrefix(rest, ":") {
				port, _ = strconv.Atoi(rest[1:])
			}
			return host, port
		}
		return s, 0
	}
	if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		if n, err := strconv.Atoi(s[i+1:]); err == nil && n > 0 && n < 65536 {
			return s[:i], n
		}
	}
	return s, 0
}

// joinHostPort is the inverse of splitHostPattern.
func joinHostPort(host string, port int) string {
	if strings.IndexByte(host, ':') >= 0 {
		// IPv6 literal.
		if port == 0 {
			return "[" + host + "]"
		}
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// isWildHost reports whether a host part is a "*.suffix" pattern.
func isWildHost(h string) bool { return strings.HasPrefix(h, "*.") }

// isCIDR reports whether a host part is an IP prefix ("10.0.0.0/8").
func isCIDR(h string) bool { return strings.IndexByte(h, '/') >= 0 }

// targetOf builds a URLTarget for a concrete host part, for
// security.MatchHost.
func targetOf(host string, port int) *security.URLTarget {
	return &security.URLTarget{Host: host, Port: port, IP: net.ParseIP(host) != nil}
}

// intersectHost returns the entry covering exactly the hosts both a and b
// cover, when that is expressible as one entry (a's form is kept when a
// and b are equivalent). Entries should be canonical (canonHostEntry). A
// pattern (wildcard or CIDR) is matched against a concrete host with
// security.MatchHost, so derivation agrees with the runtime authorizer;
// two wildcards intersect when one's suffix ends with the other's; two
// different CIDR prefixes do not intersect here.
func intersectHost(a, b string) (string, bool) {
	ha, pa := splitHostPattern(a)
	hb, pb := splitHostPattern(b)
	port := pa
	switch {
	case pa == 0:
		port = pb
	case pb != 0 && pa != pb:
		return "", false
	}
	pata := isWildHost(ha) || isCIDR(ha)
	patb := isWildHost(hb) || isCIDR(hb)
	var h string
	switch {
	case ha == "*":
		h = hb
	case hb == "*", ha == hb:
		h = ha
	case pata && patb:
		switch {
		case isCIDR(ha) || isCIDR(hb):
			return "", false
		case strings.HasSuffix(hb[1:], ha[1:]):
			h = hb
		case strings.HasSuffix(ha[1:], hb[1:]):
			h = ha
		default:
			return "", false
		}
	case pata:
		if !security.MatchHost(ha, targetOf(hb, port)) {
			return "", false
		}
		h = hb
	case patb:
		if !security.MatchHost(hb, targetOf(ha, port)) {
			return "", false
		}
		h = ha
	default:
		return "", false
	}
	return joinHostPort(h, port), true
}

// coversHost reports whether entry e covers every host entry r covers.
func coversHost(e, r string) bool {
	x, ok := intersectHost(r, e)
	if !ok {
		return false
	}
	hx, px := splitHostPattern(x)
	hr, pr := splitHostPattern(r)
	return hx == hr && px == pr
}

// canonHostEntry canonicalises a host entry: a URL becomes its host:port
// key; a host (also after "*.") is run through security.ParseURL for IDNA,
// case folding and IP normalisation; "*" and CIDR prefixes are
// lower-cased.
func canonHostEntry(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		t, err := security.ParseURL(s)
		if err != nil {
			return "", err
		}
		return hostKey(t), nil
	}
	h, port := splitHostPattern(s)
	if h == "*" || isCIDR(h) {
		return joinHostPort(h, port), nil
	}
	wild := ""
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		wild, h = "*.", rest
	}
	t, err := security.ParseURL("http://" + joinHostPort(h, 0) + "/")
	if err != nil {
		return "", err
	}
	return joinHostPort(wild+t.Host, port), nil
}

// hostDenied reports whether a deny-list entry excludes every host entry
// e covers. Partial overlaps (a deny entry inside a wildcard) are left to
// the runtime authorizer, which applies the context's deny-list to every
// call.
func hostDenied(deny []string, e string) bool {
	for _, d := range deny {
		if coversHost(d, e) {
			return true
		}
	}
	return false
}

// hostOverlapsDeny reports whether any deny-list entry excludes some of
// the hosts e covers.
func hostOverlapsDeny(deny []string, e string) bool {
	for _, d := range deny {
		if _, ok := intersectHost(d, e); ok {
			return true
		}
	}
	return false
}

// sortUniq sorts xs and removes duplicates, in place.
func sortUniq(xs []string) []string {
	if len(xs) < 2 {
		return xs
	}
	slices.Sort(xs)
	return slices.Compact(xs)
}

// lowerAll returns lower-cased copies of xs.
func lowerAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(strings.TrimSpace(x))
	}
	return out
}

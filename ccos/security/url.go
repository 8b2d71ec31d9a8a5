package security

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// URLTarget is where a URL really points: its scheme and canonical host
// and port. Userinfo, path, query and fragment play no part.
type URLTarget struct {
	// Scheme is "http", "https", "ws" or "wss".
	Scheme string
	// Host is canonical: a lowercase ASCII domain name (IDNA labels in
	// punycode, no trailing dot), a dotted-decimal IPv4 address, or an
	// IPv6 address in RFC 5952 form without brackets. IPv4-mapped IPv6
	// addresses are given as IPv4.
	Host string
	// Port is the explicit port or the scheme's default (80 for http and
	// ws, 443 for https and wss).
	Port int
	// IP reports whether Host is an IP address.
	IP bool
}

// HostPort returns "host:port" ("[v6]:port" for IPv6).
func (t *URLTarget) HostPort() string {
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

// String returns "scheme://host:port".
func (t *URLTarget) String() string {
	return t.Scheme + "://" + t.HostPort()
}

var defaultPorts = map[string]int{"http": 80, "ws": 80, "https": 443, "wss": 443}

// ParseURL parses an absolute http, https, ws or wss URL into its target.
// The host is what net/url finds after the last '@' of the authority, then
// canonicalised (see URLTarget.Host). IPv4 addresses must be written in
// dotted decimal: spellings such as "0x7f.1", "2130706433", "127.1" or
// "0177.0.0.1", which other URL parsers read as IP addresses, are rejected,
// as is any host whose last label is numeric but which is not an IPv4
// address. Errors never echo the URL (it may carry credentials).
func ParseURL(raw string) (*URLTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme == "" {
		return nil, errors.New("not an absolute URL: no scheme")
	}
	defPort, ok := defaultPorts[u.Scheme]
	if !ok {
		return nil, fmt.Errorf("unsupported URL scheme %q (want http, https, ws or wss)", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("URL has no host (want scheme://host/...)")
	}
	host, ip, err := canonicalHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
	if err != nil {
		return nil, err
	}
	port := defPort
	if p := u.Port(); p != "" {
		if port, err = parsePort(p); err != nil {
			return nil, err
		}
	}
	return &URLTarget{Scheme: u.Scheme, Host: host, Port: port, IP: ip}, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// hostProfile maps and validates host names for lookup as browsers do
// (UTS 46 non-transitional, Bidi rule, DNS lengths) but without the
// STD3 and hyphen restrictions, which real host names such as
// "r3---sn-x.googlevideo.com" or "a_b.example" violate; canonicalHost
// restricts the ASCII result itself.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.VerifyDNSLength(true),
)

// canonicalHost canonicalises a URL host (without port or brackets).
// bracketed says the host was written as "[...]", i.e. must be IPv6.
func canonicalHost(h string, bracketed bool) (host string, ip bool, err error) {
	if bracketed {
		a, err := netip.ParseAddr(h)
		switch {
		case err != nil:
			return "", false, fmt.Errorf("invalid IPv6 literal %q: %w", h, err)
		case !a.Is6():
			return "", false, fmt.Errorf("invalid IPv6 literal %q", h)
		case a.Zone() != "":
			return "", false, fmt.Errorf("IPv6 literal %q: zones are not supported", h)
		}
		return a.Unmap().String(), true, nil
	}
	name, err := canonicalDomain(h)
	if err != nil {
		return "", false, err
	}
	// The WHATWG URL standard reads a host whose last label is numeric as
	// an IPv4 address, in decimal, octal or hex, with 1 to 4 parts; so do
	// inet_aton and curl. Accept only the unambiguous dotted-decimal form.
	labels := strings.Split(name, ".")
	if numericLabel(labels[len(labels)-1]) {
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Is4() {
			return "", false, fmt.Errorf("host %q looks like an IPv4 address but is not in dotted-decimal form (a.b.c.d)", name)
		}
		return a.String(), true, nil
	}
	return name, false, nil
}

// canonicalDomain maps a host name to lowercase ASCII (punycode) without a
// trailing dot, and checks that the result is a stable (idempotent)
// canonical form made only of letters, digits, '-', '_' and '.'.
func canonicalDomain(h string) (string, error) {
	trimmed := strings.TrimSuffix(h, ".")
	if trimmed == "" {
		return "", fmt.Errorf("empty host name %q", h)
	}
	a, err := hostProfile.ToASCII(trimmed)
	if err != nil {
		return "", fmt.Errorf("invalid host name %q: %w", h, err)
	}
	a = strings.ToLower(a)
	for i := 0; i < len(a); i++ {
		b := a[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return "", fmt.Errorf("invalid character %q in host name %q", b, h)
		}
	}
	if strings.HasPrefix(a, ".") || strings.HasSuffix(a, ".") || strings.Contains(a, "..") {
		return "", fmt.Errorf("empty label in host name %q", h)
	}
	if again, err := hostProfile.ToASCII(a); err != nil || strings.ToLower(again) != a {
		return "", fmt.Errorf("host name %q has no stable canonical form", h)
	}
	return a, nil
}

// numericLabel reports whether a (lowercase) label is a number in the
// WHATWG sense: decimal digits, or "0x" followed by hex digits.
func numericLabel(l string) bool {
	if rest, ok := strings.CutPrefix(l, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return l != "" && strings.Trim(l, "0123456789") == ""
}

// hostPattern is a parsed host pattern.
type hostPattern struct {
	any    bool         // "*" (optionally with a port)
	cidr   bool         // an IP prefix such as "10.0.0.0/8"
	prefix netip.Prefix // for cidr
	suffix string       // "example.com" for "*.example.com"
	host   string       // canonical host for an exact pattern
	ip     bool         // host is an IP address
	port   int          // 0: any port
}

// parseHostPattern parses a host pattern: "*", "*:port", "example.com",
// "example.com:port", "*.example.com[:port]", an IPv4 literal with an
// optional port, an IPv6 literal (bare, or "[v6]" with an optional port),
// or an IP prefix in CIDR notation ("10.0.0.0/8", "fd00::/8"). Host parts
// are canonicalised like URL hosts.
func parseHostPattern(p string) (hostPattern, error) {
	bad := func(err error) (hostPattern, error) {
		return hostPattern{}, fmt.Errorf("invalid host pattern %q: %w", p, err)
	}
	if p == "*" {
		return hostPattern{any: true}, nil
	}
	if strings.Contains(p, "/") {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return bad(err)
		}
		pfx = pfx.Masked()
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return hostPattern{cidr: true, prefix: pfx}, nil
	}
	if strings.HasPrefix(p, "[") {
		end := strings.IndexByte(p, ']')
		if end < 0 {
			return bad(errors.New("missing ']'"))
		}
		h, _, err := canonicalHost(p[1:end], true)
		if err != nil {
			return bad(err)
		}
		pat := hostPattern{host: h, ip: true}
		if rest := p[end+1:]; rest != "" {
			ps, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return bad(fmt.Errorf("unexpected %q after ']'", rest))
			}
			if pat.port, err = parsePort(ps); err != nil {
				return bad(err)
			}
		}
		return pat, nil
	}
	if strings.Count(p, ":") >= 2 {
		h, _, err := canonicalHost(p, true)
		if err != nil {
			return bad(err)
		}
		return hostPattern{host: h, ip: true}, nil
	}
	hostPart, port := p, 0
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		var err error
		hostPart = p[:i]
		if port, err = parsePort(p[i+1:]); err != nil {
			return bad(err)
		}
	}
	if hostPart == "*" {
		return hostPattern{any: true, port: port}, nil
	}
	if rest, ok := strings.CutPrefix(hostPart, "*."); ok {
		h, ip, err := canonicalHost(rest, false)
		if err != nil {
			return bad(err)
		}
		if ip {
			return bad(errors.New("a wildcard must be followed by a domain name"))
		}
		return hostPattern{suffix: h, port: port}, nil
	}
	h, ip, err := canonicalHost(hostPart, false)
	if err != nil {
		return bad(err)
	}
	return hostPattern{host: h, ip: ip, port: port}, nil
}

func (hp hostPattern) match(t *URLTarget) bool {
	if hp.port != 0 && hp.port != t.Port {
		return false
	}
	switch {
	case hp.any:
		return true
	case hp.cidr:
		if !t.IP {
			return false
		}
		a, err := netip.ParseAddr(t.Host)
		return err == nil && hp.prefix.Contains(a)
	case hp.suffix != "":
		return !t.IP && strings.HasSuffix(t.Host, "."+hp.suffix)
	default:
		return t.Host == hp.host
	}
}

// MatchHost reports whether target t matches host pattern: "*" (any host),
// "example.com" (that host, any port), "example.com:443" (that port only),
// "*.example.com" (strict subdomains, not example.com itself), an IP
// literal ("127.0.0.1", "::1", "[::1]:8080") or a CIDR prefix
// ("10.0.0.0/8", matching IP targets only). The pattern's host is
// canonicalised like a URL host (case, trailing dot, IDNA), so
// "Bücher.Example." matches "xn--bcher-kva.example". A malformed pattern
// matches nothing.
func MatchHost(pattern string, t *URLTarget) bool {
	if t == nil {
		return false
	}
	hp, err := parseHostPattern(pattern)
	return err == nil && hp.match(t)
}

// hostPatternCovers reports whether every target matched by child is
// matched by parent. Malformed patterns cover nothing and are covered by
// nothing.
func hostPatternCovers(parent, child string) bool {
	pp, err := parseHostPattern(parent)
	if err != nil {
		return false
	}
	cp, err := parseHostPattern(child)
	if err != nil {
		return false
	}
	if pp.port != 0 && cp.port != pp.port {
		return false
	}
	switch {
	case pp.any:
		return true
	case cp.any:
		return false
	case pp.cidr:
		switch {
		case cp.cidr:
			return pp.prefix.Bits() <= cp.prefix.Bits() && pp.prefix.Contains(cp.prefix.Addr())
		case cp.ip:
			a, err := netip.ParseAddr(cp.host)
			return err == nil && pp.prefix.Contains(a)
		}
		return false
	case pp.suffix != "":
		switch {
		case cp.suffix != "":
			return cp.suffix == pp.suffix || strings.HasSuffix(cp.suffix, "."+pp.suffix)
		case cp.cidr || cp.ip:
			return false
		}
		return strings.HasSuffix(cp.host, "."+pp.suffix)
	case cp.cidr:
		return pp.ip && cp.prefix.IsSingleIP() && cp.prefix.Addr().String() == pp.host
	case cp.suffix != "":
		return false
	}
	return cp.host == pp.host
}

// CheckURL parses raw and checks its target against c's host lists. It
// returns the target, or a *Violation of kind "host" (whose Subject never
// contains the URL's userinfo): a Pure context allows no host; a host
// matching a DenyHosts pattern is denied; a Full context with an empty
// AllowHosts allows every other host; otherwise the target must match an
// AllowHosts pattern. An unparseable URL is a violation too.
func (c *Context) CheckURL(raw string) (*URLTarget, error) {
	t, err := ParseURL(raw)
	if err != nil {
		return nil, &Violation{Kind: "host", Subject: redactURL(raw), Reason: err.Error()}
	}
	deny := func(format string, args ...any) (*URLTarget, error) {
		return nil, &Violation{Kind: "host", Subject: t.String(), Reason: fmt.Sprintf(format, args...)}
	}
	if c.Level == Pure {
		return deny("the pure security level allows no network access")
	}
	for _, p := range c.DenyHosts {
		if MatchHost(p, t) {
			return deny("matches deny pattern %q of context %s", p, c.displayName())
		}
	}
	if c.Level == Full && len(c.AllowHosts) == 0 {
		return t, nil
	}
	for _, p := range c.AllowHosts {
		if MatchHost(p, t) {
			return t, nil
		}
	}
	if len(c.AllowHosts) == 0 {
		return deny("context %s allows no hosts", c.displayName())
	}
	return deny("not on the host allow-list of context %s", c.displayName())
}

// redactURL returns raw for display without userinfo.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			u.User = url.User("REDACTED")
		}
		raw = u.String()
	} else if i := strings.Index(raw, "://"); i >= 0 {
		auth := raw[i+3:]
		if end := strings.IndexAny(auth, "/?#"); end >= 0 {
			auth = auth[:end]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			raw = raw[:i+3] + "REDACTED@" + raw[i+3+at+1:]
		}
	}
	if len(raw) > 256 {
		raw = raw[:256] + "..."
	}
	return strconv.QuoteToASCII(raw)
}

package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ccos-go/ccos/ccos/security"
)

// Policy is what the proxy lets through.
type Policy struct {
	// Allow lists host patterns (security.MatchHost syntax); empty allows
	// nothing. "*" allows any host that resolves to a public address.
	// A non-public address (loopback, private, link-local, ...) is
	// reachable only if an Allow pattern names it explicitly: an IP
	// literal ("127.0.0.1", "127.0.0.1:8080", "[::1]:8080") or a CIDR
	// prefix ("10.0.0.0/8") containing it; wildcards never do.
	Allow []string
	// Deny lists host patterns that are refused even if allowed. They are
	// checked against the requested host and against every address it
	// resolves to, so "10.0.0.0/8" also refuses names resolving there.
	// Deny wins.
	Deny []string
}

// validate reports malformed patterns (which would otherwise silently
// match nothing). It borrows security.Context's validation, whose only
// possible complaints for this context concern the host patterns.
func (pol Policy) validate() error {
	c := &security.Context{
		Name:       "egress policy",
		Level:      security.Full,
		AllowHosts: pol.Allow,
		DenyHosts:  pol.Deny,
		Isolations: []security.Isolation{security.Sandboxed},
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("egress: invalid policy: %w", err)
	}
	return nil
}

// refusal is a policy refusal: the request gets 403 and a Denial.
type refusal struct {
	ip     string // the offending resolved address, if any
	reason string
}

func (r *refusal) Error() string { return r.reason }

// target is a request destination that passed the policy: the canonical
// target and every address it resolved to, all of them checked.
type target struct {
	t   *security.URLTarget
	ips []netip.Addr
}

// badRequest marks a request the proxy does not understand (400).
type badRequest struct{ msg string }

func (b *badRequest) Error() string { return b.msg }

// parseDest parses a requested host and port into a canonical target, the
// way security.ParseURL canonicalises URL hosts (case, trailing dot, IDNA,
// IPv4 spelled only in dotted decimal, IPv4-mapped IPv6 as IPv4). portStr
// "" means the scheme's default port. It returns a *badRequest for a
// malformed port or an empty host, and a *refusal for a host that is not a
// valid host name or IP address.
func parseDest(scheme, host, portStr string) (*security.URLTarget, error) {
	if host == "" {
		return nil, &badRequest{"no host in request"}
	}
	port := 0
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 || strings.Trim(portStr, "0123456789") != "" {
			return nil, &badRequest{fmt.Sprintf("invalid port %q", portStr)}
		}
		port = n
	}
	// Characters that would change how the synthesized URL parses
	// (userinfo, path, zone ...) are never part of a valid host.
	for i := 0; i < len(host); i++ {
		if b := host[i]; b <= ' ' || b == 0x7f || strings.IndexByte("@/?#\\%[]<>\"'`{}|^", b) >= 0 {
			return nil, &refusal{reason: fmt.Sprintf("invalid host %q", host)}
		}
	}
	hp := host
	if strings.Contains(host, ":") {
		hp = "[" + host + "]"
	}
	if port != 0 {
		hp += ":" + strconv.Itoa(port)
	}
	t, err := security.ParseURL(scheme + "://" + hp + "/")
	if err != nil {
		return nil, &refusal{reason: fmt.Sprintf("invalid host %q: %v", host, err)}
	}
	if port != 0 && t.Port != port {
		return nil, &refusal{reason: fmt.Sprintf("invalid host %q", host)}
	}
	return t, nil
}

// authorize applies the policy to t: the name first (a refused name is
// never resolved), then every address it resolves to.
func (p *Proxy) authorize(ctx context.Context, t *security.URLTarget) (*target, error) {
	pol := p.opts.Policy
	for _, d := range pol.Deny {
		if security.MatchHost(d, t) {
			return nil, &refusal{reason: fmt.Sprintf("host %s matches deny pattern %q", t.HostPort(), d)}
		}
	}
	allowed := false
	for _, a := range pol.Allow {
		if security.MatchHost(a, t) {
			allowed = true
			break
		}
	}
	if !allowed {
		if len(pol.Allow) == 0 {
			return nil, &refusal{reason: fmt.Sprintf("host %s refused: the egress allow list is empty", t.HostPort())}
		}
		return nil, &refusal{reason: fmt.Sprintf("host %s is not on the egress allow list", t.HostPort())}
	}

	var addrs []netip.Addr
	if t.IP {
		a, err := netip.ParseAddr(t.Host)
		if err != nil {
			return nil, &refusal{reason: fmt.Sprintf("invalid address %q", t.Host)}
		}
		addrs = []netip.Addr{a}
	} else {
		rctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		res, err := p.resolver.LookupIPAddr(rctx, t.Host)
		if err != nil {
			return nil, fmt.Errorf("cannot resolve %s: %w", t.Host, err)
		}
		for _, r := range res {
			a, ok := netip.AddrFromSlice(r.IP)
			if !ok {
				return nil, fmt.Errorf("cannot resolve %s: resolver returned an invalid address", t.Host)
			}
			addrs = append(addrs, a)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("cannot resolve %s: no addresses", t.Host)
		}
	}

	out := &target{t: t}
	for _, a := range addrs {
		a = a.WithZone("").Unmap()
		if err := p.checkAddr(t, a); err != nil {
			return nil, err
		}
		out.ips = append(out.ips, a)
	}
	return out, nil
}

// checkAddr checks one resolved (or literal) address of t: deny patterns,
// then the public-address rule.
func (p *Proxy) checkAddr(t *security.URLTarget, a netip.Addr) error {
	ipt := &security.URLTarget{Scheme: t.Scheme, Host: a.String(), Port: t.Port, IP: true}
	what := "address " + a.String()
	if !t.IP {
		what = t.Host + " resolves to " + a.String() + ", which"
	}
	for _, d := range p.opts.Policy.Deny {
		if security.MatchHost(d, ipt) {
			return &refusal{ip: a.String(), reason: fmt.Sprintf("%s matches deny pattern %q", what, d)}
		}
	}
	kind := nonPublic(a)
	if kind == "" {
		return nil
	}
	// Only a pattern naming the address (an IP literal or a CIDR prefix)
	// lets a non-public address through. Wildcard patterns ("*", "*:port",
	// "*.domain") all start with '*'; name patterns never match an IP
	// target because IP-like pattern hosts canonicalise to IP addresses.
	for _, al := range p.opts.Policy.Allow {
		if !strings.HasPrefix(al, "*") && security.MatchHost(al, ipt) {
			return nil
		}
	}
	return &refusal{ip: a.String(), reason: fmt.Sprintf("%s is a %s address, and the allow list does not name it explicitly (as an IP literal or CIDR)", what, kind)}
}

var (
	nonPublic4 = []struct {
		p    netip.Prefix
		kind string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8)`},
		{netip.MustParsePrefix("100.64.0.0/10"), "shared/CGNAT (100.64.0.0/10)"},
		{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (192.0.0.0/24)"},
		{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1)"},
		{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2)"},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3)"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved/broadcast (240.0.0.0/4)"},
	}
	nonPublic6 = []struct {
		p    netip.Prefix
		kind string
	}{
		{netip.MustParsePrefix("::/96"), "IPv4-compatible (::/96, deprecated)"},
		{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)"},
		{netip.MustParsePrefix("2001::/32"), "Teredo tunnel (2001::/32)"},
		{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
		{netip.MustParsePrefix("fec0::/10"), "site-local (fec0::/10, deprecated)"},
	}
	nat64     = []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48")}
	sixToFour = netip.MustParsePrefix("2002::/16")
	metadata  = netip.MustParseAddr("169.254.169.254")
)

// nonPublic returns what kind of non-public address a is (for example
// "loopback"), or "" for a public unicast address. IPv4-mapped addresses
// are judged as IPv4; NAT64 and 6to4 addresses by the IPv4 address they
// embed.
func nonPublic(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a == metadata:
		return "link-local (cloud metadata service)"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case a.IsPrivate():
		if a.Is4() {
			return "private (RFC 1918)"
		}
		return "private (unique local fc00::/7)"
	}
	if a.Is4() {
		for _, r := range nonPublic4 {
			if r.p.Contains(a) {
				return r.kind
			}
		}
		return ""
	}
	for _, r := range nonPublic6 {
		if r.p.Contains(a) {
			return r.kind
		}
	}
	b := a.As16()
	for _, p := range nat64 {
		if p.Contains(a) {
			if k := nonPublic(netip.AddrFrom4([4]byte(b[12:16]))); k != "" {
				return "NAT64 form of a " + k
			}
			return ""
		}
	}
	if sixToFour.Contains(a) {
		if k := nonPublic(netip.AddrFrom4([4]byte(b[2:6]))); k != "" {
			return "6to4 form of a " + k
		}
	}
	return ""
}

// dialChecked dials the checked addresses in order (never resolving the
// name again), each with a 10 s timeout, and returns the first connection
// that succeeds.
func (p *Proxy) dialChecked(ctx context.Context, ips []netip.Addr, port int) (net.Conn, error) {
	var errs []error
	for _, ip := range ips {
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		c, err := p.dial(dctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		cancel()
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

package profile

import (
	"path/filepath"
	"slices"

	"github.com/ccos-go/ccos/ccos/security"
)

// Adjusting a derived profile to the runtime context. The rules mirror the
// context's own checks (security.Context.CheckURL, CheckRead, CheckWrite,
// CheckEnv), so that the profile never allows what the context denies: a
// Pure context allows no host, path or variable; a Full context with an
// empty AllowHosts allows every host not denied; file roots and env vars
// are allowed only when listed ("*" for any). A nil context leaves the
// profile as derived.

// intersectNetwork limits a derived network policy to the context's
// hosts. An open context (Full with no AllowHosts, or AllowHosts "*")
// keeps the policy, Full becoming a deny-list of the context's DenyHosts
// when it has some; otherwise NetFull becomes the context's allow-list and
// allow-list entries are intersected with it entry by entry. Entries the
// context's deny-list excludes entirely are dropped; an empty result is
// NetDenied.
func intersectNetwork(n NetworkPolicy, ctx *security.Context) NetworkPolicy {
	if ctx == nil || n.Kind == NetDenied {
		return n
	}
	if ctx.Level == security.Pure {
		return NetworkPolicy{Kind: NetDenied}
	}
	allow := canonHostEntries(ctx.AllowHosts)
	deny := canonHostEntries(ctx.DenyHosts)
	open := (ctx.Level == security.Full && len(allow) == 0) || slices.Contains(allow, "*")
	var hosts []string
	switch n.Kind {
	case NetFull:
		if open {
			if len(deny) > 0 {
				return NetworkPolicy{Kind: NetDenyList, Hosts: sortUniq(deny)}
			}
			return n
		}
		hosts = allow
	case NetAllowList:
		if open {
			hosts = n.Hosts
			break
		}
		for _, h := range n.Hosts {
			for _, a := range allow {
				if x, ok := intersectHost(h, a); ok {
					hosts = append(hosts, x)
				}
			}
		}
	default:
		// Derivation never produces a deny-list before this point.
		return n
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if !hostDenied(deny, h) {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return NetworkPolicy{Kind: NetDenied}
	}
	return NetworkPolicy{Kind: NetAllowList, Hosts: sortUniq(out)}
}

// canonHostEntries canonicalises host patterns (see canonHostEntry),
// keeping a malformed one lower-cased (it then matches nothing, as in
// security.MatchHost).
func canonHostEntries(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		c, err := canonHostEntry(x)
		if err != nil {
			c = lowerAll(xs[i : i+1])[0]
		}
		out[i] = c
	}
	return out
}

// intersectFS limits derived read and write roots to the context's roots
// (readable: ReadRoots and WriteRoots; writable: WriteRoots) and builds
// the policy.
func intersectFS(reads, writes []string, ctx *security.Context) FSPolicy {
	if ctx != nil {
		if ctx.Level == security.Pure {
			return FSPolicy{Kind: FSNone}
		}
		w := canonRoots(ctx.WriteRoots)
		r := append(canonRoots(ctx.ReadRoots), w...)
		reads = intersectRoots(reads, r)
		writes = intersectRoots(writes, w)
	}
	return fsPolicy(reads, writes)
}

// canonRoots canonicalises a context's roots the way the context's checks
// do: "*" stays, relative or unresolvable roots are dropped.
func canonRoots(roots []string) []string {
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		if r == anyPath {
			out = append(out, r)
			continue
		}
		if !filepath.IsAbs(r) {
			continue
		}
		if c, err := security.CanonicalPath(r); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// intersectEnv limits env var names to the context's AllowEnv ("*" in
// either list means any name).
func intersectEnv(envs []string, ctx *security.Context) []string {
	if len(envs) == 0 || ctx == nil {
		return envs
	}
	if ctx.Level == security.Pure {
		return nil
	}
	if slices.Contains(ctx.AllowEnv, "*") {
		return envs
	}
	if slices.Contains(envs, "*") {
		return sortUniq(slices.Clone(ctx.AllowEnv))
	}
	var out []string
	for _, v := range envs {
		if slices.Contains(ctx.AllowEnv, v) {
			out = append(out, v)
		}
	}
	return out
}

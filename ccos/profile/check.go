package profile

import (
	"slices"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/security"
)

// AllowsCapability reports whether the step may call capability id: it is
// among the profile's Capabilities and the profile is not Unknown.
func (p *StepProfile) AllowsCapability(id string) bool {
	if p == nil || p.Unknown {
		return false
	}
	_, ok := slices.BinarySearch(p.Capabilities, id)
	return ok
}

// execClass reports whether the profile was derived for a step that runs
// external programs (the syscall filter is on exactly for those).
func (p *StepProfile) execClass() bool {
	return !p.Unknown && p.Flags.SyscallFilter
}

// Check is the profile half of the capability-boundary check of one call
// (the runtime context half is the authorizer's). Each URL must satisfy
// the network policy (parsed with security.ParseURL, matched with
// security.MatchHost, the port made explicit from the scheme); each read
// must be within a read or write root and each write within a write root
// (paths canonicalised with security.CanonicalPath, so ".." and symlinks
// cannot escape); each env var must be in EnvVars (or EnvVars holds "*");
// programs may run only in an exec-class step. An Unknown profile allows
// no target at all. Denials are *security.Violation with Kind host,
// read, write, env or capability.
func (p *StepProfile) Check(t caps.Targets) error {
	if p == nil {
		return &security.Violation{Kind: "capability", Subject: "", Reason: "no step profile"}
	}
	if p.Unknown && (len(t.URLs)+len(t.Reads)+len(t.Writes)+len(t.Env)+len(t.Programs)) > 0 {
		return &security.Violation{Kind: "capability", Subject: p.StepName,
			Reason: "the step's profile is unknown (a capability id is not a literal): it may touch nothing"}
	}
	for _, raw := range t.URLs {
		if err := p.checkURL(raw); err != nil {
			return err
		}
	}
	fs := &p.MicroVM.FS
	for _, raw := range t.Reads {
		if err := checkPath("read", raw, fs.Kind, fs.Read, fs.Write); err != nil {
			return err
		}
	}
	for _, raw := range t.Writes {
		if err := checkPath("write", raw, fs.Kind, nil, fs.Write); err != nil {
			return err
		}
	}
	for _, v := range t.Env {
		if !slices.Contains(p.MicroVM.EnvVars, "*") && !slices.Contains(p.MicroVM.EnvVars, v) {
			return &security.Violation{Kind: "env", Subject: v, Reason: "not among the step profile's environment variables"}
		}
	}
	if len(t.Programs) > 0 && !p.execClass() {
		return &security.Violation{Kind: "capability", Subject: t.Programs[0],
			Reason: "the step profile does not allow running programs"}
	}
	return nil
}

func (p *StepProfile) checkURL(raw string) error {
	n := &p.MicroVM.Network
	u, err := security.ParseURL(raw)
	if err != nil {
		return &security.Violation{Kind: "host", Subject: raw, Reason: "invalid URL: " + err.Error()}
	}
	u = withPort(u)
	switch n.Kind {
	case NetFull:
		return nil
	case NetAllowList:
		for _, h := range n.Hosts {
			if security.MatchHost(h, u) {
				return nil
			}
		}
		return &security.Violation{Kind: "host", Subject: raw, Reason: "host not in the step profile's network allow-list"}
	case NetDenyList:
		for _, h := range n.Hosts {
			if security.MatchHost(h, u) {
				return &security.Violation{Kind: "host", Subject: raw, Reason: "host in the step profile's network deny-list"}
			}
		}
		return nil
	}
	return &security.Violation{Kind: "host", Subject: raw, Reason: "network access denied by the step profile"}
}

// checkPath checks one path against readable roots (read plus write) or
// writable roots (write).
func checkPath(kind, raw string, k FSKind, read, write []string) error {
	if k == FSFull {
		return nil
	}
	if k == FSNone {
		return &security.Violation{Kind: kind, Subject: raw, Reason: "file system access denied by the step profile"}
	}
	c, err := security.CanonicalPath(raw)
	if err != nil {
		return &security.Violation{Kind: kind, Subject: raw, Reason: "invalid path: " + err.Error()}
	}
	if anyRootCovers(write, c) || anyRootCovers(read, c) {
		return nil
	}
	reason := "outside the step profile's readable roots"
	if kind == "write" {
		reason = "outside the step profile's writable roots"
	}
	return &security.Violation{Kind: kind, Subject: raw, Reason: reason}
}

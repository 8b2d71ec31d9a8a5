package profile

import (
	"fmt"
	"slices"
	"time"

	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Narrow applies (with-security-profile opts ...) or step options to p and
// returns the narrowed copy (p is unchanged). opts is an RTFS map (nil:
// no change) with keyword (or string) keys:
//
//   - :isolation :inherit|:isolated|:sandboxed — the same or stricter;
//   - :network-hosts [..] — host entries ("host", "host:port",
//     "*.suffix", or URLs); the result allows exactly the part of each
//     entry the current policy allows (so "api.example.com" under
//     "api.example.com:443" gives "api.example.com:443"); an entry the
//     current policy allows nothing of is a violation; [] denies the
//     network;
//   - :fs-read [..] and :fs-write [..] — roots, canonicalised; they
//     replace the read-only roots and the write roots with their
//     intersection with the currently readable (resp. writable) roots;
//     write roots stay readable; [] removes the access;
//   - :timeout-ms n and :memory-mb n — only lower than the current limit.
//
// Other keys (e.g. step options such as :params or :retry) are ignored.
// Any widening is a *security.Violation (Kind isolation, host, read,
// write or limit); a malformed value is a :type-error. The caller checks
// a raised isolation level against the runtime context.
func Narrow(p *StepProfile, opts value.Value) (*StepProfile, error) {
	if p == nil {
		return nil, fmt.Errorf("profile: nil profile")
	}
	q := p.clone()
	if opts == nil {
		return q, nil
	}
	m, ok := opts.(*value.Map)
	if !ok {
		return nil, value.Errorf(value.ErrType, "security profile options must be a map, got %s", value.TypeName(opts))
	}
	get := func(k string) (value.Value, bool) {
		if v, ok := m.Get(value.Keyword(k)); ok {
			return v, true
		}
		return m.Get(value.String(k))
	}
	if v, ok := get("isolation"); ok {
		if err := raiseIsolation(q, v); err != nil {
			return nil, err
		}
	}
	if v, ok := get("network-hosts"); ok {
		hosts, err := strList("network-hosts", v)
		if err != nil {
			return nil, err
		}
		if q.MicroVM.Network, err = narrowHosts(q.MicroVM.Network, hosts); err != nil {
			return nil, err
		}
	}
	fs := q.MicroVM.FS
	read, write := fs.Read, fs.Write
	if v, ok := get("fs-read"); ok {
		req, err := strList("fs-read", v)
		if err != nil {
			return nil, err
		}
		readable := append(slices.Clip(fs.Read), fs.Write...)
		if read, err = narrowRoots("read", readable, req); err != nil {
			return nil, err
		}
	}
	if v, ok := get("fs-write"); ok {
		req, err := strList("fs-write", v)
		if err != nil {
			return nil, err
		}
		if write, err = narrowRoots("write", fs.Write, req); err != nil {
			return nil, err
		}
	}
	q.MicroVM.FS = fsPolicy(read, write)
	if v, ok := get("timeout-ms"); ok {
		n, err := posInt("timeout-ms", v)
		if err != nil {
			return nil, err
		}
		d := time.Duration(n) * time.Millisecond
		if cur := q.Limits.MaxExecutionTime; cur > 0 && d > cur {
			return nil, &security.Violation{Kind: "limit", Subject: "timeout-ms",
				Reason: fmt.Sprintf("cannot widen the step's execution time limit from %d ms to %d ms", cur.Milliseconds(), n)}
		}
		q.Limits.MaxExecutionTime = d
	}
	if v, ok := get("memory-mb"); ok {
		n, err := posInt("memory-mb", v)
		if err != nil {
			return nil, err
		}
		if n > (1<<63-1)/mib {
			n = (1<<63 - 1) / mib
		}
		bytes := n * mib
		if cur := q.Limits.MaxMemoryBytes; cur > 0 && bytes > cur {
			return nil, &security.Violation{Kind: "limit", Subject: "memory-mb",
				Reason: fmt.Sprintf("cannot widen the step's memory limit from %d MiB to %d MiB", cur/mib, n)}
		}
		q.Limits.MaxMemoryBytes = bytes
	}
	q.seal()
	return q, nil
}

// narrowHosts restricts a network policy to the requested entries.
func narrowHosts(cur NetworkPolicy, req []string) (NetworkPolicy, error) {
	var out []string
	for _, raw := range req {
		r, err := canonHostEntry(raw)
		if err != nil {
			return cur, &security.Violation{Kind: "host", Subject: raw, Reason: "invalid host: " + err.Error()}
		}
		switch cur.Kind {
		case NetFull:
			out = append(out, r)
			continue
		case NetDenyList:
			if !hostOverlapsDeny(cur.Hosts, r) {
				out = append(out, r)
				continue
			}
		case NetAllowList:
			n := len(out)
			for _, h := range cur.Hosts {
				if x, ok := intersectHost(r, h); ok {
					out = append(out, x)
				}
			}
			if len(out) > n {
				continue
			}
		}
		return cur, &security.Violation{Kind: "host", Subject: raw,
			Reason: "cannot widen the step's network policy (" + cur.Kind.String() + ")"}
	}
	if len(out) == 0 {
		return NetworkPolicy{Kind: NetDenied}, nil
	}
	return NetworkPolicy{Kind: NetAllowList, Hosts: sortUniq(out)}, nil
}

// narrowRoots intersects requested roots with the current ones; a
// requested root with an empty intersection is a violation.
func narrowRoots(kind string, cur, req []string) ([]string, error) {
	var out []string
	for _, raw := range req {
		r := anyPath
		if raw != anyPath {
			c, err := security.CanonicalPath(raw)
			if err != nil {
				return nil, &security.Violation{Kind: kind, Subject: raw, Reason: "invalid path: " + err.Error()}
			}
			r = c
		}
		n := len(out)
		for _, c := range cur {
			if x, ok := intersectRoot(r, c); ok {
				out = append(out, x)
			}
		}
		if len(out) == n {
			return nil, &security.Violation{Kind: kind, Subject: raw,
				Reason: "cannot widen the step's file system policy"}
		}
	}
	return out, nil
}

// strList reads a vector, list or set of strings (keywords allowed).
func strList(key string, v value.Value) ([]string, error) {
	var items []value.Value
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *value.Vector:
		items = x.Items()
	case *value.List:
		items = x.Items()
	case *value.Set:
		items = x.Items()
	default:
		return nil, value.Errorf(value.ErrType, ":%s must be a vector of strings, got %s", key, value.TypeName(v))
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		switch s := it.(type) {
		case value.String:
			out = append(out, string(s))
		case value.Keyword:
			out = append(out, string(s))
		default:
			return nil, value.Errorf(value.ErrType, ":%s must be a vector of strings, got an element %s", key, value.Repr(it))
		}
	}
	return out, nil
}

// posInt reads a positive integer option.
func posInt(key string, v value.Value) (int64, error) {
	n, ok := v.(value.Int)
	if !ok || n <= 0 {
		return 0, value.Errorf(value.ErrType, ":%s must be a positive integer, got %s", key, value.Repr(v))
	}
	return int64(n), nil
}

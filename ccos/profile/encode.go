package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// String returns the RTFS name of a network policy kind: denied,
// allow-list, deny-list or full.
func (k NetworkKind) String() string {
	switch k {
	case NetDenied:
		return "denied"
	case NetAllowList:
		return "allow-list"
	case NetDenyList:
		return "deny-list"
	case NetFull:
		return "full"
	}
	return "unknown"
}

// String returns the RTFS name of a file system policy kind: none,
// read-only, read-write or full.
func (k FSKind) String() string {
	switch k {
	case FSNone:
		return "none"
	case FSReadOnly:
		return "read-only"
	case FSReadWrite:
		return "read-write"
	case FSFull:
		return "full"
	}
	return "unknown"
}

// seal fills the derived fields: the MicroVM mirror of the limits, Hash
// and ProfileID.
func (p *StepProfile) seal() {
	p.MicroVM.Timeout = p.Limits.MaxExecutionTime
	p.MicroVM.CPULimit = p.Limits.MaxCPUUsage
	p.MicroVM.MemoryLimitMB = 0
	if m := p.Limits.MaxMemoryBytes; m > 0 {
		// Rounded down (never above the limit), but at least 1 so that
		// a tiny limit never reads as "no limit".
		p.MicroVM.MemoryLimitMB = max(m/mib, 1)
	}
	sum := sha256.Sum256([]byte(p.canonical()))
	p.Hash = hex.EncodeToString(sum[:])
	p.ProfileID = "sp-" + p.Hash[:16]
}

// clone returns a deep copy of p.
func (p *StepProfile) clone() *StepProfile {
	q := *p
	q.MicroVM.Network.Hosts = slices.Clone(p.MicroVM.Network.Hosts)
	q.MicroVM.FS.Read = slices.Clone(p.MicroVM.FS.Read)
	q.MicroVM.FS.Write = slices.Clone(p.MicroVM.FS.Write)
	q.MicroVM.EnvVars = slices.Clone(p.MicroVM.EnvVars)
	q.Capabilities = slices.Clone(p.Capabilities)
	return &q
}

// canonical is the encoding Hash is computed over: the RTFS printed form
// of ToValue without :profile-id and :hash (every map has its keys in
// sorted order, so the encoding is deterministic). It is written directly
// rather than printed from ToValue, which is several times slower; a test
// keeps the two identical.
func (p *StepProfile) canonical() string {
	var b strings.Builder
	b.Grow(768)
	flag := func(k string, v bool) {
		b.WriteString(k)
		if v {
			b.WriteString(" true")
		} else {
			b.WriteString(" false")
		}
	}
	strs := func(k string, xs []string) {
		b.WriteString(k)
		b.WriteString(" [")
		for i, x := range xs {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeQuoted(&b, x)
		}
		b.WriteByte(']')
	}
	num := func(k string, n int64, opt bool) {
		b.WriteString(k)
		b.WriteByte(' ')
		if opt && n == 0 {
			b.WriteString("nil")
		} else {
			b.WriteString(strconv.FormatInt(n, 10))
		}
	}
	strs("{:capabilities", p.Capabilities)
	flag(" :deterministic", p.Deterministic)
	b.WriteString(" :downgraded ")
	if p.Downgraded != "" {
		writeQuoted(&b, p.Downgraded)
	} else {
		b.WriteString("nil")
	}
	strs(" :env-vars", p.MicroVM.EnvVars)
	f := p.Flags
	flag(" :flags {:cpu-monitoring", f.CPUMonitoring)
	flag(" :fs-acl", f.FSACL)
	flag(" :log-syscalls", f.LogSyscalls)
	flag(" :memory-protection", f.MemoryProtection)
	flag(" :network-acl", f.NetworkACL)
	flag(" :read-only-fs", f.ReadOnlyFS)
	flag(" :syscall-filter", f.SyscallFilter)
	b.WriteString("} :fs {:policy :")
	b.WriteString(p.MicroVM.FS.Kind.String())
	strs(" :read", p.MicroVM.FS.Read)
	strs(" :write", p.MicroVM.FS.Write)
	b.WriteString("} :isolation :")
	b.WriteString(isoName(p.Isolation))
	l := p.Limits
	b.WriteString(" :limits {:max-cpu-usage ")
	b.WriteString(value.FormatFloat(l.MaxCPUUsage))
	num(" :max-execution-time-ms", l.MaxExecutionTime.Milliseconds(), true)
	num(" :max-io-operations", l.MaxIOOps, true)
	num(" :max-memory-bytes", l.MaxMemoryBytes, true)
	num(" :max-network-bandwidth", l.MaxNetworkBandwidth, true)
	m := p.MicroVM
	b.WriteString("} :microvm {:cpu-limit ")
	b.WriteString(value.FormatFloat(m.CPULimit))
	num(" :memory-limit-mb", m.MemoryLimitMB, false)
	num(" :timeout-ms", int64(m.Timeout/time.Millisecond), false)
	strs("} :network {:hosts", m.Network.Hosts)
	b.WriteString(" :policy :")
	b.WriteString(m.Network.Kind.String())
	b.WriteString("} :step ")
	writeQuoted(&b, p.StepName)
	flag(" :unknown", p.Unknown)
	b.WriteByte('}')
	return b.String()
}

// ToValue returns the profile as an RTFS map (the metadata of a
// StepProfileDerived record), keys in sorted order:
//
//	{:capabilities ["id" ...]
//	 :deterministic bool
//	 :downgraded "sandboxed->isolated" or nil
//	 :env-vars ["NAME" ...]
//	 :flags {:cpu-monitoring :fs-acl :log-syscalls :memory-protection
//	         :network-acl :read-only-fs :syscall-filter}
//	 :fs {:policy :none|:read-only|:read-write|:full :read [..] :write [..]}
//	 :hash "hex"
//	 :isolation :inherit|:isolated|:sandboxed
//	 :limits {:max-cpu-usage :max-execution-time-ms :max-io-operations
//	          :max-memory-bytes :max-network-bandwidth}  ; 0 (unlimited) is nil
//	 :microvm {:cpu-limit :memory-limit-mb :timeout-ms}
//	 :network {:hosts [..] :policy :denied|:allow-list|:deny-list|:full}
//	 :profile-id "sp-..."
//	 :step "name"
//	 :unknown bool}
func (p *StepProfile) ToValue() value.Value { return p.toValue(true) }

func (p *StepProfile) toValue(ids bool) *value.Map {
	kw := value.Kw
	b := value.NewMapBuilder()
	b.Assoc(kw("capabilities"), strVec(p.Capabilities))
	b.Assoc(kw("deterministic"), value.Bool(p.Deterministic))
	if p.Downgraded != "" {
		b.Assoc(kw("downgraded"), value.String(p.Downgraded))
	} else {
		b.Assoc(kw("downgraded"), nil)
	}
	b.Assoc(kw("env-vars"), strVec(p.MicroVM.EnvVars))
	f := p.Flags
	b.Assoc(kw("flags"), value.NewMap(
		kw("cpu-monitoring"), value.Bool(f.CPUMonitoring),
		kw("fs-acl"), value.Bool(f.FSACL),
		kw("log-syscalls"), value.Bool(f.LogSyscalls),
		kw("memory-protection"), value.Bool(f.MemoryProtection),
		kw("network-acl"), value.Bool(f.NetworkACL),
		kw("read-only-fs"), value.Bool(f.ReadOnlyFS),
		kw("syscall-filter"), value.Bool(f.SyscallFilter),
	))
	fs := p.MicroVM.FS
	b.Assoc(kw("fs"), value.NewMap(
		kw("policy"), kw(fs.Kind.String()),
		kw("read"), strVec(fs.Read),
		kw("write"), strVec(fs.Write),
	))
	if ids {
		b.Assoc(kw("hash"), value.String(p.Hash))
	}
	b.Assoc(kw("isolation"), kw(isoName(p.Isolation)))
	l := p.Limits
	b.Assoc(kw("limits"), value.NewMap(
		kw("max-cpu-usage"), value.Float(l.MaxCPUUsage),
		kw("max-execution-time-ms"), optInt(l.MaxExecutionTime.Milliseconds()),
		kw("max-io-operations"), optInt(l.MaxIOOps),
		kw("max-memory-bytes"), optInt(l.MaxMemoryBytes),
		kw("max-network-bandwidth"), optInt(l.MaxNetworkBandwidth),
	))
	m := p.MicroVM
	b.Assoc(kw("microvm"), value.NewMap(
		kw("cpu-limit"), value.Float(m.CPULimit),
		kw("memory-limit-mb"), value.Int(m.MemoryLimitMB),
		kw("timeout-ms"), value.Int(m.Timeout/time.Millisecond),
	))
	n := m.Network
	b.Assoc(kw("network"), value.NewMap(
		kw("hosts"), strVec(n.Hosts),
		kw("policy"), kw(n.Kind.String()),
	))
	if ids {
		b.Assoc(kw("profile-id"), value.String(p.ProfileID))
	}
	b.Assoc(kw("step"), value.String(p.StepName))
	b.Assoc(kw("unknown"), value.Bool(p.Unknown))
	return b.Map()
}

func strVec(xs []string) *value.Vector {
	if len(xs) == 0 {
		return value.EmptyVector
	}
	vs := make([]value.Value, len(xs))
	for i, x := range xs {
		vs[i] = value.String(x)
	}
	return value.NewVector(vs...)
}

// optInt is n, or nil for 0 (unlimited).
func optInt(n int64) value.Value {
	if n == 0 {
		return nil
	}
	return value.Int(n)
}

// writeQuoted writes s as an RTFS string literal, like value.WriteQuoted
// but without its per-rune work for plain printable ASCII.
func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			value.WriteQuoted(b, s)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

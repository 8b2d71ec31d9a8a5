//go:build linux

package process

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/profile"
	"github.com/ccos-go/ccos/ccos/sandbox"
	"github.com/ccos-go/ccos/ccos/security"
	"github.com/ccos-go/ccos/rtfs/value"
)

// The test binary doubles as the sandbox worker.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == WorkerArg {
		os.Exit(RunWorker())
	}
	os.Exit(m.Run())
}

func newProvider(t testing.TB) *Provider {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := New(exe)
	t.Cleanup(func() { p.Close() })
	if err := p.Available(); err != nil {
		if os.Getenv("CCOS_REQUIRE_SANDBOX") != "" {
			t.Fatalf("process sandbox required but unavailable: %v", err)
		}
		t.Skipf("process sandbox unavailable: %v", err)
	}
	return p
}

func builtin(t testing.TB, id string) *caps.Capability {
	t.Helper()
	c, ok := caps.NewDefault().Get(id)
	if !ok {
		t.Fatalf("no builtin %s", id)
	}
	return c
}

func isolated() *profile.StepProfile {
	return &profile.StepProfile{Isolation: security.Isolated,
		Limits: profile.ResourceLimits{MaxExecutionTime: 10 * time.Second, MaxMemoryBytes: 256 << 20, MaxCPUUsage: 1}}
}

func TestEchoRoundTrip(t *testing.T) {
	p := newProvider(t)
	arg := value.NewMap(value.Keyword("a"), value.NewVector(value.Int(1), value.String("x")))
	v, u, err := p.Run(context.Background(), &sandbox.Request{Capability: builtin(t, "ccos.echo"), Args: []value.Value{arg}}, isolated())
	if err != nil {
		t.Fatal(err)
	}
	if !value.Equal(v, arg) {
		t.Fatalf("echo returned %s", value.Repr(v))
	}
	if u.Wall <= 0 || u.CPU <= 0 || u.PeakMemoryBytes <= 0 {
		t.Fatalf("usage not measured: %+v", u)
	}
}

func TestReadOutsideRootsFails(t *testing.T) {
	p := newProvider(t)
	dir := t.TempDir()
	secret := t.TempDir() + "/secret"
	os.WriteFile(secret, []byte("s"), 0o600)
	prof := isolated()
	prof.MicroVM.FS = profile.FSPolicy{Kind: profile.FSReadOnly, Read: []string{dir}}
	var got []*security.Violation
	_, _, err := p.Run(context.Background(), &sandbox.Request{Capability: builtin(t, "ccos.io.read-file"), Args: []value.Value{value.String(secret)},
		Violation: func(v *security.Violation) { got = append(got, v) }}, prof)
	if err == nil {
		t.Fatal("read outside the roots succeeded")
	}
	if len(got) == 0 {
		t.Fatal("no violation reported")
	}
}

// BenchmarkProviders measures start-to-result latency of one isolated
// ccos.echo call through each provider (p50, p95), next to bare bwrap
// and `runsc do` running /bin/true, in the same run:
//
//	go test -run '^$' -bench Providers -benchtime 200x ./ccos/sandbox/process
func BenchmarkProviders(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	c := builtin(b, "ccos.echo")
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
		b.ReportMetric(0, "ns/op")
	}
	for _, name := range []string{"process", "bwrap", "gvisor"} {
		b.Run(name, func(b *testing.B) {
			var p *Provider
			switch name {
			case "process":
				p = New(exe)
			case "bwrap":
				p = NewBwrap(exe)
			default:
				p = NewGVisor(exe)
			}
			defer p.Close()
			if err := p.Available(); err != nil {
				b.Skip(err)
			}
			lat := make([]time.Duration, 0, b.N)
			for i := range b.N {
				if name == "process" {
					b.StopTimer()
					p.warmUp()
					b.StartTimer()
				}
				start := time.Now()
				if _, _, err := p.Run(context.Background(), &sandbox.Request{Capability: c, Args: []value.Value{value.Int(i)}}, isolated()); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			report(b, lat)
		})
	}
	bare := map[string][]string{
		"bare-bwrap":    {"bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--ro-bind", "/lib", "/lib", "--ro-bind", "/lib64", "/lib64", "--ro-bind", "/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "/bin/true"},
		"bare-runsc-do": {"runsc", "--platform=ptrace", "--network=none", "do", "/bin/true"},
	}
	for _, name := range []string{"bare-bwrap", "bare-runsc-do"} {
		b.Run(name, func(b *testing.B) {
			argv := bare[name]
			if _, err := exec.LookPath(argv[0]); err != nil {
				b.Skip(err)
			}
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				start := time.Now()
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Dir = b.TempDir()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				lat = append(lat, time.Since(start))
			}
			report(b, lat)
		})
	}
}

// BenchmarkIsolatedEcho measures start-to-result latency of one isolated
// ccos.echo call, p50 and p95, with the worker pool warm (untimed: the
// pool refills between calls, as it does between the steps of a plan).
func BenchmarkIsolatedEcho(b *testing.B) {
	p := newProvider(b)
	c := builtin(b, "ccos.echo")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p.warmUp()
		b.StartTimer()
		start := time.Now()
		if _, _, err := p.Run(context.Background(), &sandbox.Request{Capability: c, Args: []value.Value{value.Int(i)}}, isolated()); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
}

package profile

import (
	"testing"

	"github.com/ccos-go/ccos/ccos/caps"
	"github.com/ccos-go/ccos/ccos/security"
)

// typicalStep fetches a URL, parses the body, reads a file and writes a
// result: three capabilities with literal targets plus a pure one.
const typicalStep = `(step "fetch-and-store" :isolation :isolated
  (let [resp (call :ccos.network.http-fetch "https://api.example.com/data" {:method "GET"})
        data (call :ccos.data.parse-json (get resp :body))
        conf (call :ccos.io.read-file "/tmp/ccos-bench/config.json")]
    (call :ccos.io.write-file "/tmp/ccos-bench/out.json" (str data conf))
    (call :ccos.math.add 1 2)))`

// networkStep fetches and parses: no literal paths, so no file system
// calls to canonicalise them.
const networkStep = `(step "fetch" :isolation :isolated
  (let [resp (call :ccos.network.http-fetch "https://api.example.com/data" {:method "GET"})]
    (call :ccos.data.parse-json (get resp :body))))`

func benchmarkDerive(b *testing.B, src string, cat Catalog, ctx *security.Context) {
	req := &Request{StepName: "fetch-and-store", Form: parse(b, src)}
	if _, err := Derive(req, cat, ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Derive(req, cat, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDerive derives the profile of a typical step (target: ≤ 20 µs).
func BenchmarkDerive(b *testing.B) {
	b.Run("fake-catalog", func(b *testing.B) { benchmarkDerive(b, typicalStep, testCatalog(), fullContext()) })
	b.Run("builtins", func(b *testing.B) { benchmarkDerive(b, typicalStep, caps.NewDefault(), fullContext()) })
	b.Run("network-only", func(b *testing.B) { benchmarkDerive(b, networkStep, caps.NewDefault(), fullContext()) })
	b.Run("restricted-context", func(b *testing.B) {
		ctx := fullContext()
		ctx.Level = security.Controlled
		ctx.AllowHosts = []string{"*.example.com", "api.other.example:443"}
		ctx.ReadRoots = []string{"/tmp"}
		ctx.WriteRoots = []string{"/tmp/ccos-bench"}
		benchmarkDerive(b, typicalStep, testCatalog(), ctx)
	})
}

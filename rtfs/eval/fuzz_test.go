package eval_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/value"
)

// FuzzEval evaluates arbitrary programs under tight limits: whatever the
// input, evaluation must end (no hang) with a value or an RTFS error, and
// never with an internal error (a recovered panic).
func FuzzEval(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/conformance/*.rtfs")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, ";;") {
				f.Add(line)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		th := newThread(ctx, nil, eval.Limits{MaxSteps: 20_000, MaxDepth: 200})
		start := time.Now()
		_, err := th.EvalSource("fuzz", []byte(src))
		if e := value.AsError(err); e != nil && strings.Contains(e.Message, "internal error") {
			t.Fatalf("%q: %s", src, e.Describe())
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q took %v", src, d)
		}
	})
}

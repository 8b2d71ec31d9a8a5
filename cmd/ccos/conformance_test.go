package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// conformanceCase is one case of a conformance file: code followed by a
// ";; => VALUE" or ";; !! :error-type" marker line.
type conformanceCase struct {
	file   string
	line   int
	code   string
	kind   string // "=>" or "!!"
	expect string
}

var markerRE = regexp.MustCompile(`^;;\s*(=>|!!)\s*(.*)$`)

// loadCases reads the cases of one file, following the rules of
// shared/conformance/README.md.
func loadCases(t testing.TB, path string) []conformanceCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []conformanceCase
	var code []string
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if m := markerRE.FindStringSubmatch(line); m != nil {
			if len(code) > 0 {
				cases = append(cases, conformanceCase{file: filepath.Base(path), line: start,
					code: strings.Join(code, "\n"), kind: m[1], expect: strings.TrimSpace(m[2])})
			}
			code, start = nil, 0
			continue
		}
		if strings.HasPrefix(line, ";;") || line == "" {
			continue
		}
		if start == 0 {
			start = n
		}
		code = append(code, raw)
	}
	return cases
}

// knownFailures maps "file:line" to the reason a case is expected to fail.
func knownFailures(t testing.TB) map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile("../../testdata/conformance/known_failures.txt")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		key, reason, _ := strings.Cut(l, " ")
		out[key] = reason
	}
	return out
}

// readValue reads printed output back as data.
func readValue(s string) (value.Value, error) {
	n, err := syntax.ParseExpr("output", []byte(s))
	if err != nil {
		return nil, err
	}
	return value.FromSyntax(n), nil
}

// runCase evaluates a case the way `ccos eval -` does and reports whether
// it passed.
func runCase(c conformanceCase) (ok bool, why string) {
	var stdout, stderr bytes.Buffer
	cl := &cli{stdin: strings.NewReader(c.code), stdout: &stdout, stderr: &stderr}
	code := cl.main([]string{"eval", "--timeout", "20s", "-"})
	out := strings.TrimSpace(stdout.String())
	errOut := strings.TrimSpace(stderr.String())
	if c.kind == "!!" {
		if code == 0 {
			return false, "expected error " + c.expect + ", got " + out
		}
		if c.expect != "error" && !strings.Contains(errOut, c.expect) && !strings.Contains(out, c.expect) {
			return false, "expected error " + c.expect + ", got " + errOut
		}
		return true, ""
	}
	if code != 0 {
		return false, "failed: " + errOut
	}
	lines := strings.Split(out, "\n")
	last := lines[len(lines)-1]
	if strings.HasPrefix(c.expect, "#<") {
		return last == c.expect, "got " + last + ", want " + c.expect
	}
	want, err := readValue(c.expect)
	if err != nil {
		return false, "bad expectation: " + err.Error()
	}
	got, err := readValue(last)
	if err != nil {
		return false, "unreadable output " + last + ": " + err.Error()
	}
	if !value.Equal(got, want) {
		return false, "got " + last + ", want " + c.expect
	}
	return true, ""
}

// TestConformance runs every case of testdata/conformance through the
// eval command in process.
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("../../testdata/conformance/*.rtfs")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	known := knownFailures(t)
	passed, failed := 0, 0
	for _, f := range files {
		for _, c := range loadCases(t, f) {
			key := c.file + ":" + strconv.Itoa(c.line)
			t.Run(key, func(t *testing.T) {
				ok, why := runCase(c)
				if reason, isKnown := known[key]; isKnown {
					if ok {
						t.Errorf("case is listed as a known failure (%s) but passes; remove it from known_failures.txt", reason)
					}
					return
				}
				if !ok {
					failed++
					t.Errorf("%s\ncode:\n%s", why, c.code)
					return
				}
				passed++
			})
		}
	}
	t.Logf("%d passed, %d failed, %d known failures", passed, failed, len(known))
}

package main

// End-to-end tests of ccos run / resume / runs: real plans, real
// capabilities, the SQLite ledger, and processes killed mid-run.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
)

// runID returns the run id from the first line of standard error.
func runID(t *testing.T, r result) string {
	t.Helper()
	first, _, _ := strings.Cut(r.stderr, "\n")
	id, ok := strings.CutPrefix(first, "run: ")
	if !ok {
		t.Fatalf("first stderr line is not 'run: RUN_ID'\n%v", r)
	}
	id, _, _ = strings.Cut(id, " ")
	return id
}

// runActions reads the actions of a run from the data directory.
func runActions(t *testing.T, dir, run string) []*model.Action {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "ccos.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, err := st.Actions(context.Background(), store.ActionQuery{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestRunMultiStepPlan(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	in := filepath.Join(work, "in.json")
	out := filepath.Join(work, "out.txt")
	if err := os.WriteFile(in, []byte(`[1, 2, 3, 4]`), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"factor": 10}`)
	}))
	defer srv.Close()
	plan := writeFile(t, "report.rtfs", fmt.Sprintf(`
(intent "report" :goal "Scale the sum of the numbers")
(plan "report"
  :policies {:max-duration-ms 10000}
  :body (do
    (def nums (step "read" (call :ccos.data.parse-json (call :ccos.io.read-file %q))))
    (def factor (step "fetch"
      (let [resp (call :ccos.network.http-fetch %q)]
        (get (call :ccos.data.parse-json (:body resp)) :factor))))
    (def total (step "transform" (* factor (reduce + nums))))
    (step "write" (call :ccos.io.write-file %q (str total)))
    total))`, in, srv.URL+"/factor", out))
	host := strings.TrimPrefix(srv.URL, "http://")
	r := inDir(t, dir, "run", plan, "--allow", "ccos.io.*", "--allow", "ccos.network.http-fetch",
		"--allow-read", work, "--allow-write", work, "--allow-host", host)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "100" {
		t.Fatalf("want exit 0 and 100\n%v", r)
	}
	id := runID(t, r)
	if b, err := os.ReadFile(out); err != nil || string(b) != "100" {
		t.Fatalf("output file: %q, %v", b, err)
	}
	as := runActions(t, dir, id)
	byID := map[string]*model.Action{}
	var types []string
	for _, a := range as {
		byID[a.ActionID] = a
		types = append(types, string(a.Type)+":"+a.Name)
	}
	got := strings.Join(types, " ")
	for _, want := range []string{
		"PlanStarted:report PlanStepStarted:read StepProfileDerived:read CapabilityCall:ccos.io.read-file CapabilityResult:ccos.io.read-file CapabilityCall:ccos.data.parse-json CapabilityResult:ccos.data.parse-json PlanStepCompleted:read",
		"PlanStepStarted:fetch StepProfileDerived:fetch CapabilityCall:ccos.network.http-fetch CapabilityResult:ccos.network.http-fetch",
		"PlanStepStarted:write StepProfileDerived:write CapabilityCall:ccos.io.write-file CapabilityResult:ccos.io.write-file PlanStepCompleted:write PlanCompleted:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q\ngot: %s", want, got)
		}
	}
	// Parents mirror the nesting.
	var root string
	for _, a := range as {
		switch a.Type {
		case model.PlanStarted:
			root = a.ActionID
		case model.PlanStepStarted, model.PlanCompleted:
			if a.ParentActionID != root {
				t.Errorf("%s %s: parent %s, want the PlanStarted %s", a.Type, a.Name, a.ParentActionID, root)
			}
		case model.CapabilityCall:
			if p := byID[a.ParentActionID]; p == nil || p.Type != model.PlanStepStarted {
				t.Errorf("CapabilityCall %s: parent is not a step start", a.Name)
			}
		case model.CapabilityResult:
			if p := byID[a.ParentActionID]; p == nil || p.Type != model.CapabilityCall || p.Name != a.Name {
				t.Errorf("CapabilityResult %s: parent is not its call", a.Name)
			}
			if a.DurationMs == nil {
				t.Errorf("CapabilityResult %s has no duration", a.Name)
			}
		case model.PlanStepCompleted, model.StepProfileDerived:
			if p := byID[a.ParentActionID]; p == nil || p.Type != model.PlanStepStarted || p.Name != a.Name {
				t.Errorf("%s %s: parent is not its step start", a.Type, a.Name)
			}
		}
	}
	mustOK(t, inDir(t, dir, "chain", "verify"), "chain verify")
	show := mustOK(t, inDir(t, dir, "runs", "show", id), "runs show")
	for _, want := range []string{"status:  completed", "step read", "call ccos.network.http-fetch", "step write"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("runs show lacks %q\n%s", want, show.stdout)
		}
	}
	list := mustOK(t, inDir(t, dir, "runs", "list", "--json"), "runs list")
	var row map[string]any
	if err := json.Unmarshal([]byte(strings.Split(list.stdout, "\n")[0]), &row); err != nil || row["status"] != "completed" || row["run_id"] != id {
		t.Errorf("runs list --json: %v %v", row, err)
	}
	// The intent completed.
	in2 := mustOK(t, inDir(t, dir, "intent", "list"), "intent list")
	if !strings.Contains(in2.stdout, "completed") {
		t.Errorf("intent not completed:\n%s", in2.stdout)
	}
}

func TestRunExitStatuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, src string
		args      []string
		code      int
		stderr    string
	}{
		{"completed", `(step "a" (+ 1 2))`, nil, 0, ""},
		{"failed", `(step "a" (/ 1 0))`, nil, 1, ":arithmetic-error"},
		{"invalid syntax", `(step "a" (+ 1 2)`, nil, 2, "invalid plan"},
		{"unknown capability", `(call :no.such.cap 1)`, nil, 2, "unknown capability no.such.cap"},
		{"unknown policy", `(plan "p" :policies {:max-speed 3} :body 1)`, nil, 2, "unknown policy :max-speed"},
		{"disallowed capability", `(step "w" (call :ccos.io.write-file "/tmp/x" "y"))`, nil, 1, ":security-error"},
		{"paused", `(step "ask" (call :ccos.ask-human "Proceed?"))`, []string{"--allow", "ccos.ask-human"}, 3, "ccos resume"},
		{"max actions", `(plan "p" :policies {:max-actions 5} :body (dotimes [i 10] (step "s" i)))`, nil, 1, ":max-actions 5"},
		{"max duration", `(plan "p" :policies {:max-duration-ms 200} :body (step "spin" (loop [] (recur))))`, nil, 1, ":timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "p.rtfs", tc.src)
			r := inDir(t, dir, append([]string{"run", path}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("want exit %d and stderr containing %q\n%v", tc.code, tc.stderr, r)
			}
		})
	}
	mustOK(t, inDir(t, dir, "chain", "verify"), "chain verify")
}

func TestRunSecurityBoundary(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	os.WriteFile(secret, []byte("secret"), 0o644)
	ro := filepath.Join(work, "ro")
	rw := filepath.Join(work, "rw")
	os.MkdirAll(ro, 0o755)
	os.MkdirAll(rw, 0o755)
	os.WriteFile(filepath.Join(ro, "data.txt"), []byte("data"), 0o644)
	if err := os.Symlink(secret, filepath.Join(ro, "link.txt")); err != nil {
		t.Fatal(err)
	}
	allow := []string{"--allow", "ccos.io.*", "--allow", "ccos.network.http-fetch", "--allow-read", ro, "--allow-write", rw, "--allow-host", "api.example.com:443"}
	tests := []struct{ name, call, want string }{
		{"disallowed capability", `(call :ccos.system.get-env "HOME")`, "capability"},
		{"host not allowed", `(call :ccos.network.http-fetch "http://evil.example.org/")`, "evil.example.org"},
		{"uppercase host", `(call :ccos.network.http-fetch "http://EVIL.Example.ORG/")`, "evil.example.org"},
		{"trailing dot", `(call :ccos.network.http-fetch "http://evil.example.org./")`, "evil.example.org"},
		{"allowed name, other port", `(call :ccos.network.http-fetch "http://api.example.com:8443/")`, "8443"},
		{"userinfo trick", `(call :ccos.network.http-fetch "http://api.example.com@evil.example.org/")`, "evil.example.org"},
		{"ip literal", `(call :ccos.network.http-fetch "http://127.0.0.1:9/")`, "127.0.0.1"},
		{"dotdot escape", fmt.Sprintf(`(call :ccos.io.read-file %q)`, ro+"/../../"+filepath.Base(outside)+"/secret.txt"), "read"},
		{"symlink escape", fmt.Sprintf(`(call :ccos.io.read-file %q)`, filepath.Join(ro, "link.txt")), "read"},
		{"write to read-only root", fmt.Sprintf(`(call :ccos.io.write-file %q "x")`, filepath.Join(ro, "new.txt")), "write"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "p.rtfs", `(step "s" `+tc.call+`)`)
			r := inDir(t, dir, append([]string{"run", path}, allow...)...)
			if r.code != 1 || !strings.Contains(r.stderr, ":security-error") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want a :security-error mentioning %q\n%v", tc.want, r)
			}
			var violations int
			for _, a := range runActions(t, dir, runID(t, r)) {
				if a.Type == model.SecurityViolation {
					violations++
				}
				if a.Type == model.CapabilityCall {
					t.Errorf("a denied call was recorded as made: %s", a.Name)
				}
			}
			if violations != 1 {
				t.Errorf("%d SecurityViolation records, want 1", violations)
			}
		})
	}
	// The allowed ones work.
	ok := writeFile(t, "ok.rtfs", fmt.Sprintf(`(step "s" (call :ccos.io.write-file %q (call :ccos.io.read-file %q)))`, filepath.Join(rw, "copy.txt"), filepath.Join(ro, "data.txt")))
	if r := inDir(t, dir, append([]string{"run", ok}, allow...)...); r.code != 0 {
		t.Fatalf("allowed plan failed\n%v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(rw, "copy.txt")); string(b) != "data" {
		t.Fatalf("copy.txt = %q", b)
	}
}

// startRun starts ccos run in the background and returns the command
// and its stderr buffer.
func startRun(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(ccosBin, append(args, "--data-dir", dir)...)
	cmd.Env = testEnv(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stderr
}

// waitFor polls until cond holds or fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileIs(path, want string) func() bool {
	return func() bool {
		b, _ := os.ReadFile(path)
		return string(b) == want
	}
}

func TestResumeAfterKillDuringSleep(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	out := filepath.Join(work, "out.txt")
	plan := writeFile(t, "crash.rtfs", fmt.Sprintf(`
(step "one" (call :ccos.io.write-file %[1]q "one\n" {:append true}))
(step "wait" (call :ccos.system.sleep 3000))
(step "two" (call :ccos.io.write-file %[1]q "two\n" {:append true}))
:done`, out))
	cmd, stderr := startRun(t, dir, "run", plan, "--allow", "ccos.io.*", "--allow", "ccos.system.sleep", "--allow-write", work)
	waitFor(t, "step one", fileIs(out, "one\n"))
	time.Sleep(300 * time.Millisecond) // well inside the sleep
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	id := runID(t, result{stderr: stderr.String()})
	list := mustOK(t, inDir(t, dir, "runs", "show", id), "runs show")
	if !strings.Contains(list.stdout, "status:  interrupted") {
		t.Fatalf("killed run is not interrupted:\n%s", list.stdout)
	}
	r := inDir(t, dir, "resume", id)
	if r.code != 0 || strings.TrimSpace(r.stdout) != ":done" {
		t.Fatalf("resume\n%v", r)
	}
	if b, _ := os.ReadFile(out); string(b) != "one\ntwo\n" {
		t.Fatalf("out.txt = %q, want one then two exactly once", b)
	}
	mustOK(t, inDir(t, dir, "chain", "verify"), "chain verify")
	show := mustOK(t, inDir(t, dir, "runs", "show", id), "runs show")
	if !strings.Contains(show.stdout, "status:  completed") {
		t.Fatalf("resumed run not completed:\n%s", show.stdout)
	}
	var resumed, writes int
	for _, a := range runActions(t, dir, id) {
		switch {
		case a.Type == model.PlanResumed:
			resumed++
		case a.Type == model.CapabilityCall && a.Name == "ccos.io.write-file":
			writes++
		}
	}
	if resumed != 1 || writes != 2 {
		t.Fatalf("PlanResumed %d (want 1), write calls %d (want 2)", resumed, writes)
	}
	// A finished run cannot be resumed.
	if r := inDir(t, dir, "resume", id); r.code != 2 {
		t.Fatalf("resuming a completed run\n%v", r)
	}
}

func TestResumeAfterKillDuringNonIdempotentCall(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	out := filepath.Join(work, "out.txt")
	// A program capability that may write to work/ (it runs sandboxed).
	os.MkdirAll(filepath.Join(dir, "capabilities"), 0o755)
	os.WriteFile(filepath.Join(dir, "capabilities", "shell.rtfs"), []byte(fmt.Sprintf(
		`{:id "shell.run" :provider :program :program {:path "/bin/sh" :args ["-c"]} :effects {:exec true :fs {:write [%q]}}}`, work)), 0o644)
	plan := writeFile(t, "crash.rtfs", fmt.Sprintf(`
(step "one" (call :ccos.io.write-file %[1]q "one\n" {:append true}))
(step "two" (call :shell.run "echo two >> %[1]s; sleep 5"))
:done`, out))
	cmd, stderr := startRun(t, dir, "run", plan, "--allow", "ccos.io.*", "--allow", "shell.*", "--allow-write", work)
	waitFor(t, "the second write", fileIs(out, "one\ntwo\n"))
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	id := runID(t, result{stderr: stderr.String()})
	r := inDir(t, dir, "resume", id)
	if r.code != 1 || !strings.Contains(r.stderr, "interrupted mid-call") || !strings.Contains(r.stderr, "idempotent") {
		t.Fatalf("want a clear failure about the interrupted non-idempotent call\n%v", r)
	}
	if b, _ := os.ReadFile(out); string(b) != "one\ntwo\n" {
		t.Fatalf("out.txt = %q: a side effect was repeated", b)
	}
	mustOK(t, inDir(t, dir, "chain", "verify"), "chain verify")
}

func TestPauseForHumanAndResumeWithAnswer(t *testing.T) {
	dir := t.TempDir()
	plan := writeFile(t, "ask.rtfs", `
(def name (step "ask" (call :ccos.ask-human "Your name?")))
(step "greet" (str "hello " name))`)
	r := inDir(t, dir, "run", plan, "--allow", "ccos.ask-human")
	if r.code != 3 {
		t.Fatalf("want exit 3 (paused)\n%v", r)
	}
	id := runID(t, r)
	list := mustOK(t, inDir(t, dir, "runs", "list"), "runs list")
	if !strings.Contains(list.stdout, "paused") {
		t.Fatalf("runs list:\n%s", list.stdout)
	}
	r = inDir(t, dir, "resume", id, "--answer", "Ada")
	if r.code != 0 || strings.TrimSpace(r.stdout) != `"hello Ada"` {
		t.Fatalf("resume --answer\n%v", r)
	}
	mustOK(t, inDir(t, dir, "chain", "verify"), "chain verify")
}

func TestUserCapabilities(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"city": %q, "temp": 21}`, r.URL.Query().Get("city"))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	capDir := filepath.Join(dir, "capabilities")
	if err := os.MkdirAll(capDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(capDir, "text.rtfs"), []byte(`
{:id "text.word-count" :version "1.0.0" :description "Counts words on standard input"
 :provider :program :program {:path "/usr/bin/wc" :args ["-w"]}
 :input-schema [:tuple [:map [:stdin :string]]]
 :effects {:exec true :deterministic true :idempotent true}
 :hints {:cost 2}}`), 0o644)
	os.WriteFile(filepath.Join(capDir, "weather.rtfs"), []byte(fmt.Sprintf(`
{:id "weather.current" :description "Current weather" :provider :http
 :http {:url %q :method "GET"}
 :effects {:network [%q]}}`, srv.URL+"/current", host)), 0o644)
	list := mustOK(t, inDir(t, dir, "caps", "list"), "caps list")
	for _, want := range []string{"text.word-count", "program", "exec", "weather.current", "network " + host, "ccos.io.read-file"} {
		if !strings.Contains(list.stdout, want) {
			t.Errorf("caps list lacks %q\n%s", want, list.stdout)
		}
	}
	show := mustOK(t, inDir(t, dir, "caps", "show", "text.word-count"), "caps show")
	if !strings.Contains(show.stdout, ":exec true") || !strings.Contains(show.stdout, "/usr/bin/wc") {
		t.Errorf("caps show:\n%s", show.stdout)
	}
	plan := writeFile(t, "p.rtfs", `
(def words (step "count" (:stdout (call :text.word-count {:stdin "one two three"}))))
(def w (step "weather" (call :weather.current {:city "Paris"})))
[(parse-int (trim words)) (:city w) (:temp w)]`)
	r := inDir(t, dir, "run", plan, "--allow", "text.*", "--allow", "weather.*", "--allow-host", host)
	if r.code != 0 || strings.TrimSpace(r.stdout) != `[3 "Paris" 21]` {
		t.Fatalf("run\n%v", r)
	}
	// Without the host, the http capability is refused at the boundary.
	r = inDir(t, dir, "run", plan, "--allow", "text.*", "--allow", "weather.*")
	if r.code != 1 || !strings.Contains(r.stderr, ":security-error") {
		t.Fatalf("run without --allow-host\n%v", r)
	}
	// :max-cost counts the manifest's cost per call.
	costly := writeFile(t, "c.rtfs", `(plan "p" :policies {:max-cost 5} :body (dotimes [i 3] (step "c" (call :text.word-count {:stdin "x"}))))`)
	r = inDir(t, dir, "run", costly, "--allow", "text.*")
	if r.code != 1 || !strings.Contains(r.stderr, ":max-cost 5 exceeded") {
		t.Fatalf("max-cost\n%v", r)
	}
	// A bad manifest is reported with its position.
	os.WriteFile(filepath.Join(capDir, "bad.rtfs"), []byte(`{:id "x.y" :provider :program :program {:path "/bin/echo"} :effects {:exec false}}`), 0o644)
	r = inDir(t, dir, "caps", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "bad.rtfs:1:") {
		t.Fatalf("bad manifest\n%v", r)
	}
}

func TestAskHumanOnTerminal(t *testing.T) {
	dir := t.TempDir()
	plan := writeFile(t, "ask.rtfs", `(step "greet" (str "hello " (call :ccos.ask-human "Your name?")))`)
	p := startPty(t, "run", plan, "--allow", "ccos.ask-human", "--data-dir", dir)
	p.expect("Your name?")
	p.send("Grace\r")
	p.expect(`"hello Grace"`)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
	// The live step tree was drawn on the terminal.
	if out := p.output(); !strings.Contains(out, "✓ greet") {
		t.Errorf("no step tree on the terminal:\n%q", out)
	}
}

package main

// End-to-end tests of the data-directory commands (intent, chain, plan)
// against the real binary, the SQLite store and the signed ledger.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ccos-go/ccos/ccos/home"
	"github.com/ccos-go/ccos/ccos/ledger"
	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/plans"
	"github.com/ccos-go/ccos/ccos/store/sqlite"
	"github.com/ccos-go/ccos/rtfs/value"
)

// inDir runs ccos with --data-dir dir appended (flags may follow the
// positional arguments).
func inDir(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, "", append(args, "--data-dir", dir)...)
}

// runEnv runs ccos with exactly the given extra environment (on top of
// the test's, with HOME in a temporary directory).
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ccosBin, args...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir(), "CCOS_HOME="), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("ccos %q: %v\n%v", args, err, r)
	}
	return r
}

func mustOK(t *testing.T, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: want exit 0\n%v", what, r)
	}
	return r
}

var intentIDLine = regexp.MustCompile(`^intent-[0-9a-f]{24}\n$`)

func createIntent(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := mustOK(t, inDir(t, dir, append([]string{"intent", "create"}, args...)...), "intent create")
	if !intentIDLine.MatchString(r.stdout) || r.stderr != "" {
		t.Fatalf("intent create: want the id on stdout\n%v", r)
	}
	return strings.TrimSpace(r.stdout)
}

// jsonLines decodes one JSON object per line.
func jsonLines(t *testing.T, s string) []map[string]json.RawMessage {
	t.Helper()
	var out []map[string]json.RawMessage
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON object line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func jsonStr(t *testing.T, m map[string]json.RawMessage, key string) string {
	t.Helper()
	var s string
	if raw, ok := m[key]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	return s
}

// metaOf decodes an action's canonical metadata.
func metaOf(t *testing.T, m map[string]json.RawMessage, key string) string {
	t.Helper()
	v, err := model.DecodeValue(m["metadata"])
	if err != nil {
		t.Fatal(err)
	}
	mm, ok := v.(*value.Map)
	if !ok {
		t.Fatalf("metadata %s is not a map", m["metadata"])
	}
	x, _ := mm.Get(value.Keyword(key))
	return value.Str(x)
}

var verifyOK = regexp.MustCompile(`^ok: (\d+) actions, (\d+) checkpoints, head seq (\d+) \([0-9a-f]{12}…\), verified in \S+\n$`)

func TestIntentCommandsE2E(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	root := createIntent(t, dir, "Analyse Q3 sales", "--name", "sales", "--priority", "2",
		"--constraint", "max-cost=10", "--constraint", `region="eu"`, "--constraint", ":tags=[:a :b]")
	child := createIntent(t, dir, "--parent", root, "Draft the summary")

	// The data directory and the key were created privately.
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ledger.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}

	// list: table, filters, JSON.
	r := mustOK(t, inDir(t, dir, "intent", "list"), "intent list")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], child) || !strings.HasPrefix(lines[2], root) ||
		!strings.Contains(lines[2], "sales") || !strings.Contains(lines[2], "Analyse Q3 sales") {
		t.Errorf("intent list table:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "intent", "list", "--json"), "intent list --json")
	objs := jsonLines(t, r.stdout)
	if len(objs) != 2 || jsonStr(t, objs[1], "intent_id") != root || jsonStr(t, objs[1], "status") != "active" ||
		jsonStr(t, objs[0], "parent_intent") != root {
		t.Errorf("intent list --json:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "intent", "list", "--text", "SUMMARY", "--json"), "list --text")
	if objs := jsonLines(t, r.stdout); len(objs) != 1 || jsonStr(t, objs[0], "intent_id") != child {
		t.Errorf("--text filter:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "intent", "list", "--parent", root), "list --parent")
	if !strings.Contains(r.stdout, child) || strings.Contains(r.stdout, root+" ") {
		t.Errorf("--parent filter:\n%s", r.stdout)
	}

	// show: human and JSON (the canonical encoding).
	r = mustOK(t, inDir(t, dir, "intent", "show", root), "intent show")
	for _, want := range []string{root, "Analyse Q3 sales", "active", `{:max-cost 10 :region "eu" :tags [:a :b]}`,
		"is-subgoal-of", "<- " + child, "Recent actions:", "IntentCreated", `(intent "sales"`, `:constraints {:max-cost 10 :region "eu" :tags [:a :b]}`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("intent show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustOK(t, inDir(t, dir, "intent", "show", root, "--json"), "intent show --json")
	if objs := jsonLines(t, r.stdout); len(objs) != 1 || jsonStr(t, objs[0], "goal") != "Analyse Q3 sales" ||
		!strings.HasPrefix(jsonStr(t, objs[0], "source"), `(intent "sales"`) {
		t.Errorf("intent show --json:\n%s", r.stdout)
	}

	// A legal status change is applied and recorded.
	r = mustOK(t, inDir(t, dir, "intent", "status", root, "executing", "--reason", "plan started"), "legal status")
	if !strings.Contains(r.stdout, "active -> executing") {
		t.Errorf("status output:\n%v", r)
	}
	// An illegal one exits 1, says why and changes nothing.
	r = inDir(t, dir, "intent", "status", root, "archived", "--reason", "tidy up")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot change status from executing to archived") {
		t.Errorf("illegal status change: want exit 1 and a clear message\n%v", r)
	}
	r = mustOK(t, inDir(t, dir, "intent", "show", root, "--json"), "show")
	if st := jsonStr(t, jsonLines(t, r.stdout)[0], "status"); st != "executing" {
		t.Errorf("status after illegal change = %s", st)
	}
	// Archiving is recorded as IntentArchived, with the same metadata.
	mustOK(t, inDir(t, dir, "intent", "status", child, "archived", "--reason", "not needed"), "archive")

	r = mustOK(t, inDir(t, dir, "chain", "list", "--type", "IntentStatusChanged", "--json"), "chain list --type")
	objs = jsonLines(t, r.stdout)
	if len(objs) != 1 {
		t.Fatalf("want 1 IntentStatusChanged, got\n%s", r.stdout)
	}
	sc := objs[0]
	if jsonStr(t, sc, "intent_id") != root || metaOf(t, sc, "old-status") != "active" || metaOf(t, sc, "new-status") != "executing" ||
		metaOf(t, sc, "reason") != "plan started" {
		t.Errorf("IntentStatusChanged record:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "chain", "list", "--intent", child, "--json"), "chain list --intent")
	objs = jsonLines(t, r.stdout)
	if len(objs) != 2 || jsonStr(t, objs[0], "type") != "IntentCreated" || jsonStr(t, objs[1], "type") != "IntentArchived" ||
		metaOf(t, objs[1], "new-status") != "archived" {
		t.Errorf("chain of the child:\n%s", r.stdout)
	}

	// chain list (table, default last 50, --limit) and show.
	r = mustOK(t, inDir(t, dir, "chain", "list"), "chain list")
	lines = strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "SEQ") || !strings.HasPrefix(lines[1], "1 ") ||
		!strings.Contains(r.stdout, "active -> executing: plan started") {
		t.Errorf("chain list:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "chain", "list", "--limit", "1", "--json"), "chain list --limit")
	if objs := jsonLines(t, r.stdout); len(objs) != 1 || string(objs[0]["seq"]) != "4" {
		t.Errorf("chain list --limit 1:\n%s", r.stdout)
	}
	id := jsonStr(t, sc, "action_id")
	r = mustOK(t, inDir(t, dir, "chain", "show", id), "chain show")
	for _, want := range []string{"IntentStatusChanged", id, root, ":old-status \"active\"", "Hash"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("chain show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustOK(t, inDir(t, dir, "chain", "show", "--json", id), "chain show --json")
	if objs := jsonLines(t, r.stdout); len(objs) != 1 || jsonStr(t, objs[0], "hash") != jsonStr(t, sc, "hash") {
		t.Errorf("chain show --json:\n%s", r.stdout)
	}
	if r := inDir(t, dir, "chain", "show", "act-nope"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("chain show missing:\n%v", r)
	}

	// The untouched chain verifies.
	r = mustOK(t, inDir(t, dir, "chain", "verify"), "chain verify")
	if m := verifyOK.FindStringSubmatch(r.stdout); m == nil || m[1] != "4" || m[3] != "4" {
		t.Errorf("chain verify:\n%v", r)
	}
	r = mustOK(t, inDir(t, dir, "chain", "verify", "--json"), "chain verify --json")
	if objs := jsonLines(t, r.stdout); len(objs) != 1 || string(objs[0]["ok"]) != "true" {
		t.Errorf("chain verify --json:\n%s", r.stdout)
	}
}

func TestIntentUsageErrorsE2E(t *testing.T) {
	dir := t.TempDir()
	id := createIntent(t, dir, "g")
	for _, args := range [][]string{
		{"intent"},
		{"intent", "frobnicate"},
		{"intent", "create"},
		{"intent", "create", "a", "b"},
		{"intent", "create", "g", "--constraint", "novalue"},
		{"intent", "create", "g", "--constraint", "k=(unclosed"},
		{"intent", "create", "g", "--constraint", "k=1 2"},
		{"intent", "create", "g", "--priority", "high"},
		{"intent", "list", "--status", "sleeping"},
		{"intent", "show"},
		{"intent", "status", id, "bogus", "--reason", "r"},
		{"intent", "status", id, "completed"},
		{"intent", "link", id, id},
		{"chain"},
		{"chain", "list", "--type", "Nope"},
		{"chain", "list", "extra"},
		{"chain", "show"},
		{"chain", "verify", "extra"},
		{"plan", "show"},
		{"plan", "list", "--limit", "-1"},
	} {
		if r := inDir(t, dir, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("ccos %q: want exit 2 with a message\n%v", args, r)
		}
	}
	for _, args := range [][]string{
		{"intent", "show", "intent-nope"},
		{"intent", "status", "intent-nope", "completed", "--reason", "r"},
		{"intent", "create", "g", "--parent", "intent-nope"},
		{"plan", "show", "nope"},
	} {
		if r := inDir(t, dir, args...); r.code != 1 || r.stderr == "" {
			t.Errorf("ccos %q: want exit 1 with a message\n%v", args, r)
		}
	}
	// Nothing above was recorded.
	r := mustOK(t, inDir(t, dir, "chain", "list", "--json"), "chain list")
	if n := len(jsonLines(t, r.stdout)); n != 1 {
		t.Errorf("%d actions recorded, want 1", n)
	}
}

func TestIntentLinkE2E(t *testing.T) {
	dir := t.TempDir()
	a := createIntent(t, dir, "a")
	b := createIntent(t, dir, "b")
	r := mustOK(t, inDir(t, dir, "intent", "link", a, b, "--type", "depends-on", "--weight", "0.5"), "link")
	if strings.TrimSpace(r.stdout) != a+" depends-on "+b {
		t.Errorf("link output:\n%v", r)
	}
	if r := inDir(t, dir, "intent", "link", b, a, "--type", "depends-on"); r.code != 1 || !strings.Contains(r.stderr, "cycle") {
		t.Errorf("cyclic link:\n%v", r)
	}
	r = mustOK(t, inDir(t, dir, "intent", "show", a), "show")
	if !strings.Contains(r.stdout, "depends-on") || !strings.Contains(r.stdout, "-> "+b) || !strings.Contains(r.stdout, "weight 0.5") {
		t.Errorf("show after link:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "chain", "list", "--type", "IntentRelationshipCreated"), "chain list")
	if !strings.Contains(r.stdout, a) || !strings.Contains(r.stdout, "depends-on -> "+b) {
		t.Errorf("link not recorded:\n%s", r.stdout)
	}
}

func TestChainVerifyDetectsTamperingE2E(t *testing.T) {
	dir := t.TempDir()
	id := createIntent(t, dir, "audit me")
	mustOK(t, inDir(t, dir, "intent", "status", id, "suspended", "--reason", "waiting for data"), "status")
	mustOK(t, inDir(t, dir, "intent", "status", id, "active", "--reason", "data arrived"), "status")
	if r := mustOK(t, inDir(t, dir, "chain", "verify"), "verify"); !verifyOK.MatchString(r.stdout) {
		t.Fatalf("verify before tampering:\n%v", r)
	}

	// Rewrite the recorded reason of seq 2 directly in the database file.
	db, err := sql.Open(sqlite.DriverName, filepath.Join(dir, "ccos.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE actions SET body = replace(body, 'waiting for data', 'nothing to see') WHERE seq = 2`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampered %d rows", n)
	}
	db.Close()

	r := inDir(t, dir, "chain", "verify")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "FAIL: seq 2: changed content") || r.stdout != "" {
		t.Errorf("verify after tampering: want exit 1 and 'FAIL: seq 2: changed content'\n%v", r)
	}
	r = inDir(t, dir, "chain", "verify", "--json")
	if objs := jsonLines(t, r.stdout); r.code != 1 || len(objs) != 1 || string(objs[0]["ok"]) != "false" || string(objs[0]["seq"]) != "2" {
		t.Errorf("verify --json after tampering:\n%v", r)
	}
}

func TestChainVerifyDetectsDeletedTailE2E(t *testing.T) {
	dir := t.TempDir()
	id := createIntent(t, dir, "x")
	mustOK(t, inDir(t, dir, "intent", "status", id, "completed", "--reason", "done"), "status")
	db, err := sql.Open(sqlite.DriverName, filepath.Join(dir, "ccos.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM actions WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := inDir(t, dir, "chain", "verify")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "FAIL: seq ") {
		t.Errorf("verify after deleting the last action:\n%v", r)
	}
	// The ledger refuses to append over a damaged chain.
	if r := inDir(t, dir, "intent", "create", "y"); r.code != 1 {
		t.Errorf("create over a damaged chain:\n%v", r)
	}
}

// seedPlan archives a plan in dir through the Go API, signing with the
// data directory's key, as the orchestrator will.
func seedPlan(t *testing.T, dir string, p *model.Plan) string {
	t.Helper()
	ctx := context.Background()
	h, err := home.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, keyID, err := h.SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(h.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	led, err := ledger.Open(ctx, ledger.Options{Store: st, Key: key, KeyID: keyID})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	hash, err := plans.New(st, led).Put(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

func TestPlanCommandsE2E(t *testing.T) {
	dir := t.TempDir()
	if r := mustOK(t, inDir(t, dir, "plan", "list"), "empty plan list"); strings.TrimSpace(r.stdout) != "no plans" {
		t.Errorf("empty plan list:\n%v", r)
	}
	in := createIntent(t, dir, "greet")
	body := `(step "greet" (call :ccos.echo "hello"))`
	hash := seedPlan(t, dir, &model.Plan{ID: "plan-greet", Name: "greeting", IntentIDs: []string{in}, Body: body,
		Policies: value.NewMap(value.Keyword("max-cost"), value.Int(1)), CapabilitiesRequired: []string{"ccos.echo"}})

	r := mustOK(t, inDir(t, dir, "plan", "list"), "plan list")
	if !strings.Contains(r.stdout, hash[:12]) || !strings.Contains(r.stdout, "plan-greet") || !strings.Contains(r.stdout, in) {
		t.Errorf("plan list:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "plan", "list", "--intent", "intent-other", "--json"), "plan list --intent")
	if r.stdout != "" {
		t.Errorf("plan list for another intent:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "plan", "list", "--intent", in, "--json"), "plan list --json")
	objs := jsonLines(t, r.stdout)
	if len(objs) != 1 || jsonStr(t, objs[0], "hash") != hash {
		t.Fatalf("plan list --json:\n%s", r.stdout)
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(objs[0]["plan"], &p); err != nil || jsonStr(t, p, "body") != body || jsonStr(t, p, "plan_id") != "plan-greet" {
		t.Errorf("plan JSON: %s %v", objs[0]["plan"], err)
	}
	for _, ref := range []string{"plan-greet", hash, hash[:8]} {
		r = mustOK(t, inDir(t, dir, "plan", "show", ref), "plan show "+ref)
		for _, want := range []string{hash, "plan-greet", "greeting", "draft", "{:max-cost 1}", "ccos.echo", body} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("plan show %s lacks %q:\n%s", ref, want, r.stdout)
			}
		}
	}
	r = mustOK(t, inDir(t, dir, "plan", "show", hash[:10], "--json"), "plan show --json")
	if objs := jsonLines(t, r.stdout); len(objs) != 1 || jsonStr(t, objs[0], "hash") != hash {
		t.Errorf("plan show --json:\n%s", r.stdout)
	}
	// The archiving was recorded, and the chain (written by two programs
	// with the same key) verifies.
	r = mustOK(t, inDir(t, dir, "chain", "list", "--plan", "plan-greet"), "chain list --plan")
	if !strings.Contains(r.stdout, "InternalStep") || !strings.Contains(r.stdout, "plan.archived") {
		t.Errorf("archiving not recorded:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "intent", "show", in), "intent show")
	if !strings.Contains(r.stdout, "Plans:") || !strings.Contains(r.stdout, hash[:12]) {
		t.Errorf("intent show lacks its plan:\n%s", r.stdout)
	}
	if r := mustOK(t, inDir(t, dir, "chain", "verify"), "verify"); !verifyOK.MatchString(r.stdout) {
		t.Errorf("verify:\n%v", r)
	}
}

func TestDataDirResolutionE2E(t *testing.T) {
	envDir := t.TempDir()
	flagDir := t.TempDir()
	mustOK(t, runEnv(t, []string{"CCOS_HOME=" + envDir}, "intent", "create", "from env"), "create via CCOS_HOME")
	mustOK(t, runEnv(t, []string{"CCOS_HOME=" + envDir}, "intent", "create", "from flag", "--data-dir", flagDir), "create via flag")
	r := mustOK(t, runEnv(t, []string{"CCOS_HOME=" + envDir}, "intent", "list"), "list env")
	if !strings.Contains(r.stdout, "from env") || strings.Contains(r.stdout, "from flag") {
		t.Errorf("CCOS_HOME list:\n%s", r.stdout)
	}
	r = mustOK(t, runEnv(t, nil, "intent", "list", "--data-dir", flagDir), "list flag")
	if !strings.Contains(r.stdout, "from flag") || strings.Contains(r.stdout, "from env") {
		t.Errorf("--data-dir list:\n%s", r.stdout)
	}
	// Without either, ~/.ccos.
	homeDir := t.TempDir()
	mustOK(t, runEnv(t, []string{"HOME=" + homeDir}, "intent", "create", "from home"), "create via HOME")
	if _, err := os.Stat(filepath.Join(homeDir, ".ccos", "ccos.db")); err != nil {
		t.Errorf("~/.ccos not used: %v", err)
	}
	// A key file readable by others is refused.
	if err := os.Chmod(filepath.Join(flagDir, "ledger.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runEnv(t, nil, "intent", "create", "x", "--data-dir", flagDir); r.code != 1 || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("insecure key accepted:\n%v", r)
	}
}

func TestStoreCommandHelpE2E(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"intent", "-h"}, []string{"Usage: ccos intent", "create", "list", "show", "status"}},
		{[]string{"help", "chain"}, []string{"Usage: ccos chain", "verify"}},
		{[]string{"plan", "--help"}, []string{"Usage: ccos plan", "list", "show"}},
		{[]string{"intent", "create", "-h"}, []string{"Usage: ccos intent create", "-constraint", "-data-dir", "-json"}},
		{[]string{"intent", "status", "-h"}, []string{"Usage: ccos intent status", "-reason", "archived  -> active"}},
		{[]string{"chain", "list", "-h"}, []string{"-run", "-plan", "-intent", "-type", "-limit"}},
		{[]string{"chain", "verify", "-h"}, []string{"Usage: ccos chain verify", "Exit status"}},
		{[]string{"plan", "show", "-h"}, []string{"Usage: ccos plan show"}},
	} {
		r := run(t, "", tt.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("ccos %q: want exit 0 and help on stdout\n%v", tt.args, r)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("ccos %q: help lacks %q\n%v", tt.args, w, r)
			}
		}
	}
}

// TestChainVerifyNeedsAChain: verifying a directory that holds no chain
// fails and creates nothing, rather than reporting an empty chain intact.
func TestChainVerifyNeedsAChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-here")
	r := inDir(t, dir, "chain", "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "no causal chain") {
		t.Fatalf("want exit 1 and 'no causal chain'; got\n%v", r)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("chain verify created %s (%v)", dir, err)
	}
}

package model

import (
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

func read(t testing.TB, src string) value.Value {
	t.Helper()
	n, err := syntax.ParseExpr("t", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return value.FromSyntax(n)
}

func TestEncodeValue(t *testing.T) {
	tests := []struct{ src, want string }{
		{`nil`, `null`},
		{`[1 -2 9223372036854775807]`, `[1,-2,9223372036854775807]`},
		{`1.5`, `{"$float":"1.5"}`},
		{`##NaN`, `{"$float":"NaN"}`},
		{`"a\"b\n\u0001é"`, `"a\"b\n\u0001é"`},
		{`:ns/k`, `{"$kw":"ns/k"}`},
		{`(quote (1 2))`, `{"$list":[{"$sym":"quote"},{"$list":[1,2]}]}`},
		{`{:b 2 :a 1}`, `{"$map":[[{"$kw":"a"},1],[{"$kw":"b"},2]]}`},
		{`#{3 1 2}`, `{"$set":[1,2,3]}`},
		{`2024-01-15T10:30:45Z`, `{"$ts":"2024-01-15T10:30:45Z"}`},
		{`resource://db`, `{"$res":"db"}`},
	}
	for _, tt := range tests {
		got, err := EncodeValue(read(t, tt.src))
		if err != nil || string(got) != tt.want {
			t.Errorf("EncodeValue(%s) = %s, %v; want %s", tt.src, got, err, tt.want)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	for _, src := range []string{
		`nil`, `[1 2.5 "x" :k sym]`, `{:a {:b [1 #{2 3}]} "s" nil}`, `(quote (a b))`,
		`[##Inf ##-Inf -0.0 1e300]`, `550e8400-e29b-41d4-a716-446655440000`,
	} {
		v := read(t, src)
		b, err := EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeValue(b)
		if err != nil {
			t.Fatalf("%s: decode %s: %v", src, b, err)
		}
		if !value.Equal(v, back) {
			t.Errorf("%s: round trip gave %s", src, value.Repr(back))
		}
	}
	e := &value.Error{Type: "type-error", Message: "bad", Data: value.Int(3)}
	b, _ := EncodeValue(e)
	back, err := DecodeValue(b)
	if err != nil || !value.Equal(e, back) {
		t.Errorf("error round trip: %s -> %v %v", b, back, err)
	}
	// Invalid UTF-8 survives as bytes.
	s := value.String("a\xffb")
	b, _ = EncodeValue(s)
	if back, err := DecodeValue(b); err != nil || back != s {
		t.Errorf("bytes round trip: %s -> %v %v", b, back, err)
	}
}

// TestEqualValuesEncodeEqually: the encoding depends on the value, not on
// map or set insertion order.
func TestEqualValuesEncodeEqually(t *testing.T) {
	a, _ := EncodeValue(read(t, `{:x 1 :y #{:a :b} :z {1 2 3 4}}`))
	b, _ := EncodeValue(read(t, `{:z {3 4 1 2} :y #{:b :a} :x 1}`))
	if string(a) != string(b) {
		t.Errorf("%s != %s", a, b)
	}
}

func TestActionHash(t *testing.T) {
	cost := 0.5
	a := &Action{Seq: 7, ActionID: "act-1", RunID: "run-1", Type: CapabilityResult, Name: "ccos.echo",
		Args: read(t, `[1 "x"]`), Result: &Result{Success: true, Value: read(t, `{:ok true}`)},
		Cost: &cost, Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), PrevHash: strings.Repeat("a", 64)}
	content, err := ActionContent(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action_id":"act-1","args":[1,"x"],"cost":{"$float":"0.5"},"name":"ccos.echo","prev_hash":"` + strings.Repeat("a", 64) +
		`","result":{"success":true,"value":{"$map":[[{"$kw":"ok"},true]]}},"run_id":"run-1","seq":7,"timestamp":"2026-01-02T03:04:05.006Z","type":"CapabilityResult","v":1}`
	if string(content) != want {
		t.Errorf("content\n%s\nwant\n%s", content, want)
	}
	h1, _ := HashAction(a)
	a.Seq = 8
	h2, _ := HashAction(a)
	if h1 == h2 || len(h1) != 64 {
		t.Errorf("hash does not cover seq: %s %s", h1, h2)
	}
	a.Hash = h2
	enc, _ := EncodeAction(a)
	if !strings.Contains(string(enc), `"hash":"`+h2+`"`) {
		t.Errorf("EncodeAction lacks the hash: %s", enc)
	}
}

func TestPlanHashIgnoresStatus(t *testing.T) {
	p := &Plan{ID: "p1", IntentIDs: []string{"i1"}, Language: "rtfs20", Body: "(+ 1 2)", Status: PlanDraft, CreatedAt: time.Unix(0, 0)}
	h1, _ := HashPlan(p)
	p.Status = PlanCompleteS
	h2, _ := HashPlan(p)
	p.Body = "(+ 1 3)"
	h3, _ := HashPlan(p)
	if h1 != h2 || h1 == h3 {
		t.Errorf("plan hash: %s %s %s", h1, h2, h3)
	}
}

func TestIntentTransitions(t *testing.T) {
	legal := map[[2]IntentStatus]bool{}
	for _, p := range [][2]IntentStatus{
		{IntentActive, IntentExecuting}, {IntentActive, IntentSuspended}, {IntentActive, IntentArchivedS},
		{IntentActive, IntentCompleted}, {IntentActive, IntentFailed},
		{IntentExecuting, IntentCompleted}, {IntentExecuting, IntentFailed}, {IntentExecuting, IntentSuspended},
		{IntentExecuting, IntentActive},
		{IntentFailed, IntentActive}, {IntentFailed, IntentArchivedS},
		{IntentSuspended, IntentActive}, {IntentSuspended, IntentArchivedS},
		{IntentCompleted, IntentArchivedS},
		{IntentArchivedS, IntentActive},
	} {
		legal[p] = true
	}
	for _, from := range IntentStatuses {
		for _, to := range IntentStatuses {
			want := legal[[2]IntentStatus{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("%s -> %s: got %v, want %v", from, to, got, want)
			}
			err := CheckTransition(from, to)
			if (err == nil) != want {
				t.Errorf("CheckTransition(%s, %s) = %v", from, to, err)
			}
		}
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{`null`, `[1,{"$kw":"a"}]`, `{"$map":[[1,2]]}`, `{"$error":{"type":"x"}}`, `{"$float":"1e5"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeValue(data)
		if err != nil {
			return
		}
		b, err := EncodeValue(v)
		if err != nil {
			return // e.g. a decoded NaN inside a set
		}
		w, err := DecodeValue(b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		b2, _ := EncodeValue(w)
		if string(b) != string(b2) {
			t.Fatalf("encoding not stable: %s vs %s", b, b2)
		}
	})
}

func benchAction() *Action {
	cost := 0.25
	d := int64(12)
	return &Action{Seq: 123456, ActionID: "act-0123456789abcdef", ParentActionID: "act-fedcba9876543210",
		RunID: "run-1", PlanID: "plan-1", IntentID: "intent-1", Type: CapabilityResult, Name: "ccos.network.http-fetch",
		Args:   value.NewVector(value.String("https://example.org/data"), value.NewMap(value.Keyword("timeout-ms"), value.Int(5000))),
		Result: &Result{Success: true, Value: value.NewMap(value.Keyword("status"), value.Int(200), value.Keyword("body"), value.String("hello world"))},
		Cost:   &cost, DurationMs: &d, Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Metadata: value.NewMap(value.Keyword("provider"), value.String("http")), PrevHash: strings.Repeat("ab", 32)}
}

func BenchmarkHashAction(b *testing.B) {
	a := benchAction()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashAction(a); err != nil {
			b.Fatal(err)
		}
	}
}

// TestActionEncodingMatchesObjectBuilder pins the hand-ordered action
// encoder to the generic sorted-object builder for a fully populated
// action, so the two cannot drift apart.
func TestActionEncodingMatchesObjectBuilder(t *testing.T) {
	a := benchAction()
	a.Hash = strings.Repeat("cd", 32)
	a.Result = &Result{Success: false, Value: value.Int(1), Error: &ErrorInfo{Type: "io-error", Message: "m", Data: value.NewVector(value.Int(2))}}
	o := &object{}
	o.int("v", EncodingVersion)
	o.int("seq", int64(a.Seq))
	o.str("action_id", a.ActionID)
	o.str("parent_action_id", a.ParentActionID)
	o.str("run_id", a.RunID)
	o.str("plan_id", a.PlanID)
	o.str("intent_id", a.IntentID)
	o.str("type", string(a.Type))
	o.str("name", a.Name)
	o.value("args", a.Args)
	eo := &object{}
	eo.str("type", a.Result.Error.Type)
	eo.str("message", a.Result.Error.Message)
	eo.value("data", a.Result.Error.Data)
	eb, _ := eo.bytes()
	ro := &object{}
	ro.raw("success", []byte("false"))
	ro.value("value", a.Result.Value)
	ro.raw("error", eb)
	rb, _ := ro.bytes()
	o.raw("result", rb)
	o.value("cost", value.Float(*a.Cost))
	o.int("duration_ms", *a.DurationMs)
	o.time("timestamp", a.Timestamp)
	o.value("metadata", a.Metadata)
	o.str("prev_hash", a.PrevHash)
	o.str("hash", a.Hash)
	want, err := o.bytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodeAction(a)
	if err != nil || string(got) != string(want) {
		t.Errorf("EncodeAction\n%s\nwant\n%s", got, want)
	}
}

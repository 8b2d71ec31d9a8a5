package model_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/model"
	"github.com/ccos-go/ccos/ccos/store/storetest"
	"github.com/ccos-go/ccos/rtfs/value"
)

func BenchmarkDecodeAction(b *testing.B) {
	a := storetest.NewAction(b, 7, nil, func(a *model.Action) {
		a.Metadata = value.NewMap(value.Keyword("k"), value.String("some metadata"))
	})
	body, _ := model.EncodeAction(a)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := model.DecodeAction(body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestActionRoundTrip(t *testing.T) {
	a1 := storetest.RichAction(t, 1, nil)
	a2 := storetest.NewAction(t, 2, a1, nil)
	a3 := storetest.NewAction(t, 3, a2, func(a *model.Action) {
		a.Args, a.RunID, a.PlanID, a.IntentID, a.Name = nil, "", "", "", ""
		a.Result = &model.Result{Success: true}
		a.Metadata = value.NewMap()
		a.Timestamp = time.Date(2024, 2, 29, 23, 59, 59, 999_000_000, time.UTC)
	})
	a4 := storetest.NewAction(t, 4, a3, func(a *model.Action) {
		a.Result = &model.Result{Error: &model.ErrorInfo{Type: "t", Message: ""}}
		a.Args = value.NewVector(&value.Error{Type: "e", Message: "m", Data: value.NewVector()}, value.NewSet(), value.ListFromSlice(nil))
	})
	for _, a := range []*model.Action{a1, a2, a3, a4} {
		enc, err := model.EncodeAction(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := model.DecodeAction(enc)
		if err != nil {
			t.Fatalf("decode %s: %v", enc, err)
		}
		enc2, err := model.EncodeAction(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(enc2) {
			t.Errorf("round trip:\n%s\n%s", enc, enc2)
		}
		if h, _ := model.HashAction(back); h != a.Hash {
			t.Errorf("seq %d: hash %s after decoding, want %s", a.Seq, h, a.Hash)
		}
		if !back.Timestamp.Equal(a.Timestamp) || back.Timestamp.Location() != time.UTC {
			t.Errorf("timestamp %v, want %v", back.Timestamp, a.Timestamp)
		}
	}
}

func TestDecodeActionAcceptsAnySpelling(t *testing.T) {
	in := ` { "v" : 1 , "seq":3,"action_id":"a\u00e9\ud83d\ude00\/","type":"Plan\u0053tarted","timestamp":"2026-01-02T03:04:05.006Z",
		"args":[1, {"$float":"1e3"}, "x\"y"] } `
	a, err := model.DecodeAction([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if a.Seq != 3 || a.ActionID != "aé😀/" || a.Type != model.PlanStarted || a.Timestamp.UnixMilli() != time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC).UnixMilli() {
		t.Errorf("decoded %+v", a)
	}
	if value.Repr(a.Args) != value.Repr(value.NewVector(value.Int(1), value.Float(1000), value.String(`x"y`))) {
		t.Errorf("args %s", value.Repr(a.Args))
	}
}

func TestDecodeActionErrors(t *testing.T) {
	for _, in := range []string{
		``,
		`{}`,
		`{"v":2,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z"}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","extra":1}`,
		`{"v":1,"seq":1,"seq":2,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z"}`,
		`{"v":1,"seq":-1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z"}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-02-30T03:04:05.006Z"}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05Z"}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z"} x`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","metadata":[1]}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","args":{"$nope":1}}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","args":{"$kw":"a","$sym":"b"}}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","args":1.5}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","args":{"$map":[[1]]}}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","result":{"success":1}}`,
		`{"v":1,"seq":1,"action_id":"a","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z","cost":1}`,
		`{"v":1,"seq":1,"action_id":"a\x01","type":"LogStep","timestamp":"2026-01-02T03:04:05.006Z"}`,
		`{"v":1,"seq":1,"action_id":"a`,
	} {
		if a, err := model.DecodeAction([]byte(in)); err == nil {
			t.Errorf("DecodeAction(%s) = %+v, want an error", in, a)
		}
	}
}

// TestValuesLikeModel: the store's value decoder agrees with
// model.DecodeValue.
func TestValuesLikeModel(t *testing.T) {
	vals := []value.Value{
		nil, value.Bool(false), value.Int(-9223372036854775808), value.Float(-0.0), value.Float(math.NaN()), value.Float(math.Inf(-1)),
		value.String("a\u2028b\x7f\"\\\t"), value.String("\xff\xfe"), value.Keyword("ns/k"), value.Symbol("s"),
		value.Timestamp("2026-01-01T00:00:00Z"), value.UUID("u"), &value.Resource{Name: "r"},
		value.NewVector(value.NewVector(), value.NewMap(value.NewVector(value.Int(1)), value.NewSet(value.Keyword("a"), value.Keyword("b")))),
		value.ListFromSlice([]value.Value{value.Int(1), nil}), &value.Error{Type: "x", Message: "y"},
	}
	for _, v := range vals {
		enc, err := model.EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		a := &model.Action{Seq: 1, ActionID: "a", Type: model.LogStep, Args: v, Timestamp: storetest.T0}
		if v == nil {
			continue
		}
		body, _ := model.EncodeAction(a)
		got, err := model.DecodeAction(body)
		if err != nil {
			t.Errorf("%s: %v", enc, err)
			continue
		}
		want, err := model.DecodeValue(enc)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := model.EncodeValue(got.Args)
		w, _ := model.EncodeValue(want)
		if string(g) != string(w) || string(g) != string(enc) || value.Repr(got.Args) != value.Repr(want) {
			t.Errorf("value %s decoded as %s (%s), model: %s (%s)", enc, g, value.Repr(got.Args), w, value.Repr(want))
		}
	}
}

func TestIntentEdgePlanRoundTrip(t *testing.T) {
	in := storetest.Intent("i1", "goal", -4, storetest.T0, func(in *model.Intent) {
		in.Constraints = value.NewMap(value.Keyword("max-cost"), value.Float(10))
		in.Preferences = value.NewMap()
		in.SuccessCriteria = "(fn [r] r)"
		in.ParentIntent = "i0"
		in.GenerationContext = value.NewMap(value.Keyword("m"), value.NewVector())
		in.Metadata = value.NewMap(value.String("k"), nil)
		in.Source = "(intent)"
	})
	for _, x := range []*model.Intent{in, storetest.Intent("i2", "", 0, time.Unix(0, 0), nil)} {
		enc, _ := model.EncodeIntent(x)
		back, err := model.DecodeIntent(enc)
		if err != nil {
			t.Fatal(err)
		}
		if enc2, _ := model.EncodeIntent(back); string(enc) != string(enc2) {
			t.Errorf("intent round trip:\n%s\n%s", enc, enc2)
		}
	}
	w := 0.25
	for _, e := range []*model.IntentEdge{
		{From: "a", To: "b", Type: model.EdgeDependsOn},
		{From: "a", To: "b", Type: model.EdgeBlocks, Weight: &w, Metadata: value.NewMap(value.Keyword("x"), value.Int(1))},
	} {
		enc, _ := model.EncodeEdge(e)
		back, err := model.DecodeEdge(enc)
		if err != nil {
			t.Fatal(err)
		}
		if enc2, _ := model.EncodeEdge(back); string(enc) != string(enc2) {
			t.Errorf("edge round trip:\n%s\n%s", enc, enc2)
		}
	}
	p, h := storetest.Plan(t, "p", []string{"i1", "i\xff2"}, storetest.T0, "(do \"x\")")
	p.Name = "n"
	p.InputSchema = value.NewVector(value.Keyword("map"), value.NewVector(value.Keyword("a"), value.Keyword("int")))
	p.OutputSchema = value.Keyword("string")
	p.Annotations = value.NewMap(value.Keyword("prompt-version"), value.Int(3))
	h, _ = model.HashPlan(p)
	for _, x := range []*model.Plan{p, {ID: "empty", CreatedAt: storetest.T0}} {
		enc, _ := model.EncodePlan(x)
		back, err := model.DecodePlan(enc)
		if err != nil {
			t.Fatal(err)
		}
		if enc2, _ := model.EncodePlan(back); string(enc) != string(enc2) {
			t.Errorf("plan round trip:\n%s\n%s", enc, enc2)
		}
		if x == p {
			if h2, _ := model.HashPlan(back); h2 != h {
				t.Errorf("plan hash changed by the round trip")
			}
		}
	}
	for _, bad := range []string{`{"v":1,"intent_id":"x","bogus":1}`, `{"v":1,"from":"a","weight":1}`, `{"v":1,"plan_id":"p","intent_ids":[1]}`, `{"plan_id":"p"}`} {
		_, e1 := model.DecodeIntent([]byte(bad))
		_, e2 := model.DecodeEdge([]byte(bad))
		_, e3 := model.DecodePlan([]byte(bad))
		if e1 == nil && e2 == nil && e3 == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

// FuzzDecodeAction feeds arbitrary bytes to the action decoder, which
// reads rows that an attacker may have edited: it must never panic, and
// whatever it accepts must re-encode to bytes it decodes the same way.
func FuzzDecodeAction(f *testing.F) {
	f.Add([]byte(`{"action_id":"a","seq":1,"timestamp":"2026-01-02T03:04:05.000Z","type":"LogStep","v":1}`))
	f.Add([]byte(`{"action_id":"a","args":[1,{"$kw":"k"}],"result":{"success":false,"error":{"type":"x","message":"m"}},"seq":2,"timestamp":"2026-01-02T03:04:05.000Z","type":"CapabilityResult","v":1}`))
	for _, a := range []*model.Action{storetest.RichAction(f, 3, nil), storetest.NewAction(f, 4, nil, func(a *model.Action) {
		a.Args = value.NewVector(value.NewSet(value.Int(1), value.Keyword("a")), value.NewMap(value.String("x"), value.Int(1), value.Int(2), nil))
		a.Metadata = value.NewMap(value.Keyword("k"), value.Float(2.5))
	})} {
		b, _ := model.EncodeAction(a)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStoredHash(t, data)
		a, err := model.DecodeAction(data)
		if err != nil {
			return
		}
		b, err := model.EncodeAction(a)
		if err != nil {
			return
		}
		a2, err := model.DecodeAction(b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		b2, _ := model.EncodeAction(a2)
		if string(b) != string(b2) {
			t.Fatalf("not stable: %s vs %s", b, b2)
		}
	})
}

// overlay lays the indexed columns of cols over a, as store.RawAction.Decode
// does.
func overlay(a, cols *model.Action) {
	a.Seq, a.ActionID, a.ParentActionID, a.RunID = cols.Seq, cols.ActionID, cols.ParentActionID, cols.RunID
	a.PlanID, a.IntentID, a.Name, a.Type = cols.PlanID, cols.IntentID, cols.Name, cols.Type
	a.Hash, a.PrevHash = cols.Hash, cols.PrevHash
	if a.Timestamp.UnixMilli() != cols.Timestamp.UnixMilli() {
		a.Timestamp = cols.Timestamp
	}
}

// checkStoredHash checks that HashStoredAction agrees with decoding,
// overlaying and HashAction whenever it answers, for columns equal to the
// body's and for other columns.
func checkStoredHash(t *testing.T, data []byte) {
	t.Helper()
	colsets := []*model.Action{
		{Seq: 9, ActionID: "x\"y", RunID: "r", Type: "Other\x01", Name: "n", PrevHash: "p", Timestamp: time.UnixMilli(1234567).UTC()},
		{Timestamp: time.UnixMilli(-5).UTC()},
	}
	if a, err := model.DecodeAction(data); err == nil {
		c := *a
		colsets = append(colsets, &c)
	}
	for _, cols := range colsets {
		h, ok, _ := model.HashStoredAction(data, cols, nil)
		a, err := model.DecodeAction(data)
		if err != nil {
			if ok {
				t.Fatalf("fast path hashed %q, which does not decode: %v", data, err)
			}
			continue
		}
		overlay(a, cols)
		want, err := model.HashAction(a)
		if ok && (err != nil || h != want) {
			t.Fatalf("fast path hash of %q = %s, want %s (%v)", data, h, want, err)
		}
	}
}

func TestHashStoredAction(t *testing.T) {
	a1 := storetest.RichAction(t, 1, nil)
	a2 := storetest.NewAction(t, 2, a1, func(a *model.Action) {
		a.Args = value.NewVector(value.NewSet(value.Int(1), value.Keyword("a"), value.String("s")),
			value.NewMap(value.String("x"), value.Int(1), value.Int(2), nil, value.Keyword("z"), value.NewVector()),
			value.ListFromSlice(nil), value.NewMap(value.NewVector(value.Int(1)), value.Int(2)), value.Float(math.Inf(-1)))
		a.Result = &model.Result{Success: true, Value: value.String("\x7f\u2028")}
		a.Metadata = value.NewMap(value.Keyword("path"), value.String("main/1:call"))
	})
	a3 := storetest.NewAction(t, 3, a2, func(a *model.Action) {
		a.Args, a.RunID, a.PlanID, a.IntentID, a.Name = nil, "", "", "", ""
		a.Result = &model.Result{Error: &model.ErrorInfo{Type: "t", Message: "q\"\n"}}
	})
	for i, a := range []*model.Action{a1, a2, a3} {
		body, err := model.EncodeAction(a)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := model.HashAction(a)
		h, ok, _ := model.HashStoredAction(body, a, nil)
		// a1 has a $bytes string: left to the exact path.
		if ok != (i != 0) || ok && h != want {
			t.Errorf("action %d: ok %v, hash %s want %s", i+1, ok, h, want)
		}
		checkStoredHash(t, body)
	}
	// Equivalent but not canonical bodies, and bodies that do not decode,
	// are left to the exact path.
	body, _ := model.EncodeAction(a2)
	for _, edit := range [][2]string{
		{`"v":1}`, `"v":1 }`},
		{`{"$kw":"a"}`, `{"$kw":"\u0061"}`},
		{`["s",1,`, `[1,"s",`},
		{`[2,null]`, `[{"$float":"2"},null]`},
		{`[[[1],2]]`, `[[[1],2],[[2],2]]`},
		{`"success":true`, `"success":1`},
		{`"main/1:call"`, `"main\/1:call"`},
		{`,[2,null],`, `,[2,0],[2,null],`},
		{`"v":1}`, `"v":1,"v":1}`},
		{`"v":1}`, `"v":1,"x":1}`},
		{`"seq":2`, `"seq":-2`},
		{`"$float":"-Inf"`, `"$float":"-inf"`},
	} {
		b := []byte(strings.Replace(string(body), edit[0], edit[1], 1))
		if string(b) == string(body) {
			t.Fatalf("edit %q does not apply to %s", edit, body)
		}
		if _, ok, _ := model.HashStoredAction(b, a2, nil); ok {
			t.Errorf("edit %q: fast path taken", edit)
		}
		checkStoredHash(t, b)
	}
}

func BenchmarkHashStoredAction(b *testing.B) {
	a := storetest.NewAction(b, 7, nil, func(a *model.Action) {
		a.Args = value.NewVector(value.Int(7), value.String("hello"))
		a.Metadata = value.NewMap(value.Keyword("path"), value.String("main/7:call"))
	})
	body, _ := model.EncodeAction(a)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var ok bool
			if _, ok, buf = model.HashStoredAction(body, a, buf); !ok {
				b.Fatal("not canonical")
			}
		}
	})
	b.Run("decode+hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, _ := model.DecodeAction(body)
			if _, err := model.HashAction(d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

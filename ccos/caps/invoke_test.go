package caps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

func invCap(input, output string, run Func) *Capability {
	c := &Capability{Manifest: Manifest{ID: "test.cap", Provider: ProviderLocal}, Run: run}
	if input != "" {
		c.Input = types.MustParse(input)
	}
	if output != "" {
		c.Output = types.MustParse(output)
	}
	return c
}

func invWantErr(t *testing.T, err error, typ value.Keyword, msg string) *value.Error {
	t.Helper()
	var ve *value.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v, want *value.Error %s", err, err, typ)
	}
	if ve.Type != typ || !strings.Contains(ve.Message, msg) {
		t.Fatalf("error %s %q, want %s containing %q", ve.Type, ve.Message, typ, msg)
	}
	return ve
}

func TestInvokeSchemas(t *testing.T) {
	ctx := context.Background()
	ran := 0
	echo := func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		ran++
		if env == nil {
			t.Error("Run got a nil env")
		}
		if len(args) == 0 {
			return nil, nil
		}
		return args[0], nil
	}
	c := invCap("[:tuple [:map [:city :string]]]", "[:map [:city :string]]", echo)

	arg := value.NewMap(value.Keyword("city"), value.String("Paris"))
	v, err := Invoke(ctx, c, nil, []value.Value{arg})
	if err != nil || !value.Equal(v, arg) {
		t.Fatalf("Invoke = %v, %v", v, err)
	}

	ran = 0
	_, err = Invoke(ctx, c, nil, []value.Value{value.NewMap(value.Keyword("city"), value.Int(1))})
	ve := invWantErr(t, err, value.ErrValidation, "capability test.cap: input does not match [:tuple [:map [:city :string]]]: at [0 :city]: expected :string, got 1")
	if ran != 0 {
		t.Error("Run ran despite invalid input")
	}
	var mm *types.Mismatch
	if !errors.As(err, &mm) {
		t.Errorf("cause is not a *types.Mismatch: %v", ve.Cause)
	}
	d, _ := ve.Data.(*value.Map)
	if d == nil {
		t.Fatal("no data")
	}
	for k, want := range map[string]value.Value{
		"capability": value.String("test.cap"),
		"which":      value.Keyword("input"),
		"path":       value.NewVector(value.Int(0), value.Keyword("city")),
		"expected":   value.String(":string"),
		"actual":     value.Int(1),
	} {
		if got, _ := d.Get(value.Keyword(k)); !value.Equal(got, want) {
			t.Errorf("data %s = %v, want %v", k, got, want)
		}
	}

	_, err = Invoke(ctx, c, nil, nil)
	invWantErr(t, err, value.ErrValidation, "input does not match")

	// The output check sees what Run returned.
	_, err = Invoke(ctx, c, nil, []value.Value{value.NewMap(value.Keyword("city"), value.String("x"), value.Keyword("n"), value.Int(1))})
	if err != nil {
		t.Errorf("extra key: %v", err)
	}
	bad := invCap("", "[:map [:city :string]]", func(context.Context, *Env, []value.Value) (value.Value, error) {
		return value.NewMap(), nil
	})
	_, err = Invoke(ctx, bad, nil, nil)
	ve = invWantErr(t, err, value.ErrValidation, "capability test.cap: output does not match [:map [:city :string]]: missing required key :city")
	if w, _ := ve.Data.(*value.Map).Get(value.Keyword("which")); w != value.Keyword("output") {
		t.Errorf(":which = %v", w)
	}

	// Unchecked schemas accept anything.
	open := invCap("", "", echo)
	if v, err := Invoke(ctx, open, &Env{}, []value.Value{value.Int(3), value.True}); err != nil || v != value.Int(3) {
		t.Errorf("unchecked = %v, %v", v, err)
	}
}

func TestInvokeErrors(t *testing.T) {
	ctx := context.Background()
	plain := errors.New("disk on fire")
	c := invCap("", "", func(context.Context, *Env, []value.Value) (value.Value, error) { return nil, plain })
	_, err := Invoke(ctx, c, nil, nil)
	ve := invWantErr(t, err, value.ErrCapability, "capability test.cap: disk on fire")
	if !errors.Is(err, plain) || ve.Cause != plain {
		t.Errorf("cause not wrapped: %v", ve.Cause)
	}

	rtfsErr := value.NewError(value.ErrIO, "nope")
	c = invCap("", "", func(context.Context, *Env, []value.Value) (value.Value, error) { return nil, rtfsErr })
	if _, err := Invoke(ctx, c, nil, nil); err != rtfsErr {
		t.Errorf("RTFS error changed: %v", err)
	}

	c = invCap("", "", func(context.Context, *Env, []value.Value) (value.Value, error) { panic("boom") })
	_, err = Invoke(ctx, c, nil, nil)
	invWantErr(t, err, value.ErrCapability, "panicked: boom")

	_, err = Invoke(ctx, nil, nil, nil)
	invWantErr(t, err, value.ErrCapability, "cannot be run")
	_, err = Invoke(ctx, &Capability{Manifest: Manifest{ID: "x"}}, nil, nil)
	invWantErr(t, err, value.ErrCapability, "capability x cannot be run")
}

func TestInvokeContext(t *testing.T) {
	wait := invCap("", "", func(ctx context.Context, _ *Env, _ []value.Value) (value.Value, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := Invoke(ctx, wait, nil, nil)
	ve := invWantErr(t, err, value.ErrTimeout, "capability test.cap timed out")
	if !errors.Is(ve, context.DeadlineExceeded) {
		t.Errorf("cause = %v", ve.Cause)
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err = Invoke(ctx, wait, nil, nil)
	invWantErr(t, err, value.ErrTimeout, "was cancelled")

	// An already expired context does not run the capability.
	ran := false
	c := invCap("", "", func(context.Context, *Env, []value.Value) (value.Value, error) { ran = true; return nil, nil })
	_, err = Invoke(ctx, c, nil, nil)
	invWantErr(t, err, value.ErrTimeout, "was cancelled")
	if ran {
		t.Error("ran with a cancelled context")
	}

	// A provider's own deadline error is a timeout even when ctx is live.
	c = invCap("", "", func(context.Context, *Env, []value.Value) (value.Value, error) {
		return nil, context.DeadlineExceeded
	})
	_, err = Invoke(context.Background(), c, nil, nil)
	invWantErr(t, err, value.ErrTimeout, "timed out")
}

func TestNewFromManifest(t *testing.T) {
	if _, err := NewFromManifest(&Manifest{ID: "x.y", Provider: ProviderLocal}); err == nil || !strings.Contains(err.Error(), ":local") {
		t.Errorf("local: %v", err)
	}
	if _, err := NewFromManifest(nil); err == nil {
		t.Error("nil manifest accepted")
	}
	if _, err := NewFromManifest(&Manifest{ID: "x.y", Provider: ProviderHTTP}); err == nil {
		t.Error("http without config accepted")
	}
	// Go-built manifests get what the provider implies.
	m := &Manifest{ID: "x.y", Provider: ProviderHTTP, HTTP: &HTTPConfig{URL: "https://h.example/p"}}
	c, err := NewFromManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Method != "GET" || len(c.Effects.Network) != 1 || c.Effects.Network[0] != "h.example:443" {
		t.Errorf("http = %+v effects %+v", c.HTTP, c.Effects)
	}
	if m.HTTP.Method != "" || m.Effects.Network != nil {
		t.Error("NewFromManifest modified its argument")
	}
	tg, err := c.TargetsOf(nil)
	if err != nil || len(tg.URLs) != 1 || tg.URLs[0] != "https://h.example/p" {
		t.Errorf("targets = %+v, %v", tg, err)
	}
	c, err = NewFromManifest(&Manifest{ID: "x.y", Provider: ProviderProgram, Program: &ProgramConfig{Path: "/bin/echo"}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Effects.Exec {
		t.Error("program without Exec")
	}
	tg, err = c.TargetsOf([]value.Value{value.String("a")})
	if err != nil || len(tg.Programs) != 1 || tg.Programs[0] != "/bin/echo" {
		t.Errorf("targets = %+v, %v", tg, err)
	}
}

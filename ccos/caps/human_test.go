package caps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

func TestHumanNeedsHuman(t *testing.T) {
	c := btCap(t, "ccos.ask-human")
	for _, env := range []*Env{nil, {}} {
		_, err := c.Run(t.Context(), env, []value.Value{btStr("Deploy to prod?")})
		var nh *NeedsHuman
		if !errors.As(err, &nh) || nh.Prompt != "Deploy to prod?" {
			t.Fatalf("err = %v (%T), want *NeedsHuman", err, err)
		}
		if !strings.Contains(nh.Error(), "Deploy to prod?") {
			t.Errorf("Error() = %q", nh.Error())
		}
	}
	_, err := c.Run(t.Context(), &Env{}, []value.Value{value.Int(1)})
	btWantErr(t, err, value.ErrType, "")
}

type btHumanFunc func(ctx context.Context, prompt string) (string, error)

func (f btHumanFunc) Ask(ctx context.Context, prompt string) (string, error) { return f(ctx, prompt) }

func TestHumanAskCapability(t *testing.T) {
	c := btCap(t, "ccos.ask-human")
	env, _ := btEnv(t)
	env.Human = btHumanFunc(func(_ context.Context, p string) (string, error) { return "yes to " + p, nil })
	v, err := btCall(t, c, env, []value.Value{btStr("q")})
	if err != nil || v != btStr("yes to q") {
		t.Fatalf("ask = %v, %v", v, err)
	}
	env.Human = btHumanFunc(func(context.Context, string) (string, error) { return "", errors.New("tty gone") })
	_, err = btCall(t, c, env, []value.Value{btStr("q")})
	btWantErr(t, err, value.ErrIO, "tty gone")
	// A Human may defer to the orchestrator too.
	env.Human = btHumanFunc(func(_ context.Context, p string) (string, error) { return "", &NeedsHuman{Prompt: p} })
	_, err = btCall(t, c, env, []value.Value{btStr("later?")})
	var nh *NeedsHuman
	if !errors.As(err, &nh) {
		t.Fatalf("err = %v", err)
	}
}

func TestHumanTerminal(t *testing.T) {
	var out bytes.Buffer
	h := &TerminalHuman{In: strings.NewReader("yes\r\nsecond answer\nno newline"), Out: &out}
	for _, tt := range []struct{ prompt, want string }{
		{"Proceed?", "yes"},
		{"Name: ", "second answer"},
		{"Last?\n", "no newline"},
	} {
		got, err := h.Ask(t.Context(), tt.prompt)
		if err != nil || got != tt.want {
			t.Fatalf("Ask(%q) = %q, %v; want %q", tt.prompt, got, err, tt.want)
		}
	}
	if out.String() != "Proceed? Name: Last?\n" {
		t.Errorf("prompts written %q", out.String())
	}
	_, err := h.Ask(t.Context(), "More?")
	btWantErr(t, err, value.ErrIO, "end of input")

	// It does not read past the answer.
	in := strings.NewReader("one\nrest\n")
	if a, err := (&TerminalHuman{In: in}).Ask(t.Context(), "?"); err != nil || a != "one" {
		t.Fatalf("Ask = %q, %v", a, err)
	}
	if rest, _ := io.ReadAll(in); string(rest) != "rest\n" {
		t.Errorf("left %q", rest)
	}

	// Through the capability.
	env, _ := btEnv(t)
	env.Human = &TerminalHuman{In: strings.NewReader("42\n"), Out: io.Discard}
	v, err := btCall(t, btCap(t, "ccos.ask-human"), env, []value.Value{btStr("Answer?")})
	if err != nil || v != btStr("42") {
		t.Fatalf("ask-human = %v, %v", v, err)
	}
}

func TestHumanTerminalCancel(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	h := &TerminalHuman{In: pr, Out: io.Discard}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := h.Ask(ctx, "waiting?")
	btWantErr(t, err, value.ErrTimeout, "timed out")
	// The line typed late answers the next question instead of being lost.
	go io.WriteString(pw, "late answer\n")
	a, err := h.Ask(t.Context(), "again?")
	if err != nil || a != "late answer" {
		t.Fatalf("Ask = %q, %v", a, err)
	}
	// A failing input is an :io-error.
	pr2, pw2 := io.Pipe()
	pw2.CloseWithError(errors.New("terminal hung up"))
	_, err = (&TerminalHuman{In: pr2}).Ask(t.Context(), "?")
	btWantErr(t, err, value.ErrIO, "hung up")
	_, err = (&TerminalHuman{}).Ask(t.Context(), "?")
	btWantErr(t, err, value.ErrIO, "no input")
}

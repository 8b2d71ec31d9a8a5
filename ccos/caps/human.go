package caps

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/ccos-go/ccos/rtfs/value"
)

// NeedsHuman is returned by ccos.ask-human when env.Human is nil: no
// person is reachable now, so the orchestrator pauses the run until
// someone answers Prompt (and then resumes it with the answer).
type NeedsHuman struct{ Prompt string }

// Error implements error.
func (e *NeedsHuman) Error() string {
	return "ccos.ask-human: waiting for a human to answer: " + e.Prompt
}

// biMaxAnswerBytes caps one answer read by TerminalHuman.
const biMaxAnswerBytes = 1 << 20

// TerminalHuman asks on a terminal: it writes the prompt to Out and reads
// one line from In (without its line terminator). It reads In one byte at
// a time, so it never consumes input beyond the answer's newline.
//
// Questions are asked one at a time. When the context of an Ask ends
// while the read is still blocked, Ask returns, and the pending read's
// line becomes the answer of the next Ask instead of being lost.
type TerminalHuman struct {
	In  io.Reader
	Out io.Writer

	once    sync.Once
	turn    chan struct{} // one Ask at a time
	pending chan biAnswer // a read still in flight, or nil
}

type biAnswer struct {
	line string
	err  error
}

// Ask writes prompt (followed by a space unless it ends in white space)
// to Out and returns the next line of In. End of input before any
// character is an :io-error.
func (h *TerminalHuman) Ask(ctx context.Context, prompt string) (string, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	h.once.Do(func() { h.turn = make(chan struct{}, 1) })
	select {
	case h.turn <- struct{}{}:
	case <-ctx.Done():
		return "", biCtxErr("ccos.ask-human", ctx.Err())
	}
	defer func() { <-h.turn }()

	if h.Out != nil {
		p := prompt
		if p == "" || !strings.ContainsAny(p[len(p)-1:], " \t\n") {
			p += " "
		}
		if _, err := io.WriteString(h.Out, p); err != nil {
			return "", biIOErr("ccos.ask-human", err)
		}
	}
	if h.In == nil {
		return "", value.Errorf(value.ErrIO, "ccos.ask-human: the terminal has no input")
	}
	if h.pending == nil {
		ch := make(chan biAnswer, 1)
		h.pending = ch
		in := h.In
		go func() {
			line, err := biReadAnswer(in)
			ch <- biAnswer{line, err}
		}()
	}
	select {
	case a := <-h.pending:
		h.pending = nil
		return a.line, a.err
	case <-ctx.Done():
		return "", biCtxErr("ccos.ask-human", ctx.Err())
	}
}

// biReadAnswer reads one line from r, byte by byte.
func biReadAnswer(r io.Reader) (string, error) {
	var b []byte
	var one [1]byte
	for {
		n, err := r.Read(one[:])
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			if len(b) >= biMaxAnswerBytes {
				return "", biLimitErr("ccos.ask-human", "the answer", biMaxAnswerBytes)
			}
			b = append(b, one[0])
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(b) > 0 {
					break
				}
				return "", value.Errorf(value.ErrIO, "ccos.ask-human: no answer: end of input")
			}
			return "", biIOErr("ccos.ask-human", err)
		}
	}
	return strings.TrimSuffix(string(b), "\r"), nil
}

// askHumanCap is ccos.ask-human: prompt → answer string. With env.Human
// nil it returns *NeedsHuman so the orchestrator can pause the run.
func askHumanCap() *Capability {
	const id = "ccos.ask-human"
	c := newBuiltin(id, "asks a person a question and returns the answer; pauses the run when no one is reachable",
		"[:tuple :string]", ":string", Effects{Human: true}, "human")
	c.Run = func(ctx context.Context, env *Env, args []value.Value) (value.Value, error) {
		if err := biArity(id, args, 1, 1); err != nil {
			return nil, err
		}
		prompt, err := biString(id, args, 0, "the prompt")
		if err != nil {
			return nil, err
		}
		env = biEnv(env)
		if env.Human == nil {
			return nil, &NeedsHuman{Prompt: prompt}
		}
		if ctx == nil {
			ctx = context.Background()
		}
		answer, err := env.Human.Ask(ctx, prompt)
		if err != nil {
			var nh *NeedsHuman
			var ve *value.Error
			switch {
			case errors.As(err, &nh), errors.As(err, &ve):
				return nil, err
			case ctx.Err() != nil:
				return nil, biCtxErr(id, ctx.Err())
			}
			return nil, biIOErr(id, err)
		}
		return value.String(answer), nil
	}
	return c
}

// Package eval evaluates resolved RTFS programs. It compiles the resolver's
// tree into a tree of specialised nodes ("closure compilation") that run
// against a frame of slots, so that variable access is an index and calls
// allocate nothing but what they return.
//
// A Thread carries everything one evaluation needs: limits (deadline,
// step budget, call depth), the Host that performs orchestration forms, and
// the value stack that holds call frames. Like go.starlark.net's Thread, a
// Thread is used by one goroutine at a time; parallel forms run their
// branches on child threads.
package eval

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/ccos-go/ccos/rtfs/value"
)

// Limits bounds one evaluation. Zero values mean "no limit".
type Limits struct {
	// MaxSteps bounds evaluation steps: function calls and loop
	// iterations, and elements produced by builtins that iterate.
	MaxSteps uint64
	// MaxDepth bounds the depth of nested function calls.
	MaxDepth int
}

// DefaultLimits are the limits of ccos eval.
var DefaultLimits = Limits{MaxSteps: 10_000_000, MaxDepth: 10_000}

// Thread is the state of one evaluation.
type Thread struct {
	ctx   context.Context
	host  Host
	env   *Env
	steps uint64
	// nextCheck is the step count at which Tick next takes its slow path.
	nextCheck uint64
	base      uint64 // steps of the parent when a child thread started
	maxSteps  uint64
	depth     int
	maxDepth  int
	stop      *atomic.Bool
	stopErr   func() error
	stack     valueStack
	ints      value.IntBoxer
	// step is the host step the thread is currently inside (nil at plan
	// level); hosts use it to parent events.
	step any
	// print receives println output.
	print func(string)
}

// NewThread returns a thread evaluating in env under ctx and limits. The
// thread stops with :timeout when ctx is done.
func NewThread(ctx context.Context, env *Env, host Host, limits Limits) *Thread {
	if ctx == nil {
		ctx = context.Background()
	}
	if host == nil {
		host = NoHost{}
	}
	th := &Thread{ctx: ctx, env: env, host: host, stop: new(atomic.Bool)}
	th.SetLimits(limits)
	if ctx.Done() != nil {
		stop := th.stop
		context.AfterFunc(ctx, func() { stop.Store(true) })
	}
	return th
}

// SetLimits replaces the thread's limits; steps already taken still count.
func (th *Thread) SetLimits(l Limits) {
	th.maxSteps = l.MaxSteps
	if th.maxSteps == 0 {
		th.maxSteps = math.MaxUint64
	}
	th.maxDepth = l.MaxDepth
	if th.maxDepth <= 0 {
		th.maxDepth = math.MaxInt
	}
	th.nextCheck = th.steps + 1
}

// Context returns the thread's context.
func (th *Thread) Context() context.Context { return th.ctx }

// Host returns the thread's host.
func (th *Thread) Host() Host { return th.host }

// Env returns the global environment.
func (th *Thread) Env() *Env { return th.env }

// Steps returns the number of evaluation steps taken so far.
func (th *Thread) Steps() uint64 { return th.steps }

// Step returns the host step the thread is in (nil at plan level).
func (th *Thread) Step() any { return th.step }

// SetStep sets the current host step and returns the previous one.
func (th *Thread) SetStep(s any) any {
	old := th.step
	th.step = s
	return old
}

// SetPrint sets the function receiving println output.
func (th *Thread) SetPrint(f func(string)) { th.print = f }

// Print writes a line of program output.
func (th *Thread) Print(s string) {
	if th.print != nil {
		th.print(s)
	}
}

// Tick charges one evaluation step and reports an error when a limit is
// reached or the context is done. It is on the hot path of every call and
// loop iteration, so the common case is kept small enough to inline.
func (th *Thread) Tick() error {
	th.steps++
	if th.steps >= th.nextCheck {
		return th.checkStop()
	}
	return nil
}

// checkStop is the slow path of Tick, taken every 256 steps and at the
// step limit: it checks the limit and the stop flag (an atomic load) set
// when the context is done.
func (th *Thread) checkStop() error {
	if th.steps > th.maxSteps || th.stop.Load() {
		return th.limitError()
	}
	th.nextCheck = min(th.steps+256, th.maxSteps+1)
	if th.maxSteps == math.MaxUint64 {
		th.nextCheck = th.steps + 256
	}
	return nil
}

// Charge charges n evaluation steps at once (bulk builtin work).
func (th *Thread) Charge(n int) error {
	th.steps += uint64(n)
	if th.steps > th.maxSteps || th.stop.Load() {
		return th.limitError()
	}
	return nil
}

func (th *Thread) limitError() error {
	if th.stop.Load() {
		if th.ctx.Err() == context.DeadlineExceeded {
			return value.Errorf(value.ErrTimeout, "evaluation timed out")
		}
		return &value.Error{Type: value.ErrTimeout, Message: "evaluation cancelled", Cause: th.ctx.Err()}
	}
	return value.Errorf(value.ErrLimit, "evaluation step limit of %d exceeded", th.maxSteps)
}

// Child returns a thread for a parallel branch: same env, host, context
// and stop flag, with the remaining step budget and depth.
func (th *Thread) Child() *Thread {
	c := &Thread{ctx: th.ctx, env: th.env, host: th.host, stop: th.stop, print: th.print, step: th.step}
	c.maxSteps = th.maxSteps
	c.nextCheck = th.steps + 1
	c.steps = th.steps
	c.base = th.steps
	c.depth = th.depth
	c.maxDepth = th.maxDepth
	return c
}

// Join adds the steps a child took to th.
func (th *Thread) Join(c *Thread) error {
	th.steps += c.steps - c.base
	if th.steps > th.maxSteps {
		return th.limitError()
	}
	return nil
}

// valueStack holds call frames in chunks that never move, so a frame is a
// stable slice for the whole call. Frames are allocated and freed in LIFO
// order.
type valueStack struct {
	buf   []Value
	sp    int
	high  int // highest sp since the last scrub
	saved []savedChunk
	spare []Value
}

type savedChunk struct {
	buf      []Value
	sp, high int
}

const stackChunk = 8192

// alloc returns n slots. They may hold stale values from earlier frames:
// callers overwrite or clear them (see frame).
func (s *valueStack) alloc(n int) []Value {
	if n > len(s.buf)-s.sp {
		return s.grow(n)
	}
	f := s.buf[s.sp:][:n:n]
	s.sp += n
	return f
}

// frame allocates a call frame of size slots whose first nargs slots the
// caller fills; the rest are cleared.
func (s *valueStack) frame(nargs, size int) []Value {
	f := s.alloc(max(size, nargs))
	if nargs < len(f) {
		clear(f[nargs:])
	}
	return f
}

// grow starts a new chunk. It is kept out of line so that alloc inlines.
//
//go:noinline
func (s *valueStack) grow(n int) []Value {
	if s.buf != nil {
		s.saved = append(s.saved, savedChunk{s.buf, s.sp, s.high})
	}
	size := stackChunk
	if n > size {
		size = n
	}
	if len(s.spare) >= size {
		s.buf, s.spare = s.spare, nil
	} else {
		s.buf = make([]Value, size)
	}
	s.sp, s.high = n, n
	return s.buf[0:n:n]
}

// free releases the most recently allocated slots. They are not cleared
// here (that is the hot path); scrub clears stale slots between top-level
// forms so they do not keep garbage alive.
func (s *valueStack) free(f []Value) {
	if s.sp > s.high {
		s.high = s.sp
	}
	s.sp -= len(f)
	if s.sp == 0 && len(s.saved) > 0 {
		last := s.saved[len(s.saved)-1]
		s.saved = s.saved[:len(s.saved)-1]
		clear(s.buf[:s.high])
		s.spare = s.buf
		s.buf, s.sp, s.high = last.buf, last.sp, last.high
	}
}

// scrub clears every slot above the stack pointer that was used since the
// last scrub.
func (s *valueStack) scrub() {
	if s.high > s.sp {
		clear(s.buf[s.sp:s.high])
	}
	s.high = s.sp
}

// Value is value.Value, repeated here for brevity.
type Value = value.Value

// BoxInt returns i as a Value. Small integers have static boxes in the
// runtime; others come from the thread's IntBoxer instead of one heap
// allocation each. Builtins on hot paths use it for integer results.
func (th *Thread) BoxInt(i value.Int) Value {
	if uint64(i) < 256 {
		return i
	}
	return th.ints.Box(i)
}

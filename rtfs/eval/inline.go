package eval

import (
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// inlineCall returns an open-coded node for a call of an inlinable
// builtin, or nil. The node checks at run time that the global still holds
// the same builtin and falls back to an ordinary call otherwise.
func inlineCall(g *Global, b *Builtin, args []node, pos syntax.Pos) node {
	switch b.Inline {
	case OpAdd, OpSub, OpMul, OpLt, OpLe, OpGt, OpGe, OpEq, OpNumEq:
		if len(args) == 2 {
			if c, ok := args[1].(*constNode); ok {
				if i, ok := c.v.(value.Int); ok {
					return &binOpConstNode{binOpNode{g: g, orig: b, op: b.Inline, x: args[0], y: args[1], pos: pos,
						xslot: localSlot(args[0]), yslot: -1}, i}
				}
			}
			return &binOpNode{g: g, orig: b, op: b.Inline, x: args[0], y: args[1], pos: pos,
				xslot: localSlot(args[0]), yslot: localSlot(args[1])}
		}
	case OpInc, OpDec, OpZero:
		if len(args) == 1 {
			return &unOpNode{g: g, orig: b, op: b.Inline, x: args[0], pos: pos, xslot: localSlot(args[0])}
		}
	}
	return nil
}

type binOpNode struct {
	g    *Global
	orig *Builtin
	op   Op
	x, y node
	// xslot and yslot are the slots of operands that are plain locals
	// (read without a dynamic call), else -1.
	xslot, yslot int
	pos          syntax.Pos
}

// localSlot returns the slot of a plain local node, or -1.
func localSlot(n node) int {
	if l, ok := n.(*localNode); ok {
		return l.slot
	}
	return -1
}

func overflow(pos syntax.Pos, op string) error {
	return errAt(pos, value.ErrArithmetic, "integer overflow in %s", op)
}

func (n *binOpNode) eval(th *Thread, env []Value) (Value, error) {
	var x, y Value
	var err error
	if n.xslot >= 0 {
		x = env[n.xslot]
	} else if x, err = n.x.eval(th, env); err != nil {
		return nil, err
	}
	if n.yslot >= 0 {
		y = env[n.yslot]
	} else if y, err = n.y.eval(th, env); err != nil {
		return nil, err
	}
	if b, ok := y.(value.Int); ok {
		if a, ok := x.(value.Int); ok && n.bound() {
			switch n.op {
			case OpAdd:
				if s := a + b; (a^s)&(b^s) >= 0 {
					return th.BoxInt(s), nil
				}
			case OpSub:
				if s := a - b; (a^b)&(a^s) >= 0 {
					return th.BoxInt(s), nil
				}
			case OpLt:
				return value.Bool(a < b), nil
			}
		}
		if v, err, done := n.intOp(th, x, b); done {
			return v, err
		}
	}
	return n.fallback(th, x, y)
}

// intOp computes the operation when the global still holds the builtin
// and x is an integer; done is false otherwise.
func (n *binOpNode) intOp(th *Thread, x Value, b value.Int) (v Value, err error, done bool) {
	if !n.bound() {
		return nil, nil, false
	}
	a, ok := x.(value.Int)
	if !ok {
		return nil, nil, false
	}
	switch n.op {
	case OpAdd:
		s := a + b
		if (a^s)&(b^s) < 0 {
			return nil, overflow(n.pos, "+"), true
		}
		return th.BoxInt(s), nil, true
	case OpSub:
		s := a - b
		if (a^b)&(a^s) < 0 {
			return nil, overflow(n.pos, "-"), true
		}
		return th.BoxInt(s), nil, true
	case OpMul:
		if a == 0 || b == 0 {
			return value.Int(0), nil, true
		}
		p := a * b
		if p/b != a || (a == -1 && b == minInt) || (b == -1 && a == minInt) {
			return nil, overflow(n.pos, "*"), true
		}
		return th.BoxInt(p), nil, true
	case OpLt:
		return value.Bool(a < b), nil, true
	case OpLe:
		return value.Bool(a <= b), nil, true
	case OpGt:
		return value.Bool(a > b), nil, true
	case OpGe:
		return value.Bool(a >= b), nil, true
	case OpEq, OpNumEq:
		return value.Bool(a == b), nil, true
	}
	return nil, nil, false
}

const minInt = value.Int(-1 << 63)

func (n *binOpNode) fallback(th *Thread, x, y Value) (Value, error) {
	if !n.g.defined {
		return nil, undefined(n.g.Name, n.pos)
	}
	args := th.stack.alloc(2)
	args[0], args[1] = x, y
	v, err := th.Call(n.g.value, args...)
	th.stack.free(args)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	return v, nil
}

type unOpNode struct {
	g     *Global
	orig  *Builtin
	op    Op
	x     node
	xslot int // slot of x when it is a plain local, else -1
	pos   syntax.Pos
}

func (n *unOpNode) eval(th *Thread, env []Value) (Value, error) {
	var x Value
	if n.xslot >= 0 {
		x = env[n.xslot]
	} else {
		var err error
		if x, err = n.x.eval(th, env); err != nil {
			return nil, err
		}
	}
	if cur, ok := n.g.value.(*Builtin); ok && cur == n.orig {
		if a, ok := x.(value.Int); ok {
			switch n.op {
			case OpInc:
				if a == value.Int(^uint64(0)>>1) {
					return nil, overflow(n.pos, "inc")
				}
				return th.BoxInt(a + 1), nil
			case OpDec:
				if a == minInt {
					return nil, overflow(n.pos, "dec")
				}
				return th.BoxInt(a - 1), nil
			case OpZero:
				return value.Bool(a == 0), nil
			}
		}
	}
	if !n.g.defined {
		return nil, undefined(n.g.Name, n.pos)
	}
	v, err := th.Call1(n.g.value, x)
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	return v, nil
}

// binOpConstNode is a binOpNode whose second operand is an integer
// constant, the commonest shape: (- n 1), (< i 10).
type binOpConstNode struct {
	binOpNode
	c value.Int
}

func (n *binOpConstNode) eval(th *Thread, env []Value) (Value, error) {
	var x Value
	if n.xslot >= 0 {
		x = env[n.xslot]
	} else {
		var err error
		if x, err = n.x.eval(th, env); err != nil {
			return nil, err
		}
	}
	// The common operations are open-coded here rather than going through
	// intOp: this node runs several times per call in numeric code.
	if a, ok := x.(value.Int); ok && n.bound() {
		b := n.c
		switch n.op {
		case OpAdd:
			if s := a + b; (a^s)&(b^s) >= 0 {
				return th.BoxInt(s), nil
			}
		case OpSub:
			if s := a - b; (a^b)&(a^s) >= 0 {
				return th.BoxInt(s), nil
			}
		case OpLt:
			return value.Bool(a < b), nil
		case OpLe:
			return value.Bool(a <= b), nil
		case OpGt:
			return value.Bool(a > b), nil
		case OpGe:
			return value.Bool(a >= b), nil
		case OpEq, OpNumEq:
			return value.Bool(a == b), nil
		}
	}
	if v, err, done := n.intOp(th, x, n.c); done {
		return v, err
	}
	return n.fallback(th, x, n.c)
}

// bound reports whether the global still holds the builtin the node was
// compiled for.
func (n *binOpNode) bound() bool {
	cur, ok := n.g.value.(*Builtin)
	return ok && cur == n.orig
}

// isComparison reports whether op yields a boolean.
func isComparison(op Op) bool {
	switch op {
	case OpLt, OpLe, OpGt, OpGe, OpEq, OpNumEq:
		return true
	}
	return false
}

// ifCmpNode is (if (op x k) then else) with an integer constant k and a
// comparison op: the test neither boxes a boolean nor dispatches twice.
type ifCmpNode struct {
	cmp       *binOpConstNode
	then, els node
}

func (n *ifCmpNode) eval(th *Thread, env []Value) (Value, error) {
	c := n.cmp
	var x Value
	if c.xslot >= 0 {
		x = env[c.xslot]
	} else {
		var err error
		if x, err = c.x.eval(th, env); err != nil {
			return nil, err
		}
	}
	if a, ok := x.(value.Int); ok && c.bound() {
		var t bool
		switch c.op {
		case OpLt:
			t = a < c.c
		case OpLe:
			t = a <= c.c
		case OpGt:
			t = a > c.c
		case OpGe:
			t = a >= c.c
		default:
			t = a == c.c
		}
		if t {
			return n.then.eval(th, env)
		}
		return n.els.eval(th, env)
	}
	v, err := c.fallback(th, x, c.c)
	if err != nil {
		return nil, err
	}
	if value.Truthy(v) {
		return n.then.eval(th, env)
	}
	return n.els.eval(th, env)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ccos-go/ccos/ccos/localhost"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

// limitFlags are the evaluation limits shared by eval and repl.
type limitFlags struct {
	timeout  time.Duration
	maxSteps uint64
	maxDepth int
}

func (l *limitFlags) register(fs interface {
	DurationVar(*time.Duration, string, time.Duration, string)
	Uint64Var(*uint64, string, uint64, string)
	IntVar(*int, string, int, string)
}) {
	fs.DurationVar(&l.timeout, "timeout", 10*time.Second, "evaluation deadline (Go duration, e.g. 30s; 0 = none)")
	fs.Uint64Var(&l.maxSteps, "max-steps", eval.DefaultLimits.MaxSteps, "evaluation step budget (0 = unlimited)")
	fs.IntVar(&l.maxDepth, "max-depth", eval.DefaultLimits.MaxDepth, "maximum call depth")
}

func (l *limitFlags) limits() eval.Limits {
	return eval.Limits{MaxSteps: l.maxSteps, MaxDepth: l.maxDepth}
}

func runEval(c *cli, args []string) int {
	fs := newFlagSet(c, "eval", "(EXPR | -f FILE | -)",
		"Evaluate RTFS forms and print the value of the last one in canonical form.\n"+
			"EXPR is RTFS source; -f FILE reads a file; - reads standard input.\n"+
			"Capabilities: only the pure built-ins (ccos.echo, ccos.math.add, ccos.data.*)\n"+
			"are allowed; anything with effects fails with :security-error.\n"+
			"Exit status: 0 on success, 1 on an RTFS error, 2 on bad usage.")
	var lf limitFlags
	lf.register(fs)
	file := fs.String("f", "", "read the program from `FILE`")
	if code, done := parseFlags(c, fs, numbersAreNotFlags(args)); done {
		return code
	}
	var src []byte
	name := "<expr>"
	switch {
	case *file != "" && fs.NArg() == 0:
		b, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintf(c.stderr, "ccos eval: %v\n", err)
			return 2
		}
		src, name = b, *file
	case *file == "" && fs.NArg() == 1 && fs.Arg(0) == "-":
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			fmt.Fprintf(c.stderr, "ccos eval: reading standard input: %v\n", err)
			return 2
		}
		src, name = b, "<stdin>"
	case *file == "" && fs.NArg() >= 1:
		src = []byte(strings.Join(fs.Args(), " "))
	default:
		fs.Usage()
		return 2
	}

	ctx := context.Background()
	if lf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lf.timeout)
		defer cancel()
	}
	host := localhost.New(c.stderr)
	th := eval.NewThread(ctx, eval.NewEnv(stdlib.Universe()), host, lf.limits())
	th.SetPrint(func(s string) { fmt.Fprintln(c.stdout, s) })
	v, err := th.EvalSource(name, src)
	if err != nil {
		printError(c.stderr, err)
		return 1
	}
	fmt.Fprintln(c.stdout, value.Repr(v))
	return 0
}

// numbersAreNotFlags lets `ccos eval -0.5` mean the expression -0.5: the
// first argument that reads as a negative number ends the flags.
func numbersAreNotFlags(args []string) []string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if len(a) > 1 && a[0] == '-' && (a[1] >= '0' && a[1] <= '9' || a[1] == '.') {
			if _, err := strconv.ParseFloat(a, 64); err == nil {
				return append(append(append([]string(nil), args[:i]...), "--"), args[i:]...)
			}
		}
	}
	return args
}

// printError writes an uncaught error: the canonical error value, its
// position and RTFS stack trace, and for parse errors the source line
// with a caret.
func printError(w io.Writer, err error) {
	e := value.AsError(err)
	fmt.Fprintf(w, "error: %s\n", e.Describe())
	var se *syntax.Error
	if c, ok := e.Cause.(*syntax.Error); ok {
		se = c
	}
	if se != nil {
		fmt.Fprintln(w, se.Snippet())
	}
}

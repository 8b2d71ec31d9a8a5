// Command ccos runs RTFS plans. This file dispatches subcommands; each
// subcommand lives in its own file and does flag parsing and I/O only.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ccos-go/ccos/ccos/sandbox/process"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(c *cli, args []string) int
}

// cli carries the process's standard streams so commands are testable.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"eval", "evaluate RTFS forms and print the last value", runEval},
		{"repl", "interactive RTFS session", runRepl},
		{"intent", "create, list, show and change intents", runIntent},
		{"chain", "list, show and verify the causal chain", runChain},
		{"plan", "list and show archived plans", runPlan},
		{"run", "run a plan step by step, recorded in the causal chain", runRun},
		{"resume", "continue a paused or interrupted run", runResume},
		{"runs", "list runs and show their step trees", runRuns},
		{"caps", "list and show capabilities", runCaps},
		{"version", "print the version", runVersion},
		{"help", "show help for a command", runHelp},
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == process.WorkerArg {
		// This process is a sandbox worker started by the orchestrator.
		os.Exit(process.RunWorker())
	}
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(c.main(os.Args[1:]))
}

func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		c.usage(c.stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd.run(c, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "ccos: unknown command %q\n\n", name)
	c.usage(c.stderr)
	return 2
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "ccos runs RTFS plans safely, auditably and resumably.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: ccos COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'ccos help COMMAND' or 'ccos COMMAND -h' for details.")
}

func runVersion(c *cli, args []string) int {
	fs := newFlagSet(c, "version", "", "Print the ccos version.")
	if code, done := parseFlags(c, fs, args); done {
		return code
	}
	fmt.Fprintf(c.stdout, "ccos %s\n", version)
	return 0
}

func runHelp(c *cli, args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return 0
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] {
			return cmd.run(c, []string{"-h"})
		}
	}
	fmt.Fprintf(c.stderr, "ccos help: unknown command %q\n", args[0])
	return 2
}

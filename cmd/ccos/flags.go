package main

import (
	"errors"
	"flag"
	"fmt"
)

// newFlagSet returns a flag set whose -h output describes the command.
func newFlagSet(c *cli, name, argsUsage, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: ccos %s [flags] %s\n\n%s\n", name, argsUsage, description)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; done reports that the command should exit with
// code (after -h, or on a usage error).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(fsStdout(fs))
			return 0, true
		}
		return 2, true
	}
	return 0, false
}

// fsStdout is a hook kept for symmetry; help goes to the flag set's output.
func fsStdout(fs *flag.FlagSet) interface{ Write([]byte) (int, error) } { return fs.Output() }

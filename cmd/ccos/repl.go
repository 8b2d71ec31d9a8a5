package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/ccos-go/ccos/ccos/localhost"
	"github.com/ccos-go/ccos/rtfs/eval"
	"github.com/ccos-go/ccos/rtfs/stdlib"
	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/value"
)

const replHelp = `Enter RTFS forms; the value of each input is printed.
An input may span several lines: it is evaluated once its brackets balance.
Definitions (def, defn) persist for the session. Errors do not end it.

Commands:
  :help        this text
  :quit        leave (also :q, :exit, or Ctrl-D on an empty line)
  :env         list the names you have defined
  :reset       forget your definitions

Keys (on a terminal): arrows and Ctrl-A/E/K/U/W edit the line, up/down walk
the history, Tab completes names, Ctrl-C discards the current input.`

func runRepl(c *cli, args []string) int {
	fs := newFlagSet(c, "repl", "", "Start an interactive RTFS session.\n"+
		"Each input is evaluated under the limits below; the session keeps its definitions.")
	var lf limitFlags
	lf.register(fs)
	histFile := fs.String("history", defaultHistoryFile(), "history `file` (empty: keep history in memory only)")
	if code, done := parseFlags(c, fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	s := newReplSession(lf.limits(), lf)
	if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if out, ok := c.stdout.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
			return s.runTerminal(f, out, *histFile)
		}
	}
	// A REPL's output is a transcript: errors go to the same stream as
	// values, in order.
	return s.runLines(c.stdin, c.stdout, c.stdout)
}

// defaultHistoryFile is $CCOS_HOME/repl_history, else ~/.ccos/repl_history.
func defaultHistoryFile() string {
	if h := os.Getenv("CCOS_HOME"); h != "" {
		return filepath.Join(h, "repl_history")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".ccos", "repl_history")
	}
	return ""
}

// replSession holds the state of one REPL: its environment and the input
// collected so far.
type replSession struct {
	limits  eval.Limits
	lf      limitFlags
	env     *eval.Env
	host    *localhost.Host
	pending strings.Builder
	out     io.Writer // values and program output
	errOut  io.Writer // errors
	inputNo int
}

func newReplSession(limits eval.Limits, lf limitFlags) *replSession {
	s := &replSession{limits: limits, lf: lf}
	s.reset()
	return s
}

func (s *replSession) reset() {
	s.env = eval.NewEnv(stdlib.Universe())
	s.host = nil
}

func (s *replSession) prompt() string {
	if s.pending.Len() > 0 {
		return "   .. "
	}
	return "rtfs> "
}

// feed takes one line of input and reports whether the session should end.
func (s *replSession) feed(line string) (quit bool) {
	if s.pending.Len() == 0 {
		switch strings.TrimSpace(line) {
		case "":
			return false
		case ":quit", ":q", ":exit":
			return true
		case ":help", ":h", "?":
			fmt.Fprintln(s.out, replHelp)
			return false
		case ":env":
			for _, n := range s.userNames() {
				fmt.Fprintln(s.out, n)
			}
			return false
		case ":reset":
			s.reset()
			fmt.Fprintln(s.out, "definitions cleared")
			return false
		}
	}
	s.pending.WriteString(line)
	s.pending.WriteByte('\n')
	src := s.pending.String()
	s.inputNo++
	forms, err := syntax.Parse(fmt.Sprintf("<repl:%d>", s.inputNo), []byte(src))
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) && se.Incomplete {
			s.inputNo--
			return false // wait for more lines
		}
		s.pending.Reset()
		printError(s.errOut, eval.ParseError(err))
		return false
	}
	s.pending.Reset()
	s.evalForms(forms)
	return false
}

func (s *replSession) evalForms(forms []syntax.Node) {
	if len(forms) == 0 {
		return
	}
	ctx := context.Background()
	if s.lf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.lf.timeout)
		defer cancel()
	}
	if s.host == nil {
		s.host = localhost.New(s.out)
	}
	th := eval.NewThread(ctx, s.env, s.host, s.limits)
	th.SetPrint(func(line string) { fmt.Fprintln(s.out, line) })
	var v value.Value
	for _, f := range forms {
		var err error
		if v, err = th.EvalForm(f); err != nil {
			printError(s.errOut, err)
			return
		}
	}
	fmt.Fprintln(s.out, value.Repr(v))
}

// userNames lists the globals defined in the session (not builtins).
func (s *replSession) userNames() []string {
	builtins := stdlib.Universe()
	var out []string
	for _, n := range s.env.Names() {
		if _, ok := builtins[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// runLines reads plain lines (standard input is not a terminal).
func (s *replSession) runLines(in io.Reader, out, errOut io.Writer) int {
	s.out, s.errOut = out, errOut
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if s.feed(sc.Text()) {
			return 0
		}
	}
	if s.pending.Len() > 0 {
		fmt.Fprintln(errOut, "error: input ended inside an unfinished form")
		return 1
	}
	return 0
}

// runTerminal runs with line editing and history on a terminal.
func (s *replSession) runTerminal(in, out *os.File, histFile string) int {
	old, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return s.runLines(in, out, out)
	}
	defer term.Restore(int(in.Fd()), old)
	keys := &keyFilter{r: in}
	rw := struct {
		io.Reader
		io.Writer
	}{keys, out}
	t := term.NewTerminal(rw, "rtfs> ")
	hist := loadHistory(histFile)
	t.History = hist
	if w, h, err := term.GetSize(int(out.Fd())); err == nil {
		t.SetSize(w, h)
	}
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key == '\t' {
			return s.complete(line, pos)
		}
		return "", 0, false
	}
	s.out, s.errOut = t, t
	fmt.Fprintln(t, "ccos RTFS REPL — :help for help, :quit to leave")
	for {
		t.SetPrompt(s.prompt())
		line, err := t.ReadLine()
		if err != nil {
			break
		}
		switch keys.take() {
		case ctrlC:
			// The filter erased the line; drop any unfinished form too.
			s.pending.Reset()
			fmt.Fprintln(t, "^C")
			continue
		case ctrlD:
			if line == "" && s.pending.Len() == 0 {
				return 0
			}
			s.pending.Reset()
			fmt.Fprintln(t, "(input discarded)")
			continue
		}
		if strings.TrimSpace(line) != "" {
			hist.save(line)
		}
		if s.feed(line) {
			break
		}
	}
	return 0
}

// Control keys the REPL handles itself.
const (
	ctrlC = 3
	ctrlD = 4
)

// keyFilter sits between the terminal and x/term's line editor. x/term
// reports both Ctrl-C and Ctrl-D as end of input (and leaves the key
// unread, so every later read fails too); the filter instead records the
// key and turns it into an ordinary line ending, so the REPL can discard
// the current input and carry on: Ctrl-C becomes Ctrl-E Ctrl-U Enter
// (erase the line, submit it empty), Ctrl-D becomes Enter.
type keyFilter struct {
	r       io.Reader
	pending []byte
	last    byte
}

func (k *keyFilter) Read(p []byte) (int, error) {
	if len(k.pending) == 0 {
		buf := make([]byte, len(p))
		n, err := k.r.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case ctrlC:
				k.last = ctrlC
				k.pending = append(k.pending, 5, 21, '\r')
			case ctrlD:
				k.last = ctrlD
				k.pending = append(k.pending, '\r')
			default:
				k.pending = append(k.pending, b)
			}
		}
		if len(k.pending) == 0 {
			return 0, err
		}
	}
	n := copy(p, k.pending)
	k.pending = k.pending[n:]
	return n, nil
}

// take returns the control key that ended the last line, if any.
func (k *keyFilter) take() byte {
	b := k.last
	k.last = 0
	return b
}

// complete completes the symbol before the cursor with a global name.
func (s *replSession) complete(line string, pos int) (string, int, bool) {
	start := pos
	for start > 0 && !strings.ContainsRune(" \t()[]{}'@\"", rune(line[start-1])) {
		start--
	}
	prefix := line[start:pos]
	if prefix == "" {
		return "", 0, false
	}
	var matches []string
	for _, n := range s.env.Names() {
		if strings.HasPrefix(n, prefix) {
			matches = append(matches, n)
		}
	}
	if len(matches) == 0 {
		return "", 0, false
	}
	common := matches[0]
	for _, m := range matches[1:] {
		for !strings.HasPrefix(m, common) {
			common = common[:len(common)-1]
		}
	}
	if common == prefix {
		return "", 0, false
	}
	return line[:start] + common + line[pos:], start + len(common), true
}

// fileHistory is an in-memory history that also appends to a file.
type fileHistory struct {
	path  string
	lines []string
}

const maxHistory = 1000

func loadHistory(path string) *fileHistory {
	h := &fileHistory{path: path}
	if path == "" {
		return h
	}
	if data, err := os.ReadFile(path); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				h.lines = append(h.lines, l)
			}
		}
		if len(h.lines) > maxHistory {
			h.lines = h.lines[len(h.lines)-maxHistory:]
		}
	}
	return h
}

// Add implements term.History (newest entries are At(0)). Blank lines are
// not history, here as in the file.
func (h *fileHistory) Add(entry string) {
	if strings.TrimSpace(entry) == "" {
		return
	}
	h.lines = append(h.lines, entry)
	if len(h.lines) > maxHistory {
		h.lines = h.lines[1:]
	}
}

// Len implements term.History.
func (h *fileHistory) Len() int { return len(h.lines) }

// At implements term.History.
func (h *fileHistory) At(idx int) string { return h.lines[len(h.lines)-1-idx] }

// save appends a line to the history file, best effort.
func (h *fileHistory) save(line string) {
	if h.path == "" || strings.ContainsRune(line, '\n') {
		return
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(h.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

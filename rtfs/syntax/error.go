package syntax

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Error is a parse error.
type Error struct {
	Pos Pos
	// Msg is a short description saying what was expected.
	Msg string
	// Line is the full source line containing Pos, without the newline.
	Line string
	// Incomplete is true when the only problem is that the input ended too
	// early (an unterminated collection, string or block comment, or a
	// dangling prefix such as ' at the end). A REPL uses it to ask for more
	// input instead of reporting the error.
	Incomplete bool
}

// Error returns "file:line:col: msg".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Snippet returns the source line and, below it, a caret under the error
// column. Tabs before the column are copied into the caret line so the
// caret lines up however wide the terminal renders a tab.
func (e *Error) Snippet() string {
	var b strings.Builder
	b.WriteString(e.Line)
	b.WriteByte('\n')
	col := 1
	for i := 0; i < len(e.Line) && col < e.Pos.Col; {
		r, size := utf8.DecodeRuneInString(e.Line[i:])
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		i += size
		col++
	}
	for ; col < e.Pos.Col; col++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	return b.String()
}

// lineAt returns the line of src containing the byte offset off, without
// its line terminator.
func lineAt(src []byte, off int) string {
	if off < 0 {
		off = 0
	}
	if off > len(src) {
		off = len(src)
	}
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	end := len(src)
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		end = off + i
	}
	line := src[start:end]
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line)
}

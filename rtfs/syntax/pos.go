package syntax

import "strconv"

// Pos is a source position. Line and Col are 1-based; Col counts runes, not
// bytes, so that a caret printed under a source line lines up with what an
// editor shows. Offset is the 0-based byte offset into the source.
type Pos struct {
	File   string
	Line   int
	Col    int
	Offset int
}

// String returns "file:line:col", or "line:col" when File is empty.
// An invalid position prints as "-" (or "file:-") so it is never mistaken
// for a real location.
func (p Pos) String() string {
	var s string
	if p.IsValid() {
		s = strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	} else {
		s = "-"
	}
	if p.File != "" {
		s = p.File + ":" + s
	}
	return s
}

// IsValid reports whether the position refers to a place in a source.
// The zero Pos is invalid; synthesized nodes may carry it.
func (p Pos) IsValid() bool { return p.Line > 0 }

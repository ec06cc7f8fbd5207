package parse

import (
	"fmt"
	"sort"
	"strings"
)

// source is the user's script with an index of its line starts.
type source struct {
	file  string
	text  string
	lines []int // byte offset where each line starts
}

func newSource(file, text string) *source {
	s := &source{file: file, text: text, lines: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// pos returns the position of byte offset off (clamped to the text).
func (s *source) pos(off int) Pos {
	off = max(0, min(off, len(s.text)))
	line := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	return Pos{Offset: off, Line: line + 1, Col: off - s.lines[line] + 1}
}

// errorf returns an *Error at byte offset off.
func (s *source) errorf(off int, format string, args ...any) *Error {
	return &Error{File: s.file, Pos: s.pos(off), Msg: fmt.Sprintf(format, args...)}
}

// segment is a run of the rewritten text: either copied verbatim from the
// script (offsets map one to one) or written by the rewrite (every offset in
// it maps to anchor).
type segment struct {
	rew      int  // first byte in the rewritten text
	orig     int  // script offset of the first byte (verbatim) or the anchor
	verbatim bool // copied from the script
}

// rewriter builds a rewritten text and its position map.
type rewriter struct {
	clean string // the script with comments blanked
	buf   strings.Builder
	segs  []segment
}

// copy appends clean[from:to] verbatim.
func (w *rewriter) copy(from, to int) {
	if to <= from {
		return
	}
	w.segs = append(w.segs, segment{rew: w.buf.Len(), orig: from, verbatim: true})
	w.buf.WriteString(w.clean[from:to])
}

// write appends synthetic text whose every byte maps to the script offset
// anchor. It returns the offset of text in the rewritten text.
func (w *rewriter) write(text string, anchor int) int {
	at := w.buf.Len()
	if text == "" {
		return at
	}
	w.segs = append(w.segs, segment{rew: at, orig: anchor})
	w.buf.WriteString(text)
	return at
}

// posMap maps offsets of a rewritten text back to the script.
type posMap struct {
	segs []segment
	n    int // length of the rewritten text
	end  int // script offset that the end of the rewritten text maps to
}

// orig maps a byte offset of the rewritten text to a script offset.
func (m *posMap) orig(off int) int {
	if off >= m.n || len(m.segs) == 0 {
		return m.end
	}
	off = max(off, 0)
	i := sort.Search(len(m.segs), func(i int) bool { return m.segs[i].rew > off }) - 1
	if i < 0 {
		i = 0
	}
	s := m.segs[i]
	if s.verbatim {
		return s.orig + off - s.rew
	}
	return s.orig
}

// rewOffset returns the offset in the text written so far that the script
// offset orig was copied to (or that synthetic text anchored at orig
// starts at).
func (w *rewriter) rewOffset(orig int) (int, bool) {
	for k, s := range w.segs {
		end := w.buf.Len()
		if k+1 < len(w.segs) {
			end = w.segs[k+1].rew
		}
		if s.verbatim && orig >= s.orig && orig < s.orig+end-s.rew {
			return s.rew + orig - s.orig, true
		}
		if !s.verbatim && orig == s.orig {
			return s.rew, true
		}
	}
	return 0, false
}

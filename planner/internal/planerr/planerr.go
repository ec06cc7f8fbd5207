package planerr

import (
	"fmt"

	"github.com/eddy-streaming/eddy/planner/logical"
)

// Error is a planning error about the SQL construct at Pos, in the script
// File (empty until the planner's entry point names it).
type Error struct {
	File string
	Pos  logical.Pos
	Msg  string
}

// Error renders "FILE:LINE:COL: message", without "FILE:" when File is empty.
func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// At returns an *Error at pos with a formatted message.
func At(pos logical.Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

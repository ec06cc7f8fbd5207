package parse

import (
	"errors"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// NOTE: this file pins the API the analyzer builds against. The bodies are
// placeholders to be replaced by the real implementation.

// stmtText is the text of one statement and its position map.
type stmtText struct{}

// Parse splits a script into statements and parses each. The first error is
// returned as an *Error positioned in text.
func Parse(file, text string) (*Script, error) {
	return nil, errors.New("parse: not implemented yet")
}

// Start returns where the query begins in the user's text.
func (q *Query) Start() Pos { return Pos{} }

// PosOfOffset maps a byte offset in the rewritten text that TiDB saw (for
// example ast.SelectField.Offset) back to the user's text.
func (q *Query) PosOfOffset(off int) Pos { return Pos{} }

// Find returns the position of the first token of the query, at or after
// from (use Pos{} for the start), that is the identifier or keyword name
// (case-insensitive; quoted identifiers match their unquoted name). It is how
// the analyzer positions errors about nodes TiDB does not position.
func (q *Query) Find(name string, from Pos) (Pos, bool) { return Pos{}, false }

// CastType returns the Flink target type of a CAST that the rewrite marked,
// or false if c is not a marked cast.
func (q *Query) CastType(c *ast.FuncCastExpr) (CastTarget, bool) { return CastTarget{}, false }

// Errorf returns an *Error at p in the script file of q.
func (q *Query) Errorf(p Pos, format string, args ...any) *Error { return &Error{} }

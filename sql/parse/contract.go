package parse

import (
	"fmt"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Pos is a position in the user's original script text.
type Pos struct {
	Offset int // byte offset, 0-based
	Line   int // 1-based
	Col    int // 1-based, in bytes
}

// String renders "LINE:COL".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is an error in a SQL script, positioned in the user's own text.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

// Error renders "FILE:LINE:COL: message" (no "FILE:" when File is empty).
func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Script is a parsed SQL script: statements separated by ';'.
type Script struct {
	File  string
	Text  string
	Stmts []Stmt
}

// Stmt is one statement: *CreateTable, *CreateView, *Insert, *Select, *Set
// or *Explain.
type Stmt interface {
	// Start is where the statement begins in the script.
	Start() Pos
	// Source is the statement's original text.
	Source() string
}

// CreateTable is CREATE TABLE name (columns, WATERMARK FOR ...)
// [PARTITIONED BY (...)] WITH (...).
type CreateTable struct {
	At          Pos
	Text        string
	Name        string
	NamePos     Pos
	IfNotExists bool
	Columns     []Column
	// Watermark is the WATERMARK FOR clause, or nil.
	Watermark *Watermark
	// Options are the WITH ('k' = 'v', ...) pairs in written order (keys as written).
	Options []Option
	// PrimaryKey holds the columns of PRIMARY KEY (...) NOT ENFORCED (or of
	// an inline col TYPE PRIMARY KEY NOT ENFORCED), or nil.
	PrimaryKey []Ident
	// PartitionKeys holds the columns of PARTITIONED BY (...), or nil. Only
	// the filesystem connector uses them; other connectors ignore them.
	PartitionKeys []Ident
	// Comment is the table's COMMENT '...', or "".
	Comment string
}

// Column is a column of a CREATE TABLE: a physical column (name TYPE) or a
// computed one (name AS expr).
type Column struct {
	Name string
	// Type is the declared type of a physical column; zero for a computed
	// column (the analyzer derives it from Expr).
	Type types.Type
	At   Pos
	// TypePos is where the column's type is written (a physical column),
	// or where its expression starts (a computed column).
	TypePos Pos
	// Expr is the expression of a computed column (name AS expr), parsed
	// by TiDB, or nil for a physical column.
	Expr ast.ExprNode
	// Query holds the rewrites and positions needed to analyze Expr.
	Query *Query
}

// Computed reports whether c is a computed column (name AS expr).
func (c *Column) Computed() bool { return c.Expr != nil }

// CreateView is CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(columns)]
// [COMMENT '...'] AS query.
type CreateView struct {
	At          Pos
	Text        string
	Name        string
	NamePos     Pos
	IfNotExists bool
	Temporary   bool
	// Columns renames the query's columns, or is nil.
	Columns []Ident
	// Comment is the view's COMMENT '...', or "".
	Comment string
	Query   *Query
}

// Explain is EXPLAIN [PLAN FOR | detail, ...] statement: the statement is
// planned and its plan shown, not run.
type Explain struct {
	At   Pos
	Text string
	// Details are Flink's explain details as written (ESTIMATED_COST,
	// CHANGELOG_MODE, PLAN_ADVICE, JSON_EXECUTION_PLAN), upper-cased.
	Details []Ident
	// Stmt is the explained statement: an *Insert or a *Select.
	Stmt Stmt
}

// Watermark is WATERMARK FOR Column AS Expr.
type Watermark struct {
	At        Pos
	Column    string
	ColumnPos Pos
	// Expr is the watermark expression, parsed by TiDB
	// (e.g. ts - INTERVAL '5' SECOND).
	Expr    ast.ExprNode
	ExprPos Pos
	// Query holds the rewrites and positions needed to analyze Expr.
	Query *Query
}

// Option is one 'key' = 'value' of a WITH clause.
type Option struct {
	Key, Value string
	At         Pos
	// ValuePos is where the value is written.
	ValuePos Pos
}

// Insert is INSERT INTO Table SELECT ...
type Insert struct {
	At       Pos
	Text     string
	Table    string
	TablePos Pos
	// Columns is the optional column list of INSERT INTO t (a, b, ...)
	// SELECT: nil when absent.
	Columns []Ident
	Query   *Query
}

// Select is a bare query statement (SELECT ... ; runs into a print sink in
// some tools, and is what EXPLAIN shows).
type Select struct {
	At    Pos
	Text  string
	Query *Query
}

// Set is SET 'key' = 'value'.
type Set struct {
	At         Pos
	Text       string
	Key, Value string
	// KeyPos and ValuePos are where the key and the value are written.
	KeyPos, ValuePos Pos
}

// Query is a query parsed by TiDB after the Flink-only forms were rewritten
// in front of it. Everything the analyzer needs to undo the rewrites and to
// point at the user's text is here.
type Query struct {
	// Node is TiDB's AST of the rewritten query (*ast.SelectStmt or
	// *ast.SetOprStmt).
	Node ast.ResultSetNode
	// TVFs maps the placeholder table name that stands in the rewritten
	// query for each window TVF call (it appears as an *ast.TableName) to
	// the call itself.
	TVFs map[string]*WindowTVF
	// Casts holds the target types of CAST expressions, by the marker the
	// rewrite left in the TiDB AST (see CastType).
	Casts []CastTarget
	// NullsFirst records NULLS FIRST (true) / NULLS LAST (false) written
	// after an ORDER BY key (TiDB does not parse them, so the rewrite removes
	// them), keyed by the offset in the rewritten text at which that key's
	// expression starts (its ast.ExprNode.OriginTextPosition()). Keys
	// without an entry use Flink's default: ASC NULLS FIRST, DESC NULLS LAST.
	NullsFirst map[int]bool
	stmt       *stmtText
}

// TableFunc is a call of a user-defined table function in a FROM clause:
// [LATERAL] TABLE(name(args)) [[AS] alias [(columns)]]. The rewrite turns
// it into the derived table LATERAL (SELECT __eddy_tfn_N(args)) AS
// alias(columns), which TiDB parses; Query.TableFunc recognizes the call in
// it (its FnName is the placeholder: use Name).
type TableFunc struct {
	// At is the TABLE keyword.
	At Pos
	// Name is the function's name as written, at NamePos.
	Name    string
	NamePos Pos
	// Alias reports whether the user named the call (AS T); when not, the
	// rewrite named it with a reserved placeholder that Query.IsPlaceholder
	// recognizes.
	Alias bool
}

// SystemTime is FOR SYSTEM_TIME AS OF col written after a table name in a
// FROM clause: the right side of a temporal join,
// JOIN r FOR SYSTEM_TIME AS OF l.col [[AS] alias] ON ... . TiDB does not
// parse it: the rewrite writes r [AS alias] AS OF TIMESTAMP l.col, and
// Query.SystemTime recognizes the clause on the *ast.TableName (an AS OF
// TIMESTAMP the user wrote stays an error).
type SystemTime struct {
	// At is the FOR keyword.
	At Pos
	// Column is the column written after AS OF, positioned (its
	// OriginTextPosition maps through Query.PosOfOffset).
	Column *ast.ColumnNameExpr
}

// Hint is one query hint of a SELECT, written right after the SELECT
// keyword in Flink's syntax: SELECT /*+ NAME(key = 'value', ...) [, ...] */.
// Only STATE_TTL is known; the parser rejects other names.
type Hint struct {
	// Name is the hint's name, upper-cased, written at At.
	Name string
	At   Pos
	// Options are the key = 'value' pairs in written order.
	Options []HintOption
}

// HintOption is one key = 'value' of a hint. A key is a 'string' or a
// simple identifier, as in Flink.
type HintOption struct {
	Key      string
	At       Pos
	Value    string
	ValuePos Pos
}

// WindowTVF is TABLE(KIND(TABLE t, DESCRIPTOR(col), args...)).
type WindowTVF struct {
	At       Pos
	Kind     string // "TUMBLE", "HOP", "CUMULATE" or "SESSION"
	Table    string
	TablePos Pos
	// PartitionBy holds SESSION's PARTITION BY columns.
	PartitionBy []Ident
	TimeCol     Ident
	// Args are the INTERVAL arguments in parameter order (named arguments
	// are put in this order too): TUMBLE: size [, offset]; HOP: slide, size
	// [, offset]; CUMULATE: step, max size [, offset]; SESSION: gap. Their
	// values are not checked here (the analyzer checks signs and ratios).
	Args []Interval
}

// Ident is a positioned identifier.
type Ident struct {
	Name string
	At   Pos
}

// Interval is INTERVAL 'n' UNIT, converted to milliseconds.
type Interval struct {
	Ms int64
	At Pos
}

// CastTarget is the Flink type of one CAST.
type CastTarget struct {
	Type types.Type
	At   Pos
	// Try marks TRY_CAST (NULL instead of an error when a value does not
	// convert).
	Try bool
}

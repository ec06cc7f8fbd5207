package expr

import "github.com/eddy-streaming/eddy/engine/types"

// Kind tells which fields of an Expr are set.
type Kind string

// The kinds of expression node.
const (
	// KindColumn reads input column Column.
	KindColumn Kind = "column"
	// KindLiteral is the constant Literal.
	KindLiteral Kind = "literal"
	// KindCall applies Func to Args.
	KindCall Kind = "call"
)

// Function names for KindCall. Argument and result types are settled by the
// planner; the evaluator trusts them (Type on each node) and implements the
// SQL semantics of each function for those types.
const (
	FuncAdd = "add" // a + b; also TIMESTAMP + INTERVAL
	FuncSub = "sub" // a - b; also TIMESTAMP - INTERVAL
	FuncMul = "mul" // a * b
	FuncDiv = "div" // a / b; integer division for INT/BIGINT; error on integer or decimal division by zero
	FuncMod = "mod" // MOD(a, b), sign of a; error on division by zero
	FuncNeg = "neg" // -a

	FuncEq = "eq" // a = b
	FuncNe = "ne" // a <> b
	FuncLt = "lt" // a < b
	FuncLe = "le" // a <= b
	FuncGt = "gt" // a > b
	FuncGe = "ge" // a >= b

	FuncAnd = "and" // a AND b (three-valued: FALSE AND NULL = FALSE)
	FuncOr  = "or"  // a OR b (three-valued: TRUE OR NULL = TRUE)
	FuncNot = "not" // NOT a

	FuncIsNull    = "is_null"     // a IS NULL, never NULL
	FuncIsNotNull = "is_not_null" // a IS NOT NULL, never NULL

	// FuncCast converts Args[0] to the node's Type.
	FuncCast = "cast"
	// FuncTryCast is FuncCast that gives NULL instead of failing on an input
	// it cannot convert (TRY_CAST).
	FuncTryCast = "try_cast"
	// FuncCase is a searched CASE: Args are cond1, val1, cond2, val2, ...,
	// and an optional final ELSE value (odd length). No ELSE means NULL.
	FuncCase = "case"
	// FuncTumbleStart is the start of the TUMBLE window holding a
	// TIMESTAMP: tumble_start(ts, size, offset), where size (positive) and
	// offset are constant INTERVALs, is ts - ((ts - offset) mod size) with
	// the modulus in [0, size), so negative times fall into the window below
	// them; windows start at offset + k*size. A NULL ts gives NULL. A window
	// TVF's other columns follow from it: window_end = start + size and
	// window_time = window_end - 1 ms.
	FuncTumbleStart = "tumble_start"

	// FuncProcTime is PROCTIME(): the wall-clock time when the row is
	// processed (the same value for every row of a batch), TIMESTAMP_LTZ(3).
	FuncProcTime = "proctime"
	// FuncUDF calls the user-defined scalar function named by Expr.UDF,
	// looked up in the job's udf.Registry.
	FuncUDF = "udf"
)

// Expr is one node of a scalar expression tree.
type Expr struct {
	Kind Kind `json:"kind"`
	// Column is the input column index, for KindColumn.
	Column int `json:"column,omitempty"`
	// Literal is the constant, for KindLiteral.
	Literal *Literal `json:"literal,omitempty"`
	// Func and Args describe a KindCall.
	Func string  `json:"func,omitempty"`
	Args []*Expr `json:"args,omitempty"`
	// Type is the result type of this node.
	Type types.Type `json:"type"`
	// UDF names the user-defined function of a FuncUDF call.
	UDF string `json:"udf,omitempty"`
}

// Literal is a constant in canonical text form, so that it survives JSON
// exactly:
//   - BOOLEAN: "true" or "false"
//   - INT, BIGINT: decimal digits, e.g. "-42"
//   - DOUBLE: Go's strconv 'g' format
//   - DECIMAL: plain decimal text with exactly Scale fractional digits, e.g. "12.50"
//   - STRING: the string itself
//   - TIMESTAMP: milliseconds since the epoch, e.g. "1700000000000"
//   - INTERVAL: milliseconds, e.g. "5000"
type Literal struct {
	Null  bool   `json:"null,omitempty"`
	Value string `json:"value,omitempty"`
}

// Col returns a column reference.
func Col(i int, t types.Type) *Expr { return &Expr{Kind: KindColumn, Column: i, Type: t} }

// Lit returns a non-NULL literal.
func Lit(value string, t types.Type) *Expr {
	return &Expr{Kind: KindLiteral, Literal: &Literal{Value: value}, Type: t}
}

// NullLit returns a typed NULL literal.
func NullLit(t types.Type) *Expr {
	return &Expr{Kind: KindLiteral, Literal: &Literal{Null: true}, Type: t}
}

// Call returns a function application with result type t.
func Call(fn string, t types.Type, args ...*Expr) *Expr {
	return &Expr{Kind: KindCall, Func: fn, Args: args, Type: t}
}

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
	// looked up in the job's udf.Registry (see CompileWith).
	FuncUDF = "udf"
)

// Built-in scalar functions (Flink's semantics; see the kernels' doc
// comments for the details and where Eddy differs). Strict: NULL if an
// argument is NULL, unless said otherwise. Integer arguments are INT or
// BIGINT; positions and lengths count Unicode code points.
const (
	FuncLower      = "lower"       // LOWER(s)
	FuncUpper      = "upper"       // UPPER(s)
	FuncInitCap    = "initcap"     // INITCAP(s)
	FuncConcat     = "concat"      // CONCAT(s, ...) and s1 || s2
	FuncConcatWs   = "concat_ws"   // CONCAT_WS(sep, s, ...): NULL only if sep is; NULL strings skipped
	FuncSubstring  = "substring"   // SUBSTRING(s, pos [, len]); a negative len gives NULL
	FuncCharLength = "char_length" // CHAR_LENGTH(s) INT
	FuncTrim       = "trim"        // trim(s, chars): TRIM(BOTH chars FROM s)
	FuncLTrim      = "ltrim"       // ltrim(s, chars): TRIM(LEADING chars FROM s), LTRIM(s) with ' '
	FuncRTrim      = "rtrim"       // rtrim(s, chars): TRIM(TRAILING chars FROM s), RTRIM(s) with ' '
	FuncReplace    = "replace"     // REPLACE(s, from, to)
	FuncPosition   = "position"    // position(needle, haystack) INT: POSITION(needle IN haystack)
	FuncLpad       = "lpad"        // LPAD(s, len, pad); NULL if len < 0 or pad = ''
	FuncRpad       = "rpad"        // RPAD(s, len, pad)
	FuncSplitIndex = "split_index" // SPLIT_INDEX(s, sep, index); NULL when out of range
	// FuncLike is like(s, pattern [, escape]) BOOLEAN: s LIKE pattern
	// ESCAPE escape, with escape a constant of one character or '' for
	// none (NOT LIKE is NOT around it).
	FuncLike          = "like"
	FuncRegexp        = "regexp"         // REGEXP(s, pattern) BOOLEAN (RE2 syntax)
	FuncRegexpExtract = "regexp_extract" // REGEXP_EXTRACT(s, pattern [, group]); NULL when nothing matches

	// FuncExtract is extract(unit, ts) BIGINT with unit a constant STRING:
	// YEAR, QUARTER, MONTH, WEEK (ISO), DAY, DOY, DOW (1 = Sunday), HOUR,
	// MINUTE, SECOND or MILLISECOND (of the minute).
	FuncExtract = "extract"
	// FuncTimestampDiff is timestampdiff(unit, t1, t2) INT: whole units
	// (SECOND, MINUTE, HOUR, DAY, WEEK; MONTH, QUARTER, YEAR by the
	// calendar) from t1 to t2, truncated toward zero.
	FuncTimestampDiff = "timestampdiff"
	// FuncFloorTo and FuncCeilTo are floor_to(ts, unit) and
	// ceil_to(ts, unit): FLOOR(ts TO unit) and CEIL(ts TO unit), unit a
	// constant STRING: YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE,
	// SECOND or MILLISECOND.
	FuncFloorTo = "floor_to"
	FuncCeilTo  = "ceil_to"
	// FuncDateFormat is DATE_FORMAT(ts, format) STRING, format a Java
	// SimpleDateFormat pattern; ts may also be a STRING.
	FuncDateFormat = "date_format"
	// FuncToTimestamp is TO_TIMESTAMP(s [, format]) TIMESTAMP(3); NULL when
	// s does not parse.
	FuncToTimestamp = "to_timestamp"
	// FuncToTimestampLtz is TO_TIMESTAMP_LTZ(n, precision) with n a BIGINT,
	// DOUBLE or DECIMAL of epoch seconds (precision 0) or milliseconds (3),
	// precision a constant.
	FuncToTimestampLtz = "to_timestamp_ltz"
	// FuncCurrentTimestamp is CURRENT_TIMESTAMP: the wall-clock time the
	// batch is evaluated at (CompileWith's Env.Now), never NULL.
	FuncCurrentTimestamp = "current_timestamp"
	// FuncUnixTimestamp is UNIX_TIMESTAMP() (now, in epoch seconds) or
	// UNIX_TIMESTAMP(s [, format]) BIGINT.
	FuncUnixTimestamp = "unix_timestamp"

	FuncAbs   = "abs"   // ABS(x), x's type
	FuncPower = "power" // POWER(DOUBLE, DOUBLE) DOUBLE
	FuncSqrt  = "sqrt"  // SQRT(DOUBLE) DOUBLE
	FuncLn    = "ln"    // LN(DOUBLE) DOUBLE
	FuncLog10 = "log10" // LOG10(DOUBLE) DOUBLE
	FuncLog2  = "log2"  // LOG2(DOUBLE) DOUBLE
	FuncLog   = "log"   // log(base, x) DOUBLE: LOG(base, x)
	FuncExp   = "exp"   // EXP(DOUBLE) DOUBLE
	// FuncRound is ROUND(x, d) with d a constant integer; see
	// RoundDecimalType for a DECIMAL x.
	FuncRound = "round"
	FuncFloor = "floor" // FLOOR(x) of a DOUBLE or DECIMAL(p, s) (DECIMAL(p, 0))
	FuncCeil  = "ceil"  // CEIL(x)
	FuncRand  = "rand"  // RAND() DOUBLE in [0, 1)
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

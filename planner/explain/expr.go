package explain

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Operator precedence, loosest first, for parenthesizing.
const (
	precOr = 1 + iota
	precAnd
	precNot
	precCmp
	precAdd
	precMul
	precNeg
	precAtom
)

var binary = map[string]struct {
	op   string
	prec int
}{
	expr.FuncOr:  {"OR", precOr},
	expr.FuncAnd: {"AND", precAnd},
	expr.FuncEq:  {"=", precCmp},
	expr.FuncNe:  {"<>", precCmp},
	expr.FuncLt:  {"<", precCmp},
	expr.FuncLe:  {"<=", precCmp},
	expr.FuncGt:  {">", precCmp},
	expr.FuncGe:  {">=", precCmp},
	expr.FuncAdd: {"+", precAdd},
	expr.FuncSub: {"-", precAdd},
	expr.FuncMul: {"*", precMul},
	expr.FuncDiv: {"/", precMul},
}

// Expr renders e as SQL, naming column i names[i].
func Expr(e *expr.Expr, names []string) string {
	var sb strings.Builder
	writeExpr(&sb, e, names, 0)
	return sb.String()
}

// Column returns the display name of column i.
func Column(names []string, i int) string {
	if i >= 0 && i < len(names) && names[i] != "" {
		return names[i]
	}
	return "$" + strconv.Itoa(i)
}

func writeExpr(sb *strings.Builder, e *expr.Expr, names []string, outer int) {
	if e == nil {
		sb.WriteString("<nil>")
		return
	}
	switch e.Kind {
	case expr.KindColumn:
		sb.WriteString(Column(names, e.Column))
		return
	case expr.KindLiteral:
		sb.WriteString(Literal(e))
		return
	}
	if b, ok := binary[e.Func]; ok && len(e.Args) == 2 {
		open := b.prec < outer
		if open {
			sb.WriteByte('(')
		}
		writeExpr(sb, e.Args[0], names, b.prec)
		sb.WriteString(" " + b.op + " ")
		// Operators are left-associative: a right operand of equal
		// precedence needs parentheses.
		writeExpr(sb, e.Args[1], names, b.prec+1)
		if open {
			sb.WriteByte(')')
		}
		return
	}
	switch {
	case e.Func == expr.FuncNot && len(e.Args) == 1:
		open := precNot < outer
		if open {
			sb.WriteByte('(')
		}
		sb.WriteString("NOT ")
		writeExpr(sb, e.Args[0], names, precNot)
		if open {
			sb.WriteByte(')')
		}
	case e.Func == expr.FuncNeg && len(e.Args) == 1:
		sb.WriteByte('-')
		writeExpr(sb, e.Args[0], names, precNeg)
	case (e.Func == expr.FuncIsNull || e.Func == expr.FuncIsNotNull) && len(e.Args) == 1:
		open := precCmp < outer
		if open {
			sb.WriteByte('(')
		}
		writeExpr(sb, e.Args[0], names, precCmp+1)
		if e.Func == expr.FuncIsNull {
			sb.WriteString(" IS NULL")
		} else {
			sb.WriteString(" IS NOT NULL")
		}
		if open {
			sb.WriteByte(')')
		}
	case (e.Func == expr.FuncCast || e.Func == "try_cast") && len(e.Args) == 1:
		sb.WriteString(strings.ToUpper(e.Func) + "(")
		writeExpr(sb, e.Args[0], names, 0)
		sb.WriteString(" AS " + TypeName(e.Type) + ")")
	case e.Func == expr.FuncTumbleStart && len(e.Args) == 3:
		// TUMBLE_START(ts, size[, offset]), the offset shown when not 0.
		sb.WriteString("TUMBLE_START(")
		writeExpr(sb, e.Args[0], names, 0)
		sb.WriteString(", ")
		writeExpr(sb, e.Args[1], names, 0)
		if off := e.Args[2]; !(off.Kind == expr.KindLiteral && off.Literal != nil && !off.Literal.Null && off.Literal.Value == "0") {
			sb.WriteString(", ")
			writeExpr(sb, off, names, 0)
		}
		sb.WriteByte(')')
	case e.Func == expr.FuncUDF:
		name := e.UDF
		if name == "" {
			name = "UDF"
		}
		sb.WriteString(name + "(")
		for i, a := range e.Args {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeExpr(sb, a, names, 0)
		}
		sb.WriteByte(')')
	case e.Func == expr.FuncCase:
		sb.WriteString("CASE")
		i := 0
		for ; i+1 < len(e.Args); i += 2 {
			sb.WriteString(" WHEN ")
			writeExpr(sb, e.Args[i], names, 0)
			sb.WriteString(" THEN ")
			writeExpr(sb, e.Args[i+1], names, 0)
		}
		if i < len(e.Args) {
			sb.WriteString(" ELSE ")
			writeExpr(sb, e.Args[i], names, 0)
		}
		sb.WriteString(" END")
	default:
		sb.WriteString(strings.ToUpper(e.Func) + "(")
		for i, a := range e.Args {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeExpr(sb, a, names, 0)
		}
		sb.WriteByte(')')
	}
}

// TypeName renders t's value type as SQL: no NOT NULL, no time attribute.
func TypeName(t types.Type) string { return t.Plain().Nullable().String() }

// Literal renders a literal as SQL.
func Literal(e *expr.Expr) string {
	if e.Literal == nil || e.Literal.Null {
		if e.Type.Kind == types.Null {
			return "NULL"
		}
		return "CAST(NULL AS " + TypeName(e.Type) + ")"
	}
	v := e.Literal.Value
	switch e.Type.Kind {
	case types.Boolean:
		return strings.ToUpper(v)
	case types.String:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case types.Timestamp:
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "TIMESTAMP '" + v + "'"
		}
		return "TIMESTAMP '" + time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000") + "'"
	case types.Interval:
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "INTERVAL '" + v + "'"
		}
		return Interval(ms)
	}
	return v
}

// Interval renders a duration in milliseconds as an SQL interval in the
// largest unit that holds it exactly, e.g. INTERVAL '5' SECOND.
func Interval(ms int64) string {
	units := []struct {
		name string
		ms   int64
	}{{"DAY", 86_400_000}, {"HOUR", 3_600_000}, {"MINUTE", 60_000}, {"SECOND", 1000}}
	if ms == 0 {
		return "INTERVAL '0' SECOND"
	}
	for _, u := range units {
		if ms != 0 && ms%u.ms == 0 {
			return fmt.Sprintf("INTERVAL '%d' %s", ms/u.ms, u.name)
		}
	}
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("INTERVAL '%s%d.%03d' SECOND", sign, ms/1000, ms%1000)
}

// Window renders a window spec, e.g. TUMBLE(ts, INTERVAL '1' MINUTE).
func Window(w jobgraph.WindowSpec, names []string) string {
	args := []string{Column(names, w.TimeColumn)}
	switch w.Kind {
	case jobgraph.Hop:
		args = append(args, Interval(w.SlideMs), Interval(w.SizeMs))
	case jobgraph.Cumulate:
		args = append(args, Interval(w.SlideMs), Interval(w.SizeMs))
	default:
		args = append(args, Interval(w.SizeMs))
	}
	if w.OffsetMs != 0 {
		args = append(args, Interval(w.OffsetMs))
	}
	s := strings.ToUpper(string(w.Kind)) + "(" + strings.Join(args, ", ") + ")"
	if len(w.PartitionBy) > 0 {
		s += " PARTITION BY " + Columns(w.PartitionBy, names)
	}
	if w.ProcTime {
		s += " on processing time"
	}
	return s
}

// Watermark renders a watermark spec as its SQL expression.
func Watermark(w *jobgraph.WatermarkSpec, names []string) string {
	col := Column(names, w.Column)
	if w.DelayMs == 0 {
		return col
	}
	return col + " - " + Interval(w.DelayMs)
}

// Agg renders an aggregate call over its input columns, e.g.
// SUM(amount) AS total_amount, COUNT(DISTINCT user_id) FILTER (WHERE $f3) AS n.
func Agg(a jobgraph.AggCall, names []string) string {
	var call string
	args := a.Args
	if len(args) == 0 && a.Arg >= 0 {
		args = []int{a.Arg}
	}
	distinct := ""
	if a.Distinct {
		distinct = "DISTINCT "
	}
	switch a.Func {
	case jobgraph.CountStar:
		call = "COUNT(" + distinct + "*)"
	case jobgraph.UDAF:
		call = a.UDF + "(" + distinct + Columns(args, names) + ")"
	default:
		call = strings.ToUpper(string(a.Func)) + "(" + distinct + Columns(args, names) + ")"
	}
	if a.Filter != nil {
		call += " FILTER (WHERE " + Column(names, *a.Filter) + ")"
	}
	return call + " AS " + a.Name
}

// Call renders a call of a user-defined function over expressions.
func Call(name string, args []*expr.Expr, names []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = Expr(a, names)
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}

// SortKey renders an ordering column; nulls placement is shown only when it
// differs from the default (NULLS FIRST ascending, NULLS LAST descending).
func SortKey(k jobgraph.SortKey, names []string) string {
	s := Column(names, k.Column)
	switch {
	case k.Desc && k.NullsFirst:
		return s + " DESC NULLS FIRST"
	case k.Desc:
		return s + " DESC"
	case !k.NullsFirst:
		return s + " ASC NULLS LAST"
	}
	return s + " ASC"
}

// Columns renders a list of column names.
func Columns(idx []int, names []string) string {
	parts := make([]string, len(idx))
	for i, c := range idx {
		parts[i] = Column(names, c)
	}
	return strings.Join(parts, ", ")
}

// Projection renders one projected column: its expression, with AS name
// unless it is that column itself.
func Projection(e *expr.Expr, name string, names []string) string {
	s := Expr(e, names)
	if e != nil && e.Kind == expr.KindColumn && strings.EqualFold(Column(names, e.Column), name) {
		return s
	}
	return s + " AS " + name
}

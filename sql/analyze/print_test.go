package analyze

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// formatScript renders a logical script compactly for golden tests: one
// line per node with its position, then its output schema; expressions
// name columns of the node's input.
func formatScript(s *logical.Script) string {
	var sb strings.Builder
	keys := make([]string, 0, len(s.Config))
	for k := range s.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "set %s = %s\n", k, s.Config[k])
	}
	for _, sink := range s.Sinks {
		formatNode(&sb, sink, 0)
	}
	for _, ex := range s.Explains {
		fmt.Fprintf(&sb, "Explain %v @%d:%d\n", ex.Details, ex.At.Line, ex.At.Col)
		for _, sink := range ex.Sinks {
			formatNode(&sb, sink, 1)
		}
	}
	return sb.String()
}

func formatNode(sb *strings.Builder, n logical.Node, depth int) {
	ind := strings.Repeat("  ", depth)
	var in types.Schema
	if ins := n.Inputs(); len(ins) == 1 {
		in = ins[0].Schema()
	}
	p := n.Position()
	at := fmt.Sprintf(" @%d:%d", p.Line, p.Col)
	switch x := n.(type) {
	case *logical.Sink:
		opts := make([]string, 0, len(x.Table.Options))
		for k, v := range x.Table.Options {
			opts = append(opts, fmt.Sprintf("%s=%s", k, v))
		}
		sort.Strings(opts)
		fmt.Fprintf(sb, "%sSink %s [%s]%s%s\n%s  table %s\n", ind, x.Table.Table, strings.Join(opts, " "), pkText(x.Table), at, ind, x.Table.Schema)
	case *logical.Scan:
		wm := ""
		if x.Watermark != nil {
			wm = fmt.Sprintf(" watermark=%s-%dms", x.Table.Schema.Fields[x.Watermark.Column].Name, x.Watermark.DelayMs)
		}
		fmt.Fprintf(sb, "%sScan %s (%s)%s%s%s\n", ind, x.Table.Table, x.Table.Connector, wm, pkText(x.Table), at)
	case *logical.Filter:
		fmt.Fprintf(sb, "%sFilter %s%s\n", ind, formatExpr(x.Cond, in), at)
	case *logical.Project:
		parts := make([]string, len(x.Exprs))
		for i, e := range x.Exprs {
			parts[i] = x.Names[i] + "=" + formatExpr(e, in)
		}
		fmt.Fprintf(sb, "%sProject %s%s\n", ind, strings.Join(parts, ", "), at)
	case *logical.WindowTVF:
		w := x.Window
		fmt.Fprintf(sb, "%sWindow %s(%s, size=%d, slide=%d, offset=%d)", ind, w.Kind, in.Fields[w.TimeColumn].Name, w.SizeMs, w.SlideMs, w.OffsetMs)
		if w.ProcTime {
			sb.WriteString(" proctime")
		}
		if len(x.PartitionBy) > 0 {
			fmt.Fprintf(sb, " partition=%s", colNames(x.PartitionBy, in))
		}
		fmt.Fprintf(sb, "%s\n", at)
	case *logical.Aggregate:
		aggs := make([]string, len(x.Aggs))
		for i, a := range x.Aggs {
			arg := "*"
			if a.Arg >= 0 {
				arg = in.Fields[a.Arg].Name
			}
			if len(a.Args) > 0 {
				arg = colNames(a.Args, in)
			}
			if a.Distinct {
				arg = "DISTINCT " + arg
			}
			fn := string(a.Func)
			if a.UDF != "" {
				fn += ":" + a.UDF
			}
			aggs[i] = fmt.Sprintf("%s=%s(%s)", a.Name, fn, arg)
			if a.Filter != nil {
				aggs[i] += " FILTER " + in.Fields[*a.Filter].Name
			}
		}
		ttl := ""
		if x.StateTTLMs != 0 {
			ttl = fmt.Sprintf(" ttl=%dms", x.StateTTLMs)
		}
		fmt.Fprintf(sb, "%sAggregate keys=%s aggs=[%s]%s%s\n", ind, colNames(x.GroupKeys, in), strings.Join(aggs, ", "), ttl, at)
	case *logical.Over:
		keys := make([]string, len(x.OrderBy))
		for i, k := range x.OrderBy {
			keys[i] = in.Fields[k.Column].Name + sortDir(k)
		}
		fmt.Fprintf(sb, "%sOver %s=%s() partition=%s order=[%s]%s\n", ind, x.Name, x.Func, colNames(x.PartitionBy, in), strings.Join(keys, ", "), at)
	case *logical.Union:
		fmt.Fprintf(sb, "%sUnion%s\n", ind, at)
	case *logical.Join:
		l := x.Left.Schema()
		both := types.Schema{Fields: append(append([]types.Field(nil), l.Fields...), x.Right.Schema().Fields...)}
		cond := "<none>"
		if x.Cond != nil {
			cond = formatExpr(x.Cond, both)
		}
		extra := ""
		if x.AsOf != nil {
			extra += " for system_time as of " + formatExpr(x.AsOf, l)
			if x.AsOf.Type.ProcTime {
				extra += " (proctime)"
			} else if x.AsOf.Type.RowTime {
				extra += " (rowtime)"
			}
		}
		if x.LeftTTLMs != 0 || x.RightTTLMs != 0 {
			extra += fmt.Sprintf(" ttl=%dms/%dms", x.LeftTTLMs, x.RightTTLMs)
		}
		fmt.Fprintf(sb, "%sJoin %s on %s%s%s\n", ind, x.Type, cond, extra, at)
	case *logical.Correlate:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			args[i] = formatExpr(a, in)
		}
		left := ""
		if x.Left {
			left = " left"
		}
		fmt.Fprintf(sb, "%sCorrelate %s(%s) columns %s%s%s\n", ind, x.Function, strings.Join(args, ", "), types.Schema{Fields: x.Columns}, left, at)
	case *logical.WatermarkAssigner:
		fmt.Fprintf(sb, "%sWatermarkAssigner %s-%dms%s\n", ind, in.Fields[x.Column].Name, x.DelayMs, at)
	default:
		fmt.Fprintf(sb, "%s%T%s\n", ind, n, at)
	}
	if _, ok := n.(*logical.Sink); !ok {
		fmt.Fprintf(sb, "%s  -> %s\n", ind, n.Schema())
	}
	for _, c := range n.Inputs() {
		formatNode(sb, c, depth+1)
	}
}

// pkText renders a table's primary key, or "" when it has none.
func pkText(t jobgraph.TableRef) string {
	if len(t.PrimaryKey) == 0 {
		return ""
	}
	return " pk=" + colNames(t.PrimaryKey, t.Schema)
}

func sortDir(k jobgraph.SortKey) string {
	s := " ASC"
	if k.Desc {
		s = " DESC"
	}
	if k.NullsFirst {
		return s + " NULLS FIRST"
	}
	return s + " NULLS LAST"
}

func colNames(idx []int, in types.Schema) string {
	names := make([]string, len(idx))
	for i, j := range idx {
		names[i] = in.Fields[j].Name
	}
	return "[" + strings.Join(names, ", ") + "]"
}

var infix = map[string]string{
	expr.FuncAdd: "+", expr.FuncSub: "-", expr.FuncMul: "*", expr.FuncDiv: "/", expr.FuncMod: "%",
	expr.FuncEq: "=", expr.FuncNe: "<>", expr.FuncLt: "<", expr.FuncLe: "<=", expr.FuncGt: ">", expr.FuncGe: ">=",
	expr.FuncAnd: "AND", expr.FuncOr: "OR",
}

// formatExpr renders e with input column names; literals and casts carry
// their types.
func formatExpr(e *expr.Expr, in types.Schema) string {
	switch e.Kind {
	case expr.KindColumn:
		if e.Column < len(in.Fields) {
			return in.Fields[e.Column].Name
		}
		return fmt.Sprintf("$%d", e.Column)
	case expr.KindLiteral:
		if e.Literal.Null {
			return "NULL:" + e.Type.String()
		}
		switch e.Type.Kind {
		case types.String:
			return "'" + e.Literal.Value + "'"
		case types.Boolean:
			return strings.ToUpper(e.Literal.Value)
		case types.Int:
			return e.Literal.Value
		}
		return e.Literal.Value + ":" + e.Type.Plain().Nullable().String()
	}
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = formatExpr(a, in)
	}
	if op, ok := infix[e.Func]; ok && len(args) == 2 {
		return "(" + args[0] + " " + op + " " + args[1] + ")"
	}
	switch e.Func {
	case expr.FuncCast, expr.FuncTryCast:
		return fmt.Sprintf("%s(%s AS %s)", strings.ToUpper(e.Func), args[0], e.Type)
	case expr.FuncCase:
		var sb strings.Builder
		sb.WriteString("CASE")
		for i := 0; i+1 < len(args); i += 2 {
			fmt.Fprintf(&sb, " WHEN %s THEN %s", args[i], args[i+1])
		}
		if len(args)%2 == 1 {
			fmt.Fprintf(&sb, " ELSE %s", args[len(args)-1])
		}
		sb.WriteString(" END")
		return sb.String()
	case expr.FuncNot:
		return "NOT " + args[0]
	case expr.FuncNeg:
		return "-" + args[0]
	case expr.FuncIsNull:
		return args[0] + " IS NULL"
	case expr.FuncIsNotNull:
		return args[0] + " IS NOT NULL"
	case expr.FuncUDF:
		return e.UDF + "(" + strings.Join(args, ", ") + ")"
	}
	return e.Func + "(" + strings.Join(args, ", ") + ")"
}

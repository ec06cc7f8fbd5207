package explain

import (
	"strconv"
	"testing"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

func TestExpr(t *testing.T) {
	bi, bo := types.BigIntType, types.BooleanType
	a, b, c := expr.Col(0, bi), expr.Col(1, bi), expr.Col(2, bi)
	names := []string{"a", "b", "c", "ts"}
	call := func(fn string, args ...*expr.Expr) *expr.Expr { return expr.Call(fn, bi, args...) }
	pred := func(fn string, args ...*expr.Expr) *expr.Expr { return expr.Call(fn, bo, args...) }
	cases := []struct {
		e    *expr.Expr
		want string
	}{
		{call(expr.FuncAdd, a, call(expr.FuncMul, b, c)), "a + b * c"},
		{call(expr.FuncMul, call(expr.FuncAdd, a, b), c), "(a + b) * c"},
		{call(expr.FuncSub, a, call(expr.FuncSub, b, c)), "a - (b - c)"},
		{call(expr.FuncSub, call(expr.FuncSub, a, b), c), "a - b - c"},
		{pred(expr.FuncAnd, pred(expr.FuncOr, pred(expr.FuncEq, a, b), pred(expr.FuncIsNull, c)), pred(expr.FuncNot, pred(expr.FuncLt, a, c))),
			"(a = b OR c IS NULL) AND NOT a < c"},
		{pred(expr.FuncNot, pred(expr.FuncAnd, pred(expr.FuncGe, a, b), pred(expr.FuncIsNotNull, c))), "NOT (a >= b AND c IS NOT NULL)"},
		{call(expr.FuncNeg, call(expr.FuncAdd, a, b)), "-(a + b)"},
		{call(expr.FuncMod, a, expr.Lit("7", bi)), "MOD(a, 7)"},
		{expr.Call(expr.FuncCast, types.DecimalType(10, 2), a), "CAST(a AS DECIMAL(10, 2))"},
		{expr.Call(expr.FuncCase, bi, pred(expr.FuncGt, a, b), a, pred(expr.FuncGt, b, c), b, c), "CASE WHEN a > b THEN a WHEN b > c THEN b ELSE c END"},
		{expr.Call(expr.FuncCase, bi, pred(expr.FuncGt, a, b), a), "CASE WHEN a > b THEN a END"},
		{expr.Lit("it's", types.StringType), "'it''s'"},
		{expr.Lit("0", types.TimestampType), "TIMESTAMP '1970-01-01 00:00:00.000'"},
		{expr.Lit("true", bo), "TRUE"},
		{expr.NullLit(types.IntType), "CAST(NULL AS INT)"},
		{expr.NullLit(types.Type{}), "NULL"},
		{expr.Col(9, bi), "$9"},
		{tumbleStart(0), "TUMBLE_START(ts, INTERVAL '1' MINUTE)"},
		{tumbleStart(-15_000), "TUMBLE_START(ts, INTERVAL '1' MINUTE, INTERVAL '-15' SECOND)"},
		{expr.Call(expr.FuncSub, types.TimestampType, expr.Call(expr.FuncAdd, types.TimestampType, tumbleStart(0), interval(60_000)), interval(1)),
			"TUMBLE_START(ts, INTERVAL '1' MINUTE) + INTERVAL '1' MINUTE - INTERVAL '0.001' SECOND"},
	}
	for _, c := range cases {
		if got := Expr(c.e, names); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func interval(ms int64) *expr.Expr { return expr.Lit(strconv.FormatInt(ms, 10), types.IntervalType) }

// tumbleStart is tumble_start(ts, 1 minute, offset) over column 3.
func tumbleStart(offset int64) *expr.Expr {
	return expr.Call(expr.FuncTumbleStart, types.TimestampType, expr.Col(3, types.TimestampType), interval(60_000), interval(offset))
}

func TestIntervalsAndWindows(t *testing.T) {
	for ms, want := range map[int64]string{
		5000: "INTERVAL '5' SECOND", 60_000: "INTERVAL '1' MINUTE", 7_200_000: "INTERVAL '2' HOUR",
		86_400_000: "INTERVAL '1' DAY", 1: "INTERVAL '0.001' SECOND", 1500: "INTERVAL '1.500' SECOND",
		-2500: "INTERVAL '-2.500' SECOND", 0: "INTERVAL '0' SECOND", -60_000: "INTERVAL '-1' MINUTE",
	} {
		if got := Interval(ms); got != want {
			t.Errorf("Interval(%d) = %q, want %q", ms, got, want)
		}
	}
	w := jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: 1, SizeMs: 60_000, OffsetMs: 15_000}
	if got := Window(w, []string{"a", "ts"}); got != "TUMBLE(ts, INTERVAL '1' MINUTE, INTERVAL '15' SECOND)" {
		t.Errorf("window %q", got)
	}
	h := jobgraph.WindowSpec{Kind: jobgraph.Hop, SizeMs: 60_000, SlideMs: 10_000}
	if got := Window(h, []string{"ts"}); got != "HOP(ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)" {
		t.Errorf("hop %q", got)
	}
	keys := []jobgraph.SortKey{{Column: 0, NullsFirst: true}, {Column: 0}, {Column: 0, Desc: true}, {Column: 0, Desc: true, NullsFirst: true}}
	want := []string{"x ASC", "x ASC NULLS LAST", "x DESC", "x DESC NULLS FIRST"}
	for i, k := range keys {
		if got := SortKey(k, []string{"x"}); got != want[i] {
			t.Errorf("sort key %+v = %q, want %q", k, got, want[i])
		}
	}
}

func TestWindowsOfEveryKind(t *testing.T) {
	names := []string{"user_id", "ts", "pt"}
	for _, c := range []struct {
		w    jobgraph.WindowSpec
		want string
	}{
		{jobgraph.WindowSpec{Kind: jobgraph.Cumulate, TimeColumn: 1, SizeMs: 3_600_000, SlideMs: 60_000, OffsetMs: -5000},
			"CUMULATE(ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR, INTERVAL '-5' SECOND)"},
		{jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: 1, SizeMs: 30_000, PartitionBy: []int{0}},
			"SESSION(ts, INTERVAL '30' SECOND) PARTITION BY user_id"},
		{jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: 2, SizeMs: 10_000, ProcTime: true},
			"TUMBLE(pt, INTERVAL '10' SECOND) on processing time"},
	} {
		if got := Window(c.w, names); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestAggsAndFunctionCalls(t *testing.T) {
	names := []string{"a", "b", "keep"}
	f := 2
	for _, c := range []struct {
		a    jobgraph.AggCall
		want string
	}{
		{jobgraph.AggCall{Func: jobgraph.CountStar, Arg: -1, Name: "n"}, "COUNT(*) AS n"},
		{jobgraph.AggCall{Func: jobgraph.Count, Arg: 1, Name: "n", Distinct: true}, "COUNT(DISTINCT b) AS n"},
		{jobgraph.AggCall{Func: jobgraph.Sum, Arg: 0, Name: "s", Filter: &f}, "SUM(a) FILTER (WHERE keep) AS s"},
		{jobgraph.AggCall{Func: jobgraph.FirstValue, Arg: 0, Name: "f"}, "FIRST_VALUE(a) AS f"},
		{jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Arg: 1, Name: "u"}, "APPROX_COUNT_DISTINCT(b) AS u"},
		{jobgraph.AggCall{Func: jobgraph.UDAF, UDF: "weighted_avg", Arg: 0, Args: []int{0, 1}, Name: "w", Distinct: true, Filter: &f},
			"weighted_avg(DISTINCT a, b) FILTER (WHERE keep) AS w"},
	} {
		if got := Agg(c.a, names); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	udf := expr.Call(expr.FuncUDF, types.IntType, expr.Col(0, types.BigIntType), expr.Lit("x", types.StringType))
	udf.UDF = "count_char"
	if got := Expr(expr.Call(expr.FuncAdd, types.IntType, udf, expr.Lit("1", types.IntType)), names); got != "count_char(a, 'x') + 1" {
		t.Errorf("udf call %q", got)
	}
	if got := Expr(expr.Call(expr.FuncProcTime, types.TimestampType), names); got != "PROCTIME()" {
		t.Errorf("proctime %q", got)
	}
}

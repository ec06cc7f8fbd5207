package plantest

import (
	"sort"
	"time"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// Case builds one named logical script.
type Case func(b *B) *logical.Script

// Cases are the hand-built scripts the golden tests refer to by name.
var Cases = map[string]Case{
	"flagship":         Flagship,
	"room_stats":       RoomStats,
	"two_inserts":      TwoInserts,
	"topn_same_keys":   TopNSameKeys,
	"window_only":      WindowOnlyKeys,
	"topn_window_only": TopNWindowOnly,
	"window_time":      WindowTime,
	"having":           Having,
	"topn_filters":     TopNFilters,
	"offset":           Offset,
	"cascade":          Cascade,
	"err_nonwindowed":  ErrNonWindowed,
	"err_rank":         ErrRank,
	"err_rownumber":    ErrRowNumber,
	"topn_tvf":         TopNOverTVF,
	"topn_tvf_agg":     TopNOverTVFThenAggregate,
	"where_window":     WhereWindow,
	"window_exprs":     WindowExprs,
	"tvf_star":         TVFStar,
	"tvf_select":       TVFSelect,
	"err_rn_zero":      ErrRankZero,
	"err_half_window":  ErrHalfWindow,
	"err_not_rowtime":  ErrNotRowtime,
	"err_topn_plain":   ErrTopNPlain,
}

// Names returns the case names, sorted.
func Names() []string {
	var out []string
	for n := range Cases {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func script(sinks ...*logical.Sink) *logical.Script { return &logical.Script{Sinks: sinks} }

// topGifts builds the flagship query over scan as the analyzer does:
// Project(Filter(Over(Project(Aggregate(TUMBLE))))), rn <= n.
func topGifts(b *B, scan logical.Node, n int) *logical.Project {
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id", "gift_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total_amount"})
	inner := b.Project(agg, "window_start", "window_end", "room_id", "gift_id", "total_amount")
	over := b.Over(inner, logical.RowNumber, []string{"window_start", "window_end", "room_id"},
		[]S{{"total_amount", true}, {"gift_id", false}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), Cast(Int(n), types.BigIntType)))
	return b.Project(f, "window_start", "window_end", "room_id", "gift_id", "total_amount", "rn")
}

// Flagship is the top-3 gifts per room per minute.
func Flagship(b *B) *logical.Script {
	out := topGifts(b, b.Scan(Gifts, GiftsWatermark()), 3)
	return script(b.Sink(out, SinkTable("top_gifts", "print", out)))
}

// roomStats is the tumbling aggregate with a WHERE clause, a CASE inside
// SUM and every aggregate function.
func roomStats(b *B, scan logical.Node) *logical.Project {
	w := b.Tumble(scan, "ts", 10*time.Second)
	f := b.Filter(w, Bool(expr.FuncAnd,
		Bool(expr.FuncNe, Arith(expr.FuncMod, Col(w, "user_id"), BigInt(7)), BigInt(3)),
		Bool(expr.FuncNot, Bool(expr.FuncEq, Col(w, "gift_id"), Int(2)))))
	big := CaseWhen(Bool(expr.FuncGe, Col(f, "amount"), BigInt(100)), Int(1), Int(0))
	p := b.Project(f, "window_start", "window_end", "room_id", "quantity", "amount", "$f5", big)
	agg := b.Aggregate(p, []string{"window_start", "window_end", "room_id"},
		A{Func: jobgraph.CountStar, Arg: "", Name: "n"}, A{Func: jobgraph.Count, Arg: "quantity", Name: "nq"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"},
		A{Func: jobgraph.Min, Arg: "amount", Name: "lo"}, A{Func: jobgraph.Max, Arg: "amount", Name: "hi"}, A{Func: jobgraph.Avg, Arg: "quantity", Name: "avg_qty"},
		A{Func: jobgraph.Sum, Arg: "$f5", Name: "big"})
	return b.Project(agg, "window_start", "window_end", "room_id", "n", "nq", "total", "lo", "hi", "avg_qty", "big")
}

// RoomStats is the tumbling aggregate of e2e's roomStatsSQL.
func RoomStats(b *B) *logical.Script {
	out := roomStats(b, b.Scan(Gifts, GiftsWatermark()))
	return script(b.Sink(out, SinkTable("room_stats", "print", out)))
}

// TwoInserts runs the flagship and the room stats over one gifts source.
func TwoInserts(b *B) *logical.Script {
	top := topGifts(b, b.Scan(Gifts, GiftsWatermark()), 3)
	s1 := b.Sink(top, SinkTable("top_gifts", "print", top))
	stats := roomStats(b, b.Scan(Gifts, GiftsWatermark()))
	s2 := b.Sink(stats, SinkTable("room_stats", "blackhole", stats))
	return script(s1, s2)
}

// TopNSameKeys aggregates per room and ranks rooms by ... per room: the
// Top-N's input is already distributed on room_id.
func TopNSameKeys(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"room_id", "window_start", "window_end"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end", "room_id"}, []S{{"total", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(1)))
	out := b.Project(f, "room_id", "window_start", "total", "n")
	return script(b.Sink(out, SinkTable("best", "print", out)))
}

// WindowOnlyKeys aggregates per window only: all rows meet in one subtask.
func WindowOnlyKeys(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"}, A{Func: jobgraph.Max, Arg: "amount", Name: "hi"})
	return script(b.Sink(agg, SinkTable("per_minute", "print", agg)))
}

// TopNWindowOnly ranks rooms per window with no other partition key.
func TopNWindowOnly(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end"}, []S{{"total", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLt, Col(over, "rn"), BigInt(6)))
	out := b.Project(f, "window_end", "room_id", "total")
	return script(b.Sink(out, SinkTable("top_rooms", "print", out)))
}

// WindowTime groups by window_time too.
func WindowTime(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "window_time", "gift_id"}, A{Func: jobgraph.Sum, Arg: "quantity", Name: "q"})
	out := b.Project(agg, "gift_id", "window_time", "q")
	return script(b.Sink(out, SinkTable("per_gift", "print", out)))
}

// Having filters aggregate results on a key and on an aggregate.
func Having(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	f := b.Filter(agg, Bool(expr.FuncAnd,
		Bool(expr.FuncGt, Col(agg, "total"), BigInt(1000)),
		Bool(expr.FuncNe, Col(agg, "room_id"), BigInt(7))))
	out := b.Project(f, "room_id", "window_end", "total", "double_total", Arith(expr.FuncMul, Col(f, "total"), BigInt(2)))
	return script(b.Sink(out, SinkTable("big_rooms", "print", out)))
}

// TopNFilters ranks with rn = 2 and another predicate, and does not
// select rn.
func TopNFilters(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id", "user_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end", "room_id"}, []S{{"total", true}, {"user_id", false}}, "rn")
	f := b.Filter(over, Bool(expr.FuncAnd,
		Bool(expr.FuncAnd,
			Bool(expr.FuncGe, BigInt(4), Col(over, "rn")),
			Bool(expr.FuncGt, Col(over, "total"), BigInt(10))),
		Bool(expr.FuncEq, Col(over, "room_id"), BigInt(3))))
	out := b.Project(f, "window_start", "user_id", "total")
	return script(b.Sink(out, SinkTable("second", "print", out)))
}

// Offset uses TUMBLE with an offset and a projection over the source.
func Offset(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Window(scan, jobgraph.Tumble, "ts", time.Hour, 0, 15*time.Minute)
	p := b.Project(w, "window_start", "window_end", "room_id", "value", Arith(expr.FuncMul, Cast(Col(w, "quantity"), types.BigIntType), Col(w, "amount")))
	agg := b.Aggregate(p, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "value", Name: "value"})
	return script(b.Sink(agg, SinkTable("hourly", "print", agg)))
}

// ErrNonWindowed groups without a window.
func ErrNonWindowed(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	agg := b.Aggregate(scan, []string{"room_id"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

func rankOver(b *B, fn logical.RankFunc, filter bool) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id", "gift_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	over := b.Over(agg, fn, []string{"window_start", "window_end", "room_id"}, []S{{"total", true}}, "rk")
	var top logical.Node = over
	if filter {
		top = b.Filter(over, Bool(expr.FuncLe, Col(over, "rk"), BigInt(3)))
	}
	return script(b.Sink(top, SinkTable("t", "print", top)))
}

// ErrRank uses RANK() in a Top-N.
func ErrRank(b *B) *logical.Script { return rankOver(b, logical.Rank, true) }

// ErrRowNumber uses ROW_NUMBER() without a Top-N filter.
func ErrRowNumber(b *B) *logical.Script { return rankOver(b, logical.RowNumber, false) }

// topSingleGifts ranks the rows of a window TVF directly: the top n single
// gifts per room and window, by amount, ties broken by every other column
// so the order is total (the engine breaks ties by arrival).
func topSingleGifts(b *B, scan logical.Node, n int64) *logical.Filter {
	w := b.Tumble(scan, "ts", time.Minute)
	over := b.Over(w, logical.RowNumber, []string{"window_start", "window_end", "room_id"},
		[]S{{"amount", true}, {"ts", false}, {"user_id", false}, {"gift_id", false}, {"quantity", false}}, "rn")
	return b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(n)))
}

// TopNOverTVF is the window Top-N over a window TVF, selecting every
// column: SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY
// window_start, window_end, room_id ORDER BY amount DESC, ...) AS rn FROM
// TABLE(TUMBLE(...))) WHERE rn <= 3.
func TopNOverTVF(b *B) *logical.Script {
	top := b.Star(topSingleGifts(b, b.Scan(Gifts, GiftsWatermark()), 3))
	return script(b.Sink(top, SinkTable("top_single_gifts", "print", top)))
}

// TopNOverTVFThenAggregate sums the top 3 single gifts of each room and
// window: a window aggregate regroups the windows the Top-N's rows carry.
func TopNOverTVFThenAggregate(b *B) *logical.Script {
	top := topSingleGifts(b, b.Scan(Gifts, GiftsWatermark()), 3)
	p := b.Project(top, "room_id", "amount", "window_start", "window_end")
	agg := b.Aggregate(p, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "top3"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	return script(b.Sink(agg, SinkTable("top3_sum", "print", agg)))
}

// WhereWindow filters on window_start before the aggregation.
func WhereWindow(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	f := b.Filter(w, Bool(expr.FuncAnd,
		Bool(expr.FuncGt, Col(w, "amount"), BigInt(5)),
		Bool(expr.FuncGt, Col(w, "window_start"), expr.Lit("1700000100000", types.TimestampType))))
	agg := b.Aggregate(f, []string{"window_start", "window_end"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// WindowExprs computes expressions over window columns before a window
// aggregate: a GROUP BY key (the window's hour) and an aggregate's
// argument.
func WindowExprs(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Window(scan, jobgraph.Tumble, "ts", 10*time.Second, 0, 3*time.Second)
	p := b.Project(w, "window_start", "window_end", "room_id",
		"late_by", Arith(expr.FuncSub, Col(w, "window_end"), Interval(2*time.Second)),
		"bucket", Bool(expr.FuncGt, Col(w, "window_time"), expr.Lit("1700000150000", types.TimestampType)))
	agg := b.Aggregate(p, []string{"window_start", "window_end", "bucket", "room_id"},
		A{Func: jobgraph.Max, Arg: "late_by", Name: "last"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// TVFStar is SELECT * FROM TABLE(TUMBLE(...)) with an offset: every row
// with its window columns.
func TVFStar(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Window(scan, jobgraph.Tumble, "ts", time.Minute, 0, -15*time.Second)
	out := b.Star(w)
	return script(b.Sink(out, SinkTable("windowed", "print", out)))
}

// TVFSelect filters and projects a window TVF's rows, on window columns
// too, without aggregating.
func TVFSelect(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", 10*time.Second)
	f := b.Filter(w, Bool(expr.FuncAnd,
		Bool(expr.FuncGt, Col(w, "amount"), BigInt(100)),
		Bool(expr.FuncGe, Col(w, "window_start"), expr.Lit("1700000100000", types.TimestampType))))
	out := b.Project(f, "room_id", "window_start",
		"next_start", Arith(expr.FuncAdd, Col(f, "window_end"), Interval(10*time.Second)),
		"window_time")
	return script(b.Sink(out, SinkTable("t", "print", out)))
}

// ErrRankZero keeps no rows: rn < 1.
func ErrRankZero(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end"}, []S{{"total", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLt, Col(over, "rn"), BigInt(1)))
	return script(b.Sink(f, SinkTable("t", "print", f)))
}

// ErrHalfWindow groups by window_start but not window_end.
func ErrHalfWindow(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "room_id"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// ErrNotRowtime windows a table without a watermark.
func ErrNotRowtime(b *B) *logical.Script {
	scan := b.Scan(Gifts, nil)
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{Func: jobgraph.CountStar, Arg: "", Name: "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// ErrTopNPlain ranks rows with no window at all.
func ErrTopNPlain(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	over := b.Over(scan, logical.RowNumber, []string{"room_id"}, []S{{"amount", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(3)))
	return script(b.Sink(f, SinkTable("t", "print", f)))
}

// Cascade aggregates per room and window, then per window over those
// results, then ranks the top-2 per window of the first aggregate's rows.
func Cascade(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	perRoom := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	perWindow := b.Aggregate(perRoom, []string{"window_end", "window_start"}, A{Func: jobgraph.Max, Arg: "total", Name: "best"}, A{Func: jobgraph.CountStar, Arg: "", Name: "rooms"})
	return script(b.Sink(perWindow, SinkTable("per_window", "print", perWindow)))
}

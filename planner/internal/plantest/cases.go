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
	"flagship":          Flagship,
	"room_stats":        RoomStats,
	"two_inserts":       TwoInserts,
	"topn_same_keys":    TopNSameKeys,
	"window_only":       WindowOnlyKeys,
	"topn_window_only":  TopNWindowOnly,
	"window_time":       WindowTime,
	"having":            Having,
	"topn_filters":      TopNFilters,
	"offset":            Offset,
	"cascade":           Cascade,
	"err_hop":           ErrHop,
	"err_nonwindowed":   ErrNonWindowed,
	"err_rank":          ErrRank,
	"err_rownumber":     ErrRowNumber,
	"err_topn_tvf":      ErrTopNOverTVF,
	"err_where_window":  ErrWhereWindow,
	"err_rn_zero":       ErrRankZero,
	"err_half_window":   ErrHalfWindow,
	"err_not_rowtime":   ErrNotRowtime,
	"err_window_select": ErrWindowSelect,
	"err_topn_plain":    ErrTopNPlain,
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
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id", "gift_id"}, A{jobgraph.Sum, "amount", "total_amount"})
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
		A{jobgraph.CountStar, "", "n"}, A{jobgraph.Count, "quantity", "nq"}, A{jobgraph.Sum, "amount", "total"},
		A{jobgraph.Min, "amount", "lo"}, A{jobgraph.Max, "amount", "hi"}, A{jobgraph.Avg, "quantity", "avg_qty"},
		A{jobgraph.Sum, "$f5", "big"})
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
	agg := b.Aggregate(w, []string{"room_id", "window_start", "window_end"}, A{jobgraph.Sum, "amount", "total"}, A{jobgraph.CountStar, "", "n"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end", "room_id"}, []S{{"total", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(1)))
	out := b.Project(f, "room_id", "window_start", "total", "n")
	return script(b.Sink(out, SinkTable("best", "print", out)))
}

// WindowOnlyKeys aggregates per window only: all rows meet in one subtask.
func WindowOnlyKeys(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{jobgraph.CountStar, "", "n"}, A{jobgraph.Max, "amount", "hi"})
	return script(b.Sink(agg, SinkTable("per_minute", "print", agg)))
}

// TopNWindowOnly ranks rooms per window with no other partition key.
func TopNWindowOnly(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{jobgraph.Sum, "amount", "total"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end"}, []S{{"total", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLt, Col(over, "rn"), BigInt(6)))
	out := b.Project(f, "window_end", "room_id", "total")
	return script(b.Sink(out, SinkTable("top_rooms", "print", out)))
}

// WindowTime groups by window_time too.
func WindowTime(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "window_time", "gift_id"}, A{jobgraph.Sum, "quantity", "q"})
	out := b.Project(agg, "gift_id", "window_time", "q")
	return script(b.Sink(out, SinkTable("per_gift", "print", out)))
}

// Having filters aggregate results on a key and on an aggregate.
func Having(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{jobgraph.Sum, "amount", "total"})
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
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id", "user_id"}, A{jobgraph.Sum, "amount", "total"})
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
	agg := b.Aggregate(p, []string{"window_start", "window_end", "room_id"}, A{jobgraph.Sum, "value", "value"})
	return script(b.Sink(agg, SinkTable("hourly", "print", agg)))
}

// ErrHop uses a HOP window.
func ErrHop(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Window(scan, jobgraph.Hop, "ts", time.Minute, 10*time.Second, 0)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{jobgraph.CountStar, "", "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// ErrNonWindowed groups without a window.
func ErrNonWindowed(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	agg := b.Aggregate(scan, []string{"room_id"}, A{jobgraph.CountStar, "", "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

func rankOver(b *B, fn logical.RankFunc, filter bool) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id", "gift_id"}, A{jobgraph.Sum, "amount", "total"})
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

// ErrTopNOverTVF ranks the rows of a window TVF directly.
func ErrTopNOverTVF(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	over := b.Over(w, logical.RowNumber, []string{"window_start", "window_end", "room_id"}, []S{{"amount", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(3)))
	out := b.Project(f, "room_id", "amount", "rn")
	return script(b.Sink(out, SinkTable("t", "print", out)))
}

// ErrWhereWindow filters on window_start before the aggregation.
func ErrWhereWindow(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	f := b.Filter(w, Bool(expr.FuncAnd,
		Bool(expr.FuncGt, Col(w, "amount"), BigInt(5)),
		Bool(expr.FuncGt, Col(w, "window_start"), expr.Lit("1700000000000", types.TimestampType))))
	agg := b.Aggregate(f, []string{"window_start", "window_end"}, A{jobgraph.CountStar, "", "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// ErrRankZero keeps no rows: rn < 1.
func ErrRankZero(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{jobgraph.Sum, "amount", "total"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end"}, []S{{"total", true}}, "rn")
	f := b.Filter(over, Bool(expr.FuncLt, Col(over, "rn"), BigInt(1)))
	return script(b.Sink(f, SinkTable("t", "print", f)))
}

// ErrHalfWindow groups by window_start but not window_end.
func ErrHalfWindow(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "room_id"}, A{jobgraph.CountStar, "", "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// ErrNotRowtime windows a table without a watermark.
func ErrNotRowtime(b *B) *logical.Script {
	scan := b.Scan(Gifts, nil)
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{jobgraph.CountStar, "", "n"})
	return script(b.Sink(agg, SinkTable("t", "print", agg)))
}

// ErrWindowSelect selects window columns of a TVF without aggregating.
func ErrWindowSelect(b *B) *logical.Script {
	scan := b.Scan(Gifts, GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	out := b.Project(w, "room_id", "window_start")
	return script(b.Sink(out, SinkTable("t", "print", out)))
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
	perRoom := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{jobgraph.Sum, "amount", "total"})
	perWindow := b.Aggregate(perRoom, []string{"window_end", "window_start"}, A{jobgraph.Max, "total", "best"}, A{jobgraph.CountStar, "", "rooms"})
	return script(b.Sink(perWindow, SinkTable("per_window", "print", perWindow)))
}

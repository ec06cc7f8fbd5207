package plantest

import (
	"fmt"
	"strings"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// The cases of issue 3: every window kind with aggregation, Top-N,
// deduplication, joins and plain TVFs; unions, DISTINCT, table functions,
// computed time attributes, processing time and projection pushdown.
func init() {
	for name, c := range map[string]Case{
		"agg_hop":              AggHop,
		"agg_hop_offset":       AggHopOffset,
		"agg_cumulate":         AggCumulate,
		"agg_session":          AggSession,
		"agg_session_global":   AggSessionGlobal,
		"agg_session_mismatch": AggSessionMismatch,
		"agg_session_subgroup": AggSessionSubgroup,
		"agg_session_where":    AggSessionWhere,
		"agg_functions":        AggFunctions,
		"distinct":             Distinct,
		"distinct_hop":         DistinctHop,
		"topn_hop":             TopNHop,
		"topn_cumulate_tvf":    TopNCumulateTVF,
		"topn_session_tvf":     TopNSessionTVF,
		"dedup_tumble":         DedupTumble,
		"dedup_hop":            DedupHop,
		"dedup_cumulate":       DedupCumulate,
		"dedup_session":        DedupSession,
		"join_tumble_tvf":      JoinTumbleTVF,
		"join_hop_aggs":        JoinHopAggs,
		"join_cumulate_tvf":    JoinCumulateTVF,
		"join_session_tvf":     JoinSessionTVF,
		"join_left_nokeys":     JoinLeftNoKeys,
		"join_semi":            JoinSemi,
		"join_full":            JoinFull,
		"tvf_hop":              TVFHop,
		"tvf_cumulate":         TVFCumulate,
		"tvf_session":          TVFSession,
		"tvf_hop_where":        TVFHopWhere,
		"union_sink":           UnionSink,
		"union_tvf":            UnionTVF,
		"union_windows":        UnionWindows,
		"correlate":            CorrelateSplit,
		"correlate_left":       CorrelateLeft,
		"wm_computed":          WatermarkComputed,
		"proctime_agg":         ProcTimeAgg,
		"proctime_tvf":         ProcTimeTVF,
		"projection":           Projection,
		"projection_shared":    ProjectionShared,
		"udf_calls":            UDFCalls,
		"err_join_regular":     ErrJoinRegular,
		"err_join_cross":       ErrJoinCross,
		"err_join_windows":     ErrJoinWindows,
		"err_join_proctime":    ErrJoinProcTime,
		"err_topn_proctime":    ErrTopNProcTime,
		"err_cascade_proctime": ErrCascadeProcTime,
		"err_hop_multiple":     ErrHopMultiple,
		"err_session_offset":   ErrSessionOffset,
	} {
		Cases[name] = c
	}
}

// Evaluable reports whether refeval can evaluate case name: processing
// time and table functions have no row-at-a-time meaning there.
func Evaluable(name string) bool {
	return !strings.HasPrefix(name, "err_") && !strings.Contains(name, "proctime") && !strings.Contains(name, "correlate") && !strings.Contains(name, "udf") &&
		// Lookup and temporal joins read tables as of a time.
		!strings.Contains(name, "lookup") && !strings.Contains(name, "temporal")
}

// Events is a table of a projectable connector (a Nexmark-like bid
// stream): the planner reads only the columns a query uses.
var Events = Table("bids", "projectable",
	F("auction", types.BigIntType),
	F("bidder", types.BigIntType),
	F("price", types.BigIntType),
	F("channel", types.StringType),
	F("url", types.StringType),
	F("ts", types.TimestampType),
	F("extra", types.StringType),
)

// roomTotals sums the gifts of each room per window of w.
func roomTotals(b *B, w logical.Node) *logical.Aggregate {
	return b.Aggregate(w, []string{"window_start", "window_end", "room_id"},
		A{Func: jobgraph.Sum, Arg: "amount", Name: "total"}, A{Func: jobgraph.CountStar, Name: "n"})
}

func gifts(b *B) *logical.Scan { return b.Scan(Gifts, GiftsWatermark()) }

func sinkAll(b *B, name string, n logical.Node) *logical.Script {
	return script(b.Sink(n, SinkTable(name, "print", n)))
}

// AggHop is a sliding window aggregate: per room, 1-minute windows every
// 10 seconds.
func AggHop(b *B) *logical.Script {
	return sinkAll(b, "hop_totals", roomTotals(b, b.Hop(gifts(b), "ts", 10*time.Second, time.Minute)))
}

// AggHopOffset is a sliding window aggregate with an offset.
func AggHopOffset(b *B) *logical.Script {
	w := b.Window(gifts(b), jobgraph.Hop, "ts", 30*time.Second, 10*time.Second, 3*time.Second)
	return sinkAll(b, "hop_totals", roomTotals(b, w))
}

// AggCumulate is a cumulating window aggregate: per room, the running
// totals of each minute, every 10 seconds.
func AggCumulate(b *B) *logical.Script {
	return sinkAll(b, "cumulate_totals", roomTotals(b, b.Cumulate(gifts(b), "ts", 10*time.Second, time.Minute)))
}

// AggSession aggregates the sessions of each room (PARTITION BY room_id,
// GROUP BY room_id): the window aggregate tracks sessions per group.
func AggSession(b *B) *logical.Script {
	return sinkAll(b, "room_sessions", roomTotals(b, b.Session(gifts(b), "ts", 20*time.Second, "room_id")))
}

// AggSessionGlobal aggregates sessions of all gifts together.
func AggSessionGlobal(b *B) *logical.Script {
	w := b.Session(gifts(b), "ts", 5*time.Second)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{Func: jobgraph.CountStar, Name: "n"}, A{Func: jobgraph.Max, Arg: "amount", Name: "hi"})
	return sinkAll(b, "sessions", agg)
}

// AggSessionMismatch groups sessions of users by room: the partition keys
// are not the group keys, so the sessions are assigned first
// (window_assign, hashed on user_id) and regrouped per room.
func AggSessionMismatch(b *B) *logical.Script {
	return sinkAll(b, "user_sessions_by_room", roomTotals(b, b.Session(gifts(b), "ts", 20*time.Second, "user_id")))
}

// AggSessionSubgroup groups each room's sessions by user: the partition
// keys are among the group keys, so the window aggregate tracks sessions
// per room (its input hashed on room_id) and groups each by user.
func AggSessionSubgroup(b *B) *logical.Script {
	w := b.Session(gifts(b), "ts", 20*time.Second, "room_id")
	agg := b.Aggregate(w, []string{"window_start", "window_end", "user_id", "room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	return sinkAll(b, "room_sessions_by_user", agg)
}

// AggSessionWhere filters a SESSION TVF's rows on a non-partition column:
// the filter applies after sessions are formed.
func AggSessionWhere(b *B) *logical.Script {
	w := b.Session(gifts(b), "ts", 20*time.Second, "room_id")
	f := b.Filter(w, Bool(expr.FuncGt, Col(w, "amount"), BigInt(250)))
	return sinkAll(b, "big_in_sessions", roomTotals(b, f))
}

// AggFunctions uses DISTINCT, FILTER, FIRST_VALUE, LAST_VALUE and
// APPROX_COUNT_DISTINCT in a tumbling window aggregate.
func AggFunctions(b *B) *logical.Script {
	w := b.Tumble(gifts(b), "ts", time.Minute)
	p := b.Project(w, "window_start", "window_end", "room_id", "user_id", "amount", "gift_id",
		"$f6", Bool(expr.FuncGt, Col(w, "amount"), BigInt(100)))
	agg := b.Aggregate(p, []string{"window_start", "window_end", "room_id"},
		A{Func: jobgraph.Count, Arg: "user_id", Name: "users", Distinct: true},
		A{Func: jobgraph.Sum, Arg: "amount", Name: "big", Filter: "$f6"},
		A{Func: jobgraph.Count, Arg: "gift_id", Name: "big_gifts", Distinct: true, Filter: "$f6"},
		A{Func: jobgraph.FirstValue, Arg: "gift_id", Name: "first_gift"},
		A{Func: jobgraph.LastValue, Arg: "gift_id", Name: "last_gift"},
		A{Func: jobgraph.ApproxCountDistinct, Arg: "user_id", Name: "approx_users"})
	return sinkAll(b, "room_stats", agg)
}

// Distinct is SELECT DISTINCT window_start, window_end, room_id FROM
// TUMBLE: an aggregate without aggregates.
func Distinct(b *B) *logical.Script {
	w := b.Tumble(gifts(b), "ts", time.Minute)
	return sinkAll(b, "active_rooms", b.Aggregate(w, []string{"window_start", "window_end", "room_id"}))
}

// DistinctHop is SELECT DISTINCT over a sliding window.
func DistinctHop(b *B) *logical.Script {
	w := b.Hop(gifts(b), "ts", 10*time.Second, 30*time.Second)
	return sinkAll(b, "active_users", b.Aggregate(w, []string{"window_start", "window_end", "user_id", "room_id"}))
}

// topRooms ranks the rooms of each window of agg by total.
func topRooms(b *B, agg logical.Node, n int64) logical.Node {
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end"}, []S{{"total", true}, {"room_id", false}}, "rn")
	return b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(n)))
}

// TopNHop ranks the rooms of each sliding window.
func TopNHop(b *B) *logical.Script {
	agg := roomTotals(b, b.Hop(gifts(b), "ts", 10*time.Second, time.Minute))
	return sinkAll(b, "top_rooms", topRooms(b, agg, 2))
}

// topSingle ranks the single gifts of each room and window of w.
func topSingle(b *B, w logical.Node, n int64) logical.Node {
	over := b.Over(w, logical.RowNumber, []string{"window_start", "window_end", "room_id"},
		[]S{{"amount", true}, {"ts", false}, {"user_id", false}, {"gift_id", false}, {"quantity", false}}, "rn")
	return b.Filter(over, Bool(expr.FuncLe, Col(over, "rn"), BigInt(n)))
}

// TopNCumulateTVF ranks single gifts directly over a CUMULATE TVF.
func TopNCumulateTVF(b *B) *logical.Script {
	return sinkAll(b, "top_gifts", topSingle(b, b.Cumulate(gifts(b), "ts", 20*time.Second, time.Minute), 2))
}

// TopNSessionTVF ranks single gifts of each room's sessions.
func TopNSessionTVF(b *B) *logical.Script {
	return sinkAll(b, "top_gifts", topSingle(b, b.Session(gifts(b), "ts", 20*time.Second, "room_id"), 1))
}

// dedup keeps the first (or, desc, the last) gift of each room and window
// of w: window deduplication.
func dedup(b *B, w logical.Node, desc bool) logical.Node {
	over := b.Over(w, logical.RowNumber, []string{"window_start", "window_end", "room_id"}, []S{{"ts", desc}}, "rn")
	f := b.Filter(over, Bool(expr.FuncEq, Col(over, "rn"), BigInt(1)))
	return b.Project(f, "window_start", "window_end", "room_id", "user_id", "amount", "ts")
}

// DedupTumble keeps each room's first gift per minute.
func DedupTumble(b *B) *logical.Script {
	return sinkAll(b, "first_gifts", dedup(b, b.Tumble(gifts(b), "ts", time.Minute), false))
}

// DedupHop keeps each room's last gift per sliding window.
func DedupHop(b *B) *logical.Script {
	return sinkAll(b, "last_gifts", dedup(b, b.Hop(gifts(b), "ts", 10*time.Second, 30*time.Second), true))
}

// DedupCumulate keeps each room's first gift per cumulating window.
func DedupCumulate(b *B) *logical.Script {
	return sinkAll(b, "first_gifts", dedup(b, b.Cumulate(gifts(b), "ts", 10*time.Second, 30*time.Second), false))
}

// DedupSession keeps each room's last gift per session.
func DedupSession(b *B) *logical.Script {
	return sinkAll(b, "last_gifts", dedup(b, b.Session(gifts(b), "ts", 15*time.Second, "room_id"), true))
}

// JoinTumbleTVF joins the big and the small gifts of each room per minute.
func JoinTumbleTVF(b *B) *logical.Script {
	l := b.Tumble(gifts(b), "ts", time.Minute)
	lf := b.Project(b.Filter(l, Bool(expr.FuncGt, Col(l, "amount"), BigInt(400))), "room_id", "user_id", "amount", "window_start", "window_end")
	r := b.Tumble(gifts(b), "ts", time.Minute)
	rf := b.Project(b.Filter(r, Bool(expr.FuncLt, Col(r, "amount"), BigInt(20))), "room_id", "gift_id", "window_start", "window_end")
	j := b.Join(lf, rf, jobgraph.InnerJoin, WindowJoinCond(lf, rf, Bool(expr.FuncEq, JCol(lf, rf, "L", "room_id"), JCol(lf, rf, "R", "room_id"))))
	return sinkAll(b, "pairs", j)
}

// JoinHopAggs is Nexmark q5's shape: each room's total per sliding window
// joined with the largest room total of the window, keeping the rooms that
// reach it (a window join on the window bounds only, with a residual).
func JoinHopAggs(b *B) *logical.Script {
	per := roomTotals(b, b.Hop(gifts(b), "ts", 10*time.Second, 30*time.Second))
	per2 := roomTotals(b, b.Hop(gifts(b), "ts", 10*time.Second, 30*time.Second))
	best := b.Aggregate(per2, []string{"window_start", "window_end"}, A{Func: jobgraph.Max, Arg: "total", Name: "maxn"})
	j := b.Join(per, best, jobgraph.InnerJoin, WindowJoinCond(per, best,
		Bool(expr.FuncGe, JCol(per, best, "L", "total"), JCol(per, best, "R", "maxn"))))
	out := b.Project(j, "room_id", "total")
	return sinkAll(b, "hot_rooms", out)
}

// JoinCumulateTVF joins two CUMULATE TVFs per user.
func JoinCumulateTVF(b *B) *logical.Script {
	l := b.Cumulate(gifts(b), "ts", 20*time.Second, time.Minute)
	r := b.Cumulate(gifts(b), "ts", 20*time.Second, time.Minute)
	rf := b.Filter(r, Bool(expr.FuncEq, Col(r, "gift_id"), Int(1)))
	j := b.Join(l, rf, jobgraph.InnerJoin, WindowJoinCond(l, rf,
		Bool(expr.FuncEq, JCol(l, rf, "L", "user_id"), JCol(l, rf, "R", "user_id")),
		Bool(expr.FuncLt, JCol(l, rf, "L", "ts"), JCol(l, rf, "R", "ts"))))
	out := b.Project(j, "window_end", "user_id", "amount")
	return sinkAll(b, "before_gift1", out)
}

// JoinSessionTVF joins the sessions of each room with themselves.
func JoinSessionTVF(b *B) *logical.Script {
	l := b.Session(gifts(b), "ts", 10*time.Second, "room_id")
	r := b.Session(gifts(b), "ts", 10*time.Second, "room_id")
	j := b.Join(l, r, jobgraph.InnerJoin, WindowJoinCond(l, r,
		Bool(expr.FuncEq, JCol(l, r, "L", "room_id"), JCol(l, r, "R", "room_id")),
		Bool(expr.FuncGt, JCol(l, r, "L", "amount"), JCol(l, r, "R", "amount"))))
	out := b.Project(j, "window_start", "room_id")
	return sinkAll(b, "session_pairs", out)
}

// JoinLeftNoKeys left-joins two windowed aggregates on the window alone.
func JoinLeftNoKeys(b *B) *logical.Script {
	l := roomTotals(b, b.Tumble(gifts(b), "ts", 20*time.Second))
	r0 := b.Tumble(gifts(b), "ts", 20*time.Second)
	r := b.Aggregate(b.Filter(r0, Bool(expr.FuncEq, Col(r0, "gift_id"), Int(2))), []string{"window_start", "window_end"}, A{Func: jobgraph.CountStar, Name: "twos"})
	j := b.Join(l, r, jobgraph.LeftJoin, WindowJoinCond(l, r))
	return sinkAll(b, "with_twos", j)
}

// JoinSemi keeps the gifts of rooms that had a big gift in the same window.
func JoinSemi(b *B) *logical.Script {
	l := b.Tumble(gifts(b), "ts", 30*time.Second)
	r := b.Tumble(gifts(b), "ts", 30*time.Second)
	rf := b.Filter(r, Bool(expr.FuncGt, Col(r, "amount"), BigInt(450)))
	j := b.Join(l, rf, jobgraph.SemiJoin, WindowJoinCond(l, rf, Bool(expr.FuncEq, JCol(l, rf, "L", "room_id"), JCol(l, rf, "R", "room_id"))))
	return sinkAll(b, "near_big", b.Project(j, "room_id", "user_id", "amount", "window_end"))
}

// JoinFull full-joins the per-room totals of two gift kinds.
func JoinFull(b *B) *logical.Script {
	side := func(gift int) logical.Node {
		w := b.Tumble(gifts(b), "ts", 20*time.Second)
		f := b.Filter(w, Bool(expr.FuncEq, Col(w, "gift_id"), Int(gift)))
		return roomTotals(b, f)
	}
	l, r := side(1), side(2)
	j := b.Join(l, r, jobgraph.FullJoin, WindowJoinCond(l, r, Bool(expr.FuncEq, JCol(l, r, "L", "room_id"), JCol(l, r, "R", "room_id"))))
	return sinkAll(b, "ones_and_twos", j)
}

// TVFHop is SELECT * FROM HOP: every row once per window.
func TVFHop(b *B) *logical.Script {
	return sinkAll(b, "hopped", b.Star(b.Hop(gifts(b), "ts", 20*time.Second, time.Minute)))
}

// TVFCumulate selects a few columns of a CUMULATE TVF.
func TVFCumulate(b *B) *logical.Script {
	w := b.Cumulate(gifts(b), "ts", 20*time.Second, time.Minute)
	return sinkAll(b, "cumulated", b.Project(w, "room_id", "amount", "window_start", "window_end"))
}

// TVFSession is SELECT * FROM SESSION partitioned by user.
func TVFSession(b *B) *logical.Script {
	return sinkAll(b, "user_sessions", b.Star(b.Session(gifts(b), "ts", 10*time.Second, "user_id")))
}

// TVFHopWhere filters a HOP TVF's rows on their window: the windows are
// assigned first.
func TVFHopWhere(b *B) *logical.Script {
	w := b.Hop(gifts(b), "ts", 20*time.Second, time.Minute)
	f := b.Filter(w, Bool(expr.FuncAnd,
		Bool(expr.FuncGe, Col(w, "window_start"), expr.Lit("1700000100000", types.TimestampType)),
		Bool(expr.FuncGt, Col(w, "amount"), BigInt(100))))
	out := b.Project(f, "room_id", "window_end", "late", Arith(expr.FuncSub, Col(f, "window_end"), Interval(time.Second)))
	return sinkAll(b, "late_windows", out)
}

// UnionSink writes the union of two filtered projections.
func UnionSink(b *B) *logical.Script {
	s1 := gifts(b)
	a := b.Project(b.Filter(s1, Bool(expr.FuncGt, Col(s1, "amount"), BigInt(400))), "room_id", "amount", "kind", Str("big"))
	s2 := gifts(b)
	c := b.Project(b.Filter(s2, Bool(expr.FuncLt, Col(s2, "amount"), BigInt(10))), "room_id", "amount", "kind", Str("small"))
	return sinkAll(b, "extremes", b.Union(a, c))
}

// UnionTVF windows the union of two streams (a view over UNION ALL): the
// time attribute survives the union.
func UnionTVF(b *B) *logical.Script {
	s1 := gifts(b)
	a := b.Project(b.Filter(s1, Bool(expr.FuncEq, Col(s1, "gift_id"), Int(1))), "room_id", "amount", "ts")
	s2 := gifts(b)
	c := b.Project(b.Filter(s2, Bool(expr.FuncEq, Col(s2, "gift_id"), Int(3))), "room_id", "amount", "ts")
	return sinkAll(b, "ones_and_threes", roomTotals(b, b.Hop(b.Union(a, c), "ts", 10*time.Second, 20*time.Second)))
}

// UnionWindows aggregates the union of two windowed streams by window.
func UnionWindows(b *B) *logical.Script {
	side := func(gift int) logical.Node {
		w := b.Hop(gifts(b), "ts", 10*time.Second, 30*time.Second)
		f := b.Filter(w, Bool(expr.FuncEq, Col(w, "gift_id"), Int(gift)))
		return b.Project(f, "room_id", "amount", "window_start", "window_end")
	}
	u := b.Union(side(1), side(2))
	return sinkAll(b, "ones_and_twos", roomTotals(b, u))
}

// splitFunc is the result of a table function that splits a number into
// parts.
var splitCols = []types.Field{F("part", types.BigIntType), F("idx", types.IntType)}

// CorrelateSplit applies a table function to every gift.
func CorrelateSplit(b *B) *logical.Script {
	s := gifts(b)
	c := b.Correlate(s, "split_amount", []*expr.Expr{Col(s, "amount"), Int(3)}, splitCols, false)
	return sinkAll(b, "parts", b.Project(c, "room_id", "part", "idx"))
}

// CorrelateLeft keeps gifts the table function returns nothing for, then
// aggregates per window.
func CorrelateLeft(b *B) *logical.Script {
	s := gifts(b)
	c := b.Correlate(s, "split_amount", []*expr.Expr{Col(s, "amount")}, splitCols, true)
	w := b.Tumble(c, "ts", time.Minute)
	return sinkAll(b, "parts", b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, A{Func: jobgraph.Sum, Arg: "part", Name: "parts"}))
}

// WatermarkComputed declares the watermark on a computed column: Scan ->
// Project (physical columns and the computed one) -> WatermarkAssigner.
func WatermarkComputed(b *B) *logical.Script {
	s := b.Scan(Gifts, nil)
	p := b.Project(s, "room_id", "user_id", "gift_id", "quantity", "amount", "ts",
		"ts2", Arith(expr.FuncAdd, Col(s, "ts"), Interval(time.Second)))
	wa := b.WatermarkAssigner(p, "ts2", 2*time.Second)
	w := b.Tumble(wa, "ts2", 10*time.Second)
	return sinkAll(b, "totals", roomTotals(b, w))
}

// procGifts is gifts with a PROCTIME() column pt.
func procGifts(b *B) logical.Node {
	s := b.Scan(Gifts, nil)
	return b.Project(s, "room_id", "user_id", "gift_id", "quantity", "amount", "ts", "pt", ProcTime())
}

// ProcTimeAgg is a processing-time tumbling window aggregate.
func ProcTimeAgg(b *B) *logical.Script {
	return sinkAll(b, "totals", roomTotals(b, b.Tumble(procGifts(b), "pt", 10*time.Second)))
}

// ProcTimeTVF assigns processing-time sliding windows to rows.
func ProcTimeTVF(b *B) *logical.Script {
	w := b.Hop(procGifts(b), "pt", 10*time.Second, 20*time.Second)
	return sinkAll(b, "hopped", b.Project(w, "room_id", "amount", "window_start", "window_end"))
}

// Projection reads three columns of a projectable source.
func Projection(b *B) *logical.Script {
	s := b.Scan(Events, &jobgraph.WatermarkSpec{Column: 5, DelayMs: 4000})
	w := b.Tumble(s, "ts", 10*time.Second)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "auction"}, A{Func: jobgraph.Max, Arg: "price", Name: "best"})
	return sinkAll(b, "best_bids", agg)
}

// ProjectionShared reads a projectable table in two INSERTs: the one
// source reads the columns either uses, and the rowtime column, which
// neither reads but the watermarks come from.
func ProjectionShared(b *B) *logical.Script {
	s1 := b.Scan(Events, &jobgraph.WatermarkSpec{Column: 5, DelayMs: 4000})
	q1 := b.Project(b.Filter(s1, Bool(expr.FuncGt, Col(s1, "price"), BigInt(500))), "auction", "price")
	s2 := b.Scan(Events, &jobgraph.WatermarkSpec{Column: 5, DelayMs: 4000})
	q2 := b.Project(s2, "bidder", "channel")
	return script(b.Sink(q1, SinkTable("expensive", "print", q1)), b.Sink(q2, SinkTable("channels", "print", q2)))
}

// UDFCalls calls a user-defined scalar function in a WHERE condition and
// a projection, and a user-defined aggregate with two arguments and a
// FILTER in a window aggregate.
func UDFCalls(b *B) *logical.Script {
	s := gifts(b)
	bt := types.BooleanType
	isBig := expr.Call(expr.FuncUDF, bt, Col(s, "amount"))
	isBig.UDF = "is_big"
	f := b.Filter(s, isBig)
	it := types.IntType
	label := expr.Call(expr.FuncUDF, it, Col(f, "gift_id"), Str("x"))
	label.UDF = "gift_rank"
	p := b.Project(f, "room_id", "amount", "ts", "rank", label, "$f4", Bool(expr.FuncGt, Col(f, "quantity"), Int(1)))
	w := b.Tumble(p, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "room_id"})
	agg.Aggs = append(agg.Aggs, jobgraph.AggCall{
		Func: jobgraph.UDAF, UDF: "weighted_avg", Name: "wavg", Type: types.DoubleType,
		Arg: Idx(w, "amount"), Args: []int{Idx(w, "amount"), Idx(w, "rank")}, Filter: ptr(Idx(w, "$f4")),
	})
	return sinkAll(b, "weighted", agg)
}

func ptr(i int) *int { return &i }

// ErrJoinRegular joins on a key without windows.
func ErrJoinRegular(b *B) *logical.Script {
	l, r := gifts(b), gifts(b)
	j := b.Join(l, r, jobgraph.InnerJoin, Bool(expr.FuncEq, JCol(l, r, "L", "room_id"), JCol(l, r, "R", "room_id")))
	return sinkAll(b, "t", j)
}

// ErrJoinCross is a cross join.
func ErrJoinCross(b *B) *logical.Script {
	l, r := gifts(b), gifts(b)
	return sinkAll(b, "t", b.Join(l, r, jobgraph.InnerJoin, nil))
}

// ErrJoinWindows joins a TUMBLE with a HOP.
func ErrJoinWindows(b *B) *logical.Script {
	l := b.Tumble(gifts(b), "ts", time.Minute)
	r := b.Hop(gifts(b), "ts", 10*time.Second, time.Minute)
	return sinkAll(b, "t", b.Join(l, r, jobgraph.InnerJoin, WindowJoinCond(l, r)))
}

// ErrJoinProcTime joins processing-time windows.
func ErrJoinProcTime(b *B) *logical.Script {
	l := b.Tumble(procGifts(b), "pt", time.Minute)
	r := b.Tumble(procGifts(b), "pt", time.Minute)
	return sinkAll(b, "t", b.Join(l, r, jobgraph.InnerJoin, WindowJoinCond(l, r)))
}

// ErrTopNProcTime ranks rows of processing-time windows.
func ErrTopNProcTime(b *B) *logical.Script {
	return sinkAll(b, "t", topRooms(b, roomTotals(b, b.Tumble(procGifts(b), "pt", time.Minute)), 3))
}

// ErrCascadeProcTime aggregates a processing-time window aggregate again.
func ErrCascadeProcTime(b *B) *logical.Script {
	per := roomTotals(b, b.Tumble(procGifts(b), "pt", time.Minute))
	agg := b.Aggregate(per, []string{"window_start", "window_end"}, A{Func: jobgraph.Max, Arg: "total", Name: "best"})
	return sinkAll(b, "t", agg)
}

// ErrHopMultiple has a HOP size that is not a multiple of its slide.
func ErrHopMultiple(b *B) *logical.Script {
	return sinkAll(b, "t", roomTotals(b, b.Hop(gifts(b), "ts", 7*time.Second, 30*time.Second)))
}

// ErrSessionOffset gives a SESSION window an offset.
func ErrSessionOffset(b *B) *logical.Script {
	w := b.Window(gifts(b), jobgraph.Session, "ts", 10*time.Second, 0, time.Second)
	return sinkAll(b, "t", roomTotals(b, w))
}

// projectable is a planning-only source connector that can read any subset
// of a table's columns.
type projectable struct{}

func (projectable) Name() string                     { return "projectable" }
func (projectable) Options() []connectors.OptionSpec { return nil }
func (projectable) CanProject(connectors.TableInfo) bool {
	return true
}
func (projectable) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return nil, fmt.Errorf("projectable: planning-only connector")
}

// Registry returns the connectors the hand-built cases plan against: only
// 'projectable' (the Events table's) is asked anything, whether it can read
// columns pruned.
func Registry() *connectors.Registry {
	reg := connectors.NewRegistry()
	for _, f := range []connectors.Factory{projectable{}, printSink{}, blackholeSink{}, filesSink{}, appendSink{}} {
		if err := reg.Register(f); err != nil {
			panic(err)
		}
	}
	return reg
}

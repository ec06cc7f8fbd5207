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

func init() {
	for name, c := range map[string]Case{
		"agg_room":             AggRoom,
		"agg_upsert":           AggUpsert,
		"agg_global":           AggGlobal,
		"agg_of_agg":           AggOfAgg,
		"agg_two_phase":        AggTwoPhase,
		"agg_ttl":              AggTTL,
		"distinct_rooms":       DistinctRooms,
		"rank_topn":            RankTopN,
		"rank_dense":           RankDense,
		"rank_ties":            RankTies,
		"agg_split_distinct":   AggSplitDistinct,
		"rank_over_agg":        RankOverAgg,
		"dedup_first":          DedupFirst,
		"dedup_last_proctime":  DedupLastProc,
		"dedup_first_proctime": DedupFirstProc,
		"join_left":            JoinLeft,
		"join_of_agg":          JoinOfAgg,
		"interval_join":        IntervalJoin,
		"lookup_join":          LookupJoin,
		"temporal_join":        TemporalJoin,
		"files_changelog":      FilesChangelog,
		"err_append_sink":      ErrAppendSink,
		"err_files_json":       ErrFilesJSON,
		"err_window_updating":  ErrWindowUpdating,
		"err_temporal_nopk":    ErrTemporalNoPK,
		"err_temporal_keys":    ErrTemporalKeys,
		"err_lookup_query":     ErrLookupQuery,
		"err_interval_proc":    ErrIntervalOneBound,
	} {
		Cases[name] = c
	}
}

func withConfig(s *logical.Script, kv ...string) *logical.Script {
	s.Config = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Config[kv[i]] = kv[i+1]
	}
	return s
}

func roomAgg(b *B) *logical.Aggregate {
	return b.Aggregate(gifts(b), []string{"room_id"},
		A{Func: jobgraph.CountStar, Name: "n"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"}, A{Func: jobgraph.Max, Arg: "amount", Name: "hi"})
}

// AggRoom is a non-windowed GROUP BY into a sink without a key: a retract
// stream.
func AggRoom(b *B) *logical.Script { return sinkAll(b, "room_totals", roomAgg(b)) }

// AggUpsert is AggRoom into a sink whose PRIMARY KEY is the group key: an
// upsert stream, no -U rows.
func AggUpsert(b *B) *logical.Script {
	agg := roomAgg(b)
	t := SinkTable("room_totals", "print", agg)
	t.PrimaryKey = []int{0}
	return script(b.Sink(agg, t))
}

// AggGlobal counts all rows: one group, at parallelism 1.
func AggGlobal(b *B) *logical.Script {
	return sinkAll(b, "total", b.Aggregate(gifts(b), nil, A{Func: jobgraph.CountStar, Name: "n"}, A{Func: jobgraph.Min, Arg: "amount", Name: "lo"}))
}

// AggOfAgg counts rooms per number of gifts: an aggregate over updates.
func AggOfAgg(b *B) *logical.Script {
	inner := b.Aggregate(gifts(b), []string{"room_id"}, A{Func: jobgraph.CountStar, Name: "n"})
	outer := b.Aggregate(inner, []string{"n"}, A{Func: jobgraph.CountStar, Name: "rooms"}, A{Func: jobgraph.Max, Arg: "room_id", Name: "top_room"})
	t := SinkTable("histogram", "print", outer)
	t.PrimaryKey = []int{0}
	return script(b.Sink(outer, t))
}

// AggTwoPhase is a group aggregate planned local/global.
func AggTwoPhase(b *B) *logical.Script {
	agg := b.Aggregate(gifts(b), []string{"room_id"},
		A{Func: jobgraph.CountStar, Name: "n"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"},
		A{Func: jobgraph.Min, Arg: "quantity", Name: "lo"}, A{Func: jobgraph.Avg, Arg: "amount", Name: "avg_amount"},
		A{Func: jobgraph.Count, Arg: "gift_id", Name: "ng"})
	return withConfig(sinkAll(b, "room_stats", agg), "table.optimizer.agg-phase-strategy", "TWO_PHASE")
}

// AggTTL sets a job TTL and a hint on a second aggregate.
func AggTTL(b *B) *logical.Script {
	a1 := roomAgg(b)
	a2 := b.Aggregate(gifts(b), []string{"user_id"}, A{Func: jobgraph.CountStar, Name: "n"})
	a2.StateTTLMs = (2 * time.Hour).Milliseconds()
	s := script(b.Sink(a1, SinkTable("t1", "print", a1)), b.Sink(a2, SinkTable("t2", "blackhole", a2)))
	return withConfig(s, "table.exec.state.ttl", "1 h")
}

// DistinctRooms is SELECT DISTINCT room_id.
func DistinctRooms(b *B) *logical.Script {
	return sinkAll(b, "rooms", b.Aggregate(gifts(b), []string{"room_id"}))
}

func topRank(b *B, in logical.Node, fn logical.RankFunc, n int64, keep ...string) logical.Node {
	over := b.Over(in, fn, []string{"room_id"}, []S{{"amount", true}}, "rk")
	f := b.Filter(over, Bool(expr.FuncLe, Col(over, "rk"), BigInt(n)))
	items := make([]any, len(keep))
	for i, k := range keep {
		items[i] = k
	}
	return b.Project(f, items...)
}

// RankTopN is the top 3 gifts per room by amount, with their row number.
func RankTopN(b *B) *logical.Script {
	return sinkAll(b, "top3", topRank(b, gifts(b), logical.RowNumber, 3, "room_id", "user_id", "amount", "rk"))
}

// RankDense is DENSE_RANK() <= 2 without the rank selected.
func RankDense(b *B) *logical.Script {
	return sinkAll(b, "top2", topRank(b, gifts(b), logical.DenseRank, 2, "room_id", "user_id", "amount"))
}

// RankTies is RANK() <= 2 with the rank selected: tied amounts share a
// rank, and more than two rows may qualify.
func RankTies(b *B) *logical.Script {
	return sinkAll(b, "top2", topRank(b, gifts(b), logical.Rank, 2, "room_id", "user_id", "amount", "rk"))
}

// AggSplitDistinct counts distinct users per room, split over 4 buckets,
// with a filtered DISTINCT, a plain COUNT(*) and an AVG.
func AggSplitDistinct(b *B) *logical.Script {
	g := gifts(b)
	in := b.Project(g, "room_id", "user_id", "amount", "big", Bool(expr.FuncGt, Col(g, "amount"), BigInt(50)))
	agg := b.Aggregate(in, []string{"room_id"},
		A{Func: jobgraph.Count, Arg: "user_id", Name: "users", Distinct: true},
		A{Func: jobgraph.Count, Arg: "user_id", Name: "big_users", Distinct: true, Filter: "big"},
		A{Func: jobgraph.CountStar, Name: "n"},
		A{Func: jobgraph.Avg, Arg: "amount", Name: "avg_amount"})
	return withConfig(sinkAll(b, "room_users", agg),
		"table.optimizer.distinct-agg.split.enabled", "true", "table.optimizer.distinct-agg.split.bucket-num", "4")
}

// RankOverAgg ranks users by their total per room: a Top-N over updates.
func RankOverAgg(b *B) *logical.Script {
	agg := b.Aggregate(gifts(b), []string{"room_id", "user_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "amount"})
	return sinkAll(b, "top_users", topRank(b, agg, logical.RowNumber, 3, "room_id", "user_id", "amount", "rk"))
}

func dedupBy(b *B, in logical.Node, timeCol string, desc bool) logical.Node {
	over := b.Over(in, logical.RowNumber, []string{"user_id"}, []S{{timeCol, desc}}, "rn")
	f := b.Filter(over, Bool(expr.FuncEq, Col(over, "rn"), BigInt(1)))
	return b.Project(f, "user_id", "room_id", "amount", timeCol)
}

// DedupFirst keeps each user's first gift by event time.
func DedupFirst(b *B) *logical.Script {
	return sinkAll(b, "first_gift", dedupBy(b, gifts(b), "ts", false))
}

// DedupLastProc keeps each user's last gift by processing time.
func DedupLastProc(b *B) *logical.Script {
	return sinkAll(b, "last_gift", dedupBy(b, procGifts(b), "pt", true))
}

// DedupFirstProc keeps each user's first gift by processing time: an
// append-only result.
func DedupFirstProc(b *B) *logical.Script {
	return sinkAll(b, "first_gift", dedupBy(b, procGifts(b), "pt", false))
}

// JoinLeft is a LEFT JOIN on a key with a residual condition.
func JoinLeft(b *B) *logical.Script {
	l, r := gifts(b), gifts(b)
	cond := Bool(expr.FuncAnd,
		Bool(expr.FuncEq, JCol(l, r, "L", "user_id"), JCol(l, r, "R", "user_id")),
		Bool(expr.FuncGt, JCol(l, r, "L", "amount"), JCol(l, r, "R", "amount")))
	j := b.Join(l, r, jobgraph.LeftJoin, cond)
	j.LeftTTLMs, j.RightTTLMs = 60000, 120000
	return sinkAll(b, "pairs", b.Project(j, "room_id", "amount", "amount_r", rightCol(j, "amount")))
}

// JoinOfAgg joins gifts with their room's running total.
func JoinOfAgg(b *B) *logical.Script {
	l := gifts(b)
	agg := b.Aggregate(gifts(b), []string{"room_id"}, A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	j := b.Join(l, agg, jobgraph.InnerJoin, Bool(expr.FuncEq, JCol(l, agg, "L", "room_id"), JCol(l, agg, "R", "room_id")))
	return sinkAll(b, "share", b.Project(j, "user_id", "amount", "total"))
}

// IntervalJoin joins gifts of one user within 10 s before to 5 s after.
func IntervalJoin(b *B) *logical.Script {
	l, r := gifts(b), gifts(b)
	lts, rts := JCol(l, r, "L", "ts"), JCol(l, r, "R", "ts")
	cond := Bool(expr.FuncAnd, Bool(expr.FuncAnd,
		Bool(expr.FuncEq, JCol(l, r, "L", "user_id"), JCol(l, r, "R", "user_id")),
		Bool(expr.FuncGe, lts, Arith(expr.FuncSub, rts, Interval(10*time.Second)))),
		Bool(expr.FuncLt, lts, Arith(expr.FuncAdd, rts, Interval(5*time.Second))))
	j := b.Join(l, r, jobgraph.InnerJoin, cond)
	return sinkAll(b, "pairs", b.Project(j, "user_id", "ts", "ts_r", rightCol(j, "ts")))
}

// ErrIntervalOneBound bounds the time difference from one side only and
// has no key: a cross join.
func ErrIntervalOneBound(b *B) *logical.Script {
	l, r := gifts(b), gifts(b)
	j := b.Join(l, r, jobgraph.InnerJoin, Bool(expr.FuncGe, JCol(l, r, "L", "ts"), JCol(l, r, "R", "ts")))
	return sinkAll(b, "pairs", b.Project(j, "user_id", "ts", "ts_r", rightCol(j, "ts")))
}

// Catalogue is the gift catalogue, a lookup table.
var Catalogue = Table("catalogue", "files",
	F("gift_id", types.IntType), F("name", types.StringType), F("price", types.BigIntType))

// LookupJoin joins gifts with the catalogue as of processing time.
func LookupJoin(b *B) *logical.Script {
	l := procGifts(b)
	dim := Catalogue
	dim.Options = map[string]string{"connector": "files", "format": "csv", "lookup.cache.ttl": "10 min"}
	r := b.Scan(dim, nil)
	cond := Bool(expr.FuncAnd,
		Bool(expr.FuncEq, Arith(expr.FuncAdd, JCol(l, r, "L", "gift_id"), Int(1)), JCol(l, r, "R", "gift_id")),
		Bool(expr.FuncGt, JCol(l, r, "R", "price"), JCol(l, r, "L", "amount")))
	j := b.Join(l, r, jobgraph.LeftJoin, cond)
	j.AsOf = Col(l, "pt")
	return sinkAll(b, "named", b.Project(j, "room_id", "name", "price"))
}

// ErrLookupQuery looks up a query rather than a table.
func ErrLookupQuery(b *B) *logical.Script {
	l := procGifts(b)
	r := b.Project(b.Scan(Catalogue, nil), "gift_id", "name")
	j := b.Join(l, r, jobgraph.InnerJoin, Bool(expr.FuncEq, JCol(l, r, "L", "gift_id"), JCol(l, r, "R", "gift_id")))
	j.AsOf = Col(l, "pt")
	return sinkAll(b, "named", j)
}

// Prices is a versioned table: a gift's price from ts on.
var Prices = Table("prices", "projectable",
	F("gift_id", types.IntType), F("price", types.BigIntType), F("ts", types.TimestampType))

func temporal(b *B, pk []int, cond func(l, r logical.Node) *expr.Expr) *logical.Script {
	l := gifts(b)
	pt := Prices
	pt.PrimaryKey = pk
	r := b.Scan(pt, &jobgraph.WatermarkSpec{Column: 2, DelayMs: 1000})
	j := b.Join(l, r, jobgraph.InnerJoin, cond(l, r))
	j.AsOf = Col(l, "ts")
	return sinkAll(b, "priced", b.Project(j, "room_id", "gift_id", "price", "ts"))
}

func onGift(l, r logical.Node) *expr.Expr {
	return Bool(expr.FuncEq, JCol(l, r, "L", "gift_id"), JCol(l, r, "R", "gift_id"))
}

// TemporalJoin prices gifts as of their event time.
func TemporalJoin(b *B) *logical.Script { return temporal(b, []int{0}, onGift) }

// ErrTemporalNoPK joins a table without a primary key.
func ErrTemporalNoPK(b *B) *logical.Script { return temporal(b, nil, onGift) }

// ErrTemporalKeys does not equate the whole primary key.
func ErrTemporalKeys(b *B) *logical.Script { return temporal(b, []int{0, 1}, onGift) }

// FilesChangelog writes an aggregate into a changelog-json file.
func FilesChangelog(b *B) *logical.Script {
	agg := roomAgg(b)
	t := SinkTable("room_totals", "files", agg)
	t.Options["format"] = "changelog-json"
	return script(b.Sink(agg, t))
}

// ErrFilesJSON writes an aggregate into a json file.
func ErrFilesJSON(b *B) *logical.Script {
	agg := roomAgg(b)
	t := SinkTable("room_totals", "files", agg)
	t.Options["format"] = "json"
	return script(b.Sink(agg, t))
}

// ErrAppendSink writes an aggregate into an append-only connector.
func ErrAppendSink(b *B) *logical.Script {
	agg := roomAgg(b)
	return script(b.Sink(b.Filter(agg, Bool(expr.FuncGt, Col(agg, "n"), BigInt(1))), SinkTable("t", "appendonly", agg)))
}

// ErrWindowUpdating windows the output of a keep-last deduplication.
func ErrWindowUpdating(b *B) *logical.Script {
	d := dedupBy(b, gifts(b), "ts", true)
	w := b.Tumble(d, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end"}, A{Func: jobgraph.CountStar, Name: "n"})
	return sinkAll(b, "t", agg)
}

// printSink accepts any changelog.
type printSink struct{}

func (printSink) Name() string                     { return "print" }
func (printSink) Options() []connectors.OptionSpec { return nil }
func (printSink) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, fmt.Errorf("print: planning-only connector")
}
func (printSink) AcceptsUpdates(connectors.TableInfo) error { return nil }

// blackholeSink accepts any changelog.
type blackholeSink struct{ printSink }

func (blackholeSink) Name() string { return "blackhole" }

// filesSink accepts updates in 'changelog-json' format only; it also
// serves as a bounded source (the lookup table).
type filesSink struct{ printSink }

func (filesSink) Name() string { return "files" }
func (filesSink) AcceptsUpdates(info connectors.TableInfo) error {
	if strings.EqualFold(info.Options["format"], "changelog-json") {
		return nil
	}
	return fmt.Errorf("use 'format' = 'changelog-json' to write updates")
}

// appendSink only writes inserts.
type appendSink struct{}

func (appendSink) Name() string                     { return "appendonly" }
func (appendSink) Options() []connectors.OptionSpec { return nil }
func (appendSink) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, fmt.Errorf("appendonly: planning-only connector")
}

// rightCol references column name of a join's right input in its output.
func rightCol(j *logical.Join, name string) *expr.Expr {
	c := Col(j.Right, name)
	t := j.Schema().Fields[j.Left.Schema().Len()+c.Column].Type
	return expr.Col(j.Left.Schema().Len()+c.Column, t)
}

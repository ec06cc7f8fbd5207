package plantest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// GiftRows returns n random rows of Gifts as refeval values: a few rooms,
// users and gifts, quantities NULL one time in eight, and event times
// spread over about five minutes from an arbitrary start, NULL one time in
// sixteen.
func GiftRows(r *rand.Rand, n int) [][]any {
	const base = int64(1_700_000_000_000)
	rows := make([][]any, n)
	rooms, users, gifts := 1+r.IntN(6), 1+r.IntN(20), 1+r.IntN(8)
	for i := range rows {
		var qty any = int64(1 + r.IntN(5))
		if r.IntN(8) == 0 {
			qty = nil
		}
		var ts any = base + r.Int64N(300_000)
		if r.IntN(16) == 0 {
			ts = nil // no event time: in no window
		}
		rows[i] = []any{
			int64(1 + r.IntN(rooms)),
			int64(1 + r.IntN(users)),
			int64(1 + r.IntN(gifts)),
			qty,
			int64(1 + r.IntN(500)),
			ts,
		}
	}
	return rows
}

// Random builds a random windowed query over Gifts in the analyzer's
// shapes: over the table or a UNION ALL of two filtered scans of it,
// filters and projections (with computed columns) before and after a window
// TVF of any kind (TUMBLE, HOP, CUMULATE with or without an offset, SESSION
// with or without partition keys), on window columns too, then either a
// window aggregate on
// window_start, window_end and a random subset of keys, optionally a HAVING
// filter and a window Top-N with any form of row-number bound; or no
// aggregate: the TVF's rows themselves, or a window Top-N directly over
// them, optionally regrouped by a window aggregate; one query in five is
// then window-joined (any join type, with or without keys and a residual)
// with a window aggregate over the same windows. A final projection writes
// into a sink. Row numbers are ordered by every non-window column,
// so results do not depend on how ties are broken.
//
// One script in four has a second INSERT of another random query, which
// shares the gifts source with the first.
func Random(r *rand.Rand, b *B) *logical.Script {
	s := &logical.Script{}
	for i := 0; i == 0 || (i == 1 && r.IntN(4) == 0); i++ {
		q := randomQuery(r, b)
		s.Sinks = append(s.Sinks, b.Sink(q, SinkTable(fmt.Sprintf("out%d", i), "collect", q)))
	}
	return s
}

func randomQuery(r *rand.Rand, b *B) logical.Node {
	g := &gen{r: r, b: b}
	var cur logical.Node = b.Scan(Gifts, GiftsWatermark())
	if r.IntN(5) == 0 {
		// A union of two filtered scans (a view over UNION ALL).
		other := b.Scan(Gifts, GiftsWatermark())
		cur = b.Union(b.Filter(cur, g.pred(cur)), b.Filter(other, g.pred(other)))
	}
	for i := r.IntN(3); i > 0; i-- {
		cur = g.filterOrProject(cur, "ts")
	}
	tvf := g.window(cur)
	cur = tvf
	if r.IntN(2) == 0 {
		cur = b.Filter(cur, g.tvfPred(cur))
	}
	if r.IntN(4) == 0 {
		// No aggregate: the TVF's rows, or a Top-N over them.
		if r.IntN(3) > 0 {
			if r.IntN(2) == 0 {
				cur = g.project(cur, "window_start", "window_end")
			}
			cur = g.topN(cur)
			if r.IntN(3) == 0 {
				cur = g.cascade(cur)
			}
		} else if r.IntN(2) == 0 {
			cur = g.project(cur)
		}
		if r.IntN(5) == 0 {
			cur = g.join(cur, tvf)
		}
		return g.final(cur)
	}
	if r.IntN(2) == 0 {
		cur = g.project(cur, "window_start", "window_end", "window_time")
	}
	cur = g.aggregate(cur)
	if r.IntN(4) == 0 {
		cur = g.cascade(cur)
	}
	if r.IntN(3) == 0 {
		cur = b.Filter(cur, g.pred(cur))
	}
	if r.IntN(2) == 0 {
		cur = g.topN(cur)
	}
	if r.IntN(5) == 0 {
		cur = g.join(cur, tvf)
	}
	return g.final(cur)
}

// window applies a window TVF of a random kind to n.
func (g *gen) window(n logical.Node) *logical.WindowTVF {
	r := g.r
	var offset time.Duration
	if r.IntN(3) == 0 {
		offset = 5 * time.Second
	}
	switch r.IntN(5) {
	case 0:
		sizes := []time.Duration{20 * time.Second, 30 * time.Second, time.Minute}
		return g.b.Window(n, jobgraph.Hop, "ts", sizes[r.IntN(len(sizes))], 10*time.Second, offset)
	case 1:
		sizes := []time.Duration{30 * time.Second, time.Minute}
		return g.b.Window(n, jobgraph.Cumulate, "ts", sizes[r.IntN(len(sizes))], 10*time.Second, offset)
	case 2:
		var part []string
		for _, c := range []string{"room_id", "user_id", "gift_id"} {
			if n.Schema().Index(c) >= 0 && r.IntN(2) == 0 {
				part = append(part, c)
			}
		}
		gaps := []time.Duration{5 * time.Second, 20 * time.Second}
		return g.b.Session(n, "ts", gaps[r.IntN(len(gaps))], part...)
	}
	sizes := []time.Duration{10 * time.Second, time.Minute}
	return g.b.Window(n, jobgraph.Tumble, "ts", sizes[r.IntN(len(sizes))], 0, offset)
}

// join window-joins n, whose rows carry the windows of tvf, with a window
// aggregate over the same windows of another scan of Gifts, when n has its
// window_start and window_end.
func (g *gen) join(n logical.Node, tvf *logical.WindowTVF) logical.Node {
	s := n.Schema()
	if s.Index("window_start") < 0 || s.Index("window_end") < 0 {
		return n
	}
	r := g.r
	scan := g.b.Scan(Gifts, GiftsWatermark())
	w := &logical.WindowTVF{At: g.b.pos(), Input: scan, Window: tvf.Window}
	w.Window.TimeColumn = Idx(scan, "ts")
	for _, p := range tvf.PartitionBy {
		w.PartitionBy = append(w.PartitionBy, Idx(scan, tvf.Input.Schema().Fields[p].Name))
	}
	keys := []string{"window_start", "window_end"}
	keyed := s.Index("room_id") >= 0 && r.IntN(2) == 0
	if keyed {
		keys = append(keys, "room_id")
	}
	right := g.b.Aggregate(w, keys, A{Func: jobgraph.CountStar, Name: "rcnt"}, A{Func: jobgraph.Max, Arg: "amount", Name: "rmax"})
	var terms []*expr.Expr
	if keyed {
		terms = append(terms, Bool(expr.FuncEq, JCol(n, right, "L", "room_id"), JCol(n, right, "R", "room_id")))
	}
	if cols := numeric(n); len(cols) > 0 && r.IntN(3) == 0 {
		c := s.Fields[cols[r.IntN(len(cols))]]
		l := JCol(n, right, "L", c.Name)
		if c.Type.Kind == types.Int {
			l = Cast(l, types.BigIntType)
		}
		terms = append(terms, Bool(expr.FuncGt, Arith(expr.FuncMul, l, BigInt(3)), JCol(n, right, "R", "rcnt")))
	}
	kinds := []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin}
	return g.b.Join(n, right, kinds[r.IntN(len(kinds))], WindowJoinCond(n, right, terms...))
}

type gen struct {
	r *rand.Rand
	b *B
}

func (g *gen) pick(xs []int) int { return xs[g.r.IntN(len(xs))] }

// numeric returns the INT and BIGINT columns of n that are not window
// columns.
func numeric(n logical.Node) []int {
	var out []int
	for i, f := range n.Schema().Fields {
		if (f.Type.Kind == types.Int || f.Type.Kind == types.BigInt) && !isWindowName(f.Name) && f.Name != "rn" {
			out = append(out, i)
		}
	}
	return out
}

func isWindowName(s string) bool {
	return s == "window_start" || s == "window_end" || s == "window_time"
}

func lit(t types.Type, v int64) *expr.Expr {
	if t.Kind == types.Int {
		return Int(int(v))
	}
	return BigInt(v)
}

// tvfPred returns a random condition over a window TVF's output: on its
// numeric columns, its window columns, or both.
func (g *gen) tvfPred(n logical.Node) *expr.Expr {
	switch g.r.IntN(3) {
	case 0:
		return g.pred(n)
	case 1:
		return g.windowPred(n)
	}
	return Bool(expr.FuncAnd, g.pred(n), g.windowPred(n))
}

// windowPred compares a window column of n (or a timestamp computed from
// one) with a time within the data's range.
func (g *gen) windowPred(n logical.Node) *expr.Expr {
	var cols []int
	for i, f := range n.Schema().Fields {
		if f.Type.Kind == types.Timestamp && f.Name != "ts" {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return g.pred(n)
	}
	c := g.pick(cols)
	col := expr.Col(c, n.Schema().Fields[c].Type)
	t := types.TimestampType
	t.NotNull = true
	at := expr.Lit(fmt.Sprint(1_700_000_000_000+g.r.Int64N(30)*10_000), t)
	fns := []string{expr.FuncLt, expr.FuncLe, expr.FuncGt, expr.FuncGe, expr.FuncEq, expr.FuncNe}
	return Bool(fns[g.r.IntN(len(fns))], col, at)
}

// pred returns a random condition over n's numeric columns.
func (g *gen) pred(n logical.Node) *expr.Expr {
	cols := numeric(n)
	if len(cols) == 0 {
		return Bool(expr.FuncEq, BigInt(1), BigInt(1))
	}
	s := n.Schema()
	atom := func() *expr.Expr {
		c := g.pick(cols)
		col := expr.Col(c, s.Fields[c].Type)
		switch g.r.IntN(6) {
		case 0:
			return Bool(expr.FuncIsNotNull, col)
		case 1:
			return Bool(expr.FuncNe, Arith(expr.FuncMod, col, lit(col.Type, 3)), lit(col.Type, 1))
		default:
			fns := []string{expr.FuncLt, expr.FuncLe, expr.FuncGt, expr.FuncGe, expr.FuncNe}
			return Bool(fns[g.r.IntN(len(fns))], col, lit(col.Type, int64(g.r.IntN(6))))
		}
	}
	e := atom()
	switch g.r.IntN(4) {
	case 0:
		e = Bool(expr.FuncAnd, e, atom())
	case 1:
		e = Bool(expr.FuncOr, e, atom())
	case 2:
		e = Bool(expr.FuncNot, e)
	}
	return e
}

func (g *gen) filterOrProject(n logical.Node, keep ...string) logical.Node {
	if g.r.IntN(2) == 0 {
		return g.b.Filter(n, g.pred(n))
	}
	return g.project(n, keep...)
}

// project keeps the columns in keep, a random subset of the others in a
// random order, and sometimes a computed column.
func (g *gen) project(n logical.Node, keep ...string) *logical.Project {
	s := n.Schema()
	var items []any
	must := map[string]bool{}
	for _, k := range keep {
		must[k] = true
	}
	for _, i := range g.r.Perm(s.Len()) {
		f := s.Fields[i]
		if must[f.Name] || g.r.IntN(3) > 0 {
			items = append(items, f.Name)
		}
	}
	if s.Index("window_end") >= 0 && g.r.IntN(3) == 0 {
		// A timestamp computed from a window column.
		we := Col(n, "window_end")
		items = append(items, fmt.Sprintf("w%d", g.b.line), Arith(expr.FuncSub, we, Interval(time.Duration(g.r.IntN(3))*time.Second)))
	}
	if len(items) == 0 {
		items = append(items, s.Fields[g.r.IntN(s.Len())].Name)
	}
	if cols := numeric(n); len(cols) > 0 && g.r.IntN(2) == 0 {
		c := g.pick(cols)
		col := expr.Col(c, s.Fields[c].Type)
		var e *expr.Expr
		switch g.r.IntN(3) {
		case 0:
			e = Arith(expr.FuncAdd, Cast(col, types.BigIntType), BigInt(int64(g.r.IntN(10))))
		case 1:
			e = CaseWhen(Bool(expr.FuncGt, col, lit(col.Type, 2)), BigInt(1), BigInt(0))
		default:
			e = Arith(expr.FuncMul, Cast(col, types.BigIntType), BigInt(2))
		}
		items = append(items, fmt.Sprintf("c%d", g.b.line), e)
	}
	return g.b.Project(n, items...)
}

func (g *gen) aggregate(n logical.Node) *logical.Aggregate {
	s := n.Schema()
	keys := []string{"window_start", "window_end"}
	if g.r.IntN(4) == 0 {
		keys = append(keys, "window_time")
	}
	cols := numeric(n)
	for _, i := range g.r.Perm(len(cols)) {
		if len(keys) < 5 && g.r.IntN(3) == 0 {
			keys = append(keys, s.Fields[cols[i]].Name)
		}
	}
	for _, f := range s.Fields {
		if f.Name[0] == 'w' && !isWindowName(f.Name) && g.r.IntN(2) == 0 {
			keys = append(keys, f.Name) // computed from a window column
		}
	}
	g.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	funcs := []jobgraph.AggFunc{jobgraph.CountStar, jobgraph.Count, jobgraph.Sum, jobgraph.Min, jobgraph.Max, jobgraph.Avg}
	var aggs []A
	for i := 1 + g.r.IntN(3); i > 0; i-- {
		f := funcs[g.r.IntN(len(funcs))]
		a := A{Func: f, Name: fmt.Sprintf("agg%d", len(aggs))}
		if f != jobgraph.CountStar {
			if len(cols) == 0 {
				a.Func = jobgraph.CountStar
			} else {
				a.Arg = s.Fields[g.pick(cols)].Name
			}
		}
		aggs = append(aggs, a)
	}
	return g.b.Aggregate(n, keys, aggs...)
}

// topN ranks the rows of an aggregate or a window TVF per window and a
// random subset of the other columns, ordered by the aggregates (or a
// numeric column) and then every other column, so the order is total.
func (g *gen) topN(n logical.Node) logical.Node {
	s := n.Schema()
	part := []string{"window_start", "window_end"}
	var order []S
	var others []string
	for _, f := range s.Fields {
		switch {
		case isWindowName(f.Name):
		case len(f.Name) > 3 && f.Name[:3] == "agg":
			order = append(order, S{Col: f.Name, Desc: g.r.IntN(2) == 0})
		default:
			others = append(others, f.Name)
		}
	}
	if len(order) == 0 {
		g.r.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	}
	for _, o := range others {
		if g.r.IntN(2) == 0 {
			part = append(part, o)
		}
	}
	g.r.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
	for _, o := range others {
		order = append(order, S{Col: o, Desc: g.r.IntN(2) == 0})
	}
	over := g.b.Over(n, logical.RowNumber, part, order, "rn")
	rn := Col(over, "rn")
	k := int64(1 + g.r.IntN(3))
	var bound *expr.Expr
	switch g.r.IntN(5) {
	case 0:
		bound = Bool(expr.FuncLe, rn, BigInt(k))
	case 1:
		bound = Bool(expr.FuncLt, rn, BigInt(k+1))
	case 2:
		bound = Bool(expr.FuncGe, BigInt(k), rn)
	case 3:
		bound = Bool(expr.FuncEq, rn, BigInt(k))
	default:
		bound = Bool(expr.FuncLe, rn, Cast(Int(int(k)), types.BigIntType))
	}
	if g.r.IntN(3) == 0 {
		bound = Bool(expr.FuncAnd, bound, g.pred(over))
	}
	switch g.r.IntN(6) {
	case 0:
		bound = Bool(expr.FuncAnd, Bool(expr.FuncGt, rn, BigInt(1)), bound)
	case 1:
		bound = Bool(expr.FuncAnd, bound, Bool(expr.FuncNe, rn, BigInt(2)))
	}
	var top logical.Node = g.b.Filter(over, bound)
	if g.r.IntN(2) == 0 {
		top = g.b.Star(top)
	}
	return top
}

// final projects a random non-empty subset of n's columns.
func (g *gen) final(n logical.Node) logical.Node {
	if g.r.IntN(4) == 0 {
		return n
	}
	s := n.Schema()
	var items []any
	for _, i := range g.r.Perm(s.Len()) {
		if g.r.IntN(3) > 0 {
			items = append(items, s.Fields[i].Name)
		}
	}
	if len(items) == 0 {
		items = append(items, s.Fields[0].Name)
	}
	return g.b.Project(n, items...)
}

// cascade aggregates a window aggregate's results again per window and a
// random subset of its other keys.
func (g *gen) cascade(n logical.Node) logical.Node {
	s := n.Schema()
	keys := []string{"window_start", "window_end"}
	var keyCols, aggCols []string
	for _, f := range s.Fields {
		switch {
		case isWindowName(f.Name):
		case len(f.Name) > 3 && f.Name[:3] == "agg":
			aggCols = append(aggCols, f.Name)
		default:
			keyCols = append(keyCols, f.Name)
		}
	}
	for _, k := range keyCols {
		if g.r.IntN(2) == 0 {
			keys = append(keys, k)
		}
	}
	g.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	aggs := []A{{Func: jobgraph.CountStar, Name: "agg0"}}
	for i, c := range aggCols {
		fs := []jobgraph.AggFunc{jobgraph.Sum, jobgraph.Max, jobgraph.Min, jobgraph.Count}
		aggs = append(aggs, A{Func: fs[g.r.IntN(len(fs))], Arg: c, Name: fmt.Sprintf("agg%d", i+1)})
	}
	return g.b.Aggregate(n, keys, aggs...)
}

// EventRows returns n random rows of Events as refeval values.
func EventRows(r *rand.Rand, n int) [][]any {
	const base = int64(1_700_000_000_000)
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{
			int64(1 + r.IntN(10)),
			int64(1 + r.IntN(30)),
			int64(1 + r.IntN(1000)),
			fmt.Sprintf("channel-%d", r.IntN(4)),
			fmt.Sprintf("https://example.com/%d", r.IntN(100)),
			base + r.Int64N(120_000),
			"",
		}
	}
	return rows
}

package physical

import (
	"math"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// winRef says what a column of a rel is: a window column (role) of a
// pending window TVF or of an operator whose rows carry windows (src), with
// that window (spec), or no window column (RoleNone).
type winRef struct {
	role Role
	src  any // *logical.WindowTVF or *Node
	spec jobgraph.WindowSpec
}

// winOf returns what column k of r is.
func winOf(r *rel, k int) winRef {
	c, ok := exprutil.IsColumn(r.cols[k])
	switch {
	case !ok:
	case c == phStart && r.tvf != nil:
		return winRef{RoleStart, r.tvf, r.win}
	case c == phEnd && r.tvf != nil:
		return winRef{RoleEnd, r.tvf, r.win}
	case c >= 0 && c < len(r.in.Cols) && r.in.Cols[c].Window != nil && r.in.Cols[c].Role != RoleNone:
		w := r.in.Cols[c].Window
		spec, _ := w.windows()
		return winRef{r.in.Cols[c].Role, w, spec}
	}
	return winRef{}
}

// isTimeAttribute reports whether column k of o's input, r, is a time
// attribute: its type says so, or it is the time column or window_time of
// r's pending window TVF (whose schema makes the input's time column a
// plain timestamp). A window Top-N keeping one row per partition ordered by
// a time attribute alone is Flink's window deduplication.
func isTimeAttribute(r *rel, o *logical.Over, k int) bool {
	t := o.Input.Schema().Fields[k].Type
	if t.RowTime || t.ProcTime {
		return true
	}
	e := r.cols[k]
	if c, ok := exprutil.IsColumn(e); ok && c == phTime {
		return true
	}
	return r.tvf != nil && exprutil.Fingerprint(plainTime(e)) == exprutil.Fingerprint(plainTime(r.time))
}

// carryAll returns exprs and names, over r.in, extended with every column
// of r.in they do not already pass through, so that they pick all of
// r.in's columns.
func carryAll(r *rel, exprs []*expr.Expr, names []string) ([]*expr.Expr, []string) {
	seen := map[int]bool{}
	for _, e := range exprs {
		if c, ok := exprutil.IsColumn(e); ok {
			seen[c] = true
		}
	}
	exprs = append([]*expr.Expr(nil), exprs...)
	names = append([]string(nil), names...)
	for c, f := range r.in.Op.Output.Fields {
		if !seen[c] {
			exprs = append(exprs, expr.Col(c, f.Type))
			names = append(names, f.Name)
		}
	}
	return exprs, names
}

func overError(o *logical.Over) error {
	return planerr.At(o.At, "%s() is only supported in a Top-N: filter on its result, e.g. WHERE %s <= N", o.Func, o.Name)
}

// rankBound recognizes a term that bounds the row number (column rn) from
// above: rn <= c, rn < c, rn = c and their mirror images. It returns the
// largest row number the term admits and whether the term must still be
// checked after a Top-N that keeps that many rows (rn = c with c > 1 also
// bounds rn from below).
func rankBound(t *expr.Expr, rn int) (n int64, keep, ok bool) {
	if t.Kind != expr.KindCall || len(t.Args) != 2 {
		return 0, false, false
	}
	fn := t.Func
	lhs, rhs := t.Args[0], t.Args[1]
	if c, isCol := exprutil.IsColumn(rhs); isCol && c == rn {
		lhs, rhs = rhs, lhs
		switch fn {
		case expr.FuncGe:
			fn = expr.FuncLe
		case expr.FuncGt:
			fn = expr.FuncLt
		case expr.FuncLe:
			fn = expr.FuncGe
		case expr.FuncLt:
			fn = expr.FuncGt
		}
	}
	if c, isCol := exprutil.IsColumn(lhs); !isCol || c != rn {
		return 0, false, false
	}
	v, isConst := exprutil.IntConst(rhs)
	if !isConst {
		return 0, false, false
	}
	switch fn {
	case expr.FuncLe:
		return v, false, true
	case expr.FuncLt:
		if v == math.MinInt64 {
			return v, false, true
		}
		return v - 1, false, true
	case expr.FuncEq:
		return v, v != 1, true
	}
	return 0, false, false
}

// topN plans Filter(Over(ROW_NUMBER)) as a window Top-N.
func (b *builder) topN(f *logical.Filter, o *logical.Over, need []bool) (*rel, error) {
	width := o.Input.Schema().Len()
	rn := width
	limit := int64(math.MaxInt64)
	found := false
	var rest []*expr.Expr
	for _, t := range exprutil.Conjuncts(f.Cond) {
		n, keep, ok := rankBound(t, rn)
		if !ok {
			rest = append(rest, t)
			continue
		}
		found = true
		limit = min(limit, n)
		if keep {
			rest = append(rest, t)
		}
	}
	if !found {
		return nil, overError(o)
	}
	if limit < 1 {
		return nil, planerr.At(f.At, "the condition on %s keeps no rows (row numbers start at 1)", o.Name)
	}
	restCond := exprutil.And(rest...)
	needOut := union(need, width+1, restCond)
	emitRank := needOut[rn]
	inNeed := make([]bool, width)
	copy(inNeed, needOut[:width])
	for _, k := range o.PartitionBy {
		inNeed[k] = true
	}
	for _, k := range o.OrderBy {
		inNeed[k.Column] = true
	}
	r, err := b.build(o.Input, inNeed)
	if err != nil {
		return nil, err
	}

	// The partition must hold window_start and window_end of one window
	// TVF or windowed operator; the other partition columns are the
	// Top-N's keys.
	var start, end any // the *logical.WindowTVF or *Node they come from
	var spec jobgraph.WindowSpec
	kStart, kEnd := -1, -1
	var keys []int
	for _, k := range o.PartitionBy {
		w := winOf(r, k)
		switch {
		case w.role == RoleStart && start == nil:
			start, kStart, spec = w.src, k, w.spec
		case w.role == RoleEnd && end == nil:
			end, kEnd = w.src, k
		default:
			keys = append(keys, k)
		}
	}
	if start == nil && end == nil {
		// No window columns: a regular Top-N or deduplication.
		return b.rank(o, r, inNeed, limit, emitRank, restCond)
	}
	if start == nil || end == nil || start != end {
		return nil, planerr.At(o.At, "a window Top-N must be partitioned by both window_start and window_end of one window TVF or window aggregation")
	}
	if o.Func != logical.RowNumber {
		return nil, planerr.At(o.At, "%s() is not supported in a window Top-N yet: only ROW_NUMBER() is (a non-windowed Top-N supports RANK() and DENSE_RANK())", o.Func)
	}
	if spec.ProcTime {
		return nil, planerr.At(o.At, "window Top-N and deduplication over processing-time windows are not supported yet: use an event-time attribute")
	}
	dedup := limit == 1 && !emitRank && len(o.OrderBy) == 1 && isTimeAttribute(r, o, o.OrderBy[0].Column)
	// Over a window TVF, the Top-N reads the window columns from its rows:
	// make them real (see applyTVF). The Top-N fires a window when the
	// watermark reaches window_end - 1 = window_time, the largest time in
	// the window, so its rows, which come straight from the source or the
	// window_assign, are only late when they are later than the watermark
	// promised.
	tvf := r.tvf
	if r, err = b.applyTVF(r, inNeed, o.At); err != nil {
		return nil, err
	}

	idx := indicesOf(inNeed)
	exprs := make([]*expr.Expr, len(idx))
	names := make([]string, len(idx))
	j := make([]int, width) // position in idx of each needed column
	for n, i := range idx {
		exprs[n], names[n], j[i] = r.cols[i], r.names[i], n
	}
	if tvf != nil && r.in.Op.WindowAssign != nil {
		// Carry the window_assign's other columns (window_time) along
		// rather than add a Calc that only drops them.
		exprs, names = carryAll(r, exprs, names)
	}
	reqOf := func(from *Node, at []int) requirement {
		var cols []int
		for _, k := range keys {
			cols = append(cols, at[j[k]])
		}
		cols = b.orderLike(from, unique(cols))
		if len(cols) == 0 {
			return requirement{kind: DistSingle}
		}
		return requirement{kind: DistHash, keys: cols}
	}
	// Rows are buffered per window until it fires, so a Calc that prunes
	// columns stays before the Top-N; one that only reorders them does not.
	pre, atPre := b.feed(r, exprs, names, o.At, reqOf, false)
	at := make([]int, width)
	for _, i := range idx {
		at[i] = atPre[j[i]]
	}
	wsAt, weAt := at[kStart], at[kEnd]
	req := reqOf(pre, atPre)
	keyCols := req.keys
	edge, par, dist := b.connect(pre, req)

	order := make([]jobgraph.SortKey, len(o.OrderBy))
	for i, k := range o.OrderBy {
		order[i] = k
		order[i].Column = at[k.Column]
	}
	fields := append([]types.Field(nil), pre.Op.Output.Fields...)
	cols := append([]ColInfo(nil), pre.Cols...)
	if emitRank {
		t := types.BigIntType
		t.NotNull = true
		fields = append(fields, types.Field{Name: o.Name, Type: t})
		cols = append(cols, ColInfo{})
	}
	if par == 1 {
		dist = Distribution{Kind: DistSingle}
	}
	name := ""
	if dedup {
		keep := "first"
		if o.OrderBy[0].Desc {
			keep = "last"
		}
		name = "WindowDeduplicate: keep " + keep
	}
	node := &Node{
		name: name,
		Op: &jobgraph.OperatorSpec{
			Output: types.Schema{Fields: fields},
			WindowTopN: &jobgraph.WindowTopNSpec{
				WindowStart:   wsAt,
				WindowEnd:     weAt,
				PartitionKeys: keyCols,
				OrderBy:       order,
				N:             limit,
				EmitRank:      emitRank,
				// Flink's keep-last deduplication keeps the latest of rows
				// with equal times; keep-first the earliest.
				LastOnTies: dedup && o.OrderBy[0].Desc,
			},
		},
		Inputs:      []*Input{edge},
		Parallelism: par,
		Dist:        dist,
		Cols:        cols,
		Pos:         o.At,
	}
	if tvf != nil && start == any(tvf) {
		// The Top-N is the first operator whose rows carry the TVF's
		// window columns as a pair: a window aggregate above may regroup
		// them.
		w := spec
		node.window = &w
		cols[wsAt] = ColInfo{Role: RoleStart, Window: node}
		cols[weAt] = ColInfo{Role: RoleEnd, Window: node}
	}

	res := &rel{in: node, cols: make([]*expr.Expr, width+1), names: make([]string, width+1)}
	for i, f := range o.Schema().Fields {
		res.names[i] = f.Name
	}
	for _, i := range idx {
		res.cols[i] = expr.Col(at[i], fields[at[i]].Type)
	}
	// Output columns of pre that no logical column reads were pruned before
	// or are carried along unread.
	if emitRank {
		res.cols[rn] = expr.Col(len(fields)-1, fields[len(fields)-1].Type)
	}
	if restCond != nil {
		res.filter = exprutil.Substitute(restCond, res.cols)
	}
	return res, nil
}

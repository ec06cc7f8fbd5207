package physical

import (
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// windowTVF plans a window TVF: its input's columns pass through and the
// window columns become placeholders, for an Aggregate above to absorb or
// for the consumer to compute (see applyTVF).
func (b *builder) windowTVF(w *logical.WindowTVF, need []bool) (*rel, error) {
	kind := strings.ToUpper(string(w.Window.Kind))
	if w.Window.Kind != jobgraph.Tumble {
		if kind == "" {
			kind = "unnamed"
		}
		return nil, planerr.At(w.At, "%s windows are not supported yet (only TUMBLE is)", kind)
	}
	if w.Window.SizeMs <= 0 {
		return nil, planerr.At(w.At, "TUMBLE window size must be positive, got %d ms", w.Window.SizeMs)
	}
	if w.Window.OffsetMs <= -w.Window.SizeMs || w.Window.OffsetMs >= w.Window.SizeMs {
		return nil, planerr.At(w.At, "TUMBLE window offset %d ms must be smaller in magnitude than its size %d ms", w.Window.OffsetMs, w.Window.SizeMs)
	}
	in := w.Input.Schema()
	tc := w.Window.TimeColumn
	tf := in.Fields[tc]
	if tf.Type.Kind != types.Timestamp {
		return nil, planerr.At(w.At, "%s time column %s is %s, not TIMESTAMP(3)", kind, tf.Name, tf.Type.Plain())
	}
	if !tf.Type.RowTime {
		return nil, planerr.At(w.At, "%s time column %s is not a time attribute: declare WATERMARK FOR %s in its CREATE TABLE", kind, tf.Name, tf.Name)
	}
	inNeed := make([]bool, in.Len())
	if need != nil {
		copy(inNeed, need)
	} else {
		copy(inNeed, all(in.Len()))
	}
	inNeed[tc] = true
	r, err := b.build(w.Input, inNeed)
	if err != nil {
		return nil, err
	}
	if r.tvf != nil {
		return nil, planerr.At(w.At, "a window TVF over another window TVF is not supported")
	}
	out := *r
	out.cols = append(append([]*expr.Expr(nil), r.cols...), placeholder(phStart), placeholder(phEnd), placeholder(phTime))
	out.names = append(append([]string(nil), r.names...), logical.WindowColumns[:]...)
	out.tvf = w
	out.time = r.cols[tc]
	return &out, nil
}

// aggregate plans an Aggregate. Grouping on window_start and window_end of
// a window TVF below makes it a window aggregate, which assigns the windows
// itself from the TVF's time column; so does grouping on window_start and
// window_end of a window aggregate below, whose windows are regrouped by
// their window_time. Non-windowed aggregates are not supported yet.
func (b *builder) aggregate(a *logical.Aggregate, need []bool) (*rel, error) {
	width := a.Input.Schema().Len()
	inNeed := make([]bool, width)
	for _, k := range a.GroupKeys {
		inNeed[k] = true
	}
	for _, c := range a.Aggs {
		if c.Arg >= 0 {
			inNeed[c.Arg] = true
		}
	}
	r, err := b.build(a.Input, inNeed)
	if err != nil {
		return nil, err
	}
	// Classify the group keys: window columns of a window TVF below
	// (placeholders), or of a window aggregate below (tagged columns, for
	// a window aggregate over a window aggregate's results).
	roles := make([]int, len(a.GroupKeys)) // 0, or phStart/phEnd/phTime
	hasStart, hasEnd := false, false
	var upstream *Node // the window aggregate whose windows are regrouped
	var upstreamEnd *expr.Expr
	for i, k := range a.GroupKeys {
		e := r.cols[k]
		c, ok := exprutil.IsColumn(e)
		switch {
		case !ok:
		case c < 0:
			roles[i] = c
		case r.tvf == nil && r.in.Cols[c].Role != RoleNone:
			info := r.in.Cols[c]
			if upstream != nil && upstream != info.Window {
				continue
			}
			upstream = info.Window
			if info.Role == RoleStart {
				roles[i] = phStart
			} else {
				roles[i] = phEnd
				upstreamEnd = e
			}
		}
		hasStart = hasStart || roles[i] == phStart
		hasEnd = hasEnd || roles[i] == phEnd
	}
	switch {
	case r.tvf == nil && upstream == nil:
		return nil, planerr.At(a.At, "non-windowed GROUP BY is not supported yet: group by window_start and window_end of a TUMBLE window")
	case !hasStart || !hasEnd:
		return nil, planerr.At(a.At, "a window aggregation must GROUP BY both window_start and window_end")
	}
	var window jobgraph.WindowSpec
	var timeExpr *expr.Expr
	var timeName string
	if r.tvf != nil {
		window, timeExpr = r.tvf.Window, r.time
		timeName = r.tvf.Input.Schema().Fields[r.tvf.Window.TimeColumn].Name
	} else {
		// Regroup the upstream windows: each row falls into its own window
		// again by its window_time, window_end - 1 ms.
		var ok bool
		if window, ok = upstream.windows(); !ok {
			return nil, fmt.Errorf("planner: internal error: %s marks window columns but assigns no windows", upstream.Op.Kind())
		}
		rt := upstreamEnd.Type
		rt.RowTime = true
		timeExpr = expr.Call(expr.FuncSub, rt, upstreamEnd, expr.Lit("1", types.IntervalType))
		timeName = logical.WindowColumns[2]
	}
	// Keys and arguments that read window columns of the TVF (other than
	// the window keys themselves) compute them from its time column, on
	// rows that have one.
	for i, k := range a.GroupKeys {
		if roles[i] == 0 && placeholderIn(r.cols[k]) != "" {
			r = guarded(r)
		}
	}
	for _, c := range a.Aggs {
		if c.Arg >= 0 && placeholderIn(r.cols[c.Arg]) != "" {
			r = guarded(r)
		}
	}
	pb := newProjBuilder()
	keyAt := make([]int, len(a.GroupKeys))
	var keyCols []int
	for i, k := range a.GroupKeys {
		if roles[i] != 0 {
			continue
		}
		keyAt[i] = pb.add(resolve(r, r.cols[k]), r.names[k])
		keyCols = append(keyCols, keyAt[i])
	}
	timeAt := pb.add(timeExpr, timeName)
	argAt := make([]int, len(a.Aggs))
	for j, c := range a.Aggs {
		argAt[j] = -1
		if c.Arg < 0 {
			continue
		}
		argAt[j] = pb.add(resolve(r, r.cols[c.Arg]), r.names[c.Arg])
	}
	// Distribute on the group keys; with none, every row goes to one subtask.
	reqOf := func(from *Node, at []int) requirement {
		keys := make([]int, len(keyCols))
		for i, c := range keyCols {
			keys[i] = at[c]
		}
		keys = b.orderLike(from, unique(keys))
		if len(keys) == 0 {
			return requirement{kind: DistSingle}
		}
		return requirement{kind: DistHash, keys: keys}
	}
	pre, at := b.feed(r, pb.exprs, pb.names, a.At, reqOf, true)
	req := reqOf(pre, at)
	groupKeys := req.keys
	edge, par, _ := b.connect(pre, req)

	window.TimeColumn = at[timeAt]
	aggs := make([]jobgraph.AggCall, len(a.Aggs))
	for j, c := range a.Aggs {
		aggs[j] = c
		aggs[j].Arg = -1
		if argAt[j] >= 0 {
			aggs[j].Arg = at[argAt[j]]
		}
	}
	out := a.Schema()
	preSchema := pre.Op.Output
	nk := len(groupKeys)
	fields := make([]types.Field, 0, nk+2+len(aggs))
	posOf := map[int]int{}
	for i, c := range groupKeys {
		posOf[c] = i
		f := preSchema.Fields[c]
		f.Type = f.Type.Plain()
		fields = append(fields, f)
	}
	ts := types.TimestampType
	ts.NotNull = true
	fields = append(fields, types.Field{Name: logical.WindowColumns[0], Type: ts}, types.Field{Name: logical.WindowColumns[1], Type: ts})
	for j, c := range aggs {
		fields = append(fields, types.Field{Name: out.Fields[len(a.GroupKeys)+j].Name, Type: c.Type})
	}
	node := &Node{
		Op: &jobgraph.OperatorSpec{
			Output:    types.Schema{Fields: fields},
			WindowAgg: &jobgraph.WindowAggSpec{Window: window, GroupKeys: groupKeys, Aggs: aggs},
		},
		Inputs:      []*Input{edge},
		Parallelism: par,
		Cols:        make([]ColInfo, len(fields)),
		Pos:         a.At,
	}
	node.Cols[nk] = ColInfo{Role: RoleStart, Window: node}
	node.Cols[nk+1] = ColInfo{Role: RoleEnd, Window: node}
	node.Dist = Distribution{Kind: DistSingle}
	if par > 1 {
		keys := make([]int, nk)
		for i := range keys {
			keys[i] = i
		}
		node.Dist = Distribution{Kind: DistHash, Keys: keys}
	}

	// Restore the Aggregate's own column order above the window aggregate.
	res := &rel{in: node, cols: make([]*expr.Expr, out.Len()), names: make([]string, out.Len())}
	for i := range a.GroupKeys {
		res.names[i] = out.Fields[i].Name
		switch roles[i] {
		case phStart:
			res.cols[i] = expr.Col(nk, ts)
		case phEnd:
			res.cols[i] = expr.Col(nk+1, ts)
		case phTime:
			rt := ts
			rt.RowTime = true
			res.cols[i] = expr.Call(expr.FuncSub, rt, expr.Col(nk+1, ts), expr.Lit("1", types.IntervalType))
		default:
			res.cols[i] = expr.Col(posOf[at[keyAt[i]]], fields[posOf[at[keyAt[i]]]].Type)
		}
	}
	for j := range aggs {
		i := len(a.GroupKeys) + j
		res.names[i] = out.Fields[i].Name
		res.cols[i] = expr.Col(nk+2+j, aggs[j].Type)
	}
	return res, nil
}

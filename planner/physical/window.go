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

// windowSpec checks a window TVF's arguments and returns its window, with
// ProcTime set when the time column is a processing-time attribute and
// without partition keys (the rel keeps those as expressions).
func windowSpec(w *logical.WindowTVF) (jobgraph.WindowSpec, error) {
	win := w.Window
	win.PartitionBy = nil
	kind := strings.ToUpper(string(win.Kind))
	abs := func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}
	switch win.Kind {
	case jobgraph.Tumble:
		if win.SizeMs <= 0 {
			return win, planerr.At(w.At, "TUMBLE window size must be positive, got %d ms", win.SizeMs)
		}
		if abs(win.OffsetMs) >= win.SizeMs {
			return win, planerr.At(w.At, "TUMBLE window offset %d ms must be smaller in magnitude than its size %d ms", win.OffsetMs, win.SizeMs)
		}
	case jobgraph.Hop, jobgraph.Cumulate:
		slide, size := "slide", "size"
		if win.Kind == jobgraph.Cumulate {
			slide, size = "step", "max size"
		}
		if win.SlideMs <= 0 || win.SizeMs <= 0 {
			return win, planerr.At(w.At, "%s window %s and %s must be positive, got %s %d ms and %s %d ms", kind, slide, size, slide, win.SlideMs, size, win.SizeMs)
		}
		if win.SizeMs%win.SlideMs != 0 {
			return win, planerr.At(w.At, "%s window %s must be an integral multiple of its %s, got %s %d ms and %s %d ms", kind, size, slide, size, win.SizeMs, slide, win.SlideMs)
		}
		if abs(win.OffsetMs) >= win.SizeMs {
			return win, planerr.At(w.At, "%s window offset %d ms must be smaller in magnitude than its %s %d ms", kind, win.OffsetMs, size, win.SizeMs)
		}
	case jobgraph.Session:
		if win.SizeMs <= 0 {
			return win, planerr.At(w.At, "SESSION window gap must be positive, got %d ms", win.SizeMs)
		}
		if win.SlideMs != 0 || win.OffsetMs != 0 {
			return win, planerr.At(w.At, "SESSION windows have no slide or offset")
		}
	default:
		if kind == "" {
			kind = "unnamed"
		}
		return win, planerr.At(w.At, "unknown window kind %s (supported: TUMBLE, HOP, CUMULATE, SESSION)", kind)
	}
	if len(w.PartitionBy) > 0 && win.Kind != jobgraph.Session {
		return win, planerr.At(w.At, "PARTITION BY is only supported in SESSION windows")
	}
	in := w.Input.Schema()
	tf := in.Fields[win.TimeColumn]
	if tf.Type.Kind != types.Timestamp {
		return win, planerr.At(w.At, "%s time column %s is %s, not a TIMESTAMP", kind, tf.Name, tf.Type.Plain())
	}
	switch {
	case tf.Type.ProcTime:
		win.ProcTime = true
	case !tf.Type.RowTime:
		return win, planerr.At(w.At, "%s time column %s is not a time attribute: declare WATERMARK FOR %s in its CREATE TABLE (or use a PROCTIME() column)", kind, tf.Name, tf.Name)
	}
	return win, nil
}

// partitionOf returns a window TVF's SESSION partition columns.
func partitionOf(w *logical.WindowTVF) []int {
	if len(w.PartitionBy) > 0 {
		return w.PartitionBy
	}
	return w.Window.PartitionBy
}

// windowTVF plans a window TVF: its input's columns pass through and the
// window columns become placeholders, for an Aggregate above to absorb or
// for the consumer to make real (see applyTVF).
func (b *builder) windowTVF(w *logical.WindowTVF, need []bool) (*rel, error) {
	win, err := windowSpec(w)
	if err != nil {
		return nil, err
	}
	in := w.Input.Schema()
	inNeed := make([]bool, in.Len())
	if need != nil {
		copy(inNeed, need)
	} else {
		copy(inNeed, all(in.Len()))
	}
	inNeed[win.TimeColumn] = true
	parts := partitionOf(w)
	for _, k := range parts {
		if k < 0 || k >= in.Len() {
			return nil, fmt.Errorf("planner: internal error: SESSION partition column %d of %d", k, in.Len())
		}
		inNeed[k] = true
	}
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
	out.win = win
	out.time = r.cols[win.TimeColumn]
	out.part = nil
	for _, k := range parts {
		out.part = append(out.part, r.cols[k])
	}
	return &out, nil
}

// aggInputs returns the input columns an aggregate call reads: its
// arguments and its FILTER column.
func aggInputs(c jobgraph.AggCall) []int {
	var out []int
	if c.Arg >= 0 {
		out = append(out, c.Arg)
	}
	out = append(out, c.Args...)
	if c.Filter != nil {
		out = append(out, *c.Filter)
	}
	return out
}

// absorbs reports whether a window aggregate can assign the windows of r's
// pending window TVF itself, grouping as a does. TUMBLE's window columns
// can be computed anywhere; for the other kinds, every use of a window
// column must be a bare window key, and a SESSION's partition keys must be
// among the other group keys: the aggregate then tracks sessions per
// partition and groups each session's rows by the keys (Flink absorbs the
// TVF only when the keys are exactly the partition keys; grouping a session
// by more keys is the same as aggregating its rows downstream). Otherwise
// the windows are assigned first (window_assign) and the aggregate
// regroups them.
func absorbs(r *rel, a *logical.Aggregate) bool {
	if tumbling(r) {
		return true
	}
	keys := map[string]bool{}
	for _, k := range a.GroupKeys {
		e := r.cols[k]
		switch {
		case computed(e):
			return false
		case placeholderIn(e) == "":
			keys[exprutil.Fingerprint(e)] = true
		}
	}
	for _, c := range a.Aggs {
		for _, x := range aggInputs(c) {
			if placeholderIn(r.cols[x]) != "" {
				return false
			}
		}
	}
	if r.win.Kind != jobgraph.Session {
		return true
	}
	for _, p := range r.part {
		if !keys[exprutil.Fingerprint(p)] {
			return false
		}
	}
	return true
}

// aggregate plans an Aggregate. Grouping on window_start and window_end of
// a window TVF below makes it a window aggregate, which assigns the windows
// itself from the TVF's time column (see absorbs); so does grouping on
// window_start and window_end of an operator whose rows carry windows (a
// window aggregate, window_assign, window join, ...), whose windows are
// regrouped by their window_time: TUMBLE windows are assigned again from it;
// other windows, which overlap or vary in size, are kept apart by a TUMBLE
// of 1 ms over window_time (one window per window_end) with window_start as
// a group key. Non-windowed aggregates are not supported yet.
func (b *builder) aggregate(a *logical.Aggregate, need []bool) (*rel, error) {
	width := a.Input.Schema().Len()
	inNeed := make([]bool, width)
	for _, k := range a.GroupKeys {
		inNeed[k] = true
	}
	for _, c := range a.Aggs {
		for _, x := range aggInputs(c) {
			inNeed[x] = true
		}
	}
	r, err := b.build(a.Input, inNeed)
	if err != nil {
		return nil, err
	}
	if r.tvf != nil && !absorbs(r, a) {
		if r, err = b.assign(r, inNeed, a.At); err != nil {
			return nil, err
		}
	}
	// Classify the group keys: window columns of a window TVF below
	// (placeholders), or of an operator below whose rows carry windows
	// (tagged columns, for a window aggregate over its results).
	roles := make([]int, len(a.GroupKeys)) // 0, or phStart/phEnd/phTime
	hasStart, hasEnd := false, false
	var upstream *Node // the operator whose windows are regrouped
	var upstreamEnd *expr.Expr
	for i, k := range a.GroupKeys {
		e := r.cols[k]
		c, ok := exprutil.IsColumn(e)
		switch {
		case !ok:
		case isPlaceholder(c):
			roles[i] = c
		case r.tvf == nil && c >= 0 && r.in.Cols[c].Role != RoleNone:
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
	case !hasStart && !hasEnd:
		// Not windowed: a group aggregate, which updates its results.
		return b.groupAgg(a, r, inNeed)
	case !hasStart || !hasEnd:
		return nil, planerr.At(a.At, "a window aggregation must GROUP BY both window_start and window_end")
	}
	var window jobgraph.WindowSpec
	var timeExpr *expr.Expr
	var timeName string
	var regrouped *jobgraph.WindowSpec // the upstream windows, when not re-assigned as they were
	if r.tvf != nil {
		window, timeExpr = r.win, r.time
		timeName = r.tvf.Input.Schema().Fields[r.tvf.Window.TimeColumn].Name
	} else {
		// Regroup the upstream windows: each row falls into its own window
		// again by its window_time, window_end - 1 ms.
		up, ok := upstream.windows()
		if !ok {
			return nil, fmt.Errorf("planner: internal error: %s marks window columns but assigns no windows", upstream.Op.Kind())
		}
		if up.ProcTime {
			return nil, planerr.At(a.At, "aggregating the results of a processing-time window again is not supported yet")
		}
		rt := upstreamEnd.Type
		rt.RowTime = true
		timeExpr = expr.Call(expr.FuncSub, rt, upstreamEnd, intervalLit(1))
		timeName = logical.WindowColumns[2]
		window = up
		if up.Kind != jobgraph.Tumble {
			window = jobgraph.WindowSpec{Kind: jobgraph.Tumble, SizeMs: 1}
			for i := range roles {
				if roles[i] == phStart {
					roles[i] = 0 // window_start is a group key of its own
				}
			}
			regrouped = &up
		}
	}
	window.PartitionBy = nil
	// Keys and arguments that read window columns of the TVF (other than
	// the window keys themselves) compute them from its time column, on
	// rows that have one.
	for i, k := range a.GroupKeys {
		if roles[i] == 0 && placeholderIn(r.cols[k]) != "" {
			r = guarded(r)
		}
	}
	for _, c := range a.Aggs {
		for _, x := range aggInputs(c) {
			if placeholderIn(r.cols[x]) != "" {
				r = guarded(r)
			}
		}
	}
	pb := newProjBuilder()
	keyAt := make([]int, len(a.GroupKeys))
	var keyCols []int
	startAt := -1 // the key column holding window_start, when regrouped by window_end
	for i, k := range a.GroupKeys {
		if roles[i] != 0 {
			continue
		}
		keyAt[i] = pb.add(resolve(r, r.cols[k]), r.names[k])
		keyCols = append(keyCols, keyAt[i])
		if c, ok := exprutil.IsColumn(r.cols[k]); regrouped != nil && startAt < 0 && ok && c >= 0 && r.in.Cols[c].Role == RoleStart && r.in.Cols[c].Window == upstream {
			startAt = keyAt[i]
		}
	}
	timeAt := pb.add(timeExpr, timeName)
	// A SESSION aggregate tracks sessions per partition: its input is
	// distributed on the partition keys, which are among the group keys
	// (see absorbs), so these find their columns.
	session := r.tvf != nil && window.Kind == jobgraph.Session
	var partAt []int
	for i, p := range r.part {
		partAt = append(partAt, pb.add(resolve(r, p), partName(r, i)))
	}
	type callAt struct {
		arg    int
		args   []int
		filter int
	}
	calls := make([]callAt, len(a.Aggs))
	for j, c := range a.Aggs {
		calls[j] = callAt{arg: -1, filter: -1}
		if c.Arg >= 0 {
			calls[j].arg = pb.add(resolve(r, r.cols[c.Arg]), r.names[c.Arg])
		}
		for _, x := range c.Args {
			calls[j].args = append(calls[j].args, pb.add(resolve(r, r.cols[x]), r.names[x]))
		}
		if c.Filter != nil {
			calls[j].filter = pb.add(resolve(r, r.cols[*c.Filter]), r.names[*c.Filter])
		}
	}
	// Distribute on the group keys (a SESSION's partition keys); with
	// none, every row goes to one subtask.
	distKeys := keyCols
	if session {
		distKeys = partAt
	}
	reqOf := func(from *Node, at []int) requirement {
		keys := make([]int, len(distKeys))
		for i, c := range distKeys {
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
	if session {
		// The partition keys first, in the exchange's order, then the
		// other keys.
		window.PartitionBy = append([]int(nil), req.keys...)
		keys := make([]int, len(keyCols))
		for i, c := range keyCols {
			keys[i] = at[c]
		}
		groupKeys = unique(append(append([]int(nil), req.keys...), keys...))
	}
	aggs := make([]jobgraph.AggCall, len(a.Aggs))
	for j, c := range a.Aggs {
		aggs[j] = c
		aggs[j].Arg = -1
		if calls[j].arg >= 0 {
			aggs[j].Arg = at[calls[j].arg]
		}
		aggs[j].Args = nil
		for _, x := range calls[j].args {
			aggs[j].Args = append(aggs[j].Args, at[x])
		}
		if calls[j].filter >= 0 {
			f := at[calls[j].filter]
			aggs[j].Filter = &f
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
	if regrouped != nil {
		if startAt < 0 {
			return nil, fmt.Errorf("planner: internal error: regrouped windows lost their window_start")
		}
		node.window = regrouped
		node.Cols[posOf[at[startAt]]] = ColInfo{Role: RoleStart, Window: node}
	} else {
		node.Cols[nk] = ColInfo{Role: RoleStart, Window: node}
	}
	node.Cols[nk+1] = ColInfo{Role: RoleEnd, Window: node}
	node.Dist = Distribution{Kind: DistSingle}
	if par > 1 {
		// The output's first columns are the keys the input was hashed on.
		keys := make([]int, len(req.keys))
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
			res.cols[i] = expr.Call(expr.FuncSub, rt, expr.Col(nk+1, ts), intervalLit(1))
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

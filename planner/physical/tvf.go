package physical

import (
	"fmt"
	"strconv"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// A window TVF stays pending in a rel (its window columns are placeholders)
// so that a window aggregate above can absorb it and assign the windows
// itself. Where its window columns are needed as values instead (in the
// rows of a window Top-N, a join, a union or a sink, in a WHERE condition,
// inside an expression), they are made real:
//
//   - TUMBLE's are a pure function of the time column, computed in a Calc:
//     window_start = tumble_start(time, size, offset), window_end =
//     window_start + size and window_time = window_end - 1 ms, which stays
//     the time attribute;
//   - HOP, CUMULATE and SESSION become a window_assign operator, which
//     copies each row into every window it falls in (HOP, CUMULATE) or holds
//     rows until their session closes (SESSION, after a hash exchange on the
//     partition keys).

// intervalLit is a NOT NULL INTERVAL literal of ms milliseconds.
func intervalLit(ms int64) *expr.Expr {
	t := types.IntervalType
	t.NotNull = true
	return expr.Lit(strconv.FormatInt(ms, 10), t)
}

// tumbling reports whether r's pending window TVF is a TUMBLE, whose window
// columns are computed in a Calc.
func tumbling(r *rel) bool { return r.tvf != nil && r.win.Kind == jobgraph.Tumble }

// windowExprs returns the expressions computing the window columns of r's
// pending TUMBLE, indexed like the placeholders (-1-ph): window_start,
// window_end, window_time. They are NOT NULL, which holds on rows with a
// time (see guarded).
func windowExprs(r *rel) [3]*expr.Expr {
	w := r.win
	ts := types.TimestampType
	ts.NotNull = true
	rowtime := ts
	rowtime.RowTime = true
	size := intervalLit(w.SizeMs)
	start := expr.Call(expr.FuncTumbleStart, ts, r.time, size, intervalLit(w.OffsetMs))
	end := expr.Call(expr.FuncAdd, ts, start, size)
	wtime := expr.Call(expr.FuncSub, rowtime, end, intervalLit(1))
	return [3]*expr.Expr{start, end, wtime}
}

// resolve returns e with the window placeholders it reads replaced by the
// expressions computing them from r's time column; e itself when it reads
// none. r's pending TVF must be a TUMBLE (see tumbling): the planner makes
// the windows of the others real (assign) before it computes anything from
// their columns.
func resolve(r *rel, e *expr.Expr) *expr.Expr {
	if e == nil || r.tvf == nil || placeholderIn(e) == "" {
		return e
	}
	if !tumbling(r) {
		panic(fmt.Sprintf("planner: internal error: computing %s window columns in a Calc", r.win.Kind))
	}
	w := windowExprs(r)
	var sub func(e *expr.Expr) *expr.Expr
	sub = func(e *expr.Expr) *expr.Expr {
		switch e.Kind {
		case expr.KindColumn:
			if isPlaceholder(e.Column) {
				return w[-1-e.Column]
			}
		case expr.KindCall:
			if len(e.Args) == 0 {
				return e
			}
			c := *e
			c.Args = make([]*expr.Expr, len(e.Args))
			for i, a := range e.Args {
				c.Args[i] = sub(a)
			}
			return &c
		}
		return e
	}
	return sub(e)
}

// computed reports whether e computes something from a window column (as
// opposed to being a bare placeholder, or reading none).
func computed(e *expr.Expr) bool {
	if e == nil || placeholderIn(e) == "" {
		return false
	}
	_, bare := exprutil.IsColumn(e)
	return !bare
}

// guarded returns r without its rows whose time is NULL, which a window TVF
// drops (they belong to no window; Flink drops them too), so that window
// columns computed on its rows are never NULL. A window aggregate drops
// such rows itself (and counts them), so a TVF it absorbs needs no guard.
func guarded(r *rel) *rel {
	if r.tvf == nil || r.guarded || r.time.Type.NotNull {
		return r
	}
	bt := types.BooleanType
	bt.NotNull = true
	out := *r
	out.filter = exprutil.And(expr.Call(expr.FuncIsNotNull, bt, r.time), r.filter)
	out.guarded = true
	return &out
}

// applyTVF makes r's pending window TVF, if any, real: the result has no
// placeholders. need says which of r's columns the consumer reads (nil:
// all); only those are kept.
func (b *builder) applyTVF(r *rel, need []bool, pos logical.Pos) (*rel, error) {
	switch {
	case r.tvf == nil:
		return r, nil
	case tumbling(r):
		return applyTumble(r), nil
	}
	return b.assign(r, need, pos)
}

// applyTumble computes r's pending TUMBLE: rows without a time are dropped
// and every column is computed from r.in, window columns from the time
// column.
func applyTumble(r *rel) *rel {
	g := guarded(r)
	out := *g
	out.cols = make([]*expr.Expr, len(g.cols))
	for i, e := range g.cols {
		out.cols[i] = resolve(g, plainTime(e))
	}
	out.filter = resolve(g, g.filter)
	out.tvf, out.time, out.part, out.guarded = nil, nil, nil, false
	return &out
}

// plainTime returns e without its time-attribute marker when it is a bare
// column: as in a window TVF's schema, window_time is the time attribute
// of its rows, and the input's time column a plain timestamp.
func plainTime(e *expr.Expr) *expr.Expr {
	if c, ok := exprutil.IsColumn(e); ok && c >= 0 && (e.Type.RowTime || e.Type.ProcTime) {
		return expr.Col(c, e.Type.Plain())
	}
	return e
}

// partName names the column holding r's i-th SESSION partition key.
func partName(r *rel, i int) string {
	if c, ok := exprutil.IsColumn(r.part[i]); ok && c >= 0 && c < r.in.Op.Output.Len() {
		return r.in.Op.Output.Fields[c].Name
	}
	return fmt.Sprintf("$p%d", i)
}

// assign plans r's pending HOP, CUMULATE or SESSION as a window_assign
// operator over a Calc of the columns needed (need, nil: all), the time
// column and, for SESSION, the partition keys, which the rows are hashed on.
func (b *builder) assign(r *rel, need []bool, pos logical.Pos) (*rel, error) {
	needed := func(i int) bool { return (need == nil || (i < len(need) && need[i])) && r.cols[i] != nil }
	pb := newProjBuilder()
	at := make([]int, len(r.cols))
	refAt := map[int]int{} // column of r.in -> position, for computed window expressions
	for i, e := range r.cols {
		at[i] = -1
		switch {
		case !needed(i):
		case placeholderIn(e) == "":
			at[i] = pb.add(plainTime(e), r.names[i])
		case computed(e):
			exprutil.Walk(e, func(x *expr.Expr) bool {
				if x.Kind == expr.KindColumn && x.Column >= 0 {
					if _, ok := refAt[x.Column]; !ok {
						refAt[x.Column] = pb.add(plainTime(x), r.in.Op.Output.Fields[x.Column].Name)
					}
				}
				return true
			})
		}
	}
	timeName := r.tvf.Input.Schema().Fields[r.tvf.Window.TimeColumn].Name
	timeAt := pb.add(plainTime(r.time), timeName)
	partAt := make([]int, len(r.part))
	for i, p := range r.part {
		partAt[i] = pb.add(plainTime(p), partName(r, i))
	}
	w := r.win
	reqOf := func(from *Node, at []int) requirement {
		if w.Kind != jobgraph.Session {
			return requirement{kind: DistAny}
		}
		keys := make([]int, len(partAt))
		for i, p := range partAt {
			keys[i] = at[p]
		}
		keys = b.orderLike(from, unique(keys))
		if len(keys) == 0 {
			return requirement{kind: DistSingle}
		}
		return requirement{kind: DistHash, keys: keys}
	}
	// HOP and CUMULATE copy rows and SESSION buffers them: prune first.
	pre, preAt := b.feed(r, pb.exprs, pb.names, pos, reqOf, false)
	req := reqOf(pre, preAt)
	edge, par, dist := b.connect(pre, req)
	w.TimeColumn = preAt[timeAt]
	w.PartitionBy = nil
	if w.Kind == jobgraph.Session {
		w.PartitionBy = req.keys
	}
	ts := types.TimestampType
	ts.NotNull = true
	rowtime := ts
	rowtime.RowTime = true
	in := pre.Op.Output
	n := in.Len()
	fields := make([]types.Field, 0, n+3)
	for _, f := range in.Fields {
		f.Type = f.Type.Plain()
		fields = append(fields, f)
	}
	fields = append(fields,
		types.Field{Name: logical.WindowColumns[0], Type: ts},
		types.Field{Name: logical.WindowColumns[1], Type: ts},
		types.Field{Name: logical.WindowColumns[2], Type: rowtime})
	spec := w
	node := &Node{
		Op: &jobgraph.OperatorSpec{
			Output:       types.Schema{Fields: fields},
			WindowAssign: &jobgraph.WindowAssignSpec{Window: w},
		},
		Inputs:      []*Input{edge},
		Parallelism: par,
		Dist:        dist,
		Cols:        append(append([]ColInfo(nil), pre.Cols...), ColInfo{}, ColInfo{}, ColInfo{}),
		Pos:         pos,
		window:      &spec,
	}
	if par == 1 {
		node.Dist = Distribution{Kind: DistSingle}
	}
	node.Cols[n] = ColInfo{Role: RoleStart, Window: node}
	node.Cols[n+1] = ColInfo{Role: RoleEnd, Window: node}

	out := &rel{in: node, cols: make([]*expr.Expr, len(r.cols)), names: r.names}
	remap := func(e *expr.Expr) *expr.Expr {
		var sub func(e *expr.Expr) *expr.Expr
		sub = func(e *expr.Expr) *expr.Expr {
			switch e.Kind {
			case expr.KindColumn:
				if isPlaceholder(e.Column) {
					k := -1 - e.Column
					return expr.Col(n+k, fields[n+k].Type)
				}
				p := preAt[refAt[e.Column]]
				return expr.Col(p, fields[p].Type)
			case expr.KindCall:
				if len(e.Args) == 0 {
					return e
				}
				c := *e
				c.Args = make([]*expr.Expr, len(e.Args))
				for i, a := range e.Args {
					c.Args[i] = sub(a)
				}
				return &c
			}
			return e
		}
		return sub(e)
	}
	for i, e := range r.cols {
		switch {
		case at[i] >= 0:
			p := preAt[at[i]]
			out.cols[i] = expr.Col(p, fields[p].Type)
		case needed(i):
			out.cols[i] = remap(e)
		}
	}
	return out, nil
}

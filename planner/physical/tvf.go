package physical

import (
	"strconv"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
)

// A window TVF stays pending in a rel (its window columns are placeholders)
// so that a window aggregate above can absorb it and assign the windows
// itself. Where its window columns are needed as values instead (in the
// rows of a window Top-N or a sink, in a WHERE condition, inside an
// expression), they are computed from the time column: for TUMBLE they are
// a pure function of it, window_start = tumble_start(time, size, offset),
// window_end = window_start + size and window_time = window_end - 1 ms,
// which stays the time attribute.

// intervalLit is a NOT NULL INTERVAL literal of ms milliseconds.
func intervalLit(ms int64) *expr.Expr {
	t := types.IntervalType
	t.NotNull = true
	return expr.Lit(strconv.FormatInt(ms, 10), t)
}

// windowExprs returns the expressions computing the window columns of r's
// pending window TVF, indexed like the placeholders (-1-ph): window_start,
// window_end, window_time. They are NOT NULL, which holds on rows with a
// time (see guarded).
func windowExprs(r *rel) [3]*expr.Expr {
	w := r.tvf.Window
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
// none.
func resolve(r *rel, e *expr.Expr) *expr.Expr {
	if e == nil || r.tvf == nil || placeholderIn(e) == "" {
		return e
	}
	w := windowExprs(r)
	var sub func(e *expr.Expr) *expr.Expr
	sub = func(e *expr.Expr) *expr.Expr {
		switch e.Kind {
		case expr.KindColumn:
			if e.Column < 0 && -1-e.Column < len(w) {
				return w[-1-e.Column]
			}
		case expr.KindCall:
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

// applyTVF computes r's pending window TVF, if any: rows without a time are
// dropped and every column is computed from r.in, window columns from the
// time column. The result has no placeholders.
func applyTVF(r *rel) *rel {
	if r.tvf == nil {
		return r
	}
	g := guarded(r)
	out := *g
	out.cols = make([]*expr.Expr, len(g.cols))
	for i, e := range g.cols {
		if c, ok := exprutil.IsColumn(e); ok && c >= 0 && e.Type.RowTime {
			// As in the TVF's schema, window_time is the time attribute
			// now; the input's time column is a plain timestamp.
			e = expr.Col(c, e.Type.Plain())
		}
		out.cols[i] = resolve(g, e)
	}
	out.filter = resolve(g, g.filter)
	out.tvf, out.time, out.guarded = nil, nil, false
	return &out
}

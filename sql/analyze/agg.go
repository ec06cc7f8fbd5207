package analyze

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// aggCall is one aggregate function call of a SELECT.
type aggCall struct {
	fn    jobgraph.AggFunc
	arg   *expr.Expr // nil for COUNT(*)
	typ   types.Type
	name  string
	named bool
	// nodes are the AST calls it stands for (equal calls share one).
	nodes []*ast.AggregateFuncExpr
}

// aggScope is what expressions above an Aggregate see: its group keys
// (bound over the FROM clause) and its aggregate calls.
type aggScope struct {
	from  *binder
	keys  []*expr.Expr
	calls []*aggCall
	out   types.Schema
}

// findAgg returns the first aggregate call in e, not looking into
// subqueries.
func findAgg(e ast.Node) *ast.AggregateFuncExpr {
	var found *ast.AggregateFuncExpr
	walk(e, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		switch x := n.(type) {
		case *ast.AggregateFuncExpr:
			found = x
			return false
		case *ast.SubqueryExpr:
			return false
		}
		return true
	})
	return found
}

// findWindows returns the window function calls in e.
func findWindows(e ast.Node) []*ast.WindowFuncExpr {
	var ws []*ast.WindowFuncExpr
	walk(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.WindowFuncExpr:
			ws = append(ws, x)
			return false
		case *ast.SubqueryExpr:
			return false
		}
		return true
	})
	return ws
}

// walk calls f on every node of n in pre-order; f returns whether to visit
// the node's children.
func walk(n ast.Node, f func(ast.Node) bool) {
	if n == nil {
		return
	}
	n.Accept(&visitor{f: f})
}

type visitor struct{ f func(ast.Node) bool }

func (v *visitor) Enter(n ast.Node) (ast.Node, bool) { return n, !v.f(n) }
func (v *visitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// collectAggs finds the aggregate calls of e (not nested in one another).
func collectAggs(e ast.Node, out *[]*ast.AggregateFuncExpr) {
	walk(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AggregateFuncExpr:
			*out = append(*out, x)
			return false
		case *ast.SubqueryExpr:
			return false
		}
		return true
	})
}

// aggregate analyzes a SELECT with GROUP BY or aggregate functions:
// [pre-Project] -> Aggregate -> [Filter (HAVING)] -> [Project].
func (c *qctx) aggregate(si *selectInfo, cur *rel, top bool) (*rel, error) {
	sel := si.sel
	from := &binder{c: c, rel: cur, clause: "GROUP BY", aliases: si.aliases, at: si.at}
	var keys []*expr.Expr
	aggAt := si.at
	if sel.GroupBy != nil {
		aggAt = c.find("GROUP", si.fromAt)
		for _, it := range sel.GroupBy.Items {
			if _, ok := it.Expr.(*ast.PositionExpr); ok {
				return nil, c.errorf(aggAt, "GROUP BY a column position is not supported (Flink groups by expressions); name the column")
			}
			if a := findAgg(it.Expr); a != nil {
				return nil, c.errorf(c.pos(a, aggAt), "aggregate functions are not allowed in GROUP BY")
			}
			if ws := findWindows(it.Expr); len(ws) > 0 {
				return nil, c.errorf(c.pos(ws[0], aggAt), "window functions are not allowed in GROUP BY")
			}
			k, err := from.bind(it.Expr)
			if err != nil {
				return nil, err
			}
			if k.Type.Kind == types.Null || k.Type.Kind == types.Interval {
				return nil, c.errorf(c.pos(it.Expr, aggAt), "cannot group by %s", exprText(it.Expr))
			}
			dup := false
			for _, o := range keys {
				if reflect.DeepEqual(o, k) {
					dup = true
				}
			}
			if !dup {
				keys = append(keys, k)
			}
		}
	}
	// Aggregate calls, from the SELECT list and HAVING.
	var nodes []*ast.AggregateFuncExpr
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			collectAggs(f.Expr, &nodes)
		}
	}
	if sel.Having != nil {
		if ws := findWindows(sel.Having.Expr); len(ws) > 0 {
			return nil, c.errorf(c.pos(ws[0], si.at), "window functions are not allowed in HAVING")
		}
		collectAggs(sel.Having.Expr, &nodes)
	}
	argB := &binder{c: c, rel: cur, clause: "an aggregate function's argument", aliases: si.aliases, at: si.at}
	var calls []*aggCall
	for _, n := range nodes {
		call, err := c.aggCall(n, argB, len(keys) > 0, si)
		if err != nil {
			return nil, err
		}
		merged := false
		for _, o := range calls {
			if o.fn == call.fn && reflect.DeepEqual(o.arg, call.arg) {
				o.nodes = append(o.nodes, n)
				merged = true
				break
			}
		}
		if !merged {
			calls = append(calls, call)
		}
	}
	// Name each aggregate after the SELECT item that is just that call.
	for i, f := range sel.Fields.Fields {
		a, ok := unparen(f.Expr).(*ast.AggregateFuncExpr)
		if f.Expr == nil || !ok {
			continue
		}
		for _, call := range calls {
			if call.nodes[0] == a || (len(call.nodes) > 1 && containsNode(call.nodes, a)) {
				if !call.named {
					call.named = true
					call.name = f.AsName.O
					if call.name == "" {
						call.name = fmt.Sprintf("EXPR$%d", i)
					}
				}
			}
		}
	}
	if len(keys) == 0 {
		// A global aggregate: one row per input, never NOT NULL except COUNT.
		for _, a := range calls {
			if a.fn != jobgraph.Count && a.fn != jobgraph.CountStar {
				a.typ = a.typ.Nullable()
			}
		}
	}
	// Pre-projection: group keys, then aggregate arguments.
	pre := append([]*expr.Expr(nil), keys...)
	argIdx := make([]int, len(calls))
	for i, a := range calls {
		argIdx[i] = -1
		if a.arg == nil {
			continue
		}
		found := -1
		for j, e := range pre {
			if reflect.DeepEqual(e, a.arg) {
				found = j
				break
			}
		}
		if found < 0 {
			pre = append(pre, a.arg)
			found = len(pre) - 1
		}
		argIdx[i] = found
	}
	allCols := true
	for _, e := range pre {
		if e.Kind != expr.KindColumn {
			allCols = false
		}
	}
	input := cur.node
	inSchema := input.Schema()
	groupKeys := make([]int, len(keys))
	aggs := make([]jobgraph.AggCall, len(calls))
	if allCols {
		for i, k := range keys {
			groupKeys[i] = k.Column
		}
		for i, a := range calls {
			arg := -1
			if argIdx[i] >= 0 {
				arg = pre[argIdx[i]].Column
			}
			aggs[i] = jobgraph.AggCall{Func: a.fn, Arg: arg, Type: a.typ, Name: a.name}
		}
	} else {
		names := make([]string, len(pre))
		for i, e := range pre {
			if e.Kind == expr.KindColumn {
				names[i] = inSchema.Fields[e.Column].Name
			} else {
				names[i] = fmt.Sprintf("$f%d", i)
			}
		}
		input = &logical.Project{At: lpos(si.at), Input: input, Exprs: pre, Names: names}
		for i := range keys {
			groupKeys[i] = i
		}
		for i, a := range calls {
			aggs[i] = jobgraph.AggCall{Func: a.fn, Arg: argIdx[i], Type: a.typ, Name: a.name}
		}
	}
	agg := &logical.Aggregate{At: lpos(aggAt), Input: input, GroupKeys: groupKeys, Aggs: aggs}
	scope := &aggScope{from: from, keys: keys, calls: calls, out: agg.Schema()}
	out := &rel{node: agg}
	if sel.Having != nil {
		hb := &binder{c: c, rel: cur, clause: "HAVING", aliases: si.aliases, at: si.at, agg: scope}
		cond, err := hb.bind(sel.Having.Expr)
		if err != nil {
			return nil, err
		}
		cond, err = c.boolean(cond, c.pos(sel.Having.Expr, si.at), "HAVING")
		if err != nil {
			return nil, err
		}
		out = &rel{node: &logical.Filter{At: lpos(c.pos(sel.Having.Expr, si.at)), Input: agg, Cond: cond}}
	}
	sb := &binder{c: c, rel: cur, clause: "SELECT", aliases: si.aliases, at: si.at, agg: scope}
	items, err := c.expandFields(si, cur, sb, func(i int, at parse.Pos) (*expr.Expr, error) {
		col := expr.Col(i, cur.node.Schema().Fields[i].Type)
		for k, key := range keys {
			if reflect.DeepEqual(key, col) {
				return expr.Col(k, scope.out.Fields[k].Type), nil
			}
		}
		return nil, c.errorf(at, "column '%s' is not grouped: with GROUP BY or aggregates, * may only stand for grouped columns", cur.node.Schema().Fields[i].Name)
	})
	if err != nil {
		return nil, err
	}
	return c.finishProject(si, out, items, nil, top)
}

// aggCall analyzes one aggregate function call.
func (c *qctx) aggCall(n *ast.AggregateFuncExpr, b *binder, grouped bool, si *selectInfo) (*aggCall, error) {
	at := c.pos(n, si.at)
	name := strings.ToUpper(n.F)
	if n.Distinct {
		return nil, c.errorf(at, "%s(DISTINCT ...) is not supported yet", name)
	}
	if n.Order != nil {
		return nil, c.errorf(at, "ORDER BY inside %s() is not supported", name)
	}
	var fn jobgraph.AggFunc
	switch strings.ToLower(n.F) {
	case "count":
		fn = jobgraph.Count
	case "sum":
		fn = jobgraph.Sum
	case "min":
		fn = jobgraph.Min
	case "max":
		fn = jobgraph.Max
	case "avg":
		fn = jobgraph.Avg
	default:
		return nil, c.errorf(at, "aggregate function %s is not supported (supported: COUNT, SUM, MIN, MAX, AVG)", name)
	}
	if len(n.Args) != 1 {
		return nil, c.errorf(at, "%s takes one argument", name)
	}
	call := &aggCall{fn: fn, nodes: []*ast.AggregateFuncExpr{n}, name: aggName(n)}
	argNode := n.Args[0]
	if fn == jobgraph.Count {
		// COUNT(*) reaches us as COUNT(1); COUNT of any non-NULL literal
		// counts rows too.
		if v, ok := unparen(argNode).(ast.ValueExpr); ok && v.GetValue() != nil {
			call.fn = jobgraph.CountStar
			call.name = "COUNT(*)"
			call.typ = types.Type{Kind: types.BigInt, NotNull: true}
			return call, nil
		}
	}
	if a := findAgg(argNode); a != nil {
		return nil, c.errorf(c.pos(a, at), "aggregate functions cannot be nested")
	}
	if ws := findWindows(argNode); len(ws) > 0 {
		return nil, c.errorf(c.pos(ws[0], at), "window functions are not allowed in an aggregate's argument")
	}
	arg, err := b.bind(argNode)
	if err != nil {
		return nil, err
	}
	argAt := c.pos(argNode, at)
	t := arg.Type.Plain()
	if t.Kind == types.Null {
		return nil, c.errorf(argAt, "cannot infer the type of NULL in %s; use CAST(NULL AS type)", name)
	}
	if t.Kind == types.Interval {
		return nil, c.errorf(argAt, "cannot aggregate an INTERVAL")
	}
	switch fn {
	case jobgraph.Count:
		t = types.Type{Kind: types.BigInt, NotNull: true}
	case jobgraph.Sum:
		if !t.IsNumeric() {
			return nil, c.errorf(argAt, "SUM needs a numeric argument, not %s", t.Nullable())
		}
		if t.Kind == types.Decimal {
			t = types.Type{Kind: types.Decimal, Precision: maxDecimalPrecision, Scale: t.Scale, NotNull: t.NotNull}
		}
	case jobgraph.Avg:
		if !t.IsNumeric() {
			return nil, c.errorf(argAt, "AVG needs a numeric argument, not %s", t.Nullable())
		}
		if t.Kind == types.Decimal {
			t = types.Type{Kind: types.Decimal, Precision: maxDecimalPrecision, Scale: max(minAdjustedScale, t.Scale), NotNull: t.NotNull}
		}
	}
	if !grouped && fn != jobgraph.Count {
		t = t.Nullable()
	}
	call.arg, call.typ = arg, t
	return call, nil
}

// aggName names an aggregate's output column after its SQL, e.g.
// "SUM(amount)".
func aggName(n *ast.AggregateFuncExpr) string {
	var sb strings.Builder
	if err := n.Restore(newNameRestoreCtx(&sb)); err != nil {
		return strings.ToUpper(n.F)
	}
	return sb.String()
}

func containsNode(ns []*ast.AggregateFuncExpr, n *ast.AggregateFuncExpr) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}

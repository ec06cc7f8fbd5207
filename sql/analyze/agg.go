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
	"github.com/eddy-streaming/eddy/udf"
)

// aggCall is one aggregate function call of a SELECT.
type aggCall struct {
	fn jobgraph.AggFunc
	// udf names a user-defined aggregate (fn is UDAF).
	udf      string
	args     []*expr.Expr // none for COUNT(*)
	distinct bool
	// filter is the FILTER (WHERE ...) condition, or nil.
	filter *expr.Expr
	typ    types.Type
	name   string
	named  bool
	// nodes are the AST calls it stands for (equal calls share one).
	nodes []ast.ExprNode
}

// same reports whether o computes what a does.
func (a *aggCall) same(o *aggCall) bool {
	return a.fn == o.fn && a.udf == o.udf && a.distinct == o.distinct &&
		reflect.DeepEqual(a.args, o.args) && reflect.DeepEqual(a.filter, o.filter)
}

// aggScope is what expressions above an Aggregate see: its group keys
// (bound over the FROM clause) and its aggregate calls.
type aggScope struct {
	from  *binder
	keys  []*expr.Expr
	calls []*aggCall
	out   types.Schema
}

// isAgg reports whether n is an aggregate call: a built-in aggregate
// (*ast.AggregateFuncExpr) or a call of a user-defined aggregate function.
func (c *qctx) isAgg(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.AggregateFuncExpr:
		return true
	case *ast.FuncCallExpr:
		if c.a.funcs == nil || parse.IsPlaceholder(x.FnName.L) {
			return false
		}
		f, ok := c.a.funcs.Lookup(x.FnName.L)
		if !ok {
			return false
		}
		_, ok = f.(udf.Aggregate)
		return ok
	}
	return false
}

// findAgg returns the first aggregate call in e, not looking into
// subqueries, or nil.
func (c *qctx) findAgg(e ast.Node) ast.ExprNode {
	var found ast.ExprNode
	walk(e, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if c.isAgg(n) {
			found = n.(ast.ExprNode)
			return false
		}
		if _, ok := n.(*ast.SubqueryExpr); ok {
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
func (c *qctx) collectAggs(e ast.Node, out *[]ast.ExprNode) {
	walk(e, func(n ast.Node) bool {
		if c.isAgg(n) {
			*out = append(*out, n.(ast.ExprNode))
			return false
		}
		if _, ok := n.(*ast.SubqueryExpr); ok {
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
		if items := sel.GroupBy.Items; len(items) > 0 && items[0].Expr.OriginTextPosition() > 0 {
			// The GROUP right before the first key: not one of a subquery.
			if p, ok := c.src.FindLast("GROUP", c.pos(items[0].Expr, aggAt)); ok {
				aggAt = p
			}
		}
		for _, it := range sel.GroupBy.Items {
			if _, ok := it.Expr.(*ast.PositionExpr); ok {
				return nil, c.errorf(aggAt, "GROUP BY a column position is not supported (Flink groups by expressions); name the column")
			}
			if a := c.findAgg(it.Expr); a != nil {
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
	var nodes []ast.ExprNode
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			c.collectAggs(f.Expr, &nodes)
		}
	}
	if sel.Having != nil {
		if ws := findWindows(sel.Having.Expr); len(ws) > 0 {
			return nil, c.errorf(c.pos(ws[0], si.at), "window functions are not allowed in HAVING")
		}
		c.collectAggs(sel.Having.Expr, &nodes)
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
			if o.same(call) {
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
		if f.Expr == nil || !c.isAgg(unparen(f.Expr)) {
			continue
		}
		a := unparen(f.Expr)
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
		// A global aggregate: one row per input, never NOT NULL except
		// the counts.
		for _, a := range calls {
			if !countLike(a.fn) {
				a.typ = a.typ.Nullable()
			}
		}
	}
	// Pre-projection: group keys, then aggregate arguments and FILTER
	// conditions, each once.
	pre := append([]*expr.Expr(nil), keys...)
	preIndex := func(e *expr.Expr) int {
		for j, x := range pre {
			if reflect.DeepEqual(x, e) {
				return j
			}
		}
		pre = append(pre, e)
		return len(pre) - 1
	}
	argIdx := make([][]int, len(calls))
	filterIdx := make([]int, len(calls))
	for i, a := range calls {
		for _, x := range a.args {
			argIdx[i] = append(argIdx[i], preIndex(x))
		}
		filterIdx[i] = -1
		if a.filter != nil {
			filterIdx[i] = preIndex(a.filter)
		}
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
	// col maps a pre-projection index to the Aggregate's input column.
	col := func(j int) int { return j }
	if allCols {
		for i, k := range keys {
			groupKeys[i] = k.Column
		}
		col = func(j int) int { return pre[j].Column }
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
	}
	for i, a := range calls {
		ac := jobgraph.AggCall{Func: a.fn, Arg: -1, Type: a.typ, Name: a.name, Distinct: a.distinct, UDF: a.udf}
		for _, j := range argIdx[i] {
			ac.Args = append(ac.Args, col(j))
		}
		if len(ac.Args) > 0 {
			ac.Arg = ac.Args[0]
		}
		if a.fn != jobgraph.UDAF {
			ac.Args = nil // the built-in calls take one argument, Arg
		}
		if filterIdx[i] >= 0 {
			f := col(filterIdx[i])
			ac.Filter = &f
		}
		aggs[i] = ac
	}
	agg := &logical.Aggregate{At: lpos(aggAt), Input: input, GroupKeys: groupKeys, Aggs: aggs}
	si.aggs = append(si.aggs, agg)
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

// countLike reports whether fn's result is a count, BIGINT NOT NULL even
// over no rows.
func countLike(fn jobgraph.AggFunc) bool {
	return fn == jobgraph.Count || fn == jobgraph.CountStar || fn == jobgraph.ApproxCountDistinct
}

// aggParts returns the name, arguments and DISTINCT of an aggregate call.
func aggParts(n ast.ExprNode) (name string, args []ast.ExprNode, distinct bool, order *ast.OrderByClause) {
	switch x := n.(type) {
	case *ast.AggregateFuncExpr:
		return x.F, x.Args, x.Distinct, x.Order
	case *ast.FuncCallExpr:
		return x.FnName.O, x.Args, false, nil
	}
	return "", nil, false, nil
}

// builtinAggs are the built-in aggregate functions.
var builtinAggs = map[string]jobgraph.AggFunc{
	"count": jobgraph.Count, "sum": jobgraph.Sum, "min": jobgraph.Min, "max": jobgraph.Max, "avg": jobgraph.Avg,
	"first_value": jobgraph.FirstValue, "last_value": jobgraph.LastValue,
	"approx_count_distinct": jobgraph.ApproxCountDistinct,
}

const supportedAggs = "COUNT, SUM, MIN, MAX, AVG, FIRST_VALUE, LAST_VALUE, APPROX_COUNT_DISTINCT and user-defined aggregate functions"

// aggCall analyzes one aggregate function call: a built-in aggregate, with
// DISTINCT and FILTER (WHERE ...), or a user-defined aggregate function.
func (c *qctx) aggCall(n ast.ExprNode, b *binder, grouped bool, si *selectInfo) (*aggCall, error) {
	at := c.pos(n, si.at)
	fname, argNodes, distinct, order := aggParts(n)
	name := strings.ToUpper(fname)
	if order != nil {
		return nil, c.errorf(at, "ORDER BY inside %s() is not supported", name)
	}
	var filterNode ast.ExprNode
	if a, ok := n.(*ast.AggregateFuncExpr); ok {
		filterNode, _ = c.q.AggFilter(a)
	}
	call := &aggCall{nodes: []ast.ExprNode{n}, name: aggName(n), distinct: distinct}
	var fn jobgraph.AggFunc
	var udaf udf.Aggregate
	if f, ok := builtinAggs[strings.ToLower(fname)]; ok {
		fn = f
	} else if f, ok := c.a.funcs.Lookup(fname); ok {
		ua, isAgg := f.(udf.Aggregate)
		if !isAgg {
			return nil, c.errorf(at, "%s is not an aggregate function: FILTER (WHERE ...) only applies to aggregate calls", fname)
		}
		fn, udaf, call.udf = jobgraph.UDAF, ua, f.Name()
	} else if filterNode != nil && !builtinAggNames[strings.ToLower(fname)] {
		return nil, c.errorf(at, "FILTER (WHERE ...) needs an aggregate function, and '%s' is none (aggregate functions: %s)", fname, supportedAggs)
	} else {
		return nil, c.errorf(at, "aggregate function %s is not supported (supported: %s)", name, supportedAggs)
	}
	call.fn = fn
	if fn == jobgraph.ApproxCountDistinct {
		call.distinct = false // it counts distinct values anyway
	}
	if filterNode != nil {
		cond, err := c.aggFilter(filterNode, b, name, at)
		if err != nil {
			return nil, err
		}
		call.filter = cond
		call.name += " FILTER (WHERE " + exprText(filterNode) + ")"
	}
	if fn != jobgraph.UDAF && len(argNodes) != 1 {
		if distinct && len(argNodes) > 1 {
			return nil, c.errorf(at, "%s(DISTINCT ...) of several columns is not supported yet", name)
		}
		return nil, c.errorf(at, "%s takes one argument", name)
	}
	if fn == jobgraph.Count && !distinct {
		// COUNT(*) reaches us as COUNT(1); COUNT of any non-NULL literal
		// counts rows too.
		if v, ok := unparen(argNodes[0]).(ast.ValueExpr); ok && v.GetValue() != nil {
			call.fn = jobgraph.CountStar
			call.name = strings.Replace(call.name, "COUNT(1)", "COUNT(*)", 1)
			call.typ = types.Type{Kind: types.BigInt, NotNull: true}
			return call, nil
		}
	}
	argTypes := make([]types.Type, len(argNodes))
	for i, argNode := range argNodes {
		if a := c.findAgg(argNode); a != nil {
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
		if arg.Type.RowTime || arg.Type.ProcTime {
			arg = retarget(arg, t) // aggregating a time attribute reads its values
		}
		call.args = append(call.args, arg)
		argTypes[i] = t
	}
	var t types.Type
	if fn == jobgraph.UDAF {
		rt, err := udaf.ResultType(argTypes)
		if err != nil {
			return nil, c.errorf(at, "%s: %v", fname, err)
		}
		if rt.Kind == types.Null || rt.Kind == types.Interval {
			return nil, c.errorf(at, "%s: aggregate function returns %s, which is not a column type", fname, rt)
		}
		call.typ = rt.Plain()
		return call, nil
	}
	t = argTypes[0]
	argAt := c.pos(argNodes[0], at)
	switch fn {
	case jobgraph.Count, jobgraph.ApproxCountDistinct:
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
	if !countLike(fn) && (!grouped || call.filter != nil) {
		// No row may reach the aggregate: over an empty group (a global
		// aggregate) or when FILTER drops every row of a group.
		t = t.Nullable()
	}
	call.typ = t
	return call, nil
}

// builtinAggNames are the aggregates TiDB parses itself, which Eddy may not
// support.
var builtinAggNames = map[string]bool{
	"group_concat": true, "bit_and": true, "bit_or": true, "bit_xor": true, "std": true, "stddev": true,
	"stddev_pop": true, "stddev_samp": true, "variance": true, "var_pop": true, "var_samp": true,
	"json_arrayagg": true, "json_objectagg": true, "approx_percentile": true,
}

// aggFilter binds the condition of agg(...) FILTER (WHERE cond) over the
// aggregate's input.
func (c *qctx) aggFilter(cond ast.ExprNode, b *binder, name string, at parse.Pos) (*expr.Expr, error) {
	p := c.pos(cond, at)
	if a := c.findAgg(cond); a != nil {
		return nil, c.errorf(c.pos(a, p), "aggregate functions are not allowed in FILTER (WHERE ...)")
	}
	if ws := findWindows(cond); len(ws) > 0 {
		return nil, c.errorf(c.pos(ws[0], p), "window functions are not allowed in FILTER (WHERE ...)")
	}
	fb := *b
	fb.clause = "FILTER"
	e, err := fb.bind(cond)
	if err != nil {
		return nil, err
	}
	if e.Type.Kind == types.Null {
		return retype(e, types.BooleanType), nil
	}
	if e.Type.Kind != types.Boolean {
		return nil, c.errorf(p, "the FILTER condition of %s must be BOOLEAN, not %s", name, e.Type.Plain())
	}
	return e, nil
}

// aggName names an aggregate's output column after its SQL, e.g.
// "SUM(amount)".
func aggName(n ast.ExprNode) string {
	var sb strings.Builder
	if err := n.Restore(newNameRestoreCtx(&sb)); err != nil {
		name, _, _, _ := aggParts(n)
		return strings.ToUpper(name)
	}
	return sb.String()
}

func containsNode(ns []ast.ExprNode, n ast.ExprNode) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}

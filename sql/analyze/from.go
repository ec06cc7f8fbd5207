package analyze

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
	"github.com/eddy-streaming/eddy/udf"
)

// fromClause analyzes a FROM clause: tables, views, common table
// expressions, subqueries and window TVFs, joined (JOIN, comma) or
// correlated with table functions (LATERAL TABLE).
func (c *qctx) fromClause(j *ast.Join, si *selectInfo) (*rel, error) {
	return c.fromItem(j, si)
}

// fromItem analyzes one item of a FROM clause.
func (c *qctx) fromItem(n ast.ResultSetNode, si *selectInfo) (*rel, error) {
	switch x := n.(type) {
	case *ast.Join:
		if x.Right == nil {
			return c.fromItem(x.Left, si)
		}
		return c.join(x, si)
	case *ast.TableSource:
		if _, tf, ok := c.q.TableFuncOf(x); ok {
			return nil, c.errorf(tf.At, "a table function call needs a table to its left: FROM t, LATERAL TABLE(%s(...))", tf.Name)
		}
		return c.tableSource(x, si)
	}
	return nil, c.errorf(si.cursor, "unsupported FROM clause")
}

// advance moves the cursor of the FROM clause to p, so that the next name
// is looked for after it.
func (si *selectInfo) advance(p parse.Pos) {
	if p.Offset > si.cursor.Offset {
		si.cursor = p
	}
}

func (c *qctx) tableSource(ts *ast.TableSource, si *selectInfo) (*rel, error) {
	if ts.Lateral {
		return nil, c.errorf(c.find("LATERAL", si.cursor), "LATERAL subqueries are not supported: LATERAL TABLE(f(...)) calls a table function")
	}
	alias := ts.AsName.O
	switch s := ts.Source.(type) {
	case *ast.TableName:
		if st, ok := c.q.SystemTime(s); ok {
			return nil, c.errorf(st.At, "FOR SYSTEM_TIME AS OF is only supported on the right side of a JOIN (a temporal join): FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON ...")
		}
		if tvf := c.lookupTVF(s.Name.O); tvf != nil {
			si.advance(tvf.At)
			r, err := c.windowTVF(tvf)
			if err != nil {
				return nil, err
			}
			r.requalify(alias)
			return r, nil
		}
		p := c.find(s.Name.O, si.cursor)
		si.advance(p)
		if s.Schema.O != "" {
			return nil, c.errorf(c.find(s.Schema.O, si.cursor), "qualified table names (%s.%s) are not supported", s.Schema.O, s.Name.O)
		}
		r, err := c.named(s.Name.O, p)
		if err != nil {
			return nil, err
		}
		if alias == "" {
			alias = s.Name.O
		}
		r.requalify(alias)
		return r, nil
	case *ast.SelectStmt:
		p := c.find("SELECT", si.cursor)
		si.advance(p)
		r, err := c.selectStmt(s, p, false)
		if err != nil {
			return nil, err
		}
		r.requalify(alias)
		return r, nil
	case *ast.SetOprStmt:
		p := si.cursor
		if q, ok := c.src.Find("(", si.cursor); ok {
			p = q
		}
		si.advance(p)
		r, err := c.setOpr(s, p, false)
		if err != nil {
			return nil, err
		}
		r.requalify(alias)
		return r, nil
	case *ast.Join:
		return c.fromItem(s, si)
	}
	return nil, c.errorf(si.cursor, "unsupported FROM clause")
}

func (c *qctx) lookupTVF(name string) *parse.WindowTVF {
	if c.q.TVFs == nil {
		return nil
	}
	if t, ok := c.q.TVFs[name]; ok {
		return t
	}
	for k, t := range c.q.TVFs {
		if strings.EqualFold(k, name) {
			return t
		}
	}
	return nil
}

// named returns the relation a name in FROM (or in a window TVF's TABLE t)
// stands for: a common table expression in scope, else a view, else a
// table. Its columns are qualified by the name.
func (c *qctx) named(name string, p parse.Pos) (*rel, error) {
	if def := c.ctes.lookup(name); def != nil {
		return c.expandCTE(def)
	}
	if v, ok := c.a.cat.LookupView(name); ok {
		return c.a.expandView(v)
	}
	t, ok := c.a.cat.Lookup(name)
	if !ok {
		return nil, c.errorf(p, "unknown table '%s'", name)
	}
	if !t.IsSource() {
		return nil, c.errorf(p, "table '%s' cannot be read: connector '%s' is not a source", t.Name, t.Connector)
	}
	return c.a.tableRel(t, p)
}

// join analyzes left JOIN right [ON cond], a comma join or a correlation
// with a table function.
func (c *qctx) join(j *ast.Join, si *selectInfo) (*rel, error) {
	left, err := c.fromItem(j.Left, si)
	if err != nil {
		return nil, err
	}
	if left.rank != nil {
		return nil, c.topNError(left.rank)
	}
	switch {
	case j.NaturalJoin:
		return nil, c.errorf(c.find("NATURAL", si.cursor), "NATURAL JOIN is not supported: write JOIN ... ON left.col = right.col")
	case len(j.Using) > 0:
		return nil, c.errorf(c.find("USING", si.cursor), "JOIN ... USING is not supported yet: write ON left.col = right.col")
	case j.StraightJoin:
		return nil, c.errorf(c.find("STRAIGHT_JOIN", si.cursor), "STRAIGHT_JOIN is not supported: write JOIN")
	}
	var onAt parse.Pos
	if j.On != nil {
		onAt = c.pos(j.On.Expr, si.cursor)
	}
	typ := jobgraph.InnerJoin
	switch j.Tp {
	case ast.LeftJoin:
		typ = jobgraph.LeftJoin
		if c.q.IsFullJoin(j) {
			typ = jobgraph.FullJoin
		}
	case ast.RightJoin:
		typ = jobgraph.RightJoin
	}
	if ts, ok := j.Right.(*ast.TableSource); ok {
		if call, tf, ok := c.q.TableFuncOf(ts); ok {
			si.advance(tf.At)
			return c.correlate(left, ts, call, tf, j, onAt, si)
		}
		if tn, ok := ts.Source.(*ast.TableName); ok {
			if st, ok := c.q.SystemTime(tn); ok {
				return c.temporalJoin(left, j, ts, tn, st, typ, onAt, si)
			}
		}
	}
	right, err := c.fromItem(j.Right, si)
	if err != nil {
		return nil, err
	}
	if right.rank != nil {
		return nil, c.topNError(right.rank)
	}
	at := si.cursor
	if j.On != nil {
		if p, ok := c.src.FindLast("JOIN", onAt); ok {
			at = p
		}
	}
	// The condition sees both inputs' columns as they are; the join's
	// output makes the side an outer join may miss nullable.
	inner := &logical.Join{At: lpos(at), Left: left.node, Right: right.node, Type: jobgraph.InnerJoin}
	both := &rel{node: inner, scope: joinedScope(left, right)}
	var cond *expr.Expr
	if j.On != nil {
		b := &binder{c: c, rel: both, clause: "ON", aliases: si.aliases, at: si.at}
		e, err := b.bind(j.On.Expr)
		if err != nil {
			return nil, err
		}
		if cond, err = c.boolean(e, onAt, "ON"); err != nil {
			return nil, err
		}
		if isTrue(cond) && typ == jobgraph.InnerJoin {
			cond = nil // ON TRUE: a cross join
		}
	} else if typ == jobgraph.InnerJoin {
		// A comma or CROSS join: WHERE conjuncts over both sides are its
		// condition.
		cond = c.whereIntoJoin(si, both, left.node.Schema().Len())
	}
	out := &logical.Join{At: lpos(at), Left: left.node, Right: right.node, Type: typ, Cond: cond}
	r := &rel{node: out, scope: both.scope}
	si.joins = append(si.joins, &joinInputs{join: out, left: inputName(left), right: inputName(right)})
	nl := left.node.Schema().Len()
	if isIntervalJoin(cond, nl) || isWindowJoin(cond, nl, inner.Schema()) {
		// Interval joins keep both sides' time attributes (and window
		// joins their window columns).
		return r, nil
	}
	// A regular join's output has no time attributes (Flink's rule).
	return plainTimes(r, 0, out.Schema().Len()), nil
}

// isTrue reports whether e is the literal TRUE.
func isTrue(e *expr.Expr) bool {
	return e != nil && e.Kind == expr.KindLiteral && e.Type.Kind == types.Boolean && !e.Literal.Null && e.Literal.Value == "true"
}

// correlate analyzes left JOIN LATERAL TABLE(f(args)) [AS T(cols)] (or a
// comma or LEFT JOIN ... ON TRUE): a Correlate of left with the table
// function f.
func (c *qctx) correlate(left *rel, ts *ast.TableSource, call *ast.FuncCallExpr, tf parse.TableFunc, j *ast.Join, onAt parse.Pos, si *selectInfo) (*rel, error) {
	fn, ok := c.a.funcs.Lookup(tf.Name)
	if !ok {
		return nil, c.errorf(tf.NamePos, "unknown table function '%s'", tf.Name)
	}
	tab, ok := fn.(udf.Table)
	if !ok {
		kind := "a scalar function"
		if _, isAgg := fn.(udf.Aggregate); isAgg {
			kind = "an aggregate function"
		}
		return nil, c.errorf(tf.NamePos, "'%s' is %s, not a table function: LATERAL TABLE(...) calls a table function", tf.Name, kind)
	}
	isLeft := false
	switch j.Tp {
	case ast.LeftJoin:
		if c.q.IsFullJoin(j) {
			return nil, c.errorf(tf.At, "FULL JOIN LATERAL TABLE(...) is not supported: use JOIN or LEFT JOIN ... ON TRUE")
		}
		isLeft = true
	case ast.RightJoin:
		return nil, c.errorf(tf.At, "RIGHT JOIN LATERAL TABLE(...) is not supported: use JOIN or LEFT JOIN ... ON TRUE")
	}
	b := &binder{c: c, rel: left, clause: "a table function's argument", aliases: si.aliases, at: si.at}
	args := make([]*expr.Expr, len(call.Args))
	argTypes := make([]types.Type, len(call.Args))
	for i, a := range call.Args {
		if c.findAgg(a) != nil || len(findWindows(a)) > 0 {
			return nil, c.errorf(c.pos(a, tf.At), "aggregate and window functions are not allowed in a table function's argument")
		}
		e, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		switch e.Type.Kind {
		case types.Null:
			return nil, c.errorf(c.pos(a, tf.At), "cannot infer the type of NULL in argument %d of %s; use CAST(NULL AS type)", i+1, tf.Name)
		case types.Interval:
			return nil, c.errorf(c.pos(a, tf.At), "an INTERVAL cannot be an argument of table function %s", tf.Name)
		}
		args[i], argTypes[i] = e, e.Type.Plain()
	}
	schema, err := tab.ResultSchema(argTypes)
	if err != nil {
		return nil, c.errorf(tf.NamePos, "%s: %v", tf.Name, err)
	}
	if schema.Len() == 0 {
		return nil, c.errorf(tf.NamePos, "table function %s returns no columns", tf.Name)
	}
	cols := append([]types.Field(nil), schema.Fields...)
	for i := range cols {
		cols[i].Type = cols[i].Type.Plain()
	}
	if len(ts.ColumnNames) > 0 {
		if len(ts.ColumnNames) != len(cols) {
			return nil, c.errorf(c.find(ts.AsName.O, tf.At), "table function %s returns %s, but AS %s(...) names %d", tf.Name, plural(len(cols), "column"), ts.AsName.O, len(ts.ColumnNames))
		}
		for i, n := range ts.ColumnNames {
			cols[i].Name = n.O
		}
	}
	alias := ts.AsName.O
	if parse.IsPlaceholder(alias) {
		alias = ""
	}
	node := &logical.Correlate{At: lpos(tf.At), Input: left.node, Function: fn.Name(), Args: args, Columns: cols, Left: isLeft}
	scope := append(append([]span(nil), left.scope...), span{qual: alias, from: left.node.Schema().Len(), n: len(cols)})
	out := &rel{node: node, scope: scope}
	if j.On == nil {
		return out, nil
	}
	b2 := &binder{c: c, rel: out, clause: "ON", aliases: si.aliases, at: si.at}
	cond, err := b2.bind(j.On.Expr)
	if err != nil {
		return nil, err
	}
	if cond, err = c.boolean(cond, onAt, "ON"); err != nil {
		return nil, err
	}
	if isTrue(cond) {
		return out, nil
	}
	if isLeft {
		return nil, c.errorf(onAt, "LEFT JOIN LATERAL TABLE(...) takes ON TRUE only: filter the rows in WHERE")
	}
	return out.same(&logical.Filter{At: lpos(onAt), Input: node, Cond: cond}), nil
}

// where applies a WHERE clause to cur: x [NOT] IN (subquery) conjuncts
// become semi (anti) joins, the other conjuncts a Filter.
func (c *qctx) where(si *selectInfo, cur *rel) (*rel, error) {
	var rest []ast.ExprNode
	var subs []*ast.PatternInExpr
	for _, e := range splitAnd(si.sel.Where) {
		if si.consumed[e] {
			continue // the condition of a comma join
		}
		if in, ok := unparen(e).(*ast.PatternInExpr); ok && in.Sel != nil {
			subs = append(subs, in)
			continue
		}
		rest = append(rest, e)
	}
	if len(rest) > 0 {
		var all *expr.Expr
		for _, e := range rest {
			cond, err := c.condition(e, cur, si, "WHERE")
			if err != nil {
				return nil, err
			}
			if all == nil {
				all = cond
			} else {
				all = expr.Call(expr.FuncAnd, boolResult(all, cond), all, cond)
			}
		}
		cur = cur.same(&logical.Filter{At: lpos(c.pos(si.sel.Where, si.at)), Input: cur.node, Cond: all})
	}
	for _, in := range subs {
		next, err := c.semiJoin(si, cur, in)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// semiJoin analyzes x [NOT] IN (SELECT y ...) as a semi (anti) join of cur
// with the subquery on x = y. NOT IN is NULL-aware: a left row is dropped
// when some y equals x or either is NULL, as SQL's three-valued NOT IN
// says.
func (c *qctx) semiJoin(si *selectInfo, cur *rel, in *ast.PatternInExpr) (*rel, error) {
	at := c.pos(in, si.at)
	sq, ok := in.Sel.(*ast.SubqueryExpr)
	if !ok {
		return nil, c.errorf(at, "IN needs a subquery or a list of values")
	}
	if _, isRow := in.Expr.(*ast.RowExpr); isRow {
		return nil, c.errorf(at, "IN (subquery) with several columns is not supported yet")
	}
	b := &binder{c: c, rel: cur, clause: "WHERE", aliases: si.aliases, at: si.at}
	x, err := b.bind(in.Expr)
	if err != nil {
		return nil, err
	}
	subAt := c.find("SELECT", at)
	sub, err := c.resultSet(sq.Query, subAt, false)
	if err != nil {
		return nil, err
	}
	if sub.rank != nil {
		return nil, c.topNError(sub.rank)
	}
	ss := sub.node.Schema()
	if ss.Len() != 1 {
		return nil, c.errorf(subAt, "the subquery of IN must return one column, not %d", ss.Len())
	}
	w := cur.node.Schema().Len()
	y := expr.Col(w, ss.Fields[0].Type)
	eq, err := c.compare("=", x, y, at)
	if err != nil {
		return nil, err
	}
	typ := jobgraph.SemiJoin
	cond := eq
	if in.Not {
		typ = jobgraph.AntiJoin
		bt := types.Type{Kind: types.Boolean, NotNull: true}
		if !x.Type.NotNull {
			cond = expr.Call(expr.FuncOr, types.BooleanType, cond, expr.Call(expr.FuncIsNull, bt, x))
		}
		if !y.Type.NotNull {
			cond = expr.Call(expr.FuncOr, types.BooleanType, cond, expr.Call(expr.FuncIsNull, bt, y))
		}
	}
	node := &logical.Join{At: lpos(at), Left: cur.node, Right: sub.node, Type: typ, Cond: cond}
	return cur.same(node), nil
}

// windowTVF analyzes TABLE(KIND(TABLE t, DESCRIPTOR(col), ...)); t is a
// table, a view or a common table expression.
func (c *qctx) windowTVF(tvf *parse.WindowTVF) (*rel, error) {
	in, err := c.named(tvf.Table, tvf.TablePos)
	if err != nil {
		return nil, err
	}
	if in.rank != nil {
		return nil, c.topNError(in.rank)
	}
	schema := in.node.Schema()
	idx := schema.Index(tvf.TimeCol.Name)
	if idx < 0 {
		return nil, c.errorf(tvf.TimeCol.At, "unknown column '%s' in '%s'", tvf.TimeCol.Name, tvf.Table)
	}
	ty := schema.Fields[idx].Type
	if !ty.RowTime && !ty.ProcTime {
		name := schema.Fields[idx].Name
		if ty.Kind == types.Timestamp {
			return nil, c.errorf(tvf.TimeCol.At, "the window function requires the time column to be a time attribute, but '%s' is %s with no watermark: declare WATERMARK FOR %s AS %s - INTERVAL '5' SECOND in its table (event time), or window on a PROCTIME() column (processing time)", name, ty, name, name)
		}
		return nil, c.errorf(tvf.TimeCol.At, "the window function requires the time column to be a time attribute, but '%s' is %s: use a TIMESTAMP(3) column with a WATERMARK, or a PROCTIME() column", name, ty)
	}
	kind := strings.ToUpper(tvf.Kind)
	spec := jobgraph.WindowSpec{TimeColumn: idx, ProcTime: ty.ProcTime}
	args := tvf.Args
	arity := func(lo, hi int, sig string) error {
		if len(args) < lo || len(args) > hi {
			return c.errorf(tvf.At, "%s takes %s, got %d interval argument(s)", kind, sig, len(args))
		}
		return nil
	}
	positive := func(what string, iv parse.Interval) error {
		if iv.Ms <= 0 {
			return c.errorf(iv.At, "%s window %s must be positive, got %d ms", kind, what, iv.Ms)
		}
		return nil
	}
	offset := func(iv parse.Interval, what string) error {
		spec.OffsetMs = iv.Ms
		if abs(spec.OffsetMs) >= spec.SizeMs {
			return c.errorf(iv.At, "%s window offset must be smaller than its %s in absolute value, got %s %d ms and offset %d ms", kind, what, what, spec.SizeMs, spec.OffsetMs)
		}
		return nil
	}
	switch kind {
	case "TUMBLE":
		if err := arity(1, 2, "(TABLE t, DESCRIPTOR(col), size [, offset])"); err != nil {
			return nil, err
		}
		spec.Kind, spec.SizeMs = jobgraph.Tumble, args[0].Ms
		if err := positive("size", args[0]); err != nil {
			return nil, err
		}
		if len(args) == 2 {
			if err := offset(args[1], "size"); err != nil {
				return nil, err
			}
		}
	case "HOP", "CUMULATE":
		step, size := "slide", "size"
		spec.Kind = jobgraph.Hop
		if kind == "CUMULATE" {
			step, size = "step", "max size"
			spec.Kind = jobgraph.Cumulate
		}
		if err := arity(2, 3, "(TABLE t, DESCRIPTOR(col), "+step+", "+size+" [, offset])"); err != nil {
			return nil, err
		}
		spec.SlideMs, spec.SizeMs = args[0].Ms, args[1].Ms
		if err := positive(step, args[0]); err != nil {
			return nil, err
		}
		if err := positive(size, args[1]); err != nil {
			return nil, err
		}
		if spec.SlideMs > spec.SizeMs {
			return nil, c.errorf(args[0].At, "%s window %s must not be larger than its %s, got %s %d ms and %s %d ms (check the order: %s(TABLE t, DESCRIPTOR(ts), %s, %s))", kind, step, size, step, spec.SlideMs, size, spec.SizeMs, kind, step, size)
		}
		if spec.SizeMs%spec.SlideMs != 0 {
			return nil, c.errorf(args[1].At, "%s window %s must be an integral multiple of its %s, got %s %d ms and %s %d ms", kind, size, step, size, spec.SizeMs, step, spec.SlideMs)
		}
		if len(args) == 3 {
			if err := offset(args[2], size); err != nil {
				return nil, err
			}
		}
	case "SESSION":
		if err := arity(1, 1, "(TABLE t [PARTITION BY cols], DESCRIPTOR(col), gap)"); err != nil {
			return nil, err
		}
		spec.Kind, spec.SizeMs = jobgraph.Session, args[0].Ms
		if err := positive("gap", args[0]); err != nil {
			return nil, err
		}
	default:
		return nil, c.errorf(tvf.At, "unknown window function %s (supported: TUMBLE, HOP, CUMULATE, SESSION)", tvf.Kind)
	}
	var parts []int
	if len(tvf.PartitionBy) > 0 && kind != "SESSION" {
		return nil, c.errorf(tvf.PartitionBy[0].At, "PARTITION BY is only supported in SESSION windows")
	}
	for _, p := range tvf.PartitionBy {
		i := schema.Index(p.Name)
		if i < 0 {
			return nil, c.errorf(p.At, "unknown column '%s' in '%s'", p.Name, tvf.Table)
		}
		parts = append(parts, i)
	}
	spec.PartitionBy = parts
	node := &logical.WindowTVF{At: lpos(tvf.At), Input: in.node, Window: spec, PartitionBy: parts}
	return single(node, ""), nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

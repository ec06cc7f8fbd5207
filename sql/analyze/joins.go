package analyze

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// whereIntoJoin moves the conjuncts of the SELECT's WHERE clause that refer
// to both sides of a comma (or CROSS) join into the join's condition, so
// that FROM a, b WHERE a.k = b.k AND a.ts BETWEEN ... is the same join as
// FROM a JOIN b ON ... (an equi-join, an interval join) instead of a cross
// product filtered afterwards. Conjuncts that do not bind over the join's
// columns (they name a table joined later, an alias, or are wrong) stay in
// WHERE, which reports their errors.
func (c *qctx) whereIntoJoin(si *selectInfo, both *rel, nl int) *expr.Expr {
	if si.sel == nil || si.sel.Where == nil {
		return nil
	}
	var cond *expr.Expr
	for _, e := range splitAnd(si.sel.Where) {
		if si.consumed[e] {
			continue
		}
		if in, ok := unparen(e).(*ast.PatternInExpr); ok && in.Sel != nil {
			continue
		}
		b := &binder{c: c, rel: both, clause: "WHERE", aliases: si.aliases, at: si.at}
		x, err := b.bind(e)
		if err != nil || x.Type.Kind != types.Boolean {
			continue
		}
		l, r := sidesOf(x, nl)
		if !l || !r {
			continue
		}
		if si.consumed == nil {
			si.consumed = map[ast.ExprNode]bool{}
		}
		si.consumed[e] = true
		cond = and(cond, x)
	}
	return cond
}

// and returns a AND b (b alone when a is nil).
func and(a, b *expr.Expr) *expr.Expr {
	if a == nil {
		return b
	}
	return expr.Call(expr.FuncAnd, boolResult(a, b), a, b)
}

// sidesOf reports whether e reads columns of the left side (index < nl)
// and of the right side of a join.
func sidesOf(e *expr.Expr, nl int) (left, right bool) {
	var walk func(*expr.Expr)
	walk = func(e *expr.Expr) {
		if e == nil {
			return
		}
		if e.Kind == expr.KindColumn {
			if e.Column < nl {
				left = true
			} else {
				right = true
			}
		}
		for _, a := range e.Args {
			walk(a)
		}
	}
	walk(e)
	return left, right
}

// conjuncts splits e at its ANDs.
func conjuncts(e *expr.Expr) []*expr.Expr {
	if e == nil {
		return nil
	}
	if e.Kind == expr.KindCall && e.Func == expr.FuncAnd && len(e.Args) == 2 {
		return append(conjuncts(e.Args[0]), conjuncts(e.Args[1])...)
	}
	return []*expr.Expr{e}
}

// isIntervalJoin reports whether cond (over the left columns, nl of them,
// then the right ones) bounds the left time attribute against the right
// one from below and from above, which makes the join an interval join
// (Flink's rule): l.ts BETWEEN r.ts - INTERVAL a AND r.ts + INTERVAL b, or
// two comparisons such as l.ts >= r.ts AND l.ts < r.ts + INTERVAL b, on
// time attributes of the same kind (both event time or both processing
// time).
func isIntervalJoin(cond *expr.Expr, nl int) bool {
	var lower, upper bool
	for _, t := range conjuncts(cond) {
		if t.Kind != expr.KindCall || len(t.Args) != 2 {
			continue
		}
		var less bool // the comparison says a < b (or <=)
		switch t.Func {
		case expr.FuncLt, expr.FuncLe:
			less = true
		case expr.FuncGt, expr.FuncGe:
		default:
			continue
		}
		a, aok := timeOperand(t.Args[0])
		b, bok := timeOperand(t.Args[1])
		if !aok || !bok || a.proc != b.proc {
			continue
		}
		switch {
		case a.col < nl && b.col >= nl:
			// l.ts < r.ts + x bounds l.ts from above.
			if less {
				upper = true
			} else {
				lower = true
			}
		case a.col >= nl && b.col < nl:
			if less {
				lower = true
			} else {
				upper = true
			}
		}
	}
	return lower && upper
}

// timeAttr is a time attribute column, maybe plus or minus an interval.
type timeAttr struct {
	col  int
	proc bool
}

// timeOperand recognizes col, col + INTERVAL and col - INTERVAL, col a time
// attribute.
func timeOperand(e *expr.Expr) (timeAttr, bool) {
	if e.Kind == expr.KindCall && (e.Func == expr.FuncAdd || e.Func == expr.FuncSub) && len(e.Args) == 2 &&
		e.Args[1].Kind == expr.KindLiteral && e.Args[1].Type.Kind == types.Interval {
		e = e.Args[0]
	}
	if e.Kind != expr.KindColumn || !(e.Type.RowTime || e.Type.ProcTime) {
		return timeAttr{}, false
	}
	return timeAttr{col: e.Column, proc: e.Type.ProcTime}, true
}

// isWindowJoin reports whether cond equates the window_start columns and
// the window_end columns of both sides: a window join, whose output keeps
// its columns as they are.
func isWindowJoin(cond *expr.Expr, nl int, schema types.Schema) bool {
	var start, end bool
	for _, t := range conjuncts(cond) {
		if t.Kind != expr.KindCall || t.Func != expr.FuncEq || len(t.Args) != 2 {
			continue
		}
		a, b := t.Args[0], t.Args[1]
		if a.Kind != expr.KindColumn || b.Kind != expr.KindColumn || (a.Column < nl) == (b.Column < nl) {
			continue
		}
		na, nb := schema.Fields[a.Column].Name, schema.Fields[b.Column].Name
		switch {
		case strings.EqualFold(na, logical.WindowColumns[0]) && strings.EqualFold(nb, na):
			start = true
		case strings.EqualFold(na, logical.WindowColumns[1]) && strings.EqualFold(nb, na):
			end = true
		}
	}
	return start && end
}

// plainTimes returns r with the time attributes of its columns from..to-1
// made plain timestamps, by a Project passing every column through, or r
// itself when none of them is a time attribute. It is what Flink does to
// the output of a regular join (both sides) and to the versioned side of
// a temporal join.
func plainTimes(r *rel, from, to int) *rel {
	schema := r.node.Schema()
	any := false
	for i := from; i < to; i++ {
		t := schema.Fields[i].Type
		any = any || t.RowTime || t.ProcTime
	}
	if !any {
		return r
	}
	exprs := make([]*expr.Expr, len(schema.Fields))
	names := make([]string, len(schema.Fields))
	for i, f := range schema.Fields {
		t := f.Type
		if i >= from && i < to {
			t = t.Plain()
		}
		exprs[i] = expr.Col(i, t)
		names[i] = f.Name
	}
	p := &logical.Project{At: r.node.Position(), Input: r.node, Exprs: exprs, Names: names}
	return &rel{node: p, scope: r.scope}
}

// inputName returns the name a STATE_TTL hint gives a join or aggregate
// input: the alias of a single FROM item, or its table, view or common
// table expression name when it has no alias; "" for a join.
func inputName(r *rel) string {
	if len(r.scope) != 1 || parse.IsPlaceholder(r.scope[0].qual) {
		return ""
	}
	return r.scope[0].qual
}

// temporalJoin analyzes left [LEFT] JOIN r FOR SYSTEM_TIME AS OF col [AS
// alias] ON cond: a logical.Join with AsOf set to col (a time attribute of
// the left side) whose right side is the scan of table r.
func (c *qctx) temporalJoin(left *rel, j *ast.Join, ts *ast.TableSource, tn *ast.TableName, st parse.SystemTime, typ jobgraph.JoinType, onAt parse.Pos, si *selectInfo) (*rel, error) {
	si.advance(st.At)
	switch typ {
	case jobgraph.RightJoin, jobgraph.FullJoin:
		kw := "RIGHT"
		if typ == jobgraph.FullJoin {
			kw = "FULL"
		}
		p, ok := c.src.FindLast(kw, st.At)
		if !ok {
			p = st.At
		}
		return nil, c.errorf(p, "temporal joins (FOR SYSTEM_TIME AS OF) support only INNER and LEFT JOIN, not %s JOIN", kw)
	}
	name := tn.Name.O
	tablePos, ok := c.src.FindLast(name, st.At)
	if !ok {
		tablePos = st.At
	}
	if tn.Schema.O != "" {
		return nil, c.errorf(tablePos, "qualified table names (%s.%s) are not supported", tn.Schema.O, name)
	}
	if def := c.ctes.lookup(name); def != nil {
		return nil, c.errorf(tablePos, "the right side of a temporal join must be a table, and '%s' is a WITH query", name)
	}
	if _, isView := c.a.cat.LookupView(name); isView {
		return nil, c.errorf(tablePos, "the right side of a temporal join must be a table, and '%s' is a view", name)
	}
	t, ok := c.a.cat.Lookup(name)
	if !ok {
		return nil, c.errorf(tablePos, "unknown table '%s'", name)
	}
	if !t.IsSource() {
		return nil, c.errorf(tablePos, "table '%s' cannot be read: connector '%s' is not a source", t.Name, t.Connector)
	}
	right, err := c.a.tableRel(t, tablePos)
	if err != nil {
		return nil, err
	}
	alias := ts.AsName.O
	if alias == "" {
		alias = t.Name
	}
	right.requalify(alias)

	// AS OF: a time attribute of the left side.
	colAt := c.pos(st.Column, st.At)
	b := &binder{c: c, rel: left, clause: "FOR SYSTEM_TIME AS OF", aliases: si.aliases, at: st.At}
	asOf, err := b.bind(st.Column)
	if err != nil {
		both := &rel{node: &logical.Join{Left: left.node, Right: right.node, Type: jobgraph.InnerJoin}, scope: joinedScope(left, right)}
		rb := &binder{c: c, rel: both, clause: "FOR SYSTEM_TIME AS OF", aliases: si.aliases, at: st.At}
		if x, rerr := rb.bind(st.Column); rerr == nil && x.Kind == expr.KindColumn && x.Column >= left.node.Schema().Len() {
			return nil, c.errorf(colAt, "FOR SYSTEM_TIME AS OF must name a time attribute of the left side of the join, but '%s' is a column of '%s'", st.Column.Name.Name.O, alias)
		}
		return nil, err
	}
	if asOf.Kind != expr.KindColumn {
		return nil, c.errorf(colAt, "FOR SYSTEM_TIME AS OF takes a time attribute column of the left side of the join")
	}
	at := asOf.Type
	if !at.RowTime && !at.ProcTime {
		col := st.Column.Name.Name.O
		return nil, c.errorf(colAt, "FOR SYSTEM_TIME AS OF needs a time attribute of the left side, but '%s' is %s: use an event-time attribute (a column with a WATERMARK) for a join with a versioned table, or a PROCTIME() column for a lookup join", col, at.Plain())
	}
	if at.RowTime {
		// An event-time temporal join reads the versions of a versioned
		// table: one with a primary key and an event-time attribute.
		if len(t.PrimaryKey) == 0 {
			return nil, c.errorf(tablePos, "an event-time temporal join needs a versioned table, but '%s' has no PRIMARY KEY: declare PRIMARY KEY (...) NOT ENFORCED on it (or join FOR SYSTEM_TIME AS OF a PROCTIME() column for a lookup join)", t.Name)
		}
		hasRowtime := false
		for _, f := range right.node.Schema().Fields {
			hasRowtime = hasRowtime || f.Type.RowTime
		}
		if !hasRowtime {
			return nil, c.errorf(tablePos, "an event-time temporal join needs a versioned table, but '%s' has no event-time attribute: declare WATERMARK FOR its update time", t.Name)
		}
	}

	// ON: over the left columns then the table's.
	if j.On == nil {
		return nil, c.errorf(st.At, "a temporal join needs an ON condition with an equality on the columns of '%s'", alias)
	}
	inner := &logical.Join{Left: left.node, Right: right.node, Type: jobgraph.InnerJoin}
	both := &rel{node: inner, scope: joinedScope(left, right)}
	ob := &binder{c: c, rel: both, clause: "ON", aliases: si.aliases, at: si.at}
	cond, err := ob.bind(j.On.Expr)
	if err != nil {
		return nil, err
	}
	if cond, err = c.boolean(cond, onAt, "ON"); err != nil {
		return nil, err
	}
	nl := left.node.Schema().Len()
	hasEq := false
	for _, t := range conjuncts(cond) {
		if t.Kind == expr.KindCall && t.Func == expr.FuncEq && len(t.Args) == 2 {
			l0, r0 := sidesOf(t.Args[0], nl)
			l1, r1 := sidesOf(t.Args[1], nl)
			hasEq = hasEq || (l0 && !r0 && r1 && !l1) || (l1 && !r1 && r0 && !l0)
		}
	}
	if !hasEq {
		return nil, c.errorf(onAt, "a temporal join needs an equality between a column of the left side and a column of '%s' in its ON condition (the lookup or version key)", alias)
	}
	p, ok := c.src.FindLast("JOIN", st.At)
	if !ok {
		p = st.At
	}
	out := &logical.Join{At: lpos(p), Left: left.node, Right: right.node, Type: typ, Cond: cond, AsOf: asOf}
	r := &rel{node: out, scope: both.scope}
	si.joins = append(si.joins, &joinInputs{join: out, left: inputName(left), right: alias})
	// The versioned table's time attributes become plain timestamps; the
	// left side keeps its own.
	return plainTimes(r, nl, out.Schema().Len()), nil
}

// joinInputs is a join of a SELECT and the names a STATE_TTL hint gives
// its inputs.
type joinInputs struct {
	join        *logical.Join
	left, right string
}

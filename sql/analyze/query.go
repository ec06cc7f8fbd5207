package analyze

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
)

func newRestoreCtx(w *strings.Builder) *format.RestoreCtx {
	return format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordUppercase|format.RestoreNameBackQuotes, w)
}

// qctx is the analysis of one query statement.
type qctx struct {
	a   *analyzer
	q   *parse.Query
	src source
}

// rel is an analyzed relation: a logical node whose output columns can be
// referred to by name, optionally qualified by qual.
type rel struct {
	node logical.Node
	qual string
	// fieldPos are the positions of the SELECT items behind each output
	// column, when the relation is a SELECT.
	fieldPos []parse.Pos
	// rank is set when the relation ends in a ranking function that still
	// needs the enclosing query's Top-N filter.
	rank *pendingRank
}

// pendingRank is a ROW_NUMBER (or RANK, DENSE_RANK) whose Top-N filter
// (WHERE rn <= N in the enclosing query) has not been seen yet.
type pendingRank struct {
	over *logical.Over
	// proj, when set, is the projection right above over (below any
	// further projections up to the relation's output); they all pass the
	// rank column through.
	proj *logical.Project
	// col is the rank column's index in the relation's output.
	col  int
	at   parse.Pos
	name string
}

func (c *qctx) errorf(p parse.Pos, format string, args ...any) *parse.Error {
	return c.a.errorf(p, format, args...)
}

// pos returns the user-text position of an AST expression, or def when
// TiDB did not record one.
func (c *qctx) pos(n ast.Node, def parse.Pos) parse.Pos {
	if n == nil {
		return def
	}
	if off := n.OriginTextPosition(); off > 0 {
		return c.src.PosOfOffset(off)
	}
	return def
}

func (c *qctx) find(name string, from parse.Pos) parse.Pos {
	if p, ok := c.src.Find(name, from); ok {
		return p
	}
	return from
}

func (c *qctx) topNError(r *pendingRank) error {
	return c.errorf(r.at, "%s() is only supported in a Top-N query: select it in a subquery and filter it in the enclosing query, e.g. SELECT * FROM (SELECT *, %s() OVER (...) AS %s FROM t) WHERE %s <= 3", r.over.Func, r.over.Func, r.name, r.name)
}

func (c *qctx) resultSet(n ast.ResultSetNode, at parse.Pos, top bool) (*rel, error) {
	switch s := n.(type) {
	case *ast.SelectStmt:
		return c.selectStmt(s, at, top)
	case *ast.SetOprStmt:
		return nil, c.errorf(at, "UNION, INTERSECT and EXCEPT are not supported")
	}
	return nil, c.errorf(at, "unsupported query")
}

// selectInfo is the state of one SELECT being analyzed.
type selectInfo struct {
	sel     *ast.SelectStmt
	at      parse.Pos // the SELECT keyword
	fromAt  parse.Pos
	from    *rel
	aliases map[string]bool
}

func (c *qctx) selectStmt(sel *ast.SelectStmt, at parse.Pos, top bool) (*rel, error) {
	if err := c.checkSelectUnsupported(sel, at); err != nil {
		return nil, err
	}
	si := &selectInfo{sel: sel, at: at, aliases: map[string]bool{}}
	for _, f := range sel.Fields.Fields {
		if f.AsName.L != "" {
			si.aliases[f.AsName.L] = true
		}
	}
	last := sel.Fields.Fields[len(sel.Fields.Fields)-1]
	si.fromAt = c.find("FROM", c.src.PosOfOffset(last.Offset))
	from, err := c.fromClause(sel.From.TableRefs, si.fromAt)
	if err != nil {
		return nil, err
	}
	si.from = from
	cur := from
	// WHERE, with the Top-N filter of a ranking subquery.
	if from.rank != nil && sel.Where == nil && sel.GroupBy == nil && sel.Having == nil && !hasAggOrWindow(sel) {
		// A plain projection of a ranking subquery passes the ranking on
		// to the enclosing query.
		return c.project(si, from, from.rank, top)
	}
	if from.rank != nil {
		cur, err = c.topNFilter(si)
		if err != nil {
			return nil, err
		}
	} else if sel.Where != nil {
		cond, err := c.condition(sel.Where, cur, si, "WHERE")
		if err != nil {
			return nil, err
		}
		cur = &rel{node: &logical.Filter{At: lpos(c.pos(sel.Where, at)), Input: cur.node, Cond: cond}, qual: cur.qual}
	}
	isAgg := sel.GroupBy != nil || sel.Having != nil
	var windows []*ast.WindowFuncExpr
	for _, f := range sel.Fields.Fields {
		if f.Expr == nil {
			continue
		}
		if findAgg(f.Expr) != nil {
			isAgg = true
		}
		windows = append(windows, findWindows(f.Expr)...)
	}
	if isAgg {
		if len(windows) > 0 {
			return nil, c.errorf(c.pos(windows[0], at), "%s() cannot be used in a query with GROUP BY or aggregates; aggregate in a subquery and rank in the enclosing query", strings.ToUpper(windows[0].Name))
		}
		return c.aggregate(si, cur, top)
	}
	if len(windows) > 0 {
		return c.over(si, cur, windows, top)
	}
	return c.project(si, cur, nil, top)
}

func hasAggOrWindow(sel *ast.SelectStmt) bool {
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil && (findAgg(f.Expr) != nil || len(findWindows(f.Expr)) > 0) {
			return true
		}
	}
	return false
}

func (c *qctx) checkSelectUnsupported(sel *ast.SelectStmt, at parse.Pos) error {
	switch {
	case sel.With != nil:
		return c.errorf(at, "WITH (common table expressions) is not supported")
	case sel.Kind != ast.SelectStmtKindSelect:
		return c.errorf(at, "only SELECT queries are supported (not VALUES or TABLE)")
	case sel.Distinct:
		return c.errorf(c.find("DISTINCT", at), "SELECT DISTINCT is not supported")
	case sel.OrderBy != nil:
		p := at
		if len(sel.OrderBy.Items) > 0 {
			p = c.pos(sel.OrderBy.Items[0].Expr, at)
		}
		return c.errorf(p, "ORDER BY is not supported on a stream (order rows inside ROW_NUMBER() OVER (...) for Top-N)")
	case sel.Limit != nil:
		return c.errorf(c.find("LIMIT", at), "LIMIT is not supported on a stream (use a Top-N query with ROW_NUMBER())")
	case len(sel.WindowSpecs) > 0:
		return c.errorf(c.find("WINDOW", at), "named windows (WINDOW w AS ...) are not supported")
	case sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone:
		return c.errorf(at, "SELECT ... FOR UPDATE is not supported")
	case sel.SelectIntoOpt != nil:
		return c.errorf(at, "SELECT ... INTO is not supported")
	case sel.GroupBy != nil && sel.GroupBy.Rollup:
		return c.errorf(c.find("ROLLUP", at), "GROUP BY ... WITH ROLLUP is not supported")
	case sel.Fields == nil || len(sel.Fields.Fields) == 0:
		return c.errorf(at, "empty SELECT list")
	case sel.From == nil || sel.From.TableRefs == nil:
		return c.errorf(at, "SELECT without FROM is not supported")
	}
	return nil
}

// fromClause analyzes a FROM clause: one table, subquery or window TVF.
func (c *qctx) fromClause(j *ast.Join, at parse.Pos) (*rel, error) {
	if j.Right != nil {
		return nil, c.errorf(c.find("JOIN", at), "JOIN is not supported (FROM takes one table, subquery or window function)")
	}
	switch x := j.Left.(type) {
	case *ast.TableSource:
		return c.tableSource(x, at)
	case *ast.Join:
		return c.fromClause(x, at)
	}
	return nil, c.errorf(at, "unsupported FROM clause")
}

func (c *qctx) tableSource(ts *ast.TableSource, at parse.Pos) (*rel, error) {
	if ts.Lateral {
		return nil, c.errorf(c.find("LATERAL", at), "LATERAL is not supported")
	}
	switch s := ts.Source.(type) {
	case *ast.TableName:
		if tvf := c.lookupTVF(s.Name.O); tvf != nil {
			r, err := c.windowTVF(tvf)
			if err != nil {
				return nil, err
			}
			r.qual = ts.AsName.O
			return r, nil
		}
		p := c.find(s.Name.O, at)
		if s.Schema.O != "" {
			return nil, c.errorf(c.find(s.Schema.O, at), "qualified table names (%s.%s) are not supported", s.Schema.O, s.Name.O)
		}
		scan, err := c.scan(s.Name.O, p)
		if err != nil {
			return nil, err
		}
		qual := s.Name.O
		if ts.AsName.O != "" {
			qual = ts.AsName.O
		}
		return &rel{node: scan, qual: qual}, nil
	case *ast.SelectStmt:
		p := c.find("SELECT", at)
		r, err := c.selectStmt(s, p, false)
		if err != nil {
			return nil, err
		}
		return &rel{node: r.node, qual: ts.AsName.O, rank: r.rank}, nil
	case *ast.SetOprStmt:
		return nil, c.errorf(at, "UNION, INTERSECT and EXCEPT are not supported")
	case *ast.Join:
		return nil, c.errorf(c.find("JOIN", at), "JOIN is not supported")
	}
	return nil, c.errorf(at, "unsupported FROM clause")
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

// scan reads catalog table name, written at p.
func (c *qctx) scan(name string, p parse.Pos) (*logical.Scan, error) {
	t, ok := c.a.cat.Lookup(name)
	if !ok {
		return nil, c.errorf(p, "unknown table '%s'", name)
	}
	if !t.IsSource() {
		return nil, c.errorf(p, "table '%s' cannot be read: connector '%s' is not a source", t.Name, t.Connector)
	}
	var wm *jobgraph.WatermarkSpec
	if t.Watermark != nil {
		w := *t.Watermark
		wm = &w
	}
	return &logical.Scan{At: lpos(p), Table: t.Ref(), Watermark: wm}, nil
}

// windowTVF analyzes TABLE(KIND(TABLE t, DESCRIPTOR(col), ...)).
func (c *qctx) windowTVF(tvf *parse.WindowTVF) (*rel, error) {
	scan, err := c.scan(tvf.Table, tvf.TablePos)
	if err != nil {
		return nil, err
	}
	schema := scan.Schema()
	idx := schema.Index(tvf.TimeCol.Name)
	if idx < 0 {
		return nil, c.errorf(tvf.TimeCol.At, "unknown column '%s' in table '%s'", tvf.TimeCol.Name, tvf.Table)
	}
	if ty := schema.Fields[idx].Type; !ty.RowTime {
		return nil, c.errorf(tvf.TimeCol.At, "the window function requires the time column to be a time attribute, but '%s' is %s (declare it with WATERMARK FOR %s AS ...)", schema.Fields[idx].Name, ty, schema.Fields[idx].Name)
	}
	kind := strings.ToUpper(tvf.Kind)
	spec := jobgraph.WindowSpec{TimeColumn: idx}
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
			spec.OffsetMs = args[1].Ms
			if abs(spec.OffsetMs) >= spec.SizeMs {
				return nil, c.errorf(args[1].At, "TUMBLE window offset must be smaller than its size in absolute value, got size %d ms and offset %d ms", spec.SizeMs, spec.OffsetMs)
			}
		}
	case "HOP":
		if err := arity(2, 3, "(TABLE t, DESCRIPTOR(col), slide, size [, offset])"); err != nil {
			return nil, err
		}
		spec.Kind, spec.SlideMs, spec.SizeMs = jobgraph.Hop, args[0].Ms, args[1].Ms
		if err := positive("slide", args[0]); err != nil {
			return nil, err
		}
		if err := positive("size", args[1]); err != nil {
			return nil, err
		}
		if spec.SizeMs%spec.SlideMs != 0 {
			return nil, c.errorf(args[1].At, "HOP window size must be an integral multiple of its slide, got size %d ms and slide %d ms", spec.SizeMs, spec.SlideMs)
		}
		if len(args) == 3 {
			spec.OffsetMs = args[2].Ms
			if abs(spec.OffsetMs) >= spec.SizeMs {
				return nil, c.errorf(args[2].At, "HOP window offset must be smaller than its size in absolute value, got size %d ms and offset %d ms", spec.SizeMs, spec.OffsetMs)
			}
		}
	case "CUMULATE":
		if err := arity(2, 3, "(TABLE t, DESCRIPTOR(col), step, max size [, offset])"); err != nil {
			return nil, err
		}
		spec.Kind, spec.SlideMs, spec.SizeMs = jobgraph.Cumulate, args[0].Ms, args[1].Ms
		if err := positive("step", args[0]); err != nil {
			return nil, err
		}
		if err := positive("max size", args[1]); err != nil {
			return nil, err
		}
		if spec.SizeMs%spec.SlideMs != 0 {
			return nil, c.errorf(args[1].At, "CUMULATE window max size must be an integral multiple of its step, got max size %d ms and step %d ms", spec.SizeMs, spec.SlideMs)
		}
		if len(args) == 3 {
			spec.OffsetMs = args[2].Ms
			if abs(spec.OffsetMs) >= spec.SizeMs {
				return nil, c.errorf(args[2].At, "CUMULATE window offset must be smaller than its max size in absolute value, got max size %d ms and offset %d ms", spec.SizeMs, spec.OffsetMs)
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
			return nil, c.errorf(p.At, "unknown column '%s' in table '%s'", p.Name, tvf.Table)
		}
		parts = append(parts, i)
	}
	node := &logical.WindowTVF{At: lpos(tvf.At), Input: scan, Window: spec, PartitionBy: parts}
	return &rel{node: node}, nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// condition binds a WHERE or HAVING condition, which must be BOOLEAN.
func (c *qctx) condition(e ast.ExprNode, r *rel, si *selectInfo, clause string) (*expr.Expr, error) {
	b := &binder{c: c, rel: r, clause: clause, aliases: si.aliases, at: si.at}
	cond, err := b.bind(e)
	if err != nil {
		return nil, err
	}
	return c.boolean(cond, c.pos(e, si.at), clause)
}

func (c *qctx) boolean(e *expr.Expr, p parse.Pos, clause string) (*expr.Expr, error) {
	if e.Type.Kind == types.Null {
		return retype(e, types.BooleanType), nil
	}
	if e.Type.Kind != types.Boolean {
		return nil, c.errorf(p, "%s condition must be BOOLEAN, not %s", clause, e.Type.Plain())
	}
	return e, nil
}

// topNFilter applies the enclosing WHERE of a ranking subquery: one of its
// conjuncts must bound the rank (rn <= N, rn < N or rn = N); that filter is
// put right above the ranking, the other conjuncts above it.
func (c *qctx) topNFilter(si *selectInfo) (*rel, error) {
	from := si.from
	rk := from.rank
	if si.sel.Where == nil {
		return nil, c.topNError(rk)
	}
	conj := splitAnd(si.sel.Where)
	var rankCond ast.ExprNode
	var rest []ast.ExprNode
	b := &binder{c: c, rel: from, clause: "WHERE", aliases: si.aliases, at: si.at}
	for _, e := range conj {
		if rankCond == nil && c.isRankBound(e, b, rk) {
			rankCond = e
			continue
		}
		rest = append(rest, e)
	}
	if rankCond == nil {
		return nil, c.topNError(rk)
	}
	// Bind the bound against the Over's output, where the rank is column
	// len(over input).
	overRel := &rel{node: rk.over, qual: from.qual}
	var cond *expr.Expr
	var err error
	if rk.proj == nil {
		cond, err = c.condition(rankCond, overRel, si, "WHERE")
	} else {
		cond, err = c.condition(rankCond, from, si, "WHERE")
		if err == nil {
			cond = remapColumns(cond, map[int]int{rk.col: rk.over.Input.Schema().Len()}, rk.over.Schema())
		}
	}
	if err != nil {
		return nil, err
	}
	// Normalize N >= rn to rn <= N.
	if flip, ok := map[string]string{expr.FuncGe: expr.FuncLe, expr.FuncGt: expr.FuncLt, expr.FuncEq: expr.FuncEq}[cond.Func]; ok &&
		cond.Kind == expr.KindCall && len(cond.Args) == 2 && cond.Args[0].Kind == expr.KindLiteral {
		cond = expr.Call(flip, cond.Type, cond.Args[1], cond.Args[0])
	}
	var node logical.Node = &logical.Filter{At: lpos(c.pos(rankCond, si.at)), Input: rk.over, Cond: cond}
	if rk.proj != nil {
		rk.proj.Input = node
		node = from.node
	}
	cur := &rel{node: node, qual: from.qual}
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
		cur = &rel{node: &logical.Filter{At: lpos(c.pos(rest[0], si.at)), Input: cur.node, Cond: all}, qual: cur.qual}
	}
	return cur, nil
}

// isRankBound reports whether e is rank <= N, rank < N or rank = N (or the
// mirrored forms) with an integer literal N.
func (c *qctx) isRankBound(e ast.ExprNode, b *binder, rk *pendingRank) bool {
	be, ok := unparen(e).(*ast.BinaryOperationExpr)
	if !ok {
		return false
	}
	isRank := func(x ast.ExprNode) bool {
		cn, ok := unparen(x).(*ast.ColumnNameExpr)
		if !ok {
			return false
		}
		i, err := b.resolve(cn)
		return err == nil && i == rk.col
	}
	isInt := func(x ast.ExprNode) bool {
		v, ok := unparen(x).(ast.ValueExpr)
		if !ok {
			return false
		}
		_, ok = v.GetValue().(int64)
		return ok && !isBoolLiteral(v)
	}
	switch be.Op {
	case opcode.LE, opcode.LT, opcode.EQ:
		if isRank(be.L) && isInt(be.R) {
			return true
		}
	}
	switch be.Op {
	case opcode.GE, opcode.GT, opcode.EQ:
		if isInt(be.L) && isRank(be.R) {
			return true
		}
	}
	return false
}

func splitAnd(e ast.ExprNode) []ast.ExprNode {
	if be, ok := unparen(e).(*ast.BinaryOperationExpr); ok && be.Op == opcode.LogicAnd {
		return append(splitAnd(be.L), splitAnd(be.R)...)
	}
	return []ast.ExprNode{e}
}

func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// remapColumns rewrites column references through m (old index -> new
// index), taking types from schema.
func remapColumns(e *expr.Expr, m map[int]int, schema types.Schema) *expr.Expr {
	switch e.Kind {
	case expr.KindColumn:
		if j, ok := m[e.Column]; ok {
			return expr.Col(j, schema.Fields[j].Type)
		}
		return e
	case expr.KindCall:
		args := make([]*expr.Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = remapColumns(a, m, schema)
		}
		return expr.Call(e.Func, e.Type, args...)
	}
	return e
}

// selectItem is one output column of a SELECT list.
type selectItem struct {
	e    *expr.Expr
	name string
	at   parse.Pos
}

// expandFields binds the SELECT list of si against r with b, expanding * and
// t.*.
func (c *qctx) expandFields(si *selectInfo, r *rel, b *binder, star func(i int, at parse.Pos) (*expr.Expr, error)) ([]selectItem, error) {
	var items []selectItem
	schema := r.node.Schema()
	for _, f := range si.sel.Fields.Fields {
		at := c.src.PosOfOffset(f.Offset)
		if f.WildCard != nil {
			if f.WildCard.Schema.O != "" {
				return nil, c.errorf(at, "qualified table names are not supported")
			}
			if t := f.WildCard.Table.O; t != "" && !strings.EqualFold(t, si.from.qual) {
				return nil, c.errorf(at, "unknown table '%s' in %s.*", t, t)
			}
			for i, fl := range schema.Fields {
				e, err := star(i, at)
				if err != nil {
					return nil, err
				}
				items = append(items, selectItem{e: e, name: fl.Name, at: at})
			}
			continue
		}
		e, err := b.bind(f.Expr)
		if err != nil {
			return nil, err
		}
		name := f.AsName.O
		if name == "" {
			if cn, ok := unparen(f.Expr).(*ast.ColumnNameExpr); ok {
				// The column's name as its table declares it.
				name = cn.Name.Name.O
				if i, err := b.resolve(cn); err == nil {
					name = schema.Fields[i].Name
				}
			} else {
				name = fmt.Sprintf("EXPR$%d", len(items))
			}
		}
		items = append(items, selectItem{e: e, name: name, at: at})
	}
	return items, nil
}

// project finishes a SELECT without aggregation or ranking: the SELECT
// list over cur. rank, when set, is cur's pending ranking, passed on.
func (c *qctx) project(si *selectInfo, cur *rel, rank *pendingRank, top bool) (*rel, error) {
	b := &binder{c: c, rel: cur, clause: "SELECT", at: si.at}
	items, err := c.expandFields(si, cur, b, func(i int, _ parse.Pos) (*expr.Expr, error) {
		return expr.Col(i, cur.node.Schema().Fields[i].Type), nil
	})
	if err != nil {
		return nil, err
	}
	return c.finishProject(si, cur, items, rank, top)
}

// finishProject builds the Project of a SELECT list (none when it would be
// the identity) and tracks a pending ranking through it.
func (c *qctx) finishProject(si *selectInfo, cur *rel, items []selectItem, rank *pendingRank, top bool) (*rel, error) {
	in := cur.node.Schema()
	exprs := make([]*expr.Expr, len(items))
	names := make([]string, len(items))
	fieldPos := make([]parse.Pos, len(items))
	identity := len(items) == len(in.Fields)
	for i, it := range items {
		if it.e.Type.Kind == types.Null && !top {
			return nil, c.errorf(it.at, "cannot infer the type of NULL here; use CAST(NULL AS type)")
		}
		if it.e.Type.Kind == types.Interval {
			return nil, c.errorf(it.at, "an INTERVAL cannot be a column; add it to a TIMESTAMP")
		}
		e := it.e
		exprs[i], names[i], fieldPos[i] = e, it.name, it.at
		if identity && (e.Kind != expr.KindColumn || e.Column != i || in.Fields[i].Name != it.name) {
			identity = false
		}
	}
	out := &rel{fieldPos: fieldPos}
	var proj *logical.Project
	if identity {
		out.node = cur.node
	} else {
		proj = &logical.Project{At: lpos(si.at), Input: cur.node, Exprs: exprs, Names: names}
		out.node = proj
	}
	if rank != nil {
		// rank.col is the rank's column in cur; find it in the output.
		rankCol := rank.col
		rank.col = -1
		for i, e := range exprs {
			if e.Kind == expr.KindColumn && e.Column == rankCol {
				rank.col = i
				rank.name = names[i]
				break
			}
		}
		if rank.col < 0 {
			return nil, c.errorf(rank.at, "%s() must be selected as a column so the enclosing query can filter it (Top-N)", rank.over.Func)
		}
		// The Top-N filter goes right above the ranking, below the
		// projections: it only reads the rank, which passes through.
		if rank.proj == nil {
			rank.proj = proj
		}
		out.rank = rank
	}
	return out, nil
}

// over handles a SELECT list with a ranking function: ROW_NUMBER() (or
// RANK, DENSE_RANK) OVER (PARTITION BY ... ORDER BY ...).
func (c *qctx) over(si *selectInfo, cur *rel, windows []*ast.WindowFuncExpr, top bool) (*rel, error) {
	w := windows[0]
	at := c.pos(w, si.at)
	if len(windows) > 1 {
		return nil, c.errorf(c.pos(windows[1], si.at), "only one ranking function per SELECT is supported")
	}
	var fn logical.RankFunc
	switch strings.ToLower(w.Name) {
	case "row_number":
		fn = logical.RowNumber
	case "rank":
		fn = logical.Rank
	case "dense_rank":
		fn = logical.DenseRank
	case "sum", "count", "avg", "min", "max":
		return nil, c.errorf(at, "OVER aggregation (%s(...) OVER (...)) is not supported", strings.ToUpper(w.Name))
	default:
		return nil, c.errorf(at, "window function %s() is not supported (supported: ROW_NUMBER, RANK, DENSE_RANK in Top-N queries)", strings.ToUpper(w.Name))
	}
	// The ranking must be a whole SELECT item.
	var item *ast.SelectField
	for _, f := range si.sel.Fields.Fields {
		if f.Expr != nil && unparen(f.Expr) == ast.ExprNode(w) {
			item = f
		}
	}
	if item == nil {
		return nil, c.errorf(at, "%s() must be a SELECT item of its own (with an alias), not part of an expression", fn)
	}
	if len(w.Args) > 0 {
		return nil, c.errorf(at, "%s() takes no arguments", fn)
	}
	spec := w.Spec
	switch {
	case spec.Name.O != "" || spec.Ref.O != "":
		return nil, c.errorf(at, "named windows are not supported; write OVER (PARTITION BY ... ORDER BY ...)")
	case spec.Frame != nil:
		return nil, c.errorf(at, "%s() does not take a window frame (ROWS/RANGE)", fn)
	case spec.OrderBy == nil || len(spec.OrderBy.Items) == 0:
		return nil, c.errorf(at, "%s() requires ORDER BY in its OVER clause", fn)
	case w.Distinct || w.IgnoreNull || w.FromLast:
		return nil, c.errorf(at, "unsupported options in %s()", fn)
	}
	b := &binder{c: c, rel: cur, clause: "OVER", at: si.at, aliases: si.aliases}
	inSchema := cur.node.Schema()
	var extra []*expr.Expr
	colOf := func(e ast.ExprNode) (int, error) {
		x, err := b.bind(e)
		if err != nil {
			return 0, err
		}
		if x.Type.Kind == types.Null || x.Type.Kind == types.Interval {
			return 0, c.errorf(c.pos(e, at), "cannot rank by %s", exprText(e))
		}
		if x.Kind == expr.KindColumn {
			return x.Column, nil
		}
		for i, y := range extra {
			if reflect.DeepEqual(x, y) {
				return inSchema.Len() + i, nil
			}
		}
		extra = append(extra, x)
		return inSchema.Len() + len(extra) - 1, nil
	}
	var parts []int
	if spec.PartitionBy != nil {
		for _, it := range spec.PartitionBy.Items {
			i, err := colOf(it.Expr)
			if err != nil {
				return nil, err
			}
			parts = append(parts, i)
		}
	}
	var keys []jobgraph.SortKey
	for _, it := range spec.OrderBy.Items {
		if _, ok := it.Expr.(*ast.PositionExpr); ok {
			return nil, c.errorf(at, "ORDER BY position is not supported in OVER; name the column")
		}
		i, err := colOf(it.Expr)
		if err != nil {
			return nil, err
		}
		nullsFirst := !it.Desc
		if nf, ok := c.q.NullsFirst[it.Expr.OriginTextPosition()]; ok {
			nullsFirst = nf
		}
		keys = append(keys, jobgraph.SortKey{Column: i, Desc: it.Desc, NullsFirst: nullsFirst})
	}
	input := cur.node
	if len(extra) > 0 {
		exprs := make([]*expr.Expr, 0, inSchema.Len()+len(extra))
		names := make([]string, 0, cap(exprs))
		for i, f := range inSchema.Fields {
			exprs = append(exprs, expr.Col(i, f.Type))
			names = append(names, f.Name)
		}
		for i, e := range extra {
			exprs = append(exprs, e)
			names = append(names, fmt.Sprintf("$f%d", inSchema.Len()+i))
		}
		input = &logical.Project{At: lpos(si.at), Input: input, Exprs: exprs, Names: names}
	}
	name := item.AsName.O
	if name == "" {
		name = fmt.Sprintf("EXPR$%d", len(si.sel.Fields.Fields)-1)
	}
	ov := &logical.Over{At: lpos(at), Input: input, Func: fn, PartitionBy: parts, OrderBy: keys, Name: name}
	rank := &pendingRank{over: ov, at: at, name: name, col: ov.Schema().Len() - 1}
	// The SELECT list binds against the FROM columns, which keep their
	// indices in the Over's output; the ranking itself is the last column.
	overRel := &rel{node: ov, qual: cur.qual}
	rankCol := ov.Schema().Len() - 1
	b2 := &binder{c: c, rel: cur, clause: "SELECT", at: si.at}
	b2.window = func(x *ast.WindowFuncExpr) *expr.Expr {
		if x == w {
			return expr.Col(rankCol, ov.Schema().Fields[rankCol].Type)
		}
		return nil
	}
	items, err := c.expandFields(si, cur, b2, func(i int, _ parse.Pos) (*expr.Expr, error) {
		return expr.Col(i, inSchema.Fields[i].Type), nil
	})
	if err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].e.Kind == expr.KindColumn && items[i].e.Column == rankCol {
			items[i].name = name
		}
	}
	return c.finishProject(si, overRel, items, rank, top)
}

func newNameRestoreCtx(w *strings.Builder) *format.RestoreCtx {
	return format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordUppercase|format.RestoreNameLowercase, w)
}

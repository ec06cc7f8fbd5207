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

// qctx is the analysis of one parsed query (a statement's, a view's or a
// computed column's).
type qctx struct {
	a   *analyzer
	q   *parse.Query
	src source
	// ctes are the common table expressions in scope.
	ctes *cteScope
}

// rel is an analyzed relation: a logical node whose output columns can be
// referred to by name, qualified by the name of the FROM item they come
// from (scope).
type rel struct {
	node  logical.Node
	scope []span
	// hint, when set, explains why a column name is unknown (e.g. a
	// computed column that another computed column refers to).
	hint func(name string) string
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
		return c.setOpr(s, at, top)
	}
	return nil, c.errorf(at, "unsupported query")
}

// selectAt returns where the SELECT keyword of sel is: right before its
// first item, which TiDB positions.
func (c *qctx) selectAt(sel *ast.SelectStmt, def parse.Pos) parse.Pos {
	if sel.Fields == nil || len(sel.Fields.Fields) == 0 {
		return def
	}
	first := c.src.PosOfOffset(sel.Fields.Fields[0].Offset)
	if p, ok := c.src.FindLast("SELECT", first); ok && p.Offset >= def.Offset {
		return p
	}
	return def
}

// selectInfo is the state of one SELECT being analyzed.
type selectInfo struct {
	sel     *ast.SelectStmt
	at      parse.Pos // the SELECT keyword
	fromAt  parse.Pos
	from    *rel
	aliases map[string]bool
	// cursor is where the search for the next FROM item's name starts.
	cursor parse.Pos
	// consumed holds the WHERE conjuncts that became the condition of a
	// comma join.
	consumed map[ast.ExprNode]bool
	// joins are the joins of the FROM clause and aggs the aggregations of
	// the SELECT, which STATE_TTL hints apply to.
	joins []*joinInputs
	aggs  []*logical.Aggregate
}

func (c *qctx) selectStmt(sel *ast.SelectStmt, at parse.Pos, top bool) (*rel, error) {
	if sel.With != nil {
		restore, err := c.withClause(sel.With, at)
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	at = c.selectAt(sel, at)
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
	si.cursor = si.fromAt
	from, err := c.fromClause(sel.From.TableRefs, si)
	if err != nil {
		return nil, err
	}
	si.from = from
	out, err := c.selectBody(si, top)
	if err != nil {
		return nil, err
	}
	if sel.Distinct {
		if out, err = c.distinct(si, out); err != nil {
			return nil, err
		}
		if agg, ok := out.node.(*logical.Aggregate); ok {
			si.aggs = append(si.aggs, agg)
		}
	}
	if err := c.stateTTLHints(si); err != nil {
		return nil, err
	}
	return out, nil
}

// selectBody analyzes a SELECT after its FROM clause: WHERE, then
// aggregation, ranking or a plain projection.
func (c *qctx) selectBody(si *selectInfo, top bool) (*rel, error) {
	sel, at, from := si.sel, si.at, si.from
	cur := from
	var err error
	// WHERE, with the Top-N filter of a ranking subquery.
	if from.rank != nil && sel.Where == nil && sel.GroupBy == nil && sel.Having == nil && !c.hasAggOrWindow(sel) {
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
		cur, err = c.where(si, cur)
		if err != nil {
			return nil, err
		}
	}
	isAgg := sel.GroupBy != nil || sel.Having != nil
	var windows []*ast.WindowFuncExpr
	for _, f := range sel.Fields.Fields {
		if f.Expr == nil {
			continue
		}
		if c.findAgg(f.Expr) != nil {
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

// distinct applies SELECT DISTINCT to the SELECT's result: an Aggregate
// grouped on every column, with no aggregate calls.
func (c *qctx) distinct(si *selectInfo, out *rel) (*rel, error) {
	at := c.find("DISTINCT", si.at)
	if out.rank != nil {
		return nil, c.errorf(at, "SELECT DISTINCT over %s() is not supported: filter the ranking first (Top-N) in a subquery", out.rank.over.Func)
	}
	return c.distinctRel(out, at)
}

// distinctRel groups r on all its columns.
func (c *qctx) distinctRel(r *rel, at parse.Pos) (*rel, error) {
	schema := r.node.Schema()
	keys := make([]int, schema.Len())
	for i, f := range schema.Fields {
		if f.Type.Kind == types.Null {
			return nil, c.errorf(at, "cannot infer the type of NULL in column '%s' for DISTINCT; use CAST(NULL AS type)", f.Name)
		}
		keys[i] = i
	}
	agg := &logical.Aggregate{At: lpos(at), Input: r.node, GroupKeys: keys}
	return &rel{node: agg, scope: r.scope, fieldPos: r.fieldPos}, nil
}

func (c *qctx) hasAggOrWindow(sel *ast.SelectStmt) bool {
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil && (c.findAgg(f.Expr) != nil || len(findWindows(f.Expr)) > 0) {
			return true
		}
	}
	return false
}

func (c *qctx) checkSelectUnsupported(sel *ast.SelectStmt, at parse.Pos) error {
	switch {
	case sel.Kind != ast.SelectStmtKindSelect:
		return c.errorf(at, "only SELECT queries are supported (not VALUES or TABLE)")
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
	overRel := from.same(rk.over)
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
	cur := from.same(node)
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
		cur = cur.same(&logical.Filter{At: lpos(c.pos(rest[0], si.at)), Input: cur.node, Cond: all})
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
			t := f.WildCard.Table.O
			if t != "" && !si.from.hasQual(t) {
				return nil, c.errorf(at, "unknown table '%s' in %s.* (%s)", t, t, si.from.fromDescription())
			}
			for _, i := range si.from.starColumns(t) {
				fl := schema.Fields[i]
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
	out := &rel{fieldPos: fieldPos, scope: []span{{n: len(items)}}}
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
	overRel := cur.same(ov)
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

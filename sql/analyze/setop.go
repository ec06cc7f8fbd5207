package analyze

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// setOpr analyzes q1 UNION ALL q2 ..., and UNION (UNION ALL, then
// DISTINCT). INTERSECT and EXCEPT are not supported yet. Operators apply
// left to right, as TiDB lists them.
func (c *qctx) setOpr(s *ast.SetOprStmt, at parse.Pos, top bool) (*rel, error) {
	if s.With != nil {
		restore, err := c.withClause(s.With, at)
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	if s.SelectList == nil || len(s.SelectList.Selects) == 0 {
		return nil, c.errorf(at, "empty UNION")
	}
	if s.OrderBy != nil {
		return nil, c.errorf(c.find("ORDER", at), "ORDER BY is not supported on a stream (order rows inside ROW_NUMBER() OVER (...) for Top-N)")
	}
	if s.Limit != nil {
		return nil, c.errorf(c.find("LIMIT", at), "LIMIT is not supported on a stream (use a Top-N query with ROW_NUMBER())")
	}
	r, _, err := c.setOprInputs(s.SelectList, at, top)
	return r, err
}

// setInput is one analyzed input of a set operation.
type setInput struct {
	r  *rel
	at parse.Pos
}

// setOprInputs analyzes the inputs of a set operation and combines them.
// It also returns where its last SELECT is, so that the caller looks for
// the next input after it.
func (c *qctx) setOprInputs(l *ast.SetOprSelectList, at parse.Pos, top bool) (*rel, parse.Pos, error) {
	if l.With != nil {
		restore, err := c.withClause(l.With, at)
		if err != nil {
			return nil, at, err
		}
		defer restore()
	}
	if l.OrderBy != nil {
		return nil, at, c.errorf(c.find("ORDER", at), "ORDER BY is not supported on a stream (order rows inside ROW_NUMBER() OVER (...) for Top-N)")
	}
	if l.Limit != nil {
		return nil, at, c.errorf(c.find("LIMIT", at), "LIMIT is not supported on a stream (use a Top-N query with ROW_NUMBER())")
	}
	var acc []setInput // the inputs of the UNION ALL being built
	cursor := at
	after := func(p parse.Pos) parse.Pos { return parse.Pos{Offset: p.Offset + 1, Line: p.Line, Col: p.Col + 1} }
	for i, n := range l.Selects {
		var op *ast.SetOprType
		var r *rel
		var p parse.Pos
		var err error
		switch x := n.(type) {
		case *ast.SelectStmt:
			op = x.AfterSetOperator
			p = c.selectAt(x, cursor)
			r, err = c.selectStmt(x, p, true)
			cursor = after(p)
		case *ast.SetOprSelectList:
			op = x.AfterSetOperator
			p = cursor
			if q, ok := c.src.Find("(", cursor); ok {
				p = q
			}
			var last parse.Pos
			r, last, err = c.setOprInputs(x, p, true)
			cursor = after(last)
		default:
			return nil, at, c.errorf(cursor, "unsupported query in a set operation")
		}
		if err != nil {
			return nil, at, err
		}
		if r.rank != nil {
			return nil, at, c.topNError(r.rank)
		}
		if i == 0 {
			acc = []setInput{{r: r, at: p}}
			continue
		}
		opAt := p
		if op == nil {
			return nil, at, c.errorf(p, "missing set operator")
		}
		switch *op {
		case ast.UnionAll:
			acc = append(acc, setInput{r: r, at: p})
		case ast.Union:
			if q, ok := c.src.FindLast("UNION", p); ok {
				opAt = q
			}
			u, err := c.unionAll(append(acc, setInput{r: r, at: p}), "UNION")
			if err != nil {
				return nil, at, err
			}
			d, err := c.distinctRel(u, opAt)
			if err != nil {
				return nil, at, err
			}
			acc = []setInput{{r: d, at: acc[0].at}}
		default:
			word := "INTERSECT"
			switch *op {
			case ast.Except, ast.ExceptAll:
				word = "EXCEPT"
			}
			if q, ok := c.src.FindLast(word, p); ok {
				opAt = q
			}
			return nil, at, c.errorf(opAt, "%s is not supported yet", op.String())
		}
	}
	last := cursor
	if len(acc) == 1 {
		return acc[0].r, last, c.checkTop(acc[0].r, acc[0].at, top)
	}
	u, err := c.unionAll(acc, "UNION ALL")
	if err != nil {
		return nil, at, err
	}
	return u, last, c.checkTop(u, acc[0].at, top)
}

// checkTop rejects an untyped NULL column where a type is needed: only the
// query of an INSERT may have one (the sink column types it).
func (c *qctx) checkTop(r *rel, at parse.Pos, top bool) error {
	if top {
		return nil
	}
	for i, f := range r.node.Schema().Fields {
		if f.Type.Kind == types.Null {
			p := at
			if i < len(r.fieldPos) {
				p = r.fieldPos[i]
			}
			return c.errorf(p, "cannot infer the type of NULL here; use CAST(NULL AS type)")
		}
	}
	return nil
}

// unionAll builds the Union of inputs: their columns are cast to common
// types (Flink's rules: the least restrictive type, nullable if any input
// is; a time attribute only if every input's column is one), and named
// after the first input's.
func (c *qctx) unionAll(inputs []setInput, what string) (*rel, error) {
	first := inputs[0].r.node.Schema()
	n := first.Len()
	target := make([]types.Type, n)
	for i, f := range first.Fields {
		target[i] = f.Type
	}
	for k, in := range inputs[1:] {
		s := in.r.node.Schema()
		if s.Len() != n {
			return nil, c.errorf(in.at, "%s: every query must have the same number of columns, but the first has %d and query %d has %d", what, n, k+2, s.Len())
		}
		for i, f := range s.Fields {
			ct, ok := commonType(target[i], f.Type)
			if !ok || ct.Kind == types.Interval {
				p := in.at
				if i < len(in.r.fieldPos) {
					p = in.r.fieldPos[i]
				}
				return nil, c.errorf(p, "%s: column %d ('%s') is %s in the first query but %s in query %d, and they have no common type", what, i+1, first.Fields[i].Name, target[i].Plain().Nullable(), f.Type.Plain().Nullable(), k+2)
			}
			ct.NotNull = target[i].NotNull && f.Type.NotNull
			ct.RowTime = target[i].RowTime && f.Type.RowTime
			ct.ProcTime = target[i].ProcTime && f.Type.ProcTime
			target[i] = ct
		}
	}
	// A column NULL in every input stays untyped (checkTop decides).
	nodes := make([]logical.Node, len(inputs))
	for k, in := range inputs {
		nodes[k] = conform(in.r, target, first)
	}
	u := &logical.Union{At: lpos(inputs[0].at), InputsNodes: nodes}
	return &rel{node: u, scope: []span{{n: n}}, fieldPos: inputs[0].r.fieldPos}, nil
}

// conform returns r's node with its columns of the types target and the
// names of names: r's node itself when they already are, else a Project.
func conform(r *rel, target []types.Type, names types.Schema) logical.Node {
	s := r.node.Schema()
	same := true
	for i, f := range s.Fields {
		if f.Type != target[i] || f.Name != names.Fields[i].Name {
			same = false
		}
	}
	if same {
		return r.node
	}
	exprs := make([]*expr.Expr, len(target))
	out := make([]string, len(target))
	var inputExprs []*expr.Expr
	input := r.node
	if p, ok := r.node.(*logical.Project); ok {
		// Fold the casts into the input's own projection.
		inputExprs, input = p.Exprs, p.Input
	}
	for i, f := range s.Fields {
		src := expr.Col(i, f.Type)
		if inputExprs != nil {
			src = inputExprs[i]
		}
		exprs[i] = retarget(src, target[i])
		out[i] = names.Fields[i].Name
	}
	at := r.node.Position()
	return &logical.Project{At: at, Input: input, Exprs: exprs, Names: out}
}

// retarget gives e exactly the type t: a cast when the values differ, else
// e with t's nullability and time-attribute markers.
func retarget(e *expr.Expr, t types.Type) *expr.Expr {
	if t.Kind == types.Null {
		return e
	}
	if e.Type.Kind == types.Null {
		return expr.NullLit(t.Plain().Nullable())
	}
	if !e.Type.SameValues(t) {
		e = castTo(e, t)
	}
	if e.Type == t {
		return e
	}
	if e.Kind == expr.KindColumn {
		return expr.Col(e.Column, t)
	}
	cp := *e // a literal or call: the same values, t's nullability and markers
	cp.Type = t
	return &cp
}

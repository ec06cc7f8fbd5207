package analyze

import (
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/catalog"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// newQctx starts the analysis of a parsed query.
func (a *analyzer) newQctx(q *parse.Query) *qctx {
	return &qctx{a: a, q: q, src: a.srcOf(q)}
}

// tableRel returns the relation a scan of table t (written at p) reads:
// the Scan of its physical columns, and for a table with computed columns
// a Project of all its columns in declared order (physical ones passed
// through, computed ones evaluated over the physical ones), then a
// WatermarkAssigner when the WATERMARK is on a computed column.
func (a *analyzer) tableRel(t *catalog.Table, p parse.Pos) (*rel, error) {
	var wm *jobgraph.WatermarkSpec
	if t.Watermark != nil {
		w := *t.Watermark
		wm = &w
	}
	scan := &logical.Scan{At: lpos(p), Table: t.Ref(), Watermark: wm}
	dl, err := a.deadLetter(t, p)
	if err != nil {
		return nil, err
	}
	scan.DeadLetter = dl
	if !t.HasComputed() {
		return single(scan, t.Name), nil
	}
	exprs, err := a.computed(t, scan)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		names[i] = col.Name
	}
	var node logical.Node = &logical.Project{At: lpos(p), Input: scan, Exprs: exprs, Names: names}
	if w := t.ComputedWatermark; w != nil {
		node = &logical.WatermarkAssigner{At: lpos(w.At), Input: node, Column: w.Column, DelayMs: w.DelayMs}
	}
	return single(node, t.Name), nil
}

// deadLetter resolves the dead-letter table of source table t (read at
// p), when its 'bad-records.policy' is 'dead-letter': a table of the
// script that can be written, whose columns are some of
// connectors.DeadLetterColumns, all STRING.
func (a *analyzer) deadLetter(t *catalog.Table, p parse.Pos) (*jobgraph.TableRef, error) {
	info := connectors.TableInfo{Name: t.Name, Options: t.Options}
	policy, err := connectors.BadRecordPolicy(info)
	if err != nil {
		return nil, a.errorf(p, "table '%s': %v", t.Name, err)
	}
	if policy != connectors.BadRecordsDeadLetter {
		return nil, nil
	}
	name := strings.TrimSpace(t.Options[connectors.OptBadRecordsDeadLetterTable])
	dt, ok := a.cat.Lookup(name)
	switch {
	case !ok:
		return nil, a.errorf(p, "table '%s' sends bad records to the dead-letter table '%s', which is not declared", t.Name, name)
	case !dt.IsSink():
		return nil, a.errorf(p, "table '%s' sends bad records to table '%s', whose connector '%s' cannot be written", t.Name, dt.Name, dt.Connector)
	case strings.EqualFold(dt.Name, t.Name):
		return nil, a.errorf(p, "table '%s' cannot be its own dead-letter table", t.Name)
	}
	for _, f := range dt.Schema.Fields {
		known := false
		for _, c := range connectors.DeadLetterColumns {
			known = known || strings.EqualFold(c, f.Name)
		}
		if !known || f.Type.Kind != types.String {
			return nil, a.errorf(p, "dead-letter table '%s' of table '%s': column '%s' %s: a dead-letter table has only STRING columns named %s",
				dt.Name, t.Name, f.Name, f.Type, strings.Join(connectors.DeadLetterColumns, ", "))
		}
	}
	ref := dt.Ref()
	return &ref, nil
}

// computed binds the columns of table t over its scan: physical columns as
// they are, computed ones from their expressions (which see the physical
// columns only, as in Flink). It checks a watermark on a computed column:
// the column must be a TIMESTAMP(3) or TIMESTAMP_LTZ(3), and not a
// processing-time attribute.
func (a *analyzer) computed(t *catalog.Table, scan *logical.Scan) ([]*expr.Expr, error) {
	schema := scan.Schema()
	phys := single(scan, t.Name)
	phys.hint = func(name string) string {
		for _, col := range t.Columns {
			if col.Physical < 0 && strings.EqualFold(col.Name, name) {
				return "a computed column can only refer to physical columns, and '" + col.Name + "' is computed"
			}
		}
		return ""
	}
	exprs := make([]*expr.Expr, len(t.Columns))
	for i, col := range t.Columns {
		if col.Physical >= 0 {
			exprs[i] = expr.Col(col.Physical, schema.Fields[col.Physical].Type)
			continue
		}
		c := a.newQctx(col.Query)
		clause := "a computed column"
		if x := c.findAgg(col.Expr); x != nil {
			return nil, c.errorf(c.pos(x, col.ExprPos), "aggregate functions are not allowed in %s", clause)
		}
		if ws := findWindows(col.Expr); len(ws) > 0 {
			return nil, c.errorf(c.pos(ws[0], col.ExprPos), "window functions are not allowed in %s", clause)
		}
		b := &binder{c: c, rel: phys, clause: clause, at: col.ExprPos}
		e, err := b.bind(col.Expr)
		if err != nil {
			return nil, err
		}
		switch e.Type.Kind {
		case types.Null:
			return nil, c.errorf(col.ExprPos, "cannot infer the type of computed column '%s' from NULL; use CAST(NULL AS type)", col.Name)
		case types.Interval:
			return nil, c.errorf(col.ExprPos, "computed column '%s' cannot be an INTERVAL; add it to a TIMESTAMP", col.Name)
		}
		if e.Kind == expr.KindCall && e.Func == expr.FuncProcTime {
			// PROCTIME() as the whole expression declares a
			// processing-time attribute.
			t := e.Type
			t.ProcTime, t.NotNull = true, true
			cp := *e
			cp.Type = t
			e = &cp
		} else if e.Type.ProcTime || e.Type.RowTime {
			// An expression over a time attribute is a plain value.
			cp := *e
			cp.Type = e.Type.Plain()
			e = &cp
		}
		exprs[i] = e
	}
	if w := t.ComputedWatermark; w != nil {
		col := t.Columns[w.Column]
		ty := exprs[w.Column].Type
		c := a.newQctx(col.Query)
		switch {
		case ty.ProcTime:
			return nil, c.errorf(w.ColumnPos, "a watermark cannot be defined on processing-time attribute '%s'", col.Name)
		case ty.Kind != types.Timestamp || ty.Precision != 3:
			return nil, c.errorf(w.ColumnPos, "WATERMARK FOR column '%s' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not %s", col.Name, ty.Plain())
		}
	}
	return exprs, nil
}

// createTable adds the table of a CREATE TABLE statement to the catalog
// and checks its computed columns.
func (a *analyzer) createTable(s *parse.CreateTable) error {
	t, err := a.cat.Create(s)
	if err != nil {
		return err
	}
	if t != nil && t.HasComputed() {
		_, err = a.tableRel(t, s.NamePos)
	}
	return err
}

// createView checks the query of a CREATE VIEW statement and adds the view
// to the catalog.
func (a *analyzer) createView(s *parse.CreateView) error {
	if a.cat.ViewExists(s) {
		return nil
	}
	if err := a.cat.CheckName(s.Name, s.NamePos); err != nil {
		return err
	}
	if s.Query == nil || s.Query.Node == nil {
		return a.errorf(s.At, "CREATE VIEW %s has no query", s.Name)
	}
	c := a.newQctx(s.Query)
	r, err := c.resultSet(s.Query.Node, c.src.Start(), false)
	if err != nil {
		return err
	}
	// A view may end in a ranking: the queries that use it filter it
	// (Top-N).
	_, err = a.cat.CreateView(s, r.node.Schema())
	return err
}

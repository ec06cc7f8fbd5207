package analyze

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/catalog"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// cteScope holds the common table expressions of one WITH clause; parent
// is the enclosing scope.
type cteScope struct {
	parent *cteScope
	defs   map[string]*cteDef
}

// cteDef is one common table expression: name [(columns)] AS (query).
type cteDef struct {
	name  string
	at    parse.Pos // its name in the WITH clause
	cols  []ast.CIStr
	query ast.ResultSetNode
	// queryAt is where its query starts.
	queryAt parse.Pos
	// scope is what its query sees: the expressions defined before it.
	scope *cteScope
}

// lookup finds the common table expression called name, innermost first.
func (s *cteScope) lookup(name string) *cteDef {
	for ; s != nil; s = s.parent {
		if d, ok := s.defs[strings.ToLower(name)]; ok {
			return d
		}
	}
	return nil
}

// withClause brings the common table expressions of w into scope for the
// query that follows it (at is where the query starts). Each is checked
// once here, and expands (is analyzed again) wherever it is used. restore
// takes them out of scope again.
func (c *qctx) withClause(w *ast.WithClause, at parse.Pos) (restore func(), err error) {
	outer := c.ctes
	restore = func() { c.ctes = outer }
	if w.IsRecursive {
		return restore, c.errorf(c.find("RECURSIVE", at), "WITH RECURSIVE is not supported")
	}
	cursor := at
	if p, ok := c.src.Find("WITH", at); ok {
		cursor = p
	}
	scope := &cteScope{parent: outer, defs: map[string]*cteDef{}}
	for _, cte := range w.CTEs {
		p := c.find(cte.Name.O, cursor)
		if cte.Query != nil && cte.Query.OriginTextPosition() > 0 {
			// The name is the last one before the query's '('.
			if q, ok := c.src.FindLast(cte.Name.O, c.src.PosOfOffset(cte.Query.OriginTextPosition())); ok {
				p = q
			}
		}
		cursor = parse.Pos{Offset: p.Offset + 1, Line: p.Line, Col: p.Col + 1}
		key := cte.Name.L
		if _, dup := scope.defs[key]; dup {
			return restore, c.errorf(p, "WITH defines '%s' twice", cte.Name.O)
		}
		if cte.Query == nil || cte.Query.Query == nil {
			return restore, c.errorf(p, "WITH %s has no query", cte.Name.O)
		}
		qAt := c.find("SELECT", p)
		// What the expression sees: the ones before it, not itself.
		seen := &cteScope{parent: outer, defs: map[string]*cteDef{}}
		for k, d := range scope.defs {
			seen.defs[k] = d
		}
		def := &cteDef{name: cte.Name.O, at: p, cols: cte.ColNameList, query: cte.Query.Query, queryAt: qAt, scope: seen}
		// Check it now, so that an error points at its definition even if
		// it is never used.
		if _, err := c.expandCTE(def); err != nil {
			return restore, err
		}
		scope.defs[key] = def
	}
	c.ctes = scope
	return restore, nil
}

// expandCTE analyzes a common table expression where it is used: a fresh
// plan of its query, its columns renamed by its column list.
func (c *qctx) expandCTE(def *cteDef) (*rel, error) {
	saved := c.ctes
	c.ctes = def.scope
	r, err := c.resultSet(def.query, def.queryAt, false)
	c.ctes = saved
	if err != nil {
		return nil, err
	}
	if len(def.cols) > 0 {
		n := r.node.Schema().Len()
		if len(def.cols) != n {
			return nil, c.errorf(def.at, "WITH %s names %s but its query produces %d", def.name, plural(len(def.cols), "column"), n)
		}
		names := make([]string, n)
		for i, col := range def.cols {
			names[i] = col.O
		}
		r = renameRel(r, names, def.at)
	}
	r.requalify(def.name)
	return r, nil
}

// expandView analyzes a view where it is used: a fresh plan of its query
// (positions in the view's definition), its columns named as the view's.
func (a *analyzer) expandView(v *catalog.View) (*rel, error) {
	vc := a.newQctx(v.Query)
	r, err := vc.resultSet(v.Query.Node, vc.src.Start(), false)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(v.Schema.Fields))
	for i, f := range v.Schema.Fields {
		names[i] = f.Name
	}
	if len(names) != r.node.Schema().Len() {
		return nil, vc.errorf(v.At, "view '%s' changed: it has %d columns, its query now produces %d", v.Name, len(names), r.node.Schema().Len())
	}
	r = renameRel(r, names, v.At)
	r.requalify(v.Name)
	return r, nil
}

// renameRel names r's columns names, with a Project that passes them
// through when a name changes. A pending ranking passes through too.
func renameRel(r *rel, names []string, at parse.Pos) *rel {
	schema := r.node.Schema()
	same := true
	for i, f := range schema.Fields {
		if f.Name != names[i] {
			same = false
		}
	}
	if same {
		return r
	}
	exprs := make([]*expr.Expr, len(names))
	for i, f := range schema.Fields {
		exprs[i] = expr.Col(i, f.Type)
	}
	proj := &logical.Project{At: lpos(at), Input: r.node, Exprs: exprs, Names: append([]string(nil), names...)}
	out := &rel{node: proj, scope: r.scope, fieldPos: r.fieldPos, rank: r.rank}
	if rk := r.rank; rk != nil {
		rk.name = names[rk.col]
		if rk.proj == nil {
			rk.proj = proj
		}
	}
	return out
}

package analyze

import (
	"context"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/catalog"
	"github.com/eddy-streaming/eddy/sql/parse"
	"github.com/eddy-streaming/eddy/udf"
)

// PrintConnector is the connector a bare SELECT statement writes into.
const PrintConnector = "print"

// source is what the analyzer needs from a parsed query besides its AST:
// positions in the user's text and the rewrites the parser made.
// *parse.Query implements it.
type source interface {
	Start() parse.Pos
	PosOfOffset(off int) parse.Pos
	Find(name string, from parse.Pos) (parse.Pos, bool)
	FindLast(name string, before parse.Pos) (parse.Pos, bool)
	CastType(c *ast.FuncCastExpr) (parse.CastTarget, bool)
}

// Analyze binds and type-checks every statement of script against a catalog
// built from its CREATE TABLE statements and returns the job's logical plan.
// Errors are *parse.Error positioned in the user's text.
func Analyze(ctx context.Context, script *parse.Script, reg *connectors.Registry) (*logical.Script, error) {
	return AnalyzeWith(ctx, script, Env{Connectors: reg})
}

// Env is what a script is analyzed against besides its own statements.
type Env struct {
	// Connectors holds the connectors tables may use.
	Connectors *connectors.Registry
	// Functions holds the user-defined functions queries may call (nil:
	// none).
	Functions *udf.Registry
}

// AnalyzeWith is Analyze with user-defined functions.
func AnalyzeWith(ctx context.Context, script *parse.Script, env Env) (*logical.Script, error) {
	a := newAnalyzer(script.File, env.Connectors, func(q *parse.Query) source { return q })
	a.funcs = env.Functions
	return a.script(ctx, script)
}

type analyzer struct {
	file   string
	reg    *connectors.Registry
	funcs  *udf.Registry
	cat    *catalog.Catalog
	srcOf  func(*parse.Query) source
	prints int
	// explained counts the queries EXPLAIN statements show.
	explained int
}

func newAnalyzer(file string, reg *connectors.Registry, srcOf func(*parse.Query) source) *analyzer {
	if reg == nil {
		reg = connectors.NewRegistry()
	}
	return &analyzer{file: file, reg: reg, cat: catalog.New(reg, file), srcOf: srcOf}
}

func (a *analyzer) errorf(p parse.Pos, format string, args ...any) *parse.Error {
	return &parse.Error{File: a.file, Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func lpos(p parse.Pos) logical.Pos { return logical.Pos{Line: p.Line, Col: p.Col} }

func (a *analyzer) script(ctx context.Context, script *parse.Script) (*logical.Script, error) {
	out := &logical.Script{Config: map[string]string{}}
	for _, st := range script.Stmts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		switch s := st.(type) {
		case *parse.CreateTable:
			if err := a.createTable(s); err != nil {
				return nil, err
			}
		case *parse.CreateView:
			if err := a.createView(s); err != nil {
				return nil, err
			}
		case *parse.Set:
			out.Config[s.Key] = s.Value
		case *parse.Insert:
			sink, err := a.insert(s)
			if err != nil {
				return nil, err
			}
			out.Sinks = append(out.Sinks, sink)
		case *parse.Select:
			sink, err := a.bareSelect(s, &a.prints)
			if err != nil {
				return nil, err
			}
			out.Sinks = append(out.Sinks, sink)
		case *parse.Explain:
			ex, err := a.explain(s)
			if err != nil {
				return nil, err
			}
			out.Explains = append(out.Explains, ex)
		default:
			return nil, a.errorf(st.Start(), "unsupported statement")
		}
	}
	return out, nil
}

// explain plans the statement of an EXPLAIN: its sink is shown, not run.
func (a *analyzer) explain(s *parse.Explain) (*logical.Explain, error) {
	ex := &logical.Explain{At: lpos(s.At)}
	for _, d := range s.Details {
		ex.Details = append(ex.Details, d.Name)
	}
	var sink *logical.Sink
	var err error
	switch x := s.Stmt.(type) {
	case *parse.Insert:
		sink, err = a.insert(x)
	case *parse.Select:
		sink, err = a.bareSelect(x, &a.explained)
	default:
		return nil, a.errorf(s.Stmt.Start(), "EXPLAIN takes a query or an INSERT INTO statement")
	}
	if err != nil {
		return nil, err
	}
	ex.Sinks = []*logical.Sink{sink}
	return ex, nil
}

// topQuery analyzes the query of an INSERT or bare SELECT statement.
func (a *analyzer) topQuery(q *parse.Query, allowUntypedNull bool) (*rel, *qctx, error) {
	if q == nil || q.Node == nil {
		return nil, nil, a.errorf(parse.Pos{Line: 1, Col: 1}, "missing query")
	}
	c := a.newQctx(q)
	r, err := c.resultSet(q.Node, c.src.Start(), allowUntypedNull)
	if err != nil {
		return nil, nil, err
	}
	if r.rank != nil {
		return nil, nil, c.topNError(r.rank)
	}
	return r, c, nil
}

// bareSelect plans a SELECT statement: its rows go to a print table named
// query_N, N counted by *n.
func (a *analyzer) bareSelect(s *parse.Select, n *int) (*logical.Sink, error) {
	r, _, err := a.topQuery(s.Query, false)
	if err != nil {
		return nil, err
	}
	f, ok := a.reg.Lookup(PrintConnector)
	if !ok {
		return nil, a.errorf(s.At, "a SELECT statement writes its rows to the '%s' connector, which is not registered; use INSERT INTO a table", PrintConnector)
	}
	if _, ok := f.(connectors.SinkFactory); !ok {
		return nil, a.errorf(s.At, "a SELECT statement writes its rows to the '%s' connector, which cannot write", PrintConnector)
	}
	*n++
	in := r.node.Schema()
	schema := types.Schema{Fields: make([]types.Field, len(in.Fields))}
	for i, fl := range in.Fields {
		schema.Fields[i] = types.Field{Name: fl.Name, Type: fl.Type.Plain()}
	}
	ref := jobgraph.TableRef{
		Table:     fmt.Sprintf("query_%d", *n),
		Connector: PrintConnector,
		Options:   map[string]string{"connector": PrintConnector},
		Schema:    schema,
	}
	return &logical.Sink{At: lpos(s.At), Input: r.node, Table: ref}, nil
}

func (a *analyzer) insert(s *parse.Insert) (*logical.Sink, error) {
	t, ok := a.cat.Lookup(s.Table)
	if !ok {
		if _, isView := a.cat.LookupView(s.Table); isView {
			return nil, a.errorf(s.TablePos, "cannot INSERT INTO view '%s': a view is a query; insert into a table", s.Table)
		}
		return nil, a.errorf(s.TablePos, "unknown table '%s'", s.Table)
	}
	if !t.IsSink() {
		return nil, a.errorf(s.TablePos, "cannot INSERT INTO table '%s': connector '%s' cannot be written", t.Name, t.Connector)
	}
	r, c, err := a.topQuery(s.Query, true)
	if err != nil {
		return nil, err
	}
	target := t.Schema.Fields
	// targets[i] is the table column query column i goes to.
	targets := make([]int, 0, len(target))
	if s.Columns == nil {
		for i := range target {
			targets = append(targets, i)
		}
	} else {
		seen := map[int]bool{}
		for _, col := range s.Columns {
			j := t.Schema.Index(col.Name)
			if j < 0 {
				for _, tc := range t.Columns {
					if tc.Physical < 0 && strings.EqualFold(tc.Name, col.Name) {
						return nil, a.errorf(col.At, "column '%s' of table '%s' is computed and cannot be written", col.Name, t.Name)
					}
				}
				return nil, a.errorf(col.At, "unknown column '%s' in table '%s'", col.Name, t.Name)
			}
			if seen[j] {
				return nil, a.errorf(col.At, "column '%s' is listed twice", col.Name)
			}
			seen[j] = true
			targets = append(targets, j)
		}
		for j, f := range target {
			if !seen[j] && f.Type.NotNull {
				return nil, a.errorf(s.TablePos, "column '%s' of table '%s' is NOT NULL and gets no value from the column list", f.Name, t.Name)
			}
		}
	}
	in := r.node.Schema()
	if len(in.Fields) != len(targets) {
		if s.Columns != nil {
			return nil, a.errorf(c.src.Start(), "INSERT INTO %s: the column list names %s but the query produces %s", t.Name, plural(len(targets), "column"), plural(len(in.Fields), "column"))
		}
		return nil, a.errorf(c.src.Start(), "INSERT INTO %s: the query produces %s but table '%s' has %s", t.Name, plural(len(in.Fields), "column"), t.Name, plural(len(targets), "column"))
	}
	// Expressions feeding each table column, in table order.
	var inputExprs []*expr.Expr
	if p, ok := r.node.(*logical.Project); ok {
		inputExprs = p.Exprs
	}
	exprs := make([]*expr.Expr, len(target))
	for i, j := range targets {
		src := expr.Col(i, in.Fields[i].Type)
		if inputExprs != nil {
			src = inputExprs[i]
		}
		want := target[j].Type
		pos := c.src.Start()
		if i < len(r.fieldPos) {
			pos = r.fieldPos[i]
		}
		if src.Type.Kind == types.Null {
			exprs[j] = expr.NullLit(want.Nullable())
			continue
		}
		if !implicitCast(src.Type, want) {
			return nil, a.errorf(pos, "INSERT INTO %s: column '%s' is %s, but the query gives %s, which does not cast to it implicitly (use CAST)", t.Name, target[j].Name, want.Nullable(), src.Type.Plain().Nullable())
		}
		exprs[j] = castTo(src, want)
	}
	for j := range exprs {
		if exprs[j] == nil {
			exprs[j] = expr.NullLit(target[j].Type.Nullable())
		}
	}
	ref := t.Ref()
	sinkAt := lpos(s.At)
	// Keep the input when it already matches the table column for column.
	identity := inputExprs == nil
	if identity {
		for j, e := range exprs {
			if e.Kind != expr.KindColumn || e.Column != j || !e.Type.SameValues(target[j].Type) || in.Fields[j].Name != target[j].Name {
				identity = false
				break
			}
		}
	}
	if identity {
		return &logical.Sink{At: sinkAt, Input: r.node, Table: ref}, nil
	}
	input := r.node
	if p, ok := r.node.(*logical.Project); ok {
		input = p.Input
	}
	names := make([]string, len(target))
	for j, f := range target {
		names[j] = f.Name
	}
	proj := &logical.Project{At: r.node.Position(), Input: input, Exprs: exprs, Names: names}
	return &logical.Sink{At: sinkAt, Input: proj, Table: ref}, nil
}

// exprText renders an AST node as SQL for error messages.
func exprText(n ast.Node) string {
	var sb strings.Builder
	if err := n.Restore(newRestoreCtx(&sb)); err != nil {
		return fmt.Sprintf("%T", n)
	}
	return sb.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

package parse

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Start returns where the statement begins in the script.
func (s *CreateTable) Start() Pos { return s.At }

// Source returns the statement's original text.
func (s *CreateTable) Source() string { return s.Text }

// Start returns where the statement begins in the script.
func (s *Insert) Start() Pos { return s.At }

// Source returns the statement's original text.
func (s *Insert) Source() string { return s.Text }

// Start returns where the statement begins in the script.
func (s *Select) Start() Pos { return s.At }

// Source returns the statement's original text.
func (s *Select) Source() string { return s.Text }

// Start returns where the statement begins in the script.
func (s *Set) Start() Pos { return s.At }

// Start returns where the statement begins in the script.
func (s *CreateView) Start() Pos { return s.At }

// Source returns the statement's original text.
func (s *CreateView) Source() string { return s.Text }

// Start returns where the statement begins in the script.
func (s *Explain) Start() Pos { return s.At }

// Source returns the statement's original text.
func (s *Explain) Source() string { return s.Text }

// Source returns the statement's original text.
func (s *Set) Source() string { return s.Text }

// Start returns where the query begins in the user's text.
func (q *Query) Start() Pos {
	if q == nil || q.stmt == nil {
		return Pos{Line: 1, Col: 1}
	}
	return q.stmt.src.pos(q.stmt.start)
}

// PosOfOffset maps a byte offset in the rewritten text that TiDB saw (for
// example ast.SelectField.Offset or an expression's OriginTextPosition())
// back to the user's text. An offset inside text the rewrite wrote (a
// window TVF placeholder, a CAST target) maps to the start of the user's
// construct it stands for; an offset past the end maps to the end of the
// query.
func (q *Query) PosOfOffset(off int) Pos {
	if q == nil || q.stmt == nil {
		return Pos{Line: 1, Col: 1}
	}
	return q.stmt.src.pos(q.stmt.pm.orig(off))
}

// Find returns the position of the first token of the query, at or after
// from (use Pos{} for the start), that is the identifier or keyword name
// (case-insensitive; quoted identifiers match their unquoted name). An
// operator or punctuation name ("*", "(") matches that token. It is how
// the analyzer positions errors about nodes TiDB does not position.
func (q *Query) Find(name string, from Pos) (Pos, bool) {
	if q == nil || q.stmt == nil {
		return Pos{}, false
	}
	for _, t := range q.stmt.toks {
		if t.start < from.Offset {
			continue
		}
		switch t.kind {
		case tokIdent, tokQuoted:
			if strings.EqualFold(t.val, name) {
				return q.stmt.src.pos(t.start), true
			}
		case tokOp:
			if t.val == name {
				return q.stmt.src.pos(t.start), true
			}
		}
	}
	return Pos{}, false
}

// FindLast returns the position of the last token of the query before
// before that is the identifier, keyword or operator name (as Find
// matches). It locates the keyword that starts a construct whose later
// parts TiDB positions, e.g. the SELECT of a SELECT list or the JOIN of an
// ON condition.
func (q *Query) FindLast(name string, before Pos) (Pos, bool) {
	if q == nil || q.stmt == nil {
		return Pos{}, false
	}
	for k := len(q.stmt.toks) - 1; k >= 0; k-- {
		t := q.stmt.toks[k]
		if t.start >= before.Offset {
			continue
		}
		switch t.kind {
		case tokIdent, tokQuoted:
			if strings.EqualFold(t.val, name) {
				return q.stmt.src.pos(t.start), true
			}
		case tokOp:
			if t.val == name {
				return q.stmt.src.pos(t.start), true
			}
		}
	}
	return Pos{}, false
}

// AggFilter returns the condition of agg(...) FILTER (WHERE cond), given
// the aggregate call, or false when the call has no FILTER clause. TiDB
// does not parse FILTER: the rewrite wraps the call and its condition, and
// the parser unwraps them after TiDB parsed the query.
func (q *Query) AggFilter(a *ast.AggregateFuncExpr) (ast.ExprNode, bool) {
	if q == nil || q.stmt == nil || a == nil {
		return nil, false
	}
	e, ok := q.stmt.aggFilters[a]
	return e, ok
}

// TableFunc returns the table function call that the rewrite of
// [LATERAL] TABLE(f(args)) left in the query, given the call f(args) (the
// only field of the derived table's SELECT), or false when call is an
// ordinary function call. As for CAST, the marker is the call's own offset,
// so no user SQL can imitate it.
func (q *Query) TableFunc(call *ast.FuncCallExpr) (TableFunc, bool) {
	if q == nil || q.stmt == nil || call == nil {
		return TableFunc{}, false
	}
	i, ok := q.stmt.tfuncs[call.OriginTextPosition()]
	if !ok {
		return TableFunc{}, false
	}
	return q.stmt.tfList[i], true
}

// IsFullJoin reports whether j is a FULL [OUTER] JOIN. TiDB has no full
// join: the rewrite writes LEFT JOIN ... ON __eddy_full(cond) in its place,
// and the parser unwraps the condition and remembers the join.
func (q *Query) IsFullJoin(j *ast.Join) bool {
	if q == nil || q.stmt == nil || j == nil {
		return false
	}
	return q.stmt.fullJoins[j]
}

// SystemTime returns the FOR SYSTEM_TIME AS OF clause written after the
// table tn of a FROM clause, or false when there is none.
func (q *Query) SystemTime(tn *ast.TableName) (SystemTime, bool) {
	if q == nil || q.stmt == nil || tn == nil || tn.AsOf == nil || tn.AsOf.TsExpr == nil {
		return SystemTime{}, false
	}
	st, ok := q.stmt.systemTimes[tn.AsOf.TsExpr.OriginTextPosition()]
	if !ok {
		return SystemTime{}, false
	}
	col, isCol := tn.AsOf.TsExpr.(*ast.ColumnNameExpr)
	if !isCol {
		return SystemTime{}, false
	}
	st.Column = col
	return st, true
}

// Hints returns the query hints written right after the SELECT keyword of
// sel (SELECT /*+ STATE_TTL(...) */ ...), in written order, or nil.
func (q *Query) Hints(sel *ast.SelectStmt) []Hint {
	if q == nil || q.stmt == nil || sel == nil {
		return nil
	}
	for _, h := range sel.TableHints {
		if h == nil || !strings.EqualFold(h.HintName.O, "qb_name") {
			continue
		}
		if hs, ok := q.stmt.hints[h.QBName.L]; ok {
			return hs
		}
	}
	return nil
}

// IsPlaceholder reports whether name is one the rewrite made up (it starts
// with the reserved prefix no user identifier may have), such as the alias
// of an unnamed table function call.
func IsPlaceholder(name string) bool { return hasReservedPrefix(name) }

// CastType returns the Flink target type of a CAST that the rewrite marked,
// or false if c is not a marked cast.
//
// The marker is the cast's own position: the rewrite records the offset in
// the rewritten text of every CAST (or TRY_CAST, rewritten to CAST) it
// saw, and TiDB gives the *ast.FuncCastExpr of a CAST that same offset
// (OriginTextPosition). Nothing is added to the text, so no user SQL can
// collide with the marker; a cast TiDB builds from other syntax (CONVERT,
// BINARY x) is not marked.
func (q *Query) CastType(c *ast.FuncCastExpr) (CastTarget, bool) {
	if q == nil || q.stmt == nil || c == nil || c.FunctionType != ast.CastFunction {
		return CastTarget{}, false
	}
	i, ok := q.stmt.casts[c.OriginTextPosition()]
	if !ok {
		return CastTarget{}, false
	}
	return q.Casts[i], true
}

// Interval returns the interval of INTERVAL 'n' UNIT in an expression,
// given the value node TiDB made of it (the second argument of the
// DATE_ADD or DATE_SUB call that ts + INTERVAL ... becomes), or false if v
// is not such a literal. Flink's plural units (SECONDS) were rewritten to
// TiDB's singular ones; Ms is exact, including fractional seconds.
func (q *Query) Interval(v ast.ExprNode) (Interval, bool) {
	if q == nil || q.stmt == nil || v == nil {
		return Interval{}, false
	}
	if _, ok := v.(ast.ValueExpr); !ok {
		return Interval{}, false
	}
	iv, ok := q.stmt.intervals[v.OriginTextPosition()]
	return iv, ok
}

// Text returns the rewritten text TiDB parsed for the query.
func (q *Query) Text() string {
	if q == nil || q.stmt == nil {
		return ""
	}
	return q.stmt.text
}

// Errorf returns an *Error at p in the script file of q.
func (q *Query) Errorf(p Pos, format string, args ...any) *Error {
	file := ""
	if q != nil && q.stmt != nil {
		file = q.stmt.src.file
	}
	return &Error{File: file, Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// check rejects what TiDB parses but Eddy must not silently ignore.
func (q *Query) check() error {
	var err error
	ast.Node(q.Node).Accept(&checker{q: q, err: &err})
	return err
}

// checker is the visitor of Query.check.
type checker struct {
	q   *Query
	err *error
}

func (v *checker) Enter(n ast.Node) (ast.Node, bool) {
	if *v.err != nil {
		return n, true
	}
	at := func(word string) Pos {
		if p, ok := v.q.Find(word, Pos{}); ok {
			return p
		}
		return v.q.Start()
	}
	switch s := n.(type) {
	case *ast.SelectStmt:
		switch {
		case s.With != nil && s.With.IsRecursive:
			*v.err = v.q.Errorf(at("RECURSIVE"), "WITH RECURSIVE is not supported")
		case s.SelectIntoOpt != nil:
			*v.err = v.q.Errorf(at("INTO"), "SELECT ... INTO is not supported: use INSERT INTO table SELECT ...")
		case s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone:
			*v.err = v.q.Errorf(at("FOR"), "locking clauses (FOR UPDATE, LOCK IN SHARE MODE) are not supported")
		}
	case *ast.SetOprStmt:
		if s.With != nil && s.With.IsRecursive {
			*v.err = v.q.Errorf(at("RECURSIVE"), "WITH RECURSIVE is not supported")
		}
	case *ast.TableName:
		// MySQL table clauses that change which rows are read.
		_, temporal := v.q.SystemTime(s)
		switch {
		case s.AsOf != nil && !temporal:
			*v.err = v.q.Errorf(at("AS"), "AS OF TIMESTAMP is not supported: a temporal join reads a table FOR SYSTEM_TIME AS OF a time attribute")
		case s.TableSample != nil:
			*v.err = v.q.Errorf(at("TABLESAMPLE"), "TABLESAMPLE is not supported")
		case len(s.PartitionNames) > 0:
			*v.err = v.q.Errorf(at("PARTITION"), "selecting partitions (t PARTITION (p)) is not supported")
		}
	case *ast.TableSource:
		if len(s.ColumnNames) > 0 && !v.q.isTableFuncSource(s) {
			p := v.q.Start()
			if s.AsName.O != "" {
				p = at(s.AsName.O)
			}
			*v.err = v.q.Errorf(p, "column alias lists (AS t(a, b)) are only supported on LATERAL TABLE(...) yet: rename the columns in the SELECT list")
		}
	}
	return n, *v.err != nil
}

// isTableFuncSource reports whether ts is the derived table the rewrite made
// of a table function call.
func (q *Query) isTableFuncSource(ts *ast.TableSource) bool {
	_, _, ok := q.TableFuncOf(ts)
	return ok
}

// TableFuncOf returns the table function call a FROM item stands for: the
// call f(args) of LATERAL (SELECT f(args)) that the rewrite of [LATERAL]
// TABLE(f(args)) made, and its TableFunc. ok is false for any other FROM
// item.
func (q *Query) TableFuncOf(ts *ast.TableSource) (call *ast.FuncCallExpr, tf TableFunc, ok bool) {
	if ts == nil {
		return nil, TableFunc{}, false
	}
	sel, isSel := ts.Source.(*ast.SelectStmt)
	if !isSel || sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.From != nil {
		return nil, TableFunc{}, false
	}
	c, isCall := sel.Fields.Fields[0].Expr.(*ast.FuncCallExpr)
	if !isCall {
		return nil, TableFunc{}, false
	}
	tf, ok = q.TableFunc(c)
	return c, tf, ok
}

func (v *checker) Leave(n ast.Node) (ast.Node, bool) { return n, *v.err == nil }

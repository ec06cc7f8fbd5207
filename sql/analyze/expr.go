package analyze

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/sql/catalog"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// binder binds and types the expressions of one clause against a FROM
// relation (and, above an aggregation, its group keys and aggregates).
type binder struct {
	c   *qctx
	rel *rel
	// clause names the clause in error messages ("WHERE", "SELECT", ...).
	clause string
	// aliases are the SELECT list's aliases, to explain why they cannot be
	// referred to.
	aliases map[string]bool
	// at is the position of the enclosing SELECT, for nodes TiDB does not
	// position.
	at  parse.Pos
	agg *aggScope
	// window, when set, binds the ranking function of the SELECT list.
	window func(*ast.WindowFuncExpr) *expr.Expr
}

func (b *binder) pos(n ast.Node) parse.Pos { return b.c.pos(n, b.at) }

func (b *binder) errorf(n ast.Node, format string, args ...any) error {
	return b.c.errorf(b.pos(n), format, args...)
}

// bind binds e.
func (b *binder) bind(e ast.ExprNode) (*expr.Expr, error) {
	if b.agg != nil {
		if x, ok, err := b.bindGrouped(e); ok || err != nil {
			return x, err
		}
	}
	if _, ok := e.(*ast.FuncCallExpr); ok && b.c.isAgg(e) {
		name, _, _, _ := aggParts(e)
		if b.agg != nil {
			return nil, b.errorf(e, "aggregate functions cannot be nested")
		}
		return nil, b.errorf(e, "aggregate function %s is not allowed in %s", strings.ToUpper(name), b.clause)
	}
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return b.bind(x.Expr)
	case *ast.ColumnNameExpr:
		i, err := b.resolve(x)
		if err != nil {
			return nil, err
		}
		return expr.Col(i, b.rel.node.Schema().Fields[i].Type), nil
	case ast.ValueExpr:
		return b.c.literal(x, b.pos(x))
	case *ast.BinaryOperationExpr:
		return b.binary(x)
	case *ast.UnaryOperationExpr:
		return b.unary(x)
	case *ast.IsNullExpr:
		v, err := b.bind(x.Expr)
		if err != nil {
			return nil, err
		}
		if v.Type.Kind == types.Null {
			return nil, b.errorf(x, "cannot infer the type of NULL in IS NULL")
		}
		fn := expr.FuncIsNull
		if x.Not {
			fn = expr.FuncIsNotNull
		}
		return expr.Call(fn, types.Type{Kind: types.Boolean, NotNull: true}, v), nil
	case *ast.IsTruthExpr:
		return b.isTruth(x)
	case *ast.BetweenExpr:
		return b.between(x)
	case *ast.PatternInExpr:
		return b.in(x)
	case *ast.CaseExpr:
		return b.caseExpr(x)
	case *ast.FuncCastExpr:
		return b.cast(x)
	case *ast.FuncCallExpr:
		return b.call(x)
	case *ast.AggregateFuncExpr:
		if b.agg != nil {
			return nil, b.errorf(x, "aggregate functions cannot be nested")
		}
		return nil, b.errorf(x, "aggregate function %s is not allowed in %s", strings.ToUpper(x.F), b.clause)
	case *ast.WindowFuncExpr:
		if b.window != nil {
			if r := b.window(x); r != nil {
				return r, nil
			}
		}
		return nil, b.errorf(x, "window function %s() is not allowed in %s (only as a SELECT item of a Top-N subquery)", strings.ToUpper(x.Name), b.clause)
	case *ast.ExistsSubqueryExpr:
		return nil, b.errorf(x, "EXISTS (subquery) is not supported yet: write x IN (SELECT ...)")
	case *ast.SubqueryExpr, *ast.CompareSubqueryExpr:
		return nil, b.errorf(x, "subqueries in expressions are not supported")
	case *ast.PatternLikeOrIlikeExpr:
		return b.like(x)
	case *ast.PatternRegexpExpr:
		return b.regexp(x)
	case *ast.TimeUnitExpr:
		return nil, b.errorf(x, "INTERVAL is only supported added to or subtracted from a TIMESTAMP")
	case *ast.DefaultExpr:
		return nil, b.errorf(x, "DEFAULT is not supported")
	case *ast.VariableExpr:
		return nil, b.errorf(x, "variables are not supported")
	case ast.ParamMarkerExpr:
		return nil, b.errorf(x, "parameter markers (?) are not supported")
	case *ast.RowExpr:
		return nil, b.errorf(x, "ROW values are not supported")
	}
	return nil, b.errorf(e, "unsupported expression: %s", exprText(e))
}

// bindGrouped binds e above an aggregation: aggregate calls and
// expressions equal to a group key become columns of the Aggregate's
// output; a column that is neither is an error. ok is false when e is
// neither, and is to be bound by its parts.
func (b *binder) bindGrouped(e ast.ExprNode) (*expr.Expr, bool, error) {
	s := b.agg
	if b.c.isAgg(e) {
		for i, call := range s.calls {
			for _, n := range call.nodes {
				if n == e {
					k := len(s.keys) + i
					return expr.Col(k, s.out.Fields[k].Type), true, nil
				}
			}
		}
		return nil, true, b.errorf(e, "aggregate functions cannot be nested")
	}
	if _, ok := e.(ast.ValueExpr); ok {
		return nil, false, nil
	}
	if _, ok := e.(*ast.WindowFuncExpr); ok {
		return nil, false, nil
	}
	if b.c.findAgg(e) != nil || len(findWindows(e)) > 0 {
		return nil, false, nil
	}
	x, err := s.from.bind(e)
	if err != nil {
		return nil, true, err
	}
	for k, key := range s.keys {
		if reflect.DeepEqual(key, x) {
			return expr.Col(k, s.out.Fields[k].Type), true, nil
		}
	}
	if cn, ok := unparen(e).(*ast.ColumnNameExpr); ok {
		return nil, true, b.errorf(cn, "column '%s' is not grouped: in %s it must appear in GROUP BY or be used in an aggregate function", cn.Name.Name.O, b.clause)
	}
	return nil, false, nil
}

// resolve finds the input column a column reference names.
func (b *binder) resolve(x *ast.ColumnNameExpr) (int, error) { return b.rel.resolve(b, x) }

var opSymbols = map[opcode.Op]string{
	opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.Mod: "%",
	opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=",
	opcode.LogicAnd: "AND", opcode.LogicOr: "OR",
}

func (b *binder) binary(x *ast.BinaryOperationExpr) (*expr.Expr, error) {
	at := b.pos(x)
	sym, ok := opSymbols[x.Op]
	if !ok {
		switch x.Op {
		case opcode.IntDiv:
			return nil, b.errorf(x, "DIV is not supported; '/' divides integers as integers")
		case opcode.NullEQ:
			return b.notDistinct(x)
		case opcode.LogicXor:
			return nil, b.errorf(x, "XOR is not supported")
		}
		return nil, b.errorf(x, "operator %s is not supported", x.Op.String())
	}
	l, err := b.bind(x.L)
	if err != nil {
		return nil, err
	}
	r, err := b.bind(x.R)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case opcode.LogicAnd, opcode.LogicOr:
		return b.c.logic(sym, l, r, b.pos(x.L), b.pos(x.R))
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
		return b.c.compare(sym, l, r, at)
	}
	return b.c.arith(sym, l, r, at)
}

// notDistinct binds l IS NOT DISTINCT FROM r (written l <=> r for TiDB):
// TRUE when both are NULL or both are equal, never NULL. As a CASE: WHEN l
// IS NULL THEN r IS NULL WHEN r IS NULL THEN FALSE ELSE l = r.
func (b *binder) notDistinct(x *ast.BinaryOperationExpr) (*expr.Expr, error) {
	l, err := b.bind(x.L)
	if err != nil {
		return nil, err
	}
	r, err := b.bind(x.R)
	if err != nil {
		return nil, err
	}
	at := b.pos(x)
	if l.Type.Kind == types.Null && r.Type.Kind == types.Null {
		return boolLit(true), nil
	}
	l, r, err = b.c.unifyNull(l, r, "IS NOT DISTINCT FROM", at)
	if err != nil {
		return nil, err
	}
	eq, err := b.c.compare("=", l, r, at)
	if err != nil {
		return nil, err
	}
	nn := types.Type{Kind: types.Boolean, NotNull: true}
	if l.Type.NotNull && r.Type.NotNull {
		return eq, nil
	}
	eqNN := expr.Call(expr.FuncCase, nn, eq, boolLit(true), boolLit(false)) // NULL = ... is FALSE here
	return expr.Call(expr.FuncCase, nn,
		expr.Call(expr.FuncIsNull, nn, l), expr.Call(expr.FuncIsNull, nn, r),
		expr.Call(expr.FuncIsNull, nn, r), boolLit(false),
		eqNN), nil
}

func (b *binder) unary(x *ast.UnaryOperationExpr) (*expr.Expr, error) {
	v, err := b.bind(x.V)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case opcode.Plus:
		if !v.Type.IsNumeric() && v.Type.Kind != types.Interval {
			return nil, b.errorf(x, "cannot apply unary + to %s", v.Type.Plain())
		}
		return v, nil
	case opcode.Minus:
		return b.c.negate(v, b.pos(x))
	case opcode.Not, opcode.Not2:
		if v.Type.Kind == types.Null {
			v = retype(v, types.BooleanType)
		}
		if v.Type.Kind != types.Boolean {
			return nil, b.errorf(x, "NOT needs a BOOLEAN, not %s", v.Type.Plain())
		}
		return expr.Call(expr.FuncNot, types.Type{Kind: types.Boolean, NotNull: v.Type.NotNull}, v), nil
	}
	return nil, b.errorf(x, "operator %s is not supported", x.Op.String())
}

func (b *binder) isTruth(x *ast.IsTruthExpr) (*expr.Expr, error) {
	v, err := b.bind(x.Expr)
	if err != nil {
		return nil, err
	}
	if v.Type.Kind == types.Null {
		v = retype(v, types.BooleanType)
	}
	if v.Type.Kind != types.Boolean {
		return nil, b.errorf(x, "IS TRUE / IS FALSE needs a BOOLEAN, not %s", v.Type.Plain())
	}
	// x IS TRUE is CASE WHEN x THEN TRUE ELSE FALSE END: NULL goes to ELSE.
	cond := v
	if x.True == 0 {
		cond = expr.Call(expr.FuncNot, types.Type{Kind: types.Boolean, NotNull: v.Type.NotNull}, v)
	}
	bt := types.Type{Kind: types.Boolean, NotNull: true}
	then, els := boolLit(true), boolLit(false)
	if x.Not {
		then, els = els, then
	}
	return expr.Call(expr.FuncCase, bt, cond, then, els), nil
}

func boolLit(v bool) *expr.Expr {
	return expr.Lit(strconv.FormatBool(v), types.Type{Kind: types.Boolean, NotNull: true})
}

func (b *binder) between(x *ast.BetweenExpr) (*expr.Expr, error) {
	v, err := b.bind(x.Expr)
	if err != nil {
		return nil, err
	}
	lo, err := b.bind(x.Left)
	if err != nil {
		return nil, err
	}
	hi, err := b.bind(x.Right)
	if err != nil {
		return nil, err
	}
	at := b.pos(x)
	op1, op2, join := ">=", "<=", "AND"
	if x.Not {
		op1, op2, join = "<", ">", "OR"
	}
	c1, err := b.c.compare(op1, v, lo, at)
	if err != nil {
		return nil, err
	}
	c2, err := b.c.compare(op2, v, hi, at)
	if err != nil {
		return nil, err
	}
	return b.c.logic(join, c1, c2, at, at)
}

func (b *binder) in(x *ast.PatternInExpr) (*expr.Expr, error) {
	if x.Sel != nil {
		return nil, b.errorf(x, "IN (subquery) is only supported as a condition of WHERE, joined to the others by AND")
	}
	v, err := b.bind(x.Expr)
	if err != nil {
		return nil, err
	}
	at := b.pos(x)
	var out *expr.Expr
	for _, item := range x.List {
		w, err := b.bind(item)
		if err != nil {
			return nil, err
		}
		eq, err := b.c.compare("=", v, w, b.pos(item))
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = eq
		} else {
			out = expr.Call(expr.FuncOr, boolResult(out, eq), out, eq)
		}
	}
	if out == nil {
		return nil, b.c.errorf(at, "empty IN list")
	}
	if x.Not {
		out = expr.Call(expr.FuncNot, out.Type, out)
	}
	return out, nil
}

func (b *binder) caseExpr(x *ast.CaseExpr) (*expr.Expr, error) {
	var subject *expr.Expr
	if x.Value != nil {
		var err error
		if subject, err = b.bind(x.Value); err != nil {
			return nil, err
		}
	}
	var conds, vals []*expr.Expr
	var valAt []parse.Pos
	for _, w := range x.WhenClauses {
		cv, err := b.bind(w.Expr)
		if err != nil {
			return nil, err
		}
		if subject != nil {
			if cv, err = b.c.compare("=", subject, cv, b.pos(w.Expr)); err != nil {
				return nil, err
			}
		} else if cv, err = b.c.boolean(cv, b.pos(w.Expr), "CASE WHEN"); err != nil {
			return nil, err
		}
		v, err := b.bind(w.Result)
		if err != nil {
			return nil, err
		}
		conds, vals, valAt = append(conds, cv), append(vals, v), append(valAt, b.pos(w.Result))
	}
	hasElse := x.ElseClause != nil
	if hasElse {
		v, err := b.bind(x.ElseClause)
		if err != nil {
			return nil, err
		}
		vals, valAt = append(vals, v), append(valAt, b.pos(x.ElseClause))
	}
	return b.c.makeCase(conds, vals, hasElse, b.pos(x), valAt)
}

// makeCase builds a searched CASE whose values are cast to their common
// type.
func (c *qctx) makeCase(conds, vals []*expr.Expr, hasElse bool, at parse.Pos, valAt []parse.Pos) (*expr.Expr, error) {
	t := types.Type{}
	nullable := !hasElse
	for i, v := range vals {
		ct, ok := commonType(t, v.Type)
		if !ok {
			return nil, c.errorf(valAt[i], "CASE branches have incompatible types %s and %s", t, v.Type.Plain().Nullable())
		}
		t = ct
		if !v.Type.NotNull {
			nullable = true
		}
	}
	if t.Kind == types.Null {
		return nil, c.errorf(at, "cannot infer the type of CASE: every branch is NULL")
	}
	if t.Kind == types.Interval {
		return nil, c.errorf(at, "CASE cannot return an INTERVAL")
	}
	args := make([]*expr.Expr, 0, len(conds)*2+1)
	for i := range conds {
		args = append(args, conds[i], castTo(vals[i], t))
	}
	if hasElse {
		args = append(args, castTo(vals[len(vals)-1], t))
	}
	t.NotNull = !nullable
	return expr.Call(expr.FuncCase, t, args...), nil
}

func (b *binder) cast(x *ast.FuncCastExpr) (*expr.Expr, error) {
	target, ok := b.c.src.CastType(x)
	if !ok {
		return nil, b.errorf(x, "unsupported CAST target in %s", exprText(x))
	}
	v, err := b.bind(x.Expr)
	if err != nil {
		return nil, err
	}
	t := target.Type.Plain()
	t.NotNull = false
	if v.Type.Kind == types.Null {
		return expr.NullLit(t), nil
	}
	if !explicitCast(v.Type, t) {
		return nil, b.c.errorf(b.pos(x), "cannot CAST %s to %s", v.Type.Plain().Nullable(), t)
	}
	if target.Try {
		return expr.Call(expr.FuncTryCast, t, v), nil
	}
	t.NotNull = v.Type.NotNull
	if v.Type.SameValues(t) {
		if v.Kind == expr.KindColumn {
			return expr.Col(v.Column, v.Type.Plain()), nil
		}
		return v, nil
	}
	return castTo(v, t), nil
}

func (b *binder) call(x *ast.FuncCallExpr) (*expr.Expr, error) {
	name := strings.ToLower(x.FnName.L)
	at := b.pos(x)
	switch name {
	case ast.DateAdd, ast.DateSub, ast.AddDate, ast.SubDate:
		if len(x.Args) == 3 {
			if _, ok := x.Args[2].(*ast.TimeUnitExpr); ok {
				ts, err := b.bind(x.Args[0])
				if err != nil {
					return nil, err
				}
				ms, err := catalog.IntervalMs(x.Args[1], x.Args[2])
				if err != nil {
					return nil, b.c.errorf(b.pos(x.Args[1]), "%v", err)
				}
				iv := expr.Lit(strconv.FormatInt(ms, 10), types.Type{Kind: types.Interval, NotNull: true})
				op := "+"
				if name == ast.DateSub || name == ast.SubDate {
					op = "-"
				}
				return b.c.arith(op, ts, iv, at)
			}
		}
	case ast.TimestampLiteral:
		if len(x.Args) == 1 {
			if v, ok := x.Args[0].(ast.ValueExpr); ok {
				if s, ok := v.GetValue().(string); ok {
					ms, err := parseTimestamp(s)
					if err != nil {
						return nil, b.c.errorf(at, "bad TIMESTAMP literal '%s': %v", s, err)
					}
					return expr.Lit(strconv.FormatInt(ms, 10), types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}), nil
				}
			}
		}
		return nil, b.c.errorf(at, "bad TIMESTAMP literal")
	case ast.DateLiteral:
		return nil, b.c.errorf(at, "DATE is not supported yet")
	}
	return b.callFunction(x)
}

// parseTimestamp parses 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC) into epoch ms.
func parseTimestamp(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("want yyyy-MM-dd HH:mm:ss[.SSS]")
}

// --- typing helpers ---

func boolResult(l, r *expr.Expr) types.Type {
	return types.Type{Kind: types.Boolean, NotNull: l.Type.NotNull && r.Type.NotNull}
}

// retype gives an untyped NULL literal the type t.
func retype(e *expr.Expr, t types.Type) *expr.Expr {
	if e.Type.Kind != types.Null {
		return e
	}
	return expr.NullLit(t.Plain().Nullable())
}

// unifyNull types a NULL operand after the other operand.
func (c *qctx) unifyNull(l, r *expr.Expr, op string, at parse.Pos) (*expr.Expr, *expr.Expr, error) {
	switch {
	case l.Type.Kind == types.Null && r.Type.Kind == types.Null:
		return nil, nil, c.errorf(at, "cannot infer the type of NULL %s NULL; use CAST(NULL AS type)", op)
	case l.Type.Kind == types.Null:
		l = retype(l, r.Type)
	case r.Type.Kind == types.Null:
		r = retype(r, l.Type)
	}
	return l, r, nil
}

func (c *qctx) logic(op string, l, r *expr.Expr, lat, rat parse.Pos) (*expr.Expr, error) {
	l, r = retype(l, types.BooleanType), retype(r, types.BooleanType)
	if l.Type.Kind != types.Boolean {
		return nil, c.errorf(lat, "%s needs BOOLEAN operands, not %s", op, l.Type.Plain())
	}
	if r.Type.Kind != types.Boolean {
		return nil, c.errorf(rat, "%s needs BOOLEAN operands, not %s", op, r.Type.Plain())
	}
	fn := expr.FuncAnd
	if op == "OR" {
		fn = expr.FuncOr
	}
	return expr.Call(fn, boolResult(l, r), l, r), nil
}

var compareFuncs = map[string]string{"=": expr.FuncEq, "<>": expr.FuncNe, "<": expr.FuncLt, "<=": expr.FuncLe, ">": expr.FuncGt, ">=": expr.FuncGe}

// compare types l op r: both sides are cast to their common type.
func (c *qctx) compare(op string, l, r *expr.Expr, at parse.Pos) (*expr.Expr, error) {
	l, r, err := c.unifyNull(l, r, op, at)
	if err != nil {
		return nil, err
	}
	ct, ok := commonType(l.Type, r.Type)
	if !ok || ct.Kind == types.Interval {
		return nil, c.errorf(at, "cannot compare %s %s %s: the types are not comparable", l.Type.Plain().Nullable(), op, r.Type.Plain().Nullable())
	}
	l, r = castTo(l, ct), castTo(r, ct)
	return expr.Call(compareFuncs[op], boolResult(l, r), l, r), nil
}

var arithFuncs = map[string]string{"+": expr.FuncAdd, "-": expr.FuncSub, "*": expr.FuncMul, "/": expr.FuncDiv, "%": expr.FuncMod}

// arith types l op r for op in + - * / %.
func (c *qctx) arith(op string, l, r *expr.Expr, at parse.Pos) (*expr.Expr, error) {
	l, r, err := c.unifyNull(l, r, op, at)
	if err != nil {
		return nil, err
	}
	res, lt, rt, post, ok := arithTypes(op, l.Type, r.Type)
	if !ok {
		if op == "%" && l.Type.IsNumeric() && r.Type.IsNumeric() {
			return nil, c.errorf(at, "MOD needs exact numeric arguments (INT, BIGINT, DECIMAL), not %s and %s", l.Type.Plain().Nullable(), r.Type.Plain().Nullable())
		}
		return nil, c.errorf(at, "cannot apply '%s' to %s and %s", op, l.Type.Plain().Nullable(), r.Type.Plain().Nullable())
	}
	l, r = castTo(l, lt), castTo(r, rt)
	if l.Type.Kind == types.Interval && r.Type.Kind == types.Timestamp {
		l, r = r, l // INTERVAL + TIMESTAMP is TIMESTAMP + INTERVAL
	}
	res.NotNull = l.Type.NotNull && r.Type.NotNull
	out := expr.Call(arithFuncs[op], res, l, r)
	if post.Kind != types.Null {
		out = castTo(out, post)
	}
	return out, nil
}

// arithTypes gives the result type of l op r, the types the operands are
// cast to first, and (for integer MOD) the type the result is cast to
// after (Flink's MOD has the type of its second operand). Nullability is
// left to the caller.
func arithTypes(op string, l, r types.Type) (res, lt, rt, post types.Type, ok bool) {
	l, r = l.Plain().Nullable(), r.Plain().Nullable()
	switch {
	case l.Kind == types.Timestamp && r.Kind == types.Interval && (op == "+" || op == "-"):
		return l, l, r, post, true // TIMESTAMP_LTZ stays TIMESTAMP_LTZ
	case l.Kind == types.Interval && r.Kind == types.Timestamp && op == "+":
		return r, l, r, post, true
	case l.Kind == types.Interval && r.Kind == types.Interval && (op == "+" || op == "-"):
		return types.IntervalType, l, r, post, true
	case !l.IsNumeric() || !r.IsNumeric():
		return res, lt, rt, post, false
	}
	if op == "%" {
		if !isExact(l) || !isExact(r) {
			return res, lt, rt, post, false
		}
		if l.Kind == types.Decimal || r.Kind == types.Decimal {
			lt, rt = asDecimal(l), asDecimal(r)
			return decimalArith(op, lt, rt), lt, rt, post, true
		}
		ct, _ := commonType(l, r)
		if ct != r {
			post = r
		}
		return ct, ct, ct, post, true
	}
	switch {
	case l.Kind == types.Double || r.Kind == types.Double:
		return types.DoubleType, types.DoubleType, types.DoubleType, post, true
	case l.Kind == types.Decimal || r.Kind == types.Decimal:
		lt, rt = asDecimal(l), asDecimal(r)
		return decimalArith(op, lt, rt), lt, rt, post, true
	}
	ct, _ := commonType(l, r)
	return ct, ct, ct, post, true
}

func (c *qctx) negate(v *expr.Expr, at parse.Pos) (*expr.Expr, error) {
	if v.Type.Kind == types.Null {
		return nil, c.errorf(at, "cannot infer the type of -NULL; use CAST(NULL AS type)")
	}
	if !v.Type.IsNumeric() && v.Type.Kind != types.Interval {
		return nil, c.errorf(at, "cannot negate %s", v.Type.Plain())
	}
	if v.Kind == expr.KindLiteral && !v.Literal.Null {
		s := v.Literal.Value
		if strings.HasPrefix(s, "-") {
			s = s[1:]
		} else {
			s = "-" + s
		}
		t := v.Type
		if t.Kind == types.Int && s == "-2147483648" {
			// fine: still an INT
		} else if t.Kind == types.Int {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && (n < math.MinInt32 || n > math.MaxInt32) {
				t.Kind = types.BigInt
			}
		}
		return expr.Lit(s, t), nil
	}
	return expr.Call(expr.FuncNeg, v.Type.Plain(), v), nil
}

// castTo casts e to t (nullability taken from e). Casts of literals are
// folded where exact.
func castTo(e *expr.Expr, t types.Type) *expr.Expr {
	t = t.Plain()
	if e.Type.Kind == types.Null {
		return expr.NullLit(t.Nullable())
	}
	t.NotNull = e.Type.NotNull
	if e.Type.SameValues(t) {
		return e
	}
	if e.Kind == expr.KindLiteral && !e.Literal.Null {
		if v, ok := foldLiteral(e.Literal.Value, e.Type, t); ok {
			return expr.Lit(v, t)
		}
	}
	return expr.Call(expr.FuncCast, t, e)
}

// foldLiteral converts the canonical text v of a literal of type from into
// the canonical text of type to, when that is exact.
func foldLiteral(v string, from, to types.Type) (string, bool) {
	switch {
	case isInteger(from) && to.Kind == types.BigInt:
		return v, true
	case isInteger(from) && to.Kind == types.Int:
		n, err := strconv.ParseInt(v, 10, 64)
		return v, err == nil && n >= math.MinInt32 && n <= math.MaxInt32
	case isInteger(from) && to.Kind == types.Double:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > 1<<53 || n < -(1<<53) {
			return "", false
		}
		return strconv.FormatFloat(float64(n), 'g', -1, 64), true
	case isExact(from) && to.Kind == types.Decimal:
		whole, frac, _ := strings.Cut(v, ".")
		if len(frac) > to.Scale {
			return "", false
		}
		digits := strings.TrimLeft(strings.TrimPrefix(whole, "-"), "0")
		if len(digits) > to.Precision-to.Scale {
			return "", false
		}
		frac += strings.Repeat("0", to.Scale-len(frac))
		if to.Scale == 0 {
			return whole, true
		}
		return whole + "." + frac, true
	case from.Kind == types.Decimal && to.Kind == types.Double:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || len(strings.Trim(strings.ReplaceAll(strings.TrimPrefix(v, "-"), ".", ""), "0")) > 15 {
			return "", false
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	case from.Kind == types.String && to.Kind == types.String && to.Length == 0:
		return v, true
	}
	return "", false
}

func isBoolLiteral(v ast.ValueExpr) bool {
	tp := v.GetType()
	return tp != nil && tp.GetFlag()&mysql.IsBooleanFlag != 0
}

// literal types a constant: 42 is INT (BIGINT past INT), 1.5 DECIMAL(2, 1),
// 1.5E0 DOUBLE, 'abc' STRING, TRUE/FALSE BOOLEAN, NULL untyped until its
// context types it.
func (c *qctx) literal(v ast.ValueExpr, at parse.Pos) (*expr.Expr, error) {
	nn := func(k types.Kind) types.Type { return types.Type{Kind: k, NotNull: true} }
	switch x := v.GetValue().(type) {
	case nil:
		return expr.NullLit(types.Type{}), nil
	case int64:
		if isBoolLiteral(v) {
			return boolLit(x != 0), nil
		}
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return expr.Lit(strconv.FormatInt(x, 10), nn(types.Int)), nil
		}
		return expr.Lit(strconv.FormatInt(x, 10), nn(types.BigInt)), nil
	case uint64:
		s := strconv.FormatUint(x, 10)
		return expr.Lit(s, types.Type{Kind: types.Decimal, Precision: len(s), NotNull: true}), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, c.errorf(at, "numeric literal out of range")
		}
		return expr.Lit(strconv.FormatFloat(x, 'g', -1, 64), nn(types.Double)), nil
	case string:
		return expr.Lit(x, nn(types.String)), nil
	case fmt.Stringer:
		if reflect.TypeOf(x).String() == "*test_driver.MyDecimal" || strings.HasSuffix(reflect.TypeOf(x).String(), "MyDecimal") {
			return decimalLiteral(x.String(), at, c)
		}
	}
	return nil, c.errorf(at, "unsupported literal %s", exprText(v))
}

// decimalLiteral types an exact numeric literal with a point: DECIMAL(p, s)
// with p its significant digits and s its fractional digits.
func decimalLiteral(s string, at parse.Pos, c *qctx) (*expr.Expr, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(body, ".")
	whole = strings.TrimLeft(whole, "0")
	p := len(whole) + len(frac)
	if p == 0 {
		p = 1
	}
	if p > maxDecimalPrecision {
		return nil, c.errorf(at, "decimal literal %s has more than %d digits", s, maxDecimalPrecision)
	}
	if whole == "" {
		whole = "0"
	}
	text := whole
	if frac != "" {
		text += "." + frac
	}
	if neg {
		text = "-" + text
	}
	return expr.Lit(text, types.Type{Kind: types.Decimal, Precision: max(p, len(frac)), Scale: len(frac), NotNull: true}), nil
}

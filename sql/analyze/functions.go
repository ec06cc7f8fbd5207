package analyze

// The dispatch of function calls in expressions: user-defined functions
// (Env.Functions) first, then the built-ins of sql/functions, which type
// and lower each call with the analyzer's typing rules through fnCtx.

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/sql/functions"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// fnCtx implements functions.Ctx for one call.
type fnCtx struct {
	b    *binder
	at   parse.Pos
	args []ast.ExprNode
}

func (f *fnCtx) argPos(i int) parse.Pos {
	if i < 0 || i >= len(f.args) {
		return f.at
	}
	switch f.args[i].(type) {
	case *ast.TrimDirectionExpr, *ast.TimeUnitExpr:
		return f.at // TiDB does not position these
	}
	return f.b.c.pos(f.args[i], f.at)
}

func (f *fnCtx) Errorf(i int, format string, args ...any) error {
	return f.b.c.errorf(f.argPos(i), format, args...)
}

func (f *fnCtx) CommonType(a, b types.Type) (types.Type, bool) { return commonType(a, b) }

func (f *fnCtx) Cast(e *expr.Expr, t types.Type) *expr.Expr { return castTo(e, t) }

func (f *fnCtx) Compare(op string, l, r *expr.Expr, i int) (*expr.Expr, error) {
	return f.b.c.compare(op, l, r, f.argPos(i))
}

func (f *fnCtx) Arith(op string, l, r *expr.Expr, i int) (*expr.Expr, error) {
	return f.b.c.arith(op, l, r, f.argPos(i))
}

func (f *fnCtx) Case(conds, vals []*expr.Expr, hasElse bool, valArgs []int) (*expr.Expr, error) {
	at := make([]parse.Pos, len(valArgs))
	for k, i := range valArgs {
		at[k] = f.argPos(i)
	}
	return f.b.c.makeCase(conds, vals, hasElse, f.at, at)
}

// callFunction binds a call of a user-defined or built-in function.
func (b *binder) callFunction(x *ast.FuncCallExpr) (*expr.Expr, error) {
	name := x.FnName.O
	at := b.pos(x)
	funcs := b.c.a.funcs
	udf, isUDF := funcs.Lookup(name)
	var builtin *functions.Func
	if !isUDF {
		var ok bool
		if builtin, ok = functions.Lookup(name); !ok {
			return nil, b.c.errorf(at, "%s", functions.UnknownMessage(name, funcs.Names()))
		}
	}
	args := make([]*expr.Expr, len(x.Args))
	for i, a := range x.Args {
		switch v := a.(type) {
		case *ast.TrimDirectionExpr:
			args[i] = strLiteralExpr(strings.ToUpper(v.Direction.String()))
		case *ast.TimeUnitExpr:
			args[i] = strLiteralExpr(strings.ToUpper(v.Unit.String()))
		default:
			e, err := b.bind(a)
			if err != nil {
				return nil, err
			}
			args[i] = e
		}
	}
	cx := &fnCtx{b: b, at: at, args: x.Args}
	if isUDF {
		return functions.BindUDF(cx, udf, args)
	}
	return builtin.Bind(cx, args)
}

func strLiteralExpr(s string) *expr.Expr {
	return expr.Lit(s, types.Type{Kind: types.String, NotNull: true})
}

// like binds s [NOT] LIKE pattern [ESCAPE c]; without ESCAPE the escape
// character is '\' (as in Flink).
func (b *binder) like(x *ast.PatternLikeOrIlikeExpr) (*expr.Expr, error) {
	if !x.IsLike {
		return nil, b.errorf(x, "ILIKE is not supported")
	}
	s, err := b.bind(x.Expr)
	if err != nil {
		return nil, err
	}
	p, err := b.bind(x.Pattern)
	if err != nil {
		return nil, err
	}
	escape := ""
	if x.Escape != 0 {
		escape = string(rune(x.Escape))
	}
	cx := &fnCtx{b: b, at: b.pos(x), args: []ast.ExprNode{x.Expr, x.Pattern}}
	return functions.Like(cx, s, p, escape, x.Not)
}

// regexp binds s [NOT] REGEXP pattern.
func (b *binder) regexp(x *ast.PatternRegexpExpr) (*expr.Expr, error) {
	s, err := b.bind(x.Expr)
	if err != nil {
		return nil, err
	}
	p, err := b.bind(x.Pattern)
	if err != nil {
		return nil, err
	}
	cx := &fnCtx{b: b, at: b.pos(x), args: []ast.ExprNode{x.Expr, x.Pattern}}
	return functions.Regexp(cx, s, p, x.Not)
}

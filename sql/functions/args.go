package functions

import (
	"strconv"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Argument checks: each returns argument i of a call of name as the kind
// the engine wants (an untyped NULL gets that type), or an error at the
// argument.

func wantString(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	a := args[i]
	switch a.Type.Kind {
	case types.String:
		return a, nil
	case types.Null:
		return expr.NullLit(types.StringType), nil
	}
	return nil, c.Errorf(i, "argument %d of %s must be a STRING, not %s", i+1, name, a.Type.Plain().Nullable())
}

func wantInteger(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	a := args[i]
	switch a.Type.Kind {
	case types.Int, types.BigInt:
		return a, nil
	case types.Null:
		return expr.NullLit(types.IntType), nil
	}
	return nil, c.Errorf(i, "argument %d of %s must be an integer (INT or BIGINT), not %s", i+1, name, a.Type.Plain().Nullable())
}

func wantNumeric(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	a := args[i]
	if a.Type.IsNumeric() {
		return a, nil
	}
	if a.Type.Kind == types.Null {
		return expr.NullLit(types.DoubleType), nil
	}
	return nil, c.Errorf(i, "argument %d of %s must be a number, not %s", i+1, name, a.Type.Plain().Nullable())
}

func wantDouble(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	a, err := wantNumeric(c, name, args, i)
	if err != nil {
		return nil, err
	}
	return c.Cast(a, types.DoubleType), nil
}

func wantTimestamp(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	a := args[i]
	switch a.Type.Kind {
	case types.Timestamp:
		return a, nil
	case types.Null:
		return expr.NullLit(types.TimestampType), nil
	}
	return nil, c.Errorf(i, "argument %d of %s must be a TIMESTAMP, not %s", i+1, name, a.Type.Plain().Nullable())
}

// intLiteral returns the value of an integer literal.
func intLiteral(e *expr.Expr) (int64, bool) {
	if e.Kind != expr.KindLiteral || e.Literal == nil || e.Literal.Null {
		return 0, false
	}
	if e.Type.Kind != types.Int && e.Type.Kind != types.BigInt {
		return 0, false
	}
	v, err := strconv.ParseInt(e.Literal.Value, 10, 64)
	return v, err == nil
}

// strLiteral returns the value of a STRING literal.
func strLiteral(e *expr.Expr) (string, bool) {
	if e.Kind != expr.KindLiteral || e.Literal == nil || e.Literal.Null || e.Type.Kind != types.String {
		return "", false
	}
	return e.Literal.Value, true
}

// notNull reports whether no argument can be NULL.
func notNull(args ...*expr.Expr) bool {
	for _, a := range args {
		if !a.Type.NotNull {
			return false
		}
	}
	return true
}

// typ returns t without markers, NOT NULL when nn.
func typ(t types.Type, nn bool) types.Type {
	t = t.Plain()
	t.NotNull = nn
	return t
}

// strLit is a STRING constant.
func strLit(s string) *expr.Expr {
	return expr.Lit(s, types.Type{Kind: types.String, NotNull: true})
}

// stringOf is the type of a string function's result that keeps its
// argument's type (VARCHAR(n) stays VARCHAR(n)).
func stringOf(a *expr.Expr, nn bool) types.Type {
	if a.Type.Kind != types.String {
		return typ(types.StringType, nn)
	}
	return typ(a.Type, nn)
}

package physical

import (
	"testing"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

func TestRankBound(t *testing.T) {
	rn := expr.Col(4, types.BigIntType)
	other := expr.Col(2, types.BigIntType)
	lit := func(v string) *expr.Expr { return expr.Lit(v, types.BigIntType) }
	intLit := expr.Call(expr.FuncCast, types.BigIntType, expr.Lit("3", types.IntType))
	call := func(fn string, a, b *expr.Expr) *expr.Expr { return expr.Call(fn, types.BooleanType, a, b) }
	cases := []struct {
		e        *expr.Expr
		n        int64
		keep, ok bool
	}{
		{call(expr.FuncLe, rn, lit("3")), 3, false, true},
		{call(expr.FuncLe, rn, intLit), 3, false, true},
		{call(expr.FuncLt, rn, lit("3")), 2, false, true},
		{call(expr.FuncGe, lit("5"), rn), 5, false, true},
		{call(expr.FuncGt, lit("5"), rn), 4, false, true},
		{call(expr.FuncEq, rn, lit("1")), 1, false, true},
		{call(expr.FuncEq, lit("1"), rn), 1, false, true},
		{call(expr.FuncEq, rn, lit("2")), 2, true, true},
		{call(expr.FuncGe, rn, lit("2")), 0, false, false},
		{call(expr.FuncLe, lit("2"), rn), 0, false, false},
		{call(expr.FuncNe, rn, lit("2")), 0, false, false},
		{call(expr.FuncLe, other, lit("2")), 0, false, false},
		{call(expr.FuncLe, rn, other), 0, false, false},
		{call(expr.FuncLe, rn, expr.NullLit(types.BigIntType)), 0, false, false},
	}
	for i, c := range cases {
		n, keep, ok := rankBound(c.e, 4)
		if n != c.n || keep != c.keep || ok != c.ok {
			t.Errorf("case %d: rankBound = %d, %v, %v; want %d, %v, %v", i, n, keep, ok, c.n, c.keep, c.ok)
		}
	}
}

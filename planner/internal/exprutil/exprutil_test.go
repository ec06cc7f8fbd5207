package exprutil

import (
	"testing"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

var (
	bi  = types.BigIntType
	a   = expr.Col(0, bi)
	b   = expr.Col(1, bi)
	one = expr.Lit("1", bi)
)

func cmp(fn string, x, y *expr.Expr) *expr.Expr { return expr.Call(fn, types.BooleanType, x, y) }

func TestConjunctsAndAnd(t *testing.T) {
	x, y, z := cmp(expr.FuncEq, a, one), cmp(expr.FuncLt, b, one), cmp(expr.FuncGt, a, b)
	e := And(x, nil, y, z)
	terms := Conjuncts(e)
	if len(terms) != 3 || !Equal(terms[0], x) || !Equal(terms[1], y) || !Equal(terms[2], z) {
		t.Fatalf("conjuncts of %s = %v", Fingerprint(e), terms)
	}
	if And() != nil || And(nil) != nil {
		t.Error("And of nothing is not nil")
	}
	if Conjuncts(nil) != nil {
		t.Error("Conjuncts(nil) is not empty")
	}
	or := expr.Call(expr.FuncOr, types.BooleanType, x, y)
	if len(Conjuncts(or)) != 1 {
		t.Error("an OR was split")
	}
}

func TestSubstituteAndRemap(t *testing.T) {
	e := expr.Call(expr.FuncAdd, bi, a, expr.Call(expr.FuncMul, bi, b, a))
	s := Substitute(e, []*expr.Expr{b, one})
	want := expr.Call(expr.FuncAdd, bi, b, expr.Call(expr.FuncMul, bi, one, b))
	if !Equal(s, want) {
		t.Errorf("substitute: %s", Fingerprint(s))
	}
	if !Equal(e, expr.Call(expr.FuncAdd, bi, a, expr.Call(expr.FuncMul, bi, b, a))) {
		t.Error("Substitute modified its argument")
	}
	r := Remap(e, []int{5, 7})
	used := make([]bool, 8)
	AddRefs(used, r)
	if !used[5] || !used[7] || used[0] || used[1] {
		t.Errorf("remap refs %v", used)
	}
	counts := make([]int, 2)
	CountRefs(counts, e)
	if counts[0] != 2 || counts[1] != 1 {
		t.Errorf("counts %v", counts)
	}
	if MaxColumn(e) != 1 || MaxColumn(one) != -1 {
		t.Error("MaxColumn")
	}
}

func TestIntConst(t *testing.T) {
	cases := []struct {
		e  *expr.Expr
		v  int64
		ok bool
	}{
		{expr.Lit("3", types.IntType), 3, true},
		{expr.Lit("-4", bi), -4, true},
		{expr.Call(expr.FuncCast, bi, expr.Lit("5", types.IntType)), 5, true},
		{expr.Lit("7", types.DecimalType(10, 0)), 7, true},
		{expr.Lit("7.00", types.DecimalType(10, 2)), 0, false},
		{expr.NullLit(bi), 0, false},
		{expr.Lit("x", types.StringType), 0, false},
		{a, 0, false},
		{expr.Call(expr.FuncCast, types.DoubleType, expr.Lit("5", types.IntType)), 0, false},
	}
	for i, c := range cases {
		v, ok := IntConst(c.e)
		if v != c.v || ok != c.ok {
			t.Errorf("case %d: IntConst(%s) = %d, %v", i, Fingerprint(c.e), v, ok)
		}
	}
}

func TestMayFail(t *testing.T) {
	if MayFail(expr.Call(expr.FuncAdd, bi, a, b)) {
		t.Error("a + b may fail")
	}
	for _, e := range []*expr.Expr{
		expr.Call(expr.FuncDiv, bi, a, b),
		cmp(expr.FuncEq, expr.Call(expr.FuncMod, bi, a, b), one),
		expr.Call(expr.FuncCast, types.IntType, expr.Col(0, types.StringType)),
	} {
		if !MayFail(e) {
			t.Errorf("%s may not fail", Fingerprint(e))
		}
	}
	if MayFail(expr.Call(expr.FuncCast, types.IntType, expr.Lit("1", bi))) {
		t.Error("a cast of a literal may fail")
	}
}

func TestIdentityAndTrue(t *testing.T) {
	if !IsIdentity([]*expr.Expr{a, b}, 2) || IsIdentity([]*expr.Expr{b, a}, 2) || IsIdentity([]*expr.Expr{a}, 2) {
		t.Error("IsIdentity")
	}
	if !IsTrue(expr.Lit("TRUE", types.BooleanType)) || IsTrue(expr.Lit("false", types.BooleanType)) || IsTrue(one) {
		t.Error("IsTrue")
	}
	if Equal(expr.Col(0, bi), expr.Col(0, types.IntType)) {
		t.Error("Equal ignores types")
	}
}

package expr

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

var (
	seedFlag  = flag.Uint64("expr.seed", 20240501, "seed of TestRandomExpressions")
	itersFlag = flag.Int("expr.iters", 3000, "iterations of TestRandomExpressions")
)

// randomSizes are the batch sizes the tests cycle through: empty, single
// row, odd sizes, and sizes around byte and word boundaries.
var randomSizes = []int{0, 1, 2, 3, 7, 8, 9, 15, 31, 33, 63, 64, 65, 127, 200}

// fixture is an input batch: a schema and its columns.
type fixture struct {
	schema types.Schema
	cols   []arrow.Array
	n      int
	rows   [][]rv
}

func (f *fixture) release() {
	for _, c := range f.cols {
		c.Release()
	}
}

// row reads row i of every column (through arrow's accessors, cached).
func (f *fixture) row(i int) []rv {
	if f.rows == nil {
		f.rows = make([][]rv, f.n)
	}
	if f.rows[i] == nil {
		out := make([]rv, len(f.cols))
		for c, col := range f.cols {
			out[c] = readRow(col, f.schema.Fields[c].Type, i)
		}
		f.rows[i] = out
	}
	return f.rows[i]
}

// newFixture builds random columns for schema.
func newFixture(r *rand.Rand, mem memory.Allocator, schema types.Schema, n int) *fixture {
	f := &fixture{schema: schema, n: n}
	nullRate := []float64{0, 0, 0.1, 0.3, 1}[r.IntN(5)]
	for _, fd := range schema.Fields {
		rate := nullRate
		if r.IntN(4) == 0 {
			rate = []float64{0, 0.5, 1}[r.IntN(3)]
		}
		f.cols = append(f.cols, randomColumn(r, mem, fd.Type, n, rate))
	}
	return f
}

// describe renders e for failure messages.
func describe(e *Expr, schema types.Schema) string {
	js, _ := json.Marshal(e)
	ev, err := Compile(e, schema)
	if err != nil {
		return string(js)
	}
	return ev.(*evaluator).String() + "\n" + string(js)
}

// checkAgainstReference evaluates e over f with the engine and with the
// row-at-a-time reference and compares them: the same error/no-error
// outcome, and the same value on every row.
func checkAgainstReference(t *testing.T, mem memory.Allocator, e *Expr, f *fixture) {
	t.Helper()
	ev, err := Compile(e, f.schema)
	if err != nil {
		t.Fatalf("compile %s: %v", describe(e, f.schema), err)
	}
	want := make([]rv, f.n)
	var refErr error
	for i := 0; i < f.n && refErr == nil; i++ {
		want[i], refErr = refEval(e, f.row(i))
	}
	got, err := ev.EvalColumns(context.Background(), f.cols, f.n, mem)
	if refErr != nil {
		if err == nil {
			got.Release()
			t.Fatalf("%s: engine succeeded where the reference fails", describe(e, f.schema))
		}
		if !strings.HasPrefix(err.Error(), "expr: ") {
			t.Fatalf("error %q does not start with expr:", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: engine failed where the reference succeeds: %v", describe(e, f.schema), err)
	}
	defer got.Release()
	if got.Len() != f.n {
		t.Fatalf("%s: %d rows, want %d", describe(e, f.schema), got.Len(), f.n)
	}
	if wantType := e.Type.Arrow(); !arrow.TypeEqual(got.DataType(), wantType) {
		t.Fatalf("%s: type %s, want %s", describe(e, f.schema), got.DataType(), wantType)
	}
	nulls := 0
	for i := 0; i < f.n; i++ {
		g := readRow(got, e.Type, i)
		if g.null {
			nulls++
		}
		if !sameRV(e.Type, g, want[i]) {
			t.Fatalf("%s\nrow %d (%v): got %s, want %s", describe(e, f.schema), i, showRow(f, i), showRV(e.Type, g), showRV(e.Type, want[i]))
		}
	}
	if got.NullN() != nulls {
		t.Fatalf("%s: NullN %d, but %d rows are NULL", describe(e, f.schema), got.NullN(), nulls)
	}
}

func showRow(f *fixture, i int) string {
	parts := make([]string, len(f.cols))
	for c := range f.cols {
		parts[c] = f.schema.Fields[c].Name + "=" + showRV(f.schema.Fields[c].Type, readRow(f.cols[c], f.schema.Fields[c].Type, i))
	}
	return strings.Join(parts, " ")
}

// TestRandomExpressions compares random well-typed expression trees over
// random data (random sizes, NULLs, offsets) with the reference.
func TestRandomExpressions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := *seedFlag
	iters := *itersFlag
	if testing.Short() {
		iters = 500
	}
	for it := 0; it < iters; it++ {
		r := rand.New(rand.NewPCG(seed, uint64(it)))
		schema := randomSchema(r)
		f := newFixture(r, mem, schema, randomSizes[r.IntN(len(randomSizes))])
		g := &exprGen{r: r, schema: schema}
		for j := 0; j < 4; j++ {
			k := append(valueKinds, types.Interval)[r.IntN(len(valueKinds)+1)]
			e := g.gen(k, 1+r.IntN(4))
			t.Run("", func(t *testing.T) {
				checkAgainstReference(t, mem, e, f)
			})
			if t.Failed() {
				f.release()
				t.Fatalf("iteration %d", it)
			}
		}
		f.release()
	}
}

// TestEveryFunctionAndType runs each function on each argument type it
// accepts, over columns and constants, at every batch size.
func TestEveryFunctionAndType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 7))
	dec1, dec2 := types.DecimalType(10, 2), types.DecimalType(38, 10)
	schema := types.Schema{Fields: []types.Field{
		{Name: "b1", Type: types.BooleanType}, {Name: "b2", Type: types.BooleanType},
		{Name: "i1", Type: types.IntType}, {Name: "i2", Type: types.IntType},
		{Name: "l1", Type: types.BigIntType}, {Name: "l2", Type: types.BigIntType},
		{Name: "d1", Type: types.DoubleType}, {Name: "d2", Type: types.DoubleType},
		{Name: "m1", Type: dec1}, {Name: "m2", Type: dec2},
		{Name: "s1", Type: types.StringType}, {Name: "s2", Type: types.Type{Kind: types.String, Length: 4}},
		{Name: "t1", Type: types.TimestampType}, {Name: "t2", Type: types.TimestampType},
		{Name: "v1", Type: types.IntervalType},
	}}
	col := func(name string) *Expr {
		i := schema.Index(name)
		return Col(i, schema.Fields[i].Type)
	}
	g := &exprGen{r: r, schema: schema}
	type pair struct{ a, b string }
	same := map[types.Kind]pair{
		types.Boolean: {"b1", "b2"}, types.Int: {"i1", "i2"}, types.BigInt: {"l1", "l2"}, types.Double: {"d1", "d2"},
		types.Decimal: {"m1", "m2"}, types.String: {"s1", "s2"}, types.Timestamp: {"t1", "t2"},
	}
	var exprs []*Expr
	bin := func(fn string, t types.Type, a, b *Expr) {
		exprs = append(exprs, Call(fn, t, a, b))
		exprs = append(exprs, Call(fn, t, a, g.literal(b.Type)))
		exprs = append(exprs, Call(fn, t, g.literal(a.Type), b))
	}
	for _, k := range []types.Kind{types.Int, types.BigInt, types.Double} {
		p := same[k]
		for _, fn := range []string{FuncAdd, FuncSub, FuncMul, FuncDiv, FuncMod} {
			bin(fn, types.Type{Kind: k}, col(p.a), col(p.b))
		}
		exprs = append(exprs, Call(FuncNeg, types.Type{Kind: k}, col(p.a)))
	}
	for _, fn := range []string{FuncAdd, FuncSub, FuncMul, FuncDiv, FuncMod} {
		for _, ab := range []pair{{"m1", "m2"}, {"m2", "m1"}, {"m1", "m1"}, {"m2", "m2"}} {
			a, b := col(ab.a), col(ab.b)
			bin(fn, decimalResult(r, fn, a.Type, b.Type), a, b)
		}
	}
	exprs = append(exprs, Call(FuncNeg, dec1, col("m1")), Call(FuncNeg, dec2, col("m2")))
	bin(FuncAdd, types.TimestampType, col("t1"), col("v1"))
	bin(FuncSub, types.TimestampType, col("t1"), col("v1"))
	bin(FuncAdd, types.TimestampType, col("v1"), col("t2"))
	bin(FuncAdd, types.IntervalType, col("v1"), col("v1"))
	exprs = append(exprs, Call(FuncNeg, types.IntervalType, col("v1")))
	for _, p := range same {
		for _, fn := range []string{FuncEq, FuncNe, FuncLt, FuncLe, FuncGt, FuncGe} {
			bin(fn, types.BooleanType, col(p.a), col(p.b))
		}
	}
	for _, fn := range []string{FuncAnd, FuncOr} {
		bin(fn, types.BooleanType, col("b1"), col("b2"))
		exprs = append(exprs, Call(fn, types.BooleanType, col("b1"), col("b2"), Call(FuncNot, types.BooleanType, col("b1"))))
	}
	exprs = append(exprs, Call(FuncNot, types.BooleanType, col("b1")))
	for _, f := range schema.Fields {
		c := col(f.Name)
		exprs = append(exprs, Call(FuncIsNull, types.BooleanType, c), Call(FuncIsNotNull, types.BooleanType, c))
	}
	// Every supported cast, from columns.
	targets := []types.Type{types.BooleanType, types.IntType, types.BigIntType, types.DoubleType, types.DecimalType(5, 2),
		types.DecimalType(20, 0), types.DecimalType(38, 18), types.DecimalType(1, 1), types.StringType,
		{Kind: types.String, Length: 3}, types.TimestampType}
	for _, f := range schema.Fields {
		for _, to := range targets {
			if _, _, err := newCastKernel(f.Type, to, false, ""); err != nil {
				continue
			}
			exprs = append(exprs, Call(FuncCast, to, col(f.Name)), Call(FuncTryCast, to, col(f.Name)))
		}
	}
	// CASE with and without ELSE, over every kind.
	for k, p := range same {
		tt := schema.Fields[schema.Index(p.a)].Type
		b := Call(FuncCast, tt, col(p.b))
		exprs = append(exprs,
			Call(FuncCase, tt, col("b1"), col(p.a), col("b2"), b),
			Call(FuncCase, tt, col("b1"), col(p.a), Call(FuncNot, types.BooleanType, col("b2")), g.literal(tt), b),
			Call(FuncCase, tt, Call(FuncIsNull, types.BooleanType, col(p.a)), NullLit(tt), col(p.a)),
		)
		_ = k
	}
	for _, n := range randomSizes {
		for rep := 0; rep < 3; rep++ {
			f := newFixture(r, mem, schema, n)
			for _, e := range exprs {
				checkAgainstReference(t, mem, e, f)
				if t.Failed() {
					f.release()
					t.FailNow()
				}
			}
			f.release()
		}
	}
}

// TestCompileErrors checks that malformed expressions are rejected with a
// message naming the function.
func TestCompileErrors(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.IntType}, {Name: "s", Type: types.StringType}}}
	a, s := Col(0, types.IntType), Col(1, types.StringType)
	cases := []struct {
		e    *Expr
		want string
	}{
		{Call(FuncAdd, types.IntType, a), "add: want 2 argument(s), got 1"},
		{Call(FuncAdd, types.IntType, a, s), "add: cannot apply + to INT, STRING giving INT"},
		{Call(FuncAdd, types.BigIntType, a, a), "add: cannot apply + to INT, INT giving BIGINT"},
		{Call(FuncEq, types.BooleanType, a, s), "eq: cannot compare INT, STRING"},
		{Call(FuncEq, types.IntType, a, a), "eq: result type is INT, want BOOLEAN"},
		{Call(FuncAnd, types.BooleanType, a, a), "and: argument 1 is INT, want BOOLEAN"},
		{Call(FuncCast, types.TimestampType, a), "cast: cannot cast INT to TIMESTAMP(3)"},
		{Call("frobnicate", types.IntType, a), `unknown function "frobnicate"`},
		{Col(5, types.IntType), "column 5 out of range"},
		{Col(1, types.IntType), "column 1 (s) is STRING, but the expression says INT"},
		{Lit("x", types.IntType), `INT literal "x"`},
		{Call(FuncCase, types.IntType, Lit("true", types.BooleanType), s), "case: result 1 is STRING, want INT"},
		{Call(FuncCase, types.IntType, a, a), "case: condition 1 is INT, want BOOLEAN"},
		{Call(FuncMul, types.DecimalType(40, 2), Lit("1.00", types.DecimalType(3, 2)), Lit("1.00", types.DecimalType(3, 2))), "result DECIMAL(40, 2) is not a valid type"},
	}
	for _, c := range cases {
		_, err := Compile(c.e, schema)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%s): error %v, want it to contain %q", describe(c.e, schema), err, c.want)
		}
	}
}

// TestRuntimeErrorsNameTheCulprit checks that failing rows produce errors
// that name the expression and the value.
func TestRuntimeErrorsNameTheCulprit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 3))
	_ = r
	schema := types.Schema{Fields: []types.Field{
		{Name: "a", Type: types.BigIntType}, {Name: "b", Type: types.BigIntType}, {Name: "s", Type: types.StringType},
		{Name: "m", Type: types.DecimalType(10, 2)}, {Name: "z", Type: types.DecimalType(10, 2)},
	}}
	build := func() []arrow.Array {
		return []arrow.Array{
			arrayOf(mem, types.BigIntType, []any{int64(10), int64(20), nil}),
			arrayOf(mem, types.BigIntType, []any{int64(5), int64(0), int64(0)}),
			arrayOf(mem, types.StringType, []any{"12", "twelve", nil}),
			arrayOf(mem, types.DecimalType(10, 2), []any{"1.50", "2.00", "3.00"}),
			arrayOf(mem, types.DecimalType(10, 2), []any{"0.50", "0.00", "1.00"}),
		}
	}
	cols := build()
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	a, b, s := Col(0, types.BigIntType), Col(1, types.BigIntType), Col(2, types.StringType)
	m, z := Col(3, types.DecimalType(10, 2)), Col(4, types.DecimalType(10, 2))
	cases := []struct {
		e    *Expr
		want []string
	}{
		{Call(FuncDiv, types.BigIntType, a, b), []string{"division by zero", "(a / b)", "20 / 0"}},
		{Call(FuncMod, types.BigIntType, a, b), []string{"division by zero", "MOD(a, b)"}},
		{Call(FuncDiv, types.DecimalType(21, 11), m, z), []string{"division by zero", "(m / z)", "2.00 / 0"}},
		{Call(FuncCast, types.IntType, s), []string{"CAST(s AS INT)", "'twelve'", "not a valid INT"}},
		{Call(FuncCast, types.BooleanType, s), []string{"CAST(s AS BOOLEAN)", "'12'"}},
		{Call(FuncCast, types.TimestampType, s), []string{"CAST(s AS TIMESTAMP(3))", "'12'"}},
		{Call(FuncCast, types.DecimalType(1, 0), s), []string{"CAST(s AS DECIMAL(1, 0))", "'12'", "does not fit"}},
	}
	for _, c := range cases {
		ev, err := Compile(c.e, schema)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ev.EvalColumns(context.Background(), cols, 3, mem)
		if err == nil {
			out.Release()
			t.Errorf("%s: no error", describe(c.e, schema))
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", describe(c.e, schema), err, w)
			}
		}
	}
	// TRY_CAST turns the same failures into NULLs, and a NULL divisor row
	// never fails.
	for _, e := range []*Expr{
		Call(FuncTryCast, types.IntType, s),
		Call(FuncTryCast, types.DecimalType(1, 0), s),
		Call(FuncCase, types.BigIntType, Call(FuncNe, types.BooleanType, b, Lit("0", types.BigIntType)), Call(FuncDiv, types.BigIntType, a, b)),
		Call(FuncAnd, types.BooleanType, Call(FuncNe, types.BooleanType, b, Lit("0", types.BigIntType)), Call(FuncGt, types.BooleanType, Call(FuncDiv, types.BigIntType, a, b), a)),
	} {
		f := &fixture{schema: schema, cols: cols, n: 3}
		checkAgainstReference(t, mem, e, f)
	}
}

// arrayOf builds a column from Go values (nil is NULL; DECIMAL from text).
func arrayOf(mem memory.Allocator, t types.Type, vals []any) arrow.Array {
	schema := types.Schema{Fields: []types.Field{{Name: "x", Type: t}}}
	lits := make([]*Expr, len(vals))
	for i, v := range vals {
		if v == nil {
			lits[i] = NullLit(t)
		} else {
			lits[i] = Lit(fmt.Sprint(v), t)
		}
	}
	// Build through the engine's own broadcast of each literal, one row
	// at a time, then concatenate with Take over a combined array.
	parts := make([]arrow.Array, len(vals))
	for i, l := range lits {
		sc, err := parseLiteral(l.Literal, t)
		if err != nil {
			panic(err)
		}
		parts[i] = broadcast(mem, sc, t, 1)
	}
	_ = schema
	out := concat(mem, t, parts)
	for _, p := range parts {
		p.Release()
	}
	return out
}

// concat joins single-row columns with interleave.
func concat(mem memory.Allocator, t types.Type, parts []arrow.Array) arrow.Array {
	vals := make([]value, len(parts))
	s := sources{src: make([]int32, len(parts)), pos: make([]int32, len(parts))}
	for i, p := range parts {
		vals[i] = value{arr: p}
		s.src[i] = int32(i)
	}
	return interleave(mem, t, len(parts), vals, s)
}

package calc

import (
	"context"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The input of every test: a gifts-like stream.
var (
	priceType = types.DecimalType(10, 2)
	inSchema  = types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType},
		{Name: "user_id", Type: types.BigIntType},
		{Name: "gift_id", Type: types.IntType},
		{Name: "quantity", Type: types.IntType},
		{Name: "amount", Type: types.BigIntType},
		{Name: "price", Type: priceType},
		{Name: "ts", Type: types.TimestampType},
		{Name: "comment", Type: types.StringType},
	}}
)

// gift is one input row as Go values; nil pointers are NULL.
type gift struct {
	room, user       *int64
	giftID, quantity *int32
	amount           *int64
	price            *big.Int // unscaled, scale 2
	ts               *int64
	comment          *string
}

func col(name string) *expr.Expr {
	i := inSchema.Index(name)
	return expr.Col(i, inSchema.Fields[i].Type)
}

func lit(v string, t types.Type) *expr.Expr { return expr.Lit(v, t) }

func call(fn string, t types.Type, args ...*expr.Expr) *expr.Expr { return expr.Call(fn, t, args...) }

// filterCase is a filter with its row-at-a-time reference: TRUE keeps the
// row; FALSE and NULL (ok=false) drop it.
type filterCase struct {
	name string
	e    *expr.Expr
	keep func(g gift) bool
}

// projCase is a projection with its reference rendering (as
// optest.RenderValue renders a cell).
type projCase struct {
	name string
	e    *expr.Expr
	ref  func(g gift) string
}

func i64(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

func filters(r *rand.Rand) []filterCase {
	k := r.Int64N(400) - 100
	q := int32(r.IntN(10))
	m := int64(2 + r.IntN(5))
	gid := int32(r.IntN(20))
	p := big.NewInt(r.Int64N(100000))
	return []filterCase{
		{"none", nil, func(gift) bool { return true }},
		{"amount>k", call(expr.FuncGt, types.BooleanType, col("amount"), lit(strconv.FormatInt(k, 10), types.BigIntType)),
			func(g gift) bool { return g.amount != nil && *g.amount > k }},
		{"and", call(expr.FuncAnd, types.BooleanType,
			call(expr.FuncGt, types.BooleanType, col("amount"), lit(strconv.FormatInt(k, 10), types.BigIntType)),
			call(expr.FuncLe, types.BooleanType, col("quantity"), lit(strconv.Itoa(int(q)), types.IntType))),
			func(g gift) bool {
				return g.amount != nil && *g.amount > k && g.quantity != nil && *g.quantity <= q
			}},
		{"or", call(expr.FuncOr, types.BooleanType,
			call(expr.FuncIsNotNull, types.BooleanType, col("comment")),
			call(expr.FuncEq, types.BooleanType, col("gift_id"), lit(strconv.Itoa(int(gid)), types.IntType))),
			func(g gift) bool { return g.comment != nil || (g.giftID != nil && *g.giftID == gid) }},
		{"mod", call(expr.FuncEq, types.BooleanType,
			call(expr.FuncMod, types.BigIntType, col("user_id"), lit(strconv.FormatInt(m, 10), types.BigIntType)),
			lit("0", types.BigIntType)),
			func(g gift) bool { return g.user != nil && *g.user%m == 0 }},
		{"price", call(expr.FuncGe, types.BooleanType, col("price"), lit(new(big.Rat).SetFrac(p, big.NewInt(100)).FloatString(2), priceType)),
			func(g gift) bool { return g.price != nil && g.price.Cmp(p) >= 0 }},
		{"not", call(expr.FuncNot, types.BooleanType, call(expr.FuncLt, types.BooleanType, col("room_id"), lit("5", types.BigIntType))),
			func(g gift) bool { return g.room != nil && !(*g.room < 5) }},
		// Filters sharing subexpressions with the projections total and
		// per_unit (computed once per batch, the projections gathering
		// them), one of them a division its CASE guards.
		{"total>k", call(expr.FuncGt, types.BooleanType,
			call(expr.FuncMul, types.BigIntType, col("amount"), call(expr.FuncCast, types.BigIntType, col("quantity"))),
			lit(strconv.FormatInt(k, 10), types.BigIntType)),
			func(g gift) bool { return g.amount != nil && g.quantity != nil && *g.amount*int64(*g.quantity) > k }},
		{"per_unit>m", call(expr.FuncGt, types.BooleanType,
			call(expr.FuncCase, types.BigIntType,
				call(expr.FuncNe, types.BooleanType, col("quantity"), lit("0", types.IntType)),
				call(expr.FuncDiv, types.BigIntType, col("amount"), call(expr.FuncCast, types.BigIntType, col("quantity")))),
			lit(strconv.FormatInt(m, 10), types.BigIntType)),
			func(g gift) bool {
				return g.amount != nil && g.quantity != nil && *g.quantity != 0 && *g.amount/int64(*g.quantity) > m
			}},
		{"false", lit("false", types.BooleanType), func(gift) bool { return false }},
		{"true", lit("true", types.BooleanType), func(gift) bool { return true }},
		{"null", expr.NullLit(types.BooleanType), func(gift) bool { return false }},
	}
}

func projections() []projCase {
	bigint := types.BigIntType
	return []projCase{
		{"room_id", col("room_id"), func(g gift) string { return i64(g.room) }},
		{"total", call(expr.FuncMul, bigint, col("amount"), call(expr.FuncCast, bigint, col("quantity"))),
			func(g gift) string {
				if g.amount == nil || g.quantity == nil {
					return "null"
				}
				return strconv.FormatInt(*g.amount*int64(*g.quantity), 10)
			}},
		{"size", call(expr.FuncCase, types.StringType,
			call(expr.FuncGt, types.BooleanType, col("amount"), lit("100", bigint)), lit("big", types.StringType),
			call(expr.FuncGt, types.BooleanType, col("amount"), lit("10", bigint)), lit("mid", types.StringType)),
			func(g gift) string {
				switch {
				case g.amount != nil && *g.amount > 100:
					return `"big"`
				case g.amount != nil && *g.amount > 10:
					return `"mid"`
				}
				return "null"
			}},
		{"price_text", call(expr.FuncCast, types.StringType, col("price")), func(g gift) string {
			if g.price == nil {
				return "null"
			}
			return strconv.Quote(new(big.Rat).SetFrac(g.price, big.NewInt(100)).FloatString(2))
		}},
		{"later", call(expr.FuncAdd, types.TimestampType, col("ts"), lit("5000", types.IntervalType)), func(g gift) string {
			if g.ts == nil {
				return "null"
			}
			return strconv.FormatInt(*g.ts+5000, 10)
		}},
		{"per_unit", call(expr.FuncCase, bigint,
			call(expr.FuncNe, types.BooleanType, col("quantity"), lit("0", types.IntType)),
			call(expr.FuncDiv, bigint, col("amount"), call(expr.FuncCast, bigint, col("quantity")))),
			func(g gift) string {
				if g.quantity == nil || *g.quantity == 0 || g.amount == nil {
					return "null"
				}
				return strconv.FormatInt(*g.amount/int64(*g.quantity), 10)
			}},
		{"double_price", call(expr.FuncMul, types.DecimalType(12, 2), col("price"), lit("2", types.DecimalType(1, 0))),
			func(g gift) string {
				if g.price == nil {
					return "null"
				}
				return new(big.Rat).SetFrac(new(big.Int).Mul(g.price, big.NewInt(2)), big.NewInt(100)).FloatString(2)
			}},
		{"comment", col("comment"), func(g gift) string {
			if g.comment == nil {
				return "null"
			}
			return strconv.Quote(*g.comment)
		}},
	}
}

// randomGifts returns n random rows, with NULLs at the given rate.
func randomGifts(r *rand.Rand, n int, nullRate float64) []gift {
	null := func() bool { return r.Float64() < nullRate }
	gs := make([]gift, n)
	for i := range gs {
		g := &gs[i]
		if !null() {
			v := r.Int64N(10)
			g.room = &v
		}
		if !null() {
			v := r.Int64N(1000)
			g.user = &v
		}
		if !null() {
			v := int32(r.IntN(20))
			g.giftID = &v
		}
		if !null() {
			v := int32(r.IntN(6)) // zero sometimes: per_unit guards it
			g.quantity = &v
		}
		if !null() {
			v := r.Int64N(400) - 100
			g.amount = &v
		}
		if !null() {
			g.price = big.NewInt(r.Int64N(200000) - 50000)
		}
		if !null() {
			v := 1_700_000_000_000 + r.Int64N(10_000_000)
			g.ts = &v
		}
		if !null() {
			v := []string{"", "wow", "héllo", "🎁 gift", "a,b"}[r.IntN(5)]
			g.comment = &v
		}
	}
	return gs
}

// record builds an Arrow batch of gs, sliced at a random offset.
func record(r *rand.Rand, mem memory.Allocator, gs []gift) arrow.RecordBatch {
	pad := r.IntN(4)
	rows := make([]gift, pad, pad+len(gs))
	rows = append(rows, gs...)
	b := array.NewRecordBuilder(mem, inSchema.Arrow())
	defer b.Release()
	for _, g := range rows {
		appendI64(b.Field(0).(*array.Int64Builder), g.room)
		appendI64(b.Field(1).(*array.Int64Builder), g.user)
		appendI32(b.Field(2).(*array.Int32Builder), g.giftID)
		appendI32(b.Field(3).(*array.Int32Builder), g.quantity)
		appendI64(b.Field(4).(*array.Int64Builder), g.amount)
		if g.price == nil {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromBigInt(g.price))
		}
		if g.ts == nil {
			b.Field(6).AppendNull()
		} else {
			b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(*g.ts))
		}
		if g.comment == nil {
			b.Field(7).AppendNull()
		} else {
			b.Field(7).(*array.StringBuilder).Append(*g.comment)
		}
	}
	full := b.NewRecordBatch()
	defer full.Release()
	return full.NewSlice(int64(pad), int64(pad+len(gs)))
}

func appendI64(b *array.Int64Builder, v *int64) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

func appendI32(b *array.Int32Builder, v *int32) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

// kindCollector keeps every emitted row with its kind, rendered.
type kindCollector struct {
	rows    []string
	batches int
	schema  *arrow.Schema
}

func (c *kindCollector) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	c.batches++
	c.schema = b.Record.Schema()
	for i := 0; i < b.NumRows(); i++ {
		cells := []string{b.Kind(i).String()}
		for j := 0; j < int(b.Record.NumCols()); j++ {
			cells = append(cells, optest.RenderValue(b.Record.Column(j), i))
		}
		c.rows = append(c.rows, strings.Join(cells, "|"))
	}
	return nil
}

// newCalc builds a calc operator over inSchema.
func newCalc(t testing.TB, filter *expr.Expr, projs []projCase) *Calc {
	t.Helper()
	spec := &jobgraph.OperatorSpec{ID: "calc-1", Name: "Calc(test)", Calc: &jobgraph.CalcSpec{Filter: filter}}
	for _, p := range projs {
		spec.Calc.Projections = append(spec.Calc.Projections, p.e)
		spec.Output.Fields = append(spec.Output.Fields, types.Field{Name: p.name, Type: p.e.Type})
	}
	op, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return op.(*Calc)
}

// TestCalcMatchesReference runs random filters and projections over random
// batches (sizes 0, 1, odd, offsets, NULLs, row kinds) and compares the
// output, in order and with row kinds, with a row-at-a-time reference.
func TestCalcMatchesReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 12))
	all := projections()
	for it := 0; it < 60; it++ {
		for _, fc := range filters(r) {
			// A random non-empty subset of the projections, in random order.
			perm := r.Perm(len(all))[:1+r.IntN(len(all))]
			projs := make([]projCase, len(perm))
			for i, j := range perm {
				projs[i] = all[j]
			}
			c := newCalc(t, fc.e, projs)
			oc, _ := optest.NewContext(mem, nil)
			if err := c.Open(ctx, oc); err != nil {
				t.Fatal(err)
			}
			out := &kindCollector{}
			var want []string
			for b := 0; b < 3; b++ {
				n := []int{0, 1, 2, 7, 64, 65, 333}[r.IntN(7)]
				gs := randomGifts(r, n, []float64{0, 0.2, 0.6}[r.IntN(3)])
				rec := record(r, mem, gs)
				var kinds []stream.RowKind
				if r.IntN(2) == 0 {
					kinds = make([]stream.RowKind, n)
					for i := range kinds {
						kinds[i] = stream.RowKind(r.IntN(4))
					}
				}
				for i, g := range gs {
					if !fc.keep(g) {
						continue
					}
					k := stream.Insert
					if kinds != nil {
						k = kinds[i]
					}
					cells := []string{k.String()}
					for _, p := range projs {
						cells = append(cells, p.ref(g))
					}
					want = append(want, strings.Join(cells, "|"))
				}
				before := out.batches
				err := c.ProcessBatch(ctx, 0, stream.Batch{Record: rec, Kinds: kinds}, out)
				rec.Release()
				if err != nil {
					t.Fatalf("filter %s: %v", fc.name, err)
				}
				if out.batches > before && len(out.rows) == 0 {
					t.Fatalf("filter %s: emitted an empty batch", fc.name)
				}
				if err := c.ProcessWatermark(ctx, int64(b), out); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if strings.Join(out.rows, "\n") != strings.Join(want, "\n") {
				t.Fatalf("filter %s, projections %v:\ngot\n%s\nwant\n%s", fc.name, names(projs), strings.Join(out.rows, "\n"), strings.Join(want, "\n"))
			}
			if out.schema != nil && !out.schema.Equal(c.output) {
				t.Fatalf("schema %s, want %s", out.schema, c.output)
			}
		}
	}
}

func names(ps []projCase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// TestCalcEmitsNothingForEmptyResults checks that batches with no kept row
// (or no row) emit nothing.
func TestCalcEmitsNothingForEmptyResults(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	c := newCalc(t, call(expr.FuncGt, types.BooleanType, col("amount"), lit("1000000", types.BigIntType)), projections()[:2])
	oc, _ := optest.NewContext(mem, nil)
	_ = c.Open(ctx, oc)
	out := &kindCollector{}
	for _, n := range []int{0, 1, 50} {
		rec := record(r, mem, randomGifts(r, n, 0.1))
		if err := c.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if out.batches != 0 {
		t.Fatalf("emitted %d batches, want none", out.batches)
	}
}

// TestCalcErrors checks bad specs, bad input and failing rows.
func TestCalcErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	bad := []struct {
		spec *jobgraph.OperatorSpec
		want string
	}{
		{&jobgraph.OperatorSpec{ID: "x"}, "no calc part"},
		{&jobgraph.OperatorSpec{ID: "x", Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{col("amount")}}}, "1 projections for 0 output columns"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.IntType}}},
			Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{col("amount")}}}, "projection 0 is BIGINT but output column a is INT"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}},
			Calc: &jobgraph.CalcSpec{Filter: col("amount"), Projections: []*expr.Expr{col("amount")}}}, "filter is BIGINT, want BOOLEAN"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}},
			Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{call(expr.FuncAdd, types.BigIntType, col("amount"), col("gift_id"))}}}, "cannot apply +"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}, {Name: "b", Type: types.IntType}}},
			Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{expr.Col(0, types.BigIntType), expr.Col(0, types.IntType)}}}, "input column 0 is referenced as BIGINT and as INT"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}},
			Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{nil}}}, "projection 0 is missing"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.DecimalType(50, 2)}}},
			Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{col("amount")}}}, "output column a: DECIMAL(50, 2) is not a valid column type"},
		{&jobgraph.OperatorSpec{ID: "x", Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}},
			Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{{Kind: expr.KindColumn, Column: 0, Type: types.Type{Kind: 99}}}}}, "unsupported type"},
	}
	for _, b := range bad {
		if _, err := New(b.spec); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("New: error %v, want %q", err, b.want)
		}
	}

	// A failing row names the calc, the expression and the input column.
	div := call(expr.FuncDiv, types.BigIntType, col("amount"), call(expr.FuncCast, types.BigIntType, col("quantity")))
	c := newCalc(t, nil, []projCase{{name: "q", e: div}})
	oc, _ := optest.NewContext(mem, nil)
	_ = c.Open(ctx, oc)
	gs := randomGifts(r, 20, 0)
	zero, one := int32(0), int64(1)
	gs[7].quantity, gs[7].amount = &zero, &one
	rec := record(r, mem, gs)
	err := c.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, &kindCollector{})
	rec.Release()
	if err == nil || !strings.Contains(err.Error(), "Calc(test)") || !strings.Contains(err.Error(), "division by zero in (amount / CAST(quantity AS BIGINT))") {
		t.Errorf("error %v", err)
	}

	// A NOT NULL output column that gets a NULL fails clearly.
	spec := &jobgraph.OperatorSpec{ID: "nn", Output: types.Schema{Fields: []types.Field{{Name: "amount", Type: types.Type{Kind: types.BigInt, NotNull: true}}}},
		Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{col("amount")}}}
	op, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	_ = op.Open(ctx, oc)
	gs = randomGifts(r, 5, 0)
	gs[2].amount = nil
	rec = record(r, mem, gs)
	err = op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, &kindCollector{})
	rec.Release()
	if err == nil || !strings.Contains(err.Error(), "declared BIGINT NOT NULL") {
		t.Errorf("error %v", err)
	}

	// Input of the wrong type is reported, not a panic.
	wrong := array.NewRecordBuilder(mem, types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.StringType}, {Name: "user_id", Type: types.BigIntType}}}.Arrow())
	wrong.Field(0).(*array.StringBuilder).Append("x")
	wrong.Field(1).(*array.Int64Builder).Append(1)
	wrec := wrong.NewRecordBatch()
	wrong.Release()
	c = newCalc(t, nil, projections()[:1])
	_ = c.Open(ctx, oc)
	err = c.ProcessBatch(ctx, 0, stream.Batch{Record: wrec}, &kindCollector{})
	wrec.Release()
	if err == nil || !strings.Contains(err.Error(), "is utf8, want int64") {
		t.Errorf("error %v", err)
	}
}

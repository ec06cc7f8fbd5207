package expr

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

const benchRows = 4096

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perCPU runs f b.N times and reports rows per CPU-second.
func perCPU(b *testing.B, rows int, f func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - c0
	b.StopTimer()
	if s := cpu.Seconds(); s > 0 {
		b.ReportMetric(float64(rows)*float64(b.N)/s, "rows/cpu-s")
	}
}

// benchSchema is a typical stream: BIGINT, INT, DOUBLE, DECIMAL, STRING,
// TIMESTAMP, with about 5% NULLs in the nullable columns.
var benchSchema = types.Schema{Fields: []types.Field{
	{Name: "a", Type: types.BigIntType}, {Name: "b", Type: types.BigIntType}, {Name: "i", Type: types.IntType},
	{Name: "d", Type: types.DoubleType}, {Name: "m", Type: types.DecimalType(10, 2)}, {Name: "n", Type: types.DecimalType(10, 2)},
	{Name: "s", Type: types.StringType}, {Name: "ts", Type: types.TimestampType},
}}

func benchColumns(mem memory.Allocator) []arrow.Array {
	r := rand.New(rand.NewPCG(1, 2))
	cols := make([]arrow.Array, len(benchSchema.Fields))
	for i, f := range benchSchema.Fields {
		rate := 0.05
		if i < 2 {
			rate = 0 // a and b have no NULLs: the fast paths
		}
		cols[i] = randomColumn(r, mem, f.Type, benchRows, rate)
	}
	// b is a divisor: no zeros.
	bs := values[int64](cols[1])
	for i := range bs {
		if bs[i] == 0 {
			bs[i] = 1
		}
	}
	return cols
}

func benchEval(b *testing.B, e *Expr) {
	mem := memory.NewGoAllocator()
	cols := benchColumns(mem)
	ev, err := Compile(e, benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	perCPU(b, benchRows, func() error {
		out, err := ev.EvalColumns(ctx, cols, benchRows, mem)
		if err != nil {
			return err
		}
		out.Release()
		return nil
	})
}

func bcol(name string) *Expr {
	i := benchSchema.Index(name)
	return Col(i, benchSchema.Fields[i].Type)
}

// BenchmarkArith measures arithmetic kernels over 4096-row batches.
func BenchmarkArith(b *testing.B) {
	big := types.BigIntType
	dec := types.DecimalType(11, 2)
	cases := []struct {
		name string
		e    *Expr
	}{
		{"bigint_add_col_col", Call(FuncAdd, big, bcol("a"), bcol("b"))},
		{"bigint_mul_col_lit", Call(FuncMul, big, bcol("a"), Lit("3", big))},
		{"int_sub_nulls", Call(FuncSub, types.IntType, bcol("i"), Lit("7", types.IntType))},
		{"bigint_div_col_col", Call(FuncDiv, big, bcol("a"), bcol("b"))},
		{"bigint_mod_lit", Call(FuncMod, big, bcol("a"), Lit("7", big))},
		{"double_div_nulls", Call(FuncDiv, types.DoubleType, bcol("d"), Lit("2.5", types.DoubleType))},
		{"decimal_add", Call(FuncAdd, dec, bcol("m"), bcol("n"))},
		{"decimal_mul", Call(FuncMul, types.DecimalType(21, 4), bcol("m"), bcol("n"))},
		{"decimal_div", Call(FuncDiv, types.DecimalType(23, 13), bcol("m"), Lit("3.00", types.DecimalType(10, 2)))},
		{"nested_a*b+a-b", Call(FuncSub, big, Call(FuncAdd, big, Call(FuncMul, big, bcol("a"), bcol("b")), bcol("a")), bcol("b"))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchEval(b, c.e) })
	}
}

// BenchmarkArrowComputeAdd is arrow-go's compute "add" on the same data as
// BenchmarkArith/bigint_add_col_col, to weigh its dispatch cost per call.
func BenchmarkArrowComputeAdd(b *testing.B) {
	mem := memory.NewGoAllocator()
	cols := benchColumns(mem)
	ctx := compute.WithAllocator(context.Background(), mem)
	a, c := compute.NewDatumWithoutOwning(cols[0]), compute.NewDatumWithoutOwning(cols[1])
	perCPU(b, benchRows, func() error {
		out, err := compute.Add(ctx, compute.ArithmeticOptions{NoCheckOverflow: true}, a, c)
		if err != nil {
			return err
		}
		out.Release()
		return nil
	})
}

// BenchmarkCompareFilter measures a comparison plus the selection of the
// passing rows of a 4-column batch (about half the rows pass).
func BenchmarkCompareFilter(b *testing.B) {
	mem := memory.NewGoAllocator()
	cols := benchColumns(mem)
	pred := Call(FuncGt, types.BooleanType, bcol("a"), Lit("0", types.BigIntType))
	ev, err := Compile(pred, benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	sub := types.Schema{Fields: []types.Field{benchSchema.Fields[0], benchSchema.Fields[3], benchSchema.Fields[6], benchSchema.Fields[7]}}
	rec := array.NewRecordBatch(sub.Arrow(), []arrow.Array{cols[0], cols[3], cols[6], cols[7]}, benchRows)
	ctx := context.Background()
	b.Run("compare_only", func(b *testing.B) { benchEval(b, pred) })
	b.Run("eddy_filter", func(b *testing.B) {
		perCPU(b, benchRows, func() error {
			sel, err := SelectColumns(ctx, ev, cols, benchRows, mem)
			if err != nil {
				return err
			}
			out, err := TakeRecord(rec, sel.Indices, mem)
			if err != nil {
				return err
			}
			out.Release()
			return nil
		})
	})
	b.Run("arrow_compute_filter", func(b *testing.B) {
		cctx := compute.WithAllocator(ctx, mem)
		perCPU(b, benchRows, func() error {
			m, err := compute.CallFunction(cctx, "greater", nil, compute.NewDatumWithoutOwning(cols[0]), compute.NewDatum(int64(0)))
			if err != nil {
				return err
			}
			mask := m.(*compute.ArrayDatum).MakeArray()
			m.Release()
			out, err := compute.FilterRecordBatch(cctx, rec, mask, compute.DefaultFilterOptions())
			mask.Release()
			if err != nil {
				return err
			}
			out.Release()
			return nil
		})
	})
}

// BenchmarkCase measures searched CASE expressions.
func BenchmarkCase(b *testing.B) {
	big := types.BigIntType
	str := Call(FuncCase, types.StringType,
		Call(FuncGt, types.BooleanType, bcol("a"), Lit("1000000000000000000", big)), Lit("big", types.StringType),
		Call(FuncGt, types.BooleanType, bcol("a"), Lit("0", big)), Lit("mid", types.StringType),
		Lit("small", types.StringType))
	num := Call(FuncCase, big,
		Call(FuncLt, types.BooleanType, bcol("a"), bcol("b")), bcol("a"),
		Call(FuncIsNull, types.BooleanType, bcol("i")), Lit("0", big),
		bcol("b"))
	guarded := Call(FuncCase, big,
		Call(FuncNe, types.BooleanType, bcol("b"), Lit("0", big)), Call(FuncDiv, big, bcol("a"), bcol("b")))
	b.Run("string_3_branches", func(b *testing.B) { benchEval(b, str) })
	b.Run("bigint_columns", func(b *testing.B) { benchEval(b, num) })
	b.Run("guarded_division", func(b *testing.B) { benchEval(b, guarded) })
}

// BenchmarkCast measures common casts.
func BenchmarkCast(b *testing.B) {
	cases := []struct {
		name string
		e    *Expr
	}{
		{"int_to_bigint", Call(FuncCast, types.BigIntType, bcol("i"))},
		{"bigint_to_double", Call(FuncCast, types.DoubleType, bcol("a"))},
		{"bigint_to_string", Call(FuncCast, types.StringType, bcol("a"))},
		{"double_to_string", Call(FuncCast, types.StringType, bcol("d"))},
		{"timestamp_to_string", Call(FuncCast, types.StringType, bcol("ts"))},
		{"decimal_to_double", Call(FuncCast, types.DoubleType, bcol("m"))},
		{"string_to_int_try", Call(FuncTryCast, types.IntType, bcol("s"))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchEval(b, c.e) })
	}
}

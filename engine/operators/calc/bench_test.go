package calc

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// BenchmarkCalc runs a typical calc over 4096-row batches of the gifts
// stream: a filter (amount > 0 AND quantity > 0, keeping about 60% of the
// rows) and five projections (a pass-through column, a product, a CASE, a
// timestamp shift and a DECIMAL cast), and reports rows per CPU-second.
// The variants show the cost of the filter alone and of no filter.
func BenchmarkCalc(b *testing.B) {
	bigint := types.BigIntType
	filter := call(expr.FuncAnd, types.BooleanType,
		call(expr.FuncGt, types.BooleanType, col("amount"), lit("0", bigint)),
		call(expr.FuncGt, types.BooleanType, col("quantity"), lit("0", types.IntType)))
	five := []projCase{
		{name: "room_id", e: col("room_id")},
		{name: "total", e: call(expr.FuncMul, bigint, col("amount"), call(expr.FuncCast, bigint, col("quantity")))},
		{name: "size", e: call(expr.FuncCase, types.StringType,
			call(expr.FuncGt, types.BooleanType, col("amount"), lit("100", bigint)), lit("big", types.StringType),
			lit("small", types.StringType))},
		{name: "later", e: call(expr.FuncAdd, types.TimestampType, col("ts"), lit("5000", types.IntervalType))},
		{name: "price2", e: call(expr.FuncMul, types.DecimalType(12, 2), col("price"), lit("2", types.DecimalType(1, 0)))},
	}
	cases := []struct {
		name   string
		filter *expr.Expr
		projs  []projCase
	}{
		{"filter+5_projections", filter, five},
		{"5_projections", nil, five},
		{"filter+passthrough", filter, []projCase{{name: "room_id", e: col("room_id")}, {name: "amount", e: col("amount")}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			r := rand.New(rand.NewPCG(1, 1))
			const rows = 4096
			recs := make([]arrow.RecordBatch, 8)
			for i := range recs {
				recs[i] = record(r, mem, randomGifts(r, rows, 0.02))
			}
			defer func() {
				for _, rec := range recs {
					rec.Release()
				}
			}()
			calc := newCalc(b, c.filter, c.projs)
			oc, _ := optest.NewContext(mem, nil)
			ctx := context.Background()
			if err := calc.Open(ctx, oc); err != nil {
				b.Fatal(err)
			}
			out := &optest.Discard{}
			b.ReportAllocs()
			b.ResetTimer()
			c0 := optest.CPUTime()
			for i := 0; i < b.N; i++ {
				if err := calc.ProcessBatch(ctx, 0, stream.Batch{Record: recs[i%len(recs)]}, out); err != nil {
					b.Fatal(err)
				}
			}
			cpu := optest.CPUTime() - c0
			b.StopTimer()
			if s := cpu.Seconds(); s > 0 {
				b.ReportMetric(float64(rows)*float64(b.N)/s, "rows/cpu-s")
			}
		})
	}
}

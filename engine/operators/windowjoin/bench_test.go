package windowjoin_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/windowjoin"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// benchSide makes batches of one side's rows (see leftTypes and
// rightTypes) with keys from [0, keys), event times advancing 1 ms every 4
// rows, in 10 s tumbling windows.
func benchSide(mem memory.Allocator, side, batches, rows, keys int, seed uint64) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([]arrow.RecordBatch, batches)
	ts := int64(1_767_225_600_000)
	s := schema(leftNames, leftTypes)
	if side == 1 {
		s = schema(rightNames, rightTypes)
	}
	for i := range out {
		b := array.NewRecordBuilder(mem, s.Arrow())
		for j := 0; j < rows; j++ {
			if j%4 == 0 {
				ts++
			}
			start := ts - ts%10_000
			row := jrow{k1: int64(r.IntN(keys)), k2: "item", v: int64(r.IntN(1000)), start: arrow.Timestamp(start), end: arrow.Timestamp(start + 10_000)}
			for c, v := range row.cells(side) {
				switch v := v.(type) {
				case int64:
					b.Field(c).(*array.Int64Builder).Append(v)
				case string:
					b.Field(c).(*array.StringBuilder).Append(v)
				case arrow.Timestamp:
					b.Field(c).(*array.TimestampBuilder).Append(v)
				}
			}
		}
		out[i] = b.NewRecordBatch()
		b.Release()
	}
	return out
}

// BenchmarkWindowJoin joins two streams of ~500k rows each (4096-row
// batches, alternating sides, a watermark after each pair) on one BIGINT
// key in 10 s tumbling windows. Rows per CPU-second count both inputs.
func BenchmarkWindowJoin(b *testing.B) {
	const batchRows, batches = 4096, 128
	cases := []struct {
		name     string
		typ      jobgraph.JoinType
		keys     int
		residual *expr.Expr
	}{
		{"inner/keys=100000", jobgraph.InnerJoin, 100_000, nil},
		{"inner/keys=1000000", jobgraph.InnerJoin, 1_000_000, nil},
		{"left/keys=100000", jobgraph.LeftJoin, 100_000, nil},
		{"inner-residual/keys=100000", jobgraph.InnerJoin, 100_000, lvLessRv},
		{"semi/keys=100000", jobgraph.SemiJoin, 100_000, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			left := benchSide(memory.DefaultAllocator, 0, batches, batchRows, c.keys, 1)
			right := benchSide(memory.DefaultAllocator, 1, batches, batchRows, c.keys, 2)
			defer func() {
				for i := range left {
					left[i].Release()
					right[i].Release()
				}
			}()
			spec := makeSpec(c.typ, []int{lK1}, []int{rK1}, c.residual)
			ctx := context.Background()
			out := &optest.Discard{}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := optest.CPUTime()
			for i := 0; i < b.N; i++ {
				op, err := windowjoin.New(spec)
				if err != nil {
					b.Fatal(err)
				}
				oc, _ := optest.NewContext(memory.DefaultAllocator, nil)
				if err := op.Open(ctx, oc); err != nil {
					b.Fatal(err)
				}
				for j := range left {
					for side, rec := range []arrow.RecordBatch{left[j], right[j]} {
						if err := op.ProcessBatch(ctx, side, stream.Batch{Record: rec}, out); err != nil {
							b.Fatal(err)
						}
					}
					wm := int64(1_767_225_600_000) + int64((j+1)*batchRows/4) - 1
					if err := op.ProcessWatermark(ctx, wm, out); err != nil {
						b.Fatal(err)
					}
				}
				if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
					b.Fatal(err)
				}
				if err := op.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu := optest.CPUTime() - cpu0
			b.ReportMetric(float64(2*batches*batchRows*b.N)/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(out.Rows)/float64(b.N), "out-rows/op")
		})
	}
}

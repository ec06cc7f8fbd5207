package windowagg_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/types"
)

// giftBatches makes batches of gifts (room_id BIGINT, gift_id INT, amount
// BIGINT, ts TIMESTAMP(3)) with keys distinct (room, gift) pairs, event
// times advancing 1 ms every 4 rows with up to 5 s of disorder.
func giftBatches(mem memory.Allocator, batches, rows, keys int) ([]arrow.RecordBatch, []int64) {
	schema := types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "gift_id", Type: types.IntType},
		{Name: "amount", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType},
	}}.Arrow()
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]arrow.RecordBatch, batches)
	wms := make([]int64, batches)
	ts := int64(1_767_225_600_000)
	for i := range out {
		b := array.NewRecordBuilder(mem, schema)
		for j := 0; j < rows; j++ {
			k := r.IntN(keys)
			b.Field(0).(*array.Int64Builder).Append(int64(k / 100))
			b.Field(1).(*array.Int32Builder).Append(int32(k % 100))
			b.Field(2).(*array.Int64Builder).Append(int64(1 + r.IntN(500)))
			if j%4 == 0 {
				ts++
			}
			b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(ts - r.Int64N(5000)))
		}
		out[i] = b.NewRecordBatch()
		b.Release()
		wms[i] = ts - 5000 - 1
	}
	return out, wms
}

// BenchmarkWindowAgg runs SUM(amount), COUNT(*) GROUP BY room, gift over
// 1-minute tumbling windows: 4096-row batches, a watermark after each.
func BenchmarkWindowAgg(b *testing.B) {
	const batchRows, batches = 4096, 256 // ~1M rows, ~4.4 minutes of event time
	spec := &jobgraph.OperatorSpec{ID: "agg", Output: types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "gift_id", Type: types.IntType},
		{Name: "window_start", Type: types.TimestampType}, {Name: "window_end", Type: types.TimestampType},
		{Name: "total", Type: types.BigIntType}, {Name: "n", Type: types.BigIntType},
	}}, WindowAgg: &jobgraph.WindowAggSpec{
		Window:    jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: 3, SizeMs: 60_000},
		GroupKeys: []int{0, 1},
		Aggs: []jobgraph.AggCall{
			{Func: jobgraph.Sum, Arg: 2, Type: types.BigIntType, Name: "total"},
			{Func: jobgraph.CountStar, Arg: -1, Type: types.BigIntType, Name: "n"},
		}}}
	for _, keys := range []int{1_000, 100_000} {
		for _, limit := range []int{0, 1_000_000, 10_000} {
			b.Run(optest.BenchName("keys", keys, limit), func(b *testing.B) {
				data, wms := giftBatches(memory.DefaultAllocator, batches, batchRows, keys)
				defer func() {
					for _, r := range data {
						r.Release()
					}
				}()
				cfg := map[string]string{}
				if limit > 0 {
					cfg[windowagg.BufferLimitOption] = strconv.Itoa(limit)
				}
				after := map[int]int64{}
				for j, wm := range wms {
					after[j] = wm
				}
				optest.BenchOperator(b, func() (operator.Operator, error) { return windowagg.New(spec) }, cfg, data, after)
			})
		}
	}
}

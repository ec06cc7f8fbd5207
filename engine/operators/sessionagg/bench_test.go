package sessionagg_test

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
	"github.com/eddy-streaming/eddy/engine/operators/sessionagg"
	"github.com/eddy-streaming/eddy/engine/types"
)

// bidBatches makes batches of bids (bidder BIGINT, auction BIGINT, price
// BIGINT, ts TIMESTAMP(3)) from the given number of bidders, event times
// advancing 1 ms every 4 rows with up to 2 s of disorder; each bidder is
// active in bursts, so sessions open, grow and close all along.
func bidBatches(mem memory.Allocator, batches, rows, bidders int) ([]arrow.RecordBatch, []int64) {
	schema := types.Schema{Fields: []types.Field{
		{Name: "bidder", Type: types.BigIntType}, {Name: "auction", Type: types.BigIntType},
		{Name: "price", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType},
	}}.Arrow()
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]arrow.RecordBatch, batches)
	wms := make([]int64, batches)
	ts := int64(1_767_225_600_000)
	for i := range out {
		b := array.NewRecordBuilder(mem, schema)
		// A sliding set of active bidders.
		lo := (i * bidders / 50) % bidders
		for j := 0; j < rows; j++ {
			k := (lo + r.IntN(bidders/10+1)) % bidders
			b.Field(0).(*array.Int64Builder).Append(int64(k))
			b.Field(1).(*array.Int64Builder).Append(int64(r.IntN(1000)))
			b.Field(2).(*array.Int64Builder).Append(int64(1 + r.IntN(500)))
			if j%4 == 0 {
				ts++
			}
			b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(ts - r.Int64N(2000)))
		}
		out[i] = b.NewRecordBatch()
		b.Release()
		wms[i] = ts - 2000 - 1
	}
	return out, wms
}

// BenchmarkSessionAgg runs SUM(price), COUNT(*) over SESSION windows with
// a 10 s gap partitioned by bidder (Nexmark q11's shape; "sub" also groups
// by auction): 4096-row batches, a watermark after each.
func BenchmarkSessionAgg(b *testing.B) {
	const batchRows, batches = 4096, 256 // ~1M rows, ~4.4 minutes of event time
	for _, shape := range []string{"bidder", "sub"} {
		keys := []int{0}
		if shape == "sub" {
			keys = []int{0, 1}
		}
		var out types.Schema
		for _, k := range keys {
			out.Fields = append(out.Fields, types.Field{Name: "k" + strconv.Itoa(k), Type: types.BigIntType})
		}
		out.Fields = append(out.Fields, types.Field{Name: "window_start", Type: types.TimestampType},
			types.Field{Name: "window_end", Type: types.TimestampType},
			types.Field{Name: "total", Type: types.BigIntType}, types.Field{Name: "n", Type: types.BigIntType})
		spec := &jobgraph.OperatorSpec{ID: "sess", Output: out, WindowAgg: &jobgraph.WindowAggSpec{
			Window:    jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: 3, SizeMs: 10_000, PartitionBy: []int{0}},
			GroupKeys: keys,
			Aggs: []jobgraph.AggCall{
				{Func: jobgraph.Sum, Arg: 2, Type: types.BigIntType, Name: "total"},
				{Func: jobgraph.CountStar, Arg: -1, Type: types.BigIntType, Name: "n"},
			}}}
		for _, bidders := range []int{1_000, 100_000} {
			for _, limit := range []int{0, 10_000} {
				b.Run(shape+"/"+optest.BenchName("bidders", bidders, limit), func(b *testing.B) {
					data, wms := bidBatches(memory.DefaultAllocator, batches, batchRows, bidders)
					defer func() {
						for _, r := range data {
							r.Release()
						}
					}()
					cfg := map[string]string{}
					if limit > 0 {
						cfg[sessionagg.BufferLimitOption] = strconv.Itoa(limit)
					}
					after := map[int]int64{}
					for j, wm := range wms {
						after[j] = wm
					}
					optest.BenchOperator(b, func() (operator.Operator, error) { return sessionagg.New(spec) }, cfg, data, after)
				})
			}
		}
	}
}

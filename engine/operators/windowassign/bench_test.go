package windowassign_test

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
	"github.com/eddy-streaming/eddy/engine/operators/windowassign"
)

// benchBatches makes batches of (k1 BIGINT, k2 STRING, id BIGINT, vd DOUBLE,
// ts TIMESTAMP(3)) rows from keys distinct k1 values, event times advancing
// 1 ms every 4 rows with up to 2 s of disorder.
func benchBatches(mem memory.Allocator, batches, rows, keys int) ([]arrow.RecordBatch, map[int]int64) {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]arrow.RecordBatch, batches)
	wms := map[int]int64{}
	ts := int64(1_767_225_600_000)
	id := int64(0)
	for i := range out {
		b := array.NewRecordBuilder(mem, inSchema().Arrow())
		lo := (i * keys / 50) % keys
		for j := 0; j < rows; j++ {
			id++
			b.Field(0).(*array.Int64Builder).Append(int64((lo + r.IntN(keys/10+1)) % keys))
			b.Field(1).(*array.StringBuilder).Append("item-" + strconv.Itoa(r.IntN(100)))
			b.Field(2).(*array.Int64Builder).Append(id)
			b.Field(3).(*array.Float64Builder).Append(float64(r.IntN(1000)))
			if j%4 == 0 {
				ts++
			}
			b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(ts - r.Int64N(2000)))
		}
		out[i] = b.NewRecordBatch()
		b.Release()
		wms[i] = ts - 2000 - 1
	}
	return out, wms
}

// BenchmarkWindowAssign runs each window TVF over ~1M rows in 4096-row
// batches with a watermark after each. Rows per CPU-second count input
// rows; HOP 1m/10s emits 6 rows per input row, CUMULATE 1m/10s 1 to 6.
func BenchmarkWindowAssign(b *testing.B) {
	const batchRows, batches = 4096, 256
	cases := []struct {
		name string
		w    jobgraph.WindowSpec
		cfg  map[string]string
	}{
		{"tumble-1m", jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: 60_000}, nil},
		{"hop-1m-10s", jobgraph.WindowSpec{Kind: jobgraph.Hop, TimeColumn: cTs, SizeMs: 60_000, SlideMs: 10_000}, nil},
		{"cumulate-1m-10s", jobgraph.WindowSpec{Kind: jobgraph.Cumulate, TimeColumn: cTs, SizeMs: 60_000, SlideMs: 10_000}, nil},
		{"session-10s/keys=1000", jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: 10_000, PartitionBy: []int{cK1}}, nil},
		{"session-10s/keys=100000", jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: 10_000, PartitionBy: []int{cK1}}, nil},
		{"session-10s/keys=100000/buffer=100000", jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: 10_000, PartitionBy: []int{cK1}},
			map[string]string{windowassign.BufferLimitOption: "100000"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			keys := 1000
			if c.w.Kind == jobgraph.Session && c.name != "session-10s/keys=1000" {
				keys = 100_000
			}
			data, wms := benchBatches(memory.DefaultAllocator, batches, batchRows, keys)
			defer func() {
				for _, r := range data {
					r.Release()
				}
			}()
			spec := makeSpec(c.w)
			optest.BenchOperator(b, func() (operator.Operator, error) { return windowassign.New(spec) }, c.cfg, data, wms)
		})
	}
}

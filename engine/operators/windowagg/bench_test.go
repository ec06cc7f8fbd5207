package windowagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/stream"
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

// denseBatches makes slides*perSlide rows over keys keys (BIGINT key, BIGINT
// value, rowtime): every key has perSlide/keys rows in every slide of
// slideMs, with up to 2 s of disorder, in 4096-row batches, each followed
// by its watermark (max time - 2 s - 1 ms).
func denseBatches(mem memory.Allocator, slides, perSlide, keys int, slideMs int64) ([]arrow.RecordBatch, []int64) {
	schema := types.Schema{Fields: []types.Field{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType},
	}}.Arrow()
	r := rand.New(rand.NewPCG(5, 6))
	const batchRows, disorder = 4096, 2000
	var out []arrow.RecordBatch
	var wms []int64
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	base, maxTs := int64(1_767_225_600_000), int64(0)
	for s := 0; s < slides; s++ {
		for j := 0; j < perSlide; j++ {
			ts := base + int64(s)*slideMs + int64(j)*slideMs/int64(perSlide) - r.Int64N(disorder)
			maxTs = max(maxTs, ts)
			b.Field(0).(*array.Int64Builder).Append(int64(j % keys))
			b.Field(1).(*array.Int64Builder).Append(r.Int64N(1000))
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
			if b.Field(0).Len() == batchRows {
				out = append(out, b.NewRecordBatch())
				wms = append(wms, maxTs-disorder-1)
			}
		}
	}
	if b.Field(0).Len() > 0 {
		out = append(out, b.NewRecordBatch())
		wms = append(wms, maxTs-disorder-1)
	}
	return out, wms
}

// benchWindows runs spec over data, a watermark after each batch, and
// reports rows per CPU-second and output rows per input row. It stops at
// the last batch's watermark rather than draining every open window, so
// windows of every size emit the same rows per slide: the cost compared is
// the steady state's.
func benchWindows(b *testing.B, spec *jobgraph.OperatorSpec, cfg map[string]string, data []arrow.RecordBatch, wms []int64) {
	rows := 0
	for _, r := range data {
		rows += int(r.NumRows())
	}
	ctx := context.Background()
	out := &optest.Discard{}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		out.Rows = 0
		op, err := windowagg.New(spec)
		if err != nil {
			b.Fatal(err)
		}
		oc, _ := optest.NewContext(memory.DefaultAllocator, cfg)
		cpu0 := optest.CPUTime()
		if err := op.Open(ctx, oc); err != nil {
			b.Fatal(err)
		}
		for j, rec := range data {
			if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out); err != nil {
				b.Fatal(err)
			}
			if err := op.ProcessWatermark(ctx, wms[j], out); err != nil {
				b.Fatal(err)
			}
		}
		cpu += optest.CPUTime() - cpu0
		if err := op.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(out.Rows)/float64(rows), "out/row")
}

func denseSpec(w jobgraph.WindowSpec, minMax bool) *jobgraph.OperatorSpec {
	aggs := []jobgraph.AggCall{
		{Func: jobgraph.Sum, Arg: 1, Type: types.BigIntType, Name: "a"},
		{Func: jobgraph.Count, Arg: 1, Type: types.Type{Kind: types.BigInt, NotNull: true}, Name: "b"},
	}
	if minMax {
		aggs = []jobgraph.AggCall{
			{Func: jobgraph.Min, Arg: 1, Type: types.BigIntType, Name: "a"},
			{Func: jobgraph.Max, Arg: 1, Type: types.BigIntType, Name: "b"},
		}
	}
	ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
	return &jobgraph.OperatorSpec{ID: "agg", Output: types.Schema{Fields: []types.Field{
		{Name: "k", Type: types.BigIntType}, {Name: "window_start", Type: ts}, {Name: "window_end", Type: ts},
		{Name: "a", Type: types.BigIntType}, {Name: "b", Type: aggs[1].Type},
	}}, WindowAgg: &jobgraph.WindowAggSpec{Window: w, GroupKeys: []int{0}, Aggs: aggs}}
}

// BenchmarkHop compares HOP windows of 1 minute and 1 hour sliding by 1
// second over two hours of dense keys (64 keys, 256 rows per second): both
// emit 64 rows per slide, and sharing slices should make them cost about
// the same. Buffer limits: the default (the hour's slices and suffixes
// spill to keyed state) and one large enough to keep them in memory.
func BenchmarkHop(b *testing.B) {
	data, wms := denseBatches(memory.DefaultAllocator, 2*3600, 256, 64, 1000)
	defer release(data)
	for _, aggs := range []string{"sum_count", "min_max"} {
		for _, size := range []int64{60_000, 3_600_000} {
			for _, limit := range []int{0, 10_000_000} {
				w := jobgraph.WindowSpec{Kind: jobgraph.Hop, TimeColumn: 2, SlideMs: 1000, SizeMs: size}
				b.Run(fmt.Sprintf("%s/size=%s/%s", aggs, time.Duration(size)*time.Millisecond, limitName(limit)), func(b *testing.B) {
					benchWindows(b, denseSpec(w, aggs == "min_max"), limitConfig(limit), data, wms)
				})
			}
		}
	}
}

// BenchmarkCumulate compares CUMULATE windows of 1 day growing by 1 minute
// with TUMBLE windows of 1 minute over two days of dense keys (64 keys, 256
// rows per minute): both emit 64 rows per minute.
func BenchmarkCumulate(b *testing.B) {
	data, wms := denseBatches(memory.DefaultAllocator, 2*1440, 256, 64, 60_000)
	defer release(data)
	for _, w := range []jobgraph.WindowSpec{
		{Kind: jobgraph.Tumble, TimeColumn: 2, SizeMs: 60_000},
		{Kind: jobgraph.Cumulate, TimeColumn: 2, SlideMs: 60_000, SizeMs: 86_400_000},
	} {
		b.Run(string(w.Kind), func(b *testing.B) {
			benchWindows(b, denseSpec(w, false), nil, data, wms)
		})
	}
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func limitName(limit int) string {
	if limit == 0 {
		return "buffer=default"
	}
	return fmt.Sprintf("buffer=%d", limit)
}

func limitConfig(limit int) map[string]string {
	if limit == 0 {
		return nil
	}
	return map[string]string{windowagg.BufferLimitOption: strconv.Itoa(limit)}
}

package intervaljoin_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/intervaljoin"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// BenchmarkIntervalJoin joins two streams of 200k rows each, one row per
// millisecond per side (slightly out of order), over 100k keys, with
// l.ts BETWEEN r.ts - INTERVAL '1' MINUTE AND r.ts + INTERVAL '1' MINUTE
// and a watermark after every batch: the state holds about two minutes of
// rows per side. It reports input rows per CPU-second.
func BenchmarkIntervalJoin(b *testing.B) {
	const perSide, batch, keys = 200_000, 1024, 100_000
	r := rand.New(rand.NewPCG(1, 2))
	var recs [2][]arrow.RecordBatch
	for s := 0; s < 2; s++ {
		for lo := 0; lo < perSide; lo += batch {
			rows := make([]irow, batch)
			for i := range rows {
				ts := int64(lo+i) - int64(r.IntN(100))
				rows[i] = irow{k: int64(r.IntN(keys)), v: int64(r.IntN(100)), t: arrow.Timestamp(ts)}
			}
			recs[s] = append(recs[s], record(b, memory.DefaultAllocator, s, rows))
		}
	}
	spec := makeSpec(jobgraph.InnerJoin, -60_000, 60_000, false)
	ctx := context.Background()
	out := &optest.Discard{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := optest.CPUTime()
	for it := 0; it < b.N; it++ {
		op, err := intervaljoin.New(spec)
		if err != nil {
			b.Fatal(err)
		}
		oc, _ := optest.NewContext(memory.DefaultAllocator, nil)
		if err := op.Open(ctx, oc); err != nil {
			b.Fatal(err)
		}
		for j := range recs[0] {
			for s := 0; s < 2; s++ {
				if err := op.ProcessBatch(ctx, s, stream.Batch{Record: recs[s][j]}, out); err != nil {
					b.Fatal(err)
				}
			}
			if err := op.ProcessWatermark(ctx, int64(j*batch)-101, out); err != nil {
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
	b.ReportMetric(float64(2*perSide*b.N)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(out.Rows)/float64(b.N), "out-rows/op")
}

package join_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/join"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// BenchmarkAppendOnly joins two append-only inputs of 200k rows each over
// 100k keys (batches of 1024 rows, alternating sides): every row is stored
// and probes the other side, about one match per row by the end. It
// reports input rows per CPU-second.
func BenchmarkAppendOnly(b *testing.B) {
	for _, typ := range []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.FullJoin} {
		b.Run(fmt.Sprintf("type=%s/keys=100000", typ), func(b *testing.B) {
			const perSide, batchRows, keys = 200_000, 1024, 100_000
			r := rand.New(rand.NewPCG(1, 2))
			var recs [2][]arrow.RecordBatch
			for s := 0; s < 2; s++ {
				for lo := 0; lo < perSide; lo += batchRows {
					rows := make([]jrow, batchRows)
					for i := range rows {
						rows[i] = jrow{k1: int64(r.IntN(keys)), k2: "k", v: int64(r.IntN(1000))}
					}
					recs[s] = append(recs[s], record(b, memory.DefaultAllocator, s, rows))
				}
			}
			spec := makeSpec(typ, false, [2]bool{}, false, 0)
			ctx := context.Background()
			out := &optest.Discard{}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := optest.CPUTime()
			for it := 0; it < b.N; it++ {
				op, err := join.New(spec)
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
				}
				if err := op.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu := optest.CPUTime() - cpu0
			b.ReportMetric(float64(2*perSide*b.N)/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(out.Rows)/float64(b.N), "out-rows/op")
		})
	}
}

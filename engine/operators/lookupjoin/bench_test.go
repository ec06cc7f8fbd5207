package lookupjoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/operators/lookupjoin"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// BenchmarkLookupJoin joins batches of 4096 rows against a 10000-key table
// served by a lookup connector, with an unbounded cache (after warm-up
// every key hits) and with a cache a tenth of the keys (mostly misses).
// It reports input rows per CPU-second.
func BenchmarkLookupJoin(b *testing.B) {
	const keys, rows, batch = 10000, 1 << 18, 4096
	r := rand.New(rand.NewPCG(1, 1))
	var dim []dimRow
	for k := 0; k < keys; k++ {
		dim = append(dim, dimRow{dk: ip(int32(k)), name: sp(fmt.Sprint("gift", k)), price: int64(k % 500)})
	}
	in := make([]inRow, rows)
	for i := range in {
		in[i] = inRow{id: int64(i), k: ip(int32(r.IntN(keys))), x: r.Int64N(500)}
	}
	var batches []stream.Batch
	for lo := 0; lo < rows; lo += batch {
		batches = append(batches, inBatch(memory.DefaultAllocator, in[lo:lo+batch]))
	}
	for _, maxRows := range []int64{0, keys / 10} {
		b.Run(fmt.Sprintf("cache=%d", maxRows), func(b *testing.B) {
			f := &fakeLookup{t: &testing.T{}, mem: memory.DefaultAllocator, dim: dim, keys: map[int32]int{}}
			out := &optest.Discard{}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := optest.CPUTime()
			for i := 0; i < b.N; i++ {
				op, err := lookupjoin.New(spec(true, false, 0, maxRows, "fake"))
				if err != nil {
					b.Fatal(err)
				}
				oc, _ := optest.NewContext(memory.DefaultAllocator, nil)
				oc.Now = func() int64 { return 0 }
				oc.Connector = func(string) (any, bool) { return f, true }
				if err := op.Open(ctx, oc); err != nil {
					b.Fatal(err)
				}
				for _, bt := range batches {
					if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: bt.Record}, out); err != nil {
						b.Fatal(err)
					}
				}
				op.Close(ctx)
			}
			cpu := optest.CPUTime() - cpu0
			b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
		})
	}
}

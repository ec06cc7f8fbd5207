package nexmark

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGenerate measures each table's generation, one unbounded reader,
// batches of 4096 rows, in rows per CPU-second: all columns, and for bids
// also the three columns Q2 reads (auction, price; dateTime for the
// watermark).
func BenchmarkGenerate(b *testing.B) {
	q2 := []types.Field{Columns(Bid)[bAuction], Columns(Bid)[bPrice], Columns(Bid)[bTime]}
	cases := []struct {
		name, table string
		cols        []types.Field
	}{
		{"person", Person, Columns(Person)},
		{"auction", Auction, Columns(Auction)},
		{"bid", Bid, Columns(Bid)},
		{"bid-auction-price-dateTime", Bid, q2},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			src, err := New().NewSource(tableOf(tc.table, tc.cols, map[string]string{"first-event.rate": "10000000"}))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			rd, err := src.Reader(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 4096, Alloc: memory.NewGoAllocator()})
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			rows := 0
			for i := 0; i < b.N; i++ {
				rec, err := rd.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				rows += int(rec.NumRows())
				rec.Release()
			}
			b.ReportMetric(float64(rows)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}

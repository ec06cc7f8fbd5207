package datagen

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGenerate measures each stream's generation, all columns, one
// reader, batches of 4096 rows, 1000 skewed rooms, in rows per CPU-second.
func BenchmarkGenerate(b *testing.B) {
	for _, stream := range StreamNames[:4] {
		b.Run(stream, func(b *testing.B) {
			info := tableOf(stream, StreamColumns(stream), map[string]string{"rooms": "1000", "users": "100000",
				"skew": "1.1", "max-out-of-orderness": "5 s"})
			src, err := New().NewSource(info)
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

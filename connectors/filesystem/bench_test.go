package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var giftsSchema = types.Schema{Fields: []types.Field{
	{Name: "room_id", Type: types.BigIntType}, {Name: "user_id", Type: types.BigIntType},
	{Name: "gift_id", Type: types.IntType}, {Name: "quantity", Type: types.IntType},
	{Name: "amount", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType},
}}

func giftRows(n int) []row {
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([]row, n)
	ts := int64(1_767_225_600_000)
	for i := range rows {
		ts += r.Int64N(3)
		var qty any = int32(1 + r.IntN(5))
		if r.IntN(20) == 0 {
			qty = nil
		}
		rows[i] = row{int64(1 + r.IntN(1000)), int64(r.IntN(100000)), int32(1 + r.IntN(200)), qty, r.Int64N(100000), ts - r.Int64N(5000)}
	}
	return rows
}

// benchRead reads a 1,000,000-row gifts file (the acceptance test's shape)
// with one reader and reports rows per CPU-second.
func benchRead(b *testing.B, format string) {
	mem := memory.NewGoAllocator()
	dir := b.TempDir()
	const n = 1_000_000
	rows := giftRows(n)
	info := table("gifts", giftsSchema, map[string]string{"path": filepath.Join(dir, "t"), "format": format})
	sink, err := New().NewSink(info)
	if err != nil {
		b.Fatal(err)
	}
	w, _ := sink.Writer(context.Background(), connectors.ReaderContext{})
	for i := 0; i < n; i += 4096 {
		rec := buildBatch(mem, giftsSchema, rows[i:min(n, i+4096)])
		if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	src, err := New().NewSource(info)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range src.(*Source).files {
		size += f.size
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 4096, Alloc: mem})
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			rec, err := rd.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got += int(rec.NumRows())
			rec.Release()
		}
		rd.Close()
		if got != n {
			b.Fatalf("read %d rows", got)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

func BenchmarkCSVRead(b *testing.B)  { benchRead(b, "csv") }
func BenchmarkJSONRead(b *testing.B) { benchRead(b, "json") }

// benchWrite writes 1,000,000 gifts rows in batches of 4096 through one
// writer (encoding, file writes, fsync and publish at Close).
func benchWrite(b *testing.B, format string) {
	mem := memory.NewGoAllocator()
	const n = 1_000_000
	rows := giftRows(n)
	var recs []arrow.RecordBatch
	for i := 0; i < n; i += 4096 {
		recs = append(recs, buildBatch(mem, giftsSchema, rows[i:min(n, i+4096)]))
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		info := table("out", giftsSchema, map[string]string{"path": filepath.Join(dir, fmt.Sprint(i)), "format": format})
		sink, err := New().NewSink(info)
		if err != nil {
			b.Fatal(err)
		}
		w, _ := sink.Writer(context.Background(), connectors.ReaderContext{})
		for _, rec := range recs {
			if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
	b.StopTimer()
	os.RemoveAll(dir)
}

func BenchmarkJSONWrite(b *testing.B) { benchWrite(b, "json") }
func BenchmarkCSVWrite(b *testing.B)  { benchWrite(b, "csv") }

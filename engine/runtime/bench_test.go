package runtime

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sliceSource serves zero-copy slices of one record: subtask s of P reads
// the s-th share in batches of BatchSize rows.
type sliceSource struct{ rec arrow.RecordBatch }

func (s *sliceSource) Name() string                     { return "slices" }
func (s *sliceSource) Options() []connectors.OptionSpec { return nil }
func (s *sliceSource) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return s, nil
}
func (s *sliceSource) Bounded() bool { return true }
func (s *sliceSource) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	n := s.rec.NumRows()
	return &sliceReader{rec: s.rec, pos: n * int64(rc.Subtask) / int64(rc.Parallelism),
		end: n * int64(rc.Subtask+1) / int64(rc.Parallelism), size: int64(rc.BatchSize)}, nil
}

type sliceReader struct {
	rec            arrow.RecordBatch
	pos, end, size int64
}

func (r *sliceReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.pos >= r.end {
		return nil, io.EOF
	}
	hi := min(r.pos+r.size, r.end)
	b := r.rec.NewSlice(r.pos, hi)
	r.pos = hi
	return b, nil
}
func (r *sliceReader) Close() error { return nil }

// blackhole is a sink that drops everything.
type blackhole struct{}

func (blackhole) Name() string                     { return "blackhole" }
func (blackhole) Options() []connectors.OptionSpec { return nil }
func (blackhole) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return blackhole{}, nil
}
func (blackhole) Writer(context.Context, connectors.ReaderContext) (connectors.Writer, error) {
	return blackhole{}, nil
}
func (blackhole) Write(context.Context, stream.Batch) error { return nil }
func (blackhole) Close(context.Context) error               { return nil }
func (blackhole) Abort(context.Context) error               { return nil }

// BenchmarkExchange measures the runtime's overhead per batch: a source of
// in-memory batches (4096 rows, with watermarks), a hash exchange on a
// BIGINT key, and a sink that drops the rows, at parallelism 1 and 4. It
// reports rows per CPU-second (all goroutines) and per wall-clock second.
func BenchmarkExchange(b *testing.B) {
	const rows = 1 << 20
	r := rand.New(rand.NewPCG(1, 2))
	rec := buildRecord(memory.DefaultAllocator, genRows(r, rows, 10_000, 10, 100))
	defer rec.Release()
	reg := connectors.NewRegistry()
	_ = reg.Register(&sliceSource{rec: rec})
	_ = reg.Register(blackhole{})
	for _, p := range []int{1, 4} {
		b.Run(fmt.Sprintf("p%d", p), func(b *testing.B) {
			src := sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 100})
			src.Source.Connector = "slices"
			sink := sinkOpSpec("sink", "out", rowSchema)
			sink.Sink.Connector = "blackhole"
			g := &jobgraph.Graph{Name: "bench", Vertices: []*jobgraph.Vertex{
				{ID: "v1", Parallelism: p, Ops: []*jobgraph.OperatorSpec{src}},
				{ID: "v2", Parallelism: p, Ops: []*jobgraph.OperatorSpec{sink}},
			}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
			opts := Options{Connectors: reg, Logger: quietLogger()}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, wall0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), g, opts)
				if err != nil {
					b.Fatal(err)
				}
				if res.RecordsOut != rows {
					b.Fatalf("sink got %d rows, want %d", res.RecordsOut, rows)
				}
			}
			cpu, wall := cpuTime()-cpu0, time.Since(wall0)
			total := float64(rows) * float64(b.N)
			b.ReportMetric(total/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(total/wall.Seconds(), "rows/s")
		})
	}
}

package rank

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

const (
	benchParts = 1000
	benchBatch = 4096
)

// benchBatches builds the input of the benchmarks: p in [0, 1000), s a
// random score, t a short string, u a small int.
func benchBatches(rows []row, kinds []stream.RowKind) []stream.Batch {
	var out []stream.Batch
	for lo := 0; lo < len(rows); lo += benchBatch {
		hi := min(lo+benchBatch, len(rows))
		rb := array.NewRecordBuilder(memory.DefaultAllocator, types.Schema{Fields: inCols}.Arrow())
		p, s := rb.Field(0).(*array.Int64Builder), rb.Field(1).(*array.Int64Builder)
		t, u := rb.Field(2).(*array.StringBuilder), rb.Field(3).(*array.Int32Builder)
		for _, x := range rows[lo:hi] {
			p.Append(x[0].(int64))
			s.Append(x[1].(int64))
			t.Append(x[2].(string))
			u.Append(x[3].(int32))
		}
		b := stream.Batch{Record: rb.NewRecordBatch()}
		rb.Release()
		if kinds != nil {
			b.Kinds = kinds[lo:hi]
		}
		out = append(out, b)
	}
	return out
}

func benchRow(r *rand.Rand) row {
	return row{int64(r.IntN(benchParts)), int64(r.IntN(1 << 30)), []string{"alpha", "beta", "gamma"}[r.IntN(3)], int32(r.IntN(100))}
}

func runBench(b *testing.B, spec *jobgraph.RankSpec, batches []stream.Batch) {
	runBenchOn(b, spec, batches, nil, false)
}

// runBenchOn runs the benchmark with job options cfg, over a fresh Pebble
// backend per iteration when pebble is set (else memstate).
func runBenchOn(b *testing.B, spec *jobgraph.RankSpec, batches []stream.Batch, cfg map[string]string, pebble bool) {
	rows := 0
	for _, x := range batches {
		rows += x.NumRows()
	}
	ctx := context.Background()
	out := &optest.Discard{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := optest.CPUTime()
	for i := 0; i < b.N; i++ {
		op, err := New(makeSpec(spec))
		if err != nil {
			b.Fatal(err)
		}
		oc, _ := optest.NewContext(memory.DefaultAllocator, cfg)
		if pebble {
			oc.State = openPebble(b)
		}
		if err := op.Open(ctx, oc); err != nil {
			b.Fatal(err)
		}
		for _, x := range batches {
			if err := op.ProcessBatch(ctx, 0, x, out); err != nil {
				b.Fatal(err)
			}
		}
		if err := op.Close(ctx); err != nil {
			b.Fatal(err)
		}
		if pebble {
			if err := oc.State.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := optest.CPUTime() - cpu0
	b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
}

func benchSpec(fn jobgraph.RankFunc, retract bool) *jobgraph.RankSpec {
	return &jobgraph.RankSpec{Func: fn, PartitionKeys: []int{0}, OrderBy: []jobgraph.SortKey{{Column: 1, Desc: true}}, N: 3,
		EmitRank: true, Changes: jobgraph.Changes{InputRetracts: retract, EmitUpdateBefore: true}}
}

// BenchmarkTop3Append is Top-3 per partition over 1k partitions of an
// append-only stream of 1M rows.
func BenchmarkTop3Append(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	rows := make([]row, 1<<20)
	for i := range rows {
		rows[i] = benchRow(r)
	}
	batches := benchBatches(rows, nil)
	defer func() {
		for _, x := range batches {
			x.Release()
		}
	}()
	for _, fn := range []jobgraph.RankFunc{jobgraph.RowNumber, jobgraph.Rank, jobgraph.DenseRank} {
		b.Run(string(fn), func(b *testing.B) { runBench(b, benchSpec(fn, false), batches) })
	}
}

// BenchmarkTop3Retract is Top-3 per partition over 1k partitions of a
// retracting stream of 1M rows: inserts, deletes and updates of live rows,
// about 200 live rows per partition.
func BenchmarkTop3Retract(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	var rows, live []row
	var kinds []stream.RowKind
	for len(rows) < 1<<20 {
		if len(live) < 200*benchParts || r.IntN(2) == 0 {
			x := benchRow(r)
			rows, kinds, live = append(rows, x), append(kinds, stream.Insert), append(live, x)
			continue
		}
		i := r.IntN(len(live))
		old := live[i]
		live[i] = live[len(live)-1]
		live = live[:len(live)-1]
		if r.IntN(2) == 0 {
			rows, kinds = append(rows, old), append(kinds, stream.Delete)
			continue
		}
		x := old.clone()
		x[1] = int64(r.IntN(1 << 30)) // a new score
		rows, kinds, live = append(rows, old, x), append(kinds, stream.UpdateBefore, stream.UpdateAfter), append(live, x)
	}
	batches := benchBatches(rows, kinds)
	defer func() {
		for _, x := range batches {
			x.Release()
		}
	}()
	for _, fn := range []jobgraph.RankFunc{jobgraph.RowNumber, jobgraph.Rank} {
		b.Run(string(fn), func(b *testing.B) { runBench(b, benchSpec(fn, true), batches) })
	}
}

// BenchmarkTop3Pebble is BenchmarkTop3Append (ROW_NUMBER) and
// BenchmarkTop3Retract (ROW_NUMBER, on a quarter of its input) over a
// Pebble backend: with the default cache limit (everything stays in
// memory) and with the limit at a tenth of the 1k partitions, where nearly
// every batch (4096 rows over 1k partitions) loads most partitions back
// and evicts them again: the worst case of the cache.
func BenchmarkTop3Pebble(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	rows := make([]row, 1<<20)
	for i := range rows {
		rows[i] = benchRow(r)
	}
	appendBatches := benchBatches(rows, nil)
	defer func() {
		for _, x := range appendBatches {
			x.Release()
		}
	}()
	for _, limit := range []int{0, benchParts / 10} {
		var cfg map[string]string
		name := "append/cache=default"
		if limit > 0 {
			cfg = map[string]string{statecache.Option: strconv.Itoa(limit)}
			name = "append/cache=" + strconv.Itoa(limit)
		}
		b.Run(name, func(b *testing.B) { runBenchOn(b, benchSpec(jobgraph.RowNumber, false), appendBatches, cfg, true) })
	}
}

func (x row) clone() row { return append(row(nil), x...) }

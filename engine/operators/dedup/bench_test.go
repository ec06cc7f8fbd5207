package dedup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
)

const benchKeys = 1 << 20

// benchInput is 2M rows over 1M keys (k BIGINT), each key seen about
// twice, in batches of 4096, with out-of-order event times.
func benchInput() []arrow.RecordBatch {
	const keys, rows, batch = benchKeys, 2 << 20, 4096
	r := rand.New(rand.NewPCG(1, 1))
	var recs []arrow.RecordBatch
	for lo := 0; lo < rows; lo += batch {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, makeSpec(&jobgraph.DedupSpec{}).Output.Arrow())
		k, s := rb.Field(0).(*array.Int64Builder), rb.Field(1).(*array.StringBuilder)
		ts, v := rb.Field(2).(*array.TimestampBuilder), rb.Field(3).(*array.Int32Builder)
		for i := lo; i < lo+batch; i++ {
			k.Append(int64(r.IntN(keys)))
			s.Append([]string{"alpha", "beta", "gamma"}[r.IntN(3)])
			ts.Append(arrow.Timestamp(int64(i) - int64(r.IntN(1000))))
			v.Append(int32(r.IntN(100)))
		}
		recs = append(recs, rb.NewRecordBatch())
		rb.Release()
	}
	return recs
}

var benchModes = []struct{ last, proc bool }{{false, true}, {true, true}, {false, false}, {true, false}}

func benchSpec(last, proc bool) *jobgraph.DedupSpec {
	spec := &jobgraph.DedupSpec{Keys: []int{0}, KeepLast: last, ProcTime: proc, TimeColumn: tsCol,
		Changes: jobgraph.Changes{EmitUpdateBefore: true}}
	if proc {
		spec.TimeColumn = -1
	}
	return spec
}

// BenchmarkDedup deduplicates benchInput with all state in memory.
func BenchmarkDedup(b *testing.B) {
	recs := benchInput()
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for _, c := range benchModes {
		spec := benchSpec(c.last, c.proc)
		name := fmt.Sprintf("keep_last=%v/proctime=%v", c.last, c.proc)
		b.Run(name, func(b *testing.B) {
			optest.BenchOperator(b, func() (operator.Operator, error) { return New(makeSpec(spec)) }, nil, recs, nil)
		})
	}
}

// BenchmarkDedupPebble deduplicates benchInput over a Pebble backend (the
// provider's default block cache and memtables) with
// no cache limit reached (the default, 1M keys, above the ~900K distinct
// keys) and with a cache of a tenth of the keys, reporting rows per
// CPU-second (Pebble's background work included) and the keys loaded per
// row.
func BenchmarkDedupPebble(b *testing.B) {
	recs := benchInput()
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for _, c := range benchModes {
		spec := benchSpec(c.last, c.proc)
		for _, limit := range []int{0, benchKeys / 10} {
			name := fmt.Sprintf("keep_last=%v/proctime=%v/cache=%d", c.last, c.proc, limit)
			if limit == 0 {
				name = fmt.Sprintf("keep_last=%v/proctime=%v/cache=default", c.last, c.proc)
			}
			b.Run(name, func(b *testing.B) {
				var cfg map[string]string
				if limit > 0 {
					cfg = map[string]string{statecache.Option: strconv.Itoa(limit)}
				}
				rows := 0
				for _, r := range recs {
					rows += int(r.NumRows())
				}
				ctx := context.Background()
				out := &optest.Discard{}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := optest.CPUTime()
				loaded := 0.0
				for i := 0; i < b.N; i++ {
					op, err := New(makeSpec(spec))
					if err != nil {
						b.Fatal(err)
					}
					oc, m := optest.NewContext(memory.DefaultAllocator, cfg)
					be := openPebble(b, true)
					oc.State = be
					if err := op.Open(ctx, oc); err != nil {
						b.Fatal(err)
					}
					for _, rec := range recs {
						if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out); err != nil {
							b.Fatal(err)
						}
					}
					if err := op.Close(ctx); err != nil {
						b.Fatal(err)
					}
					if err := be.Close(); err != nil {
						b.Fatal(err)
					}
					loaded += m.Value(statecache.LoadedMetric)
				}
				cpu := optest.CPUTime() - cpu0
				b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
				b.ReportMetric(loaded/float64(rows*b.N), "loads/row")
			})
		}
	}
}

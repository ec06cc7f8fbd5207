package join_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/join"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// BenchmarkAppendOnly joins two append-only inputs of 200k rows each over
// 100k keys (batches of 1024 rows, alternating sides): every row is stored
// and probes the other side, about one match per row by the end. It
// reports input rows per CPU-second. The state is memstate (no cache
// limit), or Pebble with the default limit (nothing evicted) or a limit of
// 20,000 join keys, a tenth of the 200,000 (side, key) pairs.
func BenchmarkAppendOnly(b *testing.B) {
	for _, typ := range []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.FullJoin} {
		for _, st := range []struct {
			name   string
			pebble bool
			limit  int
		}{{"memstate", false, 0}, {"pebble", true, 0}, {"pebble/limit=20000", true, 20000}} {
			b.Run(fmt.Sprintf("type=%s/keys=100000/state=%s", typ, st.name), func(b *testing.B) {
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
				var p *pebblestate.Provider
				if st.pebble {
					var err error
					if p, err = pebblestate.New(pebblestate.Config{Dir: b.TempDir()}); err != nil {
						b.Fatal(err)
					}
					defer p.Close()
				}
				var cfg map[string]string
				if st.limit > 0 {
					cfg = map[string]string{statecache.Option: strconv.Itoa(st.limit)}
				}
				spec := makeSpec(typ, false, [2]bool{}, false, 0)
				ctx := context.Background()
				out := &optest.Discard{}
				var evicted, loaded float64
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := optest.CPUTime()
				for it := 0; it < b.N; it++ {
					op, err := join.New(spec)
					if err != nil {
						b.Fatal(err)
					}
					oc, m := optest.NewContext(memory.DefaultAllocator, cfg)
					if p != nil {
						be, err := p.Open(ctx, state.Scope{Job: "bench", OperatorID: "join", Subtask: it, KeyGroups: keygroup.Range{Start: 0, End: optest.MaxParallelism}, MaxParallelism: optest.MaxParallelism})
						if err != nil {
							b.Fatal(err)
						}
						oc.State = be
					}
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
					if err := oc.State.Close(); err != nil {
						b.Fatal(err)
					}
					evicted += m.Value(statecache.EvictedMetric)
					loaded += m.Value(statecache.LoadedMetric)
				}
				cpu := optest.CPUTime() - cpu0
				b.ReportMetric(float64(2*perSide*b.N)/cpu.Seconds(), "rows/cpu-s")
				b.ReportMetric(float64(out.Rows)/float64(b.N), "out-rows/op")
				if st.limit > 0 {
					b.ReportMetric(evicted/float64(b.N), "evicted/op")
					b.ReportMetric(loaded/float64(b.N), "loaded/op")
				}
			})
		}
	}
}

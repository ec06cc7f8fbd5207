package dedup

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// BenchmarkDedup deduplicates 2M rows over 1M keys (k BIGINT), each key
// seen about twice, in batches of 4096, with out-of-order event times.
func BenchmarkDedup(b *testing.B) {
	const keys, rows, batch = 1 << 20, 2 << 20, 4096
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
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for _, c := range []struct {
		last, proc bool
	}{{false, true}, {true, true}, {false, false}, {true, false}} {
		spec := &jobgraph.DedupSpec{Keys: []int{0}, KeepLast: c.last, ProcTime: c.proc, TimeColumn: tsCol,
			Changes: jobgraph.Changes{EmitUpdateBefore: true}}
		if c.proc {
			spec.TimeColumn = -1
		}
		name := fmt.Sprintf("keep_last=%v/proctime=%v", c.last, c.proc)
		b.Run(name, func(b *testing.B) {
			optest.BenchOperator(b, func() (operator.Operator, error) { return New(makeSpec(spec)) }, nil, recs, nil)
		})
	}
}

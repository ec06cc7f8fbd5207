package groupagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

const benchBatch = 8192

var benchSchema = types.Schema{Fields: []types.Field{{Name: "k", Type: types.BigIntType}, {Name: "x", Type: types.BigIntType}}}

// benchOp builds a group aggregate over (k, x) grouped by k.
func benchOp(calls []jobgraph.AggFunc, ch jobgraph.Changes, phase jobgraph.AggPhase) func() (operator.Operator, error) {
	spec := &jobgraph.GroupAggSpec{GroupKeys: []int{0}, Changes: ch, Phase: phase}
	out := types.Schema{Fields: []types.Field{benchSchema.Fields[0]}}
	for i, f := range calls {
		c := jobgraph.AggCall{Func: f, Arg: 1, Type: types.BigIntType, Name: fmt.Sprint("a", i)}
		if f == jobgraph.CountStar {
			c.Arg = -1
		}
		spec.Aggs = append(spec.Aggs, c)
		out.Fields = append(out.Fields, types.Field{Name: c.Name, Type: c.Type})
	}
	return func() (operator.Operator, error) {
		return groupagg.New(&jobgraph.OperatorSpec{ID: "agg", Output: out, GroupAgg: spec})
	}
}

// benchBatches makes n rows in batches; key(r) draws a key.
func benchBatches(n int, key func(r *rand.Rand) int64, kinds func(i int) stream.RowKind) []stream.Batch {
	r := rand.New(rand.NewPCG(1, 2))
	s := benchSchema.Arrow()
	var out []stream.Batch
	for lo := 0; lo < n; lo += benchBatch {
		m := min(benchBatch, n-lo)
		b := array.NewRecordBuilder(memory.DefaultAllocator, s)
		var ks []stream.RowKind
		if kinds != nil {
			ks = make([]stream.RowKind, m)
		}
		for i := 0; i < m; i++ {
			b.Field(0).(*array.Int64Builder).Append(key(r))
			b.Field(1).(*array.Int64Builder).Append(r.Int64N(1 << 20))
			if ks != nil {
				ks[i] = kinds(lo + i)
			}
		}
		out = append(out, stream.Batch{Record: b.NewRecordBatch(), Kinds: ks})
		b.Release()
	}
	return out
}

// runBench runs a fresh operator over batches per iteration and reports
// rows per CPU-second.
func runBench(b *testing.B, newOp func() (operator.Operator, error), batches []stream.Batch) {
	rows := 0
	for _, bt := range batches {
		rows += bt.NumRows()
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := optest.CPUTime()
	for i := 0; i < b.N; i++ {
		op, err := newOp()
		if err != nil {
			b.Fatal(err)
		}
		oc, _ := optest.NewContext(memory.DefaultAllocator, nil)
		if err := op.Open(ctx, oc); err != nil {
			b.Fatal(err)
		}
		for _, bt := range batches {
			if err := op.ProcessBatch(ctx, 0, bt, discardKinds{}); err != nil {
				b.Fatal(err)
			}
		}
		if err := op.ProcessWatermark(ctx, stream.MaxWatermark, discardKinds{}); err != nil {
			b.Fatal(err)
		}
		if err := op.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu := optest.CPUTime() - cpu0
	b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
}

// discardKinds drops batches whatever their row kinds.
type discardKinds struct{}

func (d discardKinds) Emit(ctx context.Context, b stream.Batch) error {
	b.Release()
	return nil
}

func release(batches []stream.Batch) {
	for _, b := range batches {
		b.Release()
	}
}

// BenchmarkAppend: append-only input, COUNT(*), SUM and MAX per key.
func BenchmarkAppend(b *testing.B) {
	for _, groups := range []int{1000, 1 << 20} {
		rows := max(1<<20, 2*groups)
		batches := benchBatches(rows, func(r *rand.Rand) int64 { return r.Int64N(int64(groups)) }, nil)
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			runBench(b, benchOp([]jobgraph.AggFunc{jobgraph.CountStar, jobgraph.Sum, jobgraph.Max}, jobgraph.Changes{EmitUpdateBefore: true}, jobgraph.OnePhase), batches)
		})
		release(batches)
	}
}

// BenchmarkRetractMinMax: a retracting input (every fourth row retracts
// the row inserted just before it), MIN and MAX per key.
func BenchmarkRetractMinMax(b *testing.B) {
	const groups = 1000
	r := rand.New(rand.NewPCG(5, 6))
	s := benchSchema.Arrow()
	var batches []stream.Batch
	for lo := 0; lo < 1<<20; lo += benchBatch {
		bd := array.NewRecordBuilder(memory.DefaultAllocator, s)
		ks := make([]stream.RowKind, benchBatch)
		var k, x int64
		for i := range ks {
			if i%4 == 3 {
				ks[i] = stream.Delete // the row before, taken back
			} else {
				k, x = r.Int64N(groups), r.Int64N(1<<20)
			}
			bd.Field(0).(*array.Int64Builder).Append(k)
			bd.Field(1).(*array.Int64Builder).Append(x)
		}
		batches = append(batches, stream.Batch{Record: bd.NewRecordBatch(), Kinds: ks})
		bd.Release()
	}
	defer release(batches)
	runBench(b, benchOp([]jobgraph.AggFunc{jobgraph.Min, jobgraph.Max}, jobgraph.Changes{InputRetracts: true, EmitUpdateBefore: true}, jobgraph.OnePhase), batches)
}

// BenchmarkSkew: one key takes 30% of the rows (the rest spread over 100k
// keys). one_phase aggregates them directly; local_phase is what each
// upstream subtask of a two-phase aggregation does (its output rows per
// input row are reported: what reaches the global phase, where the hot
// key's subtask gets one partial per flush instead of 30% of all rows).
func BenchmarkSkew(b *testing.B) {
	key := func(r *rand.Rand) int64 {
		if r.IntN(10) < 3 {
			return 0
		}
		return 1 + r.Int64N(100_000)
	}
	batches := benchBatches(1<<20, key, nil)
	defer release(batches)
	calls := []jobgraph.AggFunc{jobgraph.CountStar, jobgraph.Sum, jobgraph.Max}
	b.Run("one_phase", func(b *testing.B) {
		runBench(b, benchOp(calls, jobgraph.Changes{EmitUpdateBefore: true}, jobgraph.OnePhase), batches)
	})
	b.Run("local_phase", func(b *testing.B) {
		runBench(b, benchOp(calls, jobgraph.Changes{}, jobgraph.LocalPhase), batches)
		// The rows the local phase hands on, per input row.
		op, _ := benchOp(calls, jobgraph.Changes{}, jobgraph.LocalPhase)()
		oc, _ := optest.NewContext(memory.DefaultAllocator, nil)
		ctx := context.Background()
		cnt := &countRows{}
		_ = op.Open(ctx, oc)
		for _, bt := range batches {
			_ = op.ProcessBatch(ctx, 0, bt, cnt)
		}
		_ = op.ProcessWatermark(ctx, stream.MaxWatermark, cnt)
		_ = op.Close(ctx)
		b.ReportMetric(float64(cnt.n)/float64(1<<20), "out-rows/in-row")
	})
}

type countRows struct{ n int }

func (c *countRows) Emit(ctx context.Context, b stream.Batch) error {
	c.n += b.NumRows()
	b.Release()
	return nil
}

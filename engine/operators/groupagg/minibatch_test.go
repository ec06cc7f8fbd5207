package groupagg_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// TestMiniBatch feeds random changelogs in small batches to an aggregate
// with a mini-batch and checks that it emits nothing until the mini-batch
// is full, its latency has passed (processing time on a fake clock) or a
// watermark arrives; that each flush emits at most one change per key; and
// that the materialized output equals the reference after every flush.
func TestMiniBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, retract := range []bool{false, true} {
		r := rand.New(rand.NewPCG(uint64(b2i(retract)), 99))
		keys := []int{cK}
		spec := specFor(keys, allCalls, jobgraph.Changes{InputRetracts: retract, EmitUpdateBefore: true}, 0, jobgraph.OnePhase)
		size := 50 + r.IntN(100)
		spec.GroupAgg.MiniBatch = &jobgraph.MiniBatch{Size: size, LatencyMs: 1000}
		op, err := groupagg.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		clock := int64(0)
		oc, _ := optest.NewContext(mem, nil)
		oc.Now = func() int64 { return clock }
		ctx := context.Background()
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		ref := newReference(keys, allCalls)
		out := &collector{nk: len(keys)}
		view := map[string]string{}
		gen := &changelog{r: r, keys: 8}
		pending, flushes := 0, 0
		check := func(what string) {
			t.Helper()
			perKey := map[string][]stream.RowKind{}
			for _, c := range out.changes {
				perKey[c.key] = append(perKey[c.key], c.kind)
			}
			for k, kinds := range perKey {
				if len(kinds) > 2 || len(kinds) == 2 && (kinds[0] != stream.UpdateBefore || kinds[1] != stream.UpdateAfter) {
					t.Fatalf("%s: key %s changed %v in one mini-batch", what, k, kinds)
				}
			}
			materialize(t, view, out.changes, true)
			if want := ref.results(); !maps.Equal(view, want) {
				t.Fatalf("%s: materialized output\n%v\nwant\n%v", what, view, want)
			}
			out.changes, pending = out.changes[:0], 0
			flushes++
		}
		for batch := 0; batch < 80; batch++ {
			rows := gen.next(1+r.IntN(40), retract)
			for _, w := range rows {
				ref.apply(w)
			}
			pending += len(rows)
			b := record(mem, rows)
			err := op.ProcessBatch(ctx, 0, b, out)
			b.Release()
			if err != nil {
				t.Fatal(err)
			}
			if pending >= size {
				check("size")
				continue
			}
			switch r.IntN(4) {
			case 0:
				clock += 999
				if err := op.(operator.ProcessingTimeHandler).OnProcessingTime(ctx, clock, out); err != nil {
					t.Fatal(err)
				}
				if len(out.changes) > 0 {
					t.Fatalf("flushed %d rows before the latency passed", len(out.changes))
				}
				clock++
				if err := op.(operator.ProcessingTimeHandler).OnProcessingTime(ctx, clock, out); err != nil {
					t.Fatal(err)
				}
				check("latency")
			case 1:
				if err := op.ProcessWatermark(ctx, int64(batch), out); err != nil {
					t.Fatal(err)
				}
				check("watermark")
			default:
				if len(out.changes) > 0 {
					t.Fatalf("emitted %d rows before the mini-batch was due", len(out.changes))
				}
			}
		}
		if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
			t.Fatal(err)
		}
		check("end")
		if flushes < 10 || len(view) == 0 {
			t.Fatalf("%d flushes, %d groups: the test checks too little", flushes, len(view))
		}
		if err := op.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

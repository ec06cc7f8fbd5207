package groupagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// TestSnapshotRestore runs random changelogs to a random point, snapshots,
// closes and restores (at the same parallelism, 1 -> 2 and 2 -> 1) and
// checks that the output after the snapshot equals the uninterrupted
// operator's, exactly (1 -> 1) or per group key in order (rescaled).
func TestSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	type variant struct {
		name    string
		keys    []int
		retract bool
		before  bool
		mini    bool
		local   bool
	}
	vs := []variant{
		{name: "keyed/retract", keys: []int{cK, cS}, retract: true, before: true},
		{name: "keyed/append", keys: []int{cS, cK}},
		{name: "global/retract", retract: true},
		{name: "keyed/minibatch", keys: []int{cK}, retract: true, mini: true},
		{name: "local", keys: []int{cK}, local: true},
	}
	seed := uint64(0)
	for _, v := range vs {
		for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
			if v.local && par != [2]int{1, 1} {
				continue // partial results are regrouped by a rescale
			}
			seed++
			t.Run(fmt.Sprintf("%s/%d-%d", v.name, par[0], par[1]), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 11))
				calls := allCalls
				phase := jobgraph.OnePhase
				if v.local {
					calls = calls[:3]
					phase = jobgraph.LocalPhase
				}
				spec := specFor(v.keys, calls, jobgraph.Changes{InputRetracts: v.retract, EmitUpdateBefore: v.before}, 0, phase)
				if v.mini {
					spec.GroupAgg.MiniBatch = &jobgraph.MiniBatch{Size: 40, LatencyMs: 1 << 40}
				}
				gen := &changelog{r: r, keys: 12}
				var steps []snaptest.Step
				for i := 0; i < 30; i++ {
					b := record(mem, gen.next(max(1, optest.RandomBatchSize(r)/4), v.retract))
					if !v.retract {
						b.Kinds = nil
					}
					steps = append(steps, snaptest.Step{Batch: b})
					if r.IntN(5) == 0 {
						steps = append(steps, snaptest.Step{WM: int64(i)})
					}
				}
				steps = append(steps, snaptest.Step{WM: stream.MaxWatermark})
				defer func() {
					for _, s := range steps {
						if s.Batch.Record != nil {
							s.Batch.Release()
						}
					}
				}()
				c := snaptest.Case{
					New:    func() (operator.Operator, error) { return groupagg.New(spec) },
					Keys:   [][]int{v.keys},
					Steps:  steps,
					Cut:    5 + r.IntN(len(steps)-10),
					Before: par[0], After: par[1],
				}
				want, got := snaptest.Run(t, mem, c)
				if len(want) == 0 {
					t.Fatal("no output after the cut: the test checks nothing")
				}
				key := make([]int, len(v.keys))
				for i := range key {
					key[i] = i
				}
				switch {
				case v.local:
					// The order of groups within a flush is free.
					snaptest.SameMultiset(t, got, want)
				case par == [2]int{1, 1}:
					snaptest.SameSequence(t, got, want)
				case v.mini:
					// Mini-batches fill per subtask: only the results
					// compare.
					snaptest.SameLast(t, got, want, key)
				default:
					snaptest.SameByKey(t, got, want, key)
				}
			})
		}
	}
}

// TestSnapshotWritesChanges checks that a snapshot writes only the groups
// changed since the previous one, and deletes the dropped ones.
func TestSnapshotWritesChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	spec := specFor([]int{cK}, allCalls, jobgraph.Changes{InputRetracts: true}, 0, jobgraph.OnePhase)
	op, err := groupagg.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	be := snaptest.NewCountingBackend(memstate.New())
	oc.State = be
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	defer op.Close(ctx)
	r := rand.New(rand.NewPCG(3, 4))
	gen := &changelog{r: r, keys: 200}
	out := &collector{nk: 1}
	feed := func(rows []row) {
		b := record(mem, rows)
		defer b.Release()
		if err := op.ProcessBatch(ctx, 0, b, out); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		feed(gen.next(100, true))
	}
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if be.Puts < 100 {
		t.Fatalf("the first snapshot wrote %d keys, want every group (about 200)", be.Puts)
	}
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	be.Puts, be.Deletes = 0, 0
	feed([]row{{k: ptr(int64(5)), kind: stream.Insert}, {k: ptr(int64(7)), kind: stream.Insert}})
	if err := sn.SnapshotState(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if be.Puts+be.Deletes > 2 {
		t.Fatalf("a snapshot after a batch touching 2 groups wrote %d keys and deleted %d", be.Puts, be.Deletes)
	}
}

// BenchmarkSnapshot is BenchmarkAppend with a snapshot into an in-memory
// backend every 16 batches (131072 rows): the cost of dirty tracking and
// incremental snapshots, in input rows per CPU-second.
func BenchmarkSnapshot(b *testing.B) {
	for _, groups := range []int{1000, 1 << 20} {
		rows := max(1<<20, 2*groups)
		batches := benchBatches(rows, func(r *rand.Rand) int64 { return r.Int64N(int64(groups)) }, nil)
		newOp := benchOp([]jobgraph.AggFunc{jobgraph.CountStar, jobgraph.Sum, jobgraph.Max}, jobgraph.Changes{EmitUpdateBefore: true}, jobgraph.OnePhase)
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
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
				for j, bt := range batches {
					if err := op.ProcessBatch(ctx, 0, bt, discardKinds{}); err != nil {
						b.Fatal(err)
					}
					if j%16 == 15 {
						if err := op.(operator.Snapshotter).SnapshotState(ctx, int64(j)); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := op.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu := optest.CPUTime() - cpu0
			b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
		})
		release(batches)
	}
}

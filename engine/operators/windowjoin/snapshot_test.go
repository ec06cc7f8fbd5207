package windowjoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/windowjoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// script makes random steps on both inputs: batches (random sizes, out of
// order, late rows, NULL keys, values and windows) and watermarks, ending
// with the final watermark.
func script(t *testing.T, mem memory.Allocator, r *rand.Rand, steps int) []snaptest.Step {
	size := []int64{10, 50, 200}[r.IntN(3)]
	base := r.Int64N(1_000_000) - 500_000
	wm := stream.MinWatermark
	row := func() jrow {
		base += r.Int64N(3)
		ts := base - r.Int64N(2*size)
		if wm != stream.MinWatermark && r.IntN(30) == 0 {
			ts = wm - r.Int64N(3*size)
		}
		start := ts - ((ts%size)+size)%size
		j := jrow{k1: int64(r.IntN(6)), k2: []string{"a", "b"}[r.IntN(2)], v: int64(r.IntN(100)),
			start: arrow.Timestamp(start), end: arrow.Timestamp(start + size)}
		if r.IntN(10) == 0 {
			j.k1 = nil
		}
		if r.IntN(10) == 0 {
			j.k2 = nil
		}
		if r.IntN(10) == 0 {
			j.v = nil
		}
		if r.IntN(100) == 0 {
			j.start = nil
		}
		return j
	}
	var out []snaptest.Step
	for i := 0; i < steps; i++ {
		side := r.IntN(2)
		rows := make([]jrow, optest.RandomBatchSize(r))
		for k := range rows {
			rows[k] = row()
		}
		out = append(out, snaptest.Step{Input: side, Batch: stream.Batch{Record: record(t, mem, side, rows)}})
		if r.IntN(4) == 0 {
			if next := base - 2*size - 1; next > wm {
				wm = next
				out = append(out, snaptest.Step{WM: wm})
			}
		}
	}
	return append(out, snaptest.Step{WM: stream.MaxWatermark})
}

func release(steps []snaptest.Step) {
	for _, s := range steps {
		if s.Batch.Record != nil {
			s.Batch.Record.Release()
		}
	}
}

// TestSnapshotRestore cuts random runs of every join type at a random
// point, snapshots (after earlier snapshots, so the last one is
// incremental) and restores at the same and at other parallelisms: the
// output after the cut equals the uninterrupted operator's (as multisets:
// windows join their rows in another order after a restore).
//
// Every case starts at parallelism 2: snaptest.Run compares, at
// parallelism 1, the keys of the state after several snapshots with those
// of one snapshot, which delta snapshots (as winbuf's) cannot match.
func TestSnapshotRestore(t *testing.T) {
	types := []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin}
	for i := 0; i < 12; i++ {
		typ := types[i%len(types)]
		keys := []int{2, 1, 2, 0}[i%4]
		par := [][2]int{{2, 1}, {2, 2}, {2, 3}}[i%3]
		seed := uint64(300 + i)
		t.Run(fmt.Sprintf("%s/keys%d/seed%d/p%d-%d", typ, keys, seed, par[0], par[1]), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 4))
			steps := script(t, mem, r, 40)
			defer release(steps)
			lkeys, rkeys := []int{lK1, lK2}[:keys], []int{rK1, rK2}[:keys]
			var res *expr.Expr
			if i%2 == 0 {
				res = lvLessRv
			}
			spec := makeSpec(typ, lkeys, rkeys, res)
			want, got := snaptest.Run(t, mem, snaptest.Case{
				New:   func() (operator.Operator, error) { return windowjoin.New(spec) },
				Keys:  [][]int{lkeys, rkeys},
				Steps: steps, Cut: 1 + r.IntN(len(steps)*3/4),
				Before: par[0], After: par[1],
				// Entries are numbered by snapshot, which depends on when
				// snapshots were taken: the restored state holds the same
				// rows under other keys.
				LooseFinalState: true,
			})
			if len(want) == 0 {
				t.Fatal("no output after the cut: the test data is broken")
			}
			snaptest.SameMultiset(t, got, want)
		})
	}
}

// TestSnapshotWritesWhatChanged takes snapshots in a row: after one new
// row the second writes one entry, a snapshot with nothing new writes
// nothing, and once every window fired only the input schemas are left.
func TestSnapshotWritesWhatChanged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	op, err := windowjoin.New(makeSpec(jobgraph.InnerJoin, []int{lK1}, []int{rK1}, nil))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	be := snaptest.NewCountingBackend(memstate.New())
	oc.State = be
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	out := optest.NewCollector()
	r := rand.New(rand.NewPCG(5, 5))
	var rows []jrow
	for i := 0; i < 2000; i++ {
		start := int64(r.IntN(20)) * 100
		rows = append(rows, jrow{k1: int64(r.IntN(500)), k2: "a", v: int64(i), start: arrow.Timestamp(start), end: arrow.Timestamp(start + 100)})
	}
	for side := 0; side < 2; side++ {
		rec := record(t, mem, side, rows)
		if err := op.ProcessBatch(ctx, side, stream.Batch{Record: rec}, out); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	first := be.Puts
	rec := record(t, mem, 0, rows[:1])
	if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	be.Puts = 0
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if be.Puts != 1 {
		t.Fatalf("second snapshot wrote %d entries (first %d), want 1", be.Puts, first)
	}
	be.Puts = 0
	if err := sn.SnapshotState(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if be.Puts != 0 {
		t.Fatalf("a snapshot with nothing new wrote %d entries", be.Puts)
	}
	if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
		t.Fatal(err)
	}
	if n := be.Entries(t); n != 2*oc.KeyGroups.Len() {
		t.Fatalf("after every window fired the state holds %d entries, want %d (the schemas)", n, 2*oc.KeyGroups.Len())
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

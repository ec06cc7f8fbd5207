package windowtopn_test

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
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// script makes random steps: batches (random sizes, out of order, late
// rows, NULLs) and watermarks.
func script(t *testing.T, mem memory.Allocator, r *rand.Rand, steps int) []snaptest.Step {
	size := []int64{1000, 10_000}[r.IntN(2)]
	g := &gen{r: r, base: r.Int64N(1e12) - 5e11, step: 1 + r.Int64N(size/40+1), delay: r.Int64N(2 * size), size: size,
		keys: 1 + r.IntN([]int{3, 30, 300}[r.IntN(3)]), nullPc: r.IntN(15), latePc: r.IntN(5)}
	wm := stream.MinWatermark
	var out []snaptest.Step
	for i := 0; i < steps; i++ {
		rows := make([]trow, optest.RandomBatchSize(r))
		for j := range rows {
			rows[j] = g.row(wm)
		}
		out = append(out, snaptest.Step{Batch: stream.Batch{Record: record(t, mem, rows)}})
		if next := g.base - g.delay - 1; r.IntN(3) == 0 && next > wm {
			wm = next
			out = append(out, snaptest.Step{WM: wm})
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

// TestSnapshotRestore cuts random runs at a random point, snapshots, and
// restores at the same and at other parallelisms: the output after the cut
// equals the uninterrupted operator's (as multisets: subtasks interleave).
func TestSnapshotRestore(t *testing.T) {
	for i := 0; i < 12; i++ {
		seed := uint64(900 + i)
		r := rand.New(rand.NewPCG(seed, 1))
		order := randomOrder(r)
		n := []int64{1, 2, 5}[r.IntN(3)]
		part := [][]int{{cWS, cWE, cK}, {cK, cS}}[i%2]
		latest := i%3 == 1
		par := [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 3}}[i%4]
		t.Run(fmt.Sprintf("seed%d/p%d-%d", seed, par[0], par[1]), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			steps := script(t, mem, r, 30)
			defer release(steps)
			spec := makeSpec(part, order, n, true, latest)
			keys := []int{}
			for _, c := range part {
				if c != cWS && c != cWE {
					keys = append(keys, c)
				}
			}
			want, got := snaptest.Run(t, mem, snaptest.Case{
				New:   func() (operator.Operator, error) { return windowtopn.New(spec) },
				Keys:  [][]int{keys},
				Steps: steps, Cut: 1 + r.IntN(len(steps)-1),
				Before: par[0], After: par[1],
				// A snapshot moves open windows into state, so a firing
				// emits the same rows in another order, and snapshots
				// append numbered deltas.
				OrderFree: true, LooseFinalState: true,
			})
			if len(want) == 0 {
				t.Fatal("no output after the cut: the test data is broken")
			}
			snaptest.SameMultiset(t, got, want)
		})
	}
}

// TestSnapshotWritesWhatChanged takes two snapshots in a row with one row
// between them: the second writes one chunk, not the whole state.
func TestSnapshotWritesWhatChanged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 3))
	op, err := windowtopn.New(makeSpec([]int{cK}, []jobgraph.SortKey{{Column: cX}}, 3, true, false))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	be := snaptest.NewCountingBackend(memstate.New())
	oc.State = be
	d := optest.NewDriver(t, op, oc)
	g := &gen{r: r, base: 1_000_000, step: 1, delay: 0, size: 1_000_000_000, keys: 500}
	rows := make([]trow, 2000)
	for i := range rows {
		rows[i] = g.row(stream.MinWatermark)
		rows[i].null = [numCols]bool{}
	}
	d.Batch(record(t, mem, rows))
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	first := be.Puts
	d.Batch(record(t, mem, rows[:1]))
	be.Puts = 0
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// One row: one chunk of one window in one key group; the bookkeeping is
	// unchanged.
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
	t.Logf("first snapshot: %d puts", first)
	d.Finish()
}

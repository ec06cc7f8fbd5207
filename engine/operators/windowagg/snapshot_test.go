package windowagg_test

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
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// script makes random steps: batches (random sizes, out of order, late
// rows, NULL rowtimes, bursts) and watermarks, ending with the final one.
func script(t *testing.T, mem memory.Allocator, r *rand.Rand, w jobgraph.WindowSpec, steps int) []snaptest.Step {
	g := &gen{r: r, base: r.Int64N(2_000_000_000_000) - 1_000_000_000_000, step: 1 + r.Int64N(w.SizeMs/50+1),
		delay: r.Int64N(3 * w.SizeMs), keys: 1 + r.IntN([]int{5, 50, 300}[r.IntN(3)]), nullRate: r.IntN(20), lateRate: r.IntN(5), size: w.SizeMs}
	wm, maxTs := stream.MinWatermark, stream.MinWatermark
	var out []snaptest.Step
	for i := 0; i < steps; i++ {
		if r.IntN(4) == 0 {
			g.base += r.Int64N(5 * w.SizeMs)
		}
		rows := make([]trow, optest.RandomBatchSize(r))
		for j := range rows {
			rows[j] = g.row(wm)
			if !rows[j].null[cTs] {
				maxTs = max(maxTs, rows[j].ts)
			}
		}
		out = append(out, snaptest.Step{Batch: stream.Batch{Record: record(t, mem, rows)}})
		if next := maxTs - g.delay - 1; r.IntN(3) == 0 && maxTs != stream.MinWatermark && next > wm {
			wm = next
			out = append(out, snaptest.Step{WM: wm})
		}
	}
	return append(out, snaptest.Step{WM: stream.MaxWatermark})
}

func releaseSteps(steps []snaptest.Step) {
	for _, s := range steps {
		if s.Batch.Record != nil {
			s.Batch.Record.Release()
		}
	}
}

// TestSnapshotRestore cuts random runs of every window kind at a random
// point, snapshots, and restores (TUMBLE also at other parallelisms): the
// output after the cut equals the uninterrupted operator's (as multisets).
func TestSnapshotRestore(t *testing.T) {
	kinds := []jobgraph.WindowKind{jobgraph.Tumble, jobgraph.Hop, jobgraph.Cumulate}
	for i := 0; i < 12; i++ {
		seed := uint64(700 + i)
		kind := kinds[i%3]
		par := [2]int{1, 1}
		if kind == jobgraph.Tumble {
			par = [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 3}}[(i/3)%4]
		}
		t.Run(fmt.Sprintf("seed%d/%s/p%d-%d", seed, kind, par[0], par[1]), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 7))
			w := randomWindow(r, kind)
			if w.SlideMs > 0 && w.SizeMs > 4*w.SlideMs {
				// Long windows of many slices cost time, not coverage
				// here: restore does not depend on the ratio.
				w.SizeMs, w.OffsetMs = 4*w.SlideMs, w.OffsetMs%(4*w.SlideMs)
			}
			keys := []int{cK1, cK2}
			spec := makeSpec(keys, testAggs, w)
			steps := script(t, mem, r, w, 20)
			defer releaseSteps(steps)
			want, got := snaptest.Run(t, mem, snaptest.Case{
				New:   func() (operator.Operator, error) { return windowagg.New(spec) },
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

// TestSnapshotWritesWhatChanged takes snapshots in a row with one row, then
// nothing, between them: the second writes one entry, the third none.
func TestSnapshotWritesWhatChanged(t *testing.T) {
	for _, kind := range []jobgraph.WindowKind{jobgraph.Tumble, jobgraph.Hop} {
		t.Run(string(kind), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w := jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: 1_000_000}
			if kind == jobgraph.Hop {
				w = jobgraph.WindowSpec{Kind: jobgraph.Hop, TimeColumn: cTs, SizeMs: 4_000_000, SlideMs: 1_000_000}
			}
			op, err := windowagg.New(makeSpec([]int{cK1, cK2}, testAggs, w))
			if err != nil {
				t.Fatal(err)
			}
			oc, _ := optest.NewContext(mem, nil)
			be := snaptest.NewCountingBackend(memstate.New())
			oc.State = be
			d := optest.NewDriver(t, op, oc)
			g := &gen{r: rand.New(rand.NewPCG(1, 1)), base: 10, step: 1, keys: 300, size: w.SizeMs}
			rows := make([]trow, 3000)
			for i := range rows {
				rows[i] = g.row(stream.MinWatermark)
				rows[i].null[cTs] = false
			}
			d.Batch(record(t, mem, rows))
			sn := op.(operator.Snapshotter)
			if err := sn.SnapshotState(ctx, 1); err != nil {
				t.Fatal(err)
			}
			first := be.Puts
			d.Batch(record(t, mem, rows[len(rows)-1:]))
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
			t.Logf("first snapshot: %d puts", first)
			d.Finish()
		})
	}
}

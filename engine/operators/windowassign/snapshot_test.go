package windowassign_test

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
	"github.com/eddy-streaming/eddy/engine/operators/windowassign"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// script makes random steps: batches (random sizes, out of order, late
// rows, NULLs) and watermarks, ending with the final watermark.
func script(t *testing.T, mem memory.Allocator, r *rand.Rand, steps int, span int64) []snaptest.Step {
	g := &gen{r: r, base: r.Int64N(1e12) - 5e11, step: 1 + r.Int64N(span/4+1), delay: r.Int64N(2 * span), span: span,
		keys: 1 + r.IntN([]int{3, 30, 300}[r.IntN(3)]), late: r.IntN(5)}
	wm, maxTs := stream.MinWatermark, stream.MinWatermark
	var out []snaptest.Step
	for i := 0; i < steps; i++ {
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

func release(steps []snaptest.Step) {
	for _, s := range steps {
		if s.Batch.Record != nil {
			s.Batch.Record.Release()
		}
	}
}

// TestSnapshotRestore cuts random SESSION runs at a random point,
// snapshots (after earlier snapshots, so the last one is incremental) and
// restores at the same and at other parallelisms: per partition key, the
// rows after the cut are those of the uninterrupted operator in the same
// order (sessions in end order, rows in arrival order).
//
// Every case starts at parallelism 2: snaptest.Run compares, at
// parallelism 1, the keys of the state after several snapshots with those
// of one snapshot, which delta snapshots (as winbuf's) cannot match.
func TestSnapshotRestore(t *testing.T) {
	parts := [][]int{{cK1}, {cK1, cK2}, nil}
	for i := 0; i < 9; i++ {
		p := parts[i%len(parts)]
		par := [][2]int{{2, 1}, {2, 2}, {2, 3}}[i%3]
		seed := uint64(700 + i)
		t.Run(fmt.Sprintf("seed%d/parts%v/p%d-%d", seed, p, par[0], par[1]), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 9))
			gap := []int64{10, 100, 1000}[r.IntN(3)]
			steps := script(t, mem, r, 30, gap)
			defer release(steps)
			spec := makeSpec(jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: gap, PartitionBy: p})
			want, got := snaptest.Run(t, mem, snaptest.Case{
				New:   func() (operator.Operator, error) { return windowassign.New(spec) },
				Keys:  [][]int{p},
				Steps: steps, Cut: 1 + r.IntN(len(steps)-1),
				Before: par[0], After: par[1],
				// Delta entries are numbered by spill round and session
				// records by uid, which depend on when snapshots were
				// taken: the restored state holds the same sessions and
				// rows under other keys.
				LooseFinalState: true,
			})
			if len(want) == 0 {
				t.Fatal("no output after the cut: the test data is broken")
			}
			snaptest.SameMultiset(t, got, want)
			snaptest.SameByKey(t, got, want, p)
		})
	}
}

// TestAlignedSnapshot: TUMBLE, HOP and CUMULATE hold nothing; their
// snapshots write nothing and a restored operator goes on as before.
func TestAlignedSnapshot(t *testing.T) {
	for i, w := range []jobgraph.WindowSpec{
		{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: 100},
		{Kind: jobgraph.Hop, TimeColumn: cTs, SizeMs: 100, SlideMs: 30},
		{Kind: jobgraph.Cumulate, TimeColumn: cTs, SizeMs: 100, SlideMs: 25},
	} {
		t.Run(string(w.Kind), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(uint64(i), 9))
			steps := script(t, mem, r, 12, 100)
			defer release(steps)
			spec := makeSpec(w)
			want, got := snaptest.Run(t, mem, snaptest.Case{
				New:   func() (operator.Operator, error) { return windowassign.New(spec) },
				Keys:  [][]int{{cK1}},
				Steps: steps, Cut: 1 + r.IntN(len(steps)-1),
				Before: 1, After: 2,
			})
			snaptest.SameMultiset(t, got, want)
		})
	}
}

// TestSnapshotWritesWhatChanged takes snapshots in a row: after one new
// row the second writes one delta entry and one session record, a
// snapshot with nothing new writes nothing, and once every session fired
// only the input schema is left.
func TestSnapshotWritesWhatChanged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	op, err := windowassign.New(makeSpec(jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: 1_000_000, PartitionBy: []int{cK1}}))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	be := snaptest.NewCountingBackend(memstate.New())
	oc.State = be
	d := optest.NewDriver(t, op, oc)
	g := &gen{r: rand.New(rand.NewPCG(3, 3)), base: 1_000_000, step: 1, span: 1_000_000, keys: 500}
	rows := make([]trow, 2000)
	for i := range rows {
		rows[i] = g.row(stream.MinWatermark)
		rows[i].null = [len(rows[i].null)]bool{}
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
	if be.Puts != 2 {
		t.Fatalf("second snapshot wrote %d entries (first %d), want 2", be.Puts, first)
	}
	be.Puts = 0
	if err := sn.SnapshotState(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if be.Puts != 0 {
		t.Fatalf("a snapshot with nothing new wrote %d entries", be.Puts)
	}
	d.Advance(stream.MaxWatermark)
	if err := sn.SnapshotState(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if n := be.Entries(t); n != oc.KeyGroups.Len() {
		t.Fatalf("after the last session fired the state holds %d entries, want %d (the schema)", n, oc.KeyGroups.Len())
	}
	d.Finish()
}

package sessionagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/sessionagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// script makes random steps: batches (random sizes, out of order, late
// rows, NULL keys, values and times) and watermarks, ending with the final
// watermark.
func script(t *testing.T, mem memory.Allocator, r *rand.Rand, steps int) []snaptest.Step {
	gap := []int64{10, 100, 1000}[r.IntN(3)]
	g := &gen{r: r, base: r.Int64N(2_000_000_000_000) - 1_000_000_000_000, step: gap / (1 + r.Int64N(20)),
		delay: r.Int64N(3 * gap), gap: gap, k1s: 1 + r.IntN([]int{3, 30, 300}[r.IntN(3)]), k2s: 1 + r.IntN(4),
		nullRate: r.IntN(20), lateRate: r.IntN(6), k2Values: []string{"", "a", "é", "x\x00y"},
		nullKeys: true, nullTimePercent: 1, pausePercent: 1 + r.IntN(5)}
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

// TestSnapshotRestore cuts random runs at a random point, snapshots (after
// earlier snapshots, so the last one is incremental), and restores at the
// same and at other parallelisms: the output after the cut equals the
// uninterrupted operator's (as multisets: subtasks interleave), and the
// uninterrupted operator, which also snapshots at the cut, is checked
// against the row-at-a-time reference by TestRandomAgainstReference.
//
// Every case starts at parallelism 2: snaptest.Run compares, at
// parallelism 1, the keys of the state after several snapshots with those
// of one snapshot, which delta snapshots (as winbuf's) cannot match.
func TestSnapshotRestore(t *testing.T) {
	defer sessionagg.SetCompactMin(16)()
	shapes := []struct {
		name        string
		keys, parts []int
	}{
		{"same", []int{cK1, cK2}, []int{cK1, cK2}},
		{"sub", []int{cK1, cK2}, []int{cK1}},
		{"sub-global", []int{cK2}, nil},
		{"global", nil, nil},
	}
	for i := 0; i < 8; i++ {
		sh := shapes[i%len(shapes)]
		par := [][2]int{{2, 1}, {2, 2}, {2, 3}}[i%3]
		seed := uint64(500 + i)
		t.Run(fmt.Sprintf("%s/seed%d/p%d-%d", sh.name, seed, par[0], par[1]), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 5))
			steps := script(t, mem, r, 30)
			defer release(steps)
			gap := []int64{10, 100, 1000}[r.IntN(3)]
			spec := makeSpec(sh.keys, sh.parts, testAggs, gap)
			want, got := snaptest.Run(t, mem, snaptest.Case{
				New:   func() (operator.Operator, error) { return sessionagg.New(spec) },
				Keys:  [][]int{sh.parts},
				Steps: steps, Cut: 1 + r.IntN(len(steps)-1),
				Before: par[0], After: par[1],
				// Delta entries are numbered by spill round and session
				// records by uid, which depend on when snapshots were
				// taken: the restored state holds the same sessions and
				// contents under other keys.
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
// row the second writes one delta entry and one session record, and a
// snapshot with nothing new writes nothing. At the end the state is empty.
func TestSnapshotWritesWhatChanged(t *testing.T) {
	for _, sub := range []bool{false, true} {
		t.Run(fmt.Sprintf("sub=%v", sub), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			keys := []int{cK1}
			if sub {
				keys = []int{cK1, cK2}
			}
			op, err := sessionagg.New(makeSpec(keys, []int{cK1}, testAggs, 1_000_000))
			if err != nil {
				t.Fatal(err)
			}
			oc, _ := optest.NewContext(mem, nil)
			be := snaptest.NewCountingBackend(memstate.New())
			oc.State = be
			d := optest.NewDriver(t, op, oc)
			r := rand.New(rand.NewPCG(3, 3))
			g := &gen{r: r, base: 1_000_000, step: 1, gap: 1_000_000, k1s: 500, k2s: 2, k2Values: []string{"a", "b"}}
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
			// One row: one delta entry (one key group) and its session's
			// record.
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
			// Every session fired: only the input schema is left (one entry
			// per key group).
			if n := be.Entries(t); n != oc.KeyGroups.Len() {
				t.Fatalf("after the last session fired the state holds %d entries, want %d (the schema)", n, oc.KeyGroups.Len())
			}
			t.Logf("first snapshot: %d puts", first)
			d.Finish()
		})
	}
}

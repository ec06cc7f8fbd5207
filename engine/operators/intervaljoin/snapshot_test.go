package intervaljoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/intervaljoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// intervalSteps makes a script of random out-of-order rows on both sides
// (with duplicates, NULLs and, with lateRows, rows behind the watermark)
// and advancing watermarks, ending with the final one.
func intervalSteps(t testing.TB, mem memory.Allocator, r *rand.Rand, lateRows bool) []snaptest.Step {
	const delay = 20
	keys := 1 + r.IntN(8)
	maxSeen := [2]int64{-1 << 40, -1 << 40}
	cur := int64(1000)
	var steps []snaptest.Step
	for step := 0; step < 50; step++ {
		s := r.IntN(2)
		rows := make([]irow, 1+r.IntN(25))
		for i := range rows {
			cur += int64(r.IntN(4))
			ts := cur - int64(r.IntN(delay+1))
			if lateRows && r.IntN(8) == 0 {
				ts = cur - delay - 1 - int64(r.IntN(80))
			}
			row := irow{k: int64(r.IntN(keys)), v: int64(r.IntN(5)), t: arrow.Timestamp(ts)}
			switch r.IntN(15) {
			case 0:
				row.k = nil
			case 1:
				row.v = nil
			case 2:
				row.t = nil
			}
			if i > 0 && r.IntN(6) == 0 {
				row = rows[r.IntN(i)]
			}
			rows[i] = row
			if row.t != nil {
				maxSeen[s] = max(maxSeen[s], int64(row.t.(arrow.Timestamp)))
			}
		}
		steps = append(steps, snaptest.Step{Input: s, Batch: stream.Batch{Record: record(t, mem, s, rows)}})
		if r.IntN(2) == 0 {
			steps = append(steps, snaptest.Step{WM: min(maxSeen[0], maxSeen[1]) - delay - 1})
		}
	}
	return append(steps, snaptest.Step{WM: stream.MaxWatermark})
}

// TestSnapshotRestore runs random input to a random point, snapshots (twice,
// so the second is incremental), closes and restores (same parallelism,
// 1 -> 2, 2 -> 1), replays the last watermark, and checks that the rows
// emitted after the snapshot (joined rows, NULL-padded rows of expiring
// unmatched rows, late-row decisions) equal the uninterrupted join's, as
// multisets.
func TestSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(0)
	for _, typ := range allTypes {
		for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
			seed++
			r := rand.New(rand.NewPCG(seed, 17))
			b := bounds[r.IntN(len(bounds))]
			residual, lateRows := r.IntN(2) == 0, r.IntN(2) == 0
			spec := makeSpec(typ, b[0], b[1], residual)
			t.Run(fmt.Sprintf("%s/%v/residual=%v/late=%v/%d-%d", typ, b, residual, lateRows, par[0], par[1]), func(t *testing.T) {
				steps := intervalSteps(t, mem, r, lateRows)
				defer func() {
					for _, s := range steps {
						if s.Batch.Record != nil {
							s.Batch.Release()
						}
					}
				}()
				c := snaptest.Case{
					New:    func() (operator.Operator, error) { return intervaljoin.New(spec) },
					Keys:   [][]int{{0}, {1}},
					Steps:  steps,
					Cut:    3 + r.IntN(len(steps)-6),
					Before: par[0], After: par[1],
					// Rows are numbered per subtask: rescaled, the same rows
					// have other numbers in their state keys.
					LooseFinalState: par != [2]int{1, 1},
				}
				want, got := snaptest.Run(t, mem, c)
				if len(want) == 0 {
					t.Fatal("no output after the cut: the test checks nothing")
				}
				snaptest.SameMultiset(t, got, want)
			})
		}
	}
}

// TestSnapshotWritesChanges checks that a snapshot writes only the rows
// stored since the previous one (and the watermark).
func TestSnapshotWritesChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	op, err := intervaljoin.New(makeSpec(jobgraph.LeftJoin, -1000, 1000, false))
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
	out := optest.NewCollector()
	feed := func(s int, rows []irow) {
		rec := record(t, mem, s, rows)
		defer rec.Release()
		if err := op.ProcessBatch(ctx, s, stream.Batch{Record: rec}, out); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		feed(i%2, []irow{{k: int64(i % 7), v: int64(i), t: arrow.Timestamp(i)}})
	}
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if be.Puts < 200 {
		t.Fatalf("the first snapshot wrote %d keys, want every row", be.Puts)
	}
	be.Puts, be.Deletes = 0, 0
	feed(0, []irow{{k: int64(100), v: int64(1), t: arrow.Timestamp(300)}})
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if be.Puts != 2 || be.Deletes != 0 { // the row and the watermark
		t.Fatalf("a snapshot after storing one row wrote %d keys and deleted %d", be.Puts, be.Deletes)
	}
}

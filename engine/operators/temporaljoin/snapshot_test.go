package temporaljoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/temporaljoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// TestSnapshotRestore runs random left rows and versioned-table changelogs
// (out of order within the watermark delay) to a random point, snapshots
// (three times, so the last ones are incremental), closes and restores
// (same parallelism, 1 -> 2, 2 -> 1), replays the last watermark and
// checks that the rows emitted after the snapshot equal the uninterrupted
// join's: exactly (1 -> 1), or as multisets (rescaled: subtasks emit
// their rows separately).
func TestSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(0)
	for _, left := range []bool{false, true} {
		for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
			for _, compact := range []bool{false, true} {
				seed++
				r := rand.New(rand.NewPCG(seed, 23))
				residual := r.IntN(2) == 0
				ttl := int64(0)
				if r.IntN(3) == 0 {
					ttl = 1 << 40
				}
				sp := spec(left, residual, ttl)
				t.Run(fmt.Sprintf("left=%v/residual=%v/ttl=%d/compact=%v/%d-%d", left, residual, ttl, compact, par[0], par[1]), func(t *testing.T) {
					if compact {
						defer temporaljoin.SetCompactRows(0)()
					}
					delay := []int64{0, 50, 500}[r.IntN(3)]
					events, nominal := generate(r, 600+r.IntN(600), 1+r.IntN(30), delay)
					var steps []snaptest.Step
					maxNominal, prev := int64(0), stream.MinWatermark
					for i := 0; i < len(events); {
						j := i + 1
						limit := i + 1 + r.IntN(40)
						for j < len(events) && j < limit && events[j].right == events[i].right {
							j++
						}
						input := 0
						if events[i].right {
							input = 1
						}
						steps = append(steps, snaptest.Step{Input: input, Batch: batch(mem, events[i:j])})
						maxNominal = max(maxNominal, nominal[j-1])
						i = j
						if r.IntN(3) == 0 {
							if wm := maxNominal - delay - 1; wm > prev {
								steps = append(steps, snaptest.Step{WM: wm})
								prev = wm
							}
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
						New:    func() (operator.Operator, error) { return temporaljoin.New(sp) },
						Keys:   [][]int{{1}, {0}},
						Steps:  steps,
						Cut:    3 + r.IntN(len(steps)-6),
						Before: par[0], After: par[1],
						// Rows are numbered per subtask: rescaled, the same rows
						// have other numbers in their state keys.
						LooseFinalState: par != [2]int{1, 1},
						Now:             func() int64 { return 1000 },
					}
					want, got := snaptest.Run(t, mem, c)
					if len(want) == 0 {
						t.Fatal("no output after the cut: the test checks nothing")
					}
					if par == [2]int{1, 1} {
						snaptest.SameSequence(t, got, want)
					} else {
						snaptest.SameMultiset(t, got, want)
					}
				})
			}
		}
	}
}

// TestSnapshotWritesChanges checks that a snapshot writes only the left
// rows buffered and the keys whose versions changed since the previous
// one (and the watermark).
func TestSnapshotWritesChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	op, err := temporaljoin.New(spec(true, false, 0))
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
	out := &collector{}
	feed := func(events []event) {
		b := batch(mem, events)
		defer b.Release()
		input := 0
		if events[0].right {
			input = 1
		}
		if err := op.ProcessBatch(ctx, input, b, out); err != nil {
			t.Fatal(err)
		}
	}
	var right, lefts []event
	for k := int32(0); k < 100; k++ {
		right = append(right, event{right: true, kind: stream.Insert, k: i32(k), t: i64(10), name: "a", price: 1})
		lefts = append(lefts, event{kind: stream.Insert, id: int64(k), k: i32(k), t: i64(20), x: 1})
	}
	feed(right)
	feed(lefts)
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if be.Puts < 200 {
		t.Fatalf("the first snapshot wrote %d keys, want every version and left row", be.Puts)
	}
	be.Puts, be.Deletes = 0, 0
	feed([]event{{right: true, kind: stream.UpdateAfter, k: i32(3), t: i64(15), name: "b", price: 2}})
	feed([]event{{kind: stream.Insert, id: 1000, k: i32(5), t: i64(30), x: 1}})
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if be.Puts != 3 || be.Deletes != 0 { // one key's versions, one left row, the watermark
		t.Fatalf("a snapshot after one version and one left row wrote %d keys and deleted %d", be.Puts, be.Deletes)
	}
}

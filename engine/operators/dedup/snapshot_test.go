package dedup

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
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// TestSnapshotRestore runs random out-of-order input to a random point,
// snapshots, closes and restores (same parallelism, 1 -> 2, 2 -> 1) in
// every mode, and checks that the output after the snapshot equals the
// uninterrupted operator's: exactly, or per key in order when rescaled.
func TestSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(0)
	for _, last := range []bool{false, true} {
		for _, proc := range []bool{false, true} {
			for _, ttl := range []int64{0, 1 << 40} {
				for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
					seed++
					ds := &jobgraph.DedupSpec{Keys: []int{0, 1}, KeepLast: last, ProcTime: proc, TimeColumn: tsCol,
						Changes: jobgraph.Changes{EmitUpdateBefore: seed%2 == 0}, StateTTL: jobgraph.StateTTL{TTLMs: ttl}}
					if proc {
						ds.TimeColumn = -1
					}
					t.Run(fmt.Sprintf("%s/%d-%d", specName(ds), par[0], par[1]), func(t *testing.T) {
						r := rand.New(rand.NewPCG(seed, 5))
						var steps []snaptest.Step
						for i := 0; i < 30; i++ {
							rows := make([]row, max(1, optest.RandomBatchSize(r)/8))
							for j := range rows {
								rows[j] = randRow(r, int64(i*10))
							}
							steps = append(steps, snaptest.Step{Batch: stream.Batch{Record: buildBatch(t, mem, rows)}})
							if r.IntN(4) == 0 {
								steps = append(steps, snaptest.Step{WM: int64(i * 10)})
							}
						}
						defer func() {
							for _, s := range steps {
								if s.Batch.Record != nil {
									s.Batch.Release()
								}
							}
						}()
						c := snaptest.Case{
							New:    func() (operator.Operator, error) { return New(makeSpec(ds)) },
							Keys:   [][]int{ds.Keys},
							Steps:  steps,
							Cut:    3 + r.IntN(len(steps)-6),
							Before: par[0], After: par[1],
							Now: func() int64 { return 1000 },
						}
						want, got := snaptest.Run(t, mem, c)
						if len(want) == 0 && (last || !proc) {
							// (Proctime keep-first may have seen every key
							// before the cut: then the check is that the
							// restored operator emits no key again.)
							t.Fatal("no output after the cut: the test checks nothing")
						}
						if par == [2]int{1, 1} {
							snaptest.SameSequence(t, got, want)
						} else {
							snaptest.SameByKey(t, got, want, ds.Keys)
						}
					})
				}
			}
		}
	}
}

// TestSnapshotWritesChanges checks that a snapshot writes only the keys
// touched since the previous one.
func TestSnapshotWritesChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	ds := &jobgraph.DedupSpec{Keys: []int{0}, KeepLast: true, TimeColumn: tsCol}
	op, err := New(makeSpec(ds))
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
	out := &changelog{keys: ds.Keys}
	feed := func(rows []row) {
		b := buildBatch(t, mem, rows)
		defer b.Release()
		if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: b}, out); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		rows := make([]row, 50)
		for j := range rows {
			rows[j] = randRow(r, int64(i))
		}
		feed(rows)
	}
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if be.Puts < 20 {
		t.Fatalf("the first snapshot wrote %d keys, want every key", be.Puts)
	}
	be.Puts, be.Deletes = 0, 0
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	feed([]row{{int64(3), "x", nil, int32(1)}})
	if err := sn.SnapshotState(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if be.Puts+be.Deletes != 1 {
		t.Fatalf("snapshots after a batch touching 1 key wrote %d keys and deleted %d", be.Puts, be.Deletes)
	}
}

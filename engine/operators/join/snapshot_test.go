package join_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/join"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// joinSteps interleaves random changelogs of both sides into a script.
func joinSteps(t testing.TB, mem memory.Allocator, r *rand.Rand, retracts [2]bool) []snaptest.Step {
	return joinStepsOver(t, mem, r, retracts, []int{3, 8}[r.IntN(2)])
}

// joinStepsOver is joinSteps over keys values of the first key column.
func joinStepsOver(t testing.TB, mem memory.Allocator, r *rand.Rand, retracts [2]bool, keys int) []snaptest.Step {
	var evs [2][]event
	for s := range evs {
		evs[s], _ = genChangelog(r, 100+r.IntN(200), keys, retracts[s])
	}
	var steps []snaptest.Step
	var pos [2]int
	for pos[0] < len(evs[0]) || pos[1] < len(evs[1]) {
		s := r.IntN(2)
		if pos[s] == len(evs[s]) {
			s = 1 - s
		}
		n := min(len(evs[s])-pos[s], 1+r.IntN(30))
		for pos[s]+n < len(evs[s]) && evs[s][pos[s]+n].kind == stream.UpdateAfter {
			n++ // keep -U and its +U together
		}
		steps = append(steps, snaptest.Step{Input: s, Batch: batch(t, mem, s, evs[s][pos[s]:pos[s]+n])})
		pos[s] += n
		if r.IntN(5) == 0 {
			steps = append(steps, snaptest.Step{WM: int64(len(steps))})
		}
	}
	return steps
}

// TestSnapshotRestore runs random changelogs on both sides to a random
// point, snapshots (twice, so the second is incremental), closes and
// restores (same parallelism, 1 -> 2, 2 -> 1), for every join type, and
// checks that the changes after the snapshot equal the uninterrupted
// join's, as multisets (the order of a batch's joined rows follows the
// order of the stored rows, which a restore may change).
func TestSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(0)
	for _, typ := range allTypes {
		for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
			seed++
			r := rand.New(rand.NewPCG(seed, 13))
			retracts := [2]bool{r.IntN(2) == 0, r.IntN(2) == 0}
			residual := r.IntN(2) == 0
			ttl := int64(0)
			if r.IntN(3) == 0 {
				ttl = 1 << 40
			}
			spec := makeSpec(typ, residual, retracts, r.IntN(2) == 0, ttl)
			t.Run(fmt.Sprintf("%s/retracts=%v/residual=%v/ttl=%d/%d-%d", typ, retracts, residual, ttl, par[0], par[1]), func(t *testing.T) {
				steps := joinSteps(t, mem, r, retracts)
				defer func() {
					for _, s := range steps {
						if s.Batch.Record != nil {
							s.Batch.Release()
						}
					}
				}()
				c := snaptest.Case{
					New:    func() (operator.Operator, error) { return join.New(spec) },
					Keys:   [][]int{leftKeys, rightKeys},
					Steps:  steps,
					Cut:    3 + r.IntN(len(steps)/2),
					Before: par[0], After: par[1],
					Now: func() int64 { return 1000 },
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
// changed since the previous one.
func TestSnapshotWritesChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	op, err := join.New(makeSpec(jobgraph.InnerJoin, false, [2]bool{true, true}, false, 0))
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
	out := newChangelog(t)
	for s := 0; s < 2; s++ {
		evs, _ := genChangelog(r, 300, 50, true)
		b := batch(t, mem, s, evs)
		err := op.ProcessBatch(ctx, s, b, out)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	sn := op.(operator.Snapshotter)
	if err := sn.SnapshotState(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if be.Puts < 100 {
		t.Fatalf("the first snapshot wrote %d rows, want every distinct row", be.Puts)
	}
	be.Puts, be.Deletes = 0, 0
	b := batch(t, mem, 0, []event{{stream.Insert, jrow{k1: int64(1), k2: "k0", v: int64(99)}}})
	err = op.ProcessBatch(ctx, 0, b, out)
	b.Release()
	if err != nil {
		t.Fatal(err)
	}
	if err := sn.SnapshotState(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if be.Puts != 1 || be.Deletes != 0 {
		t.Fatalf("a snapshot after inserting one row wrote %d rows and deleted %d", be.Puts, be.Deletes)
	}
}

// TestSnapshotRestoreCached is TestSnapshotRestore with a cache of 16 join
// keys over many more: the snapshot holds evicted and cached rows, the
// restore loads nothing and the restored subtasks load keys as batches
// touch them. Without a rescale the output is identical, change for
// change; with one, as multisets.
func TestSnapshotRestoreCached(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(50)
	// cfg: a cache of 16 keys; the same with changes written behind every
	// 3 (snaptest's backend is not memory-resident, so write-behind is
	// on); and write-behind alone (the default cache limit evicts
	// nothing, the restore loads lazily).
	cfgs := []map[string]string{
		{statecache.Option: "16"},
		{statecache.Option: "16", statecache.WriteBehindOption: "3"},
		{statecache.WriteBehindOption: "3"},
	}
	for _, typ := range allTypes {
		for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
			for ci, cfg := range cfgs {
				seed++
				r := rand.New(rand.NewPCG(seed, 17))
				retracts := [2]bool{r.IntN(3) > 0, r.IntN(3) > 0}
				residual := r.IntN(2) == 0
				spec := makeSpec(typ, residual, retracts, r.IntN(2) == 0, 0)
				t.Run(fmt.Sprintf("%s/retracts=%v/residual=%v/%d-%d/cfg%d", typ, retracts, residual, par[0], par[1], ci), func(t *testing.T) {
					steps := joinStepsOver(t, mem, r, retracts, 40)
					defer func() {
						for _, s := range steps {
							if s.Batch.Record != nil {
								s.Batch.Release()
							}
						}
					}()
					var ops []*join.Operator
					c := snaptest.Case{
						New: func() (operator.Operator, error) {
							op, err := join.New(spec)
							if err == nil {
								ops = append(ops, op.(*join.Operator))
							}
							return op, err
						},
						Keys:   [][]int{leftKeys, rightKeys},
						Steps:  steps,
						Cut:    len(steps) / 3,
						Before: par[0], After: par[1],
						Config: cfg,
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
					// The restored subtasks are the last ones made: they must
					// have loaded keys back (the restore loads none).
					loaded := 0
					for _, op := range ops[len(ops)-par[1]:] {
						_, l := op.CacheCounts()
						loaded += l
					}
					ev, _ := ops[0].CacheCounts()
					if (ev == 0 && ci < 2) || loaded == 0 {
						t.Fatalf("%d keys evicted by the uninterrupted run, %d loaded after the restore: the cache was not exercised", ev, loaded)
					}
					if _, ok := cfg[statecache.WriteBehindOption]; ok {
						n := 0
						for _, op := range ops {
							n += op.WritesBehind()
						}
						if n == 0 {
							t.Fatal("nothing was written behind: the write-behind case checks nothing")
						}
					}
				})
			}
		}
	}
}

package join_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/join"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// cstep is one batch of a cache test's script, at processing time now.
type cstep struct {
	side int
	evs  []event
	now  int64
}

// skewedRow returns a random row over about 2*keys join keys, the small
// ones much more frequent, with some NULLs.
func skewedRow(r *rand.Rand, keys int) jrow {
	row := jrow{k1: int64(r.IntN(1 + r.IntN(keys))), k2: fmt.Sprintf("k%d", r.IntN(2)), v: int64(r.IntN(6))}
	switch r.IntN(16) {
	case 0:
		row.k1 = nil
	case 1:
		row.k2 = nil
	case 2:
		row.v = nil
	}
	return row
}

// cacheScript interleaves random changelogs of both sides in batches of
// random sizes; the clock moves on by 0-9 ms a batch.
func cacheScript(r *rand.Rand, keys int, retracts [2]bool) ([]cstep, [2][]event) {
	var evs [2][]event
	for s := range evs {
		evs[s], _ = genChangelogWith(r, 600+r.IntN(600), retracts[s], func() jrow { return skewedRow(r, keys) })
	}
	var steps []cstep
	var pos [2]int
	now := int64(0)
	for pos[0] < len(evs[0]) || pos[1] < len(evs[1]) {
		s := r.IntN(2)
		if pos[s] == len(evs[s]) {
			s = 1 - s
		}
		n := min(len(evs[s])-pos[s], 1+r.IntN(40))
		for pos[s]+n < len(evs[s]) && evs[s][pos[s]+n].kind == stream.UpdateAfter {
			n++ // keep -U and its +U together
		}
		now += int64(r.IntN(10))
		steps = append(steps, cstep{side: s, evs: evs[s][pos[s] : pos[s]+n], now: now})
		pos[s] += n
	}
	return steps, evs
}

// seqOut records an operator's output, in order, and materializes it.
type seqOut struct {
	*changelog
	seq []string
}

func (c *seqOut) Emit(ctx context.Context, b stream.Batch) error {
	for i := 0; i < b.NumRows(); i++ {
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		c.seq = append(c.seq, b.Kind(i).String()+" "+strings.Join(cols, "|"))
	}
	return c.changelog.Emit(ctx, b)
}

// cacheRun is the result of running a script.
type cacheRun struct {
	out                      *seqOut
	evicted, loaded, expired float64
	maxKeys                  int
}

// newPebble opens a Pebble backend for one subtask owning every key group.
func newPebble(t *testing.T) state.Backend {
	t.Helper()
	p, err := pebblestate.New(pebblestate.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	be, err := p.Open(context.Background(), state.Scope{Job: "t", OperatorID: "join", KeyGroups: keygroup.Range{Start: 0, End: optest.MaxParallelism}, MaxParallelism: optest.MaxParallelism})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

// runScript runs the join of spec over steps with cache limit (0: the
// option unset over memstate, no limit) and write-behind limit wb (0: the
// default) over backend be, checking after every batch that at most limit
// join keys are in memory and at most wb changes are unwritten.
func runScript(t *testing.T, mem memory.Allocator, spec *jobgraph.OperatorSpec, steps []cstep, limit, wb int, be state.Backend) cacheRun {
	t.Helper()
	ctx := context.Background()
	cfg := map[string]string{}
	if limit > 0 {
		cfg[statecache.Option] = strconv.Itoa(limit)
	}
	if wb > 0 {
		cfg[statecache.WriteBehindOption] = strconv.Itoa(wb)
	}
	op, err := join.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	oc, m := optest.NewContext(mem, cfg)
	oc.State = be
	now := int64(0)
	oc.Now = func() int64 { return now }
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	jop := op.(*join.Operator)
	run := cacheRun{out: &seqOut{changelog: newChangelog(t)}}
	for i, st := range steps {
		now = st.now
		b := batch(t, mem, st.side, st.evs)
		err := op.ProcessBatch(ctx, st.side, b, run.out)
		b.Release()
		if err != nil {
			t.Fatalf("limit %d: batch %d: %v", limit, i, err)
		}
		k := jop.CachedKeys()
		run.maxKeys = max(run.maxKeys, k)
		if limit > 0 && k > limit {
			t.Fatalf("batch %d: %d join keys in memory, limit %d", i, k, limit)
		}
		if d := jop.Unwritten(); wb > 0 && d > wb {
			t.Fatalf("batch %d: %d changes unwritten, write-behind limit %d", i, d, wb)
		}
	}
	if wb > 0 && jop.WritesBehind() == 0 {
		t.Fatalf("write-behind limit %d: nothing was written behind", wb)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
	run.evicted, run.loaded = m.Value(statecache.EvictedMetric), m.Value(statecache.LoadedMetric)
	run.expired = m.Value(join.StateExpiredMetric)
	return run
}

// sameSeq fails t unless got and want are the same changes in the same
// order.
func sameSeq(t *testing.T, got, want []string) {
	t.Helper()
	for i := 0; i < min(len(got), len(want)); i++ {
		if got[i] != want[i] {
			t.Fatalf("change %d of %d: got %s, want %s", i, len(want), got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d", len(got), len(want))
	}
}

// TestCacheSameOutput runs random changelogs (skewed keys, retractions,
// NULL keys, duplicates) through every join type unlimited and with small
// cache limits over memstate and Pebble, and checks that the outputs are
// identical, change for change, that keys were evicted and loaded back,
// and (without a TTL) that the result is the reference join's. With a
// TTL, rows expire while evicted: the output must still be identical.
func TestCacheSameOutput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(100)
	for _, typ := range allTypes {
		for _, ttl := range []int64{0, 60} {
			seed++
			r := rand.New(rand.NewPCG(seed, 5))
			retracts := [2]bool{r.IntN(3) > 0, r.IntN(3) > 0}
			residual, ebu := r.IntN(2) == 0, r.IntN(2) == 0
			spec := makeSpec(typ, residual, retracts, ebu, ttl)
			name := fmt.Sprintf("%s/retracts=%v/residual=%v/ttl=%d", typ, retracts, residual, ttl)
			t.Run(name, func(t *testing.T) {
				steps, evs := cacheScript(r, 150, retracts)
				base := runScript(t, mem, spec, steps, 0, 0, memstate.New())
				if base.maxKeys < 4*50 {
					t.Fatalf("only %d join keys in memory unlimited: the limits test little", base.maxKeys)
				}
				if ttl == 0 {
					want := referenceJoin(typ, residual, liveAfter(evs[0]), liveAfter(evs[1]))
					optest.AssertSameRows(t, base.out.rows(), want)
				} else if base.expired == 0 {
					t.Fatal("no row expired: the TTL case tests nothing")
				}
				for _, limit := range []int{16, 50, base.maxKeys / 4} {
					// "pebble/wb": changes written behind every 3 or 5
					// (write-behind is off over memstate).
					for _, backend := range []string{"memstate", "pebble", "pebble/wb"} {
						if backend == "pebble" && limit == 50 {
							continue // keep the test short
						}
						be := state.Backend(memstate.New())
						wb := 0
						if backend != "memstate" {
							be = newPebble(t)
						}
						if backend == "pebble/wb" {
							wb = 3 + 2*(limit%2)
						}
						got := runScript(t, mem, spec, steps, limit, wb, be)
						if got.evicted == 0 || got.loaded == 0 {
							t.Fatalf("limit %d over %s: %v keys evicted, %v loaded: the cache was not exercised", limit, backend, got.evicted, got.loaded)
						}
						sameSeq(t, got.out.seq, base.out.seq)
					}
				}
			})
		}
	}
}

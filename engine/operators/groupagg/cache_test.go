package groupagg_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap/snaptest"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// TestCacheLimit runs random changelogs over a few hundred keys through an
// aggregate without a cache limit and through aggregates whose limit is far
// below the number of groups, over memstate and over Pebble on disk, with
// snapshots in between: the outputs must be identical row for row, the
// limited operators must have evicted and loaded groups, and after every
// batch they must hold at most the limit in memory. One variant has a
// state TTL (a fake clock), so groups expire while evicted.
func TestCacheLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	type variant struct {
		name    string
		keys    []int
		retract bool
		ttl     int64
	}
	vs := []variant{
		{name: "retract", keys: []int{cK, cS}, retract: true},
		{name: "append", keys: []int{cS, cK}},
		{name: "ttl", keys: []int{cK}, retract: true, ttl: 40},
	}
	for vi, v := range vs {
		for _, backend := range []string{"memstate", "pebble"} {
			t.Run(v.name+"/"+backend, func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(vi), 99))
				spec := specFor(v.keys, allCalls, jobgraph.Changes{InputRetracts: v.retract, EmitUpdateBefore: true}, v.ttl, jobgraph.OnePhase)
				clock := int64(0)
				type run struct {
					limit int
					op    operator.Operator
					m     *optest.Metrics
					out   *collector
				}
				var provider *pebblestate.Provider
				if backend == "pebble" {
					var err error
					if provider, err = pebblestate.New(pebblestate.Config{Dir: t.TempDir()}); err != nil {
						t.Fatal(err)
					}
					defer provider.Close()
				}
				var runs []*run
				// -1: no cache limit, but changed groups written behind
				// every 5 (it takes effect over Pebble only).
				for i, limit := range []int{0, 16, 50, 120, -1} {
					op, err := groupagg.New(spec)
					if err != nil {
						t.Fatal(err)
					}
					var cfg map[string]string
					switch {
					case limit > 0:
						cfg = map[string]string{statecache.Option: strconv.Itoa(limit)}
					case limit < 0:
						cfg = map[string]string{statecache.WriteBehindOption: "5"}
					}
					oc, m := optest.NewContext(mem, cfg)
					oc.Now = func() int64 { return clock }
					if provider != nil {
						b, err := provider.Open(ctx, state.Scope{Job: "j", OperatorID: fmt.Sprint("agg", i), KeyGroups: oc.KeyGroups, MaxParallelism: oc.MaxParallelism})
						if err != nil {
							t.Fatal(err)
						}
						defer b.Close()
						oc.State = b
					}
					if err := op.Open(ctx, oc); err != nil {
						t.Fatal(err)
					}
					defer op.Close(ctx)
					runs = append(runs, &run{limit: limit, op: op, m: m, out: &collector{nk: len(v.keys)}})
				}
				gen := &changelog{r: r, keys: 200}
				for batch := 0; batch < 60; batch++ {
					clock += int64(r.IntN(4))
					rows := gen.next(1+r.IntN(60), v.retract)
					b := record(mem, rows)
					if !v.retract {
						b.Kinds = nil
					}
					for _, rn := range runs {
						if err := rn.op.ProcessBatch(ctx, 0, b, rn.out); err != nil {
							t.Fatal(err)
						}
						if rn.limit > 0 {
							if n := groupagg.CachedGroups(rn.op); n > rn.limit {
								t.Fatalf("limit %d: %d groups in memory after batch %d", rn.limit, n, batch)
							}
						}
						if batch%7 == 6 {
							if err := rn.op.(operator.Snapshotter).SnapshotState(ctx, int64(batch)); err != nil {
								t.Fatal(err)
							}
						}
					}
					b.Release()
				}
				want := runs[0].out.changes
				if len(want) < 500 {
					t.Fatalf("only %d output rows: the test checks too little", len(want))
				}
				for _, rn := range runs[1:] {
					if !slices.Equal(rn.out.changes, want) {
						i := 0
						for i < min(len(want), len(rn.out.changes)) && want[i] == rn.out.changes[i] {
							i++
						}
						t.Fatalf("limit %d: output differs from row %d of %d/%d", rn.limit, i, len(rn.out.changes), len(want))
					}
					ev, ld := rn.m.Value(statecache.EvictedMetric), rn.m.Value(statecache.LoadedMetric)
					if rn.limit < 0 {
						continue
					}
					if ev == 0 || ld == 0 {
						t.Fatalf("limit %d: %v groups evicted, %v loaded: the cache was not exercised", rn.limit, ev, ld)
					}
				}
				if v.ttl > 0 && runs[0].m.Value(groupagg.StateExpiredMetric) == 0 {
					t.Fatal("no group expired: the TTL variant checks nothing")
				}
			})
		}
	}
}

// TestCacheSnapshotRestore is TestSnapshotRestore with a cache of 16
// groups over about 60: groups are evicted before the snapshot and loaded
// lazily after the restore (at the same parallelism and rescaled).
func TestCacheSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for i, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
		t.Run(fmt.Sprintf("%d-%d", par[0], par[1]), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 5))
			spec := specFor([]int{cK, cS}, allCalls, jobgraph.Changes{InputRetracts: true, EmitUpdateBefore: true}, 0, jobgraph.OnePhase)
			gen := &changelog{r: r, keys: 30}
			var steps []snaptest.Step
			for i := 0; i < 40; i++ {
				steps = append(steps, snaptest.Step{Batch: record(mem, gen.next(1+r.IntN(40), true))})
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
				New:    func() (operator.Operator, error) { return groupagg.New(spec) },
				Keys:   [][]int{{cK, cS}},
				Steps:  steps,
				Cut:    10 + r.IntN(20),
				Before: par[0], After: par[1],
				Config: map[string]string{statecache.Option: "16", statecache.WriteBehindOption: "5"},
				// Evicted groups are written between snapshots, so the
				// keys written depend on when snapshots are taken.
				LooseFinalState: true,
			}
			want, got := snaptest.Run(t, mem, c)
			if len(want) == 0 {
				t.Fatal("no output after the cut: the test checks nothing")
			}
			if par == [2]int{1, 1} {
				snaptest.SameSequence(t, got, want)
			} else {
				snaptest.SameByKey(t, got, want, []int{0, 1})
			}
		})
	}
}

// BenchmarkCache: BenchmarkAppend's 1M groups (2M rows, uniform keys, and
// Zipf-skewed keys) over Pebble on disk, without a cache limit and with
// one of a tenth of the groups, in input rows per CPU-second.
func BenchmarkCache(b *testing.B) {
	const groups = 1 << 20
	newOp := benchOp([]jobgraph.AggFunc{jobgraph.CountStar, jobgraph.Sum, jobgraph.Max}, jobgraph.Changes{EmitUpdateBefore: true}, jobgraph.OnePhase)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, groups-1)
	for _, dist := range []struct {
		name string
		key  func(r *rand.Rand) int64
	}{
		{"uniform", func(r *rand.Rand) int64 { return r.Int64N(groups) }},
		{"zipf", func(*rand.Rand) int64 { return int64(zipf.Uint64()) }},
	} {
		batches := benchBatches(2*groups, dist.key, nil)
		for _, limit := range []int{0, groups / 10} { // 0: none
			b.Run(fmt.Sprintf("%s/limit=%d", dist.name, limit), func(b *testing.B) {
				ctx := context.Background()
				cpu0 := optest.CPUTime()
				for i := 0; i < b.N; i++ {
					p, err := pebblestate.New(pebblestate.Config{Dir: b.TempDir()})
					if err != nil {
						b.Fatal(err)
					}
					op, err := newOp()
					if err != nil {
						b.Fatal(err)
					}
					oc, m := optest.NewContext(memory.DefaultAllocator, map[string]string{statecache.Option: strconv.Itoa(cmp.Or(limit, 2*groups))})
					defer func() {
						b.ReportMetric(m.Value(statecache.EvictedMetric), "evicted/op")
						b.ReportMetric(m.Value(statecache.LoadedMetric), "loaded/op")
					}()
					if oc.State, err = p.Open(ctx, state.Scope{Job: "j", OperatorID: "agg", KeyGroups: oc.KeyGroups, MaxParallelism: oc.MaxParallelism}); err != nil {
						b.Fatal(err)
					}
					if err := op.Open(ctx, oc); err != nil {
						b.Fatal(err)
					}
					for _, bt := range batches {
						if err := op.ProcessBatch(ctx, 0, bt, discardKinds{}); err != nil {
							b.Fatal(err)
						}
					}
					if err := errors.Join(op.Close(ctx), oc.State.Close(), p.Close()); err != nil {
						b.Fatal(err)
					}
				}
				cpu := optest.CPUTime() - cpu0
				b.ReportMetric(float64(2*groups*b.N)/cpu.Seconds(), "rows/cpu-s")
			})
		}
		release(batches)
	}
}

package dedup

import (
	"context"
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
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// skewedRow is a row of many keys (k up to nkeys, skewed towards small
// values), with out-of-order times, ties and NULLs.
func skewedRow(r *rand.Rand, nkeys int, base int64) row {
	x := randRow(r, base)
	if x[0] != nil {
		x[0] = int64(r.IntN(1 + r.IntN(nkeys)))
	}
	return x
}

// cacheRun is one operator run over a fixed script.
type cacheRun struct {
	out                    []string // every change, in order, batch by batch
	evicted, loaded, expir float64
}

// cacheScript is the input: batches, and the processing time of each.
type cacheScript struct {
	batches [][]row
	nows    []int64
}

func unwrap(op operator.Operator) *Operator {
	if t, ok := op.(*ttlOperator); ok {
		return t.Operator
	}
	return op.(*Operator)
}

// openPebble opens a Pebble backend on a fresh directory, owning every key
// group of optest contexts: small (a block cache of 8 MiB, memtables of 1
// MiB) or with the provider's defaults.
func openPebble(t testing.TB, defaults bool) state.Backend {
	cfg := pebblestate.Config{Dir: t.TempDir(), CacheSize: 8 << 20, MemTableSize: 1 << 20}
	if defaults {
		cfg = pebblestate.Config{Dir: t.TempDir()}
	}
	p, err := pebblestate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	b, err := p.Open(context.Background(), state.Scope{Job: "j", OperatorID: "dedup1",
		KeyGroups: keygroup.Range{Start: 0, End: optest.MaxParallelism}, MaxParallelism: optest.MaxParallelism})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runScript runs spec over sc with a cache of limit keys (0: the option
// unset, over memstate: no cache) over memstate or Pebble, checking after
// every batch that the keys in memory are within the limit.
func runScript(t *testing.T, mem memory.Allocator, spec *jobgraph.DedupSpec, sc cacheScript, limit int, pebble bool) cacheRun {
	t.Helper()
	op, err := New(makeSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]string
	if limit > 0 {
		cfg = map[string]string{statecache.Option: strconv.Itoa(limit)}
	}
	oc, metrics := optest.NewContext(mem, cfg)
	if pebble {
		be := openPebble(t, false)
		defer be.Close()
		oc.State = be
	}
	i := 0
	oc.Now = func() int64 { return sc.nows[i] }
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	o := unwrap(op)
	if o.limit != limit {
		t.Fatalf("cache limit %d, want %d", o.limit, limit)
	}
	out := &changelog{}
	var run cacheRun
	for ; i < len(sc.batches); i++ {
		rec := buildBatch(t, mem, sc.batches[i])
		n0 := len(out.rows)
		err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && o.cached() > limit {
			t.Fatalf("batch %d: %d keys in memory, limit %d", i, o.cached(), limit)
		}
		run.out = append(run.out, fmt.Sprintf("batch %d", i))
		for _, x := range out.rows[n0:] {
			run.out = append(run.out, x.kind.String()+" "+x.text)
		}
		if i%7 == 3 {
			if err := op.ProcessWatermark(ctx, int64(i), out); err != nil {
				t.Fatal(err)
			}
		}
	}
	i--
	run.evicted = metrics.Value(statecache.EvictedMetric)
	run.loaded = metrics.Value(statecache.LoadedMetric)
	run.expir = metrics.Value(ExpiredMetric)
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return run
}

// checkAgainstModel checks the unlimited run against the row-at-a-time
// reference (each batch's changes, as a multiset, are the net change per
// key).
func checkAgainstModel(t *testing.T, spec *jobgraph.DedupSpec, sc cacheScript, run cacheRun) {
	t.Helper()
	f := &ref{spec: spec, rows: map[string][]refRow{}, last: map[string]int64{}}
	pos := 0
	for i, b := range sc.batches {
		f.expire(sc.nows[i])
		before := f.kept()
		for _, x := range b {
			f.add(x, sc.nows[i])
		}
		after := f.kept()
		var want []string
		for k, a := range after {
			b, ok := before[k]
			switch {
			case !ok:
				want = append(want, "+I "+a)
			case a != b:
				if spec.EmitUpdateBefore {
					want = append(want, "-U "+b)
				}
				want = append(want, "+U "+a)
			}
		}
		if run.out[pos] != fmt.Sprintf("batch %d", i) {
			t.Fatalf("output out of step at batch %d: %s", i, run.out[pos])
		}
		pos++
		end := pos
		for end < len(run.out) && run.out[end] != fmt.Sprintf("batch %d", i+1) {
			end++
		}
		optest.AssertSameRows(t, run.out[pos:end], want)
		pos = end
	}
}

// TestCacheRandom runs random specs (with and without a TTL) over many
// skewed keys unlimited and with caches of 16, 50 and a quarter of the
// distinct keys, over memstate and Pebble, and checks that every cached
// run emits exactly what the unlimited one does, that keys were evicted
// and loaded, and that the keys in memory never exceed the limit.
func TestCacheRandom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 12))
	keysets := [][]int{{0}, {0, 1}, {0, 3}}
	for i := 0; i < 12; i++ {
		spec := randomSpec(r)
		spec.Keys = keysets[r.IntN(len(keysets))]
		if i%3 == 2 {
			spec.TTLMs = int64(20 + r.IntN(200))
		}
		t.Run(fmt.Sprintf("%d_%s", i, specName(spec)), func(t *testing.T) {
			const nkeys = 400
			var sc cacheScript
			now := int64(1_000_000)
			rows := 0
			for rows < 3000 {
				n := optest.RandomBatchSize(r)/8 + 1
				b := make([]row, n)
				for j := range b {
					if rows > 0 && r.IntN(6) == 0 && len(sc.batches) > 0 {
						// A repeat of an earlier row.
						prev := sc.batches[r.IntN(len(sc.batches))]
						b[j] = prev[r.IntN(len(prev))]
						continue
					}
					b[j] = skewedRow(r, nkeys, int64(rows/8))
				}
				rows += n
				if spec.TTLMs > 0 {
					now += int64(r.IntN(int(spec.TTLMs) / 2))
				}
				sc.batches = append(sc.batches, b)
				sc.nows = append(sc.nows, now)
			}
			want := runScript(t, mem, spec, sc, 0, false)
			checkAgainstModel(t, spec, sc, want)
			distinct := map[string]bool{}
			f := &ref{spec: spec}
			for _, b := range sc.batches {
				for _, x := range b {
					distinct[f.key(x)] = true
				}
			}
			for _, limit := range []int{16, 50, max(16, len(distinct)/4)} {
				for _, pebble := range []bool{false, true} {
					if pebble && limit == 50 {
						continue // keep the test short
					}
					got := runScript(t, mem, spec, sc, limit, pebble)
					what := fmt.Sprintf("limit %d (pebble %v, %d distinct keys)", limit, pebble, len(distinct))
					if !slices.Equal(got.out, want.out) {
						for j := range min(len(got.out), len(want.out)) {
							if got.out[j] != want.out[j] {
								t.Fatalf("%s: change %d differs:\n got %v\nwant %v", what, j,
									got.out[j:min(j+4, len(got.out))], want.out[j:min(j+4, len(want.out))])
							}
						}
						t.Fatalf("%s: %d changes, want %d", what, len(got.out), len(want.out))
					}
					if got.evicted == 0 || got.loaded == 0 {
						t.Fatalf("%s: %v keys evicted, %v loaded: the test checks nothing", what, got.evicted, got.loaded)
					}
					if got.expir > want.expir {
						t.Fatalf("%s: %v keys expired, more than the unlimited operator's %v", what, got.expir, want.expir)
					}
				}
			}
		})
	}
}

// TestCacheKeepFirstRemembers checks that proctime keep-first, which keeps
// no rows, never emits an evicted key again, even right after evicting it.
func TestCacheKeepFirstRemembers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := &jobgraph.DedupSpec{Keys: []int{0}, ProcTime: true, TimeColumn: -1}
	var sc cacheScript
	// 100 keys, then the same 100 keys again in reverse, in batches of 10:
	// a cache of 16 has evicted nearly all of them when they come back.
	for pass := 0; pass < 2; pass++ {
		for lo := 0; lo < 100; lo += 10 {
			b := make([]row, 10)
			for j := range b {
				k := lo + j
				if pass == 1 {
					k = 99 - k
				}
				b[j] = row{int64(k), "x", nil, int32(pass)}
			}
			sc.batches = append(sc.batches, b)
			sc.nows = append(sc.nows, 0)
		}
	}
	for _, pebble := range []bool{false, true} {
		got := runScript(t, mem, spec, sc, 16, pebble)
		inserts := 0
		for _, x := range got.out {
			if x[0] == '+' {
				inserts++
			}
		}
		if inserts != 100 {
			t.Fatalf("pebble %v: %d inserts for 100 keys", pebble, inserts)
		}
		if got.loaded < 80 {
			t.Fatalf("pebble %v: %v keys loaded, want the evicted ones back", pebble, got.loaded)
		}
	}
}

// TestCacheBadLimit checks the option's error.
func TestCacheBadLimit(t *testing.T) {
	op, err := New(makeSpec(&jobgraph.DedupSpec{Keys: []int{0}, TimeColumn: tsCol}))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(memory.NewGoAllocator(), map[string]string{statecache.Option: "5"})
	err = op.Open(context.Background(), oc)
	if err == nil || err.Error() != "dedup dedup1: option 'table.exec.state.cache-size' = '5': want a number of keys of at least 16" {
		t.Fatalf("got %v", err)
	}
}

// withConfig sets the job config of the operator's context (the snapshot
// harness opens operators with none) and sums the cache counters.
type withConfig struct {
	operator.Operator
	cfg     map[string]string
	metrics *[]*optest.Metrics
}

func (w withConfig) Open(ctx context.Context, oc *operator.Context) error {
	oc.Config = w.cfg
	*w.metrics = append(*w.metrics, oc.Metrics.(*optest.Metrics))
	return w.Operator.Open(ctx, oc)
}

func (w withConfig) SnapshotState(ctx context.Context, id int64) error {
	return w.Operator.(operator.Snapshotter).SnapshotState(ctx, id)
}

func (w withConfig) RestoreState(ctx context.Context) error {
	return w.Operator.(operator.Snapshotter).RestoreState(ctx)
}

// TestCacheSnapshotRestore is TestSnapshotRestore with a cache of 16 keys:
// snapshots, restores and rescales give the uninterrupted output, and
// keys were evicted and loaded (also after the restore, which loads
// nothing).
func TestCacheSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(100)
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
								rows[j] = skewedRow(r, 150, int64(i*10))
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
						var ms []*optest.Metrics
						// Changed keys are also written behind every 3.
						cfg := map[string]string{statecache.Option: "16", statecache.WriteBehindOption: "3"}
						c := snaptest.Case{
							New: func() (operator.Operator, error) {
								op, err := New(makeSpec(ds))
								return withConfig{op, cfg, &ms}, err
							},
							Keys:   [][]int{ds.Keys},
							Steps:  steps,
							Cut:    3 + r.IntN(len(steps)-6),
							Before: par[0], After: par[1],
							Now: func() int64 { return 1000 },
						}
						want, got := snaptest.Run(t, mem, c)
						if len(want) == 0 {
							t.Fatal("no output after the cut: the test checks nothing")
						}
						if par == [2]int{1, 1} {
							snaptest.SameSequence(t, got, want)
						} else {
							snaptest.SameByKey(t, got, want, ds.Keys)
						}
						// The restored subtasks are the last ones opened.
						var ev, ld float64
						for _, m := range ms[len(ms)-par[1]:] {
							ev += m.Value(statecache.EvictedMetric)
							ld += m.Value(statecache.LoadedMetric)
						}
						if ev == 0 || ld == 0 {
							t.Fatalf("after the restore %v keys evicted, %v loaded: the test checks nothing", ev, ld)
						}
					})
				}
			}
		}
	}
}

// TestCacheTTLDropForgets checks that a key the TTL drops while in memory
// leaves no entry in keyed state when it is forgotten: else its next row
// would load a stale entry (and count it as expired a second time).
func TestCacheTTLDropForgets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := &jobgraph.DedupSpec{Keys: []int{0}, KeepLast: true, ProcTime: true, TimeColumn: -1, StateTTL: jobgraph.StateTTL{TTLMs: 100}}
	keys := func(lo, hi int) []row {
		var b []row
		for k := lo; k < hi; k++ {
			b = append(b, row{int64(k), "x", nil, int32(1)})
		}
		return b
	}
	sc := cacheScript{
		// Keys 0-19: 0-7 are evicted. Key 0 is loaded (and touched) again.
		// The sweep at 200 drops the 13 keys in memory, 0 among them; 17
		// new keys make an eviction forget them (and evict 5 more). Key 0
		// comes back: new.
		batches: [][]row{keys(0, 20), keys(0, 1), keys(100, 117), keys(0, 1)},
		nows:    []int64{0, 10, 200, 210},
	}
	for _, pebble := range []bool{false, true} {
		got := runScript(t, mem, spec, sc, 16, pebble)
		want := runScript(t, mem, spec, sc, 0, false)
		if !slices.Equal(got.out, want.out) {
			t.Fatalf("pebble %v: got %v\nwant %v", pebble, got.out, want.out)
		}
		if got.expir != 13 || got.evicted != 13 || got.loaded != 1 {
			t.Fatalf("pebble %v: %v keys expired, %v evicted, %v loaded; want 13, 13, 1", pebble, got.expir, got.evicted, got.loaded)
		}
	}
}

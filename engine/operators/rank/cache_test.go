package rank

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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

// manyParts is the number of partition key values of the cache tests.
const manyParts = 300

// skewedRow is randRow with the partition column over manyParts values,
// skewed (small values are hot), and NULL now and then.
func skewedRow(r *rand.Rand) row {
	x := randRow(r)
	if r.IntN(20) != 0 {
		x[0] = int64(r.IntN(1 + r.IntN(manyParts)))
	} else {
		x[0] = nil
	}
	return x
}

// skewedInput is changelogInput over skewedRow.
func skewedInput(r *rand.Rand, n int, retract bool) ([]stream.RowKind, []row) {
	var kinds []stream.RowKind
	var rows, live []row
	for len(rows) < n {
		if !retract || len(live) == 0 || r.IntN(5) < 3 {
			x := skewedRow(r)
			kinds, rows, live = append(kinds, stream.Insert), append(rows, x), append(live, x)
			continue
		}
		i := r.IntN(len(live))
		old := live[i]
		live[i] = live[len(live)-1]
		live = live[:len(live)-1]
		if r.IntN(2) == 0 {
			kinds, rows = append(kinds, stream.Delete), append(rows, old)
			continue
		}
		x := skewedRow(r)
		x[0] = old[0] // an update mostly stays in its partition
		kinds, rows, live = append(kinds, stream.UpdateBefore, stream.UpdateAfter), append(rows, old, x), append(live, x)
	}
	return kinds, rows
}

// textOut renders every output row with its kind, in order.
type textOut struct{ rows []string }

func (c *textOut) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	var sb strings.Builder
	for i := 0; i < b.NumRows(); i++ {
		sb.Reset()
		sb.WriteString(b.Kind(i).String())
		for j := 0; j < int(b.Record.NumCols()); j++ {
			sb.WriteByte(' ')
			sb.WriteString(optest.RenderValue(b.Record.Column(j), i))
		}
		c.rows = append(c.rows, sb.String())
	}
	return nil
}

// script is a random input: batches (row ranges), the processing time of
// each, and where watermarks (which sweep expired state) go.
type script struct {
	kinds []stream.RowKind
	rows  []row
	ends  []int
	now   []int64
	wm    []bool
}

func newScript(r *rand.Rand, n int, retract bool, ttl int64) *script {
	s := &script{}
	s.kinds, s.rows = skewedInput(r, n, retract)
	now := int64(1_000_000)
	for lo := 0; lo < len(s.rows); {
		hi := min(len(s.rows), lo+optest.RandomBatchSize(r)/10+1)
		for hi < len(s.rows) && s.kinds[hi] == stream.UpdateAfter {
			hi++
		}
		if ttl > 0 {
			now += int64(r.IntN(int(ttl)))
		}
		s.ends, s.now, s.wm = append(s.ends, hi), append(s.now, now), append(s.wm, r.IntN(4) == 0)
		lo = hi
	}
	return s
}

// backendKind is where a cached run keeps its state.
type backendKind int

const (
	onMemstate backendKind = iota
	onPebble
)

func openPebble(t testing.TB) state.Backend {
	t.Helper()
	p, err := pebblestate.New(pebblestate.Config{Dir: t.TempDir(), CacheSize: 8 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	be, err := p.Open(context.Background(), state.Scope{Job: "j", OperatorID: "rank", KeyGroups: keygroup.Range{Start: 0, End: optest.MaxParallelism}, MaxParallelism: optest.MaxParallelism})
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// inner returns the *Operator of op.
func inner(op operator.Operator) *Operator {
	if t, ok := op.(*ttlOperator); ok {
		return t.Operator
	}
	return op.(*Operator)
}

// runScript runs spec over s with cache limit (0: none, over memstate) and
// write-behind limit wb (0: the default) and returns the output and the
// partitions evicted, loaded and expired. After every batch it checks the
// count of rows keyed state lacks against a recount and, with wb, that at
// most wb changes are left unwritten.
func runScript(t *testing.T, mem memory.Allocator, spec *jobgraph.RankSpec, s *script, limit, wb int, bk backendKind) (out []string, evicted, loaded, expired float64) {
	t.Helper()
	op, err := New(makeSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if limit > 0 {
		cfg[statecache.Option] = strconv.Itoa(limit)
	}
	if wb > 0 {
		cfg[statecache.WriteBehindOption] = strconv.Itoa(wb)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	if bk == onPebble {
		oc.State = openPebble(t)
		defer oc.State.Close()
	}
	var now int64
	oc.Now = func() int64 { return now }
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	o := inner(op)
	if o.limit != limit {
		t.Fatalf("limit %d, want %d", o.limit, limit)
	}
	c := &textOut{}
	lo := 0
	for k, hi := range s.ends {
		now = s.now[k]
		b := stream.Batch{Record: buildBatch(t, mem, s.rows[lo:hi])}
		if spec.InputRetracts {
			b.Kinds = s.kinds[lo:hi]
		}
		err := op.ProcessBatch(ctx, 0, b, c)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		if s.wm[k] {
			if err := op.ProcessWatermark(ctx, int64(hi), c); err != nil {
				t.Fatal(err)
			}
		}
		if limit > 0 && len(o.pRows) > limit {
			t.Fatalf("after batch %d the operator holds %d partitions; the limit is %d", k, len(o.pRows), limit)
		}
		unstored := 0
		for id := 1; id < len(o.cands); id++ {
			if c := &o.cands[id]; c.state == candLive && !c.stored {
				unstored++
			}
		}
		if unstored != o.ss.unstored {
			t.Fatalf("after batch %d: %d rows not in keyed state, counted %d", k, unstored, o.ss.unstored)
		}
		if wb > 0 && o.dirty() > wb {
			t.Fatalf("after batch %d: %d changes unwritten, write-behind limit %d", k, o.dirty(), wb)
		}
		lo = hi
	}
	if wb > 0 && o.ss.writesBehind == 0 {
		t.Fatalf("write-behind limit %d: nothing was written behind", wb)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return c.rows, metrics.Value(statecache.EvictedMetric), metrics.Value(statecache.LoadedMetric), metrics.Value(ExpiredMetric)
}

// TestCacheSameOutput runs random inputs over many skewed partitions with
// no limit and with small ones (over memstate and Pebble) and checks that
// the outputs are identical, that partitions were evicted and loaded
// back, and that no more partitions than the limit stay in memory after a
// batch.
func TestCacheSameOutput(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for i := 0; i < 12; i++ {
		retract := i%2 == 1
		spec := randomSpec(r, retract)
		spec.PartitionKeys = [][]int{{0}, {0, 2}, {0, 3}}[r.IntN(3)]
		if i%3 == 2 {
			spec.TTLMs = int64(2000 + r.IntN(5000))
		}
		t.Run(fmt.Sprintf("%d_%s", i, specName(spec)), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := newScript(r, 3000, retract, spec.TTLMs)
			want, _, _, expired := runScript(t, mem, spec, s, 0, 0, onMemstate)
			if spec.TTLMs > 0 && expired == 0 {
				t.Fatal("no partition expired: the TTL case checks nothing")
			}
			keys := map[string]bool{}
			for _, x := range s.rows {
				var k []string
				for _, c := range spec.PartitionKeys {
					k = append(k, optest.Render(x[c]))
				}
				keys[strings.Join(k, "|")] = true
			}
			distinct := len(keys)
			if len(want) == 0 {
				t.Fatal("no output: the test checks nothing")
			}
			for _, limit := range []int{16, 50, max(16, distinct/4)} {
				for _, bk := range []backendKind{onMemstate, onPebble} {
					// Over Pebble also with changes written behind every
					// 3 or 5 (write-behind is off over memstate).
					for _, wb := range []int{0, 3 + 2*(limit%2)} {
						if bk == onPebble && limit == 50 || bk == onMemstate && wb > 0 {
							continue // keep the test short
						}
						got, ev, ld, _ := runScript(t, mem, spec, s, limit, wb, bk)
						if ev == 0 || ld == 0 {
							t.Fatalf("limit %d of %d partitions: %v evicted, %v loaded: the cache was not exercised", limit, distinct, ev, ld)
						}
						if !slices.Equal(got, want) {
							for j := 0; j < max(len(got), len(want)); j++ {
								if j >= len(got) || j >= len(want) || got[j] != want[j] {
									t.Fatalf("limit %d (backend %d, write-behind %d): output differs at row %d of %d (want %d)\n got %v\nwant %v",
										limit, bk, wb, j, len(got), len(want), got[j:min(j+3, len(got))], want[j:min(j+3, len(want))])
								}
							}
						}
					}
				}
			}
		})
	}
}

func TestCacheLimitOption(t *testing.T) {
	spec := randomSpec(rand.New(rand.NewPCG(1, 1)), false)
	op, err := New(makeSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(memory.NewGoAllocator(), map[string]string{statecache.Option: "3"})
	if err := op.Open(context.Background(), oc); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Fatalf("a cache of 3 keys: %v", err)
	}
}

// TestCacheSnapshotRestore is TestSnapshotRestore with a small cache limit
// and many partitions: evicted partitions must survive snapshots, restores
// (which load nothing eagerly) and rescales with their arrival numbers.
func TestCacheSnapshotRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(100)
	for _, retract := range []bool{false, true} {
		for _, fn := range []jobgraph.RankFunc{jobgraph.RowNumber, jobgraph.Rank, jobgraph.DenseRank} {
			for _, par := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
				// wb: changes written behind every 3 (snaptest's backend
				// is not memory-resident, so write-behind is on).
				for _, wb := range []int{0, 3} {
					seed++
					r := rand.New(rand.NewPCG(seed, 9))
					spec := randomSpec(r, retract)
					spec.Func = fn
					spec.PartitionKeys = [][]int{{0}, {0, 2}, {0, 3}}[r.IntN(3)]
					if seed%3 == 0 {
						spec.TTLMs = 1 << 40
					}
					limit := []int{16, 40}[r.IntN(2)]
					t.Run(fmt.Sprintf("%s/%d-%d/limit%d/wb%d", specName(spec), par[0], par[1], limit, wb), func(t *testing.T) {
						kinds, rows := skewedInput(r, 2000, retract)
						var steps []snaptest.Step
						for lo := 0; lo < len(rows); {
							hi := min(len(rows), lo+1+r.IntN(60))
							for hi < len(rows) && kinds[hi] == stream.UpdateAfter {
								hi++
							}
							b := stream.Batch{Record: buildBatch(t, mem, rows[lo:hi])}
							if retract {
								b.Kinds = kinds[lo:hi]
							}
							steps = append(steps, snaptest.Step{Batch: b})
							if r.IntN(5) == 0 {
								steps = append(steps, snaptest.Step{WM: int64(lo)})
							}
							lo = hi
						}
						defer func() {
							for _, s := range steps {
								if s.Batch.Record != nil {
									s.Batch.Release()
								}
							}
						}()
						cfg := map[string]string{statecache.Option: strconv.Itoa(limit)}
						if wb > 0 {
							cfg[statecache.WriteBehindOption] = strconv.Itoa(wb)
						}
						var ops []*Operator
						c := snaptest.Case{
							New: func() (operator.Operator, error) {
								op, err := New(makeSpec(spec))
								if err != nil {
									return nil, err
								}
								ops = append(ops, inner(op))
								return op, nil
							},
							Keys:            [][]int{spec.PartitionKeys},
							Config:          cfg,
							Steps:           steps,
							Cut:             len(steps)/3 + r.IntN(len(steps)/3),
							Before:          par[0],
							After:           par[1],
							Now:             func() int64 { return 1000 },
							LooseFinalState: !retract || par != [2]int{1, 1},
						}
						want, got := snaptest.Run(t, mem, c)
						if len(want) == 0 {
							t.Fatal("no output after the cut: the test checks nothing")
						}
						if par == [2]int{1, 1} {
							snaptest.SameSequence(t, got, want)
						} else {
							snaptest.SameByKey(t, got, want, spec.PartitionKeys)
						}
						if wb > 0 {
							n := 0
							for _, o := range ops {
								n += o.ss.writesBehind
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
}

// TestCacheRestoreLoadsLazily checks, over Pebble, that a restore with a
// limit reads no rows, and that the rows come back when their partitions' keys arrive:
// the output after the restore equals that of an unlimited operator that
// never stopped.
func TestCacheRestoreLoadsLazily(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(31, 32))
	spec := &jobgraph.RankSpec{Func: jobgraph.RowNumber, PartitionKeys: []int{0}, N: 2, EmitRank: true,
		OrderBy: []jobgraph.SortKey{{Column: 1, Desc: true}}, Changes: jobgraph.Changes{InputRetracts: true, EmitUpdateBefore: true}}
	s := newScript(r, 1500, true, 0)
	cut := len(s.ends) / 2
	be := openPebble(t) // snaptest covers memstate
	defer be.Close()
	// run feeds batches [from, to) of s; a negative limit means none.
	run := func(from, to int, limit int, snapshot, restore bool) ([]string, *optest.Metrics) {
		op, err := New(makeSpec(spec))
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]string
		if limit > 0 {
			cfg = map[string]string{statecache.Option: strconv.Itoa(limit)}
		}
		oc, m := optest.NewContext(mem, cfg)
		if snapshot || restore {
			oc.State = be
		}
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		if restore {
			if err := op.(operator.Snapshotter).RestoreState(ctx); err != nil {
				t.Fatal(err)
			}
			if o := inner(op); o.tree.Len() != 0 || !o.mayHold {
				t.Fatalf("a restore with a limit loaded %d rows (state may hold more: %v)", o.tree.Len(), o.mayHold)
			}
		}
		c := &textOut{}
		for k := from; k < to; k++ {
			lo := 0
			if k > 0 {
				lo = s.ends[k-1]
			}
			b := stream.Batch{Record: buildBatch(t, mem, s.rows[lo:s.ends[k]]), Kinds: s.kinds[lo:s.ends[k]]}
			err := op.ProcessBatch(ctx, 0, b, c)
			b.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if snapshot {
			if err := op.(operator.Snapshotter).SnapshotState(ctx, 1); err != nil {
				t.Fatal(err)
			}
		}
		if err := op.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return c.rows, m
	}
	before, _ := run(0, cut, 20, true, false)
	got, m := run(cut, len(s.ends), 20, false, true)
	if m.Value(statecache.LoadedMetric) == 0 || m.Value(statecache.EvictedMetric) == 0 {
		t.Fatal("nothing was loaded or evicted after the restore")
	}
	all, _ := run(0, len(s.ends), 0, false, false)
	if !slices.Equal(all[:len(before)], before) {
		t.Fatal("the limited operator's output before the cut differs from the unlimited one's")
	}
	if want := all[len(before):]; !slices.Equal(got, want) {
		t.Fatalf("after a lazy restore the output has %d rows, the uninterrupted operator's %d (or they differ)", len(got), len(want))
	}
}

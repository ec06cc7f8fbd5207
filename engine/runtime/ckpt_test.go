package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// ckptJob is the stateful job of the checkpoint tests: sources -> HASH(key)
// -> runcount -> two-phase sink.
type ckptJob struct {
	f       *fakes
	st      *memStorage
	prov    *snapProvider
	sink    *tpcSink
	snaps   *snapLog
	fail    func(subtask int) (bool, bool)
	sources map[string][]row // dataset name -> rows
}

func newCkptJob(t *testing.T) *ckptJob {
	c := &ckptJob{f: newFakes(t), st: newMemStorage(), prov: &snapProvider{},
		snaps: &snapLog{ids: map[int64]map[int][]int64{}}, sources: map[string][]row{}}
	c.sink = newTPCSink(c.st)
	if err := c.f.reg.Register(c.sink); err != nil {
		t.Fatal(err)
	}
	return c
}

// byKey deals rows into p shares by key (NULL keys to share 0), so the
// rows of one key keep their order.
func byKey(rows []row, p int) [][]row {
	out := make([][]row, p)
	for _, r := range rows {
		s := 0
		if !r.keyNull {
			s = int(r.key % int64(p))
		}
		out[s] = append(out[s], r)
	}
	return out
}

func (c *ckptJob) options(mem memory.Allocator) Options {
	o := c.f.options(mem)
	base := o.Operators["calc"]
	o.Operators = map[string]operator.Factory{"calc": func(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
		if spec.Name == "runcount" {
			return &runCountOp{fail: c.fail, snaps: c.snaps}, nil
		}
		return base(spec)
	}}
	o.State = c.prov
	o.CheckpointStorage = c.st
	o.CheckpointInterval = 2 * time.Millisecond
	o.RestartStrategy = RestartStrategy{MaxAttempts: 5, InitialDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}
	return o
}

func tpcSinkSpec(id string) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{ID: id, Name: "Sink(out)", Output: runCountSchema, Sink: &jobgraph.SinkSpec{
		TableRef: jobgraph.TableRef{Table: "out", Connector: "tpc", Schema: runCountSchema},
	}}
}

// graph: source vertices (one per dataset, with their parallelism) hashed
// on key into a "cnt" vertex of parallelism pc running runcount and the
// sink.
func (c *ckptJob) graph(pc int, srcs map[string]int) *jobgraph.Graph {
	g := &jobgraph.Graph{Name: "ckpt"}
	var names []string
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		g.Vertices = append(g.Vertices, &jobgraph.Vertex{ID: "v" + n, Parallelism: srcs[n],
			Ops: []*jobgraph.OperatorSpec{sourceOp("src-"+n, n, &jobgraph.WatermarkSpec{Column: 2, DelayMs: 20})}})
		g.Edges = append(g.Edges, &jobgraph.Edge{From: "v" + n, To: "cnt", Input: i, Exchange: jobgraph.Hash, Keys: []int{0}})
	}
	g.Vertices = append(g.Vertices, &jobgraph.Vertex{ID: "cnt", Parallelism: pc,
		Ops: []*jobgraph.OperatorSpec{calcOp("runcount", "runcount", runCountSchema), tpcSinkSpec("sink")}})
	return g
}

// reference computes the job's output row at a time: per key, the running
// count of its rows in share order.
func reference(shares ...[]row) []string {
	counts := map[string]int64{}
	var out []string
	for _, sh := range shares {
		for _, r := range sh {
			k := strconv.FormatInt(r.key, 10)
			if r.keyNull {
				k = "(null)"
			}
			counts[k]++
			out = append(out, fmt.Sprintf("+I|%d|%s|%d", r.id, k, counts[k]))
		}
	}
	sort.Strings(out)
	return out
}

// diff describes how got differs from want (multisets of sorted strings).
func diff(got, want []string) string {
	m := map[string]int{}
	for _, s := range want {
		m[s]++
	}
	for _, s := range got {
		m[s]--
	}
	var missing, extra []string
	for s, n := range m {
		for ; n > 0; n-- {
			missing = append(missing, s)
		}
		for ; n < 0; n++ {
			extra = append(extra, s)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("%d rows missing (first %v), %d extra (first %v)", len(missing), head(missing), len(extra), head(extra))
}

// checkCounts checks the runcount output got ("+I|id|key|cnt") has every
// row of rows once and, per key, the counts 1..n.
func checkCounts(got []string, rows []row) error {
	byID := map[string]bool{}
	counts := map[string][]int{}
	for _, g := range got {
		f := strings.Split(g, "|")
		if len(f) != 4 || byID[f[1]] {
			return fmt.Errorf("bad or doubled output row %q", g)
		}
		byID[f[1]] = true
		n, _ := strconv.Atoi(f[3])
		counts[f[2]] = append(counts[f[2]], n)
	}
	for _, r := range rows {
		if !byID[strconv.FormatInt(r.id, 10)] {
			return fmt.Errorf("row %d missing", r.id)
		}
	}
	if len(got) != len(rows) {
		return fmt.Errorf("%d rows, want %d", len(got), len(rows))
	}
	for k, ns := range counts {
		sort.Ints(ns)
		for i, n := range ns {
			if n != i+1 {
				return fmt.Errorf("key %s: counts %v, want 1..%d", k, ns, len(ns))
			}
		}
	}
	return nil
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// injector fails the runcount operator after a random number of batches,
// failures times.
type injector struct {
	mu       sync.Mutex
	r        *rand.Rand
	left     int
	at, seen int
	maxAt    int
	panics   bool
	injected int
}

func (in *injector) fail(subtask int) (bool, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.left == 0 {
		return false, false
	}
	in.seen++
	if in.seen < in.at {
		return false, false
	}
	in.left--
	in.injected++
	in.seen, in.at = 0, 1+in.r.IntN(in.maxAt)
	p := in.panics
	in.panics = in.r.IntN(2) == 0
	return true, p
}

// TestCheckpointFaultInjection crashes the stateful job's operator after a
// random number of batches, once or several times; the job restarts from
// its latest checkpoint, and the sink's visible output must equal the
// row-at-a-time reference: no row lost, none doubled, the running counts
// continuing from the restored state.
func TestCheckpointFaultInjection(t *testing.T) {
	restoredTotal := int64(0)
	for seed := uint64(0); seed < 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 5))
			c := newCkptJob(t)
			ps, pc := 1+r.IntN(2), 1+r.IntN(3)
			rows := genRows(r, 1500+r.IntN(1500), 40, 5, 10)
			shares := byKey(rows, ps)
			c.f.addDataset("a", &dataset{shares: shares, maxBatch: 1 + r.IntN(30), nilEvery: 2 + r.IntN(3)})
			in := &injector{r: r, left: 1 + r.IntN(3), maxAt: 60, panics: r.IntN(2) == 0}
			in.at = 1 + r.IntN(in.maxAt)
			failures := in.left
			c.fail = in.fail
			res, err := Run(context.Background(), c.graph(pc, map[string]int{"a": ps}), c.options(mem))
			if err != nil {
				t.Fatal(err)
			}
			if in.injected != failures || res.Restarts != failures {
				t.Fatalf("injected %d failures (want %d), %d restarts", in.injected, failures, res.Restarts)
			}
			if d := diff(c.sink.rows(), reference(shares...)); d != "" {
				t.Fatalf("visible output differs from the reference: %s", d)
			}
			restoredTotal += c.prov.restored.Load()
			t.Logf("ps=%d pc=%d rows=%d failures=%d checkpoints=%d restored backends=%d",
				ps, pc, len(rows), failures, res.Checkpoints, c.prov.restored.Load())
		})
	}
	if restoredTotal == 0 {
		t.Fatal("no run restored state from a checkpoint: the test did not exercise restore")
	}
}

// TestCheckpointAlignment runs two sources into a vertex with several
// input channels and checks, at every completed checkpoint, that each
// subtask's snapshot saw exactly the rows the sources had read before
// their barrier (the positions in the metadata), routed to it: a barrier
// never overtakes data on its channel, and rows after it on a blocked
// channel are not processed before the snapshot.
func TestCheckpointAlignment(t *testing.T) {
	for seed := uint64(0); seed < 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 6))
			c := newCkptJob(t)
			pa, pb, pc := 1+r.IntN(2), 1, 1+r.IntN(2)
			a := genRows(r, 2000+r.IntN(1000), 40, 5, 10)
			b := genRows(r, 1000+r.IntN(1000), 40, 5, 10)
			for i := range b {
				b[i].id += 1_000_000
			}
			sa, sb := split(a, pa), split(b, pb)
			c.f.addDataset("a", &dataset{shares: sa, maxBatch: 1 + r.IntN(20), nilEvery: 2 + r.IntN(3)})
			c.f.addDataset("b", &dataset{shares: sb, maxBatch: 1 + r.IntN(20), nilEvery: 2 + r.IntN(3)})
			opts := c.options(mem)
			opts.CheckpointInterval = time.Millisecond
			res, err := Run(context.Background(), c.graph(pc, map[string]int{"a": pa, "b": pb}), opts)
			if err != nil {
				t.Fatal(err)
			}
			owner := map[int64]int{} // row id -> runcount subtask
			for _, rw := range append(append([]row{}, a...), b...) {
				owner[rw.id] = keySubtask(t, mem, rw, jobgraph.DefaultMaxParallelism, pc)
			}
			ids, _ := c.st.List(context.Background())
			if len(ids) == 0 || res.Checkpoints != len(ids) {
				t.Fatalf("%d checkpoints stored, result says %d completed", len(ids), res.Checkpoints)
			}
			for _, id := range ids {
				md, err := c.st.load(id)
				if err != nil {
					t.Fatal(err)
				}
				want := make([][]string, pc)
				for name, shares := range map[string][][]row{"a": sa, "b": sb} {
					os := md.Operators["src-"+name]
					if os == nil || len(os.Subtasks) != len(shares) {
						t.Fatalf("checkpoint %d: source %s state %+v", id, name, os)
					}
					for i, ss := range os.Subtasks {
						var sub, pos int
						if _, err := fmt.Sscanf(string(ss.Position), "%d:%d", &sub, &pos); err != nil || sub != i {
							t.Fatalf("checkpoint %d: source %s subtask %d position %q", id, name, i, ss.Position)
						}
						for _, rw := range shares[i][:pos] {
							s := owner[rw.id]
							want[s] = append(want[s], strconv.FormatInt(rw.id, 10))
						}
					}
				}
				cs := md.Operators["runcount"]
				sk := md.Operators["sink"]
				if cs == nil || len(cs.Subtasks) != pc || sk == nil || len(sk.Subtasks) != pc {
					t.Fatalf("checkpoint %d: operator states %+v", id, md.Operators)
				}
				for s := 0; s < pc; s++ {
					if cs.Subtasks[s].Backend == nil || sk.Subtasks[s].Committable == nil {
						t.Fatalf("checkpoint %d subtask %d: no backend handle or committable", id, s)
					}
					c.snaps.mu.Lock()
					seen := c.snaps.ids[id][s]
					c.snaps.mu.Unlock()
					got := make([]string, len(seen))
					for i, v := range seen {
						got[i] = strconv.FormatInt(v, 10)
					}
					sort.Strings(got)
					sort.Strings(want[s])
					if d := diff(got, want[s]); d != "" {
						t.Fatalf("checkpoint %d, subtask %d: rows processed at the snapshot differ from those before the barrier: %s", id, s, d)
					}
				}
			}
			// Each key's rows interleave from two sources in no fixed order:
			// every row once, and per key the counts 1..n.
			if err := checkCounts(c.sink.rows(), append(append([]row{}, a...), b...)); err != nil {
				t.Fatal(err)
			}
			t.Logf("pa=%d pc=%d checkpoints=%d", pa, pc, len(ids))
		})
	}
}

// TestCheckpointCoordinator runs an unbounded job and checks, while it
// runs, that checkpoints record positions, state handles and
// committables, that sinks commit only completed checkpoints, and that a
// checkpoint whose acknowledgement fails is dropped (its output committed
// with the next one); then ends the input and checks the output.
func TestCheckpointCoordinator(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 7))
	c := newCkptJob(t)
	const ps, pc = 2, 2
	rows := genRows(r, 3000, 40, 5, 10)
	shares := byKey(rows, ps)
	var release atomic.Bool
	c.f.addDataset("a", &dataset{shares: shares, maxBatch: 10, nilEvery: 3, hold: func(int) bool { return release.Load() }})
	const badID = 3
	c.prov.failPersist = func(id int64) bool { return id == badID }
	opts := c.options(mem)
	opts.CheckpointInterval = 3 * time.Millisecond
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(context.Background(), c.graph(pc, map[string]int{"a": ps}), opts)
		done <- outcome{res, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for c.st.maxID() < badID+3 {
		if time.Now().After(deadline) {
			release.Store(true)
			<-done
			t.Fatalf("only checkpoints up to %d completed", c.st.maxID())
		}
		time.Sleep(2 * time.Millisecond)
	}
	// While running: every Commit came after its checkpoint was stored.
	c.sink.mu.Lock()
	log := append([]commitEvent(nil), c.sink.commitLog...)
	c.sink.mu.Unlock()
	if len(log) == 0 {
		t.Fatal("no commit while running")
	}
	for _, e := range log {
		if e.storedMax < e.id {
			t.Fatalf("checkpoint %d committed by a sink when only %d was stored", e.id, e.storedMax)
		}
	}
	ids, _ := c.st.List(context.Background())
	for _, id := range ids {
		if id == badID {
			t.Fatalf("checkpoint %d, whose persist failed, was committed", badID)
		}
	}
	next, err := c.st.load(badID + 1)
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for s, ss := range next.Operators["sink"].Subtasks {
		if ss == nil || !strings.HasPrefix(string(ss.Committable), strconv.Itoa(badID+1)+":") {
			t.Fatalf("checkpoint %d sink subtask %d: committable %+v", badID+1, s, ss)
		}
		for _, p := range ss.Pending {
			if strings.HasPrefix(string(p), strconv.Itoa(badID)+":") {
				pending++
			}
		}
		if next.Operators["runcount"].Subtasks[s].Backend == nil {
			t.Fatalf("checkpoint %d runcount subtask %d has no backend handle", badID+1, s)
		}
	}
	if pending != pc {
		t.Fatalf("checkpoint %d carries %d pending committables of dropped checkpoint %d, want %d", badID+1, pending, badID, pc)
	}
	for s, ss := range next.Operators["src-a"].Subtasks {
		if ss == nil || !strings.HasPrefix(string(ss.Position), strconv.Itoa(s)+":") {
			t.Fatalf("checkpoint %d source subtask %d: %+v", badID+1, s, ss)
		}
	}
	release.Store(true)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.CheckpointsFailed < 1 || o.res.Checkpoints < badID+2 || o.res.LastCheckpointSize <= 0 || o.res.LastCheckpointDuration <= 0 {
		t.Fatalf("result: %d completed, %d failed, last size %d, duration %s", o.res.Checkpoints, o.res.CheckpointsFailed, o.res.LastCheckpointSize, o.res.LastCheckpointDuration)
	}
	if d := diff(c.sink.rows(), reference(shares...)); d != "" {
		t.Fatalf("visible output differs from the reference: %s", d)
	}
}

// TestRestoreFromCheckpoint is the command line's crash and resume: a run
// fails with no restarts left, and a new run resumes from the latest
// checkpoint in storage (Options.Restore). It also checks the restore's
// errors: state of an operator the job lacks, and a source that cannot
// be checkpointed.
func TestRestoreFromCheckpoint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(8, 8))
	c := newCkptJob(t)
	rows := genRows(r, 4000, 40, 5, 10)
	shares := byKey(rows, 2)
	c.f.addDataset("a", &dataset{shares: shares, maxBatch: 10, nilEvery: 3})
	var batches atomic.Int64
	c.fail = func(int) (bool, bool) { return batches.Add(1) == 150, false }
	opts := c.options(mem)
	opts.RestartStrategy.MaxAttempts = -1
	g := c.graph(2, map[string]int{"a": 2})
	_, err := Run(context.Background(), g, opts)
	if !errors.Is(err, errBoom) {
		t.Fatalf("first run: %v, want the injected failure", err)
	}
	m, _, err := c.st.Latest(context.Background())
	if err != nil || m == nil {
		t.Fatalf("no checkpoint after the failed run: %v", err)
	}

	// A checkpoint with state of an operator the job lacks.
	g2 := c.graph(2, map[string]int{"a": 2})
	g2.Vertices[1].Ops[0].ID = "runcount2"
	opts.Restore = m
	if _, err := Run(context.Background(), g2, opts); err == nil || !strings.Contains(err.Error(), `the job does not have: "runcount"`) {
		t.Fatalf("restore into another job: %v", err)
	}

	opts.RestartStrategy.MaxAttempts = 0
	res, err := Run(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoints > 0 && res.LastCheckpointID <= m.ID {
		t.Fatalf("checkpoint IDs did not continue after %d: last %d", m.ID, res.LastCheckpointID)
	}
	if d := diff(c.sink.rows(), reference(shares...)); d != "" {
		t.Fatalf("visible output after the resumed run differs from the reference: %s", d)
	}
	if c.sink.recovers != 1 {
		t.Fatalf("sink recovered %d times, want 1", c.sink.recovers)
	}
}

// plainSource is a source that cannot be checkpointed.
type plainSource struct{ s *sliceSource }

func (p plainSource) Name() string                     { return "plain" }
func (p plainSource) Options() []connectors.OptionSpec { return nil }
func (p plainSource) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return p, nil
}
func (p plainSource) Bounded() bool { return true }
func (p plainSource) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	return p.s.Reader(ctx, rc)
}

func TestCheckpointConfigErrors(t *testing.T) {
	c := newCkptJob(t)
	if err := c.f.reg.Register(plainSource{}); err != nil {
		t.Fatal(err)
	}
	c.f.addDataset("a", &dataset{shares: [][]row{nil}, maxBatch: 1})
	g := c.graph(1, map[string]int{"a": 1})
	g.Vertices[0].Ops[0].Source.Connector = "plain"
	opts := c.options(memory.DefaultAllocator)
	if _, err := Run(context.Background(), g, opts); err == nil || !strings.Contains(err.Error(), "table a") || !strings.Contains(err.Error(), "RestorableSource") {
		t.Fatalf("non-restorable source: %v", err)
	}
	g = c.graph(1, map[string]int{"a": 1})
	opts.State = nil
	if _, err := Run(context.Background(), g, opts); err == nil || !strings.Contains(err.Error(), "RestoringProvider") {
		t.Fatalf("memstate with checkpoints: %v", err)
	}
	opts = c.options(memory.DefaultAllocator)
	opts.CheckpointInterval = 0
	opts.Config = map[string]string{CheckpointIntervalKey: "soon"}
	if _, err := Run(context.Background(), g, opts); err == nil || !strings.Contains(err.Error(), CheckpointIntervalKey) {
		t.Fatalf("bad interval option: %v", err)
	}
	// The option sets the interval; Options.CheckpointInterval wins over it.
	for _, tc := range []struct {
		opt  string
		flag time.Duration
		want time.Duration
	}{{"10 s", 0, 10 * time.Second}, {"1 min", 2 * time.Second, 2 * time.Second}, {"", 0, 0}} {
		o := c.options(memory.DefaultAllocator)
		o.CheckpointInterval = tc.flag
		cfg := map[string]string{}
		if tc.opt != "" {
			cfg[CheckpointIntervalKey] = tc.opt
		}
		ck, err := checkpointConfig(o.withDefaults(), cfg, nil)
		if err != nil || ck.interval != tc.want {
			t.Fatalf("option %q flag %s: interval %s, %v; want %s", tc.opt, tc.flag, ck.interval, err, tc.want)
		}
	}
}

func TestRestartStrategyDelay(t *testing.T) {
	r := RestartStrategy{}.WithDefaults()
	got := []time.Duration{r.Delay(1), r.Delay(2), r.Delay(3), r.Delay(10)}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 30 * time.Second}
	if !reflect.DeepEqual(got, want) || r.MaxAttempts != 3 {
		t.Fatalf("delays %v (max attempts %d), want %v and 3", got, r.MaxAttempts, want)
	}
	if (RestartStrategy{MaxAttempts: -1}).WithDefaults().MaxAttempts != 0 {
		t.Fatal("negative MaxAttempts should mean no restarts")
	}
}

// Positions for the benchmark's slice source.
func (r *sliceReader) Position() ([]byte, error) { return []byte(strconv.FormatInt(r.pos, 10)), nil }

func (s *sliceSource) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	return nil, fmt.Errorf("not used")
}

// BenchmarkCheckpoints measures events per CPU-second of a small stateful
// job (source -> HASH -> running count per key, checkpointed in memory ->
// sink) without checkpoints and with them every 10 s and every 100 ms.
func BenchmarkCheckpoints(b *testing.B) {
	const rows = 1 << 20
	r := rand.New(rand.NewPCG(1, 2))
	rec := buildRecord(memory.DefaultAllocator, genRows(r, rows, 10_000, 10, 100))
	defer rec.Release()
	reg := connectors.NewRegistry()
	_ = reg.Register(&sliceSource{rec: rec})
	_ = reg.Register(blackhole{})
	for _, iv := range []time.Duration{0, 10 * time.Second, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("interval=%s", iv), func(b *testing.B) {
			src := sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 100})
			src.Source.Connector = "slices"
			sink := &jobgraph.OperatorSpec{ID: "sink", Name: "Sink(out)", Output: runCountSchema, Sink: &jobgraph.SinkSpec{
				TableRef: jobgraph.TableRef{Table: "out", Connector: "blackhole", Schema: runCountSchema}}}
			g := &jobgraph.Graph{Name: "bench", Vertices: []*jobgraph.Vertex{
				{ID: "v1", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{src}},
				{ID: "v2", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{calcOp("runcount", "runcount", runCountSchema), sink}},
			}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
			var checkpoints int
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				opts := Options{Connectors: reg, Logger: quietLogger(), Operators: map[string]operator.Factory{
					"calc": func(*jobgraph.OperatorSpec) (operator.Operator, error) { return &runCountOp{}, nil },
				}, State: &snapProvider{}, CheckpointStorage: newMemStorage(), CheckpointInterval: iv}
				res, err := Run(context.Background(), g, opts)
				if err != nil {
					b.Fatal(err)
				}
				if res.RecordsOut != rows {
					b.Fatalf("sink got %d rows, want %d", res.RecordsOut, rows)
				}
				checkpoints += res.Checkpoints
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "events/cpu-s")
			b.ReportMetric(float64(checkpoints)/float64(b.N), "checkpoints/run")
		})
	}
}

var (
	_ = io.EOF
	_ arrow.RecordBatch
	_ checkpoint.Storage = (*memStorage)(nil)
)

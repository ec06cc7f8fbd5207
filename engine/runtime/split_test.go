package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// splitGen is the "splitgen" connector: a split source over in-memory
// splits (lists of rows) that its enumerator discovers a few at a time,
// like partitions appearing or files landing in a directory.
type splitGen struct {
	mu     sync.Mutex
	splits [][]row
	// perRound is the most splits one Discover returns; unbounded keeps
	// the source running after the last split (until stop is closed).
	perRound  int
	allAtOnce bool
	unbounded bool
	stop      chan struct{}
	seed      uint64
	maxBatch  int
	// badEvery > 0 makes the rows whose id is a multiple of it bad
	// records, handed to the bad-record handler.
	badEvery int64
	// assigned counts the splits handed to readers (restored ones too).
	assigned int
	// enumStates are the enumerator states the source was restored with.
	enumStates []int
}

func (g *splitGen) Name() string                     { return "splitgen" }
func (g *splitGen) Options() []connectors.OptionSpec { return nil }

func (g *splitGen) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	return g, nil
}

func (g *splitGen) Bounded() bool { return !g.unbounded }

type splitGenState struct {
	Split  int `json:"split"`
	Offset int `json:"offset"`
}

func (g *splitGen) NewEnumerator(ctx context.Context, ec connectors.EnumeratorContext, cp []byte) (connectors.SplitEnumerator, error) {
	e := &splitGenEnum{g: g, r: rand.New(rand.NewPCG(g.seed, uint64(len(cp))))}
	if cp != nil {
		n, err := strconv.Atoi(string(cp))
		if err != nil {
			return nil, fmt.Errorf("bad enumerator state %q", cp)
		}
		e.next = n
		g.mu.Lock()
		g.enumStates = append(g.enumStates, n)
		g.mu.Unlock()
	}
	return e, nil
}

type splitGenEnum struct {
	g    *splitGen
	r    *rand.Rand
	next int
}

func (e *splitGenEnum) Discover(ctx context.Context) ([]connectors.Split, bool, error) {
	n := min(len(e.g.splits)-e.next, e.r.IntN(e.g.perRound+1))
	if e.g.allAtOnce {
		n = len(e.g.splits) - e.next
	}
	var out []connectors.Split
	for i := 0; i < n; i++ {
		st, _ := json.Marshal(splitGenState{Split: e.next})
		out = append(out, connectors.Split{ID: "s" + strconv.Itoa(e.next), State: st})
		e.next++
	}
	done := e.next == len(e.g.splits)
	if done && e.g.unbounded {
		select {
		case <-e.g.stop:
		default:
			done = false
		}
	}
	return out, done, nil
}

func (e *splitGenEnum) Snapshot() ([]byte, error) { return []byte(strconv.Itoa(e.next)), nil }
func (e *splitGenEnum) Close() error              { return nil }

func (g *splitGen) NewSplitReader(ctx context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	if rc.BadRecords == nil {
		return nil, fmt.Errorf("no bad-record handler in the reader context")
	}
	return &splitGenReader{g: g, rc: rc, held: map[string]*splitGenState{}, r: rand.New(rand.NewPCG(g.seed, uint64(rc.Subtask)))}, nil
}

type splitGenReader struct {
	g    *splitGen
	rc   connectors.ReaderContext
	held map[string]*splitGenState
	r    *rand.Rand
}

func (r *splitGenReader) AddSplits(ctx context.Context, splits []connectors.Split) error {
	for _, s := range splits {
		var st splitGenState
		if err := json.Unmarshal(s.State, &st); err != nil {
			return err
		}
		r.held[s.ID] = &st
	}
	r.g.mu.Lock()
	r.g.assigned += len(splits)
	r.g.mu.Unlock()
	return nil
}

func (r *splitGenReader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	if len(r.held) == 0 || r.r.IntN(5) == 0 {
		return connectors.SplitBatch{}, nil
	}
	ids := make([]string, 0, len(r.held))
	for id := range r.held {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	id := ids[r.r.IntN(len(ids))]
	st := r.held[id]
	rows := r.g.splits[st.Split][st.Offset:]
	n := min(len(rows), r.r.IntN(r.g.maxBatch+1))
	st.Offset += n
	sb := connectors.SplitBatch{Split: id, Finished: st.Offset == len(r.g.splits[st.Split])}
	good := rows[:n]
	if r.g.badEvery > 0 {
		good = nil
		for _, row := range rows[:n] {
			if row.id%r.g.badEvery != 0 {
				good = append(good, row)
				continue
			}
			bad := connectors.BadRecord{Location: fmt.Sprintf("id=%d", row.id), Reason: "bad", Record: []byte("x")}
			if err := r.rc.BadRecordHandler().Handle(ctx, bad); err != nil {
				return connectors.SplitBatch{}, err
			}
		}
	}
	if len(good) > 0 {
		sb.Batch = stream.Batch{Record: buildRecord(r.rc.Alloc, good)}
	}
	if sb.Finished {
		delete(r.held, id)
	}
	return sb, nil
}

func (r *splitGenReader) Snapshot() ([]connectors.Split, error) {
	var out []connectors.Split
	for id, st := range r.held {
		b, _ := json.Marshal(st)
		out = append(out, connectors.Split{ID: id, State: b})
	}
	return out, nil
}

func (r *splitGenReader) Close() error { return nil }

// splitRows makes n rows spread over k splits; each split's event times
// rise (out of order by less than the watermark delay) from its own start,
// so splits are far apart in event time.
func splitRows(r *rand.Rand, n, k int) [][]row {
	out := make([][]row, k)
	id := int64(0)
	for s := range out {
		ts := int64(r.IntN(5000))
		for i := 0; i < n/k+r.IntN(20); i++ {
			ts += int64(r.IntN(4))
			out[s] = append(out[s], row{key: int64(r.IntN(9)), val: int64(i), ts: ts - int64(r.IntN(15)), id: id})
			id++
		}
	}
	return out
}

// TestSplitSourceFaultInjection reads a split source whose splits are
// discovered over time, at random source and sink parallelisms, through a
// stateful operator that fails at random points: the job restarts from its
// latest checkpoint, the splits are assigned again with their positions,
// and every row reaches the visible output once, with the per-key counts
// continuing from the restored state.
func TestSplitSourceFaultInjection(t *testing.T) {
	restored := 0
	for seed := uint64(0); seed < 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 11))
			c := newCkptJob(t)
			g := &splitGen{splits: splitRows(r, 1500+r.IntN(1500), 1+r.IntN(7)), perRound: 1 + r.IntN(3), seed: seed, maxBatch: 1 + r.IntN(40)}
			if err := c.f.reg.Register(g); err != nil {
				t.Fatal(err)
			}
			in := &injector{r: r, left: 1 + r.IntN(3), maxAt: 60, panics: r.IntN(2) == 0}
			in.at = 1 + r.IntN(in.maxAt)
			failures := in.left
			c.fail = in.fail
			ps, pc := 1+r.IntN(3), 1+r.IntN(3)
			graph := c.graph(pc, map[string]int{"a": ps})
			graph.Vertices[0].Ops[0].Source.Connector = "splitgen"
			res, err := Run(context.Background(), graph, c.options(mem))
			if err != nil {
				t.Fatal(err)
			}
			if in.injected != failures || res.Restarts != failures {
				t.Fatalf("injected %d failures (want %d), %d restarts", in.injected, failures, res.Restarts)
			}
			var all []row
			for _, s := range g.splits {
				all = append(all, s...)
			}
			if err := checkCounts(c.sink.rows(), all); err != nil {
				t.Fatalf("visible output: %v", err)
			}
			restored += len(g.enumStates)
			t.Logf("ps=%d pc=%d splits=%d rows=%d failures=%d checkpoints=%d enumerator restores=%v assigned=%d",
				ps, pc, len(g.splits), len(all), failures, res.Checkpoints, g.enumStates, g.assigned)
		})
	}
	if restored == 0 {
		t.Fatal("no attempt restored an enumerator from a checkpoint: the test did not exercise restore")
	}
}

// TestSplitWatermarks reads splits far apart in event time through one
// reader: with a watermark per split, no row is late (behind the
// watermark downstream), though a single generator over the reader would
// have made the later-starting splits' rows late. A split that stays
// quiet past the idle timeout does not hold the watermark back.
func TestSplitWatermarks(t *testing.T) {
	for seed := uint64(0); seed < 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 12))
			f := newFakes(t)
			g := &splitGen{splits: splitRows(r, 2000, 2+r.IntN(4)), allAtOnce: true, seed: seed, maxBatch: 1 + r.IntN(30)}
			if err := f.reg.Register(g); err != nil {
				t.Fatal(err)
			}
			src := sourceOp("src", "a", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 20})
			src.Source.Connector = "splitgen"
			graph := &jobgraph.Graph{Name: "splitwm", Vertices: []*jobgraph.Vertex{
				{ID: "src", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{src, calcOp("wm", "wm", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
			}}
			if _, err := Run(context.Background(), graph, f.options(mem)); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range g.splits {
				n += len(s)
			}
			if f.wms.rows != n {
				t.Fatalf("%d rows passed, want %d", f.wms.rows, n)
			}
			if len(f.wms.late) > 0 {
				t.Fatalf("%d late rows with per-split watermarks, first %v", len(f.wms.late), f.wms.late[:min(3, len(f.wms.late))])
			}
		})
	}
	t.Run("idle split", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		f := newFakes(t)
		r := rand.New(rand.NewPCG(7, 7))
		g := &splitGen{splits: splitRows(r, 400, 2), allAtOnce: true, seed: 7, maxBatch: 10, unbounded: true, stop: make(chan struct{})}
		// A third split with one row and no more: it goes idle.
		g.splits = append(g.splits, []row{{key: 1, ts: 0, id: 99999}})
		if err := f.reg.Register(&quietGen{g}); err != nil {
			t.Fatal(err)
		}
		src := sourceOp("src", "a", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 20})
		src.Source.Connector = "quietgen"
		graph := &jobgraph.Graph{Name: "splitidle", Config: map[string]string{IdleTimeoutKey: "50ms"}, Vertices: []*jobgraph.Vertex{
			{ID: "src", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{src, calcOp("wm", "wm", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
		}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := Run(ctx, graph, f.options(mem))
			done <- err
		}()
		// The two live splits end far above the quiet split's only row:
		// the watermark must pass it once the quiet split is idle.
		deadline := time.Now().Add(10 * time.Second)
		for {
			f.wms.mu.Lock()
			var last int64 = stream.MinWatermark
			if ws := f.wms.wms[0]; len(ws) > 0 {
				last = ws[len(ws)-1]
			}
			f.wms.mu.Unlock()
			if last > 1000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the watermark stayed at %d: the idle split held it back", last)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
	})
}

// quietGen is splitGen whose last split never finishes: after its rows it
// has nothing, for ever.
type quietGen struct{ *splitGen }

func (q *quietGen) Name() string { return "quietgen" }
func (q *quietGen) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	return q, nil
}
func (q *quietGen) NewSplitReader(ctx context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	rd, err := q.splitGen.NewSplitReader(ctx, rc)
	if err != nil {
		return nil, err
	}
	return &quietReader{rd.(*splitGenReader), len(q.splits) - 1}, nil
}

type quietReader struct {
	*splitGenReader
	quiet int
}

func (q *quietReader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	sb, err := q.splitGenReader.Next(ctx)
	if sb.Finished && sb.Split == "s"+strconv.Itoa(q.quiet) {
		// Never finishes: hold it again, at its end.
		sb.Finished = false
		q.held[sb.Split] = &splitGenState{Split: q.quiet, Offset: len(q.g.splits[q.quiet])}
	}
	return sb, err
}

// TestDeadLetterExactlyOnce reads a split source some of whose records are
// bad, with 'bad-records.policy' = 'dead-letter', through a stateful
// operator that fails at random points: after the restarts the dead-letter
// table holds every bad record once, and the output every good row once.
// The 'fail' policy fails the job naming the record, and 'skip' drops them.
func TestDeadLetterExactlyOnce(t *testing.T) {
	dlSchema := types.Schema{Fields: []types.Field{{Name: "location", Type: types.StringType}, {Name: "reason", Type: types.StringType}}}
	for seed := uint64(0); seed < 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 13))
			c := newCkptJob(t)
			g := &splitGen{splits: splitRows(r, 1000+r.IntN(1000), 1+r.IntN(5)), perRound: 2, seed: seed, maxBatch: 1 + r.IntN(40), badEvery: int64(3 + r.IntN(20))}
			if err := c.f.reg.Register(g); err != nil {
				t.Fatal(err)
			}
			in := &injector{r: r, left: 1 + r.IntN(3), maxAt: 60, panics: r.IntN(2) == 0}
			in.at = 1 + r.IntN(in.maxAt)
			c.fail = in.fail
			graph := c.graph(1+r.IntN(3), map[string]int{"a": 1 + r.IntN(3)})
			src := graph.Vertices[0].Ops[0].Source
			src.Connector = "splitgen"
			src.Options = map[string]string{connectors.OptBadRecordsPolicy: "dead-letter", connectors.OptBadRecordsDeadLetterTable: "dlq"}
			src.DeadLetter = &jobgraph.TableRef{Table: "dlq", Connector: "tpc", Schema: dlSchema}
			if _, err := Run(context.Background(), graph, c.options(mem)); err != nil {
				t.Fatal(err)
			}
			var good []row
			want := map[string]int{}
			for _, sp := range g.splits {
				for _, row := range sp {
					if row.id%g.badEvery == 0 {
						want[fmt.Sprintf("+I|id=%d|bad", row.id)]++
					} else {
						good = append(good, row)
					}
				}
			}
			var out []string
			got := map[string]int{}
			for _, v := range c.sink.rows() {
				if strings.HasPrefix(v, "+I|id=") {
					got[v]++
				} else {
					out = append(out, v)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("dead-letter rows: %d distinct, want %d (every bad record once)", len(got), len(want))
			}
			if err := checkCounts(out, good); err != nil {
				t.Fatalf("visible output: %v", err)
			}
			if in.injected == 0 {
				t.Fatal("no failure injected")
			}
		})
	}
	for _, policy := range []string{"fail", "skip"} {
		t.Run(policy, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			f := newFakes(t)
			r := rand.New(rand.NewPCG(3, 3))
			g := &splitGen{splits: splitRows(r, 500, 2), allAtOnce: true, seed: 3, maxBatch: 20, badEvery: 7}
			if err := f.reg.Register(g); err != nil {
				t.Fatal(err)
			}
			src := sourceOp("src", "a", nil)
			src.Source.Connector = "splitgen"
			src.Source.Options = map[string]string{connectors.OptBadRecordsPolicy: policy}
			graph := &jobgraph.Graph{Name: "bad", Vertices: []*jobgraph.Vertex{
				{ID: "src", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{src, sinkOpSpec("sink", "out", rowSchema)}},
			}}
			res, err := Run(context.Background(), graph, f.options(mem))
			if policy == "fail" {
				if err == nil || !strings.Contains(err.Error(), "id=") || !strings.Contains(err.Error(), ": bad") {
					t.Fatalf("fail policy: err %v, want the bad record's location and reason", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			bad, all := 0, 0
			for _, sp := range g.splits {
				for _, row := range sp {
					all++
					if row.id%7 == 0 {
						bad++
					}
				}
			}
			if n := len(f.sink.rows["out"]); n != all-bad {
				t.Fatalf("skip policy: %d rows written, want %d", n, all-bad)
			}
			if got := res.Operators[0].Counters[BadRecordsSkippedName]; got != int64(bad) {
				t.Fatalf("skip policy: %s = %v, want %d (counters %v)", BadRecordsSkippedName, got, bad, res.Operators[0].Counters)
			}
		})
	}
}

// TestEarlyFinishedSinkWaitsForTheJob: a source subtask whose share is
// small finishes its input while the other still reads; then the other
// fails. No checkpoint is taken once a source has ended, so the job
// restarts from one taken before: had the finished subtask's two-phase
// sink committed its output at its end of input, that output would be
// written and committed again, doubled in a sink that cannot take
// committed output back. The finished subtask waits for every subtask of
// the attempt to finish before committing, so the failure aborts it and
// the visible output has every row once.
func TestEarlyFinishedSinkWaitsForTheJob(t *testing.T) {
	for seed := uint64(0); seed < 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 21))
			c := newCkptJob(t)
			c.sink.keepCommitted = true
			rows := genRows(r, 3000, 40, 5, 10)
			shares := [][]row{rows[:300], rows[300:]}
			var failed atomic.Bool
			d := &dataset{shares: shares, maxBatch: 10, nilEvery: 2}
			d.hook = func(ctx context.Context, subtask, batch int) error {
				if subtask != 1 || failed.Load() {
					return nil
				}
				d.mu.Lock()
				n := 0
				for _, b := range d.batches[0] {
					n += len(b)
				}
				d.mu.Unlock()
				if n < len(shares[0]) {
					return nil
				}
				time.Sleep(30 * time.Millisecond) // subtask 0 reaches its end of input
				failed.Store(true)
				return errors.New("injected failure after the other source finished")
			}
			c.f.addDataset("a", d)
			src := sourceOp("src-a", "a", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 20})
			g := &jobgraph.Graph{Name: "early", Vertices: []*jobgraph.Vertex{{ID: "va", Parallelism: 2,
				Ops: []*jobgraph.OperatorSpec{src, {ID: "sink", Name: "Sink(out)", Output: rowSchema, Sink: &jobgraph.SinkSpec{
					TableRef: jobgraph.TableRef{Table: "out", Connector: "tpc", Schema: rowSchema}}}}}}}
			res, err := Run(context.Background(), g, c.options(mem))
			if err != nil {
				t.Fatal(err)
			}
			if !failed.Load() || res.Restarts != 1 {
				t.Fatalf("failure injected %v, %d restarts (want 1)", failed.Load(), res.Restarts)
			}
			// Every row's id (the last column) once.
			want := make([]string, len(rows))
			for i, rw := range rows {
				want[i] = strconv.FormatInt(rw.id, 10)
			}
			var got []string
			for _, v := range c.sink.rows() {
				got = append(got, v[strings.LastIndex(v, "|")+1:])
			}
			if d := diff(got, want); d != "" {
				t.Fatalf("visible output (row ids): %s", d)
			}
		})
	}
}

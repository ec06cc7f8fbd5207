package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// split deals rows into p contiguous shares.
func split(rows []row, p int) [][]row {
	out := make([][]row, p)
	for s := range out {
		out[s] = rows[len(rows)*s/p : len(rows)*(s+1)/p]
	}
	return out
}

// keySubtask is the reference routing: the subtask of parallelism p that
// owns the key group of one key, hashed on its own.
func keySubtask(t *testing.T, mem memory.Allocator, r row, maxP, p int) int {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	if r.keyNull {
		b.AppendNull()
	} else {
		b.Append(r.key)
	}
	a := b.NewArray()
	defer a.Release()
	h := []uint64{0}
	if err := keygroup.HashColumns([]arrow.Array{a}, h); err != nil {
		t.Fatal(err)
	}
	return keygroup.Subtask(keygroup.Of(h[0], maxP), maxP, p)
}

func keyText(r row) string {
	if r.keyNull {
		return "(null)"
	}
	return fmt.Sprint(r.key)
}

// TestRandomHashCount runs random graphs source -> hash(key) -> keyed count
// -> sink at random parallelism, batch sizes and chaining, and checks that
// every row reached its key group's subtask exactly once and that the
// counts equal a row-at-a-time reference.
func TestRandomHashCount(t *testing.T) {
	for seed := uint64(0); seed < 12; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 11))
			srcP, cntP := 1+r.IntN(4), 1+r.IntN(4)
			maxP := []int{0, 4, 16, 128}[r.IntN(4)]
			effMaxP := maxP
			if effMaxP == 0 {
				effMaxP = jobgraph.DefaultMaxParallelism
			}
			rows := genRows(r, 200+r.IntN(3000), 1+r.IntN(60), 20, 100)
			f := newFakes(t)
			f.addDataset("t", &dataset{shares: split(rows, srcP), maxBatch: 1 + r.IntN(300), nilEvery: []int{0, 3}[r.IntN(2)]})

			// Source vertex, optionally with a chained pass-through.
			srcOps := []*jobgraph.OperatorSpec{sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 100})}
			if r.IntN(2) == 0 {
				srcOps = append(srcOps, calcOp("pass1", "pass", rowSchema))
			}
			g := &jobgraph.Graph{Name: "count", MaxParallelism: maxP, Vertices: []*jobgraph.Vertex{
				{ID: "v1", Parallelism: srcP, Ops: srcOps},
			}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
			// The sink is chained, behind a forward edge, or behind a rebalance.
			switch r.IntN(3) {
			case 0:
				g.Vertices = append(g.Vertices, &jobgraph.Vertex{ID: "v2", Parallelism: cntP, Ops: []*jobgraph.OperatorSpec{
					calcOp("count", "count", countSchema), sinkOpSpec("sink", "out", countSchema)}})
			case 1:
				g.Vertices = append(g.Vertices,
					&jobgraph.Vertex{ID: "v2", Parallelism: cntP, Ops: []*jobgraph.OperatorSpec{calcOp("count", "count", countSchema)}},
					&jobgraph.Vertex{ID: "v3", Parallelism: cntP, Ops: []*jobgraph.OperatorSpec{calcOp("pass2", "pass", countSchema), sinkOpSpec("sink", "out", countSchema)}})
				g.Edges = append(g.Edges, &jobgraph.Edge{From: "v2", To: "v3", Exchange: jobgraph.Forward})
			default:
				g.Vertices = append(g.Vertices,
					&jobgraph.Vertex{ID: "v2", Parallelism: cntP, Ops: []*jobgraph.OperatorSpec{calcOp("count", "count", countSchema)}},
					&jobgraph.Vertex{ID: "v3", Parallelism: 1 + r.IntN(3), Ops: []*jobgraph.OperatorSpec{sinkOpSpec("sink", "out", countSchema)}})
				g.Edges = append(g.Edges, &jobgraph.Edge{From: "v2", To: "v3", Exchange: jobgraph.Rebalance})
			}
			opts := f.options(mem)
			opts.BatchSize = 1 + r.IntN(500)
			opts.ChannelCapacity = 1 + r.IntN(4)
			res, err := Run(context.Background(), g, opts)
			if err != nil {
				t.Fatal(err)
			}

			// Every row exactly once, at its key group's subtask.
			if len(f.routing.seen) != len(rows) {
				t.Fatalf("count operator saw %d distinct rows, want %d", len(f.routing.seen), len(rows))
			}
			want := map[string]int{}
			wantSubtask := map[string]int{}
			for _, rw := range rows {
				st := keySubtask(t, mem, rw, effMaxP, cntP)
				if got := f.routing.seen[rw.id]; len(got) != 1 || got[0] != st {
					t.Fatalf("row %d (key %s) reached subtasks %v, want [%d]", rw.id, keyText(rw), got, st)
				}
				want[keyText(rw)]++
				wantSubtask[keyText(rw)] = st
			}
			var wantRows []string
			for k, n := range want {
				wantRows = append(wantRows, fmt.Sprintf("+I|%s|%d|%d", k, n, wantSubtask[k]))
			}
			var got []string
			for _, s := range f.sink.rows["out"] {
				got = append(got, s[strings.Index(s, "|")+1:]) // drop the sink's subtask
			}
			sort.Strings(got)
			sort.Strings(wantRows)
			if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
				t.Fatalf("sink rows differ from reference:\ngot  %v\nwant %v", got, wantRows)
			}

			// Lifecycle and result.
			if opened, closed, aborted := f.sink.lifecycle(t); closed != opened || aborted != 0 {
				t.Fatalf("writers: %d opened, %d closed, %d aborted", opened, closed, aborted)
			}
			if o, c := f.src.sets["t"].opened.Load(), f.src.sets["t"].closed.Load(); int(o) != srcP || o != c {
				t.Fatalf("readers: %d opened, %d closed, want %d", o, c, srcP)
			}
			if o, c := f.life.opened.Load(), f.life.closed.Load(); o != c {
				t.Fatalf("pass operators: %d opened, %d closed", o, c)
			}
			if res.RecordsIn != int64(len(rows)) || res.RecordsOut != int64(len(want)) {
				t.Fatalf("result records in/out %d/%d, want %d/%d", res.RecordsIn, res.RecordsOut, len(rows), len(want))
			}
			var nulls int64
			for _, rw := range rows {
				if rw.keyNull {
					nulls++
				}
			}
			if res.LateRecordsDropped != nulls {
				t.Fatalf("late records dropped %d, want %d (one per NULL key)", res.LateRecordsDropped, nulls)
			}
			for _, v := range res.Vertices {
				if v.ID == "v2" && v.RecordsIn != int64(len(rows)) {
					t.Fatalf("vertex v2 records in %d, want %d", v.RecordsIn, len(rows))
				}
			}
		})
	}
}

// sourceWatermarks is the reference for a source subtask's watermarks: after
// each batch it served, max(ts so far) - delay - 1 when that rose.
func sourceWatermarks(batches [][]row, delay int64) []int64 {
	var out []int64
	maxTs, seen := int64(0), false
	last := stream.MinWatermark
	for _, b := range batches {
		for _, r := range b {
			if !seen || r.ts > maxTs {
				maxTs, seen = r.ts, true
			}
		}
		if seen && maxTs-delay-1 > last {
			last = maxTs - delay - 1
			out = append(out, last)
		}
	}
	return out
}

// TestWatermarksFromParallelSources runs sources whose subtasks progress
// through event time at very different speeds into a watermark-recording
// operator, and checks it sees only watermarks the sources emitted,
// strictly rising, never a row at or below its watermark (which taking
// anything but the minimum would cause), and MaxWatermark at the end.
func TestWatermarksFromParallelSources(t *testing.T) {
	for seed := uint64(0); seed < 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 5))
			srcP, opP := 1+r.IntN(4), 1+r.IntN(3)
			const delay = 50
			shares := make([][]row, srcP)
			for s := range shares {
				// Subtask s advances up to 10^s ms per row, so the fast ones
				// run far ahead of the slow ones in event time.
				step := int64(1)
				for range s {
					step *= 10
				}
				shares[s] = genRows(r, 100+r.IntN(800), 20, step, delay)
			}
			f := newFakes(t)
			f.addDataset("t", &dataset{shares: shares, maxBatch: 1 + r.IntN(100)})
			g := &jobgraph.Graph{Name: "wm", Vertices: []*jobgraph.Vertex{
				{ID: "v1", Parallelism: srcP, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: 2, DelayMs: delay})}},
				{ID: "v2", Parallelism: opP, Ops: []*jobgraph.OperatorSpec{calcOp("wm", "wm", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
			}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: []jobgraph.ExchangeKind{jobgraph.Hash, jobgraph.Rebalance, jobgraph.Broadcast}[r.IntN(3)], Keys: []int{0}}}}
			opts := f.options(mem)
			opts.ChannelCapacity = 1 + r.IntN(3)
			if _, err := Run(context.Background(), g, opts); err != nil {
				t.Fatal(err)
			}
			emitted := map[int64]bool{}
			var finals []int64
			for s, bs := range f.src.sets["t"].batches {
				ws := sourceWatermarks(bs, delay)
				for _, w := range ws {
					emitted[w] = true
				}
				if len(ws) == 0 {
					t.Fatalf("source subtask %d emitted no watermark", s)
				}
				finals = append(finals, ws[len(ws)-1])
			}
			if len(f.wms.late) > 0 {
				t.Fatalf("%d rows arrived at or below the watermark, e.g. %s", len(f.wms.late), f.wms.late[0])
			}
			for st := 0; st < opP; st++ {
				wms := f.wms.wms[st]
				if len(wms) == 0 || wms[len(wms)-1] != stream.MaxWatermark {
					t.Fatalf("subtask %d watermarks %v do not end with MaxWatermark", st, wms)
				}
				finite := 0
				for i, w := range wms {
					if i > 0 && w <= wms[i-1] {
						t.Fatalf("subtask %d watermarks not rising: %v", st, wms)
					}
					if w != stream.MaxWatermark {
						finite++
						if !emitted[w] {
							t.Fatalf("subtask %d saw watermark %d, which no source subtask emitted", st, w)
						}
					}
				}
				if finite == 0 {
					t.Fatalf("subtask %d saw only MaxWatermark", st)
				}
			}
		})
	}
}

// TestIdleSource checks that a source subtask with nothing to read goes
// idle after the idle timeout, so the other subtask's watermark alone moves
// the operator, and that the job still ends cleanly when the idle subtask
// resumes with data and finishes.
func TestIdleSource(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 1))
	const delay = 10
	slow := genRows(r, 20, 5, 1, 0)    // event times around the base
	fast := genRows(r, 500, 5, 100, 0) // runs ~50 s ahead
	f := newFakes(t)
	release := make(chan struct{})
	f.wms.reached = make(chan struct{})
	maxFast := int64(0)
	for _, rw := range fast {
		maxFast = max(maxFast, rw.ts)
	}
	f.wms.target = maxFast - delay - 1
	f.addDataset("t", &dataset{
		shares:   [][]row{slow, fast},
		maxBatch: 50,
		hold: func(int) bool {
			select {
			case <-release:
				return true
			default:
				return false
			}
		},
		extra: func(s int) []row {
			if s == 0 {
				return []row{{key: 1, ts: maxFast + 1000, id: 9999}}
			}
			return nil
		},
	})
	g := &jobgraph.Graph{Name: "idle", Config: map[string]string{IdleTimeoutKey: "20ms"}, Vertices: []*jobgraph.Vertex{
		{ID: "v1", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: 2, DelayMs: delay})}},
		{ID: "v2", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{calcOp("wm", "wm", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
	}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Rebalance}}}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), g, f.options(mem))
		done <- err
	}()
	select {
	case <-f.wms.reached:
	case err := <-done:
		t.Fatalf("job ended before the watermark passed the idle subtask: %v", err)
	case <-time.After(20 * time.Second):
		close(release)
		<-done
		t.Fatal("the watermark never passed the idle subtask's")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wms := f.wms.wms[0]
	if wms[len(wms)-1] != stream.MaxWatermark {
		t.Fatalf("watermarks %v do not end with MaxWatermark", wms)
	}
	if f.wms.rows != len(slow)+len(fast)+1 {
		t.Fatalf("operator saw %d rows, want %d", f.wms.rows, len(slow)+len(fast)+1)
	}
}

// TestBackpressure runs a fast source into a slow sink and measures the
// batches in flight (served by the source, not yet written) each time the
// source is asked for more: bounded channels keep it within the channel
// capacity plus the batches in hand.
func TestBackpressure(t *testing.T) {
	for _, capacity := range []int{1, 3} {
		t.Run(fmt.Sprint("capacity", capacity), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(3, 3))
			rows := genRows(r, 150, 10, 5, 0)
			f := newFakes(t)
			// A slow sink; its first write waits long enough for the source
			// to fill every buffer it may.
			f.sink.delay, f.sink.firstDelay = time.Millisecond, 50*time.Millisecond
			var mu sync.Mutex
			maxInFlight := int64(0)
			d := &dataset{shares: [][]row{rows}, maxBatch: 1}
			d.hook = func(ctx context.Context, subtask, batch int) error {
				mu.Lock()
				maxInFlight = max(maxInFlight, d.served.Load()-f.sink.written.Load())
				mu.Unlock()
				return nil
			}
			f.addDataset("t", d)
			g := &jobgraph.Graph{Name: "bp", Vertices: []*jobgraph.Vertex{
				{ID: "v1", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", nil), calcOp("p1", "pass", rowSchema)}},
				{ID: "v2", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{calcOp("p2", "pass", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
			}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
			opts := f.options(mem)
			opts.ChannelCapacity = capacity
			if _, err := Run(context.Background(), g, opts); err != nil {
				t.Fatal(err)
			}
			// In flight: capacity queued, one being written, one the
			// source is blocked sending.
			bound := int64(capacity + 2)
			t.Logf("capacity %d: at most %d batches in flight (bound %d) of %d", capacity, maxInFlight, bound, len(rows))
			if maxInFlight > bound {
				t.Fatalf("%d batches in flight, bound %d: the source ran ahead of the slow sink", maxInFlight, bound)
			}
			if maxInFlight < int64(capacity) {
				t.Fatalf("only %d batches in flight: the measurement never saw the channel fill", maxInFlight)
			}
			if got := len(f.sink.rows["out"]); got != len(rows) {
				t.Fatalf("sink got %d rows, want %d", got, len(rows))
			}
		})
	}
}

// failureGraph is source(p) -> hash -> pass(p) -> sink, chained.
func failureGraph(p int) *jobgraph.Graph {
	return &jobgraph.Graph{Name: "fail", Vertices: []*jobgraph.Vertex{
		{ID: "v1", Parallelism: p, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 5})}},
		{ID: "v2", Parallelism: p, Ops: []*jobgraph.OperatorSpec{calcOp("p2", "pass", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
	}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
}

// checkFailed checks a failed job: the error, and that everything was
// cleaned up (writers aborted, not closed; readers and operators closed).
func checkFailed(t *testing.T, f *fakes, err error, vertex, op string) *SubtaskError {
	t.Helper()
	var se *SubtaskError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SubtaskError", err, err)
	}
	if se.VertexID != vertex || se.OperatorID != op {
		t.Fatalf("error attributed to vertex %s operator %s, want %s %s: %v", se.VertexID, se.OperatorID, vertex, op, err)
	}
	opened, closed, aborted := f.sink.lifecycle(t)
	if closed != 0 || aborted != opened {
		t.Fatalf("writers: %d opened, %d closed, %d aborted; want all aborted", opened, closed, aborted)
	}
	for name, d := range f.src.sets {
		if d.opened.Load() != d.closed.Load() {
			t.Fatalf("dataset %s: %d readers opened, %d closed", name, d.opened.Load(), d.closed.Load())
		}
	}
	if o, c := f.life.opened.Load(), f.life.closed.Load(); o != c {
		t.Fatalf("operators: %d opened, %d closed", o, c)
	}
	return se
}

func TestOperatorError(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprint("panic=", panics), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(4, 4))
			f := newFakes(t)
			f.addDataset("t", &dataset{shares: split(genRows(r, 20000, 50, 5, 3), 3), maxBatch: 64})
			f.pass = passOp{failAt: 5, failSubtask: 1, panics: panics}
			res, err := Run(context.Background(), failureGraph(3), f.options(mem))
			if err == nil {
				t.Fatal("job succeeded")
			}
			se := checkFailed(t, f, err, "v2", "p2")
			if se.Subtask != 1 || se.Parallelism != 3 {
				t.Fatalf("error attributed to subtask %d of %d, want 1 of 3: %v", se.Subtask, se.Parallelism, err)
			}
			if panics {
				if !strings.Contains(err.Error(), "panic: assignment to entry in nil map") {
					t.Fatalf("error does not report the panic: %v", err)
				}
			} else if !errors.Is(err, errBoom) {
				t.Fatalf("error %v does not wrap the operator's error", err)
			}
			if res == nil {
				t.Fatal("no result for a failed job")
			}
			t.Log(err)
		})
	}
}

func TestSourceAndSinkErrors(t *testing.T) {
	t.Run("reader", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		r := rand.New(rand.NewPCG(5, 5))
		f := newFakes(t)
		f.addDataset("t", &dataset{shares: split(genRows(r, 5000, 50, 5, 3), 2), maxBatch: 64, hook: func(ctx context.Context, s, b int) error {
			if s == 0 && b == 7 {
				return errBoom
			}
			return nil
		}})
		_, err := Run(context.Background(), failureGraph(2), f.options(mem))
		if !errors.Is(err, errBoom) {
			t.Fatalf("got %v, want boom", err)
		}
		if se := checkFailed(t, f, err, "v1", "src"); se.Subtask != 0 {
			t.Fatalf("error attributed to subtask %d", se.Subtask)
		}
	})
	t.Run("writer", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		r := rand.New(rand.NewPCG(6, 6))
		f := newFakes(t)
		f.addDataset("t", &dataset{shares: split(genRows(r, 5000, 50, 5, 3), 2), maxBatch: 64})
		f.sink.failWrite = 10
		_, err := Run(context.Background(), failureGraph(2), f.options(mem))
		if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "write") {
			t.Fatalf("got %v, want a write error wrapping boom", err)
		}
		checkFailed(t, f, err, "v2", "sink")
	})
	t.Run("bad batch", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		r := rand.New(rand.NewPCG(6, 6))
		f := newFakes(t)
		f.addDataset("t", &dataset{shares: split(genRows(r, 100, 5, 5, 3), 1), maxBatch: 64})
		g := failureGraph(1)
		// The table declares ts as BIGINT but the reader returns a timestamp.
		bad := g.Vertices[0].Ops[0].Source
		bad.Schema = rowSchema
		bad.Schema.Fields = append([]types.Field(nil), rowSchema.Fields...)
		bad.Schema.Fields[2].Type = bad.Schema.Fields[0].Type
		bad.Watermark = nil
		_, err := Run(context.Background(), g, f.options(mem))
		if err == nil || !strings.Contains(err.Error(), "column 2 (ts)") {
			t.Fatalf("got %v, want an error naming column 2 (ts)", err)
		}
		checkFailed(t, f, err, "v1", "src")
	})
}

// TestCancel cancels an unbounded job and checks it ends with the context's
// error and nothing leaks.
func TestCancel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 7))
	f := newFakes(t)
	ctx, cancel := context.WithCancel(context.Background())
	d := &dataset{shares: split(genRows(r, 3000, 50, 5, 3), 2), maxBatch: 64, hold: func(int) bool { return false }}
	d.hook = func(ctx context.Context, s, b int) error {
		if d.served.Load() == 20 {
			cancel()
		}
		return nil
	}
	f.addDataset("t", d)
	f.sink.delay = 100 * time.Microsecond
	_, err := Run(ctx, failureGraph(2), f.options(mem))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("got %v, want the job cancelled", err)
	}
	opened, closed, aborted := f.sink.lifecycle(t)
	if closed != 0 || aborted != opened {
		t.Fatalf("writers: %d opened, %d closed, %d aborted", opened, closed, aborted)
	}
}

func TestMetricsAndLog(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(8, 8))
	rows := genRows(r, 1000, 7, 5, 3)
	f := newFakes(t)
	f.addDataset("t", &dataset{shares: split(rows, 2), maxBatch: 100})
	g := &jobgraph.Graph{Name: "metrics", Vertices: []*jobgraph.Vertex{
		{ID: "v1", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", nil)}},
		{ID: "v2", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{calcOp("count", "count", countSchema), sinkOpSpec("sink", "out", countSchema)}},
	}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
	reg := prometheus.NewRegistry()
	var logBuf bytes.Buffer
	opts := f.options(mem)
	opts.Registerer = reg
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	res, err := Run(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Run twice on one registry: the second job reuses the families.
	f.sink.rows = map[string][]string{}
	if _, err := Run(context.Background(), g, opts); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["job"] != "metrics" {
				t.Fatalf("metric %s has job label %q", fam.GetName(), labels["job"])
			}
			sums[fam.GetName()+"/"+labels["operator"]] += m.GetCounter().GetValue()
		}
	}
	n := float64(len(rows))
	for key, want := range map[string]float64{
		"eddy_records_out_total/src":  2 * n,
		"eddy_records_in_total/count": 2 * n,
		"eddy_records_in_total/sink":  2 * float64(res.RecordsOut),
	} {
		if sums[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, sums[key], want, sums)
		}
	}
	nulls := 0
	for _, rw := range rows {
		if rw.keyNull {
			nulls++
		}
	}
	if sums["eddy_late_records_dropped_total/count"] != 2*float64(res.LateRecordsDropped) || res.LateRecordsDropped != int64(nulls) || nulls == 0 {
		t.Errorf("late records: metric %v, result %d", sums["eddy_late_records_dropped_total/count"], res.LateRecordsDropped)
	}
	log := logBuf.String()
	want := fmt.Sprintf("records_in=%d records_out=%d late_records_dropped=%d", res.RecordsIn, res.RecordsOut, res.LateRecordsDropped)
	if !strings.Contains(log, "job finished") || !strings.Contains(log, want) {
		t.Fatalf("log lacks the totals %q:\n%s", want, log)
	}
}

func TestValidation(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	base := func() *jobgraph.Graph { return failureGraph(2) }
	cases := []struct {
		name   string
		mutate func(g *jobgraph.Graph, o *Options)
		want   string
	}{
		{"nil graph", nil, "no job graph"},
		{"structural", func(g *jobgraph.Graph, o *Options) { g.Vertices[1].Parallelism = 0 }, "parallelism 0 < 1"},
		{"unknown connector", func(g *jobgraph.Graph, o *Options) { g.Vertices[0].Ops[0].Source.Connector = "kafka" }, `unknown connector "kafka"`},
		{"source as sink", func(g *jobgraph.Graph, o *Options) { g.Vertices[1].Ops[1].Sink.Connector = "gen" }, "cannot be written"},
		{"sink as source", func(g *jobgraph.Graph, o *Options) { g.Vertices[0].Ops[0].Source.Connector = "collect" }, "cannot be read"},
		{"missing factory", func(g *jobgraph.Graph, o *Options) { o.Operators = nil }, `no operator factory for kind "calc"`},
		{"factory error", func(g *jobgraph.Graph, o *Options) { g.Vertices[1].Ops[0].Name = "nope" }, `no fake operator "nope"`},
		{"hash key range", func(g *jobgraph.Graph, o *Options) { g.Edges[0].Keys = []int{9} }, "hash key column 9 is outside"},
		{"single into parallel", func(g *jobgraph.Graph, o *Options) { g.Edges[0].Exchange = jobgraph.Single }, "single exchange into parallelism 2"},
		{"parallelism over max", func(g *jobgraph.Graph, o *Options) { g.MaxParallelism = 1 }, "parallelism 2 is outside"},
		{"dead end", func(g *jobgraph.Graph, o *Options) { g.Vertices[1].Ops = g.Vertices[1].Ops[:1] }, "output goes nowhere"},
		{"no source", func(g *jobgraph.Graph, o *Options) { g.Vertices[0].Ops[0] = calcOp("x", "pass", rowSchema) }, "not a source"},
		{"watermark column", func(g *jobgraph.Graph, o *Options) { g.Vertices[0].Ops[0].Source.Watermark.Column = 1 }, "watermark column val is BIGINT"},
		{"idle timeout", func(g *jobgraph.Graph, o *Options) { o.Config = map[string]string{IdleTimeoutKey: "soon"} }, "'table.exec.source.idle-timeout': 'soon'"},
		{"unknown dataset", func(g *jobgraph.Graph, o *Options) { g.Vertices[0].Ops[0].Source.Options["dataset"] = "zzz" }, `no dataset "zzz"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes(t)
			f.addDataset("t", &dataset{shares: make([][]row, 2), maxBatch: 1})
			opts := f.options(mem)
			var g *jobgraph.Graph
			if c.mutate != nil {
				g = base()
				c.mutate(g, &opts)
			}
			_, err := Run(context.Background(), g, opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if d := f.src.sets["t"]; d.opened.Load() != 0 {
				t.Fatal("a reader was opened for an invalid graph")
			}
		})
	}
}

package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// traceLog records, per subtask and in order, what a traceOp saw: "b N
// MAX" for a batch of N rows whose largest time is MAX (or "-"), "w W" for
// a watermark.
type traceLog struct {
	mu     sync.Mutex
	events map[int][]string
}

// traceOp passes rows through and records batches and watermarks.
type traceOp struct {
	oc  *operator.Context
	log *traceLog
}

func (o *traceOp) Open(ctx context.Context, oc *operator.Context) error { o.oc = oc; return nil }

func (o *traceOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	ts := b.Record.Column(2).(*array.Timestamp)
	maxTs := "-"
	for i := 0; i < ts.Len(); i++ {
		if ts.IsValid(i) {
			if m, err := strconv.ParseInt(maxTs, 10, 64); err != nil || int64(ts.Value(i)) > m {
				maxTs = strconv.FormatInt(int64(ts.Value(i)), 10)
			}
		}
	}
	o.record(fmt.Sprintf("b %d %s", ts.Len(), maxTs))
	b.Record.Retain()
	return out.Emit(ctx, b)
}

func (o *traceOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	o.record(fmt.Sprintf("w %d", wm))
	return nil
}

func (o *traceOp) record(ev string) {
	o.log.mu.Lock()
	o.log.events[o.oc.Subtask] = append(o.log.events[o.oc.Subtask], ev)
	o.log.mu.Unlock()
}

func (o *traceOp) Close(ctx context.Context) error { return nil }

// assignerTrace is what a watermark assigner with delay does to the events
// an operator just before it saw: batches pass, each followed by the
// watermark max(time) - delay - 1 when that rises; watermarks from
// upstream stop, except the final one.
func assignerTrace(pre []string, delay int64) []string {
	var out []string
	maxTs, seen, last := int64(0), false, int64(stream.MinWatermark)
	for _, ev := range pre {
		f := strings.Fields(ev)
		switch f[0] {
		case "b":
			out = append(out, ev)
			if f[2] != "-" {
				m, _ := strconv.ParseInt(f[2], 10, 64)
				if !seen || m > maxTs {
					maxTs, seen = m, true
				}
			}
			if seen && maxTs-delay-1 > last {
				last = maxTs - delay - 1
				out = append(out, fmt.Sprintf("w %d", last))
			}
		case "w":
			if f[1] == strconv.FormatInt(stream.MaxWatermark, 10) {
				out = append(out, ev)
			}
		}
	}
	return out
}

// assignerSchema is rowSchema with ts a TIMESTAMP_LTZ, as a computed
// TO_TIMESTAMP_LTZ(ms, 3) column is.
var assignerSchema = func() types.Schema {
	s := types.Schema{Fields: slices.Clone(rowSchema.Fields)}
	s.Fields[2].Type.LocalZone = true
	return s
}()

func assignerOpSpec(id string, col int, delay int64) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{ID: id, Name: "WatermarkAssigner", Output: assignerSchema,
		WatermarkAssigner: &jobgraph.WatermarkSpec{Column: col, DelayMs: delay}}
}

// TestWatermarkAssigner puts a watermark assigner in a source's chain (the
// source with or without watermarks of its own) and at the head of a
// vertex fed through an exchange, with tracing operators before and after
// it: after it, every subtask must see exactly the batches it saw before
// it, each followed by the watermark the assigner's bounded delay gives
// when that rises, upstream watermarks gone but the final one.
func TestWatermarkAssigner(t *testing.T) {
	for seed := uint64(0); seed < 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 17))
			srcP, p := 1+r.IntN(3), 1+r.IntN(3)
			delay := r.Int64N(100)
			var srcWM *jobgraph.WatermarkSpec
			if r.IntN(2) == 0 {
				srcWM = &jobgraph.WatermarkSpec{Column: 2, DelayMs: r.Int64N(20)}
			}
			shares := make([][]row, srcP)
			for i := range shares {
				shares[i] = genRows(r, 200+r.IntN(500), 20, 10, 50)
			}
			f := newFakes(t)
			f.addDataset("t", &dataset{shares: shares, maxBatch: 1 + r.IntN(60)})
			trace := func(id, name string) *jobgraph.OperatorSpec { return calcOp(id, "trace:"+name, rowSchema) }
			var g *jobgraph.Graph
			chained := seed%2 == 0
			if chained {
				g = &jobgraph.Graph{Name: "assign", Vertices: []*jobgraph.Vertex{
					{ID: "v1", Parallelism: srcP, Ops: []*jobgraph.OperatorSpec{
						sourceOp("src", "t", srcWM), trace("pre", "pre"), assignerOpSpec("wa", 2, delay), trace("post", "post"), sinkOpSpec("sink", "out", rowSchema)}},
				}}
			} else {
				g = &jobgraph.Graph{Name: "assign", Vertices: []*jobgraph.Vertex{
					{ID: "v1", Parallelism: srcP, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", srcWM)}},
					{ID: "v2", Parallelism: p, Ops: []*jobgraph.OperatorSpec{
						trace("pre", "pre"), assignerOpSpec("wa", 2, delay), trace("post", "post"), calcOp("wm", "wm", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
				}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: []jobgraph.ExchangeKind{jobgraph.Hash, jobgraph.Rebalance}[r.IntN(2)], Keys: []int{0}}}}
			}
			res, err := Run(context.Background(), g, f.options(mem))
			if err != nil {
				t.Fatal(err)
			}
			pre, post := f.trace("pre"), f.trace("post")
			if len(pre.events) == 0 {
				t.Fatal("no subtask traced anything")
			}
			total := 0
			for st, evs := range pre.events {
				want := assignerTrace(evs, delay)
				if got := post.events[st]; !slices.Equal(got, want) {
					t.Fatalf("subtask %d after the assigner saw\n  %v\nwant\n  %v\n(before it: %v)", st, got, want, evs)
				}
				if want[len(want)-1] != fmt.Sprintf("w %d", stream.MaxWatermark) {
					t.Fatalf("subtask %d: no final watermark after the assigner: %v", st, want)
				}
				for _, ev := range evs {
					if n, err := strconv.Atoi(strings.Fields(ev)[1]); err == nil && ev[0] == 'b' {
						total += n
					}
				}
			}
			rows := 0
			for _, s := range shares {
				rows += len(s)
			}
			if total != rows || res.RecordsOut != int64(rows) {
				t.Fatalf("%d rows passed the assigner and %d reached the sink, want %d", total, res.RecordsOut, rows)
			}
			for _, o := range res.Operators {
				if o.OperatorID == "wa" && (o.Kind != "watermark_assigner" || o.RecordsIn != int64(rows) || o.RecordsOut != int64(rows)) {
					t.Fatalf("assigner result %+v, want %d rows in and out", o, rows)
				}
			}
			if !chained {
				// Downstream of the assigner, its watermarks order the rows
				// of each subtask as they do everywhere.
				for st, wms := range f.wms.wms {
					if len(wms) == 0 || wms[len(wms)-1] != stream.MaxWatermark {
						t.Fatalf("subtask %d: watermarks %v after the assigner", st, wms)
					}
				}
			}
		})
	}
}

// TestWatermarkAssignerValidation checks Run's errors on bad assigners.
func TestWatermarkAssignerValidation(t *testing.T) {
	f := newFakes(t)
	f.addDataset("t", &dataset{shares: [][]row{nil}, maxBatch: 1})
	for _, tc := range []struct {
		col   int
		delay int64
		want  string
	}{
		{col: 4, want: "vertex v1, watermark assigner wa: watermark column 4 is outside its 4 columns"},
		{col: -1, want: "watermark column -1 is outside its 4 columns"},
		{col: 1, want: "watermark column val is BIGINT, not TIMESTAMP(3) or TIMESTAMP_LTZ(3)"},
		{col: 2, delay: -1, want: "watermark delay -1 ms is negative"},
	} {
		g := &jobgraph.Graph{Name: "bad", Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{
			sourceOp("src", "t", nil), assignerOpSpec("wa", tc.col, tc.delay), sinkOpSpec("sink", "out", rowSchema)}}}}
		if _, err := Run(context.Background(), g, f.options(memory.DefaultAllocator)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("column %d delay %d: Run = %v, want %q", tc.col, tc.delay, err, tc.want)
		}
	}
}

// procLog records what procOps saw.
type procLog struct {
	mu    sync.Mutex
	calls []int64 // every OnProcessingTime's time, all subtasks
	rows  atomic.Int64
	bad   []string
}

func (l *procLog) snapshot() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// procOp passes rows through and, on every OnProcessingTime, emits one row
// whose id is the time it was given. It checks it is never called while
// it processes a batch.
type procOp struct {
	oc     *operator.Context
	log    *procLog
	inCall bool
}

func (p *procOp) Open(ctx context.Context, oc *operator.Context) error { p.oc = oc; return nil }

func (p *procOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if p.inCall {
		p.fail("ProcessBatch during another call")
	}
	p.inCall = true
	defer func() { p.inCall = false }()
	p.log.rows.Add(int64(b.NumRows()))
	b.Record.Retain()
	return out.Emit(ctx, b)
}

func (p *procOp) OnProcessingTime(ctx context.Context, nowMs int64, out operator.Collector) error {
	if p.inCall {
		p.fail("OnProcessingTime during another call")
	}
	p.inCall = true
	defer func() { p.inCall = false }()
	p.log.mu.Lock()
	p.log.calls = append(p.log.calls, nowMs)
	p.log.mu.Unlock()
	rec := buildRecord(p.oc.Alloc, []row{{key: -1, ts: nowMs, id: nowMs}})
	return out.Emit(ctx, stream.Batch{Record: rec})
}

func (p *procOp) fail(msg string) {
	p.log.mu.Lock()
	p.log.bad = append(p.log.bad, msg)
	p.log.mu.Unlock()
}

func (p *procOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

func (p *procOp) Close(ctx context.Context) error { return nil }

var _ operator.ProcessingTimeHandler = (*procOp)(nil)

// TestProcessingTime runs a processing-time handler in a source's chain
// and behind an exchange, fed by a source that serves some rows and then
// has nothing for a while: the handler must be called with the injected
// clock while no input arrives, about every ProcessingTimeInterval (not in
// a busy loop), never during ProcessBatch, and what it emits must reach the
// sink.
func TestProcessingTime(t *testing.T) {
	for _, chained := range []bool{true, false} {
		t.Run(fmt.Sprint("chained=", chained), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(3, 3))
			rows := genRows(r, 300, 10, 5, 5)
			f := newFakes(t)
			release := make(chan struct{})
			f.addDataset("t", &dataset{shares: [][]row{rows}, maxBatch: 40, hold: func(int) bool {
				select {
				case <-release:
					return true
				default:
					return false
				}
			}})
			proc := calcOp("proc", "proc", rowSchema)
			var g *jobgraph.Graph
			if chained {
				g = &jobgraph.Graph{Name: "proc", Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{
					sourceOp("src", "t", nil), proc, sinkOpSpec("sink", "out", rowSchema)}}}}
			} else {
				g = &jobgraph.Graph{Name: "proc", Vertices: []*jobgraph.Vertex{
					{ID: "v1", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", nil)}},
					{ID: "v2", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{proc, sinkOpSpec("sink", "out", rowSchema)}},
				}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Rebalance}}}
			}
			var clock atomic.Int64
			clock.Store(1_000)
			opts := f.options(mem)
			opts.Now = clock.Load
			done := make(chan error, 1)
			go func() {
				_, err := Run(context.Background(), g, opts)
				done <- err
			}()
			// The handler sees each new clock value while the source has
			// nothing to read.
			waitFor := func(want int64) {
				deadline := time.Now().Add(10 * time.Second)
				for !slices.Contains(f.proc.snapshot(), want) {
					if time.Now().After(deadline) {
						close(release)
						<-done
						t.Fatalf("the handler never saw time %d: %v", want, f.proc.snapshot())
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			waitFor(1_000)
			for f.proc.rows.Load() < int64(len(rows)) {
				time.Sleep(5 * time.Millisecond)
			}
			clock.Store(5_000)
			waitFor(5_000)
			clock.Store(9_000)
			waitFor(9_000)
			n0, cpu0 := len(f.proc.snapshot()), cpuTime()
			const wait = time.Second
			time.Sleep(wait)
			calls := len(f.proc.snapshot()) - n0
			// Waiting subtasks sleep on timers: they do not spin.
			if cpu := cpuTime() - cpu0; cpu > wait/4 {
				t.Errorf("the idle job used %v of CPU in %v", cpu, wait)
			}
			subtasks := 1
			if !chained {
				subtasks = 2
			}
			// About one call per interval and subtask; the lower bound is
			// loose because a loaded machine may starve the subtasks.
			if per := int(wait/operator.ProcessingTimeInterval) * subtasks; calls < 2 || calls > 3*per {
				t.Errorf("%d calls in %v over %d subtasks, want about %d (one per %v each)", calls, wait, subtasks, per, operator.ProcessingTimeInterval)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if len(f.proc.bad) > 0 {
				t.Fatal(f.proc.bad)
			}
			// Every emitted row reached the sink.
			calls = len(f.proc.snapshot())
			emitted := 0
			for _, rw := range f.sink.rows["out"] {
				if strings.Split(rw, "|")[2] == "-1" {
					emitted++
				}
			}
			if emitted != calls || f.proc.rows.Load() != int64(len(rows)) {
				t.Fatalf("sink got %d handler rows for %d calls; the handler saw %d input rows of %d", emitted, calls, f.proc.rows.Load(), len(rows))
			}
		})
	}
}

// projGen is the "gen" connector able to read a subset of the columns.
type projGen struct{ *fakeSource }

func (p projGen) Name() string                              { return "pgen" }
func (p projGen) CanProject(info connectors.TableInfo) bool { return true }
func (p projGen) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	src, err := p.fakeSource.NewSource(info)
	if err != nil {
		return nil, err
	}
	var cols []int
	for _, f := range info.Schema.Fields {
		cols = append(cols, rowSchema.Index(f.Name))
	}
	return projSource{src.(*dataset), cols}, nil
}

type projSource struct {
	d    *dataset
	cols []int
}

func (s projSource) Bounded() bool { return true }
func (s projSource) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	rd, err := s.d.Reader(ctx, rc)
	return projReader{rd, s.cols}, err
}

type projReader struct {
	connectors.Reader
	cols []int
}

func (r projReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	rec, err := r.Reader.Next(ctx)
	if rec == nil || err != nil {
		return rec, err
	}
	defer rec.Release()
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, c := range r.cols {
		fields = append(fields, rec.Schema().Field(c))
		arrs = append(arrs, rec.Column(c))
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows()), nil
}

// TestProjectedSource reads two of the table's four columns through a
// ProjectableSource, with the watermark on a projected column, and checks
// the validation of projections.
func TestProjectedSource(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(8, 8))
	rows := genRows(r, 500, 10, 5, 20)
	f := newFakes(t)
	f.addDataset("t", &dataset{shares: [][]row{rows}, maxBatch: 50})
	if err := f.reg.Register(projGen{f.src}); err != nil {
		t.Fatal(err)
	}
	projected := types.Schema{Fields: []types.Field{rowSchema.Fields[1], rowSchema.Fields[2]}}
	src := func(proj []int, wmCol int, conn string) *jobgraph.OperatorSpec {
		s := sourceOp("src", "t", &jobgraph.WatermarkSpec{Column: wmCol, DelayMs: 20})
		s.Source.Connector, s.Source.Projection, s.Output = conn, proj, projected
		return s
	}
	graph := func(s *jobgraph.OperatorSpec) *jobgraph.Graph {
		return &jobgraph.Graph{Name: "proj", Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{
			s, sinkOpSpec("sink", "out", projected)}}}}
	}
	res, err := Run(context.Background(), graph(src([]int{1, 2}, 1, "pgen")), f.options(mem))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(rows))
	for i, rw := range rows {
		want[i] = fmt.Sprintf("0|+I|%d|%s", rw.val, arrow.Timestamp(rw.ts).ToTime(arrow.Millisecond).Format(time.RFC3339Nano))
	}
	got := f.sink.rows["out"]
	slices.Sort(got)
	slices.Sort(want)
	if res.RecordsOut != int64(len(rows)) || !slices.Equal(got, want) {
		for i := range got {
			if i < len(want) && got[i] != want[i] {
				t.Fatalf("sink got %d rows, want %d: row %d is %q, want %q", len(got), len(want), i, got[i], want[i])
			}
		}
		t.Fatalf("sink got %d rows, want %d", len(got), len(want))
	}
	for _, tc := range []struct {
		spec *jobgraph.OperatorSpec
		want string
	}{
		{src([]int{1, 2}, 1, "gen"), `connector "gen" cannot read a subset of the table's columns`},
		{src([]int{2, 1}, 1, "pgen"), "projection [2 1] is not in table order"},
		{src([]int{1, 4}, 1, "pgen"), "projection column 4 is outside the table's 4 columns"},
		{src([]int{1, 2}, 2, "pgen"), "watermark column 2 is outside the 2 columns read"},
		{src([]int{1, 2}, 0, "pgen"), "watermark column val is BIGINT, not TIMESTAMP(3)"},
		{src([]int{1, 2, 3}, 1, "pgen"), "output has 2 columns but the source reads 3"},
	} {
		if _, err := Run(context.Background(), graph(tc.spec), f.options(mem)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run = %v, want %q", err, tc.want)
		}
	}
}

package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

var errBoom = errors.New("boom")

// row is one row of the test table (key BIGINT, val BIGINT, ts TIMESTAMP(3), id BIGINT).
type row struct {
	key     int64
	keyNull bool
	val     int64
	ts      int64
	id      int64
}

var rowSchema = types.Schema{Fields: []types.Field{
	{Name: "key", Type: types.BigIntType},
	{Name: "val", Type: types.BigIntType},
	{Name: "ts", Type: types.TimestampType},
	{Name: "id", Type: types.BigIntType},
}}

// genRows makes n rows with keys in [0, keys) (some NULL) whose event
// times advance by up to step ms per row and are out of order by at most
// disorder ms.
func genRows(r *rand.Rand, n, keys int, step, disorder int64) []row {
	rows := make([]row, n)
	t := int64(1_700_000_000_000)
	for i := range rows {
		t += r.Int64N(step + 1)
		rows[i] = row{key: r.Int64N(int64(keys)), keyNull: r.IntN(30) == 0, val: r.Int64N(100), ts: t - r.Int64N(disorder+1), id: int64(i)}
	}
	return rows
}

// buildRecord turns rows into an Arrow record of rowSchema.
func buildRecord(mem memory.Allocator, rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, rowSchema.Arrow())
	defer b.Release()
	keys := b.Field(0).(*array.Int64Builder)
	vals := b.Field(1).(*array.Int64Builder)
	tss := b.Field(2).(*array.TimestampBuilder)
	ids := b.Field(3).(*array.Int64Builder)
	for _, r := range rows {
		if r.keyNull {
			keys.AppendNull()
		} else {
			keys.Append(r.key)
		}
		vals.Append(r.val)
		tss.Append(arrow.Timestamp(r.ts))
		ids.Append(r.id)
	}
	return b.NewRecordBatch()
}

// dataset is what the fake source serves for one table.
type dataset struct {
	// shares[s] are the rows of subtask s (len(shares) must equal the
	// source's parallelism).
	shares [][]row
	// maxBatch bounds the random batch sizes.
	maxBatch int
	// nilEvery, when > 0, makes Next return (nil, nil) once in nilEvery calls.
	nilEvery int
	// hook, when set, runs before each batch; an error fails Next.
	hook func(ctx context.Context, subtask, batch int) error
	// hold, when set, is called once a share is exhausted instead of
	// returning io.EOF at once: the reader returns (nil, nil) until it
	// returns true (unbounded sources).
	hold func(subtask int) bool
	// extra, when set, returns rows to serve after hold released the reader.
	extra func(subtask int) []row

	mu      sync.Mutex
	batches [][][]row // per subtask, the batches served, in order
	opened  atomic.Int32
	closed  atomic.Int32
	served  atomic.Int64 // batches served
}

// fakeSource is the "gen" connector.
type fakeSource struct {
	mu   sync.Mutex
	sets map[string]*dataset
}

func (f *fakeSource) Name() string { return "gen" }
func (f *fakeSource) Options() []connectors.OptionSpec {
	return []connectors.OptionSpec{{Key: "dataset", Type: connectors.OptString, Required: true}}
}

func (f *fakeSource) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.sets[info.Options["dataset"]]
	if !ok {
		return nil, fmt.Errorf("no dataset %q", info.Options["dataset"])
	}
	return d, nil
}

func (d *dataset) Bounded() bool { return d.hold == nil }

func (d *dataset) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	if rc.Parallelism != len(d.shares) {
		return nil, fmt.Errorf("dataset has %d shares, source runs at parallelism %d", len(d.shares), rc.Parallelism)
	}
	if rc.BatchSize < 1 || rc.Alloc == nil || rc.Logger == nil || rc.Metrics == nil {
		return nil, fmt.Errorf("incomplete reader context %+v", rc)
	}
	d.opened.Add(1)
	return &fakeReader{d: d, rc: rc, rows: d.shares[rc.Subtask], r: rand.New(rand.NewPCG(uint64(rc.Subtask), 99))}, nil
}

type fakeReader struct {
	d      *dataset
	rc     connectors.ReaderContext
	rows   []row
	pos    int
	batch  int
	r      *rand.Rand
	closed bool
	extra  bool
}

func (fr *fakeReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	d := fr.d
	if d.nilEvery > 0 && fr.r.IntN(d.nilEvery) == 0 {
		return nil, nil
	}
	if fr.pos >= len(fr.rows) {
		if d.hold != nil && !fr.extra {
			if !d.hold(fr.rc.Subtask) {
				return nil, ctx.Err()
			}
			fr.extra = true
			if d.extra != nil {
				fr.rows = append(fr.rows[:len(fr.rows):len(fr.rows)], d.extra(fr.rc.Subtask)...)
				return fr.Next(ctx)
			}
		}
		return nil, io.EOF
	}
	if d.hook != nil {
		if err := d.hook(ctx, fr.rc.Subtask, fr.batch); err != nil {
			return nil, err
		}
	}
	n := 1 + fr.r.IntN(min(d.maxBatch, fr.rc.BatchSize))
	hi := min(fr.pos+n, len(fr.rows))
	part := fr.rows[fr.pos:hi]
	fr.pos = hi
	fr.batch++
	d.mu.Lock()
	d.batches[fr.rc.Subtask] = append(d.batches[fr.rc.Subtask], part)
	d.mu.Unlock()
	d.served.Add(1)
	return buildRecord(fr.rc.Alloc, part), nil
}

func (fr *fakeReader) Close() error {
	if fr.closed {
		return fmt.Errorf("reader closed twice")
	}
	fr.closed = true
	fr.d.closed.Add(1)
	return nil
}

// writerLog is the life of one sink writer.
type writerLog struct {
	closed, aborted int
}

// fakeSink is the "collect" connector: it renders every row it is given.
type fakeSink struct {
	mu      sync.Mutex
	rows    map[string][]string // by table: "subtask|kind|v1|v2..."
	writers []*writerLog
	// delay, when set, is slept in every Write (a slow consumer), and
	// firstDelay in the first.
	delay, firstDelay time.Duration
	// written counts batches written, for backpressure tests.
	written atomic.Int64
	// failWrite fails the Nth write of any writer.
	failWrite int64
}

func newFakeSink() *fakeSink { return &fakeSink{rows: map[string][]string{}} }

func (f *fakeSink) Name() string                     { return "collect" }
func (f *fakeSink) Options() []connectors.OptionSpec { return nil }
func (f *fakeSink) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return &fakeTable{f: f, name: info.Name}, nil
}

type fakeTable struct {
	f    *fakeSink
	name string
}

func (t *fakeTable) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	l := &writerLog{}
	t.f.mu.Lock()
	t.f.writers = append(t.f.writers, l)
	t.f.mu.Unlock()
	return &fakeWriter{t: t, log: l, subtask: rc.Subtask}, nil
}

type fakeWriter struct {
	t       *fakeTable
	log     *writerLog
	subtask int
}

func (w *fakeWriter) Write(ctx context.Context, b stream.Batch) error {
	f := w.t.f
	if f.firstDelay > 0 && f.written.Load() == 0 {
		time.Sleep(f.firstDelay)
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	n := f.written.Add(1)
	if f.failWrite > 0 && n == f.failWrite {
		return errBoom
	}
	rows := make([]string, b.NumRows())
	for i := range rows {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%d|%s", w.subtask, b.Kind(i))
		for c := 0; c < int(b.Record.NumCols()); c++ {
			sb.WriteString("|")
			sb.WriteString(b.Record.Column(c).ValueStr(i))
		}
		rows[i] = sb.String()
	}
	f.mu.Lock()
	f.rows[w.t.name] = append(f.rows[w.t.name], rows...)
	f.mu.Unlock()
	return nil
}

func (w *fakeWriter) Close(ctx context.Context) error {
	w.t.f.mu.Lock()
	w.log.closed++
	w.t.f.mu.Unlock()
	return nil
}

func (w *fakeWriter) Abort(ctx context.Context) error {
	w.t.f.mu.Lock()
	w.log.aborted++
	w.t.f.mu.Unlock()
	return nil
}

// lifecycle counts writers closed and aborted, and fails t if any writer
// was both or twice.
func (f *fakeSink) lifecycle(t *testing.T) (opened, closed, aborted int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range f.writers {
		if l.closed+l.aborted > 1 {
			t.Errorf("writer %d closed %d times and aborted %d times", i, l.closed, l.aborted)
		}
		closed += l.closed
		aborted += l.aborted
	}
	return len(f.writers), closed, aborted
}

// --- fake operators (registered as kind "calc"; spec.Name picks one) ---

// passOp forwards its input; when failAt > 0 it fails (or panics) on that
// batch in subtask failSubtask.
type passOp struct {
	oc          *operator.Context
	batches     int
	failAt      int
	failSubtask int
	panics      bool
	lifecycle   *opLifecycle
}

// opLifecycle counts Open and Close calls across operator instances.
type opLifecycle struct {
	opened, closed atomic.Int32
}

func (p *passOp) Open(ctx context.Context, oc *operator.Context) error {
	p.oc = oc
	if p.lifecycle != nil {
		p.lifecycle.opened.Add(1)
	}
	return nil
}

func (p *passOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	p.batches++
	if p.failAt > 0 && p.batches == p.failAt && p.oc.Subtask == p.failSubtask {
		if p.panics {
			var m map[string]int
			m["boom"]++ // nil map write: a genuine runtime panic
		}
		return fmt.Errorf("pass operator: %w", errBoom)
	}
	b.Record.Retain()
	return out.Emit(ctx, b)
}

func (p *passOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

func (p *passOp) Close(ctx context.Context) error {
	if p.lifecycle != nil {
		p.lifecycle.closed.Add(1)
	}
	return nil
}

// routing records, per row id, the subtask a keyed operator saw it in.
type routing struct {
	mu   sync.Mutex
	seen map[int64][]int
}

func (r *routing) add(id int64, subtask int) {
	r.mu.Lock()
	r.seen[id] = append(r.seen[id], subtask)
	r.mu.Unlock()
}

// countOp is a keyed count over column 0, kept in keyed state. It checks
// every row belongs to one of its key groups, and at the final watermark
// emits (key, count, subtask) for every key.
type countOp struct {
	oc     *operator.Context
	tbl    state.Table
	hashes []uint64
	key    []byte
	seen   *routing
	late   operator.Counter
}

var countSchema = types.Schema{Fields: []types.Field{
	{Name: "key", Type: types.BigIntType},
	{Name: "cnt", Type: types.BigIntType},
	{Name: "subtask", Type: types.IntType},
}}

func (c *countOp) Open(ctx context.Context, oc *operator.Context) error {
	c.oc = oc
	if oc.State == nil || oc.KeyGroups.Len() == 0 || oc.MaxParallelism < 1 || oc.Alloc == nil || oc.Metrics == nil || oc.Logger == nil {
		return fmt.Errorf("incomplete operator context %+v", oc)
	}
	var err error
	c.tbl, err = oc.State.Table("counts")
	c.late = oc.Metrics.Counter(LateRecordsDroppedName, "test")
	return err
}

// stateKey is key group, NULL flag, key.
func (c *countOp) stateKey(kg int, null bool, k int64) []byte {
	c.key = state.KeyPrefix(c.key[:0], kg)
	if null {
		return append(c.key, 0)
	}
	return state.AppendInt64(append(c.key, 1), k)
}

func (c *countOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	n := b.NumRows()
	if cap(c.hashes) < n {
		c.hashes = make([]uint64, n)
	}
	keys := b.Record.Column(0).(*array.Int64)
	ids := b.Record.Column(3).(*array.Int64)
	if err := keygroup.HashColumns([]arrow.Array{keys}, c.hashes[:n]); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		kg := keygroup.Of(c.hashes[i], c.oc.MaxParallelism)
		if !c.oc.KeyGroups.Contains(kg) {
			return fmt.Errorf("row %d has key group %d, outside this subtask's %s", ids.Value(i), kg, c.oc.KeyGroups)
		}
		sk := c.stateKey(kg, keys.IsNull(i), keys.Value(i))
		cnt := int64(0)
		if v, ok, err := c.tbl.Get(sk); err != nil {
			return err
		} else if ok {
			cnt = state.DecodeInt64(v)
		}
		if err := c.tbl.Put(sk, state.AppendInt64(nil, cnt+1)); err != nil {
			return err
		}
		if c.seen != nil {
			c.seen.add(ids.Value(i), c.oc.Subtask)
		}
	}
	// NULL keys count as "late records dropped", so Result's sum can be
	// checked (they are counted all the same).
	c.late.Add(float64(keys.NullN()))
	return nil
}

func (c *countOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm != stream.MaxWatermark {
		return nil
	}
	b := array.NewRecordBuilder(c.oc.Alloc, countSchema.Arrow())
	defer b.Release()
	err := c.tbl.Scan(state.KeyPrefix(nil, 0), nil, func(k, v []byte) error {
		if k[state.KeyGroupLen] == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(state.DecodeInt64(k[state.KeyGroupLen+1:]))
		}
		b.Field(1).(*array.Int64Builder).Append(state.DecodeInt64(v))
		b.Field(2).(*array.Int32Builder).Append(int32(c.oc.Subtask))
		return nil
	})
	if err != nil {
		return err
	}
	return out.Emit(ctx, stream.Batch{Record: b.NewRecordBatch()})
}

func (c *countOp) Close(ctx context.Context) error { return nil }

// wmLog records what a watermark-observing operator saw.
type wmLog struct {
	mu sync.Mutex
	// wms per subtask, in order.
	wms map[int][]int64
	// late rows: ts <= the operator's current watermark.
	late []string
	rows int
	// reached is closed when a subtask sees a watermark >= target.
	target  int64
	reached chan struct{}
	once    sync.Once
}

// wmOp passes rows through and records watermarks, checking that no row
// arrives at or below the current watermark (column 2 is the rowtime).
type wmOp struct {
	oc  *operator.Context
	log *wmLog
	wm  int64
}

func (w *wmOp) Open(ctx context.Context, oc *operator.Context) error {
	w.oc, w.wm = oc, stream.MinWatermark
	return nil
}

func (w *wmOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	ts := b.Record.Column(2).(*array.Timestamp)
	w.log.mu.Lock()
	for i := 0; i < ts.Len(); i++ {
		if int64(ts.Value(i)) <= w.wm {
			w.log.late = append(w.log.late, fmt.Sprintf("subtask %d: ts %d at watermark %d", w.oc.Subtask, ts.Value(i), w.wm))
		}
	}
	w.log.rows += ts.Len()
	w.log.mu.Unlock()
	b.Record.Retain()
	return out.Emit(ctx, b)
}

func (w *wmOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= w.wm {
		return fmt.Errorf("watermark went from %d to %d", w.wm, wm)
	}
	w.wm = wm
	w.log.mu.Lock()
	w.log.wms[w.oc.Subtask] = append(w.log.wms[w.oc.Subtask], wm)
	w.log.mu.Unlock()
	if w.log.reached != nil && wm >= w.log.target && wm != stream.MaxWatermark {
		w.log.once.Do(func() { close(w.log.reached) })
	}
	return nil
}

func (w *wmOp) Close(ctx context.Context) error { return nil }

// --- graph building ---

func sourceOp(id, dataset string, wm *jobgraph.WatermarkSpec) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{ID: id, Name: "Source(" + dataset + ")", Output: rowSchema, Source: &jobgraph.SourceSpec{
		TableRef:  jobgraph.TableRef{Table: dataset, Connector: "gen", Options: map[string]string{"dataset": dataset}, Schema: rowSchema},
		Watermark: wm,
	}}
}

func calcOp(id, name string, out types.Schema) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{ID: id, Name: name, Output: out, Calc: &jobgraph.CalcSpec{}}
}

func sinkOpSpec(id, table string, schema types.Schema) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{ID: id, Name: "Sink(" + table + ")", Output: schema, Sink: &jobgraph.SinkSpec{
		TableRef: jobgraph.TableRef{Table: table, Connector: "collect", Schema: schema},
	}}
}

// fakes bundles the fake connectors and operators of one test.
type fakes struct {
	mu      sync.Mutex
	src     *fakeSource
	sink    *fakeSink
	reg     *connectors.Registry
	routing *routing
	wms     *wmLog
	pass    passOp // template for "pass" operators
	life    opLifecycle
	traces  map[string]*traceLog
	proc    *procLog
}

// trace returns the trace log called name.
func (f *fakes) trace(name string) *traceLog {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.traces[name] == nil {
		f.traces[name] = &traceLog{events: map[int][]string{}}
	}
	return f.traces[name]
}

func newFakes(t *testing.T) *fakes {
	f := &fakes{
		src:     &fakeSource{sets: map[string]*dataset{}},
		sink:    newFakeSink(),
		reg:     connectors.NewRegistry(),
		routing: &routing{seen: map[int64][]int{}},
		wms:     &wmLog{wms: map[int][]int64{}},
		traces:  map[string]*traceLog{},
		proc:    &procLog{},
	}
	if err := f.reg.Register(f.src); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Register(f.sink); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakes) addDataset(name string, d *dataset) {
	d.batches = make([][][]row, len(d.shares))
	f.src.sets[name] = d
}

// factories returns the operator factories: kind "calc" builds the fake
// named by the spec.
func (f *fakes) factories() map[string]operator.Factory {
	return map[string]operator.Factory{
		"calc": func(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
			switch spec.Name {
			case "pass":
				p := f.pass
				p.lifecycle = &f.life
				return &p, nil
			case "count":
				return &countOp{seen: f.routing}, nil
			case "wm":
				return &wmOp{log: f.wms}, nil
			case "inputs":
				return &inputsOp{seen: f.routing}, nil
			case "proc":
				return &procOp{log: f.proc}, nil
			}
			if name, ok := strings.CutPrefix(spec.Name, "trace:"); ok {
				return &traceOp{log: f.trace(name)}, nil
			}
			return nil, fmt.Errorf("no fake operator %q", spec.Name)
		},
	}
}

func (f *fakes) options(mem memory.Allocator) Options {
	return Options{Connectors: f.reg, Operators: f.factories(), Alloc: mem, Logger: quietLogger()}
}

// inputsOp records, per row id, the operator input it arrived on (as the
// "subtask" of the routing log) and forwards the rows.
type inputsOp struct{ seen *routing }

func (o *inputsOp) Open(ctx context.Context, oc *operator.Context) error { return nil }

func (o *inputsOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	ids := b.Record.Column(3).(*array.Int64)
	for i := 0; i < ids.Len(); i++ {
		o.seen.add(ids.Value(i), input)
	}
	b.Record.Retain()
	return out.Emit(ctx, b)
}

func (o *inputsOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

func (o *inputsOp) Close(ctx context.Context) error { return nil }

package windowagg

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Job options and defaults.
const (
	// BufferLimitOption caps the number of groups the operator buffers in
	// memory before it spills some to keyed state (Flink's option name).
	BufferLimitOption = "table.exec.window-agg.buffer-size-limit"
	// DefaultBufferLimit is the buffer limit when the job sets none.
	DefaultBufferLimit = winbuf.DefaultLimit
	// OutputBatchRows is the largest batch the operator emits.
	OutputBatchRows = winbuf.OutputBatchRows
)

// Metric names.
const (
	LateRecordsMetric = winbuf.LateRecordsMetric
	NullRowtimeMetric = winbuf.NullRowtimeMetric
)

// bufferConfig describes the operator's buffer and state table; see
// package winbuf for the layout. A value's state is each aggregate's
// agg.Accumulator.AppendState, in call order. The buffer holds slices
// (keyed by the slice's bounds) and, for HOP, suffix aggregates (keyed by
// the bounds of the window they start, which is longer than a slice).
var bufferConfig = winbuf.Config{
	Kind:         "window_agg",
	Table:        "window_agg.v3",
	Version:      3,
	LimitOption:  BufferLimitOption,
	DefaultLimit: DefaultBufferLimit,
	Unit:         "groups",
	LateHelp:     "Rows dropped because every window they belong to had already fired.",
	NullHelp:     "Rows dropped because their rowtime was NULL.",
}

// Operator is the window aggregate. See the package comment.
type Operator struct {
	spec     *jobgraph.WindowAggSpec
	win      windows
	procTime bool
	out      *arrow.Schema
	outTypes []types.Type

	oc    *operator.Context
	now   func() int64
	buf   *winbuf.Buffer[*slice]
	input winbuf.Input

	// Bound by the first batch.
	keys  *winbuf.Keys
	calls *agg.Calls

	// wm is the operator's progress: every window with end - 1 <= wm has
	// fired, and every slice with end - 1 <= wm has been absorbed (merged
	// into the shared state of HOP and CUMULATE, or fired for TUMBLE).
	wm int64
	// pending holds, ascending, the ends of the slices in buf that are not
	// absorbed yet (end - 1 > wm).
	pending []int64
	// fired is the end of the last window considered (emitted, or found
	// empty); live is the end of the last window that holds an absorbed
	// row. Windows ending in (fired, live] are considered one by one; past
	// live the next window worth considering is the first one of the next
	// pending slice.
	fired, live int64
	// sh is the state HOP and CUMULATE windows share (shared.go).
	sh shared

	// rb collects the rows of the windows one watermark fires, emitted in
	// batches of up to OutputBatchRows.
	rb *array.RecordBuilder

	// Snapshots (snapshot.go).
	meta        *winbuf.Meta
	schemaBytes []byte // the input schema, encoded
	metaBuf     []byte

	// Scratch reused from batch to batch.
	ends   []int64
	split  winbuf.Split[int64] // by slice end
	groups []uint32
	starts []int
}

// procOperator is a window aggregate over processing time: it also
// implements operator.ProcessingTimeHandler.
type procOperator struct{ *Operator }

// slice is the buffered part of one slice (or of a HOP suffix, or a
// running window): groups keyed by encoded group key, with one accumulator
// per aggregate call. It is a winbuf.Window.
type slice struct {
	table *hashtable.Table
	accs  *agg.Groups
}

// New builds a window aggregate from its spec. A processing-time window
// (WindowSpec.ProcTime) also implements operator.ProcessingTimeHandler.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	ws := spec.WindowAgg
	if ws == nil {
		return nil, fmt.Errorf("window_agg %s: spec has no window_agg part", spec.ID)
	}
	w, err := newWindows(ws.Window)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.ID, err)
	}
	nk, na := len(ws.GroupKeys), len(ws.Aggs)
	if got, want := spec.Output.Len(), nk+2+na; got != want {
		return nil, fmt.Errorf("window_agg %s: output has %d columns, want %d (%d group keys, window_start, window_end, %d aggregates)", spec.ID, got, want, nk, na)
	}
	for i := nk; i < nk+2; i++ {
		if t := spec.Output.Fields[i].Type; t.Kind != types.Timestamp {
			return nil, fmt.Errorf("window_agg %s: output column %d (%s) is %s, want TIMESTAMP(3)", spec.ID, i, spec.Output.Fields[i].Name, t)
		}
	}
	for i, c := range ws.Aggs {
		if !c.Type.SameValues(spec.Output.Fields[nk+2+i].Type) {
			return nil, fmt.Errorf("window_agg %s: aggregate %d (%s) has type %s but output column %d is %s", spec.ID, i, c.Name, c.Type, nk+2+i, spec.Output.Fields[nk+2+i].Type)
		}
		if (c.Func == jobgraph.CountStar) != (c.Arg < 0) {
			return nil, fmt.Errorf("window_agg %s: aggregate %d (%s): %s with argument column %d", spec.ID, i, c.Name, c.Func, c.Arg)
		}
	}
	for _, f := range spec.Output.Fields {
		if f.Type.Kind == types.Null || f.Type.Kind == types.Interval {
			return nil, fmt.Errorf("window_agg %s: output column %s has type %s", spec.ID, f.Name, f.Type)
		}
	}
	ts := make([]types.Type, spec.Output.Len())
	for i, f := range spec.Output.Fields {
		ts[i] = f.Type
	}
	o := &Operator{spec: ws, win: w, procTime: ws.Window.ProcTime, out: spec.Output.Arrow(), outTypes: ts}
	if o.procTime {
		return procOperator{o}, nil
	}
	return o, nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	buf, err := winbuf.Open(oc, bufferConfig, o.newSlice)
	if err != nil {
		return fmt.Errorf("window_agg %s: %w", oc.OperatorID, err)
	}
	o.oc, o.buf = oc, buf
	if o.meta, err = buf.Meta(); err != nil {
		return fmt.Errorf("window_agg %s: %w", oc.OperatorID, err)
	}
	o.now = oc.Now
	if o.now == nil {
		o.now = func() int64 { return time.Now().UnixMilli() }
	}
	o.wm, o.fired, o.live = stream.MinWatermark, stream.MinWatermark, stream.MinWatermark
	o.sh.init(o)
	return nil
}

// bind checks the first batch's schema and prepares the key encoder and the
// aggregate input types.
func (o *Operator) bind(s *arrow.Schema) error {
	ws := o.spec
	check := func(what string, col int) error {
		if col < 0 || col >= s.NumFields() {
			return fmt.Errorf("%s column %d is out of range: input has %d columns %s", what, col, s.NumFields(), s)
		}
		return nil
	}
	if !o.procTime {
		// A processing-time window never reads its time column.
		if err := check("time", ws.Window.TimeColumn); err != nil {
			return err
		}
		if t := s.Field(ws.Window.TimeColumn).Type; t.ID() != arrow.TIMESTAMP {
			return fmt.Errorf("time column %d (%s) is %s, want TIMESTAMP(3)", ws.Window.TimeColumn, s.Field(ws.Window.TimeColumn).Name, t)
		}
	}
	kt := make([]arrow.DataType, len(ws.GroupKeys))
	for i, c := range ws.GroupKeys {
		if err := check("group key", c); err != nil {
			return err
		}
		kt[i] = s.Field(c).Type
		if want := o.out.Field(i).Type; !arrow.TypeEqual(kt[i], want) {
			return fmt.Errorf("group key %d (input column %s) is %s but output column %s is %s", i, s.Field(c).Name, kt[i], o.out.Field(i).Name, want)
		}
	}
	keys, err := winbuf.NewKeys(s, ws.GroupKeys)
	if err != nil {
		return fmt.Errorf("group keys: %w", err)
	}
	calls, err := agg.Bind(ws.Aggs, s, o.oc.Functions)
	if err != nil {
		return err
	}
	o.calls = calls
	o.keys = keys
	return nil
}

// newSlice returns an empty slice.
func (o *Operator) newSlice() (*slice, error) {
	if o.calls == nil {
		return nil, fmt.Errorf("internal error: a window was made before the first batch bound the aggregates")
	}
	accs, err := o.calls.NewGroups()
	if err != nil {
		return nil, err
	}
	return &slice{table: o.keys.NewTable(), accs: accs}, nil
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(b); err != nil {
		return fmt.Errorf("window_agg %s: %w", o.oc.OperatorID, err)
	}
	return nil
}

func (o *Operator) processBatch(b stream.Batch) error {
	if ok, err := o.input.Admit(b, "window aggregation", o.bind); !ok || err != nil {
		return err
	}
	if o.procTime {
		return o.processProcTime(b)
	}
	rec, n := b.Record, b.NumRows()
	ws := o.spec
	tcol, ok := rec.Column(ws.Window.TimeColumn).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("time column %d is %s, want TIMESTAMP(3)", ws.Window.TimeColumn, rec.Column(ws.Window.TimeColumn).DataType())
	}

	// Assign slices, then split the rows by slice, dropping rows with a
	// NULL rowtime and late rows.
	o.ends = grow(o.ends, n)
	ends := o.ends[:n]
	var valid func(int) bool
	if tcol.NullN() > 0 {
		valid = tcol.IsValid
	}
	if err := o.win.assign(rowkey.TimestampValues(tcol), valid, ends); err != nil {
		return err
	}
	late, wm := 0, o.wm
	o.split.Reset(n)
	for i, end := range ends {
		switch {
		case valid != nil && !valid(i):
			o.split.Drop(i)
		case end-1 > wm:
			o.split.Add(i, end) // a pending slice
		case o.win.lastWindowEnd(end)-1 <= wm:
			o.split.Drop(i)
			late++
		default:
			// Behind the watermark, but some windows of its slice have
			// not fired yet: absorbed directly (see shared.go).
			o.split.Add(i, end)
		}
	}
	o.buf.CountDropped(tcol.NullN(), late, "window_agg: dropping rows whose rowtime is NULL; they belong to no window",
		"column", o.input.Schema.Field(ws.Window.TimeColumn).Name)
	if len(o.split.Windows()) == 0 {
		return nil
	}
	o.split.Finish()

	// Hash and encode the group keys of every row, a column at a time.
	if err := o.keys.Encode(rec); err != nil {
		return err
	}
	for i, end := range o.split.Windows() {
		var err error
		if end-1 > wm {
			err = o.updatePending(rec, end, o.split.Rows(i))
		} else {
			err = o.sh.updateLive(rec, end, o.split.Rows(i))
		}
		if err != nil {
			return err
		}
	}
	return o.buf.SpillIfFull()
}

// processProcTime puts every row of b into the slice of the current
// processing time. The time never falls behind what has fired, so no row
// is late.
func (o *Operator) processProcTime(b stream.Batch) error {
	if o.wm == stream.MaxWatermark {
		o.buf.CountDropped(0, b.NumRows(), "")
		return nil
	}
	t := max(o.now(), o.wm+1)
	if t > math.MaxInt64-3*o.win.span {
		return fmt.Errorf("processing time %d ms is too close to the end of the timestamp range for %d ms windows", t, o.win.span)
	}
	if err := o.keys.Encode(b.Record); err != nil {
		return err
	}
	if err := o.updatePending(b.Record, o.win.sliceEnd(t), nil); err != nil {
		return err
	}
	return o.buf.SpillIfFull()
}

// updatePending folds the rows sel (all rows when nil) of rec into the
// pending slice ending at end.
func (o *Operator) updatePending(rec arrow.RecordBatch, end int64, sel []int32) error {
	s, err := o.buf.Window(o.sliceKey(end))
	if err != nil {
		return err
	}
	if i, found := slices.BinarySearch(o.pending, end); !found {
		o.pending = slices.Insert(o.pending, i, end)
	}
	added, err := o.fold(s, rec, sel)
	o.buf.Add(added)
	return err
}

// fold folds the rows sel (all rows when nil) of rec, whose keys o.keys
// holds, into s and returns the number of groups it added.
func (o *Operator) fold(s *slice, rec arrow.RecordBatch, sel []int32) (int, error) {
	n := int(rec.NumRows())
	if sel != nil {
		n = len(sel)
	}
	o.groups = grow(o.groups, n)
	groups := o.groups[:n]
	added, err := s.table.FindOrInsert(o.keys.Hashes, &o.keys.Rows, sel, groups)
	if err != nil {
		return 0, err
	}
	s.accs.Grow(s.table.Len())
	return added, s.accs.Update(rec, groups, sel)
}

// mergeInto folds every group of src into dst.
func (o *Operator) mergeInto(dst, src *slice) error {
	n := src.table.Len()
	o.groups = grow(o.groups, n)
	ids := o.groups[:n]
	for g := range ids {
		id, _, err := dst.table.FindOrInsertOne(src.table.Hash(uint32(g)), src.table.Key(uint32(g)))
		if err != nil {
			return err
		}
		ids[g] = id
	}
	dst.accs.Grow(dst.table.Len())
	for g, id := range ids {
		if err := dst.accs.Merge(id, src.accs, uint32(g)); err != nil {
			return err
		}
	}
	return nil
}

// sliceKey is the buffer key of the slice ending at end.
func (o *Operator) sliceKey(end int64) winbuf.Key {
	return winbuf.Key{Start: end - o.win.slice, End: end}
}

// ProcessWatermark implements operator.Operator: it fires, in window-end
// order, every window whose end - 1 <= wm. A processing-time window only
// acts on the final watermark, which fires everything.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if o.procTime && wm != stream.MaxWatermark {
		return nil
	}
	if err := o.advance(ctx, wm, out); err != nil {
		return fmt.Errorf("window_agg %s: %w", o.oc.OperatorID, err)
	}
	return nil
}

// OnProcessingTime implements operator.ProcessingTimeHandler: it fires
// every window that ends at or before nowMs.
func (p procOperator) OnProcessingTime(ctx context.Context, nowMs int64, out operator.Collector) error {
	if nowMs == math.MinInt64 {
		return nil
	}
	if err := p.advance(ctx, nowMs-1, out); err != nil {
		return fmt.Errorf("window_agg %s: %w", p.oc.OperatorID, err)
	}
	return nil
}

// advance moves the operator's progress to wm, firing every window with
// end - 1 <= wm that holds a row, in end order.
func (o *Operator) advance(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	for {
		e, ok := o.nextWindow()
		if !ok || e-1 > wm {
			break
		}
		if err := o.fireWindow(ctx, e, out); err != nil {
			return fmt.Errorf("window [%d, %d): %w", o.win.windowStart(e), e, err)
		}
		o.fired = e
		if err := o.buf.SpillIfFull(); err != nil {
			return err
		}
	}
	// Every window ending at or before wm + 1 has been considered. (After
	// the final watermark nothing is ever considered again.)
	if wm != stream.MaxWatermark && wm > math.MinInt64+o.win.slice {
		o.fired = max(o.fired, alignDown(wm+1, o.win.slice, o.win.sliceOff))
	}
	return o.flush(ctx, out)
}

// nextWindow returns the end of the next window that may hold rows.
func (o *Operator) nextWindow() (int64, bool) {
	if o.fired < o.live {
		return o.fired + o.win.slice, true
	}
	if len(o.pending) > 0 {
		return o.pending[0], true
	}
	return 0, false
}

// fireWindow emits the window ending at e, if it holds rows, after
// absorbing the slices that end at or before e.
func (o *Operator) fireWindow(ctx context.Context, e int64, out operator.Collector) error {
	if o.win.kind != jobgraph.Tumble {
		return o.sh.fire(ctx, e, out)
	}
	for len(o.pending) > 0 && o.pending[0] <= e {
		se := o.pending[0]
		o.pending = o.pending[1:]
		s, ok, err := o.buf.Take(o.sliceKey(se))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = o.emit(ctx, winbuf.Key{Start: se - o.win.span, End: se}, s, out)
		o.buf.Recycle(s)
		if err != nil {
			return err
		}
	}
	return nil
}

// emit appends the output rows of s, the groups of window k, to the
// output batch, a whole Arrow column at a time, and sends the batch
// downstream once it holds OutputBatchRows rows or more.
func (o *Operator) emit(ctx context.Context, k winbuf.Key, s *slice, out operator.Collector) error {
	n := s.table.Len()
	if n == 0 {
		return nil
	}
	if o.rb == nil {
		o.rb = array.NewRecordBuilder(o.buf.Alloc(), o.out)
	}
	rb := o.rb
	rb.Reserve(n)
	nk := len(o.spec.GroupKeys)
	data, offs := s.table.Arena()
	o.starts = append(o.starts[:0], offs[:n]...)
	bs := rb.Fields()
	if err := o.keys.Encoder().Decode(data, o.starts, bs[:nk]); err != nil {
		return err
	}
	start, end := arrow.Timestamp(k.Start), arrow.Timestamp(k.End)
	for c, v := range []arrow.Timestamp{start, end} {
		tb := bs[nk+c].(*array.TimestampBuilder)
		for i := 0; i < n; i++ {
			tb.UnsafeAppend(v)
		}
	}
	if err := s.accs.Build(bs[nk+2:]); err != nil {
		return err
	}
	if bs[0].Len() >= OutputBatchRows {
		return o.flush(ctx, out)
	}
	return nil
}

// flush sends the rows of the output batch downstream.
func (o *Operator) flush(ctx context.Context, out operator.Collector) error {
	if o.rb == nil || o.rb.Field(0).Len() == 0 {
		return nil
	}
	return winbuf.Emit(ctx, out, o.rb, OutputBatchRows)
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
	if o.rb != nil {
		o.rb.Release()
		o.rb = nil
	}
	o.sh.close()
	if o.buf != nil {
		o.buf.Close()
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

package windowagg

import (
	"context"
	"fmt"

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
// agg.Accumulator.AppendState, in call order.
var bufferConfig = winbuf.Config{
	Kind:         "window_agg",
	Table:        "window_agg.v2",
	Version:      2,
	LimitOption:  BufferLimitOption,
	DefaultLimit: DefaultBufferLimit,
	Unit:         "groups",
	LateHelp:     "Rows dropped because every window they belong to had already fired.",
	NullHelp:     "Rows dropped because their rowtime was NULL.",
}

// Operator is the window aggregate. See the package comment.
type Operator struct {
	spec     *jobgraph.WindowAggSpec
	assigner sliceAssigner
	out      *arrow.Schema
	outTypes []types.Type

	oc    *operator.Context
	buf   *winbuf.Buffer[*slice]
	input winbuf.Input

	// Bound by the first batch.
	keys  *winbuf.Keys
	calls *agg.Calls

	// Scratch reused from batch to batch.
	ends   []int64
	split  winbuf.Split[int64] // by slice end
	groups []uint32
	starts []int
}

// slice is the buffered part of one slice: groups keyed by encoded group
// key, with one accumulator per aggregate call. It is a winbuf.Window.
type slice struct {
	table *hashtable.Table
	accs  *agg.Groups
}

// New builds a window aggregate from its spec.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	ws := spec.WindowAgg
	if ws == nil {
		return nil, fmt.Errorf("window_agg %s: spec has no window_agg part", spec.ID)
	}
	a, err := newAssigner(ws.Window)
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
	return &Operator{spec: ws, assigner: a, out: spec.Output.Arrow(), outTypes: ts}, nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	buf, err := winbuf.Open(oc, bufferConfig, o.newSlice)
	if err != nil {
		return fmt.Errorf("window_agg %s: %w", oc.OperatorID, err)
	}
	o.oc, o.buf = oc, buf
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
	if err := check("time", ws.Window.TimeColumn); err != nil {
		return err
	}
	if t := s.Field(ws.Window.TimeColumn).Type; t.ID() != arrow.TIMESTAMP {
		return fmt.Errorf("time column %d (%s) is %s, want TIMESTAMP(3)", ws.Window.TimeColumn, s.Field(ws.Window.TimeColumn).Name, t)
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
	if err := o.assigner.assign(rowkey.TimestampValues(tcol), valid, ends); err != nil {
		return err
	}
	late, wm := 0, o.buf.Watermark()
	o.split.Reset(n)
	for i, end := range ends {
		switch {
		case valid != nil && !valid(i):
			o.split.Drop(i)
		case o.assigner.lastWindowEnd(end)-1 <= wm:
			o.split.Drop(i)
			late++
		default:
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
		if err := o.update(rec, end, o.split.Rows(i)); err != nil {
			return err
		}
	}
	return nil
}

// update folds the rows sel (all rows when nil) of rec into slice end.
func (o *Operator) update(rec arrow.RecordBatch, end int64, sel []int32) error {
	s, err := o.buf.Window(winbuf.Key{Start: o.assigner.windowStart(end), End: end})
	if err != nil {
		return err
	}
	n := int(rec.NumRows())
	if sel != nil {
		n = len(sel)
	}
	o.groups = grow(o.groups, n)
	groups := o.groups[:n]
	added, err := s.table.FindOrInsert(o.keys.Hashes, &o.keys.Rows, sel, groups)
	if err != nil {
		return err
	}
	s.accs.Grow(s.table.Len())
	if err := s.accs.Update(rec, groups, sel); err != nil {
		return err
	}
	o.buf.Add(added)
	return o.buf.SpillIfFull()
}

// ProcessWatermark implements operator.Operator: it fires, in window-end
// order, every window whose end - 1 <= wm.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return o.buf.Fire(wm, func(k winbuf.Key, s *slice) error { return o.emit(ctx, k, s, out) })
}

// emit builds the output rows of slice s as whole Arrow columns and sends
// them downstream in batches of at most OutputBatchRows.
func (o *Operator) emit(ctx context.Context, k winbuf.Key, s *slice, out operator.Collector) error {
	n := s.table.Len()
	if n == 0 {
		return nil
	}
	rb := array.NewRecordBuilder(o.buf.Alloc(), o.out)
	defer rb.Release()
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
	return winbuf.Emit(ctx, out, rb, OutputBatchRows)
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
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

package windowagg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Job options and defaults.
const (
	// BufferLimitOption caps the number of groups the operator buffers in
	// memory before it flushes them into keyed state (Flink's option name).
	BufferLimitOption = "table.exec.window-agg.buffer-size-limit"
	// DefaultBufferLimit is the buffer limit when the job sets none.
	DefaultBufferLimit = 100_000
	// OutputBatchRows is the largest batch the operator emits.
	OutputBatchRows = 8192
)

// Metric names.
const (
	LateRecordsMetric     = "late_records_dropped"
	NullRowtimeMetric     = "null_rowtime_records_dropped"
	stateTableName        = "window_agg.v1"
	stateFormatVersion    = 1
	stateValueHeaderBytes = 1 + 8 // version, key hash
)

// Operator is the window aggregate. See the package comment.
type Operator struct {
	spec     *jobgraph.WindowAggSpec
	assigner sliceAssigner
	out      *arrow.Schema
	outTypes []types.Type

	oc       *operator.Context
	log      *slog.Logger
	mem      memory.Allocator
	limit    int
	table    state.Table
	late     operator.Counter
	nullTime operator.Counter
	warned   bool // a NULL rowtime was logged
	foreign  bool // a group's key group is outside oc.KeyGroups
	wm       int64

	// Bound by the first batch.
	in      *arrow.Schema
	keyEnc  *rowkey.Encoder
	argType []arrow.DataType

	// The buffer: slices by end, and the slice ends with entries in state.
	slices   map[int64]*slice
	flushed  map[int64]struct{}
	buffered int
	pool     []*slice

	// Scratch reused from batch to batch.
	keyCols  []arrow.Array
	hashes   []uint64
	keys     rowkey.Rows
	ends     []int64
	groups   []uint32
	sels     [][]int32
	sliceIDs []int64
	fire     []int64
	starts   []int
	skey     []byte
	sval     []byte
}

// slice is the buffered part of one slice: groups keyed by encoded group
// key, with one accumulator per aggregate call.
type slice struct {
	end   int64
	table *hashtable.Table
	accs  []agg.Accumulator
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
	o.oc = oc
	o.log = oc.Logger
	if o.log == nil {
		o.log = slog.Default()
	}
	o.mem = oc.Alloc
	if o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	limit, err := bufferLimit(oc.Config, BufferLimitOption, DefaultBufferLimit)
	if err != nil {
		return fmt.Errorf("window_agg %s: %w", oc.OperatorID, err)
	}
	o.limit = limit
	if oc.State == nil {
		return fmt.Errorf("window_agg %s: no keyed state backend", oc.OperatorID)
	}
	if oc.MaxParallelism < 1 || oc.MaxParallelism > keygroup.MaxMaxParallelism {
		return fmt.Errorf("window_agg %s: max parallelism %d is out of range", oc.OperatorID, oc.MaxParallelism)
	}
	if o.table, err = oc.State.Table(stateTableName); err != nil {
		return fmt.Errorf("window_agg %s: open state table: %w", oc.OperatorID, err)
	}
	o.late = counter(oc.Metrics, LateRecordsMetric, "Rows dropped because every window they belong to had already fired.")
	o.nullTime = counter(oc.Metrics, NullRowtimeMetric, "Rows dropped because their rowtime was NULL.")
	o.wm = stream.MinWatermark
	o.slices = map[int64]*slice{}
	o.flushed = map[int64]struct{}{}
	return nil
}

// bufferLimit reads a positive integer option.
func bufferLimit(cfg map[string]string, key string, def int) (int, error) {
	s, ok := cfg[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("option '%s' = '%s': want a positive integer (number of buffered groups)", key, s)
	}
	return n, nil
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

func counter(m operator.Metrics, name, help string) operator.Counter {
	if m == nil {
		return nopCounter{}
	}
	return m.Counter(name, help)
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
	enc, err := rowkey.NewEncoder(kt)
	if err != nil {
		return fmt.Errorf("group keys: %w", err)
	}
	o.argType = make([]arrow.DataType, len(ws.Aggs))
	for i, c := range ws.Aggs {
		if c.Arg >= 0 {
			if err := check("aggregate "+c.Name, c.Arg); err != nil {
				return err
			}
			o.argType[i] = s.Field(c.Arg).Type
		}
		if _, err := agg.New(c, o.argType[i]); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, c.Name, err)
		}
	}
	o.in, o.keyEnc = s, enc
	o.keyCols = make([]arrow.Array, len(ws.GroupKeys))
	return nil
}

// newSlice returns an empty slice for end, recycled when possible.
func (o *Operator) newSlice(end int64) (*slice, error) {
	if n := len(o.pool); n > 0 {
		s := o.pool[n-1]
		o.pool = o.pool[:n-1]
		s.end = end
		return s, nil
	}
	t := hashtable.New(64)
	if w := o.keyEnc.FixedWidth(); w > 0 {
		t = hashtable.NewFixed(64, w)
	}
	s := &slice{end: end, table: t, accs: make([]agg.Accumulator, len(o.spec.Aggs))}
	for i, c := range o.spec.Aggs {
		a, err := agg.New(c, o.argType[i])
		if err != nil {
			return nil, err
		}
		s.accs[i] = a
	}
	return s, nil
}

func (o *Operator) recycle(s *slice) {
	s.table.Reset(64)
	for _, a := range s.accs {
		a.Reset()
	}
	if len(o.pool) < 4 {
		o.pool = append(o.pool, s)
	}
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(b); err != nil {
		return fmt.Errorf("window_agg %s: %w", o.oc.OperatorID, err)
	}
	return nil
}

func (o *Operator) processBatch(b stream.Batch) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	for i, k := range b.Kinds {
		if k != stream.Insert {
			return fmt.Errorf("row %d is %s: window aggregation takes append-only input (inserts only)", i, k)
		}
	}
	rec := b.Record
	if o.in == nil {
		if err := o.bind(rec.Schema()); err != nil {
			return err
		}
	} else if rec.Schema() != o.in && !rec.Schema().Equal(o.in) {
		return fmt.Errorf("input schema changed from %s to %s", o.in, rec.Schema())
	}
	ws := o.spec
	tcol, ok := rec.Column(ws.Window.TimeColumn).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("time column %d is %s, want TIMESTAMP(3)", ws.Window.TimeColumn, rec.Column(ws.Window.TimeColumn).DataType())
	}

	// Assign slices, then drop rows with a NULL rowtime and late rows.
	o.ends = grow(o.ends, n)
	ends := o.ends[:n]
	var valid func(int) bool
	if tcol.NullN() > 0 {
		valid = tcol.IsValid
	}
	if err := o.assigner.assign(rowkey.TimestampValues(tcol), valid, ends); err != nil {
		return err
	}
	const dropped = math.MinInt64 // slice end of a dropped row
	nulls, late := tcol.NullN(), 0
	first := int64(dropped)
	uniform := nulls == 0
	for i := range ends {
		if valid != nil && !valid(i) {
			ends[i] = dropped
			continue
		}
		if o.assigner.lastWindowEnd(ends[i])-1 <= o.wm {
			ends[i] = dropped
			late++
			uniform = false
			continue
		}
		if first == dropped {
			first = ends[i]
		} else if ends[i] != first {
			uniform = false
		}
	}
	if nulls > 0 {
		o.nullTime.Add(float64(nulls))
		if !o.warned {
			o.warned = true
			o.log.Warn("window_agg: dropping rows whose rowtime is NULL; they belong to no window",
				"operator", o.oc.OperatorID, "column", o.in.Field(ws.Window.TimeColumn).Name)
		}
	}
	if late > 0 {
		o.late.Add(float64(late))
	}
	if first == dropped {
		return nil
	}

	// Hash and encode the group keys of every row, a column at a time.
	for i, c := range ws.GroupKeys {
		o.keyCols[i] = rec.Column(c)
	}
	o.hashes = grow(o.hashes, n)
	if err := keygroup.HashColumns(o.keyCols, o.hashes[:n]); err != nil {
		return err
	}
	if err := o.keyEnc.Encode(o.keyCols, n, nil, &o.keys); err != nil {
		return err
	}

	if uniform {
		return o.update(rec, first, nil)
	}
	// Split the rows by slice; a batch rarely spans more than a few.
	o.sliceIDs = o.sliceIDs[:0]
	last, li := int64(dropped), -1
	for i, e := range ends {
		if e == dropped {
			continue
		}
		if e != last {
			li = slices.Index(o.sliceIDs, e)
			if li < 0 {
				li = len(o.sliceIDs)
				o.sliceIDs = append(o.sliceIDs, e)
				if len(o.sels) <= li {
					o.sels = append(o.sels, nil)
				}
				o.sels[li] = o.sels[li][:0]
			}
			last = e
		}
		o.sels[li] = append(o.sels[li], int32(i))
	}
	for i, e := range o.sliceIDs {
		if err := o.update(rec, e, o.sels[i]); err != nil {
			return err
		}
	}
	return nil
}

// update folds the rows sel (all rows when nil) of rec into slice end.
func (o *Operator) update(rec arrow.RecordBatch, end int64, sel []int32) error {
	s := o.slices[end]
	if s == nil {
		var err error
		if s, err = o.newSlice(end); err != nil {
			return err
		}
		o.slices[end] = s
	}
	n := int(rec.NumRows())
	if sel != nil {
		n = len(sel)
	}
	o.groups = grow(o.groups, n)
	groups := o.groups[:n]
	added, err := s.table.FindOrInsert(o.hashes, &o.keys, sel, groups)
	if err != nil {
		return err
	}
	ng := s.table.Len()
	for i, c := range o.spec.Aggs {
		a := s.accs[i]
		a.Grow(ng)
		var col arrow.Array
		if c.Arg >= 0 {
			col = rec.Column(c.Arg)
		}
		if err := a.Update(col, groups, sel); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, c.Name, err)
		}
	}
	o.buffered += added
	if o.buffered > o.limit {
		return o.flush()
	}
	return nil
}

// ProcessWatermark implements operator.Operator: it fires, in window-end
// order, every window whose end - 1 <= wm.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	o.fire = o.fire[:0]
	for end := range o.slices {
		if end-1 <= wm {
			o.fire = append(o.fire, end)
		}
	}
	for end := range o.flushed {
		if end-1 <= wm {
			if _, ok := o.slices[end]; !ok {
				o.fire = append(o.fire, end)
			}
		}
	}
	slices.Sort(o.fire)
	for _, end := range o.fire {
		if err := o.fireWindow(ctx, end, out); err != nil {
			return fmt.Errorf("window_agg %s: window [%d, %d): %w", o.oc.OperatorID, o.assigner.windowStart(end), end, err)
		}
	}
	return nil
}

func (o *Operator) fireWindow(ctx context.Context, end int64, out operator.Collector) error {
	s := o.slices[end]
	if s == nil {
		var err error
		if s, err = o.newSlice(end); err != nil {
			return err
		}
	} else {
		o.buffered -= s.table.Len()
	}
	delete(o.slices, end)
	defer o.recycle(s)
	if _, ok := o.flushed[end]; ok {
		if err := o.mergeState(s); err != nil {
			return err
		}
		delete(o.flushed, end)
	}
	return o.emit(ctx, s, out)
}

// emit builds the output rows of slice s as whole Arrow columns and sends
// them downstream in batches of at most OutputBatchRows.
func (o *Operator) emit(ctx context.Context, s *slice, out operator.Collector) error {
	n := s.table.Len()
	if n == 0 {
		return nil
	}
	rb := array.NewRecordBuilder(o.mem, o.out)
	defer rb.Release()
	rb.Reserve(n)
	nk := len(o.spec.GroupKeys)
	data, offs := s.table.Arena()
	o.starts = append(o.starts[:0], offs[:n]...)
	bs := rb.Fields()
	if err := o.keyEnc.Decode(data, o.starts, bs[:nk]); err != nil {
		return err
	}
	start, end := arrow.Timestamp(o.assigner.windowStart(s.end)), arrow.Timestamp(s.end)
	for c, v := range []arrow.Timestamp{start, end} {
		tb := bs[nk+c].(*array.TimestampBuilder)
		for i := 0; i < n; i++ {
			tb.UnsafeAppend(v)
		}
	}
	for i, a := range s.accs {
		if err := a.Build(bs[nk+2+i]); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, o.spec.Aggs[i].Name, err)
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	for lo := 0; lo < n; lo += OutputBatchRows {
		part := rec.NewSlice(int64(lo), int64(min(lo+OutputBatchRows, n)))
		if err := out.Emit(ctx, stream.Batch{Record: part}); err != nil {
			return err
		}
	}
	return nil
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
	o.slices, o.flushed, o.pool = nil, nil, nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

var errCorrupt = errors.New("corrupt window_agg state entry")

package windowassign

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/session"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Job options and defaults.
const (
	// BufferLimitOption caps the number of rows a SESSION window TVF holds
	// in memory before it spills some to keyed state.
	BufferLimitOption = "table.exec.window-tvf.buffer-size-limit"
	// DefaultBufferLimit is the buffer limit when the job sets none.
	DefaultBufferLimit = winbuf.DefaultLimit
	// OutputBatchRows is the size the operator aims its output batches at.
	OutputBatchRows = winbuf.OutputBatchRows
)

// Metric names.
const (
	LateRecordsMetric = winbuf.LateRecordsMetric
	NullRowtimeMetric = winbuf.NullRowtimeMetric
	SpilledMetric     = winbuf.SpilledMetric
)

// maxWindowMs bounds sizes, slides and offsets so window arithmetic cannot
// overflow.
const maxWindowMs = math.MaxInt64 / 4

// Operator is the window TVF. See the package comment.
type Operator struct {
	id  string
	w   jobgraph.WindowSpec
	out *arrow.Schema
	nIn int // input columns
	// TUMBLE, HOP, CUMULATE: windows [start, start+size) with starts every
	// slide (TUMBLE: slide = size), or CUMULATE's ends every slide (step).
	size, slide, offset int64

	oc      *operator.Context
	mem     memory.Allocator
	log     *slog.Logger
	input   winbuf.Input
	late    operator.Counter
	nulls   operator.Counter
	spilled operator.Counter
	warned  bool
	sess    *sessions // SESSION only

	// Scratch reused from batch to batch.
	ts     []int64
	counts []int32
	idx    []int32
	starts []arrow.Timestamp
	ends   []arrow.Timestamp
	times  []arrow.Timestamp
}

// New builds a window TVF from its spec.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	ws := spec.WindowAssign
	if ws == nil {
		return nil, fmt.Errorf("window_assign %s: spec has no window_assign part", spec.ID)
	}
	w := ws.Window
	fail := func(format string, args ...any) error {
		return fmt.Errorf("window_assign %s (%s): %s", spec.ID, upper(w.Kind), fmt.Sprintf(format, args...))
	}
	n := spec.Output.Len() - 3
	if n < 1 {
		return nil, fail("output has %d columns, want the input columns then window_start, window_end, window_time", spec.Output.Len())
	}
	for i, name := range []string{"window_start", "window_end", "window_time"} {
		if t := spec.Output.Fields[n+i].Type; t.Kind != types.Timestamp {
			return nil, fail("output column %d (%s) is %s, want a TIMESTAMP(3) %s", n+i, spec.Output.Fields[n+i].Name, t, name)
		}
	}
	o := &Operator{id: spec.ID, w: w, out: spec.Output.Arrow(), nIn: n}
	positive := func(what string, v int64) error {
		if v <= 0 || v > maxWindowMs {
			return fail("%s %d ms must be positive and below %d ms", what, v, int64(maxWindowMs))
		}
		return nil
	}
	if w.OffsetMs <= -maxWindowMs || w.OffsetMs >= maxWindowMs {
		return nil, fail("offset %d ms is out of range", w.OffsetMs)
	}
	switch w.Kind {
	case jobgraph.Tumble:
		if err := positive("size", w.SizeMs); err != nil {
			return nil, err
		}
		o.size, o.slide = w.SizeMs, w.SizeMs
	case jobgraph.Hop:
		if err := positive("size", w.SizeMs); err != nil {
			return nil, err
		}
		if err := positive("slide", w.SlideMs); err != nil {
			return nil, err
		}
		o.size, o.slide = w.SizeMs, w.SlideMs
	case jobgraph.Cumulate:
		if err := positive("max size", w.SizeMs); err != nil {
			return nil, err
		}
		if err := positive("step", w.SlideMs); err != nil {
			return nil, err
		}
		if w.SizeMs%w.SlideMs != 0 {
			return nil, fail("max size %d ms must be a multiple of step %d ms", w.SizeMs, w.SlideMs)
		}
		o.size, o.slide = w.SizeMs, w.SlideMs
	case jobgraph.Session:
		if w.SizeMs <= 0 || w.SizeMs > session.MaxGapMs {
			return nil, fail("gap %d ms must be positive and below %d ms", w.SizeMs, int64(session.MaxGapMs))
		}
		seen := map[int]bool{}
		for _, c := range w.PartitionBy {
			if seen[c] {
				return nil, fail("PARTITION BY column %d is listed twice", c)
			}
			seen[c] = true
		}
		o.sess = &sessions{o: o}
		return o, nil
	default:
		return nil, fmt.Errorf("window_assign %s: unknown window kind %q", spec.ID, w.Kind)
	}
	if len(w.PartitionBy) > 0 {
		return nil, fail("PARTITION BY is only supported in SESSION windows")
	}
	o.offset = w.OffsetMs % o.slide
	if w.Kind == jobgraph.Cumulate {
		o.offset = w.OffsetMs % o.size
	}
	return o, nil
}

func upper(k jobgraph.WindowKind) string {
	b := []byte(k)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc = oc
	if o.log = oc.Logger; o.log == nil {
		o.log = slog.Default()
	}
	if o.mem = oc.Alloc; o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	if o.w.ProcTime && oc.Now == nil {
		return fmt.Errorf("window_assign %s: a processing-time window needs the context's clock (Now)", o.id)
	}
	o.late = counter(oc.Metrics, LateRecordsMetric, "Rows dropped because their session had already fired.")
	o.nulls = counter(oc.Metrics, NullRowtimeMetric, "Rows dropped because their time was NULL.")
	o.spilled = counter(oc.Metrics, SpilledMetric, "Rows spilled to keyed state because the window buffer was full.")
	if o.sess != nil {
		if err := o.sess.open(oc); err != nil {
			return fmt.Errorf("window_assign %s (SESSION): %w", o.id, err)
		}
	}
	return nil
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

func counter(m operator.Metrics, name, help string) operator.Counter {
	if m == nil {
		return nopCounter{}
	}
	return m.Counter(name, help)
}

// bind checks the first batch's schema against the spec.
func (o *Operator) bind(s *arrow.Schema) error {
	if s.NumFields() != o.nIn {
		return fmt.Errorf("input has %d columns %s, but the output has %d columns before the window columns", s.NumFields(), s, o.nIn)
	}
	for i := 0; i < o.nIn; i++ {
		if t, want := s.Field(i).Type, o.out.Field(i).Type; !arrow.TypeEqual(t, want) {
			return fmt.Errorf("input column %d (%s) is %s but output column %s is %s", i, s.Field(i).Name, t, o.out.Field(i).Name, want)
		}
	}
	if !o.w.ProcTime {
		c := o.w.TimeColumn
		if c < 0 || c >= o.nIn {
			return fmt.Errorf("time column %d is out of range: input has %d columns", c, o.nIn)
		}
		if t := s.Field(c).Type; t.ID() != arrow.TIMESTAMP {
			return fmt.Errorf("time column %d (%s) is %s, want TIMESTAMP(3)", c, s.Field(c).Name, t)
		}
	}
	if o.sess != nil {
		return o.sess.bind(s)
	}
	return nil
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(ctx, b, out); err != nil {
		return fmt.Errorf("window_assign %s (%s): %w", o.id, upper(o.w.Kind), err)
	}
	return nil
}

func (o *Operator) processBatch(ctx context.Context, b stream.Batch, out operator.Collector) error {
	if ok, err := o.input.Admit(b, "a window table function", o.bind); !ok || err != nil {
		return err
	}
	rec, n := b.Record, b.NumRows()
	ts, valid, err := o.eventTimes(rec, n)
	if err != nil || valid == 0 {
		return err
	}
	if o.sess != nil {
		return o.sess.add(rec, ts, valid < n)
	}
	return o.assign(ctx, rec, ts, valid < n, out)
}

// eventTimes returns the event time of every row (the batch's wall-clock time
// for a processing-time window) and how many rows have one; a NULL time is
// counted as dropped and its slot is left as is.
func (o *Operator) eventTimes(rec arrow.RecordBatch, n int) ([]int64, int, error) {
	if o.w.ProcTime {
		o.ts = grow(o.ts, n)
		now := o.oc.Now()
		for i := range o.ts {
			o.ts[i] = now
		}
		return o.ts, n, nil
	}
	c := o.w.TimeColumn
	tcol, ok := rec.Column(c).(*array.Timestamp)
	if !ok {
		return nil, 0, fmt.Errorf("time column %d is %s, want TIMESTAMP(3)", c, rec.Column(c).DataType())
	}
	nn := tcol.NullN()
	if nn > 0 {
		o.nulls.Add(float64(nn))
		if !o.warned {
			o.warned = true
			o.log.Warn("window_assign: dropping rows whose time is NULL; they belong to no window",
				"operator", o.id, "column", rec.ColumnName(c))
		}
	}
	return rowkey.TimestampValues(tcol), n - nn, nil
}

// assign emits every row of rec once per TUMBLE, HOP or CUMULATE window it
// falls in. Rows with a NULL time (anyNull) are skipped.
func (o *Operator) assign(ctx context.Context, rec arrow.RecordBatch, ts []int64, anyNull bool, out operator.Collector) error {
	n := int(rec.NumRows())
	var tcol arrow.Array
	if anyNull {
		tcol = rec.Column(o.w.TimeColumn)
	}
	// Windows per row, and the range check.
	o.counts = grow(o.counts, n)
	counts := o.counts[:n]
	lo, hi := int64(math.MinInt64)+2*o.size, int64(math.MaxInt64)-2*o.size
	for i, v := range ts {
		if anyNull && tcol.IsNull(i) {
			counts[i] = 0
			continue
		}
		if v < lo || v > hi {
			return fmt.Errorf("event time %d ms is too close to the limits of the timestamp range for %d ms windows", v, o.size)
		}
		counts[i] = int32(o.windows(v))
	}
	// Cut the batch so an output batch stays near OutputBatchRows rows.
	for first := 0; first < n; {
		total, last := 0, first
		for last < n && (last == first || total+int(counts[last]) <= OutputBatchRows) {
			total += int(counts[last])
			last++
		}
		if total > 0 {
			if err := o.emitAligned(ctx, rec, ts, counts, first, last, total, out); err != nil {
				return err
			}
		}
		first = last
	}
	return nil
}

// floorMod returns a mod m rounded towards minus infinity (m > 0).
func floorMod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// windows returns the number of windows holding time v.
func (o *Operator) windows(v int64) int64 {
	switch o.w.Kind {
	case jobgraph.Hop:
		last := v - floorMod(v-o.offset, o.slide)
		// Starts last, last-slide, ... while start > v - size.
		return (last-(v-o.size)-1)/o.slide + 1
	case jobgraph.Cumulate:
		start := v - floorMod(v-o.offset, o.size)
		firstEnd := v - floorMod(v-o.offset, o.slide) + o.slide
		return (start+o.size-firstEnd)/o.slide + 1
	}
	return 1
}

// emitAligned emits rows [first, last) of rec, total output rows in all.
func (o *Operator) emitAligned(ctx context.Context, rec arrow.RecordBatch, ts []int64, counts []int32, first, last, total int, out operator.Collector) error {
	o.idx, o.starts, o.ends, o.times = o.idx[:0], o.starts[:0], o.ends[:0], o.times[:0]
	for i := first; i < last; i++ {
		c := counts[i]
		if c == 0 {
			continue
		}
		v := ts[i]
		switch o.w.Kind {
		case jobgraph.Hop:
			s := v - floorMod(v-o.offset, o.slide)
			for k := int32(0); k < c; k++ {
				o.starts = append(o.starts, arrow.Timestamp(s))
				o.ends = append(o.ends, arrow.Timestamp(s+o.size))
				s -= o.slide
			}
		case jobgraph.Cumulate:
			s := v - floorMod(v-o.offset, o.size)
			e := v - floorMod(v-o.offset, o.slide) + o.slide
			for k := int32(0); k < c; k++ {
				o.starts = append(o.starts, arrow.Timestamp(s))
				o.ends = append(o.ends, arrow.Timestamp(e))
				e += o.slide
			}
		default: // TUMBLE
			s := v - floorMod(v-o.offset, o.size)
			o.starts = append(o.starts, arrow.Timestamp(s))
			o.ends = append(o.ends, arrow.Timestamp(s+o.size))
		}
		for k := int32(0); k < c; k++ {
			o.idx = append(o.idx, int32(i))
		}
	}
	for _, e := range o.ends {
		o.times = append(o.times, e-1)
	}
	cols := make([]arrow.Array, 0, o.nIn+3)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	identity := first == 0 && last == int(rec.NumRows()) && total == last
	for c := 0; c < o.nIn; c++ {
		if identity {
			col := rec.Column(c)
			col.Retain()
			cols = append(cols, col)
			continue
		}
		col, err := expr.Take(rec.Column(c), o.idx, o.mem)
		if err != nil {
			return fmt.Errorf("column %d (%s): %w", c, rec.ColumnName(c), err)
		}
		cols = append(cols, col)
	}
	for k, vs := range [][]arrow.Timestamp{o.starts, o.ends, o.times} {
		cols = append(cols, timestamps(o.mem, o.out.Field(o.nIn+k).Type, vs))
	}
	b := stream.Batch{Record: array.NewRecordBatch(o.out, cols, int64(total))}
	return out.Emit(ctx, b)
}

// timestamps builds a timestamp array of type dt holding vs.
func timestamps(mem memory.Allocator, dt arrow.DataType, vs []arrow.Timestamp) arrow.Array {
	b := array.NewTimestampBuilder(mem, dt.(*arrow.TimestampType))
	defer b.Release()
	b.AppendValues(vs, nil)
	return b.NewArray()
}

// ProcessWatermark implements operator.Operator: a SESSION window TVF
// emits the rows of every session whose end - 1 <= wm. A processing-time
// window ignores watermarks except the final one.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if o.sess == nil || (o.w.ProcTime && wm != stream.MaxWatermark) {
		return nil
	}
	if err := o.sess.watermark(ctx, wm, out); err != nil {
		return fmt.Errorf("window_assign %s (SESSION): %w", o.id, err)
	}
	return nil
}

// OnProcessingTime implements operator.ProcessingTimeHandler: a
// processing-time SESSION window TVF emits the sessions whose end - 1 <=
// nowMs.
func (o *Operator) OnProcessingTime(ctx context.Context, nowMs int64, out operator.Collector) error {
	if o.sess == nil || !o.w.ProcTime {
		return nil
	}
	if err := o.sess.fire(ctx, nowMs, out); err != nil {
		return fmt.Errorf("window_assign %s (SESSION): %w", o.id, err)
	}
	return nil
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
	if o.sess != nil {
		o.sess.close()
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

// parseLimit reads the buffer limit option.
func parseLimit(cfg map[string]string) (int, error) {
	s, ok := cfg[BufferLimitOption]
	if !ok {
		return DefaultBufferLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("option '%s' = '%s': want a positive integer (number of buffered rows)", BufferLimitOption, s)
	}
	return n, nil
}

// keyGroupOf returns the key group of a partition key hash.
func keyGroupOf(h uint64, maxP int) int { return keygroup.Of(h, maxP) }

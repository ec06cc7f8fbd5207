package windowjoin

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// OutputBatchRows is the largest batch the operator emits, and the number
// of candidate pairs it joins at a time.
const OutputBatchRows = winbuf.OutputBatchRows

// Metric names.
const (
	LateRecordsMetric      = winbuf.LateRecordsMetric
	LeftLateRecordsMetric  = "left_late_records_dropped"
	RightLateRecordsMetric = "right_late_records_dropped"
	NullRowtimeMetric      = winbuf.NullRowtimeMetric
)

var sideName = [2]string{"left", "right"}

// Operator is the window join. See the package comment.
type Operator struct {
	id   string
	spec *jobgraph.WindowJoinSpec
	out  *arrow.Schema
	// width[s] is the number of columns of side s, when known: from the
	// output schema, or (the right side of SEMI and ANTI) from its first
	// batch.
	width [2]int

	oc       *operator.Context
	mem      memory.Allocator
	log      *slog.Logger
	input    [2]winbuf.Input
	late     operator.Counter
	sideLate [2]operator.Counter
	nulls    operator.Counter
	warned   bool

	// Bound by each side's first batch.
	keys     [2]*winbuf.Keys
	residual expr.Evaluator

	wins map[winbuf.Key]*window
	snap snapState // snapshot.go
	wm   int64
	next int64 // no window ends before next

	// Scratch.
	tbl    *hashtable.Table
	split  [2]winbuf.Split[winbuf.Key]
	fire   []winbuf.Key
	valid  [2][]int32
	group  []uint32
	head   []int32
	chain  []int32
	li, ri []int32
	hit    [2][]bool
	idx    []int32
}

// window holds one window's rows of each side.
type window struct {
	recs [2][]arrow.RecordBatch
	// saved[s] is the number of recs[s] a snapshot has written; kgs is
	// the set of key groups the window wrote into (nil: none).
	saved [2]int
	kgs   []uint64
}

// New builds a window join from its spec.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	js := spec.WindowJoin
	if js == nil {
		return nil, fmt.Errorf("window_join %s: spec has no window_join part", spec.ID)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("window_join %s: %s", spec.ID, fmt.Sprintf(format, args...))
	}
	switch js.Type {
	case jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin:
	default:
		return nil, fail("unknown join type %q", js.Type)
	}
	if len(js.LeftKeys) != len(js.RightKeys) {
		return nil, fail("%d left keys but %d right keys", len(js.LeftKeys), len(js.RightKeys))
	}
	for _, c := range []int{js.LeftWindowStart, js.LeftWindowEnd, js.RightWindowStart, js.RightWindowEnd} {
		if c < 0 {
			return nil, fail("window column %d is invalid", c)
		}
	}
	if js.LeftWindowStart == js.LeftWindowEnd || js.RightWindowStart == js.RightWindowEnd {
		return nil, fail("window_start and window_end are the same column")
	}
	o := &Operator{id: spec.ID, spec: js, out: spec.Output.Arrow(), wins: map[winbuf.Key]*window{}, wm: stream.MinWatermark, next: math.MaxInt64}
	// The split of the output between the sides is known from the first
	// batch of either side.
	o.width = [2]int{-1, -1}
	if o.semi() {
		o.width[0] = spec.Output.Len()
	}
	return o, nil
}

// semi reports whether the join emits left columns only.
func (o *Operator) semi() bool {
	return o.spec.Type == jobgraph.SemiJoin || o.spec.Type == jobgraph.AntiJoin
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
	o.late = counter(oc.Metrics, LateRecordsMetric, "Rows dropped because their window had already been joined.")
	o.sideLate[0] = counter(oc.Metrics, LeftLateRecordsMetric, "Left rows dropped because their window had already been joined.")
	o.sideLate[1] = counter(oc.Metrics, RightLateRecordsMetric, "Right rows dropped because their window had already been joined.")
	o.nulls = counter(oc.Metrics, NullRowtimeMetric, "Rows dropped because their window columns were NULL.")
	if err := o.snap.open(oc.State); err != nil {
		return fmt.Errorf("window_join %s: %w", o.id, err)
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

// bind checks side s's first batch against the spec and the other side.
func (o *Operator) bind(s int, sc *arrow.Schema) error {
	js := o.spec
	ws, we, keys := js.LeftWindowStart, js.LeftWindowEnd, js.LeftKeys
	if s == 1 {
		ws, we, keys = js.RightWindowStart, js.RightWindowEnd, js.RightKeys
	}
	nf := sc.NumFields()
	for _, c := range []int{ws, we} {
		if c >= nf {
			return fmt.Errorf("window column %d is out of range: input has %d columns %s", c, nf, sc)
		}
		if t := sc.Field(c).Type; t.ID() != arrow.TIMESTAMP {
			return fmt.Errorf("window column %d (%s) is %s, want TIMESTAMP(3)", c, sc.Field(c).Name, t)
		}
	}
	for _, c := range keys {
		if c < 0 || c >= nf {
			return fmt.Errorf("key column %d is out of range: input has %d columns %s", c, nf, sc)
		}
	}
	// The output columns of this side: the left columns then the right
	// ones (the left ones only for SEMI and ANTI).
	if !o.semi() || s == 0 {
		if o.width[s] < 0 {
			o.width[s], o.width[1-s] = nf, o.out.NumFields()-nf
		}
		if nf != o.width[s] || (!o.semi() && o.width[1-s] < 1) {
			return fmt.Errorf("input has %d columns, which does not fit the %d output columns %s", nf, o.out.NumFields(), o.out)
		}
		off := 0
		if s == 1 {
			off = o.width[0]
		}
		for i := 0; i < nf; i++ {
			if t, want := sc.Field(i).Type, o.out.Field(off+i).Type; !arrow.TypeEqual(t, want) {
				return fmt.Errorf("input column %d (%s) is %s but output column %d (%s) is %s", i, sc.Field(i).Name, t, off+i, o.out.Field(off+i).Name, want)
			}
		}
	} else {
		o.width[1] = nf
	}
	var err error
	if o.keys[s], err = winbuf.NewKeys(sc, keys); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	if other := o.input[1-s].Schema; other != nil {
		l, r := sc, other
		if s == 1 {
			l, r = other, sc
		}
		for i := range js.LeftKeys {
			lt, rt := l.Field(js.LeftKeys[i]).Type, r.Field(js.RightKeys[i]).Type
			if !arrow.TypeEqual(lt, rt) {
				return fmt.Errorf("join key %d: left column %s is %s but right column %s is %s", i, l.Field(js.LeftKeys[i]).Name, lt, r.Field(js.RightKeys[i]).Name, rt)
			}
		}
		if js.Residual != nil {
			joined, err := joinedSchema(l, r)
			if err != nil {
				return err
			}
			env := expr.Env{Functions: o.oc.Functions, Now: o.oc.Now}
			if o.residual, err = expr.CompileWith(js.Residual, joined, env); err != nil {
				return fmt.Errorf("residual condition: %w", err)
			}
			if k := o.residual.Type().Kind; k != types.Boolean && k != types.Null {
				return fmt.Errorf("residual condition is %s, want BOOLEAN", o.residual.Type())
			}
		}
	}
	return nil
}

// joinedSchema returns the SQL schema of left columns then right columns.
func joinedSchema(l, r *arrow.Schema) (types.Schema, error) {
	var s types.Schema
	for _, sc := range []*arrow.Schema{l, r} {
		for _, f := range sc.Fields() {
			t, err := sqlType(f.Type)
			if err != nil {
				return s, fmt.Errorf("column %s: %w", f.Name, err)
			}
			s.Fields = append(s.Fields, types.Field{Name: f.Name, Type: t})
		}
	}
	return s, nil
}

// sqlType returns the SQL type whose Arrow type is t.
func sqlType(t arrow.DataType) (types.Type, error) {
	switch t.ID() {
	case arrow.BOOL:
		return types.BooleanType, nil
	case arrow.INT32:
		return types.IntType, nil
	case arrow.INT64:
		return types.BigIntType, nil
	case arrow.FLOAT64:
		return types.DoubleType, nil
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		return types.DecimalType(int(d.Precision), int(d.Scale)), nil
	case arrow.STRING:
		return types.StringType, nil
	case arrow.TIMESTAMP:
		return types.TimestampType, nil
	}
	return types.Type{}, fmt.Errorf("unsupported column type %s", t)
}

// ProcessBatch implements operator.Operator: input 0 is the left side,
// input 1 the right.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if input != 0 && input != 1 {
		return fmt.Errorf("window_join %s: input %d: the join has inputs 0 (left) and 1 (right)", o.id, input)
	}
	if err := o.add(input, b); err != nil {
		return fmt.Errorf("window_join %s: %s input: %w", o.id, sideName[input], err)
	}
	return nil
}

func (o *Operator) add(s int, b stream.Batch) error {
	if ok, err := o.input[s].Admit(b, "a window join", func(sc *arrow.Schema) error { return o.bind(s, sc) }); !ok || err != nil {
		return err
	}
	rec, n := b.Record, b.NumRows()
	ws, we := o.spec.LeftWindowStart, o.spec.LeftWindowEnd
	if s == 1 {
		ws, we = o.spec.RightWindowStart, o.spec.RightWindowEnd
	}
	sc, ok1 := rec.Column(ws).(*array.Timestamp)
	ec, ok2 := rec.Column(we).(*array.Timestamp)
	if !ok1 || !ok2 {
		return fmt.Errorf("window columns are %s and %s, want TIMESTAMP(3)", rec.Column(ws).DataType(), rec.Column(we).DataType())
	}
	starts, ends := rowkey.TimestampValues(sc), rowkey.TimestampValues(ec)
	anyNull := sc.NullN() > 0 || ec.NullN() > 0
	nulls, late := 0, 0
	sp := &o.split[s]
	sp.Reset(n)
	for i := 0; i < n; i++ {
		if anyNull && (sc.IsNull(i) || ec.IsNull(i)) {
			nulls++
			sp.Drop(i)
			continue
		}
		k := winbuf.Key{Start: starts[i], End: ends[i]}
		if k.End-1 <= o.wm {
			late++
			sp.Drop(i)
			continue
		}
		sp.Add(i, k)
	}
	if nulls > 0 {
		o.nulls.Add(float64(nulls))
		if !o.warned {
			o.warned = true
			o.log.Warn("window_join: dropping rows whose window_start or window_end is NULL", "operator", o.id, "side", sideName[s])
		}
	}
	if late > 0 {
		o.late.Add(float64(late))
		o.sideLate[s].Add(float64(late))
	}
	if len(sp.Windows()) == 0 {
		return nil
	}
	sp.Finish()
	for i, k := range sp.Windows() {
		var part arrow.RecordBatch
		if sel := sp.Rows(i); sel == nil {
			rec.Retain()
			part = rec
		} else {
			var err error
			if part, err = expr.TakeRecord(rec, sel, o.mem); err != nil {
				return err
			}
		}
		w := o.wins[k]
		if w == nil {
			w = &window{}
			o.wins[k] = w
			o.next = min(o.next, k.End)
		}
		w.recs[s] = append(w.recs[s], part)
	}
	return nil
}

// ProcessWatermark implements operator.Operator: it joins and emits, in
// window-end order, every window whose end - 1 <= wm (the minimum of both
// inputs' watermarks).
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	if wm < o.next-1 {
		return nil
	}
	o.fire = o.fire[:0]
	next := int64(math.MaxInt64)
	for k := range o.wins {
		if k.End-1 <= wm {
			o.fire = append(o.fire, k)
		} else {
			next = min(next, k.End)
		}
	}
	o.next = next
	slices.SortFunc(o.fire, winbuf.Key.Compare)
	for _, k := range o.fire {
		w := o.wins[k]
		delete(o.wins, k)
		err := o.join(ctx, w, out)
		w.release()
		if err == nil && w.kgs != nil {
			err = o.dropState(k, w)
		}
		if err != nil {
			return fmt.Errorf("window_join %s: window [%d, %d): %w", o.id, k.Start, k.End, err)
		}
	}
	return nil
}

func (w *window) release() {
	for s := range w.recs {
		for _, r := range w.recs[s] {
			r.Release()
		}
		w.recs[s] = nil
	}
}

// Close implements operator.Operator: it releases every buffered batch.
func (o *Operator) Close(ctx context.Context) error {
	for k, w := range o.wins {
		w.release()
		delete(o.wins, k)
	}
	return nil
}

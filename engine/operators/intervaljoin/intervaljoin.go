package intervaljoin

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/join/joinrows"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// Metric names.
const (
	LateRecordsMetric      = "late_records_dropped"
	LeftLateRecordsMetric  = "left_late_records_dropped"
	RightLateRecordsMetric = "right_late_records_dropped"
)

// minRebuild is the number of keys without rows below which a side's key
// table is never rebuilt, and minArenaGarbage the bytes of dropped rows
// below which its arena is never compacted.
const (
	minRebuild      = 1024
	minArenaGarbage = 1 << 16
)

var sideName = joinrows.SideName

// Operator is the interval join. See the package comment.
type Operator struct {
	id   string
	spec *jobgraph.IntervalJoinSpec
	lay  *joinrows.Layout
	span int64 // UpperMs - LowerMs

	oc       *operator.Context
	mem      memory.Allocator
	log      *slog.Logger
	late     operator.Counter
	sideLate [2]operator.Counter

	keep     [2]bool // side s is preserved (outer, or the left of ANTI)
	residual expr.Evaluator
	out      *joinrows.Output
	st       [2]side
	wm       int64
	ss       snapState // snapshot bookkeeping (snapshot.go)

	// Per batch scratch.
	rows    rowkey.Rows
	times   []int64
	skip    []bool // NULL key or time
	pairs   joinrows.Pairs
	touched []int32
}

// side is one side's state.
type side struct {
	keys     *hashtable.Table // encoded key -> key id
	byKey    [][]int32        // per key id: its rows, sorted by time
	nonEmpty int              // key ids with rows
	ent      []entry
	free     []int32
	arena    []byte
	garbage  int
	heap     timeHeap
	live     int
	seq      uint64 // arrival number of the last row stored
	newTable func() *hashtable.Table
}

// entry is a stored row.
type entry struct {
	time    int64
	seq     uint64 // arrival number (state keys)
	off     int
	n       int32
	kid     int32
	matched bool
	live    bool
}

func (st *side) row(id int32) []byte {
	e := &st.ent[id]
	return st.arena[e.off : e.off+int(e.n)]
}

// New builds an interval join from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.IntervalJoin == nil {
		return nil, fmt.Errorf("intervaljoin: spec has no interval_join part")
	}
	js := spec.IntervalJoin
	fail := func(format string, args ...any) error {
		return fmt.Errorf("interval_join %s: %s", spec.ID, fmt.Sprintf(format, args...))
	}
	o := &Operator{id: spec.ID, spec: js, wm: stream.MinWatermark}
	switch js.Type {
	case jobgraph.InnerJoin, jobgraph.SemiJoin:
	case jobgraph.LeftJoin, jobgraph.AntiJoin:
		o.keep[0] = true
	case jobgraph.RightJoin:
		o.keep[1] = true
	case jobgraph.FullJoin:
		o.keep = [2]bool{true, true}
	default:
		return nil, fail("unknown join type %q", js.Type)
	}
	if js.LowerMs > js.UpperMs {
		return nil, fail("lower bound %d ms is above upper bound %d ms", js.LowerMs, js.UpperMs)
	}
	const limit = int64(1) << 61 // keeps every bound sum far from overflow
	if js.LowerMs < -limit || js.UpperMs > limit {
		return nil, fail("bounds [%d, %d] ms are out of range", js.LowerMs, js.UpperMs)
	}
	if js.LeftTime < 0 || js.RightTime < 0 {
		return nil, fail("time column %d/%d is invalid", js.LeftTime, js.RightTime)
	}
	o.span = js.UpperMs - js.LowerMs
	semi := js.Type == jobgraph.SemiJoin || js.Type == jobgraph.AntiJoin
	var err error
	if o.lay, err = joinrows.NewLayout(spec.Output.Arrow(), semi, js.LeftKeys, js.RightKeys); err != nil {
		return nil, fail("%v", err)
	}
	return o, nil
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
	o.late = counter(oc.Metrics, LateRecordsMetric, "Rows dropped because no row they could join was left.")
	o.sideLate[0] = counter(oc.Metrics, LeftLateRecordsMetric, "Left rows dropped because no row they could join was left.")
	o.sideLate[1] = counter(oc.Metrics, RightLateRecordsMetric, "Right rows dropped because no row they could join was left.")
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

// StoredRows returns the number of rows side s keeps in state.
func (o *Operator) StoredRows(s int) int { return o.st[s].live }

// sat returns a + b, saturated to the int64 range.
func sat(a, b int64) int64 {
	c := a + b
	if (c > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

func (o *Operator) timeCol(s int) int {
	if s == 0 {
		return o.spec.LeftTime
	}
	return o.spec.RightTime
}

// bind prepares side s after the layout bound its first batch.
func (o *Operator) bind(s int) error {
	sc := o.lay.Schema[s]
	tc := o.timeCol(s)
	if tc >= sc.NumFields() {
		return fmt.Errorf("time column %d is out of range: input has %d columns %s", tc, sc.NumFields(), sc)
	}
	if t := sc.Field(tc).Type; t.ID() != arrow.TIMESTAMP {
		return fmt.Errorf("time column %d (%s) is %s, want TIMESTAMP(3)", tc, sc.Field(tc).Name, t)
	}
	o.st[s].newTable = o.lay.KeyEnc[s].NewTable
	o.st[s].keys = o.st[s].newTable()
	if o.out == nil {
		var err error
		if o.out, err = o.lay.NewOutput(o.mem); err != nil {
			return err
		}
	}
	if o.lay.Schema[1-s] != nil && o.spec.Residual != nil {
		var err error
		o.residual, err = o.lay.Residual(o.spec.Residual, expr.Env{Functions: o.oc.Functions, Now: o.oc.Now})
		if err != nil {
			return err
		}
	}
	return nil
}

// ProcessBatch implements operator.Operator: input 0 is the left side,
// input 1 the right.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if input != 0 && input != 1 {
		return fmt.Errorf("interval_join %s: input %d: the join has inputs 0 (left) and 1 (right)", o.id, input)
	}
	if err := o.process(ctx, input, b, out); err != nil {
		return fmt.Errorf("interval_join %s: %s input: %w", o.id, sideName[input], err)
	}
	return nil
}

// window returns the range of times of the other side's rows that a row of
// side s with time t can join.
func (o *Operator) window(s int, t int64) (lo, hi int64) {
	if s == 0 { // r.time in [l.time - Upper, l.time - Lower]
		return sat(t, -o.spec.UpperMs), sat(t, -o.spec.LowerMs)
	}
	return sat(t, o.spec.LowerMs), sat(t, o.spec.UpperMs) // l.time in [r.time + Lower, r.time + Upper]
}

// expiry returns the time at or below which side s's rows leave the state
// at watermark wm.
func (o *Operator) expiry(s int, wm int64) int64 {
	if s == 0 {
		return sat(wm, o.spec.LowerMs)
	}
	return sat(wm, -o.spec.UpperMs)
}

func (o *Operator) process(ctx context.Context, s int, b stream.Batch, out operator.Collector) error {
	first := o.lay.Schema[s] == nil
	ok, err := o.lay.Admit(s, b, true, "an interval join")
	if !ok || err != nil {
		return err
	}
	if first {
		if err := o.bind(s); err != nil {
			return err
		}
	}
	rec, n := b.Record, b.NumRows()
	ke := o.lay.KeyEnc[s]
	if err := ke.Encode(rec); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	if err := o.lay.RowEnc[s].Encode(rec.Columns(), n, nil, &o.rows); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	tcol, ok := rec.Column(o.timeCol(s)).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("time column is %s, want TIMESTAMP(3)", rec.Column(o.timeCol(s)).DataType())
	}
	o.times = append(o.times[:0], rowkey.TimestampValues(tcol)...)
	o.skip = grow(o.skip, n)
	clear(o.skip)
	cols := append([]int{o.timeCol(s)}, o.lay.Keys[s]...)
	for _, c := range cols {
		if v, has := rowkey.ValidityOf(rec.Column(c)); has {
			for i := 0; i < n; i++ {
				if v.Null(i) {
					o.skip[i] = true
				}
			}
		}
	}

	// Late rows are dropped here; the others probe the other side.
	late := 0
	for i := 0; i < n; i++ {
		if !o.skip[i] && sat(o.times[i], o.span) <= o.wm {
			late++
		}
	}
	if late > 0 {
		o.late.Add(float64(late))
		o.sideLate[s].Add(float64(late))
	}
	if err := o.match(ctx, s, rec); err != nil {
		return err
	}

	st, other := &o.st[s], &o.st[1-s]
	exp := o.expiry(s, o.wm)
	semiType := o.spec.Type == jobgraph.SemiJoin
	for i := 0; i < n; i++ {
		x := o.rows.Row(i)
		if o.skip[i] {
			if o.keep[s] {
				if err := o.emitAlone(ctx, out, s, x); err != nil {
					return err
				}
			}
			continue
		}
		t := o.times[i]
		if sat(t, o.span) <= o.wm {
			continue // late
		}
		pairs := o.pairs.Of(i)
		matched := len(pairs) > 0
		for _, id := range pairs {
			y := &other.ent[id]
			yb := other.row(id)
			switch {
			case !o.lay.Semi:
				var err error
				if s == 0 {
					err = o.out.Add(ctx, out, x, yb, stream.Insert)
				} else {
					err = o.out.Add(ctx, out, yb, x, stream.Insert)
				}
				if err != nil {
					return err
				}
			case semiType && s == 1 && !y.matched:
				if err := o.out.Add(ctx, out, yb, nil, stream.Insert); err != nil {
					return err
				}
			}
			if !y.matched {
				y.matched = true
				o.noteMatched(1-s, id)
			}
		}
		if semiType && s == 0 && matched {
			if err := o.out.Add(ctx, out, x, nil, stream.Insert); err != nil {
				return err
			}
		}
		if t <= exp {
			// No future row can match it: it is not stored.
			if o.keep[s] && !matched {
				if err := o.emitAlone(ctx, out, s, x); err != nil {
					return err
				}
			}
			continue
		}
		id, err := st.add(o.lay.KeyEnc[s], i, t, x, matched)
		if err != nil {
			return err
		}
		o.noteAdded(s, id)
	}
	return o.out.Flush(ctx, out)
}

// emitAlone emits row x of side s without a partner: NULL-padded, or for
// ANTI as it is.
func (o *Operator) emitAlone(ctx context.Context, out operator.Collector, s int, x []byte) error {
	if s == 0 {
		return o.out.Add(ctx, out, x, nil, stream.Insert)
	}
	return o.out.Add(ctx, out, nil, x, stream.Insert)
}

// match finds, for every row of the batch of side s that is neither late
// nor has a NULL key or time, the other side's stored rows it joins. The
// pairs go to pairRow/pairID in row order, and start indexes them by row.
func (o *Operator) match(ctx context.Context, s int, rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	o.pairs.Row, o.pairs.ID = o.pairs.Row[:0], o.pairs.ID[:0]
	o.pairs.Probe, o.pairs.Cand = o.pairs.Probe[:0], o.pairs.Cand[:0]
	o.pairs.CandRows.Reset()
	other := &o.st[1-s]
	if other.keys != nil && other.live > 0 {
		ke := o.lay.KeyEnc[s]
		for i := 0; i < n; i++ {
			t := o.times[i]
			if o.skip[i] || sat(t, o.span) <= o.wm {
				continue
			}
			kid, ok := other.keys.Find(ke.Hashes[i], ke.Rows.Row(i))
			if !ok {
				continue
			}
			ids := other.byKey[kid]
			lo, hi := o.window(s, t)
			j := sort.Search(len(ids), func(j int) bool { return other.ent[ids[j]].time >= lo })
			for ; j < len(ids) && other.ent[ids[j]].time <= hi; j++ {
				id := ids[j]
				if o.residual == nil {
					o.pairs.Row = append(o.pairs.Row, int32(i))
					o.pairs.ID = append(o.pairs.ID, id)
					continue
				}
				o.pairs.Probe = append(o.pairs.Probe, int32(i))
				o.pairs.Cand = append(o.pairs.Cand, id)
				o.pairs.CandRows.Add(other.row(id))
				if len(o.pairs.Probe) >= joinrows.OutputBatchRows {
					if err := o.pairs.Filter(ctx, o.lay, o.residual, s, rec, o.mem); err != nil {
						return err
					}
				}
			}
		}
		if err := o.pairs.Filter(ctx, o.lay, o.residual, s, rec, o.mem); err != nil {
			return err
		}
	}
	o.pairs.Index(n)
	return nil
}

// ProcessWatermark implements operator.Operator: it drops the rows no
// future row can match (emitting the unmatched rows of a preserved side)
// and compacts the state.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	for s := range o.st {
		if err := o.expire(ctx, s, out); err != nil {
			return fmt.Errorf("interval_join %s: %s rows: %w", o.id, sideName[s], err)
		}
	}
	if o.out != nil {
		if err := o.out.Flush(ctx, out); err != nil {
			return fmt.Errorf("interval_join %s: %w", o.id, err)
		}
	}
	return nil
}

// expire drops side s's rows with time <= expiry(s, wm).
func (o *Operator) expire(ctx context.Context, s int, out operator.Collector) error {
	st := &o.st[s]
	exp := o.expiry(s, o.wm)
	o.touched = o.touched[:0]
	for st.heap.Len() > 0 && st.heap.min().time <= exp {
		it := st.heap.pop()
		o.noteExpired(s, it.id)
		e := &st.ent[it.id]
		if o.keep[s] && !e.matched {
			if err := o.emitAlone(ctx, out, s, st.row(it.id)); err != nil {
				return err
			}
		}
		e.live = false
		st.live--
		st.garbage += int(e.n)
		o.touched = append(o.touched, e.kid)
	}
	// Rows leave in time order, so each key loses a prefix of its rows.
	for _, kid := range o.touched {
		ids := st.byKey[kid]
		k := 0
		for k < len(ids) && !st.ent[ids[k]].live {
			st.free = append(st.free, ids[k])
			k++
		}
		if k == 0 {
			continue
		}
		if k == len(ids) {
			st.byKey[kid] = ids[:0]
			st.nonEmpty--
			continue
		}
		st.byKey[kid] = ids[k:]
	}
	st.compact()
	return nil
}

// Close implements operator.Operator: it drops the state and releases the
// output builders.
func (o *Operator) Close(ctx context.Context) error {
	if o.out != nil {
		o.out.Release()
		o.out = nil
	}
	o.lay.Release()
	o.st = [2]side{}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

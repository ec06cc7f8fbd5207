package groupagg

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Job options, defaults and metrics.
const (
	// MiniBatchSizeOption is the number of input rows after which the
	// local phase flushes its partial results (Flink's option name).
	MiniBatchSizeOption = "table.exec.mini-batch.size"
	// DefaultMiniBatchSize is the flush interval when the job sets none.
	DefaultMiniBatchSize = 10000
	// StateExpiredMetric counts the groups dropped by the state TTL.
	StateExpiredMetric = "state_expired"
	// IgnoredRetractionsMetric counts -U/-D rows dropped because their
	// group held no row (its state expired, or the input retracted a row
	// it never inserted).
	IgnoredRetractionsMetric = "retractions_ignored"
	// minCompact is the number of dead groups (keys whose state was
	// dropped) below which the group table is never rebuilt.
	minCompact = 1024
)

// Operator is the group aggregate. See the package comment.
type Operator struct {
	spec    *jobgraph.GroupAggSpec
	id      string
	out     *arrow.Schema
	nk      int
	local   bool
	retract bool

	oc       *operator.Context
	mem      memory.Allocator
	now      func() int64
	expired  operator.Counter
	ignored  operator.Counter
	miniSize int

	// Bound by the first batch.
	in     *arrow.Schema
	keys   *winbuf.Keys
	calls  *agg.Calls
	resEnc *rowkey.Encoder // the aggregate results, exactly
	table  *hashtable.Table

	// One phase: the state of every group, its live row count (0: the group
	// holds no row and no state; its key may stay in the table, "dead"),
	// and the processing time it was last touched (with a TTL).
	st        *agg.GroupState
	live      []int64
	seen      []int64
	liveCount int
	nextSweep int64

	// One phase with a MiniBatch spec: the buffered input.
	mini miniBatch

	// The state cache (cache.go): the most live groups kept in memory (0:
	// no limit), whether keyed state may hold groups not in memory, the
	// logical clock (one tick per batch) and each group's last tick.
	limit       int
	writeBehind int // most changed groups held unwritten (0: no limit)
	spilled     bool
	clock       uint64
	stamp       []uint64
	cm          statecache.Metrics
	lookups     statecache.KeyBatch

	// Snapshot bookkeeping (snapshot.go).
	snap snap

	// Local phase: the partial results since the last flush.
	part    *agg.Groups
	pending int

	rb      *array.RecordBuilder // output rows
	resB    []array.Builder      // result columns, for before/after
	resType []arrow.DataType

	// Scratch reused from batch to batch.
	groups          []uint32
	mark            []bool
	touched         []uint32
	existed         []bool
	accSel, retSel  []int32
	accG, retG      []uint32
	beforeG, afterG []uint32
	beforeR, afterR rowkey.Rows
	outBefore       []int // rows of beforeR to emit
	outAfter        []int // rows of afterR to emit
	starts          []int
	outGroups       []uint32
}

// nopCounter is the counter of a context without metrics.
type nopCounter struct{}

func (nopCounter) Add(float64) {}

// procOperator is a group aggregate with a state TTL: it also implements
// operator.ProcessingTimeHandler, to expire groups while no row arrives.
type procOperator struct{ *Operator }

// New builds a group aggregate from its spec (operator.Factory). A spec
// with a state TTL gives an operator that also implements
// operator.ProcessingTimeHandler.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.GroupAgg == nil {
		return nil, fmt.Errorf("groupagg: spec has no group_agg part")
	}
	gs := spec.GroupAgg
	fail := func(format string, args ...any) error {
		return fmt.Errorf("group_agg %s: %s", spec.ID, fmt.Sprintf(format, args...))
	}
	nk, na := len(gs.GroupKeys), len(gs.Aggs)
	if got, want := spec.Output.Len(), nk+na; got != want {
		return nil, fail("output has %d columns, want %d (%d group keys, %d aggregates)", got, want, nk, na)
	}
	if gs.TTLMs < 0 {
		return nil, fail("state TTL is %d ms; it must be positive, or 0 for none", gs.TTLMs)
	}
	local := false
	switch gs.Phase {
	case jobgraph.OnePhase:
	case jobgraph.LocalPhase:
		local = true
		if gs.InputRetracts {
			return nil, fail("the local phase of a two-phase aggregation takes append-only input, but the input retracts")
		}
	default:
		return nil, fail("unknown aggregation phase %q", gs.Phase)
	}
	for i, c := range gs.Aggs {
		if !c.Type.SameValues(spec.Output.Fields[nk+i].Type) {
			return nil, fail("aggregate %d (%s) has type %s but output column %d is %s", i, c.Name, c.Type, nk+i, spec.Output.Fields[nk+i].Type)
		}
		if (c.Func == jobgraph.CountStar) != (c.Arg < 0) {
			return nil, fail("aggregate %d (%s): %s with argument column %d", i, c.Name, c.Func, c.Arg)
		}
		if gs.InputRetracts {
			switch c.Func {
			case jobgraph.ApproxCountDistinct:
				return nil, fail("aggregate %d (%s): APPROX_COUNT_DISTINCT cannot take back the -U/-D rows of its updating input; the planner must not give it a retracting input", i, c.Name)
			case jobgraph.UDAF:
				return nil, fail("aggregate %d (%s): user-defined aggregate %q cannot take back the -U/-D rows of its updating input; the planner must not give it a retracting input", i, c.Name, c.UDF)
			}
		}
		if local {
			switch {
			case c.Distinct:
				return nil, fail("aggregate %d (%s): the local phase cannot pre-aggregate DISTINCT", i, c.Name)
			case c.Func == jobgraph.CountStar, c.Func == jobgraph.Count, c.Func == jobgraph.Sum, c.Func == jobgraph.Min, c.Func == jobgraph.Max:
			default:
				return nil, fail("aggregate %d (%s): the local phase pre-aggregates COUNT, SUM, MIN and MAX only, not %s", i, c.Name, c.Func)
			}
		}
	}
	for _, f := range spec.Output.Fields {
		if f.Type.Kind == types.Null || f.Type.Kind == types.Interval {
			return nil, fail("output column %s has type %s", f.Name, f.Type)
		}
	}
	o := &Operator{spec: gs, id: spec.ID, out: spec.Output.Arrow(), nk: nk, local: local, retract: gs.InputRetracts}
	if m := gs.MiniBatch; m != nil && (m.Size < 1 || m.LatencyMs < 1) {
		return nil, fail("mini-batch of %d rows or %d ms: both must be positive", m.Size, m.LatencyMs)
	}
	if (gs.TTLMs > 0 || gs.MiniBatch != nil) && !local {
		return procOperator{o}, nil
	}
	return o, nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc, o.mem, o.now = oc, oc.Alloc, oc.Now
	if o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	if o.now == nil {
		o.now = func() int64 { return time.Now().UnixMilli() }
	}
	o.expired, o.ignored = nopCounter{}, nopCounter{}
	if oc.Metrics != nil {
		o.expired = oc.Metrics.Counter(StateExpiredMetric, "Groups dropped because they were not touched for the state TTL.")
		o.ignored = oc.Metrics.Counter(IgnoredRetractionsMetric, "Retracting rows (-U/-D) dropped because their group held no row.")
	}
	o.cm = statecache.NewMetrics(oc)
	if !o.local {
		var err error
		if o.limit, err = statecache.Limit(oc); err != nil {
			return fmt.Errorf("group_agg %s: %w", o.id, err)
		}
		if o.writeBehind, err = statecache.WriteBehind(oc); err != nil {
			return fmt.Errorf("group_agg %s: %w", o.id, err)
		}
	}
	o.miniSize = DefaultMiniBatchSize
	if v, ok := oc.Config[MiniBatchSizeOption]; ok && o.local {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("group_agg %s: option '%s' = '%s': want a positive number of rows", o.id, MiniBatchSizeOption, v)
		}
		o.miniSize = n
	}
	o.rb = array.NewRecordBuilder(o.mem, o.out)
	return nil
}

// bind checks the first batch's schema and prepares the key encoder and
// the aggregate state.
func (o *Operator) bind(s *arrow.Schema) error {
	for i, c := range o.spec.GroupKeys {
		if c < 0 || c >= s.NumFields() {
			return fmt.Errorf("group key column %d is out of range: input has %d columns %s", c, s.NumFields(), s)
		}
		if got, want := s.Field(c).Type, o.out.Field(i).Type; !arrow.TypeEqual(got, want) {
			return fmt.Errorf("group key %d (input column %s) is %s but output column %s is %s", i, s.Field(c).Name, got, o.out.Field(i).Name, want)
		}
	}
	keys, err := winbuf.NewKeys(s, o.spec.GroupKeys)
	if err != nil {
		return fmt.Errorf("group keys: %w", err)
	}
	calls, err := agg.Bind(o.spec.Aggs, s, o.oc.Functions)
	if err != nil {
		return err
	}
	o.keys, o.calls, o.table = keys, calls, keys.NewTable()
	if o.local {
		o.part, err = calls.NewGroups()
		return err
	}
	if o.st, err = calls.NewGroupState(o.retract); err != nil {
		return err
	}
	o.resType = make([]arrow.DataType, len(o.spec.Aggs))
	o.resB = make([]array.Builder, len(o.spec.Aggs))
	for i := range o.resType {
		o.resType[i] = o.out.Field(o.nk + i).Type
		o.resB[i] = array.NewBuilder(o.mem, o.resType[i])
	}
	if o.resEnc, err = rowkey.NewRowEncoder(o.resType); err != nil {
		return fmt.Errorf("aggregate results: %w", err)
	}
	return nil
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	o.snap.replay = false
	var err error
	switch {
	case o.local:
		err = o.processLocal(ctx, b, out)
	case o.spec.MiniBatch != nil:
		err = o.buffer(ctx, b, out)
	default:
		err = o.process(ctx, b, out)
	}
	if err != nil {
		return fmt.Errorf("group_agg %s: %w", o.id, err)
	}
	return nil
}

// admit checks b and reports whether it has rows; the first batch binds
// the operator.
func (o *Operator) admit(b stream.Batch) (bool, error) {
	if b.NumRows() == 0 {
		return false, nil
	}
	if b.Kinds != nil && len(b.Kinds) != b.NumRows() {
		return false, fmt.Errorf("batch has %d rows but %d row kinds", b.NumRows(), len(b.Kinds))
	}
	if !o.retract {
		for i, k := range b.Kinds {
			if k.IsRetract() {
				return false, fmt.Errorf("row %d is %s, but the plan says the input is append-only (no -U/-D rows)", i, k)
			}
		}
	}
	s := b.Record.Schema()
	if o.in == nil {
		if err := o.bind(s); err != nil {
			return false, err
		}
		o.in = s
	} else if s != o.in && !s.Equal(o.in) {
		return false, fmt.Errorf("input schema changed from %s to %s", o.in, s)
	}
	return true, nil
}

// lookup finds or inserts the group of every row of rec into o.groups.
func (o *Operator) lookup(rec arrow.RecordBatch) ([]uint32, error) {
	if err := o.keys.Encode(rec); err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	o.groups = grow(o.groups, n)
	if _, err := o.table.FindOrInsert(o.keys.Hashes, &o.keys.Rows, nil, o.groups); err != nil {
		return nil, err
	}
	return o.groups, nil
}

// process folds a batch into the groups and emits the changes of the
// groups it touched.
func (o *Operator) process(ctx context.Context, b stream.Batch, out operator.Collector) error {
	if ok, err := o.admit(b); !ok || err != nil {
		return err
	}
	now := o.now()
	if err := o.sweep(now); err != nil {
		return err
	}
	rec := b.Record
	known := o.table.Len()
	groups, err := o.lookup(rec)
	if err != nil {
		return err
	}
	ng := o.table.Len()
	o.st.Grow(ng)
	o.live, o.seen, o.mark = grow(o.live, ng), grow(o.seen, ng), grow(o.mark, ng)
	o.clock++
	o.stamp = grow(o.stamp, ng)
	if o.spilled && ng > known {
		if err := o.load(uint32(known), uint32(ng), now); err != nil {
			return err
		}
	}

	// Split the rows into accumulations and retractions, noting the groups
	// touched and whether each held rows before.
	o.touched, o.existed = o.touched[:0], o.existed[:0]
	o.accSel, o.accG, o.retSel, o.retG = o.accSel[:0], o.accG[:0], o.retSel[:0], o.retG[:0]
	ignored := 0
	live, mark := o.live, o.mark
	for k, g := range groups {
		if !mark[g] {
			mark[g] = true
			o.touched = append(o.touched, g)
			o.existed = append(o.existed, live[g] > 0)
		}
		if b.Kinds != nil && b.Kinds[k].IsRetract() {
			if live[g] == 0 {
				ignored++
				continue
			}
			live[g]--
			o.retSel, o.retG = append(o.retSel, int32(k)), append(o.retG, g)
			continue
		}
		live[g]++
		if b.Kinds != nil {
			o.accSel, o.accG = append(o.accSel, int32(k)), append(o.accG, g)
		}
	}
	if ignored > 0 {
		o.ignored.Add(float64(ignored))
	}
	accSel, accG := o.accSel, o.accG
	if b.Kinds == nil {
		accSel, accG = nil, groups
	}

	// The results before, the rows, the results after.
	o.beforeG, o.afterG = o.beforeG[:0], o.afterG[:0]
	for i, g := range o.touched {
		if o.existed[i] {
			o.beforeG = append(o.beforeG, g)
		}
	}
	if err := o.results(o.beforeG, &o.beforeR); err != nil {
		return err
	}
	if len(accG) > 0 {
		if err := o.st.Update(rec, accG, accSel); err != nil {
			return err
		}
	}
	if len(o.retG) > 0 {
		if err := o.st.Retract(rec, o.retG, o.retSel); err != nil {
			return err
		}
	}
	for _, g := range o.touched {
		if live[g] > 0 {
			o.afterG = append(o.afterG, g)
		}
	}
	if err := o.results(o.afterG, &o.afterR); err != nil {
		return err
	}

	// Compare, and choose the rows to emit: first every -U and -D (from
	// the results before), then every +I and +U (after), so each key's
	// changes come in order.
	o.outBefore, o.outAfter = o.outBefore[:0], o.outAfter[:0]
	var nBefore []stream.RowKind
	var nAfter []stream.RowKind
	bi, ai := 0, 0
	for i, g := range o.touched {
		mark[g] = false
		o.seen[g] = now
		o.stamp[g] = o.clock
		o.snap.dirty.Add(g)
		had, has := o.existed[i], live[g] > 0
		switch {
		case had && has:
			if !bytes.Equal(o.beforeR.Row(bi), o.afterR.Row(ai)) {
				if o.spec.EmitUpdateBefore {
					o.outBefore = append(o.outBefore, bi)
					nBefore = append(nBefore, stream.UpdateBefore)
				}
				o.outAfter = append(o.outAfter, ai)
				nAfter = append(nAfter, stream.UpdateAfter)
			}
		case has:
			o.outAfter = append(o.outAfter, ai)
			nAfter = append(nAfter, stream.Insert)
			o.liveCount++
		case had:
			o.outBefore = append(o.outBefore, bi)
			nBefore = append(nBefore, stream.Delete)
			o.st.Clear(g)
			o.liveCount--
		default:
			// Rows came and went within the batch.
			o.st.Clear(g)
		}
		if had {
			bi++
		}
		if has {
			ai++
		}
	}
	if err := o.emitChanges(ctx, out, append(nBefore, nAfter...)); err != nil {
		return err
	}
	if o.limit > 0 && o.table.Len() > o.limit {
		if err := o.evict(); err != nil {
			return err
		}
	} else if err := o.maybeCompact(); err != nil {
		return err
	}
	if o.writeBehind > 0 && o.snap.dirty.Len() > o.writeBehind {
		if err := o.tables(); err != nil {
			return err
		}
		return o.writeDirty()
	}
	return nil
}

// results builds the results of groups and encodes them into rows.
func (o *Operator) results(groups []uint32, rows *rowkey.Rows) error {
	if err := o.st.BuildGroups(o.resB, groups); err != nil {
		return err
	}
	arrs := make([]arrow.Array, len(o.resB))
	for i, bd := range o.resB {
		arrs[i] = bd.NewArray()
	}
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	return o.resEnc.Encode(arrs, len(groups), nil, rows)
}

// emitChanges emits the chosen rows: the keys of their groups and their
// results, decoded a column at a time, with their kinds.
func (o *Operator) emitChanges(ctx context.Context, out operator.Collector, kinds []stream.RowKind) error {
	n := len(kinds)
	if n == 0 {
		return nil
	}
	o.outGroups = o.outGroups[:0]
	for _, r := range o.outBefore {
		o.outGroups = append(o.outGroups, o.beforeG[r])
	}
	for _, r := range o.outAfter {
		o.outGroups = append(o.outGroups, o.afterG[r])
	}
	rb := o.rb
	rb.Reserve(n)
	bs := rb.Fields()
	if err := o.decodeKeys(o.outGroups, bs[:o.nk]); err != nil {
		return err
	}
	for _, part := range []struct {
		rows *rowkey.Rows
		sel  []int
	}{{&o.beforeR, o.outBefore}, {&o.afterR, o.outAfter}} {
		if len(part.sel) == 0 {
			continue
		}
		o.starts = o.starts[:0]
		for _, r := range part.sel {
			o.starts = append(o.starts, int(part.rows.Offs[r]))
		}
		if err := o.resEnc.Decode(part.rows.Data, o.starts, bs[o.nk:]); err != nil {
			return fmt.Errorf("results: %w", err)
		}
	}
	rec := rb.NewRecordBatch()
	allInserts := true
	for _, k := range kinds {
		allInserts = allInserts && k == stream.Insert
	}
	if allInserts {
		kinds = nil
	}
	return out.Emit(ctx, stream.Batch{Record: rec, Kinds: kinds})
}

// decodeKeys appends the keys of groups to bs.
func (o *Operator) decodeKeys(groups []uint32, bs []array.Builder) error {
	if o.nk == 0 {
		return nil
	}
	data, offs := o.table.Arena()
	o.starts = o.starts[:0]
	for _, g := range groups {
		o.starts = append(o.starts, offs[g])
	}
	if err := o.keys.Encoder().Decode(data, o.starts, bs); err != nil {
		return fmt.Errorf("group keys: %w", err)
	}
	return nil
}

// sweep drops the groups not touched for the state TTL, at most every
// tenth of the TTL.
func (o *Operator) sweep(now int64) error {
	ttl := o.spec.TTLMs
	if ttl <= 0 || o.st == nil || now < o.nextSweep {
		return nil
	}
	o.nextSweep = now + max(ttl/10, 1)
	dropped := 0
	for g, n := range o.live {
		if n > 0 && now-o.seen[g] >= ttl {
			o.snap.dirty.Add(uint32(g))
			o.st.Clear(uint32(g))
			o.live[g] = 0
			dropped++
		}
	}
	if dropped == 0 {
		return nil
	}
	o.liveCount -= dropped
	o.expired.Add(float64(dropped))
	return o.maybeCompact()
}

// maybeCompact rebuilds the group table and state without the dead groups
// once they outnumber the live ones (and minCompact): each rebuild moves
// the live groups only, so its cost is paid for by the groups that died.
func (o *Operator) maybeCompact() error {
	dead := o.table.Len() - o.liveCount
	if dead < minCompact || dead <= o.liveCount {
		return nil
	}
	return o.compact(nil)
}

// compact rebuilds the group table and state from the live groups that
// drop (nil: none) does not name; the dead groups that changed since the
// last snapshot are recorded for deletion from keyed state. The dropped
// live groups must already be in keyed state.
func (o *Operator) compact(drop []bool) error {
	if o.snap.written {
		if err := o.tables(); err != nil {
			return err
		}
	}
	table := o.keys.NewTable()
	st, err := o.calls.NewGroupState(o.retract)
	if err != nil {
		return err
	}
	keep := func(g uint32) bool { return o.live[g] > 0 && (drop == nil || !drop[g]) }
	live, seen := make([]int64, 0, o.liveCount), make([]int64, 0, o.liveCount)
	stamp := make([]uint64, 0, o.liveCount)
	renum := make([]uint32, len(o.live))
	for g, n := range o.live {
		if !keep(uint32(g)) {
			if n <= 0 && o.snap.written && o.snap.dirty.Has(uint32(g)) {
				// Dropped since the last snapshot: delete it from keyed
				// state now, before a later row of its key looks there.
				if err := o.snap.groups.Delete(o.groupKey(o.snap.key[:0], uint32(g))); err != nil {
					return fmt.Errorf("delete group: %w", err)
				}
			}
			continue
		}
		id, _, err := table.FindOrInsertOne(o.table.Hash(uint32(g)), o.table.Key(uint32(g)))
		if err != nil {
			return err
		}
		st.Grow(int(id) + 1)
		if err := st.Merge(id, o.st, uint32(g)); err != nil {
			return fmt.Errorf("compacting group state: %w", err)
		}
		live, seen, stamp = append(live, n), append(seen, o.seen[g]), append(stamp, o.stampOf(uint32(g)))
		renum[g] = id
	}
	o.snap.dirty.Remap(func(g uint32) (uint32, bool) { return renum[g], keep(g) })
	o.table, o.st, o.live, o.seen, o.stamp = table, st, live, seen, stamp
	o.liveCount = len(live)
	o.mark = make([]bool, len(live))
	return nil
}

// processLocal folds a batch into the partial results, flushing them every
// mini-batch.
func (o *Operator) processLocal(ctx context.Context, b stream.Batch, out operator.Collector) error {
	if ok, err := o.admit(b); !ok || err != nil {
		return err
	}
	groups, err := o.lookup(b.Record)
	if err != nil {
		return err
	}
	o.part.Grow(o.table.Len())
	if err := o.part.Update(b.Record, groups, nil); err != nil {
		return err
	}
	o.pending += b.NumRows()
	o.snap.localChanged = true
	if o.pending >= o.miniSize {
		return o.flush(ctx, out)
	}
	return nil
}

// flush emits every partial result as a +I row and forgets them.
func (o *Operator) flush(ctx context.Context, out operator.Collector) error {
	o.pending = 0
	o.snap.localChanged = true
	n := o.table.Len()
	if n == 0 {
		return nil
	}
	o.rb.Reserve(n)
	bs := o.rb.Fields()
	if o.nk > 0 {
		data, offs := o.table.Arena()
		o.starts = append(o.starts[:0], offs[:n]...)
		if err := o.keys.Encoder().Decode(data, o.starts, bs[:o.nk]); err != nil {
			return fmt.Errorf("group keys: %w", err)
		}
	}
	if err := o.part.Build(bs[o.nk:]); err != nil {
		return err
	}
	o.table.Reset(n)
	o.part.Reset()
	return winbuf.Emit(ctx, out, o.rb, winbuf.OutputBatchRows)
}

// ProcessWatermark implements operator.Operator: the local phase flushes
// its partial results, a mini-batch aggregate folds in what it buffered;
// otherwise the aggregate has emitted everything already.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if o.snap.replay && wm != stream.MaxWatermark {
		// The watermark the runtime replays after a restore: it was
		// processed before the snapshot, and what is buffered now
		// arrived after it.
		o.snap.replay = false
		return nil
	}
	o.snap.replay = false
	if !o.local {
		if err := o.flushMini(ctx, out); err != nil {
			return fmt.Errorf("group_agg %s: %w", o.id, err)
		}
		return nil
	}
	if o.part == nil {
		return nil
	}
	if err := o.flush(ctx, out); err != nil {
		return fmt.Errorf("group_agg %s: %w", o.id, err)
	}
	return nil
}

// OnProcessingTime implements operator.ProcessingTimeHandler: it folds in
// a mini-batch whose oldest row has waited the allowed latency, and drops
// the groups the state TTL expires.
func (p procOperator) OnProcessingTime(ctx context.Context, nowMs int64, out operator.Collector) error {
	if m := p.spec.MiniBatch; m != nil && p.mini.rows > 0 && nowMs-p.mini.since >= m.LatencyMs {
		if err := p.flushMini(ctx, out); err != nil {
			return fmt.Errorf("group_agg %s: %w", p.id, err)
		}
	}
	if p.spec.TTLMs <= 0 {
		return nil
	}
	if err := p.sweep(nowMs); err != nil {
		return fmt.Errorf("group_agg %s: %w", p.id, err)
	}
	return nil
}

// Close implements operator.Operator.
func (o *Operator) Close(ctx context.Context) error {
	o.releaseMini()
	if o.rb != nil {
		o.rb.Release()
		o.rb = nil
	}
	for _, b := range o.resB {
		b.Release()
	}
	o.resB = nil
	o.st, o.part, o.table = nil, nil, nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		if n > old {
			clear(s[old:])
		}
		return s
	}
	t := make([]T, n, n+n/4)
	copy(t, s)
	return t
}

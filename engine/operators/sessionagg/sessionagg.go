package sessionagg

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/session"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Job options and defaults.
const (
	// BufferLimitOption caps the number of groups the operator keeps in
	// memory before it spills some to keyed state. It is the window
	// aggregate's option: session aggregation is a window aggregation.
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
	SpilledMetric     = winbuf.SpilledMetric
)

// The state table and the format of a session's spilled delta (package
// session stores the deltas of a spill round together):
//
//	delta = version (1 byte) | groups
//
// where, when the group keys are the partition keys, groups is the one
// group's agg.Groups.AppendState; otherwise each group is
//
//	group key hash (8 bytes LE) | group key length (uvarint) | encoded group key |
//	state length (4 bytes LE) | agg.Groups.AppendState
const (
	stateTable   = "session_agg.v1"
	stateVersion = 1
)

// compactMin is the number of dead groups (or stale sub-group entries) the
// operator tolerates before it rebuilds its accumulators (or sub-group
// table) with only the live ones. Tests lower it.
var compactMin = 4096

// Operator is the session window aggregate. See the package comment.
type Operator struct {
	id       string
	spec     *jobgraph.WindowAggSpec
	out      *arrow.Schema
	procTime bool
	// sub says the group keys go beyond the partition keys: sessions have
	// sub-groups.
	sub bool
	// partPos[j] is the output column of partition column j (when !sub).
	partPos []int

	oc      *operator.Context
	mem     memory.Allocator
	log     *slog.Logger
	input   winbuf.Input
	late    operator.Counter
	nulls   operator.Counter
	spilled operator.Counter
	table   state.Table
	snap    snapState // snapshot.go
	limit   int
	wm      int64
	warned  struct{ null, keyGroup bool }

	// Bound by the first batch.
	parts   *winbuf.Keys // the PARTITION BY columns
	gkeys   *winbuf.Keys // the group key columns (sub only)
	calls   *agg.Calls
	tr      *session.Tracker
	accs    *agg.Groups // live and dead groups
	spare   *agg.Groups // the accumulators rebuilds write into
	outAccs *agg.Groups // the groups being emitted
	tmpAccs *agg.Groups // a spilled session's groups, merged before they are emitted
	nAcc    int         // groups allocated in accs
	deadAcc int         // of which dead (fired, merged away, spilled)

	// head[s] is, for session s, its group in accs (!sub) or the first
	// entry of its sub-group list (sub); -1 when it has none in memory.
	head []int32

	// Sub-groups: entries of subs are keyed by session uid (8 bytes LE)
	// and encoded group key; an entry is live while entGroup >= 0.
	subs     *hashtable.Table
	entGroup []int32
	entNext  []int32
	entHash  []uint64 // the group key's hash

	// Scratch reused from batch to batch.
	ts       []int64
	valid    []int32
	pids     []uint32
	sess     []int32
	rows     []int32
	groups   []uint32
	comp     rowkey.Rows
	compHash []uint64
	ents     []uint32
	fired    []int32
	order    []int32
	kbuf     []byte
	sval     []byte
	starts   []int
	karena   []byte
	fk       *hashtable.Table
}

// New builds a session window aggregate from its spec.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	ws := spec.WindowAgg
	if ws == nil {
		return nil, fmt.Errorf("window_agg %s: spec has no window_agg part", spec.ID)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("window_agg %s (SESSION): %s", spec.ID, fmt.Sprintf(format, args...))
	}
	w := ws.Window
	if w.Kind != jobgraph.Session {
		return nil, fail("window is %s, want SESSION", w.Kind)
	}
	if w.SizeMs <= 0 || w.SizeMs > session.MaxGapMs {
		return nil, fail("gap %d ms must be positive and below %d ms", w.SizeMs, int64(session.MaxGapMs))
	}
	nk, na := len(ws.GroupKeys), len(ws.Aggs)
	if got, want := spec.Output.Len(), nk+2+na; got != want {
		return nil, fail("output has %d columns, want %d (%d group keys, window_start, window_end, %d aggregates)", got, want, nk, na)
	}
	for i := nk; i < nk+2; i++ {
		if t := spec.Output.Fields[i].Type; t.Kind != types.Timestamp {
			return nil, fail("output column %d (%s) is %s, want TIMESTAMP(3)", i, spec.Output.Fields[i].Name, t)
		}
	}
	for i, c := range ws.Aggs {
		if !c.Type.SameValues(spec.Output.Fields[nk+2+i].Type) {
			return nil, fail("aggregate %d (%s) has type %s but output column %d is %s", i, c.Name, c.Type, nk+2+i, spec.Output.Fields[nk+2+i].Type)
		}
		if (c.Func == jobgraph.CountStar) != (c.Arg < 0) {
			return nil, fail("aggregate %d (%s): %s with argument column %d", i, c.Name, c.Func, c.Arg)
		}
	}
	for _, f := range spec.Output.Fields {
		if f.Type.Kind == types.Null || f.Type.Kind == types.Interval {
			return nil, fail("output column %s has type %s", f.Name, f.Type)
		}
	}
	pos := map[int]int{}
	for i, c := range ws.GroupKeys {
		if _, dup := pos[c]; dup {
			return nil, fail("group key column %d is listed twice", c)
		}
		pos[c] = i
	}
	o := &Operator{id: spec.ID, spec: ws, out: spec.Output.Arrow(), procTime: w.ProcTime, sub: len(w.PartitionBy) != nk}
	seen := map[int]bool{}
	for _, c := range w.PartitionBy {
		i, ok := pos[c]
		if !ok {
			return nil, fail("group keys %v must include every PARTITION BY column %v of the session window (column %d is missing): "+
				"sessions of different partitions cannot be combined here; plan the SESSION TVF as window_assign followed by an aggregate", ws.GroupKeys, w.PartitionBy, c)
		}
		if seen[c] {
			return nil, fail("PARTITION BY column %d is listed twice", c)
		}
		seen[c] = true
		o.partPos = append(o.partPos, i)
	}
	return o, nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc, o.wm = oc, stream.MinWatermark
	if o.log = oc.Logger; o.log == nil {
		o.log = slog.Default()
	}
	if o.mem = oc.Alloc; o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	o.limit = DefaultBufferLimit
	if s, ok := oc.Config[BufferLimitOption]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("window_agg %s (SESSION): option '%s' = '%s': want a positive integer (number of buffered groups)", o.id, BufferLimitOption, s)
		}
		o.limit = n
	}
	if oc.State == nil {
		return fmt.Errorf("window_agg %s (SESSION): no keyed state backend", o.id)
	}
	if oc.MaxParallelism < 1 || oc.MaxParallelism > keygroup.MaxMaxParallelism {
		return fmt.Errorf("window_agg %s (SESSION): max parallelism %d is out of range", o.id, oc.MaxParallelism)
	}
	if o.procTime && oc.Now == nil {
		return fmt.Errorf("window_agg %s (SESSION): a processing-time window needs the context's clock (Now)", o.id)
	}
	var err error
	if o.table, err = oc.State.Table(stateTable); err != nil {
		return fmt.Errorf("window_agg %s (SESSION): open state table: %w", o.id, err)
	}
	if err := o.snap.open(oc.State); err != nil {
		return fmt.Errorf("window_agg %s (SESSION): %w", o.id, err)
	}
	o.late = counter(oc.Metrics, LateRecordsMetric, "Rows dropped because their session had already fired.")
	o.nulls = counter(oc.Metrics, NullRowtimeMetric, "Rows dropped because their rowtime was NULL.")
	o.spilled = counter(oc.Metrics, SpilledMetric, "Window buffer entries spilled to keyed state because the buffer was full.")
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

// bind checks the first batch's schema and prepares the key encoders, the
// aggregates and the session tracker.
func (o *Operator) bind(s *arrow.Schema) error {
	ws := o.spec
	check := func(what string, col int) error {
		if col < 0 || col >= s.NumFields() {
			return fmt.Errorf("%s column %d is out of range: input has %d columns %s", what, col, s.NumFields(), s)
		}
		return nil
	}
	if !o.procTime {
		if err := check("time", ws.Window.TimeColumn); err != nil {
			return err
		}
		if t := s.Field(ws.Window.TimeColumn).Type; t.ID() != arrow.TIMESTAMP {
			return fmt.Errorf("time column %d (%s) is %s, want TIMESTAMP(3)", ws.Window.TimeColumn, s.Field(ws.Window.TimeColumn).Name, t)
		}
	}
	for i, c := range ws.GroupKeys {
		if err := check("group key", c); err != nil {
			return err
		}
		if kt, want := s.Field(c).Type, o.out.Field(i).Type; !arrow.TypeEqual(kt, want) {
			return fmt.Errorf("group key %d (input column %s) is %s but output column %s is %s", i, s.Field(c).Name, kt, o.out.Field(i).Name, want)
		}
	}
	var err error
	if o.parts, err = winbuf.NewKeys(s, ws.Window.PartitionBy); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	if o.sub {
		if o.gkeys, err = winbuf.NewKeys(s, ws.GroupKeys); err != nil {
			return fmt.Errorf("group keys: %w", err)
		}
		o.subs, o.fk = o.newSubTable(), o.gkeys.NewTable()
	}
	if o.calls, err = agg.Bind(ws.Aggs, s, o.oc.Functions); err != nil {
		return err
	}
	if o.tr, err = session.New(ws.Window.SizeMs, o.parts.NewTable); err != nil {
		return err
	}
	if err := o.tr.SetSubtask(o.oc.Subtask); err != nil {
		return err
	}
	if o.accs, err = o.calls.NewGroups(); err != nil {
		return err
	}
	if o.outAccs, err = o.calls.NewGroups(); err != nil {
		return err
	}
	return nil
}

func (o *Operator) newSubTable() *hashtable.Table {
	if w := o.gkeys.Encoder().FixedWidth(); w > 0 {
		return hashtable.NewFixed(64, 8+w)
	}
	return hashtable.New(64)
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(b); err != nil {
		return fmt.Errorf("window_agg %s (SESSION): %w", o.id, err)
	}
	return nil
}

func (o *Operator) processBatch(b stream.Batch) error {
	if ok, err := o.input.Admit(b, "session window aggregation", o.bind); !ok || err != nil {
		return err
	}
	rec, n := b.Record, b.NumRows()

	// Event times, and the rows that have one.
	var ts []int64
	var sel []int32
	wm := o.wm
	if o.procTime {
		o.ts = grow(o.ts, n)
		ts = o.ts[:n]
		now := o.oc.Now()
		for i := range ts {
			ts[i] = now
		}
		wm = stream.MinWatermark
	} else {
		col := o.spec.Window.TimeColumn
		tcol, ok := rec.Column(col).(*array.Timestamp)
		if !ok {
			return fmt.Errorf("time column %d is %s, want TIMESTAMP(3)", col, rec.Column(col).DataType())
		}
		ts = rowkey.TimestampValues(tcol)
		if nn := tcol.NullN(); nn > 0 {
			o.valid = o.valid[:0]
			for i := 0; i < n; i++ {
				if tcol.IsValid(i) {
					o.valid = append(o.valid, int32(i))
				}
			}
			sel = o.valid
			o.nulls.Add(float64(nn))
			if !o.warned.null {
				o.warned.null = true
				o.log.Warn("window_agg: dropping rows whose rowtime is NULL; they belong to no session",
					"operator", o.id, "column", o.input.Schema.Field(col).Name)
			}
			if len(sel) == 0 {
				return nil
			}
		}
	}

	// Partition keys, hashed and encoded a column at a time, then each row
	// placed in its session.
	if err := o.parts.Encode(rec); err != nil {
		return err
	}
	o.pids = grow(o.pids, n)
	if err := o.tr.Partitions(o.parts.Hashes, &o.parts.Rows, nil, o.pids[:n]); err != nil {
		return err
	}
	o.sess = grow(o.sess, n)
	sess := o.sess[:n]
	late, err := o.tr.Assign(o.pids[:n], ts, sel, wm, sess, o.merge)
	if err != nil {
		return err
	}
	if late > 0 {
		o.late.Add(float64(late))
	}
	o.growHeads()

	// The group of every placed row, then the aggregates a column at a time.
	o.rows, o.groups = o.rows[:0], o.groups[:0]
	if o.sub {
		if err := o.subGroups(rec, sess); err != nil {
			return err
		}
	} else {
		for r, s := range sess {
			if s < 0 {
				continue
			}
			g := o.head[s]
			if g < 0 {
				g = o.newGroup()
				o.head[s] = g
			}
			o.rows = append(o.rows, int32(r))
			o.groups = append(o.groups, uint32(g))
		}
	}
	if len(o.rows) == 0 {
		return nil
	}
	rows := o.rows
	if len(rows) == n {
		rows = nil // every row: no selection
	}
	o.accs.Grow(o.nAcc)
	if err := o.accs.Update(rec, o.groups, rows); err != nil {
		return err
	}
	return o.spillIfFull()
}

// subGroups finds (creating them as needed) the sub-group of every placed
// row: its session's group with the row's group key.
func (o *Operator) subGroups(rec arrow.RecordBatch, sess []int32) error {
	if err := o.gkeys.Encode(rec); err != nil {
		return err
	}
	c := &o.comp
	c.Data, c.Offs, o.compHash = c.Data[:0], append(c.Offs[:0], 0), o.compHash[:0]
	for r, s := range sess {
		if s < 0 {
			continue
		}
		uid := o.tr.Session(s).UID
		c.Data = binary.LittleEndian.AppendUint64(c.Data, uid)
		c.Data = append(c.Data, o.gkeys.Rows.Row(r)...)
		if len(c.Data) > 1<<31-1 {
			return errors.New("batch group keys encode to more than 2 GiB")
		}
		c.Offs = append(c.Offs, int32(len(c.Data)))
		o.compHash = append(o.compHash, mixUID(o.gkeys.Hashes[r], uid))
		o.rows = append(o.rows, int32(r))
	}
	m := len(o.rows)
	o.ents = grow(o.ents, m)
	before := o.subs.Len()
	if _, err := o.subs.FindOrInsert(o.compHash, c, nil, o.ents[:m]); err != nil {
		return err
	}
	o.growEnts()
	for k, e := range o.ents[:m] {
		if int(e) >= before {
			o.entHash[e] = o.gkeys.Hashes[o.rows[k]]
		}
		if o.entGroup[e] < 0 {
			s := sess[o.rows[k]]
			o.entGroup[e] = o.newGroup()
			o.entNext[e] = o.head[s]
			o.head[s] = int32(e)
		}
		o.groups = append(o.groups, uint32(o.entGroup[e]))
	}
	return nil
}

// mixUID combines a group key's hash with a session uid.
func mixUID(h, uid uint64) uint64 {
	h ^= uid * 0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

func (o *Operator) newGroup() int32 {
	g := o.nAcc
	o.nAcc++
	return int32(g)
}

func (o *Operator) growHeads() {
	if n := o.tr.Len() - len(o.head); n > 0 {
		o.head = extend(o.head, n, -1)
	}
}

func (o *Operator) growEnts() {
	if n := o.subs.Len() - len(o.entGroup); n > 0 {
		o.entGroup = extend(o.entGroup, n, -1)
		o.entNext = extend(o.entNext, n, -1)
		o.entHash = extend(o.entHash, n, 0)
	}
}

// extend appends n copies of v to s.
func extend[T any](s []T, n int, v T) []T {
	s = slices.Grow(s, n)
	for i := 0; i < n; i++ {
		s = append(s, v)
	}
	return s
}

// merge moves the groups of session src into session dst (Tracker.Assign's
// merge callback).
func (o *Operator) merge(dst, src int32) error {
	o.growHeads()
	if !o.sub {
		gs := o.head[src]
		if gs < 0 {
			return nil
		}
		o.head[src] = -1
		if gd := o.head[dst]; gd < 0 {
			o.head[dst] = gs
			return nil
		} else if err := o.accs.Merge(uint32(gd), o.accs, uint32(gs)); err != nil {
			return err
		}
		o.deadAcc++
		return nil
	}
	uid := o.tr.Session(dst).UID
	for e := o.head[src]; e >= 0; {
		next := o.entNext[e]
		o.kbuf = binary.LittleEndian.AppendUint64(o.kbuf[:0], uid)
		o.kbuf = append(o.kbuf, o.subs.Key(uint32(e))[8:]...)
		e2, inserted, err := o.subs.FindOrInsertOne(mixUID(o.entHash[e], uid), o.kbuf)
		if err != nil {
			return err
		}
		o.growEnts()
		if inserted {
			o.entHash[e2] = o.entHash[e]
		}
		if g2 := o.entGroup[e2]; g2 < 0 {
			o.entGroup[e2] = o.entGroup[e]
			o.entNext[e2] = o.head[dst]
			o.head[dst] = int32(e2)
		} else {
			if err := o.accs.Merge(uint32(g2), o.accs, uint32(o.entGroup[e])); err != nil {
				return err
			}
			o.deadAcc++
		}
		o.entGroup[e], o.entNext[e] = -1, -1
		e = next
	}
	o.head[src] = -1
	return nil
}

// spillIfFull writes the groups of the sessions that end last to state
// until at most half the limit stays in memory, when more than the limit
// is.
func (o *Operator) spillIfFull() error {
	if o.nAcc-o.deadAcc <= o.limit {
		return nil
	}
	o.order = o.tr.ByEndDesc(o.order[:0], func(id int32) bool { return o.head[id] >= 0 })
	o.tr.BeginSpill()
	for _, s := range o.order {
		if o.nAcc-o.deadAcc <= o.limit/2 {
			break
		}
		if o.head[s] < 0 {
			continue
		}
		if err := o.spill(s, true); err != nil {
			return fmt.Errorf("spill session to state: %w", err)
		}
	}
	return o.tr.EndSpill(o.table)
}

// keyGroup returns the key group of session s's partition.
func (o *Operator) keyGroup(s *session.Session) int {
	_, h := o.tr.PartitionKey(s.Part)
	return keygroup.Of(h, o.oc.MaxParallelism)
}

// spill writes the in-memory groups of session s as one delta, without
// reading state, and drops them from memory. count says to count them as
// spilled (SpilledMetric): a snapshot's writes are not.
func (o *Operator) spill(s int32, count bool) error {
	kg := o.keyGroup(o.tr.Session(s))
	if !o.warned.keyGroup && !o.oc.KeyGroups.Contains(kg) {
		o.warned.keyGroup = true
		o.log.Warn("window_agg (SESSION): a partition's key group is outside this subtask's range; the input is not partitioned by the PARTITION BY columns",
			"operator", o.id, "key_group", kg, "owned", o.oc.KeyGroups.String())
	}
	o.sval = append(o.sval[:0], stateVersion)
	n := 0
	if !o.sub {
		o.sval = o.accs.AppendState(o.sval, uint32(o.head[s]))
		n = 1
	} else {
		for e := o.head[s]; e >= 0; {
			key := o.subs.Key(uint32(e))[8:]
			o.sval = binary.LittleEndian.AppendUint64(o.sval, o.entHash[e])
			o.sval = binary.AppendUvarint(o.sval, uint64(len(key)))
			o.sval = append(o.sval, key...)
			at := len(o.sval)
			o.sval = append(o.sval, 0, 0, 0, 0)
			o.sval = o.accs.AppendState(o.sval, uint32(o.entGroup[e]))
			binary.LittleEndian.PutUint32(o.sval[at:], uint32(len(o.sval)-at-4))
			next := o.entNext[e]
			o.entGroup[e], o.entNext[e] = -1, -1
			e = next
			n++
		}
	}
	o.head[s] = -1
	o.deadAcc += n
	if err := o.tr.AddDelta(s, kg, o.sval); err != nil {
		return err
	}
	if count {
		o.spilled.Add(float64(n))
	}
	return nil
}

// ProcessWatermark implements operator.Operator: it emits, in end order,
// every session whose end - 1 <= wm. A processing-time window ignores
// watermarks except the final one.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if o.procTime && wm != stream.MaxWatermark {
		return nil
	}
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	return o.fire(ctx, wm, out)
}

// OnProcessingTime implements operator.ProcessingTimeHandler: a
// processing-time window emits the sessions whose end - 1 <= nowMs.
func (o *Operator) OnProcessingTime(ctx context.Context, nowMs int64, out operator.Collector) error {
	if !o.procTime {
		return nil
	}
	return o.fire(ctx, nowMs, out)
}

// fire emits every session whose end - 1 <= t, in batches.
func (o *Operator) fire(ctx context.Context, t int64, out operator.Collector) error {
	if o.tr == nil || o.tr.NextEnd()-1 > t {
		return nil
	}
	o.fired = o.tr.Expired(t, o.fired[:0])
	for lo := 0; lo < len(o.fired); lo += OutputBatchRows {
		ids := o.fired[lo:min(lo+OutputBatchRows, len(o.fired))]
		var err error
		if o.sub {
			err = o.emitSub(ctx, ids, out)
		} else {
			err = o.emit(ctx, ids, out)
		}
		if err != nil {
			return fmt.Errorf("window_agg %s (SESSION): %w", o.id, err)
		}
	}
	o.tr.Release(o.fired)
	return o.compact()
}

// emit builds one output row per session (the group keys are the partition
// keys) as whole Arrow columns and sends them downstream.
func (o *Operator) emit(ctx context.Context, ids []int32, out operator.Collector) error {
	n := len(ids)
	o.outAccs.Reset()
	o.outAccs.Grow(n)
	rb := array.NewRecordBuilder(o.mem, o.out)
	defer rb.Release()
	rb.Reserve(n)
	bs := rb.Fields()
	nk := len(o.spec.GroupKeys)
	data, offs := o.tr.PartitionArena()
	o.starts = o.starts[:0]
	for _, id := range ids {
		o.starts = append(o.starts, offs[o.tr.Session(id).Part])
	}
	pb := make([]array.Builder, len(o.partPos))
	for j, p := range o.partPos {
		pb[j] = bs[p]
	}
	if err := o.parts.Encoder().Decode(data, o.starts, pb); err != nil {
		return err
	}
	sb, eb := bs[nk].(*array.TimestampBuilder), bs[nk+1].(*array.TimestampBuilder)
	for i, id := range ids {
		s := o.tr.Session(id)
		sb.UnsafeAppend(arrow.Timestamp(s.Start))
		eb.UnsafeAppend(arrow.Timestamp(s.End))
		// Spilled deltas first (their rows arrived earlier), then memory.
		if o.tr.HasSpills(id) {
			err := o.tr.ReadSpills(o.table, id, o.keyGroup(s), func(v []byte) error {
				if len(v) < 1 || v[0] != stateVersion {
					return fmt.Errorf("corrupt state entry: value of %d bytes, format %v", len(v), v[:min(1, len(v))])
				}
				return o.outAccs.MergeState(uint32(i), v[1:])
			})
			if err != nil {
				return err
			}
		}
		if g := o.head[id]; g >= 0 {
			if err := o.outAccs.Merge(uint32(i), o.accs, uint32(g)); err != nil {
				return err
			}
			o.head[id] = -1
			o.deadAcc++
		}
	}
	if err := o.outAccs.Build(bs[nk+2:]); err != nil {
		return err
	}
	return winbuf.Emit(ctx, out, rb, OutputBatchRows)
}

// emitSub builds one output row per sub-group of each session and sends
// them downstream.
func (o *Operator) emitSub(ctx context.Context, ids []int32, out operator.Collector) error {
	o.outAccs.Reset()
	o.karena, o.starts = o.karena[:0], o.starts[:0]
	base := 0
	var bounds []int64 // start, end, rows: per session
	for _, id := range ids {
		s := o.tr.Session(id)
		if !o.tr.HasSpills(id) {
			// Nothing spilled: the session's entries are its groups, each key
			// once, so no lookup is needed. They come out in the order of
			// their encoded keys, so the output does not depend on when
			// snapshots or spills happened.
			o.ents = o.ents[:0]
			for e := o.head[id]; e >= 0; e = o.entNext[e] {
				o.ents = append(o.ents, uint32(e))
			}
			slices.SortFunc(o.ents, func(a, b uint32) int { return bytes.Compare(o.subs.Key(a)[8:], o.subs.Key(b)[8:]) })
			k := len(o.ents)
			o.outAccs.Grow(base + k)
			for j, e := range o.ents {
				o.starts = append(o.starts, len(o.karena))
				o.karena = append(o.karena, o.subs.Key(e)[8:]...)
				if err := o.outAccs.Merge(uint32(base+j), o.accs, uint32(o.entGroup[e])); err != nil {
					return err
				}
				o.entGroup[e], o.entNext[e] = -1, -1
				o.deadAcc++
			}
			o.head[id] = -1
			bounds = append(bounds, s.Start, s.End, int64(k))
			base += k
			continue
		}
		// Spilled deltas first (their rows arrived earlier), then memory,
		// matched by group key.
		o.fk.Reset(64)
		if o.tmpAccs == nil {
			var err error
			if o.tmpAccs, err = o.calls.NewGroups(); err != nil {
				return err
			}
		}
		o.tmpAccs.Reset()
		find := func(h uint64, key []byte) (uint32, error) {
			j, inserted, err := o.fk.FindOrInsertOne(h, key)
			if inserted {
				o.tmpAccs.Grow(int(j) + 1)
			}
			return j, err
		}
		err := o.tr.ReadSpills(o.table, id, o.keyGroup(s), func(v []byte) error {
			if len(v) < 1 || v[0] != stateVersion {
				return fmt.Errorf("corrupt state entry: value of %d bytes, format %v", len(v), v[:min(1, len(v))])
			}
			return o.mergeDelta(v[1:], find)
		})
		if err != nil {
			return err
		}
		for e := o.head[id]; e >= 0; {
			g, err := find(o.entHash[e], o.subs.Key(uint32(e))[8:])
			if err != nil {
				return err
			}
			if err := o.tmpAccs.Merge(g, o.accs, uint32(o.entGroup[e])); err != nil {
				return err
			}
			next := o.entNext[e]
			o.entGroup[e], o.entNext[e] = -1, -1
			o.deadAcc++
			e = next
		}
		o.head[id] = -1
		// In the order of their encoded keys, as above.
		k := o.fk.Len()
		o.ents = o.ents[:0]
		for j := 0; j < k; j++ {
			o.ents = append(o.ents, uint32(j))
		}
		slices.SortFunc(o.ents, func(a, b uint32) int { return bytes.Compare(o.fk.Key(a), o.fk.Key(b)) })
		o.outAccs.Grow(base + k)
		for j, g := range o.ents {
			o.starts = append(o.starts, len(o.karena))
			o.karena = append(o.karena, o.fk.Key(g)...)
			if err := o.outAccs.Merge(uint32(base+j), o.tmpAccs, g); err != nil {
				return err
			}
		}
		bounds = append(bounds, s.Start, s.End, int64(k))
		base += k
	}
	if base == 0 {
		return nil
	}
	rb := array.NewRecordBuilder(o.mem, o.out)
	defer rb.Release()
	rb.Reserve(base)
	bs := rb.Fields()
	nk := len(o.spec.GroupKeys)
	if err := o.gkeys.Encoder().Decode(o.karena, o.starts, bs[:nk]); err != nil {
		return err
	}
	sb, eb := bs[nk].(*array.TimestampBuilder), bs[nk+1].(*array.TimestampBuilder)
	for i := 0; i < len(bounds); i += 3 {
		for j := int64(0); j < bounds[i+2]; j++ {
			sb.UnsafeAppend(arrow.Timestamp(bounds[i]))
			eb.UnsafeAppend(arrow.Timestamp(bounds[i+1]))
		}
	}
	if err := o.outAccs.Build(bs[nk+2:]); err != nil {
		return err
	}
	return winbuf.Emit(ctx, out, rb, OutputBatchRows)
}

var errCorrupt = errors.New("corrupt state entry")

// mergeDelta folds the sub-groups of one spilled delta into the groups of
// tmpAccs that find returns for their keys.
func (o *Operator) mergeDelta(v []byte, find func(h uint64, key []byte) (uint32, error)) error {
	for len(v) > 0 {
		if len(v) < 8 {
			return fmt.Errorf("%w: truncated group", errCorrupt)
		}
		h := binary.LittleEndian.Uint64(v)
		kl, w := binary.Uvarint(v[8:])
		if w <= 0 || kl > uint64(len(v)-8-w) || len(v)-8-w-int(kl) < 4 {
			return fmt.Errorf("%w: truncated group key", errCorrupt)
		}
		v = v[8+w:]
		key := v[:kl]
		sl := binary.LittleEndian.Uint32(v[kl:])
		v = v[kl+4:]
		if uint64(sl) > uint64(len(v)) {
			return fmt.Errorf("%w: truncated group state", errCorrupt)
		}
		g, err := find(h, key)
		if err != nil {
			return err
		}
		if err := o.tmpAccs.MergeState(g, v[:sl]); err != nil {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
		v = v[sl:]
	}
	return nil
}

// compact rebuilds the accumulators once dead groups outnumber live ones,
// and the sub-group table once stale entries far outnumber live ones, so
// memory follows the open sessions.
func (o *Operator) compact() error {
	live := o.nAcc - o.deadAcc
	if o.sub && o.subs.Len() >= compactMin && o.subs.Len() > 4*live {
		if err := o.compactSubs(); err != nil {
			return err
		}
	}
	if o.deadAcc < compactMin || o.deadAcc <= live {
		return nil
	}
	na := o.spare
	if na == nil {
		var err error
		if na, err = o.calls.NewGroups(); err != nil {
			return err
		}
	}
	na.Reset()
	na.Grow(live)
	j := uint32(0)
	var err error
	move := func(g int32) int32 {
		if err == nil {
			err = na.Merge(j, o.accs, uint32(g))
		}
		j++
		return int32(j - 1)
	}
	o.tr.ForEachOpen(func(s int32) {
		if !o.sub {
			if g := o.head[s]; g >= 0 {
				o.head[s] = move(g)
			}
			return
		}
		for e := o.head[s]; e >= 0; e = o.entNext[e] {
			o.entGroup[e] = move(o.entGroup[e])
		}
	})
	if err != nil {
		return fmt.Errorf("window_agg %s (SESSION): rebuild accumulators: %w", o.id, err)
	}
	o.accs.Reset()
	o.accs, o.spare = na, o.accs
	o.nAcc, o.deadAcc = int(j), 0
	return nil
}

// compactSubs rebuilds the sub-group table with the live entries only.
func (o *Operator) compactSubs() error {
	nt := o.newSubTable()
	var eg, en []int32
	var eh []uint64
	var err error
	o.tr.ForEachOpen(func(s int32) {
		prev := int32(-1)
		for e := o.head[s]; e >= 0 && err == nil; e = o.entNext[e] {
			var id uint32
			if id, _, err = nt.FindOrInsertOne(o.subs.Hash(uint32(e)), o.subs.Key(uint32(e))); err != nil {
				return
			}
			eg, en, eh = append(eg, o.entGroup[e]), append(en, -1), append(eh, o.entHash[e])
			if prev < 0 {
				o.head[s] = int32(id)
			} else {
				en[prev] = int32(id)
			}
			prev = int32(id)
		}
	})
	if err != nil {
		return fmt.Errorf("window_agg %s (SESSION): rebuild sub-group table: %w", o.id, err)
	}
	o.subs, o.entGroup, o.entNext, o.entHash = nt, eg, en, eh
	return nil
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
	o.tr, o.accs, o.spare, o.outAccs, o.tmpAccs, o.subs = nil, nil, nil, nil, nil, nil
	o.head, o.entGroup, o.entNext, o.entHash = nil, nil, nil, nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

package dedup

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// ExpiredMetric counts keys dropped by the state TTL.
const ExpiredMetric = "state_expired"

// OutputBatchRows is the largest batch the operator emits.
const OutputBatchRows = 4096

// compactMinBytes is the number of dead arena bytes tolerated before the
// arena is compacted (once dead bytes also outnumber live ones).
var compactMinBytes = 1 << 20

// rebuildMinKeys is the number of dropped keys tolerated in the key table
// before it is rebuilt (once they also outnumber live ones).
var rebuildMinKeys = 4096

// Operator is the deduplication operator. See the package comment.
type Operator struct {
	spec      *jobgraph.DedupSpec
	id        string
	out       *arrow.Schema
	keepLast  bool
	procTime  bool
	storeRows bool // keep each key's row (all but proctime keep-first)
	ttl       int64

	oc      *operator.Context
	now     func() int64
	expired operator.Counter

	// The state cache (cache.go): the most keys kept in memory (0: no
	// limit), whether keyed state may hold keys missing from memory, and
	// eviction scratch.
	limit       int
	writeBehind int // most changed keys held unwritten (0: no limit)
	lookups     statecache.KeyBatch
	mayHold     bool
	cache       statecache.Metrics
	victims     []uint32
	gone        []bool

	// Bound by the first batch.
	schema *arrow.Schema
	keyEnc *rowkey.Encoder
	rowEnc *rowkey.Encoder
	table  *hashtable.Table

	// Per key, indexed by key id.
	has    []bool   // the key holds a row
	tval   []int64  // event time of its row
	tnull  []bool   // its event time is NULL
	payOff []int    // its row in the arena
	payLen []int32  //
	last   []int64  // last access, processing time (TTL only)
	seen   []uint64 // number of the last batch that touched it (recency)
	had    []bool   // it held a row before the current batch
	win    []int32  // the batch row that is its winner, or -1
	live   int      // keys holding a row

	arena     []byte
	liveBytes int
	deadBytes int
	batchNo   uint64
	nextSweep int64

	// Snapshot bookkeeping (snapshot.go).
	snap snap

	// Scratch reused from batch to batch.
	keyArrs []arrow.Array
	allArrs []arrow.Array
	hashes  []uint64
	keys    rowkey.Rows
	pays    rowkey.Rows
	kids    []uint32
	touched []uint32
	sel     []int32
	starts  []int
	kinds   []stream.RowKind
}

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Dedup == nil {
		return nil, fmt.Errorf("dedup: spec has no dedup part")
	}
	ds := spec.Dedup
	if ds.InputRetracts {
		return nil, fmt.Errorf("dedup %s: deduplication takes append-only input, but the spec says the input retracts", spec.ID)
	}
	if !ds.ProcTime && ds.TimeColumn < 0 {
		return nil, fmt.Errorf("dedup %s: no time column: want an event-time column or ProcTime", spec.ID)
	}
	if ds.TTLMs < 0 {
		return nil, fmt.Errorf("dedup %s: state TTL %d ms is negative", spec.ID, ds.TTLMs)
	}
	o := &Operator{
		spec:      ds,
		id:        spec.ID,
		out:       spec.Output.Arrow(),
		keepLast:  ds.KeepLast,
		procTime:  ds.ProcTime,
		storeRows: ds.KeepLast || !ds.ProcTime,
		ttl:       ds.TTLMs,
	}
	if o.ttl > 0 {
		return &ttlOperator{o}, nil
	}
	return o, nil
}

// ttlOperator is an Operator with a state TTL: it also sweeps expired state
// on the runtime's processing-time calls.
type ttlOperator struct{ *Operator }

// OnProcessingTime implements operator.ProcessingTimeHandler: it drops
// expired state when a sweep is due.
func (t *ttlOperator) OnProcessingTime(ctx context.Context, nowMs int64, out operator.Collector) error {
	if err := t.sweep(nowMs); err != nil {
		return fmt.Errorf("dedup %s: %w", t.id, err)
	}
	return nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc = oc
	o.now = oc.Now
	if o.now == nil {
		o.now = func() int64 { return time.Now().UnixMilli() }
	}
	o.expired = oc.Metrics.Counter(ExpiredMetric, "Keys dropped because their state TTL expired.")
	limit, err := statecache.Limit(oc)
	if err != nil {
		return fmt.Errorf("dedup %s: %w", o.id, err)
	}
	o.limit, o.cache = limit, statecache.NewMetrics(oc)
	if o.writeBehind, err = statecache.WriteBehind(oc); err != nil {
		return fmt.Errorf("dedup %s: %w", o.id, err)
	}
	if limit > 0 {
		if err := o.tables(); err != nil {
			return fmt.Errorf("dedup %s: state cache of %d keys: %w", o.id, limit, err)
		}
	}
	return nil
}

// bind checks the first batch's schema against the spec and prepares the
// encoders.
func (o *Operator) bind(s *arrow.Schema) error {
	ds := o.spec
	nf := s.NumFields()
	if o.out.NumFields() != nf {
		return fmt.Errorf("output has %d columns, want the %d input columns", o.out.NumFields(), nf)
	}
	all := make([]arrow.DataType, nf)
	for i := range all {
		all[i] = s.Field(i).Type
		if want := o.out.Field(i).Type; !arrow.TypeEqual(all[i], want) {
			return fmt.Errorf("input column %d (%s) is %s but output column %s is %s", i, s.Field(i).Name, all[i], o.out.Field(i).Name, want)
		}
	}
	kt := make([]arrow.DataType, len(ds.Keys))
	for i, c := range ds.Keys {
		if c < 0 || c >= nf {
			return fmt.Errorf("key column %d is out of range: input has %d columns %s", c, nf, s)
		}
		kt[i] = s.Field(c).Type
	}
	if !o.procTime {
		c := ds.TimeColumn
		if c >= nf {
			return fmt.Errorf("time column %d is out of range: input has %d columns %s", c, nf, s)
		}
		if t := s.Field(c).Type; t.ID() != arrow.TIMESTAMP {
			return fmt.Errorf("time column %d (%s) is %s, want TIMESTAMP(3)", c, s.Field(c).Name, t)
		}
	}
	var err error
	if o.keyEnc, err = rowkey.NewEncoder(kt); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if o.rowEnc, err = rowkey.NewRowEncoder(all); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	o.table = o.newTable(1024)
	o.keyArrs = make([]arrow.Array, len(ds.Keys))
	o.allArrs = make([]arrow.Array, nf)
	o.schema = s
	return nil
}

func (o *Operator) newTable(hint int) *hashtable.Table {
	if w := o.keyEnc.FixedWidth(); w > 0 {
		return hashtable.NewFixed(hint, w)
	}
	return hashtable.New(hint)
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(ctx, b, out); err != nil {
		return fmt.Errorf("dedup %s: %w", o.id, err)
	}
	return nil
}

func (o *Operator) processBatch(ctx context.Context, b stream.Batch, out operator.Collector) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	for i, k := range b.Kinds {
		if k != stream.Insert {
			return fmt.Errorf("row %d is %s: deduplication takes append-only input (inserts only)", i, k)
		}
	}
	rec := b.Record
	s := rec.Schema()
	if o.schema == nil {
		if err := o.bind(s); err != nil {
			return err
		}
	} else if s != o.schema && !s.Equal(o.schema) {
		return fmt.Errorf("input schema changed from %s to %s", o.schema, s)
	}
	now := o.now()
	if o.ttl > 0 {
		if err := o.sweep(now); err != nil {
			return err
		}
	}
	o.batchNo++

	for i, c := range o.spec.Keys {
		o.keyArrs[i] = rec.Column(c)
	}
	o.hashes = grow(o.hashes, n)
	if err := keygroup.HashColumns(o.keyArrs, o.hashes); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := o.keyEnc.Encode(o.keyArrs, n, nil, &o.keys); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	o.kids = grow(o.kids, n)
	known := o.table.Len()
	created, err := o.table.FindOrInsert(o.hashes, &o.keys, nil, o.kids)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	o.growKeys()
	if o.mayHold && created > 0 {
		// The batch's distinct keys missing from memory may be in keyed
		// state (evicted, or not loaded by a restore).
		if err := o.load(known); err != nil {
			return err
		}
	}

	var times []int64
	var tcol *array.Timestamp
	if !o.procTime {
		var ok bool
		if tcol, ok = rec.Column(o.spec.TimeColumn).(*array.Timestamp); !ok {
			return fmt.Errorf("time column is %s, want TIMESTAMP(3)", rec.Column(o.spec.TimeColumn).DataType())
		}
		times = rowkey.TimestampValues(tcol)
	}
	valid, nulls := rowkey.Validity{}, false
	if tcol != nil {
		valid, nulls = rowkey.ValidityOf(tcol)
	}

	o.touched = o.touched[:0]
	for i, k := range o.kids[:n] {
		if o.ttl > 0 {
			if o.has[k] && o.last[k] <= now-o.ttl {
				o.drop(k)
				o.expired.Add(1)
			}
			o.last[k] = now
		}
		if o.seen[k] != o.batchNo {
			o.seen[k], o.had[k], o.win[k] = o.batchNo, o.has[k], -1
			o.touched = append(o.touched, k)
			if o.ttl > 0 || !o.had[k] || o.storeRows {
				o.snap.dirty.Add(k)
			}
		}
		if !o.has[k] {
			// The key's first row (or first since it expired).
			o.has[k], o.win[k] = true, int32(i)
			o.live++
			if times != nil {
				o.tval[k], o.tnull[k] = times[i], nulls && valid.Null(i)
			}
			continue
		}
		if o.procTime {
			if o.keepLast {
				o.win[k] = int32(i)
			}
			continue
		}
		t, null := times[i], nulls && valid.Null(i)
		if o.wins(t, null, o.tval[k], o.tnull[k]) {
			o.win[k], o.tval[k], o.tnull[k] = int32(i), t, null
		}
	}
	if err := o.finish(ctx, rec, n, out); err != nil {
		return err
	}
	if err := o.evict(); err != nil {
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

// wins reports whether a row with time t (null: NULL) replaces the key's
// current row with time cur, ordered as ORDER BY time ASC NULLS FIRST
// (keep-first; ties keep the current row) or DESC NULLS LAST (keep-last;
// ties go to the new row).
func (o *Operator) wins(t int64, null bool, cur int64, curNull bool) bool {
	if o.keepLast {
		switch {
		case null:
			return curNull
		case curNull:
			return true
		}
		return t >= cur
	}
	switch {
	case null:
		return !curNull
	case curNull:
		return false
	}
	return t < cur
}

// finish stores the batch's winners and emits each touched key's net
// change.
func (o *Operator) finish(ctx context.Context, rec arrow.RecordBatch, n int, out operator.Collector) error {
	o.sel = o.sel[:0]
	for _, k := range o.touched {
		if o.win[k] >= 0 {
			o.sel = append(o.sel, o.win[k])
		}
	}
	if len(o.sel) == 0 {
		return nil
	}
	for i := range o.allArrs {
		o.allArrs[i] = rec.Column(i)
	}
	if err := o.rowEnc.Encode(o.allArrs, n, o.sel, &o.pays); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	o.starts, o.kinds = o.starts[:0], o.kinds[:0]
	if !o.storeRows {
		// Proctime keep-first: every winner is a key's first row.
		for j := range o.sel {
			o.starts = append(o.starts, int(o.pays.Offs[j]))
			o.kinds = append(o.kinds, stream.Insert)
		}
		return o.emit(ctx, o.pays.Data, out)
	}
	j := 0
	for _, k := range o.touched {
		if o.win[k] < 0 {
			continue
		}
		row := o.pays.Row(j)
		j++
		if o.had[k] {
			old := o.arena[o.payOff[k] : o.payOff[k]+int(o.payLen[k])]
			if bytes.Equal(old, row) {
				continue // the same values: nothing changed
			}
			if o.spec.EmitUpdateBefore {
				o.starts = append(o.starts, o.payOff[k])
				o.kinds = append(o.kinds, stream.UpdateBefore)
			}
			o.liveBytes -= int(o.payLen[k])
			o.deadBytes += int(o.payLen[k])
			o.kinds = append(o.kinds, stream.UpdateAfter)
		} else {
			o.kinds = append(o.kinds, stream.Insert)
		}
		// The old row's bytes stay in the arena until after emission.
		o.payOff[k], o.payLen[k] = len(o.arena), int32(len(row))
		o.arena = append(o.arena, row...)
		o.liveBytes += len(row)
		o.starts = append(o.starts, o.payOff[k])
	}
	if err := o.emit(ctx, o.arena, out); err != nil {
		return err
	}
	if o.deadBytes > compactMinBytes && o.deadBytes > o.liveBytes {
		o.compact()
	}
	return nil
}

// emit sends the rows of data at o.starts, with kinds o.kinds, downstream as
// whole Arrow columns.
func (o *Operator) emit(ctx context.Context, data []byte, out operator.Collector) error {
	for lo := 0; lo < len(o.starts); lo += OutputBatchRows {
		hi := min(lo+OutputBatchRows, len(o.starts))
		rb := array.NewRecordBuilder(o.oc.Alloc, o.out)
		rb.Reserve(hi - lo)
		err := o.rowEnc.Decode(data, o.starts[lo:hi], rb.Fields())
		if err != nil {
			rb.Release()
			return err
		}
		rec := rb.NewRecordBatch()
		rb.Release()
		var kinds []stream.RowKind
		if o.storeRows {
			kinds = append([]stream.RowKind(nil), o.kinds[lo:hi]...)
		}
		if err := out.Emit(ctx, stream.Batch{Record: rec, Kinds: kinds}); err != nil {
			return err
		}
	}
	return nil
}

// growKeys adds the per-key vectors of keys created since the last call.
func (o *Operator) growKeys() {
	for k := len(o.has); k < o.table.Len(); k++ {
		o.has = append(o.has, false)
		o.seen = append(o.seen, 0)
		o.had = append(o.had, false)
		o.win = append(o.win, -1)
		if !o.procTime {
			o.tval = append(o.tval, 0)
			o.tnull = append(o.tnull, false)
		}
		if o.storeRows {
			o.payOff = append(o.payOff, 0)
			o.payLen = append(o.payLen, 0)
		}
		if o.ttl > 0 {
			o.last = append(o.last, 0)
		}
	}
}

// drop forgets key k's row.
func (o *Operator) drop(k uint32) {
	o.snap.dirty.Add(k)
	o.has[k] = false
	o.live--
	if o.storeRows {
		o.liveBytes -= int(o.payLen[k])
		o.deadBytes += int(o.payLen[k])
		o.payLen[k] = 0
	}
}

// compact rewrites the arena without dead bytes.
func (o *Operator) compact() {
	arena := make([]byte, 0, o.liveBytes+o.liveBytes/4)
	for k, h := range o.has {
		if !h {
			continue
		}
		off := len(arena)
		arena = append(arena, o.arena[o.payOff[k]:o.payOff[k]+int(o.payLen[k])]...)
		o.payOff[k] = off
	}
	o.arena, o.deadBytes = arena, 0
}

// sweep drops the keys whose state expired, when a sweep is due (at most
// every quarter TTL), and rebuilds the key table once dropped keys
// outnumber live ones.
func (o *Operator) sweep(now int64) error {
	if o.ttl <= 0 || o.schema == nil || now < o.nextSweep {
		return nil
	}
	o.nextSweep = now + max(o.ttl/4, 1)
	limit := now - o.ttl
	dropped := 0
	for k, h := range o.has {
		if h && o.last[k] <= limit {
			o.drop(uint32(k))
			dropped++
		}
	}
	if dropped > 0 {
		o.expired.Add(float64(dropped))
	}
	if o.storeRows && o.deadBytes > compactMinBytes && o.deadBytes > o.liveBytes {
		o.compact()
	}
	if gone := len(o.has) - o.live; gone > rebuildMinKeys && gone > o.live {
		return o.rebuild(nil)
	}
	return nil
}

// rebuild drops the keys without a row from the key table, renumbering
// the rest (their recency stays). A dropped key whose state entry must go
// is deleted from keyed state at once with a cache (keyed state is then
// looked up, so it must not show the key), else at the next snapshot;
// keys marked in evicted (nil: none) were written to keyed state instead.
func (o *Operator) rebuild(evicted []bool) error {
	t := o.newTable(o.live)
	next := 0
	renum := make([]int32, len(o.has))
	for k, h := range o.has {
		renum[k] = -1
		if !h {
			if (evicted == nil || !evicted[k]) && o.snap.dirty.Has(uint32(k)) {
				switch {
				case o.limit > 0 && (o.snap.written || o.mayHold):
					o.snap.key = o.stateKey(o.snap.key[:0], uint32(k))
					if err := o.snap.keys.Delete(o.snap.key); err != nil {
						return fmt.Errorf("delete dropped key: %w", err)
					}
				case o.snap.written:
					o.snap.dels.Add(o.stateKey(o.snap.key[:0], uint32(k)))
				}
			}
			continue
		}
		renum[k] = int32(next)
		id, _, err := t.FindOrInsertOne(o.table.Hash(uint32(k)), o.table.Key(uint32(k)))
		if err != nil {
			return fmt.Errorf("rebuild key table: %w", err)
		}
		if int(id) != next {
			return fmt.Errorf("rebuild key table: key %d got id %d, want %d", k, id, next)
		}
		o.has[next], o.seen[next], o.had[next], o.win[next] = true, o.seen[k], false, -1
		if !o.procTime {
			o.tval[next], o.tnull[next] = o.tval[k], o.tnull[k]
		}
		if o.storeRows {
			o.payOff[next], o.payLen[next] = o.payOff[k], o.payLen[k]
		}
		if o.ttl > 0 {
			o.last[next] = o.last[k]
		}
		next++
	}
	o.snap.dirty.Remap(func(k uint32) (uint32, bool) { return uint32(renum[k]), renum[k] >= 0 })
	o.has, o.seen, o.had, o.win = o.has[:next], o.seen[:next], o.had[:next], o.win[:next]
	if o.ttl > 0 {
		o.last = o.last[:next]
	}
	if !o.procTime {
		o.tval, o.tnull = o.tval[:next], o.tnull[:next]
	}
	if o.storeRows {
		o.payOff, o.payLen = o.payOff[:next], o.payLen[:next]
	}
	o.table = t
	return nil
}

// ProcessWatermark implements operator.Operator. Deduplication does not
// wait for watermarks (and drops no late rows); it only sweeps expired
// state.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if o.ttl > 0 && o.oc != nil {
		if err := o.sweep(o.now()); err != nil {
			return fmt.Errorf("dedup %s: %w", o.id, err)
		}
	}
	return nil
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its state.
func (o *Operator) Close(ctx context.Context) error {
	o.table, o.arena, o.victims, o.gone = nil, nil, nil, nil
	o.has, o.tval, o.tnull, o.payOff, o.payLen, o.last, o.seen, o.had, o.win = nil, nil, nil, nil, nil, nil, nil, nil, nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

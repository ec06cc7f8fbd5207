package rank

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/btree"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Metric names.
const (
	// ExpiredMetric counts partitions dropped by the state TTL.
	ExpiredMetric = "state_expired"
	// IgnoredRetractionsMetric counts -U/-D input rows that matched no
	// row the operator holds.
	IgnoredRetractionsMetric = "retractions_ignored"
)

// OutputBatchRows is the largest batch the operator emits.
const OutputBatchRows = 4096

// MaxN is the largest N the operator accepts.
const MaxN = 1 << 24

// compactMinBytes is the number of dead arena bytes tolerated before the
// arenas are compacted (once dead bytes also outnumber live ones).
var compactMinBytes = 1 << 20

// rebuildMinParts is the number of empty partitions tolerated before the
// partition table is rebuilt (once they also outnumber live ones).
var rebuildMinParts = 1024

// Candidate states.
const (
	candLive  uint8 = iota // in the tree
	candDying              // removed this batch; bytes kept until emission
	candFree               // on the free list
)

// cand is a row held in state: its sort key and encoded row in the arenas.
type cand struct {
	seq    uint64 // arrival number, for ties
	skOff  int
	payOff int
	pid    uint32
	skLen  int32
	payLen int32 // < 0: payload not encoded yet (append mode, this batch)
	state  uint8
	stored bool // keyed state holds the row (a snapshot or an eviction wrote it, or it was read from there)
}

// entry is a visible row: a candidate and its rank.
type entry struct {
	id   int32
	rank int64
}

// change is an output row.
type change struct {
	id   int32
	rank int64
	kind stream.RowKind
}

// touched is a partition the current batch changed, with its visible rows
// before the change: snap[off : off+n].
type touched struct {
	pid uint32
	off int
	n   int
}

// Operator is the regular Top-N. See the package comment.
type Operator struct {
	spec      *jobgraph.RankSpec
	id        string
	out       *arrow.Schema
	n         int64
	retract   bool
	byPayload bool // ties ordered by row encoding (retracting RANK/DENSE_RANK)
	ttl       int64

	oc      *operator.Context
	now     func() int64
	expired operator.Counter
	ignored operator.Counter
	warned  bool

	// The state cache (cache.go): at most limit partitions in memory (0:
	// no limit).
	limit int
	cache statecache.Metrics
	// writeBehind: past this many changes keyed state lacks, they are
	// written between batches (0: only at snapshots).
	writeBehind int
	mayHold     bool // keyed state may hold partitions not in memory

	// Bound by the first batch.
	schema  *arrow.Schema
	keyEnc  *rowkey.Encoder
	sortEnc *rowkey.SortEncoder
	rowEnc  *rowkey.Encoder
	parts   *hashtable.Table

	// Per partition, indexed by partition id.
	pRows  []int32  // live rows held
	pBound []int32  // append mode: boundary candidate of a full partition, or -1
	pTrim  []int64  // append mode: trim the partition when pRows reaches this
	pLast  []int64  // last access, processing time
	pSnap  []uint64 // number of the batch whose snapshot the partition has
	pStamp []uint64 // with a limit: number of the batch that last touched the partition
	empty  int      // partitions holding no rows

	cands     []cand // cands[0] is the search probe
	free      []int32
	dying     []int32
	skArena   []byte
	payArena  []byte
	liveBytes int
	deadBytes int
	tree      *btree.BTreeG[item]
	seq       uint64
	batchNo   uint64
	nextSweep int64

	// Snapshot bookkeeping (snapshot.go).
	ss snapState

	// Scratch reused from batch to batch.
	keyArrs  []arrow.Array
	sortArrs []arrow.Array
	allArrs  []arrow.Array
	hashes   []uint64
	keys     rowkey.Rows
	skeys    rowkey.Rows
	pays     rowkey.Rows
	pids     []uint32
	pending  []int32 // append mode: candidates of this batch without payload
	prow     []int32 // their input rows
	touched  []touched
	snap     []entry
	cur      []entry
	rm, add  []entry
	changes  []change
	doomed   []int32
	starts   []int
	ranks    []int64
	victims  []uint32
	evicting []bool
	lookups  statecache.KeyBatch
}

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Rank == nil {
		return nil, fmt.Errorf("rank: spec has no rank part")
	}
	rs := spec.Rank
	switch rs.Func {
	case jobgraph.RowNumber, jobgraph.Rank, jobgraph.DenseRank:
	default:
		return nil, fmt.Errorf("rank %s: unknown ranking function %q: want %q, %q or %q", spec.ID, rs.Func, jobgraph.RowNumber, jobgraph.Rank, jobgraph.DenseRank)
	}
	if rs.N < 1 || rs.N > MaxN {
		return nil, fmt.Errorf("rank %s: N = %d: want 1 <= N <= %d", spec.ID, rs.N, MaxN)
	}
	if rs.TTLMs < 0 {
		return nil, fmt.Errorf("rank %s: state TTL %d ms is negative", spec.ID, rs.TTLMs)
	}
	if rs.EmitRank {
		if last := spec.Output.Len() - 1; last < 0 || spec.Output.Fields[last].Type.Kind != types.BigInt {
			return nil, fmt.Errorf("rank %s: with EmitRank the last output column must be the BIGINT rank", spec.ID)
		}
	}
	o := &Operator{
		spec:      rs,
		id:        spec.ID,
		out:       spec.Output.Arrow(),
		n:         rs.N,
		retract:   rs.InputRetracts,
		byPayload: rs.InputRetracts && rs.Func != jobgraph.RowNumber,
		ttl:       rs.TTLMs,
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
	t.sweep(nowMs)
	return nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc = oc
	o.now = oc.Now
	if o.now == nil {
		o.now = func() int64 { return time.Now().UnixMilli() }
	}
	o.expired = oc.Metrics.Counter(ExpiredMetric, "Partitions dropped because their state TTL expired.")
	o.ignored = oc.Metrics.Counter(IgnoredRetractionsMetric, "Retractions of rows the operator did not hold (e.g. expired state), ignored.")
	o.cands = []cand{{state: candLive}} // the probe
	limit, err := statecache.Limit(oc)
	if err != nil {
		return fmt.Errorf("rank %s: %w", o.id, err)
	}
	if limit > 0 && oc.State == nil {
		return fmt.Errorf("rank %s: option '%s' is set but the operator has no keyed state to keep its state in", o.id, statecache.Option)
	}
	o.limit = limit
	if o.writeBehind, err = statecache.WriteBehind(oc); err != nil {
		return fmt.Errorf("rank %s: %w", o.id, err)
	}
	o.cache = statecache.NewMetrics(oc)
	o.tree = btree.NewG[item](32, o.less)
	return nil
}

// sk returns candidate id's sort key.
func (o *Operator) sk(id int32) []byte {
	c := &o.cands[id]
	return o.skArena[c.skOff : c.skOff+int(c.skLen)]
}

// payload returns candidate id's encoded row.
func (o *Operator) payload(id int32) []byte {
	c := &o.cands[id]
	return o.payArena[c.payOff : c.payOff+int(c.payLen)]
}

// item is a candidate in the tree, with its partition and the first bytes
// of its sort key inline, so that most comparisons touch no other memory.
type item struct {
	pre uint64 // the sort key's first 8 bytes, big-endian, zero-padded
	pid uint32
	id  int32
}

// prefix returns the first 8 bytes of sk as a big-endian number, padded
// with zeros: comparing prefixes, then whole keys when they are equal,
// orders keys as bytes.Compare does.
func prefix(sk []byte) uint64 {
	if len(sk) >= 8 {
		return binary.BigEndian.Uint64(sk)
	}
	var b [8]byte
	copy(b[:], sk)
	return binary.BigEndian.Uint64(b[:])
}

// itemOf returns the tree item of candidate id.
func (o *Operator) itemOf(id int32) item {
	return item{pre: prefix(o.sk(id)), pid: o.cands[id].pid, id: id}
}

// less orders candidates by partition, sort key, then (retracting
// RANK/DENSE_RANK) row encoding, then arrival.
func (o *Operator) less(x, y item) bool {
	if x.pid != y.pid {
		return x.pid < y.pid
	}
	if x.pre != y.pre {
		return x.pre < y.pre
	}
	ca, cb := &o.cands[x.id], &o.cands[y.id]
	if c := bytes.Compare(o.skArena[ca.skOff:ca.skOff+int(ca.skLen)], o.skArena[cb.skOff:cb.skOff+int(cb.skLen)]); c != 0 {
		return c < 0
	}
	if o.byPayload {
		if c := bytes.Compare(o.payArena[ca.payOff:ca.payOff+int(ca.payLen)], o.payArena[cb.payOff:cb.payOff+int(cb.payLen)]); c != 0 {
			return c < 0
		}
	}
	return ca.seq < cb.seq
}

// bind checks the first batch's schema against the spec and prepares the
// encoders.
func (o *Operator) bind(s *arrow.Schema) error {
	rs := o.spec
	nf := s.NumFields()
	extra := 0
	if rs.EmitRank {
		extra = 1
	}
	if o.out.NumFields() != nf+extra {
		return fmt.Errorf("output has %d columns, want the %d input columns%s", o.out.NumFields(), nf, map[bool]string{true: " and the rank", false: ""}[rs.EmitRank])
	}
	all := make([]arrow.DataType, nf)
	for i := range all {
		all[i] = s.Field(i).Type
		if want := o.out.Field(i).Type; !arrow.TypeEqual(all[i], want) {
			return fmt.Errorf("input column %d (%s) is %s but output column %s is %s", i, s.Field(i).Name, all[i], o.out.Field(i).Name, want)
		}
	}
	check := func(what string, col int) error {
		if col < 0 || col >= nf {
			return fmt.Errorf("%s column %d is out of range: input has %d columns %s", what, col, nf, s)
		}
		return nil
	}
	kt := make([]arrow.DataType, len(rs.PartitionKeys))
	for i, c := range rs.PartitionKeys {
		if err := check("partition key", c); err != nil {
			return err
		}
		kt[i] = s.Field(c).Type
	}
	sc := make([]rowkey.SortColumn, len(rs.OrderBy))
	for i, k := range rs.OrderBy {
		if err := check("order by", k.Column); err != nil {
			return err
		}
		sc[i] = rowkey.SortColumn{Type: s.Field(k.Column).Type, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	var err error
	if o.keyEnc, err = rowkey.NewEncoder(kt); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	if o.sortEnc, err = rowkey.NewSortEncoder(sc); err != nil {
		return fmt.Errorf("order by: %w", err)
	}
	if o.rowEnc, err = rowkey.NewRowEncoder(all); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	o.parts = o.newTable(64)
	o.keyArrs = make([]arrow.Array, len(rs.PartitionKeys))
	o.sortArrs = make([]arrow.Array, len(rs.OrderBy))
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
		return fmt.Errorf("rank %s: %w", o.id, err)
	}
	return nil
}

func (o *Operator) processBatch(ctx context.Context, b stream.Batch, out operator.Collector) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	if b.Kinds != nil && len(b.Kinds) != n {
		return fmt.Errorf("batch has %d rows but %d row kinds", n, len(b.Kinds))
	}
	if !o.retract {
		for i, k := range b.Kinds {
			if k != stream.Insert {
				return fmt.Errorf("row %d is %s: the input is declared append-only (inserts only)", i, k)
			}
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
		o.sweep(now)
	}
	o.batchNo++

	// Hash and encode partition keys, sort keys and (retracting) rows, a
	// column at a time.
	for i, c := range o.spec.PartitionKeys {
		o.keyArrs[i] = rec.Column(c)
	}
	o.hashes = grow(o.hashes, n)
	if err := keygroup.HashColumns(o.keyArrs, o.hashes); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	if err := o.keyEnc.Encode(o.keyArrs, n, nil, &o.keys); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	for i, k := range o.spec.OrderBy {
		o.sortArrs[i] = rec.Column(k.Column)
	}
	if err := o.sortEnc.Encode(o.sortArrs, n, nil, &o.skeys); err != nil {
		return fmt.Errorf("order by: %w", err)
	}
	for i := range o.allArrs {
		o.allArrs[i] = rec.Column(i)
	}
	if o.retract {
		if err := o.rowEnc.Encode(o.allArrs, n, nil, &o.pays); err != nil {
			return fmt.Errorf("input row: %w", err)
		}
	}
	o.pids = grow(o.pids, n)
	known := o.parts.Len()
	if _, err := o.parts.FindOrInsert(o.hashes, &o.keys, nil, o.pids); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	o.growParts()
	if o.mayHold {
		// Partitions new to memory may be in keyed state: one batched
		// prefix scan for all of them, before any row of the batch is
		// applied.
		if err := o.load(uint32(known), uint32(o.parts.Len())); err != nil {
			return err
		}
	}

	o.touched, o.snap, o.pending, o.prow = o.touched[:0], o.snap[:0], o.pending[:0], o.prow[:0]
	for i, p := range o.pids[:n] {
		if o.limit > 0 {
			o.pStamp[p] = o.batchNo
		}
		if o.ttl > 0 {
			if o.pRows[p] > 0 && o.pLast[p] <= now-o.ttl {
				o.dropPartition(p)
				o.expired.Add(1)
			}
			o.pLast[p] = now
			o.ss.dirtyParts.Add(p)
		}
		sk := o.skeys.Row(i)
		if !o.retract {
			if !o.accepts(p, sk) {
				continue
			}
			o.snapshot(p)
			id := o.insert(p, sk, nil)
			o.pending = append(o.pending, id)
			o.prow = append(o.prow, int32(i))
			if int64(o.pRows[p]) >= o.pTrim[p] {
				o.trim(p)
			}
			continue
		}
		o.snapshot(p)
		switch b.Kind(i) {
		case stream.Insert, stream.UpdateAfter:
			o.insert(p, sk, o.pays.Row(i))
		default:
			if !o.retractRow(p, sk, o.pays.Row(i)) {
				o.ignored.Add(1)
				if !o.warned {
					o.warned = true
					o.oc.Logger.Warn("rank: ignoring retractions of rows not in state (expired state or an inconsistent input)", "operator", o.id)
				}
			}
		}
	}
	if err := o.fillPayloads(rec, n); err != nil {
		return err
	}

	// Diff each touched partition's visible rows before and after.
	o.changes = o.changes[:0]
	for _, t := range o.touched {
		o.cur = o.cur[:0]
		o.visible(t.pid, &o.cur, !o.retract)
		o.diff(o.snap[t.off:t.off+t.n], o.cur)
	}
	if err := o.emit(ctx, out); err != nil {
		return err
	}
	o.release()
	if o.limit > 0 && len(o.pRows) > o.limit {
		if err := o.evict(); err != nil {
			return err
		}
	}
	if o.writeBehind > 0 && o.dirty() > o.writeBehind {
		if err := o.tables(); err != nil {
			return err
		}
		o.ss.writesBehind++
		return o.writeDirty()
	}
	return nil
}

// growParts adds the per-partition vectors of partitions created since the
// last call.
func (o *Operator) growParts() {
	for p := len(o.pRows); p < o.parts.Len(); p++ {
		o.pRows = append(o.pRows, 0)
		o.pBound = append(o.pBound, -1)
		o.pTrim = append(o.pTrim, o.trimAt(0))
		o.pLast = append(o.pLast, 0)
		o.pSnap = append(o.pSnap, 0)
		if o.limit > 0 {
			o.pStamp = append(o.pStamp, o.batchNo)
		}
		o.empty++
	}
}

// trimAt is when an append-mode partition holding kept rows after a trim
// is trimmed next: the walk a trim costs is paid for by as many new rows.
func (o *Operator) trimAt(kept int) int64 { return 2*int64(kept) + o.n + 4 }

// accepts reports whether a row with sort key sk can enter partition p's
// top N (append mode). The boundary may be stale (looser than the true
// one) between trims, never tighter.
func (o *Operator) accepts(p uint32, sk []byte) bool {
	bnd := o.pBound[p]
	if bnd < 0 {
		return true
	}
	c := bytes.Compare(sk, o.sk(bnd))
	if c != 0 {
		return c < 0
	}
	// A tie with the boundary row: ROW_NUMBER gives it the next number
	// (it arrived later); RANK and DENSE_RANK give it the boundary's rank.
	return o.spec.Func != jobgraph.RowNumber
}

// snapshot records partition p's visible rows before the batch's first
// change to it.
func (o *Operator) snapshot(p uint32) {
	if o.pSnap[p] == o.batchNo {
		return
	}
	o.pSnap[p] = o.batchNo
	off := len(o.snap)
	o.visible(p, &o.snap, false)
	o.touched = append(o.touched, touched{pid: p, off: off, n: len(o.snap) - off})
}

// newCand returns a fresh candidate id.
func (o *Operator) newCand() int32 {
	if k := len(o.free); k > 0 {
		id := o.free[k-1]
		o.free = o.free[:k-1]
		return id
	}
	o.cands = append(o.cands, cand{})
	return int32(len(o.cands) - 1)
}

// insert adds a row to partition p; pay nil leaves its payload pending.
func (o *Operator) insert(p uint32, sk, pay []byte) int32 {
	o.seq++
	return o.insertSeq(p, sk, pay, o.seq, false)
}

// insertSeq adds a row with arrival number seq to partition p; stored says
// that keyed state holds it already.
func (o *Operator) insertSeq(p uint32, sk, pay []byte, seq uint64, stored bool) int32 {
	id := o.newCand()
	if !stored {
		o.noteAdded(id)
		o.ss.unstored++
	}
	c := cand{seq: seq, pid: p, skOff: len(o.skArena), skLen: int32(len(sk)), payLen: -1, state: candLive, stored: stored}
	o.skArena = append(o.skArena, sk...)
	o.liveBytes += len(sk)
	if pay != nil {
		c.payOff, c.payLen = len(o.payArena), int32(len(pay))
		o.payArena = append(o.payArena, pay...)
		o.liveBytes += len(pay)
	}
	o.cands[id] = c
	o.tree.ReplaceOrInsert(item{pre: prefix(sk), pid: p, id: id})
	if o.pRows[p] == 0 {
		o.empty--
	}
	o.pRows[p]++
	return id
}

// remove takes candidate id out of the tree; its bytes stay readable until
// release.
func (o *Operator) remove(id int32) {
	o.noteRemoved(id)
	c := &o.cands[id]
	if !c.stored {
		o.ss.unstored--
	}
	o.tree.Delete(o.itemOf(id))
	c.state = candDying
	o.dying = append(o.dying, id)
	p := c.pid
	o.pRows[p]--
	if o.pRows[p] == 0 {
		o.empty++
	}
}

// setProbe points the probe at partition p with sort key sk and row pay
// (both may be empty) and an arrival number before every row's. The bytes
// are appended to the arenas; the caller truncates them back.
func (o *Operator) setProbe(p uint32, sk, pay []byte) {
	c := &o.cands[0]
	c.pid, c.seq = p, 0
	c.skOff, c.skLen = len(o.skArena), int32(len(sk))
	o.skArena = append(o.skArena, sk...)
	c.payOff, c.payLen = len(o.payArena), int32(len(pay))
	o.payArena = append(o.payArena, pay...)
}

// clearProbe drops the probe's bytes from the arenas.
func (o *Operator) clearProbe() {
	c := &o.cands[0]
	o.skArena = o.skArena[:c.skOff]
	o.payArena = o.payArena[:c.payOff]
}

// ascend calls f on partition p's rows in order until f returns false.
func (o *Operator) ascend(p uint32, f func(id int32) bool) {
	o.setProbe(p, nil, nil)
	o.tree.AscendGreaterOrEqual(item{pid: p}, func(it item) bool {
		return it.pid == p && f(it.id)
	})
	o.clearProbe()
}

// retractRow removes the earliest-arrived row of partition p equal to pay
// (sort key sk). It reports whether there was one.
func (o *Operator) retractRow(p uint32, sk, pay []byte) bool {
	o.setProbe(p, sk, pay)
	found := int32(-1)
	o.tree.AscendGreaterOrEqual(item{pre: prefix(sk), pid: p}, func(it item) bool {
		id := it.id
		if it.pid != p || !bytes.Equal(o.sk(id), sk) {
			return false
		}
		if bytes.Equal(o.payload(id), pay) {
			found = id
			return false
		}
		// Ordered by payload, the first row at or after the probe is the
		// only candidate.
		return !o.byPayload
	})
	o.clearProbe()
	if found < 0 {
		return false
	}
	o.remove(found)
	return true
}

// visible appends partition p's visible rows (rank <= N) to list, in order.
// With trim (append mode) it also removes every row after them, which can
// never rank again, and resets the partition's boundary.
func (o *Operator) visible(p uint32, list *[]entry, trim bool) {
	start := len(*list)
	var prev []byte
	rank, pos, distinct := int64(0), int64(0), int64(0)
	o.doomed = o.doomed[:0]
	fn := o.spec.Func
	o.ascend(p, func(id int32) bool {
		sk := o.sk(id)
		pos++
		tie := pos > 1 && bytes.Equal(sk, prev)
		if !tie {
			distinct++
		}
		switch fn {
		case jobgraph.RowNumber:
			rank = pos
		case jobgraph.Rank:
			if !tie {
				rank = pos
			}
		case jobgraph.DenseRank:
			rank = distinct
		}
		if rank > o.n {
			if !trim {
				return false
			}
			o.doomed = append(o.doomed, id)
			return true
		}
		prev = sk
		*list = append(*list, entry{id: id, rank: rank})
		return true
	})
	if !trim {
		return
	}
	for _, id := range o.doomed {
		o.remove(id)
	}
	vis := (*list)[start:]
	o.pBound[p] = -1
	full := int64(len(vis)) >= o.n
	if fn == jobgraph.DenseRank {
		full = len(vis) > 0 && vis[len(vis)-1].rank >= o.n
	}
	if full {
		o.pBound[p] = vis[len(vis)-1].id
	}
	o.pTrim[p] = o.trimAt(len(vis))
}

// trim drops the rows of append-mode partition p that can no longer rank.
func (o *Operator) trim(p uint32) {
	o.cur = o.cur[:0]
	o.visible(p, &o.cur, true)
}

// dropPartition drops every row of partition p (expired state).
func (o *Operator) dropPartition(p uint32) {
	o.doomed = o.doomed[:0]
	o.ascend(p, func(id int32) bool {
		o.doomed = append(o.doomed, id)
		return true
	})
	for _, id := range o.doomed {
		o.remove(id)
	}
	o.pBound[p] = -1
	o.pTrim[p] = o.trimAt(0)
	if o.ttl > 0 {
		o.ss.dirtyParts.Add(p)
	}
}

// fillPayloads encodes, a column at a time, the rows accepted in this batch
// (append mode) that are still held, into the payload arena.
func (o *Operator) fillPayloads(rec arrow.RecordBatch, n int) error {
	if len(o.pending) == 0 {
		return nil
	}
	ids, rows := o.pending[:0], o.prow[:0]
	for k, id := range o.pending {
		if o.cands[id].state == candLive {
			ids = append(ids, id)
			rows = append(rows, o.prow[k])
		}
	}
	o.pending, o.prow = ids, rows
	if len(ids) == 0 {
		return nil
	}
	if err := o.rowEnc.Encode(o.allArrs, n, rows, &o.pays); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	for k, id := range ids {
		row := o.pays.Row(k)
		c := &o.cands[id]
		c.payOff, c.payLen = len(o.payArena), int32(len(row))
		o.payArena = append(o.payArena, row...)
		o.liveBytes += len(row)
	}
	return nil
}

// diff appends to o.changes what turns the visible rows old into cur.
func (o *Operator) diff(old, cur []entry) {
	if o.spec.EmitRank && o.spec.Func == jobgraph.RowNumber {
		// Keyed by position.
		for r := 0; r < max(len(old), len(cur)); r++ {
			switch {
			case r >= len(cur):
				o.changes = append(o.changes, change{id: old[r].id, rank: old[r].rank, kind: stream.Delete})
			case r >= len(old):
				o.changes = append(o.changes, change{id: cur[r].id, rank: cur[r].rank, kind: stream.Insert})
			case old[r].id == cur[r].id || bytes.Equal(o.payload(old[r].id), o.payload(cur[r].id)):
			default:
				if o.spec.EmitUpdateBefore {
					o.changes = append(o.changes, change{id: old[r].id, rank: old[r].rank, kind: stream.UpdateBefore})
				}
				o.changes = append(o.changes, change{id: cur[r].id, rank: cur[r].rank, kind: stream.UpdateAfter})
			}
		}
		return
	}
	// A multiset of rows (with their ranks when emitted): sort both sides
	// by (row, rank) and merge away what they share.
	emitRank := o.spec.EmitRank
	cmp := func(a, b entry) int {
		if c := bytes.Compare(o.payload(a.id), o.payload(b.id)); c != 0 {
			return c
		}
		if emitRank {
			switch {
			case a.rank < b.rank:
				return -1
			case a.rank > b.rank:
				return 1
			}
		}
		return 0
	}
	o.rm = append(o.rm[:0], old...)
	o.add = append(o.add[:0], cur...)
	slices.SortFunc(o.rm, cmp)
	slices.SortFunc(o.add, cmp)
	rm, add := o.rm[:0], o.add[:0]
	i, j := 0, 0
	for i < len(o.rm) || j < len(o.add) {
		switch {
		case j >= len(o.add):
			rm = append(rm, o.rm[i])
			i++
		case i >= len(o.rm):
			add = append(add, o.add[j])
			j++
		default:
			switch c := cmp(o.rm[i], o.add[j]); {
			case c == 0:
				i++
				j++
			case c < 0:
				rm = append(rm, o.rm[i])
				i++
			default:
				add = append(add, o.add[j])
				j++
			}
		}
	}
	// Both lists stay sorted by row: pair a row leaving at one rank with
	// the same row entering at another as an update.
	i, j = 0, 0
	for i < len(rm) || j < len(add) {
		c := 0
		switch {
		case j >= len(add):
			c = -1
		case i >= len(rm):
			c = 1
		default:
			c = bytes.Compare(o.payload(rm[i].id), o.payload(add[j].id))
		}
		switch {
		case c == 0 && emitRank:
			o.changes = append(o.changes,
				change{id: rm[i].id, rank: rm[i].rank, kind: stream.UpdateBefore},
				change{id: add[j].id, rank: add[j].rank, kind: stream.UpdateAfter})
			i++
			j++
		case c <= 0:
			o.changes = append(o.changes, change{id: rm[i].id, rank: rm[i].rank, kind: stream.Delete})
			i++
		default:
			o.changes = append(o.changes, change{id: add[j].id, rank: add[j].rank, kind: stream.Insert})
			j++
		}
	}
}

// emit sends o.changes downstream as whole Arrow columns, decoded from the
// payload arena.
func (o *Operator) emit(ctx context.Context, out operator.Collector) error {
	nf := o.schema.NumFields()
	for lo := 0; lo < len(o.changes); lo += OutputBatchRows {
		part := o.changes[lo:min(lo+OutputBatchRows, len(o.changes))]
		o.starts, o.ranks = o.starts[:0], o.ranks[:0]
		kinds := make([]stream.RowKind, len(part))
		for k, ch := range part {
			c := &o.cands[ch.id]
			if c.payLen < 0 {
				return fmt.Errorf("internal error: an emitted row has no payload")
			}
			o.starts = append(o.starts, c.payOff)
			o.ranks = append(o.ranks, ch.rank)
			kinds[k] = ch.kind
		}
		rec, err := o.build(nf)
		if err != nil {
			return err
		}
		if err := out.Emit(ctx, stream.Batch{Record: rec, Kinds: kinds}); err != nil {
			return err
		}
	}
	return nil
}

// build makes a record of the rows at o.starts (and ranks o.ranks).
func (o *Operator) build(nf int) (arrow.RecordBatch, error) {
	rb := array.NewRecordBuilder(o.oc.Alloc, o.out)
	defer rb.Release()
	rb.Reserve(len(o.starts))
	bs := rb.Fields()
	if err := o.rowEnc.Decode(o.payArena, o.starts, bs[:nf]); err != nil {
		return nil, err
	}
	if o.spec.EmitRank {
		bs[nf].(*array.Int64Builder).AppendValues(o.ranks, nil)
	}
	return rb.NewRecordBatch(), nil
}

// release frees the candidates removed in this batch, compacts the arenas
// and the partition table when they hold mostly dead entries.
func (o *Operator) release() {
	o.freeDying()
	if o.empty > rebuildMinParts && o.empty > len(o.pRows)-o.empty {
		o.rebuild()
	}
}

// freeDying frees the candidates removed since the last call and compacts
// the arenas when they hold mostly dead bytes.
func (o *Operator) freeDying() {
	for _, id := range o.dying {
		c := &o.cands[id]
		dead := int(c.skLen)
		if c.payLen > 0 {
			dead += int(c.payLen)
		}
		o.liveBytes -= dead
		o.deadBytes += dead
		*c = cand{state: candFree}
		o.free = append(o.free, id)
	}
	o.dying = o.dying[:0]
	if o.deadBytes > compactMinBytes && o.deadBytes > o.liveBytes {
		o.compact()
	}
}

// compact rewrites the arenas without dead bytes.
func (o *Operator) compact() {
	sk := make([]byte, 0, o.liveBytes/2+64)
	pay := make([]byte, 0, o.liveBytes/2+64)
	for id := 1; id < len(o.cands); id++ {
		c := &o.cands[id]
		if c.state != candLive {
			continue
		}
		off := len(sk)
		sk = append(sk, o.skArena[c.skOff:c.skOff+int(c.skLen)]...)
		c.skOff = off
		if c.payLen >= 0 {
			off = len(pay)
			pay = append(pay, o.payArena[c.payOff:c.payOff+int(c.payLen)]...)
			c.payOff = off
		}
	}
	o.skArena, o.payArena, o.deadBytes = sk, pay, 0
}

// rebuild drops empty partitions (and those being evicted) from the
// partition table. Partition ids are renumbered in their old order, so the
// tree's order is unchanged.
func (o *Operator) rebuild() {
	live := len(o.pRows) - o.empty
	t := o.newTable(live)
	remap := make([]uint32, len(o.pRows))
	kept := make([]bool, len(o.pRows))
	next := 0
	for p := range o.pRows {
		if o.pRows[p] == 0 {
			if !o.isEvicting(uint32(p)) {
				o.notePartDropped(uint32(p))
			}
			continue
		}
		id, _, err := t.FindOrInsertOne(o.parts.Hash(uint32(p)), o.parts.Key(uint32(p)))
		if err != nil || int(id) != next {
			return // cannot happen: keep the old table
		}
		remap[p], kept[p] = id, true
		o.pRows[next], o.pBound[next], o.pTrim[next], o.pLast[next] = o.pRows[p], o.pBound[p], o.pTrim[p], o.pLast[p]
		o.pSnap[next] = 0
		if o.limit > 0 {
			o.pStamp[next] = o.pStamp[p]
		}
		next++
	}
	for id := 1; id < len(o.cands); id++ {
		if c := &o.cands[id]; c.state == candLive {
			c.pid = remap[c.pid]
		}
	}
	// The tree holds partition ids too: rebuild it, in order.
	items := make([]item, 0, o.tree.Len())
	o.tree.Ascend(func(it item) bool {
		items = append(items, it)
		return true
	})
	o.tree.Clear(true)
	for _, it := range items {
		if !kept[it.pid] {
			continue // an evicted partition's row
		}
		it.pid = remap[it.pid]
		o.tree.ReplaceOrInsert(it)
	}
	o.ss.dirtyParts.Remap(func(p uint32) (uint32, bool) { return remap[p], kept[p] })
	o.pRows, o.pBound, o.pTrim, o.pLast, o.pSnap = o.pRows[:next], o.pBound[:next], o.pTrim[:next], o.pLast[:next], o.pSnap[:next]
	if o.limit > 0 {
		o.pStamp = o.pStamp[:next]
	}
	o.parts, o.empty = t, 0
}

// sweep drops the partitions whose state expired, when a sweep is due (at
// most every quarter TTL).
func (o *Operator) sweep(now int64) {
	if o.ttl <= 0 || o.schema == nil || now < o.nextSweep {
		return
	}
	o.nextSweep = now + max(o.ttl/4, 1)
	limit := now - o.ttl
	dropped := 0
	for p := range o.pRows {
		if o.pRows[p] > 0 && o.pLast[p] <= limit {
			o.dropPartition(uint32(p))
			dropped++
		}
	}
	if dropped > 0 {
		o.expired.Add(float64(dropped))
		o.release()
	}
}

// ProcessWatermark implements operator.Operator. Top-N output does not wait
// for watermarks; it only sweeps expired state.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if o.ttl > 0 && o.oc != nil {
		o.sweep(o.now())
	}
	return nil
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its state.
func (o *Operator) Close(ctx context.Context) error {
	if o.tree != nil {
		o.tree.Clear(false)
	}
	o.cands, o.skArena, o.payArena, o.free, o.dying = nil, nil, nil, nil, nil
	o.pRows, o.pBound, o.pTrim, o.pLast, o.pSnap, o.pStamp = nil, nil, nil, nil, nil, nil
	o.parts = nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

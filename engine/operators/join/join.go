package join

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/join/joinrows"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// Metric names.
const (
	// StateExpiredMetric counts stored rows dropped by the state TTL.
	StateExpiredMetric = "state_expired"
	// RetractMissMetric counts retract rows whose row was not in state.
	RetractMissMetric = "retractions_not_in_state"
)

// sweepPerRow is how many table entries per input row the TTL sweep
// visits.
const sweepPerRow = 2

// minCompact is the number of dead entries below which a side's tables are
// never rebuilt.
const minCompact = 1024

var sideName = joinrows.SideName

// Operator is the regular join. See the package comment.
type Operator struct {
	id   string
	spec *jobgraph.JoinSpec
	lay  *joinrows.Layout

	oc     *operator.Context
	mem    memory.Allocator
	log    *slog.Logger
	now    func() int64
	expire operator.Counter
	miss   operator.Counter
	warned bool

	// keep[s]: side s is preserved (emitted NULL-padded, or by SEMI/ANTI),
	// so its stored rows count their matches.
	keep     [2]bool
	residual expr.Evaluator
	out      *joinrows.Output
	st       [2]store
	seed     maphash.Seed
	ss       snapState // snapshot bookkeeping (snapshot.go)
	cache    cache     // bounded working set (cache.go)

	// Per batch scratch.
	rows    rowkey.Rows
	rowHash []uint64
	nullKey []bool
	pairs   joinrows.Pairs
}

// store is one side's state. Every distinct row, a NULL key's too, hangs
// in the chain of its join key (a probe never looks a NULL key up), so a
// join key with its chain is the unit the cache keeps or evicts.
type store struct {
	keys   *hashtable.Table // encoded join key -> key id
	head   []int32          // per key id: first entry of its chain, or -1
	stamp  []uint64         // per key id: cache clock of its last touch (with a cache limit)
	rows   *hashtable.Table // encoded row -> row id
	ent    []entry          // per row id
	live   int              // entries with count > 0
	dead   int              // entries with count 0
	copies int64            // sum of the live counts
	sweep  int              // next entry the TTL sweep visits
}

// entry is a distinct stored row.
type entry struct {
	count   int64 // multiplicity; 0: not in state
	matches int64 // matching rows (copies) of the other side, if counted
	touched int64 // processing time of the last read or write
	seq     int64 // position in its key's chain: larger than every row after it
	kid     int32 // key id (-1 only while the entry is being created)
	kg      int32 // key group of the join key (state keys)
	prev    int32 // chain of the key's rows
	next    int32
}

// New builds a regular join from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Join == nil {
		return nil, fmt.Errorf("join: spec has no join part")
	}
	js := spec.Join
	fail := func(format string, args ...any) error {
		return fmt.Errorf("join %s: %s", spec.ID, fmt.Sprintf(format, args...))
	}
	o := &Operator{id: spec.ID, spec: js, seed: maphash.MakeSeed()}
	switch js.Type {
	case jobgraph.InnerJoin:
	case jobgraph.LeftJoin, jobgraph.SemiJoin, jobgraph.AntiJoin:
		o.keep[0] = true
	case jobgraph.RightJoin:
		o.keep[1] = true
	case jobgraph.FullJoin:
		o.keep = [2]bool{true, true}
	default:
		return nil, fail("unknown join type %q", js.Type)
	}
	if js.TTLMs < 0 {
		return nil, fail("state TTL is %d ms, want >= 0", js.TTLMs)
	}
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
	if o.now = oc.Now; o.now == nil {
		o.now = func() int64 { return time.Now().UnixMilli() }
	}
	o.expire = counter(oc.Metrics, StateExpiredMetric, "Stored join rows dropped by the state TTL.")
	o.miss = counter(oc.Metrics, RetractMissMetric, "Retract rows dropped because their row was not in the join's state.")
	return o.openCache()
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

func counter(m operator.Metrics, name, help string) operator.Counter {
	if m == nil {
		return nopCounter{}
	}
	return m.Counter(name, help)
}

// StoredRows returns the number of rows (copies) side s keeps in memory
// (all it keeps in state unless a cache limit evicted some).
func (o *Operator) StoredRows(s int) int64 { return o.st[s].copies }

// bind prepares side s after the layout bound its first batch.
func (o *Operator) bind(s int) error {
	st := &o.st[s]
	st.keys = o.lay.KeyEnc[s].NewTable()
	st.rows = hashtable.New(64)
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
		return fmt.Errorf("join %s: input %d: the join has inputs 0 (left) and 1 (right)", o.id, input)
	}
	if err := o.process(ctx, input, b, out); err != nil {
		return fmt.Errorf("join %s: %s input: %w", o.id, sideName[input], err)
	}
	return nil
}

func (o *Operator) process(ctx context.Context, s int, b stream.Batch, out operator.Collector) error {
	retracts := o.spec.LeftRetracts
	if s == 1 {
		retracts = o.spec.RightRetracts
	}
	first := o.lay.Schema[s] == nil
	ok, err := o.lay.Admit(s, b, !retracts, "this side of the join (declared append-only)")
	if !ok || err != nil {
		return err
	}
	if first {
		if err := o.bind(s); err != nil {
			return err
		}
	}
	rec, n := b.Record, b.NumRows()
	now := o.now()

	// Keys and rows of the batch, a column at a time.
	ke := o.lay.KeyEnc[s]
	if err := ke.Encode(rec); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	if err := o.lay.RowEnc[s].Encode(rec.Columns(), n, nil, &o.rows); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	o.rowHash = grow(o.rowHash, n)
	for i := range o.rowHash {
		o.rowHash[i] = maphash.Bytes(o.seed, o.rows.Row(i))
	}
	o.nullKey = nullKeys(rec, o.lay.Keys[s], o.nullKey)

	if o.cache.limit > 0 {
		if err := o.fetch(s, now); err != nil {
			return err
		}
	}
	if err := o.match(ctx, s, rec, now); err != nil {
		return err
	}
	if err := o.apply(ctx, s, b, now, out); err != nil {
		return err
	}
	if err := o.out.Flush(ctx, out); err != nil {
		return err
	}
	if o.spec.TTLMs > 0 {
		for side := range o.st {
			o.sweep(side, sweepPerRow*n+16, now)
		}
	}
	for side := range o.st {
		if st := &o.st[side]; st.dead > minCompact && st.dead > st.live {
			if err := o.rebuild(side, nil); err != nil {
				return err
			}
		}
	}
	if o.cache.limit > 0 {
		if err := o.evict(); err != nil {
			return err
		}
	}
	if wb := o.cache.writeBehind; wb > 0 && o.dirty() > wb {
		if err := o.tables(); err != nil {
			return err
		}
		o.ss.writesBehind++
		return o.writeDirty()
	}
	return nil
}

// match finds, for every row of the batch of side s, the other side's
// stored rows it joins: key equal and residual TRUE. The pairs go to
// pairRow/pairRid in row order, and start indexes them by row.
func (o *Operator) match(ctx context.Context, s int, rec arrow.RecordBatch, now int64) error {
	n := int(rec.NumRows())
	o.pairs.Row, o.pairs.ID = o.pairs.Row[:0], o.pairs.ID[:0]
	o.pairs.Probe, o.pairs.Cand = o.pairs.Probe[:0], o.pairs.Cand[:0]
	o.pairs.CandRows.Reset()
	other := &o.st[1-s]
	if other.keys != nil && other.live > 0 {
		ke := o.lay.KeyEnc[s]
		ttl := o.spec.TTLMs
		for i := 0; i < n; i++ {
			if o.nullKey[i] {
				continue
			}
			kid, ok := other.keys.Find(ke.Hashes[i], ke.Rows.Row(i))
			if !ok {
				continue
			}
			for rid := other.head[kid]; rid >= 0; {
				e := &other.ent[rid]
				next := e.next
				switch {
				case ttl > 0 && now-e.touched > ttl:
					o.drop(1-s, rid)
				case o.residual == nil:
					if ttl > 0 {
						o.ss.dirty[1-s].Add(uint32(rid))
					}
					e.touched = now
					o.pairs.Row = append(o.pairs.Row, int32(i))
					o.pairs.ID = append(o.pairs.ID, rid)
				default:
					if ttl > 0 {
						o.ss.dirty[1-s].Add(uint32(rid))
					}
					e.touched = now
					o.pairs.Probe = append(o.pairs.Probe, int32(i))
					o.pairs.Cand = append(o.pairs.Cand, rid)
					o.pairs.CandRows.Add(other.rows.Key(uint32(rid)))
					if len(o.pairs.Probe) >= joinrows.OutputBatchRows {
						if err := o.pairs.Filter(ctx, o.lay, o.residual, s, rec, o.mem); err != nil {
							return err
						}
					}
				}
				rid = next
			}
		}
		if err := o.pairs.Filter(ctx, o.lay, o.residual, s, rec, o.mem); err != nil {
			return err
		}
	}
	o.pairs.Index(n)
	return nil
}

// apply updates side s's state with the batch's rows, in order, and emits
// the changes they make to the join's result.
func (o *Operator) apply(ctx context.Context, s int, b stream.Batch, now int64, out operator.Collector) error {
	st, other := &o.st[s], &o.st[1-s]
	ke := o.lay.KeyEnc[s]
	ebu := o.spec.EmitUpdateBefore
	semi := o.lay.Semi
	ttl := o.spec.TTLMs
	n := b.NumRows()
	misses := 0
	// emit adds an output row: x is a row of side s, y one of the other
	// side (nil: NULLs).
	emit := func(x, y []byte, k stream.RowKind) error {
		if s == 0 {
			return o.out.Add(ctx, out, x, y, k)
		}
		return o.out.Add(ctx, out, y, x, k)
	}
	// emitOther adds the stored row y of the other side alone: NULL-padded,
	// or for SEMI and ANTI (the other side is then the left) as it is.
	emitOther := func(y []byte, k stream.RowKind, times int64) error {
		for ; times > 0; times-- {
			var err error
			if s == 0 {
				err = o.out.Add(ctx, out, nil, y, k)
			} else {
				err = o.out.Add(ctx, out, y, nil, k)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < n; i++ {
		kind := b.Kind(i)
		x := o.rows.Row(i)
		pairs := o.pairs.Of(i)
		var m int64 // matching copies of the other side
		for _, rid := range pairs {
			m += other.ent[rid].count
		}
		if !kind.IsRetract() {
			rid, inserted, err := st.rows.FindOrInsertOne(o.rowHash[i], x)
			if err != nil {
				return err
			}
			if inserted {
				st.ent = append(st.ent, entry{kid: -1, prev: -1, next: -1})
				st.dead++
			}
			o.ss.dirty[s].Add(uint32(rid))
			e := &st.ent[rid]
			if e.count > 0 && ttl > 0 && now-e.touched > ttl {
				o.drop(s, int32(rid))
			}
			if e.count == 0 {
				e.matches = m
				e.kg = int32(opsnap.KeyGroup(ke.Hashes[i], o.oc.MaxParallelism))
				kid, ins, err := st.keys.FindOrInsertOne(ke.Hashes[i], ke.Rows.Row(i))
				if err != nil {
					return err
				}
				if ins {
					st.head = append(st.head, -1)
					if o.cache.limit > 0 {
						st.stamp = append(st.stamp, o.cache.clock)
					}
				}
				e.kid = int32(kid)
				st.push(int32(rid))
				st.dead--
				st.live++
			}
			e.count++
			e.touched = now
			st.copies++
			k := stream.Insert
			if kind == stream.UpdateAfter && ebu {
				k = stream.UpdateAfter
			}
			for _, rid := range pairs {
				y := &other.ent[rid]
				yb := other.rows.Key(uint32(rid))
				if o.keep[1-s] {
					o.ss.dirty[1-s].Add(uint32(rid))
					if y.matches == 0 {
						switch {
						case !semi: // its NULL-padded rows go
							if err := emitOther(yb, stream.Delete, y.count); err != nil {
								return err
							}
						case o.spec.Type == jobgraph.SemiJoin:
							if err := emitOther(yb, stream.Insert, y.count); err != nil {
								return err
							}
						default: // ANTI
							if err := emitOther(yb, stream.Delete, y.count); err != nil {
								return err
							}
						}
					}
					y.matches++
				}
				if !semi {
					for c := y.count; c > 0; c-- {
						if err := emit(x, yb, k); err != nil {
							return err
						}
					}
				}
			}
			if o.keep[s] && (e.matches == 0) != (o.spec.Type == jobgraph.SemiJoin) {
				// NULL-padded (outer), or kept by SEMI (m > 0) / ANTI (m == 0).
				if err := emit(x, nil, k); err != nil {
					return err
				}
			}
			continue
		}
		// A retract row.
		rid, found := st.rows.Find(o.rowHash[i], x)
		if found && st.ent[rid].count > 0 && ttl > 0 && now-st.ent[rid].touched > ttl {
			o.drop(s, int32(rid))
		}
		if !found || st.ent[rid].count == 0 {
			misses++
			continue
		}
		o.ss.dirty[s].Add(uint32(rid))
		e := &st.ent[rid]
		e.count--
		e.touched = now
		st.copies--
		if e.count == 0 {
			st.unlink(int32(rid))
			st.live--
			st.dead++
		}
		k := stream.Delete
		if kind == stream.UpdateBefore && ebu {
			k = stream.UpdateBefore
		}
		for _, rid := range pairs {
			y := &other.ent[rid]
			yb := other.rows.Key(uint32(rid))
			if !semi {
				for c := y.count; c > 0; c-- {
					if err := emit(x, yb, k); err != nil {
						return err
					}
				}
			}
			if o.keep[1-s] {
				o.ss.dirty[1-s].Add(uint32(rid))
				if y.matches--; y.matches <= 0 {
					y.matches = 0
					switch {
					case !semi: // NULL-padded again
						if err := emitOther(yb, stream.Insert, y.count); err != nil {
							return err
						}
					case o.spec.Type == jobgraph.SemiJoin:
						if err := emitOther(yb, stream.Delete, y.count); err != nil {
							return err
						}
					default: // ANTI
						if err := emitOther(yb, stream.Insert, y.count); err != nil {
							return err
						}
					}
				}
			}
		}
		if o.keep[s] && (e.matches == 0) != (o.spec.Type == jobgraph.SemiJoin) {
			if err := emit(x, nil, k); err != nil {
				return err
			}
		}
	}
	if misses > 0 {
		o.miss.Add(float64(misses))
		if !o.warned {
			o.warned = true
			o.log.Warn("join: dropping retract rows whose row is not in state", "operator", o.id, "side", sideName[s])
		}
	}
	return nil
}

// push puts entry rid at the head of its key's chain with the next
// sequence number of the chain.
func (st *store) push(rid int32) {
	e := &st.ent[rid]
	e.seq = 0
	if h := st.head[e.kid]; h >= 0 {
		e.seq = st.ent[h].seq + 1
	}
	st.link(rid)
}

// link puts entry rid at the head of its key's chain, keeping its
// sequence number.
func (st *store) link(rid int32) {
	e := &st.ent[rid]
	h := st.head[e.kid]
	e.prev, e.next = -1, h
	if h >= 0 {
		st.ent[h].prev = rid
	}
	st.head[e.kid] = rid
}

// unlink takes entry rid out of its key's chain.
func (st *store) unlink(rid int32) {
	e := &st.ent[rid]
	if e.kid < 0 {
		return
	}
	if e.prev >= 0 {
		st.ent[e.prev].next = e.next
	} else {
		st.head[e.kid] = e.next
	}
	if e.next >= 0 {
		st.ent[e.next].prev = e.prev
	}
	e.prev, e.next = -1, -1
}

// drop removes live entry rid of side s from state (state TTL).
func (o *Operator) drop(s int, rid int32) {
	st := &o.st[s]
	e := &st.ent[rid]
	o.ss.dirty[s].Add(uint32(rid))
	st.unlink(rid)
	o.expire.Add(float64(e.count))
	st.copies -= e.count
	e.count, e.matches = 0, 0
	st.live--
	st.dead++
}

// sweep visits up to budget entries of side s, dropping those the state
// TTL expired.
func (o *Operator) sweep(s, budget int, now int64) {
	st := &o.st[s]
	if len(st.ent) == 0 {
		return
	}
	budget = min(budget, len(st.ent))
	for ; budget > 0; budget-- {
		if st.sweep >= len(st.ent) {
			st.sweep = 0
		}
		e := &st.ent[st.sweep]
		if e.count > 0 && now-e.touched > o.spec.TTLMs {
			o.drop(s, int32(st.sweep))
		}
		st.sweep++
	}
}

// rebuild rebuilds side s's tables from the live rows of its keys that
// stay: all of them (evict nil; compaction of dead entries), or those with
// evict[kid] false (cache eviction). Each kept key's chain keeps its order.
// Entries that leave memory and changed since the last snapshot go to
// keyed state now when a cache limit is set (an evicted key's rows are
// written; dropped rows deleted), or are recorded for the next snapshot
// to delete otherwise. Keys without live rows go.
func (o *Operator) rebuild(s int, evict []bool) error {
	st := &o.st[s]
	limited := o.cache.limit > 0
	for rid := range st.ent {
		e := &st.ent[rid]
		victim := evict != nil && e.kid >= 0 && evict[e.kid]
		if (e.count > 0 && !victim) || !o.ss.dirty[s].Has(uint32(rid)) {
			continue
		}
		switch {
		case e.count > 0:
			if err := o.writeRow(s, int32(rid)); err != nil {
				return err
			}
		case limited:
			if o.ss.written {
				if err := o.writeRow(s, int32(rid)); err != nil { // deletes it
					return err
				}
			}
		default:
			o.noteDropped(s, int32(rid))
		}
	}
	ns := store{keys: o.lay.KeyEnc[s].NewTable(), rows: hashtable.New(max(st.live, 64)), sweep: 0}
	ns.ent = make([]entry, 0, st.live)
	renum := o.cache.renum[:0]
	for range st.ent {
		renum = append(renum, -1)
	}
	for kid, h := range st.head {
		if h < 0 || (evict != nil && evict[kid]) {
			continue
		}
		nkid, _, err := ns.keys.FindOrInsertOne(st.keys.Hash(uint32(kid)), st.keys.Key(uint32(kid)))
		if err != nil {
			return err
		}
		ns.head = append(ns.head, -1)
		if limited {
			ns.stamp = append(ns.stamp, st.stamp[kid])
		}
		tail := h
		for st.ent[tail].next >= 0 {
			tail = st.ent[tail].next
		}
		for rid := tail; rid >= 0; rid = st.ent[rid].prev {
			e := st.ent[rid]
			nrid, _, err := ns.rows.FindOrInsertOne(st.rows.Hash(uint32(rid)), st.rows.Key(uint32(rid)))
			if err != nil {
				return err
			}
			renum[rid] = int32(nrid)
			e.kid = int32(nkid)
			ns.ent = append(ns.ent, e)
			ns.link(int32(nrid))
			ns.live++
			ns.copies += e.count
		}
	}
	o.ss.dirty[s].Remap(func(rid uint32) (uint32, bool) { return uint32(renum[rid]), renum[rid] >= 0 })
	o.cache.renum = renum
	*st = ns
	return nil
}

// ProcessWatermark implements operator.Operator: the join buffers nothing
// by event time, so watermarks only pass through (the runtime forwards
// them).
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
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
	o.st = [2]store{}
	return nil
}

// nullKeys sets dst[i] to whether row i of rec has a NULL in a key column.
func nullKeys(rec arrow.RecordBatch, keys []int, dst []bool) []bool {
	n := int(rec.NumRows())
	dst = grow(dst, n)
	clear(dst)
	for _, c := range keys {
		v, has := rowkey.ValidityOf(rec.Column(c))
		if !has {
			continue
		}
		for i := 0; i < n; i++ {
			if v.Null(i) {
				dst[i] = true
			}
		}
	}
	return dst
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

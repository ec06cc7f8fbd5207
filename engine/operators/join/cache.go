package join

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/state"
)

// cache is the bookkeeping of the bounded working set (see the package
// comment, "State larger than memory").
type cache struct {
	limit int // most join keys (both sides) in memory; 0: no limit
	// writeBehind: past this many changed rows (and pending deletes) keyed
	// state lacks, they are written between batches (0: only at
	// snapshots).
	writeBehind int
	m           statecache.Metrics
	// evicted and loaded count keys, as the metrics do (for tests).
	nEvicted, nLoaded int
	clock             uint64 // advanced once per batch
	// cold[s]: keyed state may hold join keys of side s that are not in
	// memory (something was evicted, or the restore loaded nothing).
	cold [2]bool

	// Scratch.
	loaded  []int32 // rows of the keys being loaded
	renum   []int32
	stamps  []uint64
	victims []uint32
	evict   []bool
	pre     statecache.KeyBatch // state key prefixes of the keys being loaded

	// The keys being loaded (loadRow's context).
	side int
	last int // index of the last prefix a row was loaded under
	now  int64
	load func(i int, key, v []byte) error
}

// openCache reads the cache limit and the write-behind limit; with a
// cache limit, the keyed state must be there (evicted rows go into it).
func (o *Operator) openCache() error {
	c := &o.cache
	var err error
	if c.writeBehind, err = statecache.WriteBehind(o.oc); err != nil {
		return fmt.Errorf("join %s: %w", o.id, err)
	}
	if c.limit, err = statecache.Limit(o.oc); err != nil {
		return fmt.Errorf("join %s: %w", o.id, err)
	}
	if c.limit == 0 {
		return nil
	}
	if err := o.tables(); err != nil {
		return fmt.Errorf("join %s: option '%s' needs keyed state: %w", o.id, statecache.Option, err)
	}
	c.m = statecache.NewMetrics(o.oc)
	c.load = o.loadRow
	return nil
}

// fetch makes sure that every join key the batch of side s touches is in
// memory on both sides, with all its rows: side s's keys (the rows change)
// and, for rows with a non-NULL key, the other side's (the rows probed,
// whose match counts change). The keys missing from memory of a side that
// may have keys in state only are added to memory and looked up there
// together (loadKeys: one batched prefix scan per side); a key not found
// there is kept in memory empty, so it is not looked up again. Every
// touched key gets the batch's stamp.
func (o *Operator) fetch(s int, now int64) error {
	c := &o.cache
	c.clock++
	ke := o.lay.KeyEnc[s]
	n := len(ke.Hashes)
	for _, side := range [2]int{s, 1 - s} {
		st := &o.st[side]
		if st.keys == nil {
			continue // never bound: no rows anywhere
		}
		from := st.keys.Len()
		for i := 0; i < n; i++ {
			if side != s && o.nullKey[i] {
				continue
			}
			h, k := ke.Hashes[i], ke.Rows.Row(i)
			kid, ok := st.keys.Find(h, k)
			if ok {
				st.stamp[kid] = c.clock
				continue
			}
			if !c.cold[side] {
				continue // a new key; apply creates it
			}
			if _, _, err := st.keys.FindOrInsertOne(h, k); err != nil {
				return err
			}
			st.head = append(st.head, -1)
			st.stamp = append(st.stamp, c.clock)
		}
		if err := o.loadKeys(side, uint32(from), uint32(st.keys.Len()), now); err != nil {
			return err
		}
	}
	if o.ss.dels.Len() > 0 { // rows found expired while loading
		return o.ss.dels.Apply(o.ss.rows)
	}
	return nil
}

// loadKeys reads side's rows of the join keys [from, to) (just added to
// memory, with no rows) from keyed state: their state key prefixes (key
// group | side | join key with its length: complete key parts, so none is
// a prefix of another) sorted, in one batched prefix scan
// (state.ScanPrefixes). Rows the state TTL expired are dropped (counted,
// recorded for deletion) instead.
func (o *Operator) loadKeys(side int, from, to uint32, now int64) error {
	if from >= to {
		return nil
	}
	c := &o.cache
	st := &o.st[side]
	p := &c.pre
	p.Reset()
	for kid := from; kid < to; kid++ {
		kg := opsnap.KeyGroup(st.keys.Hash(kid), o.oc.MaxParallelism)
		p.Add(kid, o.keyPrefix(p.Buf(), side, kg, int32(kid)))
	}
	p.Sort()
	c.side, c.now, c.last = side, now, -1
	c.loaded = c.loaded[:0]
	if err := state.ScanPrefixes(o.ss.rows, p.Keys, c.load); err != nil {
		return fmt.Errorf("load %s rows: %w", sideName[side], err)
	}
	o.linkLoaded(side)
	return nil
}

// loadRow is loadKeys' scan callback: row key of the i-th sorted prefix.
func (o *Operator) loadRow(i int, key, v []byte) error {
	c := &o.cache
	var e entry
	if _, err := decodeRow(key, v, &e); err != nil {
		return err
	}
	if ttl := o.spec.TTLMs; ttl > 0 && c.now-e.touched > ttl {
		o.expire.Add(float64(e.count))
		o.ss.dels.Add(key)
		return nil
	}
	kg, err := state.KeyGroupOf(key)
	if err != nil {
		return fmt.Errorf("%w: %w", opsnap.ErrCorrupt, err)
	}
	pre := c.pre.Keys[i]
	e.kid, e.kg = int32(c.pre.IDs[i]), int32(kg)
	if i != c.last {
		c.last = i
		c.m.Loaded.Add(1)
		c.nLoaded++
	}
	return o.addLoaded(c.side, key, key[len(pre):], e)
}

// addLoaded puts row (state key key) with entry e, read from keyed state,
// into side's tables, to be linked by linkLoaded.
func (o *Operator) addLoaded(side int, key, row []byte, e entry) error {
	st := &o.st[side]
	rid, inserted, err := st.rows.FindOrInsertOne(maphash.Bytes(o.seed, row), row)
	if err != nil {
		return err
	}
	if !inserted {
		return fmt.Errorf("%w: row %x stored twice", opsnap.ErrCorrupt, key)
	}
	st.ent = append(st.ent, e)
	st.live++
	st.copies += e.count
	o.cache.loaded = append(o.cache.loaded, int32(rid))
	return nil
}

// linkLoaded links the rows addLoaded put in into their key's chain, in
// the order of their sequence numbers (the chain's order when they were
// written).
func (o *Operator) linkLoaded(side int) {
	st := &o.st[side]
	ids := o.cache.loaded
	slices.SortFunc(ids, func(a, b int32) int { return cmp.Compare(st.ent[a].seq, st.ent[b].seq) })
	for _, rid := range ids {
		st.link(rid)
	}
	o.cache.loaded = ids[:0]
}

// evict moves the join keys touched longest ago, with their rows, out of
// memory when more than the limit are in: down to statecache.Target.
// Their rows changed since the last snapshot are written to keyed state.
func (o *Operator) evict() error {
	c := &o.cache
	var n [2]int
	for s := range o.st {
		if o.st[s].keys != nil {
			n[s] = o.st[s].keys.Len()
		}
	}
	if n[0]+n[1] <= c.limit {
		return nil
	}
	c.stamps = append(append(c.stamps[:0], o.st[0].stamp...), o.st[1].stamp...)
	c.victims = statecache.Victims(c.victims[:0], c.stamps, func(uint32) bool { return true }, n[0]+n[1]-statecache.Target(c.limit))
	o.ss.written = true // state now holds rows the snapshots did not write
	lo := 0
	for s := range o.st {
		hi := lo
		for hi < len(c.victims) && int(c.victims[hi]) < n[0]+s*n[1] {
			hi++
		}
		if hi > lo {
			c.evict = grow(c.evict, n[s])
			clear(c.evict)
			for _, id := range c.victims[lo:hi] {
				c.evict[int(id)-s*n[0]] = true
			}
			if err := o.rebuild(s, c.evict); err != nil {
				return fmt.Errorf("evict %s rows: %w", sideName[s], err)
			}
			c.cold[s] = true
		}
		lo = hi
	}
	c.m.Evicted.Add(float64(len(c.victims)))
	c.nEvicted += len(c.victims)
	return nil
}

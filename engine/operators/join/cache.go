package join

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
)

// cache is the bookkeeping of the bounded working set (see the package
// comment, "State larger than memory").
type cache struct {
	limit int // most join keys (both sides) in memory; 0: no limit
	m     statecache.Metrics
	// evicted and loaded count keys, as the metrics do (for tests).
	nEvicted, nLoaded int
	clock             uint64 // advanced once per batch
	// cold[s]: keyed state may hold join keys of side s that are not in
	// memory (something was evicted, or the restore loaded nothing).
	cold [2]bool

	// Scratch.
	loaded  []int32 // rows of the key being loaded
	renum   []int32
	stamps  []uint64
	victims []uint32
	evict   []bool
	hi      []byte

	// The key being loaded (loadRow's arguments).
	side int
	kid  int32
	kg   int32
	pre  int // length of its state key prefix
	now  int64
	load func(key, v []byte) error
}

// openCache reads the cache limit; with one, the keyed state must be
// there (evicted rows go into it).
func (o *Operator) openCache() error {
	c := &o.cache
	var err error
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
// whose match counts change). A key missing from memory of a side that may
// have keys in state only is looked up there: one prefix scan per
// distinct missing key; a key not found there is kept in memory empty, so
// it is not looked up again. Every touched key gets the batch's stamp.
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
			kid, _, err := st.keys.FindOrInsertOne(h, k)
			if err != nil {
				return err
			}
			st.head = append(st.head, -1)
			st.stamp = append(st.stamp, c.clock)
			if err := o.loadKey(side, int32(kid), now); err != nil {
				return err
			}
		}
	}
	if o.ss.dels.Len() > 0 { // rows found expired while loading
		return o.ss.dels.Apply(o.ss.rows)
	}
	return nil
}

// loadKey reads side's rows of join key kid (in memory, with no rows yet)
// from keyed state: one prefix scan. Rows the state TTL expired are
// dropped (counted, deleted from state) instead.
func (o *Operator) loadKey(side int, kid int32, now int64) error {
	c := &o.cache
	st := &o.st[side]
	kg := opsnap.KeyGroup(st.keys.Hash(uint32(kid)), o.oc.MaxParallelism)
	lo := o.keyPrefix(o.ss.key[:0], side, kg, kid)
	o.ss.key = lo
	c.hi = prefixEnd(append(c.hi[:0], lo...))
	c.side, c.kid, c.kg, c.pre, c.now = side, kid, int32(kg), len(lo), now
	c.loaded = c.loaded[:0]
	if err := o.ss.rows.Scan(lo, c.hi, c.load); err != nil {
		return fmt.Errorf("load %s rows: %w", sideName[side], err)
	}
	if len(c.loaded) > 0 {
		c.m.Loaded.Add(1)
		c.nLoaded++
	}
	o.linkLoaded(side)
	return nil
}

// loadRow is loadKey's scan callback.
func (o *Operator) loadRow(key, v []byte) error {
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
	e.kid, e.kg = c.kid, c.kg
	return o.addLoaded(c.side, key, key[c.pre:], e)
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

// prefixEnd turns p into the smallest key greater than every key with
// prefix p (as state.PrefixEnd does, in place), or nil if there is none.
func prefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		p[i]++
		if p[i] != 0 {
			return p[:i+1]
		}
	}
	return nil
}

package groupagg

import (
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/state"
)

// putGroup writes live group g into keyed state, in the snapshot encoding:
// hash, live rows, last access, the accumulators' state.
func (o *Operator) putGroup(g uint32) error {
	s := &o.snap
	s.key = o.groupKey(s.key[:0], g)
	s.val = binary.LittleEndian.AppendUint64(s.val[:0], o.table.Hash(g))
	s.val = binary.AppendVarint(s.val, o.live[g])
	s.val = binary.AppendVarint(s.val, o.seen[g])
	s.val = o.st.AppendState(s.val, g)
	if err := s.groups.Put(s.key, s.val); err != nil {
		return fmt.Errorf("write group: %w", err)
	}
	return nil
}

// writeDirty writes the groups changed since the last snapshot (or write)
// into keyed state, deleting those whose rows all went: at a snapshot, and
// between batches once more than the write-behind limit piled up.
func (o *Operator) writeDirty() error {
	s := &o.snap
	for _, g := range s.dirty.IDs() {
		if o.live[g] <= 0 {
			s.key = o.groupKey(s.key[:0], g)
			if err := s.groups.Delete(s.key); err != nil {
				return fmt.Errorf("delete group: %w", err)
			}
			continue
		}
		if err := o.putGroup(g); err != nil {
			return err
		}
	}
	s.dirty.Reset()
	s.written = true
	return nil
}

// load reads the groups [from, to), just added to the table, from keyed
// state, which holds the groups evicted from memory (and, after a restore
// with a cache limit, all of them): their keys sorted, in one batched read
// (state.GetMany). A group found there takes its live rows, last access
// and accumulators; one whose state TTL passed is dropped and counted as
// expired. Groups not found start empty.
func (o *Operator) load(from, to uint32, now int64) error {
	if err := o.tables(); err != nil {
		return err
	}
	c := &o.lookups
	c.Reset()
	for g := from; g < to; g++ {
		c.Add(g, o.groupKey(c.Buf(), g))
	}
	c.Sort()
	loaded, expired := 0, 0
	err := state.GetMany(o.snap.groups, c.Keys, func(i int, v []byte) error {
		g := c.IDs[i]
		r := opsnap.NewReader(v)
		r.U64() // the hash, which the table has
		live, seen := r.Varint(), r.Varint()
		if r.Err() != nil {
			return fmt.Errorf("group %x: %w", c.Keys[i], r.Err())
		}
		if live <= 0 {
			return fmt.Errorf("%w: group %x holds %d rows", opsnap.ErrCorrupt, c.Keys[i], live)
		}
		if ttl := o.spec.TTLMs; ttl > 0 && now-seen >= ttl {
			// Expired while out of memory: deleted at the next write.
			o.snap.dirty.Add(g)
			expired++
			return nil
		}
		if err := o.st.MergeState(g, r.Rest()); err != nil {
			return fmt.Errorf("group %x: %w", c.Keys[i], err)
		}
		o.live[g], o.seen[g] = live, seen
		o.liveCount++
		loaded++
		return nil
	})
	if err != nil {
		return fmt.Errorf("read groups: %w", err)
	}
	o.cm.Loaded.Add(float64(loaded))
	if expired > 0 {
		o.expired.Add(float64(expired))
	}
	return nil
}

// evict moves the groups touched longest ago out of memory until at most
// statecache.Target(limit) live groups remain: those changed since the
// last snapshot are written into keyed state first (a snapshot then need
// not write them), and the table is rebuilt without them (and without the
// dead groups).
func (o *Operator) evict() error {
	if err := o.tables(); err != nil {
		return err
	}
	n := max(o.liveCount-statecache.Target(o.limit), 0)
	o.stamp = grow(o.stamp, len(o.live))
	victims := statecache.Victims(nil, o.stamp, func(g uint32) bool { return o.live[g] > 0 }, n)
	drop := make([]bool, len(o.live))
	for _, g := range victims {
		drop[g] = true
		if !o.snap.dirty.Has(g) {
			continue // keyed state holds it as it is
		}
		if err := o.putGroup(g); err != nil {
			return err
		}
	}
	o.snap.written, o.spilled = true, true
	o.cm.Evicted.Add(float64(len(victims)))
	return o.compact(drop)
}

// stampOf is the logical time group g was last touched.
func (o *Operator) stampOf(g uint32) uint64 {
	if int(g) < len(o.stamp) {
		return o.stamp[g]
	}
	return 0
}

package groupagg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

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
	c := &o.loadScratch
	c.buf, c.keys, c.ids = c.buf[:0], c.keys[:0], c.ids[:0]
	offs := c.offs[:0]
	for g := from; g < to; g++ {
		offs = append(offs, len(c.buf))
		c.buf = o.groupKey(c.buf, g)
		c.ids = append(c.ids, g)
	}
	offs = append(offs, len(c.buf))
	c.offs = offs
	for i := range c.ids {
		c.keys = append(c.keys, c.buf[offs[i]:offs[i+1]:offs[i+1]])
	}
	// Sort the keys, keeping each one's group.
	sort.Sort(c)
	loaded, expired := 0, 0
	err := state.GetMany(o.snap.groups, c.keys, func(i int, v []byte) error {
		g := c.ids[i]
		r := opsnap.NewReader(v)
		r.U64() // the hash, which the table has
		live, seen := r.Varint(), r.Varint()
		if r.Err() != nil {
			return fmt.Errorf("group %x: %w", c.keys[i], r.Err())
		}
		if live <= 0 {
			return fmt.Errorf("%w: group %x holds %d rows", opsnap.ErrCorrupt, c.keys[i], live)
		}
		if ttl := o.spec.TTLMs; ttl > 0 && now-seen >= ttl {
			// Expired while out of memory: deleted at the next write.
			o.snap.dirty.Add(g)
			expired++
			return nil
		}
		if err := o.st.MergeState(g, r.Rest()); err != nil {
			return fmt.Errorf("group %x: %w", c.keys[i], err)
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

// loadScratch holds the keys of the groups a batch looks up, reused from
// batch to batch; it sorts them with their group ids.
type loadScratch struct {
	buf  []byte
	offs []int
	keys [][]byte
	ids  []uint32
}

func (c *loadScratch) Len() int           { return len(c.keys) }
func (c *loadScratch) Less(i, j int) bool { return bytes.Compare(c.keys[i], c.keys[j]) < 0 }
func (c *loadScratch) Swap(i, j int) {
	c.keys[i], c.keys[j] = c.keys[j], c.keys[i]
	c.ids[i], c.ids[j] = c.ids[j], c.ids[i]
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

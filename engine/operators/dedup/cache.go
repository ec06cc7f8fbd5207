package dedup

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/state"
)

// The state cache (see the package comment, "State larger than memory").

// load reads from keyed state the keys with ids from..table.Len()-1, the
// batch's distinct keys missing from memory (FindOrInsert just created
// them), sorted, in one batched read (state.GetMany), and fills the
// vectors of those it finds.
func (o *Operator) load(from int) error {
	c := &o.lookups
	c.Reset()
	for k := from; k < o.table.Len(); k++ {
		c.Add(uint32(k), o.stateKey(c.Buf(), uint32(k)))
	}
	c.Sort()
	n := 0
	err := state.GetMany(o.snap.keys, c.Keys, func(i int, v []byte) error {
		if err := o.setKey(c.IDs[i], v); err != nil {
			return fmt.Errorf("key %x: %w", c.Keys[i], err)
		}
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("look up keys: %w", err)
	}
	if n > 0 {
		o.cache.Loaded.Add(float64(n))
	}
	return nil
}

// evict moves the keys touched longest ago out of memory when the keys in
// memory exceed the limit: it writes those changed since the last
// snapshot into keyed state (the snapshot encoding), forgets them and the
// keys the TTL dropped, and rebuilds the key table from the rest, down to
// statecache.Target keys. It runs between batches only.
func (o *Operator) evict() error {
	if o.limit == 0 || o.table == nil || o.table.Len() <= o.limit {
		return nil
	}
	s := &o.snap
	o.victims = statecache.Victims(o.victims[:0], o.seen, o.isLive, o.live-statecache.Target(o.limit))
	o.gone = grow(o.gone, len(o.has))
	clear(o.gone)
	for _, k := range o.victims {
		if s.dirty.Has(k) {
			s.key = o.stateKey(s.key[:0], k)
			s.val = o.appendValue(s.val[:0], k)
			if err := s.keys.Put(s.key, s.val); err != nil {
				return fmt.Errorf("evict key: %w", err)
			}
		}
		o.gone[k] = true
		o.has[k] = false
		o.live--
		if o.storeRows {
			o.liveBytes -= int(o.payLen[k])
			o.deadBytes += int(o.payLen[k])
			o.payLen[k] = 0
		}
	}
	if len(o.victims) > 0 {
		o.mayHold = true
		o.cache.Evicted.Add(float64(len(o.victims)))
	}
	if err := o.rebuild(o.gone); err != nil {
		return err
	}
	if o.storeRows && o.deadBytes > compactMinBytes && o.deadBytes > o.liveBytes {
		o.compact()
	}
	return nil
}

func (o *Operator) isLive(k uint32) bool { return o.has[k] }

// cached returns the number of keys in memory (a test hook).
func (o *Operator) cached() int {
	if o.table == nil {
		return 0
	}
	return o.table.Len()
}

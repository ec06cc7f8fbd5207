package rank

import (
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
	"github.com/eddy-streaming/eddy/state"
)

// The state cache: with a limit (statecache.Limit) the operator keeps at
// most that many partitions in memory and the rest in keyed state, in the
// snapshot encoding. See the package comment, "State larger than memory".

// isEvicting reports whether partition p is being evicted.
func (o *Operator) isEvicting(p uint32) bool {
	return int(p) < len(o.evicting) && o.evicting[p]
}

// evict moves the partitions touched longest ago out of memory until
// statecache.Target(limit) partitions holding rows remain, and drops the
// empty ones. It runs after a
// batch's output is emitted and its removed rows are freed. Pending deletes
// of rows (and, with a TTL, partitions) go to keyed state first, so that
// keyed state holds exactly the rows of every partition not in memory;
// then each victim's rows that state lacks are written, with its last
// access if it changed, and the partition table, the tree and the arenas
// are rebuilt without the victims.
func (o *Operator) evict() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	n := len(o.pRows) - o.empty - statecache.Target(o.limit)
	o.victims = statecache.Victims(o.victims[:0], o.pStamp, func(p uint32) bool { return o.pRows[p] > 0 }, n)
	if len(o.victims) == 0 {
		o.rebuild() // only empty partitions to drop
		return nil
	}
	o.evicting = grow(o.evicting, len(o.pRows))
	clear(o.evicting)
	for _, p := range o.victims {
		o.evicting[p] = true
		if !o.retract {
			// Keep only the rows that can still rank: fewer to write and
			// to load back.
			o.trim(p)
		}
	}
	if err := s.dels.Apply(s.rows); err != nil {
		return err
	}
	if err := s.partDels.Apply(s.parts); err != nil {
		return err
	}
	for id := 1; id < len(o.cands); id++ {
		c := &o.cands[id]
		if c.state != candLive || !o.evicting[c.pid] {
			continue
		}
		if !c.stored {
			if err := o.putRow(int32(id)); err != nil {
				return err
			}
		}
		// Freed below; the tree loses the row when it is rebuilt.
		c.state = candDying
		o.dying = append(o.dying, int32(id))
	}
	for _, p := range o.victims {
		if o.ttl > 0 && s.dirtyParts.Has(p) {
			if err := o.putPart(p); err != nil {
				return err
			}
		}
		o.pRows[p] = 0
		o.empty++
	}
	s.written = true
	o.freeDying()
	o.rebuild()
	clear(o.evicting)
	o.mayHold = true
	o.cache.Evicted.Add(float64(len(o.victims)))
	return nil
}

// load reads the partitions [from, to), new to memory, from keyed state
// where they are there: their state key prefixes (key group | partition
// key, complete self-delimiting key parts, so none is a prefix of another)
// sorted, in one batched prefix scan of the rows (state.ScanPrefixes), and
// with a TTL one batched Get of the found partitions' last accesses
// (state.GetMany). Loaded rows keep their arrival numbers, and new rows are
// numbered after them. In append mode each loaded partition is trimmed,
// which sets its boundary. Pending deletes go to keyed state first: a
// partition whose stored rows all left may have been dropped from memory
// since, and its rows must not come back.
func (o *Operator) load(from, to uint32) error {
	if from >= to {
		return nil
	}
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	if err := s.dels.Apply(s.rows); err != nil {
		return err
	}
	if err := s.partDels.Apply(s.parts); err != nil {
		return err
	}
	c := &o.lookups
	c.Reset()
	for p := from; p < to; p++ {
		c.Add(p, o.partKey(c.Buf(), p))
	}
	c.Sort()
	err := state.ScanPrefixes(s.rows, c.Keys, func(i int, key, v []byte) error {
		p, plen := c.IDs[i], len(c.Keys[i])
		if len(key) != plen+8 || len(v) < 8 {
			return fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
		}
		seq := binary.BigEndian.Uint64(key[plen:])
		v = v[8:] // the partition's hash
		skLen, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < skLen {
			return fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
		}
		sk := v[w : w+int(skLen)]
		o.insertSeq(p, sk, v[w+int(skLen):], seq, true)
		o.seq = max(o.seq, seq)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load partitions: %w", err)
	}
	// The partitions found, still sorted by key.
	found := 0
	for i, p := range c.IDs {
		if o.pRows[p] > 0 {
			c.Keys[found], c.IDs[found] = c.Keys[i], p
			found++
		}
	}
	c.Keys, c.IDs = c.Keys[:found], c.IDs[:found]
	if found == 0 {
		return nil
	}
	o.cache.Loaded.Add(float64(found))
	if o.ttl > 0 {
		err := state.GetMany(s.parts, c.Keys, func(i int, v []byte) error {
			r := opsnap.NewReader(v)
			r.U64()
			last := r.Varint()
			if r.Err() != nil {
				return fmt.Errorf("%w: partition %x", opsnap.ErrCorrupt, c.Keys[i])
			}
			o.pLast[c.IDs[i]] = last
			return nil
		})
		if err != nil {
			return fmt.Errorf("load partitions: %w", err)
		}
	}
	if !o.retract {
		for _, p := range c.IDs {
			o.trim(p)
		}
	}
	return nil
}

// writeDirty writes what changed since the last snapshot (or write) into
// keyed state, as a snapshot does: the pending row and partition deletes,
// the rows keyed state does not hold yet, and with a TTL the last access
// of the partitions accessed since. It runs at a snapshot, and between
// batches once more than the write-behind limit piled up.
func (o *Operator) writeDirty() error {
	s := &o.ss
	if err := s.dels.Apply(s.rows); err != nil {
		return err
	}
	if err := s.partDels.Apply(s.parts); err != nil {
		return err
	}
	for _, id := range s.added {
		c := &o.cands[id]
		if c.state != candLive || c.stored {
			continue // removed or evicted since (its id may be reused)
		}
		if err := o.putRow(id); err != nil {
			return err
		}
	}
	s.added = s.added[:0]
	for _, p := range s.dirtyParts.IDs() {
		if err := o.putPart(p); err != nil {
			return err
		}
	}
	s.dirtyParts.Reset()
	s.written = true
	return nil
}

// dirty is the number of changes in memory that keyed state lacks: rows
// not stored, pending deletes, partitions whose last access changed.
func (o *Operator) dirty() int {
	s := &o.ss
	return s.unstored + s.dels.Len() + s.partDels.Len() + s.dirtyParts.Len()
}

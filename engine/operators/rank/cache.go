package rank

import (
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/statecache"
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

// load reads partition p, new to memory, from keyed state if it is there:
// one prefix scan of its rows (key group | partition key | arrival
// number), and with a TTL one Get of its last access. Loaded rows keep
// their arrival numbers, and new rows are numbered after them. In append
// mode the partition is trimmed, which sets its boundary.
func (o *Operator) load(p uint32) error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	o.scanLo = o.partKey(o.scanLo[:0], p)
	o.scanHi = prefixEnd(o.scanHi, o.scanLo)
	plen := len(o.scanLo)
	rows := 0
	err := s.rows.Scan(o.scanLo, o.scanHi, func(key, v []byte) error {
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
		rows++
		return nil
	})
	if err != nil {
		return fmt.Errorf("load partition: %w", err)
	}
	if rows == 0 {
		return nil
	}
	o.cache.Loaded.Add(1)
	if o.ttl > 0 {
		v, ok, err := s.parts.Get(o.scanLo)
		if err != nil {
			return fmt.Errorf("load partition: %w", err)
		}
		if ok {
			r := opsnap.NewReader(v)
			r.U64()
			last := r.Varint()
			if r.Err() != nil {
				return fmt.Errorf("%w: partition %x", opsnap.ErrCorrupt, o.scanLo)
			}
			o.pLast[p] = last
		}
	}
	if !o.retract {
		o.trim(p)
	}
	return nil
}

// prefixEnd sets dst to the smallest key after every key with prefix p
// (state.PrefixEnd without allocating), or nil if there is none.
func prefixEnd(dst, p []byte) []byte {
	dst = append(dst[:0], p...)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i]++
		if dst[i] != 0 {
			return dst[:i+1]
		}
	}
	return nil
}

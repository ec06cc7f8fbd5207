package intervaljoin

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Keyed state tables (see the package comment, "Snapshots").
const (
	rowsTable   = "rows"
	metaTable   = "meta"
	schemaTable = "schema"
)

// snapState is the operator's snapshot bookkeeping.
type snapState struct {
	rows, meta, schema state.Table
	schemaDone         [2]bool
	seq                [2]uint64      // every row of a side numbered up to seq[s] is in state
	added              [2][]int32     // rows stored since the last snapshot
	matched            [2][]int32     // stored rows (in state) that matched since
	dels               opsnap.Deletes // rows in state dropped since
	key, val           []byte
}

func (o *Operator) tables() error {
	if o.ss.rows != nil {
		return nil
	}
	if o.oc.State == nil || o.oc.MaxParallelism <= 0 {
		return fmt.Errorf("no keyed state backend or no key groups (max parallelism %d)", o.oc.MaxParallelism)
	}
	var err error
	for _, t := range []struct {
		name string
		dst  *state.Table
	}{{rowsTable, &o.ss.rows}, {metaTable, &o.ss.meta}, {schemaTable, &o.ss.schema}} {
		if *t.dst, err = o.oc.State.Table(t.name); err != nil {
			return fmt.Errorf("state table %s: %w", t.name, err)
		}
	}
	return nil
}

// rowKey appends the state key of row id of side s: the key group of its
// join key, the side, its time and its arrival number (so a key's rows
// come back in time order, ties in arrival order).
func (o *Operator) rowKey(dst []byte, s int, id int32) []byte {
	st := &o.st[s]
	e := &st.ent[id]
	dst = state.KeyPrefix(dst, opsnap.KeyGroup(st.keys.Hash(uint32(e.kid)), o.oc.MaxParallelism))
	dst = state.AppendInt64(append(dst, byte(s)), e.time)
	return binary.BigEndian.AppendUint64(dst, e.seq)
}

// noteExpired records, before row id of side s leaves, that its state
// entry must go (if a snapshot wrote it).
func (o *Operator) noteExpired(s int, id int32) {
	if o.st[s].ent[id].seq <= o.ss.seq[s] && o.ss.rows != nil {
		o.ss.dels.Add(o.rowKey(o.ss.key[:0], s, id))
	}
}

// noteMatched records that stored row id of side s matched for the first
// time.
func (o *Operator) noteMatched(s int, id int32) {
	if o.st[s].ent[id].seq <= o.ss.seq[s] {
		o.ss.matched[s] = append(o.ss.matched[s], id)
	}
}

// noteAdded records that row id of side s was stored.
func (o *Operator) noteAdded(s int, id int32) {
	a := &o.ss.added[s]
	*a = append(*a, id)
	if len(*a) > 2*len(o.st[s].ent)+1024 {
		// No snapshot for a while: forget the rows that left.
		keep := (*a)[:0]
		for _, x := range *a {
			if e := &o.st[s].ent[x]; e.live && e.seq > o.ss.seq[s] {
				keep = append(keep, x)
			}
		}
		*a = keep
	}
}

// SnapshotState implements operator.Snapshotter: it writes the rows
// stored since the last snapshot (join key, whether matched, row), rewrites
// those that matched for the first time, deletes those the watermark
// dropped, and writes the watermark under the subtask's first key group.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshotState(); err != nil {
		return fmt.Errorf("interval_join %s: snapshot %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshotState() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	for side, sch := range o.lay.Schema {
		if sch != nil && !s.schemaDone[side] {
			if err := opsnap.PutSchema(s.schema, o.oc.KeyGroups, side, sch); err != nil {
				return err
			}
			s.schemaDone[side] = true
		}
	}
	// The watermark and the arrival counters, so that a restored
	// operator numbers new rows as this one would.
	s.val = binary.AppendVarint(s.val[:0], o.wm)
	s.val = binary.AppendUvarint(binary.AppendUvarint(s.val, o.st[0].seq), o.st[1].seq)
	if err := opsnap.PutMeta(s.meta, o.oc.KeyGroups, s.val); err != nil {
		return err
	}
	if err := s.dels.Apply(s.rows); err != nil {
		return err
	}
	for side := range o.st {
		st := &o.st[side]
		put := func(id int32) error {
			e := &st.ent[id]
			s.key = o.rowKey(s.key[:0], side, id)
			s.val = binary.LittleEndian.AppendUint64(s.val[:0], st.keys.Hash(uint32(e.kid)))
			s.val = opsnap.AppendBytes(s.val, st.keys.Key(uint32(e.kid)))
			var m byte
			if e.matched {
				m = 1
			}
			s.val = append(append(s.val, m), st.row(id)...)
			if err := s.rows.Put(s.key, s.val); err != nil {
				return fmt.Errorf("write row: %w", err)
			}
			return nil
		}
		for _, id := range s.matched[side] {
			// Stored rows that matched since: still stored (a dropped row
			// was deleted above, and its id not reused before then).
			if e := &st.ent[id]; e.live && e.seq <= s.seq[side] {
				if err := put(id); err != nil {
					return err
				}
			}
		}
		for _, id := range s.added[side] {
			if e := &st.ent[id]; e.live && e.seq > s.seq[side] {
				if err := put(id); err != nil {
					return err
				}
			}
		}
		s.matched[side], s.added[side] = s.matched[side][:0], s.added[side][:0]
		s.seq[side] = st.seq
	}
	return nil
}

// RestoreState implements operator.Snapshotter: it binds each side that
// had seen a batch to its schema kept in keyed state, rebuilds both
// sides' rows of the key groups it owns, and takes the watermark from the
// bookkeeping (after a rescale: the largest of the old subtasks', which
// at an aligned checkpoint are all the same, since every subtask of the
// join sees every watermark).
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restoreState(); err != nil {
		return fmt.Errorf("interval_join %s: restore: %w", o.id, err)
	}
	return nil
}

func (o *Operator) restoreState() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	for side := range o.st {
		sch, err := opsnap.GetSchema(s.schema, o.oc.KeyGroups, side)
		if err != nil {
			return err
		}
		if sch == nil {
			continue
		}
		if err := o.lay.Bind(side, sch); err != nil {
			return err
		}
		if err := o.bind(side); err != nil {
			return err
		}
	}
	wm := stream.MinWatermark
	var seqs [2]uint64
	err := opsnap.ScanMeta(s.meta, o.oc.KeyGroups, func(v []byte) error {
		r := opsnap.NewReader(v)
		w, s0, s1 := r.Varint(), r.Uvarint(), r.Uvarint()
		if r.Err() != nil {
			return r.Err()
		}
		wm, seqs[0], seqs[1] = max(wm, w), max(seqs[0], s0), max(seqs[1], s1)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.meta.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
		return err
	}
	o.wm = wm
	err = opsnap.ScanRange(s.rows, o.oc.KeyGroups, func(key, v []byte) error {
		const fixed = state.KeyGroupLen + 1 + 8 + 8
		if len(key) != fixed || key[state.KeyGroupLen] > 1 {
			return fmt.Errorf("%w: row key %x", opsnap.ErrCorrupt, key)
		}
		side := int(key[state.KeyGroupLen])
		st := &o.st[side]
		if st.keys == nil {
			return fmt.Errorf("%w: a %s row but no %s schema", opsnap.ErrCorrupt, sideName[side], sideName[side])
		}
		t := state.DecodeInt64(key[state.KeyGroupLen+1:])
		seq := binary.BigEndian.Uint64(key[state.KeyGroupLen+9:])
		r := opsnap.NewReader(v)
		h := r.U64()
		k := r.Bytes()
		rest := r.Rest()
		if r.Err() != nil || len(rest) < 1 {
			return fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
		}
		id, err := st.store(h, k, t, rest[1:], rest[0] == 1)
		if err != nil {
			return err
		}
		st.ent[id].seq = seq
		st.seq = max(st.seq, seq)
		return nil
	})
	if err != nil {
		return err
	}
	for side := range o.st {
		o.st[side].seq = max(o.st[side].seq, seqs[side])
	}
	s.seq = [2]uint64{o.st[0].seq, o.st[1].seq}
	s.added = [2][]int32{}
	return nil
}

func rangeEnd(r keygroup.Range) []byte {
	if r.End > 0xffff {
		return nil
	}
	return state.KeyPrefix(nil, r.End)
}

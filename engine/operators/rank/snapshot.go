package rank

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Keyed state tables (see the package comment, "Snapshots").
const (
	rowsTable   = "rows"
	partsTable  = "partitions"
	metaTable   = "meta"
	schemaTable = "schema"
)

// snapState is the operator's snapshot bookkeeping.
type snapState struct {
	rows, parts, schema state.Table
	meta                state.Table
	schemaDone          bool
	written             bool           // state holds what a snapshot or an eviction wrote (or a restore read)
	seq                 uint64         // the arrival counter the last snapshot wrote
	added               []int32        // candidates inserted since the last snapshot (not stored)
	dels                opsnap.Deletes // rows in state removed since
	dirtyParts          opsnap.Dirty   // partitions accessed since (with a TTL)
	partDels            opsnap.Deletes // partitions in state dropped since (with a TTL)
	unstored            int            // live candidates keyed state does not hold
	writesBehind        int            // writes of the changes between batches (for tests)
	key, val            []byte
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
	}{{rowsTable, &o.ss.rows}, {partsTable, &o.ss.parts}, {schemaTable, &o.ss.schema}, {metaTable, &o.ss.meta}} {
		if *t.dst, err = o.oc.State.Table(t.name); err != nil {
			return fmt.Errorf("state table %s: %w", t.name, err)
		}
	}
	return nil
}

// partKey appends partition p's state key: its key group, then its key
// with its length.
func (o *Operator) partKey(dst []byte, p uint32) []byte {
	dst = state.KeyPrefix(dst, opsnap.KeyGroup(o.parts.Hash(p), o.oc.MaxParallelism))
	return opsnap.AppendBytes(dst, o.parts.Key(p))
}

// rowKey appends candidate id's state key: its partition's key, then its
// arrival number (big-endian, so a partition's rows are in arrival order).
func (o *Operator) rowKey(dst []byte, id int32) []byte {
	c := &o.cands[id]
	return binary.BigEndian.AppendUint64(o.partKey(dst, c.pid), c.seq)
}

// noteRemoved records, before candidate id leaves, that its state entry
// must go (if a snapshot wrote it).
func (o *Operator) noteRemoved(id int32) {
	if o.cands[id].stored && o.oc.State != nil {
		o.ss.dels.Add(o.rowKey(o.ss.key[:0], id))
	}
}

// notePartDropped records, before partition p is renumbered away, that its
// state entry must go.
func (o *Operator) notePartDropped(p uint32) {
	if o.ttl > 0 && o.ss.written && o.ss.dirtyParts.Has(p) {
		o.ss.partDels.Add(o.partKey(o.ss.key[:0], p))
	}
}

// SnapshotState implements operator.Snapshotter: it writes the rows that
// entered since the last snapshot (sort key and row, under their
// partition and arrival number, so ROW_NUMBER ties keep their order),
// deletes the rows that left, and with a TTL writes the last access of
// the partitions accessed since.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshotState(); err != nil {
		return fmt.Errorf("rank %s: snapshot %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshotState() error {
	if o.schema == nil {
		return nil
	}
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	if !s.schemaDone {
		if err := opsnap.PutSchema(s.schema, o.oc.KeyGroups, 0, o.schema); err != nil {
			return err
		}
		s.schemaDone = true
	}
	if s.seq != o.seq {
		// The arrival counter, so that a restored operator numbers new
		// rows as this one would.
		if err := opsnap.PutMeta(s.meta, o.oc.KeyGroups, binary.AppendUvarint(s.val[:0], o.seq)); err != nil {
			return err
		}
	}
	if err := o.writeDirty(); err != nil {
		return err
	}
	s.seq = o.seq
	return nil
}

// putRow writes live candidate id into keyed state (the snapshot
// encoding) and marks it stored.
func (o *Operator) putRow(id int32) error {
	s := &o.ss
	c := &o.cands[id]
	s.key = o.rowKey(s.key[:0], id)
	s.val = binary.LittleEndian.AppendUint64(s.val[:0], o.parts.Hash(c.pid))
	s.val = opsnap.AppendBytes(s.val, o.sk(id))
	s.val = append(s.val, o.payload(id)...)
	if err := s.rows.Put(s.key, s.val); err != nil {
		return fmt.Errorf("write row: %w", err)
	}
	if !c.stored {
		c.stored = true
		s.unstored--
	}
	return nil
}

// putPart writes partition p's last access into keyed state, or deletes
// its entry when it holds no rows (with a TTL).
func (o *Operator) putPart(p uint32) error {
	s := &o.ss
	s.key = o.partKey(s.key[:0], p)
	if o.pRows[p] == 0 {
		if err := s.parts.Delete(s.key); err != nil {
			return fmt.Errorf("delete partition: %w", err)
		}
		return nil
	}
	s.val = binary.LittleEndian.AppendUint64(s.val[:0], o.parts.Hash(p))
	s.val = binary.AppendVarint(s.val, o.pLast[p])
	if err := s.parts.Put(s.key, s.val); err != nil {
		return fmt.Errorf("write partition: %w", err)
	}
	return nil
}

// RestoreState implements operator.Snapshotter: it binds the operator to
// the input schema kept in keyed state and rebuilds every partition of
// the key groups it owns with their rows' arrival numbers; new rows are
// numbered after the largest restored one. In append mode each partition
// is then trimmed, which recomputes its boundary (rows that could never
// rank again may go; output is unaffected). With a cache limit it reads
// only the schema and the arrival counter: partitions are loaded when
// their keys next arrive (cache.go).
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restoreState(); err != nil {
		return fmt.Errorf("rank %s: restore: %w", o.id, err)
	}
	return nil
}

func (o *Operator) restoreState() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	sch, err := opsnap.GetSchema(s.schema, o.oc.KeyGroups, 0)
	if err != nil || sch == nil {
		return err
	}
	if err := o.bind(sch); err != nil {
		return err
	}
	s.written = true // the schema is written again at the next snapshot
	if o.limit > 0 {
		o.mayHold = true
	} else if err := o.restoreRows(); err != nil {
		return err
	}
	// The arrival counter: the largest of the old subtasks' (after a
	// rescale several; a subtask that took over none numbers after its
	// largest restored row, or with a limit, the largest loaded one in
	// each partition it loads).
	err = opsnap.ScanMeta(s.meta, o.oc.KeyGroups, func(v []byte) error {
		r := opsnap.NewReader(v)
		o.seq = max(o.seq, r.Uvarint())
		return r.Err()
	})
	if err != nil {
		return err
	}
	if err := s.meta.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
		return err
	}
	s.seq, s.added = o.seq, s.added[:0]
	if o.limit > 0 {
		return nil
	}
	return o.restorePartitions()
}

// restoreRows loads every row of the owned key groups.
func (o *Operator) restoreRows() error {
	s := &o.ss
	err := opsnap.ScanRange(s.rows, o.oc.KeyGroups, func(key, v []byte) error {
		kr := opsnap.NewReader(key[state.KeyGroupLen:])
		pk := kr.Bytes()
		r := opsnap.NewReader(v)
		h := r.U64()
		sk := r.Bytes()
		if kr.Err() != nil || r.Err() != nil || len(kr.Rest()) != 8 {
			return fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
		}
		seq := binary.BigEndian.Uint64(kr.Rest())
		p, _, err := o.parts.FindOrInsertOne(h, pk)
		if err != nil {
			return err
		}
		o.growParts()
		o.insertSeq(p, sk, r.Rest(), seq, true)
		o.seq = max(o.seq, seq)
		return nil
	})
	return err
}

// restorePartitions reads the partitions' last accesses (with a TTL) and
// trims the restored partitions (append mode).
func (o *Operator) restorePartitions() error {
	s := &o.ss
	if o.ttl > 0 {
		err := opsnap.ScanRange(s.parts, o.oc.KeyGroups, func(key, v []byte) error {
			kr := opsnap.NewReader(key[state.KeyGroupLen:])
			pk := kr.Bytes()
			r := opsnap.NewReader(v)
			h := r.U64()
			last := r.Varint()
			if kr.Err() != nil || r.Err() != nil {
				return fmt.Errorf("%w: partition %x", opsnap.ErrCorrupt, key)
			}
			if p, ok := o.parts.Find(h, pk); ok {
				o.pLast[p] = last
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if !o.retract {
		for p := range o.pRows {
			if o.pRows[p] > 0 {
				o.trim(uint32(p))
			}
		}
		o.release()
	}
	return nil
}

// noteAdded records that candidate id entered.
func (o *Operator) noteAdded(id int32) {
	s := &o.ss
	s.added = append(s.added, id)
	if len(s.added) > 2*len(o.cands)+1024 {
		// No snapshot for a while: forget the candidates that left.
		keep := s.added[:0]
		for _, x := range s.added {
			if c := &o.cands[x]; c.state == candLive && !c.stored {
				keep = append(keep, x)
			}
		}
		s.added = keep
	}
}

func rangeEnd(r keygroup.Range) []byte {
	if r.End > 0xffff {
		return nil
	}
	return state.KeyPrefix(nil, r.End)
}

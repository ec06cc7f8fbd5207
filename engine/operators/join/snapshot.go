package join

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/state"
)

// Keyed state tables (see the package comment, "Snapshots").
const (
	rowsTable   = "rows"
	schemaTable = "schema"
)

// snapState is the operator's snapshot bookkeeping.
type snapState struct {
	rows, schema state.Table
	schemaDone   [2]bool
	written      bool            // a snapshot wrote rows
	dirty        [2]opsnap.Dirty // entries changed since the last snapshot
	dels         opsnap.Deletes  // entries dropped and renumbered away since
	writesBehind int             // writes of the changes between batches (for tests)
	key, val     []byte
}

func (o *Operator) tables() error {
	if o.ss.rows != nil {
		return nil
	}
	if o.oc.State == nil || o.oc.MaxParallelism <= 0 {
		return fmt.Errorf("no keyed state backend or no key groups (max parallelism %d)", o.oc.MaxParallelism)
	}
	var err error
	if o.ss.rows, err = o.oc.State.Table(rowsTable); err != nil {
		return fmt.Errorf("state table %s: %w", rowsTable, err)
	}
	if o.ss.schema, err = o.oc.State.Table(schemaTable); err != nil {
		return fmt.Errorf("state table %s: %w", schemaTable, err)
	}
	return nil
}

// keyPrefix appends the state key prefix of side s's join key kid: the
// key group of the join key, the side, then the encoded join key with its
// length. The rows of one join key are thus contiguous in state.
func (o *Operator) keyPrefix(dst []byte, s int, kg int, kid int32) []byte {
	dst = append(state.KeyPrefix(dst, kg), byte(s))
	return opsnap.AppendBytes(dst, o.st[s].keys.Key(uint32(kid)))
}

// rowKey appends the state key of entry rid of side s: its join key's
// prefix (keyPrefix), then the row.
func (o *Operator) rowKey(dst []byte, s int, rid int32) []byte {
	st := &o.st[s]
	e := &st.ent[rid]
	dst = o.keyPrefix(dst, s, int(e.kg), e.kid)
	return append(dst, st.rows.Key(uint32(rid))...)
}

// writeRow writes entry rid of side s into keyed state (multiplicity,
// matches, last access, chain position, join key hash), or deletes it if
// its last copy went.
func (o *Operator) writeRow(s int, rid int32) error {
	st := &o.st[s]
	e := &st.ent[rid]
	ss := &o.ss
	ss.key = o.rowKey(ss.key[:0], s, rid)
	if e.count == 0 {
		if err := ss.rows.Delete(ss.key); err != nil {
			return fmt.Errorf("delete row: %w", err)
		}
		return nil
	}
	ss.val = binary.AppendVarint(ss.val[:0], e.count)
	ss.val = binary.AppendVarint(ss.val, e.matches)
	ss.val = binary.AppendVarint(ss.val, e.touched)
	ss.val = binary.AppendVarint(ss.val, e.seq)
	ss.val = binary.LittleEndian.AppendUint64(ss.val, st.keys.Hash(uint32(e.kid)))
	if err := ss.rows.Put(ss.key, ss.val); err != nil {
		return fmt.Errorf("write row: %w", err)
	}
	return nil
}

// decodeRow reads a row's state value into e (kid and chain unset) and
// returns its join key hash.
func decodeRow(key, v []byte, e *entry) (uint64, error) {
	r := opsnap.NewReader(v)
	*e = entry{count: r.Varint(), matches: r.Varint(), touched: r.Varint(), seq: r.Varint(), kid: -1, prev: -1, next: -1}
	h := r.U64()
	if r.Err() != nil || len(r.Rest()) != 0 || e.count <= 0 {
		return 0, fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
	}
	return h, nil
}

// noteDropped records, before entry rid of side s is renumbered away, that
// its state entry must go.
func (o *Operator) noteDropped(s int, rid int32) {
	if o.ss.written && o.ss.dirty[s].Has(uint32(rid)) {
		o.ss.dels.Add(o.rowKey(o.ss.key[:0], s, rid))
	}
}

// SnapshotState implements operator.Snapshotter: it writes each side's
// distinct rows that changed since the last snapshot (multiplicity,
// matches, last access, join key) and deletes those that left.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshotState(); err != nil {
		return fmt.Errorf("join %s: snapshot %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshotState() error {
	if o.lay.Schema[0] == nil && o.lay.Schema[1] == nil {
		return nil
	}
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
	return o.writeDirty()
}

// writeDirty writes each side's distinct rows changed since the last
// snapshot (or write) into keyed state and deletes those that left, as a
// snapshot does: at a snapshot, and between batches once more than the
// write-behind limit piled up.
func (o *Operator) writeDirty() error {
	s := &o.ss
	if err := s.dels.Apply(s.rows); err != nil {
		return err
	}
	for side := range o.st {
		for _, rid := range s.dirty[side].IDs() {
			if err := o.writeRow(side, int32(rid)); err != nil {
				return err
			}
		}
		s.dirty[side].Reset()
	}
	s.written = true
	return nil
}

// dirty is the number of changes keyed state lacks: changed rows of both
// sides and pending deletes.
func (o *Operator) dirty() int {
	s := &o.ss
	return s.dirty[0].Len() + s.dirty[1].Len() + s.dels.Len()
}

// RestoreState implements operator.Snapshotter: it binds each side that
// had seen a batch to its schema kept in keyed state and rebuilds both
// sides' rows of the key groups it owns. The operator keeps no
// per-subtask bookkeeping.
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restoreState(); err != nil {
		return fmt.Errorf("join %s: restore: %w", o.id, err)
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
	s.written = true
	if o.cache.limit > 0 {
		// Nothing is loaded: lookups find the rows of the keys the
		// batches touch.
		for side := range o.st {
			o.cache.cold[side] = o.st[side].keys != nil
		}
		return nil
	}
	// Everything is loaded. The rows of one join key are contiguous in
	// state; each key's chain is linked in its order once its rows are in.
	cur, curSide := int32(-1), 0
	flush := func() {
		if cur >= 0 {
			o.linkLoaded(curSide)
		}
	}
	err := opsnap.ScanRange(s.rows, o.oc.KeyGroups, func(key, v []byte) error {
		if len(key) < state.KeyGroupLen+1 || key[state.KeyGroupLen] > 1 {
			return fmt.Errorf("%w: row key %x", opsnap.ErrCorrupt, key)
		}
		side := int(key[state.KeyGroupLen])
		st := &o.st[side]
		if st.rows == nil {
			return fmt.Errorf("%w: a %s row but no %s schema", opsnap.ErrCorrupt, sideName[side], sideName[side])
		}
		kg, _ := state.KeyGroupOf(key)
		kr := opsnap.NewReader(key[state.KeyGroupLen+1:])
		jk := kr.Bytes()
		if kr.Err() != nil {
			return fmt.Errorf("%w: row key %x", opsnap.ErrCorrupt, key)
		}
		var e entry
		kh, err := decodeRow(key, v, &e)
		if err != nil {
			return err
		}
		kid, ins, err := st.keys.FindOrInsertOne(kh, jk)
		if err != nil {
			return err
		}
		if ins {
			st.head = append(st.head, -1)
		}
		if int32(kid) != cur || side != curSide {
			flush()
			cur, curSide = int32(kid), side
		}
		e.kid, e.kg = int32(kid), int32(kg)
		return o.addLoaded(side, key, kr.Rest(), e)
	})
	if err != nil {
		return err
	}
	flush()
	return nil
}

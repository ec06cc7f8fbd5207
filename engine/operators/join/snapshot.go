package join

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"

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

// rowKey appends the state key of entry rid of side s: the key group of
// its join key, the side, then the row.
func (o *Operator) rowKey(dst []byte, s int, rid int32) []byte {
	st := &o.st[s]
	dst = append(state.KeyPrefix(dst, int(st.ent[rid].kg)), byte(s))
	return append(dst, st.rows.Key(uint32(rid))...)
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
	if err := s.dels.Apply(s.rows); err != nil {
		return err
	}
	for side := range o.st {
		st := &o.st[side]
		for _, rid := range s.dirty[side].IDs() {
			e := &st.ent[rid]
			s.key = o.rowKey(s.key[:0], side, int32(rid))
			if e.count == 0 {
				if err := s.rows.Delete(s.key); err != nil {
					return fmt.Errorf("delete row: %w", err)
				}
				continue
			}
			s.val = binary.AppendVarint(s.val[:0], e.count)
			s.val = binary.AppendVarint(s.val, e.matches)
			s.val = binary.AppendVarint(s.val, e.touched)
			if e.kid >= 0 {
				s.val = append(s.val, 1)
				s.val = binary.LittleEndian.AppendUint64(s.val, st.keys.Hash(uint32(e.kid)))
				s.val = append(s.val, st.keys.Key(uint32(e.kid))...)
			} else {
				s.val = append(s.val, 0)
			}
			if err := s.rows.Put(s.key, s.val); err != nil {
				return fmt.Errorf("write row: %w", err)
			}
		}
		s.dirty[side].Reset()
	}
	s.written = true
	return nil
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
	return opsnap.ScanRange(s.rows, o.oc.KeyGroups, func(key, v []byte) error {
		if len(key) < state.KeyGroupLen+1 || key[state.KeyGroupLen] > 1 {
			return fmt.Errorf("%w: row key %x", opsnap.ErrCorrupt, key)
		}
		side := int(key[state.KeyGroupLen])
		st := &o.st[side]
		if st.rows == nil {
			return fmt.Errorf("%w: a %s row but no %s schema", opsnap.ErrCorrupt, sideName[side], sideName[side])
		}
		kg, _ := state.KeyGroupOf(key)
		row := key[state.KeyGroupLen+1:]
		r := opsnap.NewReader(v)
		e := entry{count: r.Varint(), matches: r.Varint(), touched: r.Varint(), kg: int32(kg), kid: -1, prev: -1, next: -1}
		rest := r.Rest()
		if r.Err() != nil || len(rest) < 1 || e.count <= 0 {
			return fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
		}
		hasKey := rest[0] == 1
		r = opsnap.NewReader(rest[1:])
		var kh uint64
		if hasKey {
			kh = r.U64()
			if r.Err() != nil {
				return fmt.Errorf("%w: row %x", opsnap.ErrCorrupt, key)
			}
		}
		rid, inserted, err := st.rows.FindOrInsertOne(maphash.Bytes(o.seed, row), row)
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("%w: row %x stored twice", opsnap.ErrCorrupt, key)
		}
		st.ent = append(st.ent, e)
		if hasKey {
			kid, ins, err := st.keys.FindOrInsertOne(kh, r.Rest())
			if err != nil {
				return err
			}
			if ins {
				st.head = append(st.head, -1)
			}
			st.ent[rid].kid = int32(kid)
			st.link(int32(rid))
		}
		st.live++
		st.copies += e.count
		return nil
	})
}

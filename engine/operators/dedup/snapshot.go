package dedup

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/state"
)

// Keyed state tables (see the package comment, "Snapshots").
const (
	keysTable   = "keys"
	schemaTable = "schema"
)

// snap is the operator's snapshot bookkeeping.
type snap struct {
	keys, schema state.Table
	dirty        opsnap.Dirty   // keys changed since the last snapshot
	dels         opsnap.Deletes // keys dropped and renumbered away since
	schemaDone   bool
	written      bool // state holds what a snapshot wrote (or a restore read)
	key, val     []byte
}

func (o *Operator) tables() error {
	if o.snap.keys != nil {
		return nil
	}
	if o.oc.State == nil || o.oc.MaxParallelism <= 0 {
		return fmt.Errorf("no keyed state backend or no key groups (max parallelism %d)", o.oc.MaxParallelism)
	}
	var err error
	if o.snap.keys, err = o.oc.State.Table(keysTable); err != nil {
		return fmt.Errorf("state table %s: %w", keysTable, err)
	}
	if o.snap.schema, err = o.oc.State.Table(schemaTable); err != nil {
		return fmt.Errorf("state table %s: %w", schemaTable, err)
	}
	return nil
}

// stateKey is the state key of key k: its key group, then its encoding.
func (o *Operator) stateKey(dst []byte, k uint32) []byte {
	return opsnap.Key(dst, opsnap.KeyGroup(o.table.Hash(k), o.oc.MaxParallelism), o.table.Key(k))
}

// SnapshotState implements operator.Snapshotter: it writes the keys whose
// row (or last access) changed since the last snapshot and deletes the
// dropped ones. Each entry holds the key's hash, its row's time, its last
// access and its row.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshot(); err != nil {
		return fmt.Errorf("dedup %s: snapshot %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshot() error {
	if o.schema == nil {
		return nil
	}
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.snap
	if !s.schemaDone {
		if err := opsnap.PutSchema(s.schema, o.oc.KeyGroups, 0, o.schema); err != nil {
			return err
		}
		s.schemaDone = true
	}
	return o.writeDirty()
}

// writeDirty writes the keys changed since the last snapshot (or write)
// into keyed state and deletes the dropped ones: at a snapshot, and
// between batches once more than the write-behind limit piled up.
func (o *Operator) writeDirty() error {
	s := &o.snap
	if err := s.dels.Apply(s.keys); err != nil {
		return err
	}
	for _, k := range s.dirty.IDs() {
		s.key = o.stateKey(s.key[:0], k)
		if !o.has[k] {
			if err := s.keys.Delete(s.key); err != nil {
				return fmt.Errorf("delete key: %w", err)
			}
			continue
		}
		s.val = o.appendValue(s.val[:0], k)
		if err := s.keys.Put(s.key, s.val); err != nil {
			return fmt.Errorf("write key: %w", err)
		}
	}
	s.dirty.Reset()
	s.written = true
	return nil
}

// appendValue appends the state value of key k (which holds a row) to
// dst: its hash, NULL-time flag, time, last access and row.
func (o *Operator) appendValue(dst []byte, k uint32) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, o.table.Hash(k))
	var flags byte
	if !o.procTime && o.tnull[k] {
		flags = 1
	}
	dst = append(dst, flags)
	if !o.procTime {
		dst = binary.AppendVarint(dst, o.tval[k])
	}
	if o.ttl > 0 {
		dst = binary.AppendVarint(dst, o.last[k])
	}
	if o.storeRows {
		dst = append(dst, o.arena[o.payOff[k]:o.payOff[k]+int(o.payLen[k])]...)
	}
	return dst
}

// setKey makes key k (without a row) hold the state value v written by
// appendValue.
func (o *Operator) setKey(k uint32, v []byte) error {
	r := opsnap.NewReader(v)
	h := r.U64()
	rest := r.Rest()
	if r.Err() != nil || len(rest) < 1 {
		return fmt.Errorf("%w: value of %d bytes", opsnap.ErrCorrupt, len(v))
	}
	if h != o.table.Hash(k) {
		return fmt.Errorf("%w: stored hash %x, want %x", opsnap.ErrCorrupt, h, o.table.Hash(k))
	}
	flags := rest[0]
	r = opsnap.NewReader(rest[1:])
	var t, last int64
	if !o.procTime {
		t = r.Varint()
	}
	if o.ttl > 0 {
		last = r.Varint()
	}
	if r.Err() != nil {
		return r.Err()
	}
	o.has[k] = true
	o.live++
	if !o.procTime {
		o.tval[k], o.tnull[k] = t, flags&1 != 0
	}
	if o.ttl > 0 {
		o.last[k] = last
	}
	if o.storeRows {
		row := r.Rest()
		o.payOff[k], o.payLen[k] = len(o.arena), int32(len(row))
		o.arena = append(o.arena, row...)
		o.liveBytes += len(row)
	}
	return nil
}

// RestoreState implements operator.Snapshotter: it binds the operator to
// the input schema kept in keyed state and rebuilds every key of the key
// groups it owns; with a state cache it loads no key, but looks keys up as
// they arrive. The operator keeps no per-subtask bookkeeping: the sweep
// schedule restarts.
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restore(); err != nil {
		return fmt.Errorf("dedup %s: restore: %w", o.id, err)
	}
	return nil
}

func (o *Operator) restore() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.snap
	sch, err := opsnap.GetSchema(s.schema, o.oc.KeyGroups, 0)
	if err != nil || sch == nil {
		return err
	}
	if err := o.bind(sch); err != nil {
		return err
	}
	s.written = true // the schema is written again at the next snapshot
	if o.limit > 0 {
		// Load nothing: every key may be in keyed state.
		o.mayHold = true
		return nil
	}
	return opsnap.ScanRange(s.keys, o.oc.KeyGroups, func(key, v []byte) error {
		r := opsnap.NewReader(v)
		h := r.U64()
		if r.Err() != nil {
			return fmt.Errorf("key %x: %w", key, r.Err())
		}
		k, inserted, err := o.table.FindOrInsertOne(h, key[state.KeyGroupLen:])
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("%w: key %x stored twice", opsnap.ErrCorrupt, key)
		}
		o.growKeys()
		if err := o.setKey(k, v); err != nil {
			return fmt.Errorf("key %x: %w", key, err)
		}
		return nil
	})
}

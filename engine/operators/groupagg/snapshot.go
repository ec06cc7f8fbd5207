package groupagg

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Keyed state tables (see the package comment, "Snapshots").
const (
	groupsTable  = "groups"
	pendingTable = "pending"
	metaTable    = "meta"
	schemaTable  = "schema"
)

// snap is the operator's snapshot bookkeeping.
type snap struct {
	groups, pending, meta state.Table
	schema                state.Table
	replay                bool         // restored: the next watermark is the replayed one
	dirty                 opsnap.Dirty // groups changed since the last snapshot
	pendingKeys           bool         // the pending table holds entries
	localKeys             bool         // the groups table holds partial results
	localChanged          bool         // the partial results changed since the last snapshot
	metaDone              bool         // the input schema is written
	written               bool         // state holds what a snapshot wrote (or a restore read)
	key, val              []byte
	rowEnc                *rowkey.Encoder // whole input rows (pending)
	rows                  rowkey.Rows
}

func (o *Operator) tables() error {
	if o.snap.meta != nil {
		return nil
	}
	if o.oc.State == nil || o.oc.MaxParallelism <= 0 {
		return fmt.Errorf("no keyed state backend or no key groups (max parallelism %d)", o.oc.MaxParallelism)
	}
	var err error
	for _, t := range []struct {
		name string
		dst  *state.Table
	}{{groupsTable, &o.snap.groups}, {pendingTable, &o.snap.pending}, {metaTable, &o.snap.meta}, {schemaTable, &o.snap.schema}} {
		if *t.dst, err = o.oc.State.Table(t.name); err != nil {
			return fmt.Errorf("state table %s: %w", t.name, err)
		}
	}
	return nil
}

// groupKey is the state key of group g.
func (o *Operator) groupKey(dst []byte, g uint32) []byte {
	kg := opsnap.KeyGroup(o.table.Hash(g), o.oc.MaxParallelism)
	if o.local {
		// The local phase is not partitioned by its keys: its partial
		// results belong to the subtask, not to a key group.
		kg = o.oc.KeyGroups.Start
	}
	return opsnap.Key(dst, kg, o.table.Key(g))
}

// SnapshotState implements operator.Snapshotter: it writes the groups
// changed since the last snapshot (hash, live rows, last access,
// accumulator state) and deletes the dropped ones; the local phase writes
// its partial results; a mini-batch aggregate writes the rows it holds.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshot(); err != nil {
		return fmt.Errorf("group_agg %s: snapshot %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshot() error {
	if o.in == nil && o.snap.meta == nil {
		return nil // never saw a row and restored nothing
	}
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.snap
	if !s.metaDone && o.in != nil {
		if err := opsnap.PutSchema(s.schema, o.oc.KeyGroups, 0, o.in); err != nil {
			return err
		}
		s.metaDone = true
	}
	if o.local && s.localChanged {
		s.val = binary.AppendVarint(s.val[:0], int64(o.pending))
		if err := opsnap.PutMeta(s.meta, o.oc.KeyGroups, s.val); err != nil {
			return err
		}
	}
	if o.local {
		return o.snapshotLocal()
	}
	if err := o.writeDirty(); err != nil {
		return err
	}
	return o.snapshotPending()
}

// snapshotLocal replaces the stored partial results with the current ones
// (all of them changed since the last flush).
func (o *Operator) snapshotLocal() error {
	s := &o.snap
	if !s.localChanged {
		return nil
	}
	s.localChanged = false
	if s.localKeys {
		if err := s.groups.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
			return fmt.Errorf("delete partial results: %w", err)
		}
		s.localKeys = false
	}
	if o.part == nil {
		return nil
	}
	for g := 0; g < o.table.Len(); g++ {
		s.key = o.groupKey(s.key[:0], uint32(g))
		s.val = binary.LittleEndian.AppendUint64(s.val[:0], o.table.Hash(uint32(g)))
		s.val = o.part.AppendState(s.val, uint32(g))
		if err := s.groups.Put(s.key, s.val); err != nil {
			return fmt.Errorf("write partial result: %w", err)
		}
		s.localKeys = true
	}
	return nil
}

// snapshotPending replaces the stored mini-batch rows with the buffered
// ones: key group of the row's group key, then the row's number in the
// mini-batch; value the row kind and the row (rowkey's row encoding).
func (o *Operator) snapshotPending() error {
	s := &o.snap
	if s.pendingKeys {
		if err := s.pending.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
			return fmt.Errorf("delete mini-batch rows: %w", err)
		}
		s.pendingKeys = false
	}
	if o.mini.rows == 0 {
		return nil
	}
	if err := o.rowEncoder(); err != nil {
		return err
	}
	seq := uint64(0)
	for i, rec := range o.mini.recs {
		if err := o.keys.Encode(rec); err != nil {
			return err
		}
		n := int(rec.NumRows())
		if err := s.rowEnc.Encode(rec.Columns(), n, nil, &s.rows); err != nil {
			return fmt.Errorf("mini-batch rows: %w", err)
		}
		for r := 0; r < n; r++ {
			kg := opsnap.KeyGroup(o.keys.Hashes[r], o.oc.MaxParallelism)
			s.key = binary.BigEndian.AppendUint64(state.KeyPrefix(s.key[:0], kg), seq)
			seq++
			kind := stream.Insert
			if o.mini.kinds[i] != nil {
				kind = o.mini.kinds[i][r]
			}
			s.val = append(append(s.val[:0], byte(kind)), s.rows.Row(r)...)
			if err := s.pending.Put(s.key, s.val); err != nil {
				return fmt.Errorf("write mini-batch row: %w", err)
			}
		}
	}
	s.pendingKeys = true
	return nil
}

func rangeEnd(r keygroup.Range) []byte {
	if r.End > 0xffff {
		return nil
	}
	return state.KeyPrefix(nil, r.End)
}

func (o *Operator) rowEncoder() error {
	if o.snap.rowEnc != nil {
		return nil
	}
	ts := make([]arrow.DataType, o.in.NumFields())
	for i := range ts {
		ts[i] = o.in.Field(i).Type
	}
	var err error
	if o.snap.rowEnc, err = rowkey.NewRowEncoder(ts); err != nil {
		return fmt.Errorf("input rows: %w", err)
	}
	return nil
}

// RestoreState implements operator.Snapshotter: it binds the operator to
// the input schema kept in its bookkeeping and rebuilds the groups (and
// the local phase's partial results, and a mini-batch's buffered rows)
// from the key groups it owns. After a rescale there is one bookkeeping
// entry per old subtask: they hold the same schema. Restored mini-batch
// rows count as arrived at the restore (their latency restarts).
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restore(); err != nil {
		return fmt.Errorf("group_agg %s: restore: %w", o.id, err)
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
	// The schema is written again at the next snapshot, to every key
	// group this subtask owns.
	o.in, s.written, s.replay = sch, true, true
	if o.local {
		// The rows folded into the partial results since their last
		// flush: the sum over the old subtasks whose entries this
		// subtask holds now.
		err := opsnap.ScanMeta(s.meta, o.oc.KeyGroups, func(v []byte) error {
			r := opsnap.NewReader(v)
			o.pending += int(r.Varint())
			return r.Err()
		})
		if err != nil {
			return err
		}
		if err := s.meta.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
			return err
		}
	}
	if !o.local && o.limit > 0 {
		// With a cache limit the groups stay in keyed state until their
		// keys come back (load).
		o.spilled = true
		return o.restorePending()
	}
	err = opsnap.ScanRange(s.groups, o.oc.KeyGroups, func(k, v []byte) error {
		r := opsnap.NewReader(v)
		h := r.U64()
		var live, seen int64
		if !o.local {
			live, seen = r.Varint(), r.Varint()
		}
		if r.Err() != nil {
			return fmt.Errorf("group %x: %w", k, r.Err())
		}
		g, _, err := o.table.FindOrInsertOne(h, k[state.KeyGroupLen:])
		if err != nil {
			return err
		}
		if o.local {
			o.part.Grow(o.table.Len())
			s.localKeys = true
			return o.part.MergeState(g, r.Rest())
		}
		o.st.Grow(o.table.Len())
		o.live, o.seen, o.mark = grow(o.live, o.table.Len()), grow(o.seen, o.table.Len()), grow(o.mark, o.table.Len())
		if o.live[g] == 0 {
			o.liveCount++
		}
		o.live[g] += live
		o.seen[g] = max(o.seen[g], seen)
		if err := o.st.MergeState(g, r.Rest()); err != nil {
			return fmt.Errorf("group %x: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.local {
		// Partial results of old subtasks were merged: rewrite them under
		// this subtask's key group at the next snapshot.
		if s.localKeys {
			if err := s.groups.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
				return err
			}
			s.localKeys = false
		}
		// Rewritten under this subtask's key group at the next snapshot.
		s.localChanged = true
		return nil
	}
	return o.restorePending()
}

// restorePending rebuilds the buffered mini-batch rows, in their old
// order (per old subtask).
func (o *Operator) restorePending() error {
	s := &o.snap
	type prow struct {
		seq  uint64
		kind stream.RowKind
		row  []byte
	}
	var rows []prow
	err := opsnap.ScanRange(s.pending, o.oc.KeyGroups, func(k, v []byte) error {
		if len(k) != state.KeyGroupLen+8 || len(v) < 1 {
			return fmt.Errorf("%w: mini-batch row %x", opsnap.ErrCorrupt, k)
		}
		rows = append(rows, prow{binary.BigEndian.Uint64(k[state.KeyGroupLen:]), stream.RowKind(v[0]), append([]byte(nil), v[1:]...)})
		return nil
	})
	if err != nil || len(rows) == 0 {
		return err
	}
	s.pendingKeys = true
	slices.SortStableFunc(rows, func(a, b prow) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	if err := o.rowEncoder(); err != nil {
		return err
	}
	var data []byte
	starts := make([]int, len(rows))
	kinds := make([]stream.RowKind, len(rows))
	for i, r := range rows {
		starts[i] = len(data)
		data = append(data, r.row...)
		kinds[i] = r.kind
	}
	rb := array.NewRecordBuilder(o.mem, o.in)
	defer rb.Release()
	if err := s.rowEnc.Decode(data, starts, rb.Fields()); err != nil {
		return fmt.Errorf("mini-batch rows: %w", err)
	}
	o.mini.recs = append(o.mini.recs, rb.NewRecordBatch())
	o.mini.kinds = append(o.mini.kinds, kinds)
	o.mini.rows = len(rows)
	o.mini.since = o.now()
	return nil
}

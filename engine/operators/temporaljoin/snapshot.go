package temporaljoin

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/gather"
	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Keyed state tables (see the package comment, "Snapshots").
const (
	leftTable     = "left"
	versionsTable = "versions"
	metaTable     = "meta"
	schemaTable   = "schema"
)

// snapState is the operator's snapshot bookkeeping.
type snapState struct {
	left, versions, meta, schema state.Table
	schemaDone                   [2]bool
	seq                          int64          // every left row numbered up to seq is in state
	dels                         opsnap.Deletes // left rows in state joined since
	groups                       opsnap.Dirty   // keys whose versions (or last use) changed since
	rowEnc                       [2]*rowkey.Encoder
	rows                         rowkey.Rows
	sel                          []int32
	refs                         []ref
	key, val                     []byte
}

func (o *Operator) tables() error {
	if o.ss.left != nil {
		return nil
	}
	if o.oc.State == nil || o.oc.MaxParallelism <= 0 {
		return fmt.Errorf("no keyed state backend or no key groups (max parallelism %d)", o.oc.MaxParallelism)
	}
	var err error
	for _, t := range []struct {
		name string
		dst  *state.Table
	}{{leftTable, &o.ss.left}, {versionsTable, &o.ss.versions}, {metaTable, &o.ss.meta}, {schemaTable, &o.ss.schema}} {
		if *t.dst, err = o.oc.State.Table(t.name); err != nil {
			return fmt.Errorf("state table %s: %w", t.name, err)
		}
	}
	return nil
}

// rowEncoder returns the row encoder of side s (bound).
func (o *Operator) rowEncoder(s int) (*rowkey.Encoder, error) {
	if e := o.ss.rowEnc[s]; e != nil {
		return e, nil
	}
	sc := o.schema[s]
	ts := make([]arrow.DataType, sc.NumFields())
	for i := range ts {
		ts[i] = sc.Field(i).Type
	}
	e, err := rowkey.NewRowEncoder(ts)
	if err != nil {
		return nil, fmt.Errorf("%s rows: %w", sideName[s], err)
	}
	o.ss.rowEnc[s] = e
	return e, nil
}

// leftKey appends the state key of buffered left row p: its key group,
// time and arrival number.
func leftKey(dst []byte, p *pending) []byte {
	dst = state.AppendInt64(state.KeyPrefix(dst, int(p.KG)), p.Time)
	return binary.BigEndian.AppendUint64(dst, uint64(p.Seq))
}

// noteFired records, as buffered left row p is joined, that its state
// entry must go (if a snapshot wrote it).
func (o *Operator) noteFired(p *pending) {
	if p.Seq <= o.ss.seq && o.ss.left != nil {
		o.ss.dels.Add(leftKey(o.ss.key[:0], p))
	}
}

// groupKey appends the state key of group g: the key group of its key,
// then the key.
func (o *Operator) groupKey(dst []byte, g uint32) []byte {
	dst = state.KeyPrefix(dst, opsnap.KeyGroup(o.tbl.Hash(g), o.oc.MaxParallelism))
	return append(dst, o.tbl.Key(g)...)
}

// SnapshotState implements operator.Snapshotter: it writes the left rows
// buffered since the last snapshot (under key group, time and arrival
// number), deletes the ones joined since, rewrites the versions of the
// keys whose versions (or, with a TTL, last use) changed, and writes the
// watermark under the subtask's first key group.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshotState(); err != nil {
		return fmt.Errorf("temporal_join %s: snapshot %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshotState() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	for side, sch := range o.schema {
		if sch != nil && !s.schemaDone[side] {
			if err := opsnap.PutSchema(s.schema, o.oc.KeyGroups, side, sch); err != nil {
				return err
			}
			s.schemaDone[side] = true
		}
	}
	// The watermark and the arrival counter, so that a restored operator
	// numbers new left rows as this one would.
	s.val = binary.AppendVarint(binary.AppendVarint(s.val[:0], o.wm), o.seq)
	if err := opsnap.PutMeta(s.meta, o.oc.KeyGroups, s.val); err != nil {
		return err
	}
	if err := s.dels.Apply(s.left); err != nil {
		return err
	}
	if err := o.snapshotLeft(); err != nil {
		return err
	}
	return o.snapshotVersions()
}

// snapshotLeft writes the buffered left rows numbered after s.seq: a
// suffix of o.pend (rows are buffered, and leave, in arrival order), in
// runs of one chunk, each encoded with one call.
func (o *Operator) snapshotLeft() error {
	s := &o.ss
	i := len(o.pend)
	for i > 0 && o.pend[i-1].Seq > s.seq {
		i--
	}
	if i == len(o.pend) {
		return nil
	}
	enc, err := o.rowEncoder(0)
	if err != nil {
		return err
	}
	for lo := i; lo < len(o.pend); {
		c := o.pend[lo].Chunk
		hi := lo
		s.sel = s.sel[:0]
		for hi < len(o.pend) && o.pend[hi].Chunk == c {
			s.sel = append(s.sel, o.pend[hi].Row)
			hi++
		}
		rec := o.left.chunks[c]
		if err := enc.Encode(rec.Columns(), int(rec.NumRows()), s.sel, &s.rows); err != nil {
			return fmt.Errorf("left rows: %w", err)
		}
		for j := lo; j < hi; j++ {
			s.key = leftKey(s.key[:0], &o.pend[j])
			if err := s.left.Put(s.key, s.rows.Row(j-lo)); err != nil {
				return fmt.Errorf("write left row: %w", err)
			}
		}
		lo = hi
	}
	s.seq = o.pend[len(o.pend)-1].Seq
	return nil
}

// snapshotVersions rewrites the changed keys' versions: the key's hash
// and last use, then per version its time and its row (none for a
// deletion). The rows are gathered into one record and encoded at once.
func (o *Operator) snapshotVersions() error {
	s := &o.ss
	if s.groups.Len() == 0 {
		return nil
	}
	s.refs = s.refs[:0]
	for _, g := range s.groups.IDs() {
		for _, v := range o.vers[g] {
			if v.Row >= 0 {
				s.refs = append(s.refs, ref{Chunk: v.Chunk, Row: v.Row})
			}
		}
	}
	if len(s.refs) > 0 {
		enc, err := o.rowEncoder(1)
		if err != nil {
			return err
		}
		cols := make([]arrow.Array, o.width[1])
		defer func() {
			for _, a := range cols {
				if a != nil {
					a.Release()
				}
			}
		}()
		for c := range cols {
			var err error
			cols[c], o.idx, err = gather.Column(o.mem, o.schema[1].Field(c).Type, o.right.chunks, c, s.refs, o.idx)
			if err != nil {
				return fmt.Errorf("versions: column %d: %w", c, err)
			}
		}
		if err := enc.Encode(cols, len(s.refs), nil, &s.rows); err != nil {
			return fmt.Errorf("versions: %w", err)
		}
	}
	k := 0
	for _, g := range s.groups.IDs() {
		s.key = o.groupKey(s.key[:0], g)
		vs := o.vers[g]
		if len(vs) == 0 {
			if err := s.versions.Delete(s.key); err != nil {
				return fmt.Errorf("delete versions: %w", err)
			}
			continue
		}
		s.val = binary.LittleEndian.AppendUint64(s.val[:0], o.tbl.Hash(g))
		s.val = binary.AppendVarint(s.val, o.used[g])
		s.val = binary.AppendUvarint(s.val, uint64(len(vs)))
		for _, v := range vs {
			s.val = binary.AppendVarint(s.val, v.Time)
			if v.Row < 0 {
				s.val = append(s.val, 0)
				continue
			}
			s.val = opsnap.AppendBytes(append(s.val, 1), s.rows.Row(k))
			k++
		}
		if err := s.versions.Put(s.key, s.val); err != nil {
			return fmt.Errorf("write versions: %w", err)
		}
	}
	s.groups.Reset()
	return nil
}

// RestoreState implements operator.Snapshotter: it binds the sides that
// had seen a batch to their schemas kept in keyed state, rebuilds the
// buffered left rows (with their arrival numbers) and every key's versions
// of the key groups it owns, each side's rows decoded into one record, and
// takes the watermark from the bookkeeping (after a rescale: the largest
// of the old subtasks', which at an aligned checkpoint are all the same).
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restoreState(); err != nil {
		return fmt.Errorf("temporal_join %s: restore: %w", o.id, err)
	}
	return nil
}

func (o *Operator) restoreState() error {
	if err := o.tables(); err != nil {
		return err
	}
	s := &o.ss
	for side := range o.schema {
		sch, err := opsnap.GetSchema(s.schema, o.oc.KeyGroups, side)
		if err != nil {
			return err
		}
		if sch == nil {
			continue
		}
		if err := o.bindSide(side, sch); err != nil {
			return err
		}
	}
	wm := stream.MinWatermark
	err := opsnap.ScanMeta(s.meta, o.oc.KeyGroups, func(v []byte) error {
		r := opsnap.NewReader(v)
		w, seq := r.Varint(), r.Varint()
		wm, o.seq = max(wm, w), max(o.seq, seq)
		return r.Err()
	})
	if err != nil {
		return err
	}
	if err := s.meta.DeleteRange(state.KeyPrefix(nil, o.oc.KeyGroups.Start), rangeEnd(o.oc.KeyGroups)); err != nil {
		return err
	}
	o.wm = wm
	if o.schema[1] != nil {
		if err := o.restoreVersions(); err != nil {
			return err
		}
		s.groups.Reset() // as in state
	}
	if o.schema[0] != nil {
		if err := o.restoreLeft(); err != nil {
			return err
		}
	}
	return nil
}

func (o *Operator) restoreVersions() error {
	s := &o.ss
	enc, err := o.rowEncoder(1)
	if err != nil {
		return err
	}
	var data []byte
	var starts []int
	err = opsnap.ScanRange(s.versions, o.oc.KeyGroups, func(key, v []byte) error {
		r := opsnap.NewReader(v)
		h := r.U64()
		used := r.Varint()
		n := r.Uvarint()
		if r.Err() != nil || n > uint64(len(v)) {
			return fmt.Errorf("%w: versions %x", opsnap.ErrCorrupt, key)
		}
		g, _, err := o.tbl.FindOrInsertOne(h, key[state.KeyGroupLen:])
		if err != nil {
			return err
		}
		o.ensure()
		o.used[g] = used
		for ; n > 0; n-- {
			ver := version{Time: r.Varint(), Chunk: -1, Row: -1}
			rest := r.Rest()
			if r.Err() != nil || len(rest) < 1 {
				return fmt.Errorf("%w: versions %x", opsnap.ErrCorrupt, key)
			}
			r = opsnap.NewReader(rest[1:])
			if rest[0] == 1 {
				row := r.Bytes()
				ver.Chunk, ver.Row = 0, int32(len(starts))
				starts = append(starts, len(data))
				data = append(data, row...)
			}
			o.insert(g, ver)
		}
		if r.Err() != nil || len(r.Rest()) != 0 {
			return fmt.Errorf("%w: versions %x", opsnap.ErrCorrupt, key)
		}
		return nil
	})
	if err != nil || len(starts) == 0 {
		return err
	}
	rec, err := decode(o, enc, 1, data, starts)
	if err != nil {
		return err
	}
	defer rec.Release()
	if c := o.right.add(rec, len(starts)); c != 0 {
		return fmt.Errorf("versions: restored into chunk %d, want 0", c)
	}
	return nil
}

func (o *Operator) restoreLeft() error {
	s := &o.ss
	enc, err := o.rowEncoder(0)
	if err != nil {
		return err
	}
	var data []byte
	var starts []int
	first := len(o.pend)
	err = opsnap.ScanRange(s.left, o.oc.KeyGroups, func(key, v []byte) error {
		if len(key) != state.KeyGroupLen+16 {
			return fmt.Errorf("%w: left row %x", opsnap.ErrCorrupt, key)
		}
		kg, _ := state.KeyGroupOf(key)
		p := pending{
			Time: state.DecodeInt64(key[state.KeyGroupLen:]),
			Seq:  int64(binary.BigEndian.Uint64(key[state.KeyGroupLen+8:])),
			Row:  int32(len(starts)),
			KG:   int32(kg),
		}
		o.pend = append(o.pend, p)
		o.seq = max(o.seq, p.Seq)
		starts = append(starts, len(data))
		data = append(data, v...)
		return nil
	})
	if err != nil || len(starts) == 0 {
		return err
	}
	s.seq = o.seq
	rec, err := decode(o, enc, 0, data, starts)
	if err != nil {
		return err
	}
	defer rec.Release()
	c := o.left.add(rec, len(starts))
	// The rows' keys, for their groups, a column at a time.
	n := len(starts)
	if err := o.keys[0].Encode(rec); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	o.markKeys(rec, 0, n)
	for i := 0; i < n; i++ {
		p := &o.pend[first+i]
		p.Chunk, p.Group = c, -1
		if o.hasKey[i] {
			g, _, err := o.tbl.FindOrInsertOne(o.keys[0].Hashes[i], o.keys[0].Rows.Row(i))
			if err != nil {
				return err
			}
			o.ensure()
			p.Group = int32(g)
		}
	}
	return nil
}

// decode decodes rows of side s into a record of its schema.
func decode(o *Operator, enc *rowkey.Encoder, s int, data []byte, starts []int) (arrow.RecordBatch, error) {
	rb := array.NewRecordBuilder(o.mem, o.schema[s])
	defer rb.Release()
	rb.Reserve(len(starts))
	if err := enc.Decode(data, starts, rb.Fields()); err != nil {
		return nil, fmt.Errorf("%s rows: %w", sideName[s], err)
	}
	return rb.NewRecordBatch(), nil
}

func rangeEnd(r keygroup.Range) []byte {
	if r.End > 0xffff {
		return nil
	}
	return state.KeyPrefix(nil, r.End)
}

package windowjoin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Snapshots (operator.Snapshotter). The buffered rows stay in memory as
// Arrow batches (the join needs them there); a snapshot writes a copy of
// the rows that arrived since the previous snapshot, so the state holds
// every buffered row:
//
//	key   = key group (state.KeyPrefix) | window end, window start (state.AppendInt64) |
//	        side (1 byte: 0 left, 1 right) | snapshot number (8 bytes BE)
//	value = format version (1 byte) | row count (uvarint) |
//	        per row: length (uvarint) | row (rowkey's exact row format over the side's columns)
//
// one entry per window, side and key group that new rows fall into (the key
// group of a row is that of its join key, as the hash exchange routes it),
// written without reading: windows no row reached since the previous
// snapshot write nothing. A window remembers the key groups it wrote into
// and, when it fires, deletes its entries with one DeleteRange per key
// group. A restored operator reads the entries of the key groups it owns
// back into batches (one per entry) and numbers its snapshots above every
// restored one, so keys never collide.
//
// The bookkeeping table (stateTable+".meta") holds each side's input
// schema (Arrow IPC), written once under every owned key group
// (opsnap.PutSchema; input 0 left, 1 right), so a restored operator binds
// before its first batch and the replayed watermark can join restored
// windows. The fired-up-to watermark is the one the runtime replays after
// RestoreState.
const (
	stateTable   = "window_join.v1"
	stateVersion = 1
)

// snapState is the operator's snapshot bookkeeping.
type snapState struct {
	table state.Table
	meta  state.Table
	saved [2]bool // side s's schema is in meta
	seq   uint64  // the last snapshot number used
	enc   [2]*rowkey.Encoder
	rows  rowkey.Rows
	wins  []winbuf.Key
	bufs  map[int]*kgBuf
	kgs   []int
	key   []byte
	val   []byte
}

// kgBuf collects the encoded rows of one key group.
type kgBuf struct {
	n    int
	data []byte
}

func (s *snapState) open(b state.Backend) error {
	if b == nil {
		return errors.New("no keyed state backend")
	}
	var err error
	if s.table, err = b.Table(stateTable); err != nil {
		return fmt.Errorf("open state table: %w", err)
	}
	if s.meta, err = b.Table(stateTable + ".meta"); err != nil {
		return fmt.Errorf("open state table: %w", err)
	}
	s.bufs = map[int]*kgBuf{}
	return nil
}

func entryPrefix(dst []byte, kg int, k winbuf.Key) []byte {
	dst = state.KeyPrefix(dst, kg)
	dst = state.AppendInt64(dst, k.End)
	return state.AppendInt64(dst, k.Start)
}

// prefixLen is the length of entryPrefix's result.
const prefixLen = state.KeyGroupLen + 16

var _ operator.Snapshotter = (*Operator)(nil)

// SnapshotState implements operator.Snapshotter.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshot(); err != nil {
		return fmt.Errorf("window_join %s: checkpoint %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshot() error {
	sn := &o.snap
	for s := range sn.saved {
		if !sn.saved[s] && o.input[s].Schema != nil {
			if err := opsnap.PutSchema(sn.meta, o.oc.KeyGroups, s, o.input[s].Schema); err != nil {
				return err
			}
			sn.saved[s] = true
		}
	}
	sn.wins = sn.wins[:0]
	for k, w := range o.wins {
		if len(w.recs[0]) > w.saved[0] || len(w.recs[1]) > w.saved[1] {
			sn.wins = append(sn.wins, k)
		}
	}
	if len(sn.wins) == 0 {
		return nil
	}
	slices.SortFunc(sn.wins, winbuf.Key.Compare)
	sn.seq++
	for _, k := range sn.wins {
		w := o.wins[k]
		for s := range w.recs {
			if len(w.recs[s]) == w.saved[s] {
				continue
			}
			if err := o.writeSide(k, w, s); err != nil {
				return fmt.Errorf("window [%d, %d), %s rows: %w", k.Start, k.End, sideName[s], err)
			}
			w.saved[s] = len(w.recs[s])
		}
	}
	return nil
}

// rowEncoder returns the encoder of side s's whole rows.
func (o *Operator) rowEncoder(s int) (*rowkey.Encoder, error) {
	if e := o.snap.enc[s]; e != nil {
		return e, nil
	}
	sc := o.input[s].Schema
	if sc == nil {
		return nil, fmt.Errorf("%s input has no schema", sideName[s])
	}
	ts := make([]arrow.DataType, sc.NumFields())
	for i := range ts {
		ts[i] = sc.Field(i).Type
	}
	e, err := rowkey.NewRowEncoder(ts)
	if err != nil {
		return nil, err
	}
	o.snap.enc[s] = e
	return e, nil
}

// writeSide writes the rows of side s of window k that arrived since the
// previous snapshot, one entry per key group.
func (o *Operator) writeSide(k winbuf.Key, w *window, s int) error {
	sn := &o.snap
	enc, err := o.rowEncoder(s)
	if err != nil {
		return err
	}
	sn.kgs = sn.kgs[:0]
	maxP := o.oc.MaxParallelism
	for _, rec := range w.recs[s][w.saved[s]:] {
		if err := o.keys[s].Encode(rec); err != nil {
			return err
		}
		n := int(rec.NumRows())
		cols := rec.Columns()
		if err := enc.Encode(cols, n, nil, &sn.rows); err != nil {
			return err
		}
		for i, h := range o.keys[s].Hashes[:n] {
			kg := keygroup.Of(h, maxP)
			b := sn.bufs[kg]
			if b == nil {
				b = &kgBuf{}
				sn.bufs[kg] = b
			}
			if b.n == 0 {
				sn.kgs = append(sn.kgs, kg)
			}
			row := sn.rows.Row(i)
			b.n++
			b.data = binary.AppendUvarint(b.data, uint64(len(row)))
			b.data = append(b.data, row...)
		}
	}
	slices.Sort(sn.kgs)
	if w.kgs == nil {
		w.kgs = make([]uint64, (maxP+63)/64)
	}
	for _, kg := range sn.kgs {
		b := sn.bufs[kg]
		sn.key = entryPrefix(sn.key[:0], kg, k)
		sn.key = append(sn.key, byte(s))
		sn.key = binary.BigEndian.AppendUint64(sn.key, sn.seq)
		sn.val = append(sn.val[:0], stateVersion)
		sn.val = binary.AppendUvarint(sn.val, uint64(b.n))
		sn.val = append(sn.val, b.data...)
		if err := sn.table.Put(sn.key, sn.val); err != nil {
			return fmt.Errorf("write rows of key group %d: %w", kg, err)
		}
		w.kgs[kg/64] |= 1 << (kg % 64)
		b.n, b.data = 0, b.data[:0]
	}
	return nil
}

// dropState deletes the entries window k wrote, once it has fired.
func (o *Operator) dropState(k winbuf.Key, w *window) error {
	sn := &o.snap
	for i, word := range w.kgs {
		for word != 0 {
			bit := 0
			for word&(1<<bit) == 0 {
				bit++
			}
			word &^= 1 << bit
			kg := i*64 + bit
			sn.key = entryPrefix(sn.key[:0], kg, k)
			if err := sn.table.DeleteRange(sn.key, state.PrefixEnd(sn.key)); err != nil {
				return fmt.Errorf("delete rows of key group %d: %w", kg, err)
			}
		}
	}
	w.kgs = nil
	return nil
}

// RestoreState implements operator.Snapshotter.
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restore(); err != nil {
		return fmt.Errorf("window_join %s: restore: %w", o.id, err)
	}
	return nil
}

var errCorrupt = errors.New("corrupt state entry")

func (o *Operator) restore() error {
	if o.input[0].Schema != nil || o.input[1].Schema != nil || len(o.wins) > 0 {
		return errors.New("restore after the first batch")
	}
	sn := &o.snap
	for s := range o.input {
		sc, err := opsnap.GetSchema(sn.meta, o.oc.KeyGroups, s)
		if err != nil {
			return err
		}
		if sc == nil {
			continue
		}
		if err := o.bind(s, sc); err != nil {
			return fmt.Errorf("restored %s input schema: %w", sideName[s], err)
		}
		o.input[s].Schema = sc
	}
	var starts []int
	err := opsnap.ScanRange(sn.table, o.oc.KeyGroups, func(key, v []byte) error {
		if len(key) != prefixLen+1+8 || key[prefixLen] > 1 || len(v) < 1 || v[0] != stateVersion {
			return fmt.Errorf("%w: key %x, value of %d bytes", errCorrupt, key, len(v))
		}
		kg, _ := state.KeyGroupOf(key)
		if kg >= o.oc.MaxParallelism {
			return fmt.Errorf("%w: key group %d is not below max parallelism %d", errCorrupt, kg, o.oc.MaxParallelism)
		}
		k := winbuf.Key{End: state.DecodeInt64(key[2:]), Start: state.DecodeInt64(key[10:])}
		s := int(key[prefixLen])
		sn.seq = max(sn.seq, binary.BigEndian.Uint64(key[prefixLen+1:]))
		if o.input[s].Schema == nil {
			return fmt.Errorf("state holds %s rows but no %s input schema", sideName[s], sideName[s])
		}
		enc, err := o.rowEncoder(s)
		if err != nil {
			return err
		}
		// Row boundaries, then the rows decoded a column at a time.
		r := opsnap.NewReader(v[1:])
		n := r.Uvarint()
		if r.Err() != nil || n == 0 || n > uint64(len(v)) {
			return fmt.Errorf("%w: key %x: bad row count", errCorrupt, key)
		}
		data := r.Rest()
		starts = starts[:0]
		p := 0
		for i := uint64(0); i < n; i++ {
			l, w := binary.Uvarint(data[p:])
			if w <= 0 || l > uint64(len(data)-p-w) {
				return fmt.Errorf("%w: key %x: truncated row", errCorrupt, key)
			}
			starts = append(starts, p+w)
			p += w + int(l)
		}
		if p != len(data) {
			return fmt.Errorf("%w: key %x: %d bytes after the rows", errCorrupt, key, len(data)-p)
		}
		rb := array.NewRecordBuilder(o.mem, o.input[s].Schema)
		defer rb.Release()
		if err := enc.Decode(data, starts, rb.Fields()); err != nil {
			return fmt.Errorf("%w: key %x: %v", errCorrupt, key, err)
		}
		rec := rb.NewRecordBatch()
		w := o.wins[k]
		if w == nil {
			w = &window{kgs: make([]uint64, (o.oc.MaxParallelism+63)/64)}
			o.wins[k] = w
			o.next = min(o.next, k.End)
		}
		w.recs[s] = append(w.recs[s], rec)
		w.saved[s] = len(w.recs[s])
		w.kgs[kg/64] |= 1 << (kg % 64)
		return nil
	})
	if err != nil {
		o.Close(context.Background())
		return err
	}
	return nil
}

package windowagg

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// Snapshots (operator.Snapshotter).
//
// Pending slices, kept slices and suffixes live in the window buffer, which
// a snapshot spills whole (winbuf.Buffer.Snapshot): each writes what
// reached it since the previous snapshot, one delta per key group, and
// what nothing reached writes nothing. The running aggregate and the HOP
// patches, which the operator keeps outside the buffer, are written the
// same way (winbuf.Buffer.SpillWindow) under keys no slice uses (the run
// of block b under [b, b), the patch of slice end e under [e+1, e)); the
// first fire after a snapshot (or a restore) merges them back
// (shared.load). FIRST_VALUE and LAST_VALUE merge by arrival number, so
// the merge order does not change results.
//
// The bookkeeping (winbuf.Meta: one copy per owned key group, rewritten
// only when it changed) is
//
//	version (1 byte) | wm | fired | live | hasRun (1 byte) | runStart |
//	snapBlock (8 bytes LE each) | pending | stored | snaps | patchEnds
//	(each a uvarint count and 8 bytes LE per value) | input schema (Arrow IPC)
//
// After a rescale a subtask finds one copy per old subtask. They merge as
// follows: wm and fired take the minimum, live the maximum, and pending the
// union (a pending slice no key group of this subtask holds is simply
// absent, which firing tolerates). The state HOP and CUMULATE windows share
// (run, kept slices, suffixes, patches) is per old subtask and cannot be
// merged in general: RestoreState accepts copies that agree on it and
// refuses, with an error, copies that do not (unfinished: see the report
// of issue 5).

const metaVersion = 1

var _ operator.Snapshotter = (*Operator)(nil)

// runKey and patchKey are the buffer keys of the running aggregate and a
// patch, written at snapshots: empty or reversed ranges, which no slice or
// suffix has.
func runKey(b int64) winbuf.Key   { return winbuf.Key{Start: b, End: b} }
func patchKey(e int64) winbuf.Key { return winbuf.Key{Start: e + 1, End: e} }

// SnapshotState implements operator.Snapshotter.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshot(); err != nil {
		return fmt.Errorf("window_agg %s: checkpoint %d: %w", o.oc.OperatorID, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshot() error {
	if err := o.buf.Snapshot(); err != nil {
		return err
	}
	sh := &o.sh
	if sh.hasRun {
		if err := o.buf.SpillWindow(runKey(sh.runStart), sh.run); err != nil {
			return err
		}
		sh.spilled = true
	}
	for _, pe := range sh.patchEnds {
		if err := o.buf.SpillWindow(patchKey(pe), sh.patches[pe]); err != nil {
			return err
		}
		sh.spilled = true
	}
	if o.input.Schema == nil {
		return nil // no batch yet
	}
	if o.schemaBytes == nil {
		var err error
		if o.schemaBytes, err = opsnap.EncodeSchema(o.input.Schema); err != nil {
			return err
		}
	}
	v := append(o.metaBuf[:0], metaVersion)
	for _, x := range []int64{o.wm, o.fired, o.live} {
		v = binary.LittleEndian.AppendUint64(v, uint64(x))
	}
	if sh.hasRun {
		v = append(v, 1)
	} else {
		v = append(v, 0)
	}
	v = binary.LittleEndian.AppendUint64(v, uint64(sh.runStart))
	v = binary.LittleEndian.AppendUint64(v, uint64(sh.snapBlock))
	for _, l := range [][]int64{o.pending, sh.stored, sh.snaps, sh.patchEnds} {
		v = binary.AppendUvarint(v, uint64(len(l)))
		for _, x := range l {
			v = binary.LittleEndian.AppendUint64(v, uint64(x))
		}
	}
	v = append(v, o.schemaBytes...)
	o.metaBuf = v
	return o.meta.Put(v)
}

// load merges the running aggregate and the patches written by the last
// snapshot back into memory.
func (sh *shared) load() error {
	if !sh.spilled {
		return nil
	}
	sh.spilled = false
	o := sh.o
	take := func(k winbuf.Key, into *slice) error {
		s, ok, err := o.buf.Take(k)
		if err != nil || !ok {
			return err
		}
		defer o.buf.Recycle(s)
		return o.mergeInto(into, s)
	}
	if sh.hasRun {
		if err := take(runKey(sh.runStart), sh.run); err != nil {
			return err
		}
	}
	for _, pe := range sh.patchEnds {
		if err := take(patchKey(pe), sh.patches[pe]); err != nil {
			return err
		}
	}
	return nil
}

// RestoreState implements operator.Snapshotter.
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restore(); err != nil {
		return fmt.Errorf("window_agg %s: restore: %w", o.oc.OperatorID, err)
	}
	return nil
}

// restoredMeta is one decoded bookkeeping copy.
type restoredMeta struct {
	wm, fired, live              int64
	hasRun                       bool
	runStart, snapBlock          int64
	pending, stored, snaps, pend []int64
	shared                       []byte // the encoded shared part, to compare copies
	schema                       []byte
}

func decodeMeta(v []byte) (m restoredMeta, err error) {
	bad := func(what string) error { return fmt.Errorf("%w: bookkeeping: %s", opsnap.ErrCorrupt, what) }
	if len(v) < 1+3*8+1+2*8 || v[0] != metaVersion {
		return m, bad(fmt.Sprintf("%d bytes", len(v)))
	}
	p := v[1:]
	i64 := func() int64 { x := int64(binary.LittleEndian.Uint64(p)); p = p[8:]; return x }
	m.wm, m.fired, m.live = i64(), i64(), i64()
	m.hasRun = p[0] == 1
	p = p[1:]
	m.runStart, m.snapBlock = i64(), i64()
	lists := make([][]int64, 4)
	for li := range lists {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k)/8 {
			return m, bad("truncated list")
		}
		p = p[k:]
		l := make([]int64, n)
		for j := range l {
			l[j] = i64()
		}
		lists[li] = l
	}
	m.pending, m.stored, m.snaps, m.pend = lists[0], lists[1], lists[2], lists[3]
	m.schema = p
	// Everything but wm, fired, live and pending must agree between copies.
	var sh []byte
	sh = append(sh, v[1+3*8:1+3*8+1+2*8]...)
	for _, l := range lists[1:] {
		for _, x := range l {
			sh = binary.LittleEndian.AppendUint64(sh, uint64(x))
		}
		sh = append(sh, '|')
	}
	m.shared = sh
	return m, nil
}

func (o *Operator) restore() error {
	var ms []restoredMeta
	err := o.meta.Scan(func(v []byte) error {
		m, err := decodeMeta(v)
		if err != nil {
			return err
		}
		m.schema = append([]byte(nil), m.schema...)
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		return err
	}
	if err := o.buf.Restore(nil); err != nil {
		return err
	}
	if len(ms) == 0 {
		if len(o.buf.SpilledKeys(nil)) > 0 {
			return errors.New("state holds windows but no bookkeeping")
		}
		return nil
	}
	m := ms[0]
	for _, x := range ms[1:] {
		if o.win.kind != jobgraph.Tumble && !bytes.Equal(x.shared, m.shared) {
			return fmt.Errorf("the %s windows' shared state of %d old subtasks differs; merging it after a rescale is not supported", o.win.kind, len(ms))
		}
		m.wm, m.fired, m.live = min(m.wm, x.wm), min(m.fired, x.fired), max(m.live, x.live)
		for _, e := range x.pending {
			if i, found := slices.BinarySearch(m.pending, e); !found {
				m.pending = slices.Insert(m.pending, i, e)
			}
		}
	}
	s, err := opsnap.DecodeSchema(m.schema)
	if err != nil {
		return err
	}
	if err := o.bind(s); err != nil {
		return fmt.Errorf("restored input schema: %w", err)
	}
	o.input.Schema, o.schemaBytes = s, m.schema
	o.wm, o.fired, o.live, o.pending = m.wm, m.fired, m.live, m.pending
	sh := &o.sh
	sh.runStart, sh.snapBlock = m.runStart, m.snapBlock
	sh.stored, sh.snaps, sh.patchEnds = m.stored, m.snaps, m.pend
	if m.hasRun {
		if sh.run, err = o.buf.New(); err != nil {
			return err
		}
		sh.hasRun = true
	}
	for _, pe := range sh.patchEnds {
		if sh.patches[pe], err = o.buf.New(); err != nil {
			return err
		}
	}
	sh.spilled = m.hasRun || len(sh.patchEnds) > 0
	return nil
}

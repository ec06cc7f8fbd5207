package windowtopn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// Snapshots (operator.Snapshotter). The candidates of every window live in
// the window buffer, which a snapshot spills whole (winbuf.Buffer.Snapshot:
// what reached a window since the previous snapshot, as one more delta per
// window and key group; windows nothing reached write nothing). Firing
// merges the deltas back by arrival number, so a restored window ranks
// exactly as the uninterrupted one.
//
// The bookkeeping (winbuf.Meta, one copy per owned key group) is
//
//	version (1 byte) | seqLimit (8 bytes LE) | input schema (Arrow IPC)
//
// seqLimit is above every arrival number handed out so far: it moves in
// steps of seqStep, so the bookkeeping is rewritten once per seqStep rows,
// not at every snapshot. A restored operator numbers new rows from the
// largest seqLimit it finds (after a rescale, one per old subtask), so new
// rows come after every restored candidate and ties rank as they would
// have. The fired-up-to watermark is not kept: the runtime replays the
// subtask's last watermark after RestoreState, which sets it (after a
// rescale, the watermark it replays). The input schema binds the restored
// operator before its first batch, so the replayed watermark can fire
// restored windows.

const (
	metaVersion = 1
	seqStep     = 1 << 20
)

var _ operator.Snapshotter = (*Operator)(nil)

// SnapshotState implements operator.Snapshotter.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshot(); err != nil {
		return fmt.Errorf("window_topn %s: checkpoint %d: %w", o.oc.OperatorID, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshot() error {
	if err := o.buf.Snapshot(); err != nil {
		return err
	}
	if o.input.Schema == nil {
		return nil // no batch yet: nothing to remember
	}
	if o.seq >= o.seqLimit {
		o.seqLimit = (o.seq/seqStep + 1) * seqStep
	}
	if o.schemaBytes == nil {
		var err error
		if o.schemaBytes, err = opsnap.EncodeSchema(o.input.Schema); err != nil {
			return err
		}
	}
	v := append(o.metaBuf[:0], metaVersion)
	v = binary.LittleEndian.AppendUint64(v, o.seqLimit)
	v = append(v, o.schemaBytes...)
	o.metaBuf = v
	return o.meta.Put(v)
}

// RestoreState implements operator.Snapshotter.
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restore(); err != nil {
		return fmt.Errorf("window_topn %s: restore: %w", o.oc.OperatorID, err)
	}
	return nil
}

func (o *Operator) restore() error {
	var schema []byte
	err := o.meta.Scan(func(v []byte) error {
		if len(v) < 9 || v[0] != metaVersion {
			return fmt.Errorf("%w: bookkeeping of %d bytes, version %d", opsnap.ErrCorrupt, len(v), v[0])
		}
		o.seqLimit = max(o.seqLimit, binary.LittleEndian.Uint64(v[1:]))
		if schema == nil {
			schema = append([]byte(nil), v[9:]...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	o.seq = o.seqLimit
	if schema != nil {
		s, err := opsnap.DecodeSchema(schema)
		if err != nil {
			return err
		}
		if err := o.bind(s); err != nil {
			return fmt.Errorf("restored input schema: %w", err)
		}
		o.input.Schema = s
		o.schemaBytes = schema
	}
	if err := o.buf.Restore(nil); err != nil {
		return err
	}
	if o.input.Schema == nil && len(o.buf.SpilledKeys(nil)) > 0 {
		return errors.New("state holds windows but no bookkeeping (input schema)")
	}
	return nil
}

package sessionagg

import (
	"context"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state"
)

// Snapshots (operator.Snapshotter). The operator's state is three tables:
//
//   - stateTable: the sessions' accumulators, as spilled deltas (package
//     session's spill layout). A snapshot spills what every session holds
//     in memory as one more delta (one spill round: one entry per key group
//     that sessions with new rows fall into), so sessions no row reached
//     since the previous snapshot write nothing. Firing merges the deltas
//     back, as after any spill, so results do not depend on snapshots.
//   - stateTable+".sessions": the session tracker's records (bounds,
//     partition key, deltas), one per session changed since the previous
//     snapshot (session.Tracker.Snapshot); closed sessions' records are
//     deleted.
//   - stateTable+".meta": the input schema (Arrow IPC), written once under
//     every owned key group (opsnap.PutSchema), so a restored operator
//     binds before its first batch and the replayed watermark can fire
//     restored sessions. After a rescale every old subtask's copy is the
//     same schema.
//
// Nothing else is kept: the fired-up-to watermark is the one the runtime
// replays after RestoreState (after a rescale, the one it replays), and
// session uids and spill rounds are renumbered above the restored ones
// (package session).
type snapState struct {
	sessions state.Table
	meta     state.Table
	saved    bool // the schema is in meta
}

func (s *snapState) open(b state.Backend) error {
	var err error
	if s.sessions, err = b.Table(stateTable + ".sessions"); err != nil {
		return fmt.Errorf("open state table: %w", err)
	}
	if s.meta, err = b.Table(stateTable + ".meta"); err != nil {
		return fmt.Errorf("open state table: %w", err)
	}
	return nil
}

var _ operator.Snapshotter = (*Operator)(nil)

// SnapshotState implements operator.Snapshotter.
func (o *Operator) SnapshotState(ctx context.Context, checkpointID int64) error {
	if err := o.snapshot(); err != nil {
		return fmt.Errorf("window_agg %s (SESSION): checkpoint %d: %w", o.id, checkpointID, err)
	}
	return nil
}

func (o *Operator) snapshot() error {
	if o.tr == nil {
		return nil // no batch yet: nothing to remember
	}
	if !o.snap.saved {
		if err := opsnap.PutSchema(o.snap.meta, o.oc.KeyGroups, 0, o.input.Schema); err != nil {
			return err
		}
		o.snap.saved = true
	}
	o.order = o.order[:0]
	o.tr.ForEachOpen(func(s int32) {
		if o.head[s] >= 0 {
			o.order = append(o.order, s)
		}
	})
	if len(o.order) > 0 {
		o.tr.BeginSpill()
		for _, s := range o.order {
			if err := o.spill(s, false); err != nil {
				return fmt.Errorf("write session: %w", err)
			}
		}
		if err := o.tr.EndSpill(o.table); err != nil {
			return err
		}
	}
	if err := o.tr.Snapshot(o.snap.sessions, o.oc.MaxParallelism, nil); err != nil {
		return err
	}
	return o.compact()
}

// RestoreState implements operator.Snapshotter.
func (o *Operator) RestoreState(ctx context.Context) error {
	if err := o.restore(); err != nil {
		return fmt.Errorf("window_agg %s (SESSION): restore: %w", o.id, err)
	}
	return nil
}

func (o *Operator) restore() error {
	if o.tr != nil {
		return errors.New("restore after the first batch")
	}
	sc, err := opsnap.GetSchema(o.snap.meta, o.oc.KeyGroups, 0)
	if err != nil {
		return err
	}
	if sc == nil {
		empty := true
		err := opsnap.ScanRange(o.snap.sessions, o.oc.KeyGroups, func(k, v []byte) error {
			empty = false
			return errStopScan
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return err
		}
		if !empty {
			return errors.New("state holds sessions but no input schema")
		}
		return nil
	}
	if err := o.bind(sc); err != nil {
		return fmt.Errorf("restored input schema: %w", err)
	}
	o.input.Schema = sc
	if err := o.tr.Restore(o.snap.sessions, o.oc.KeyGroups, o.oc.MaxParallelism, nil); err != nil {
		return err
	}
	o.growHeads()
	return nil
}

var errStopScan = errors.New("stop")

package windowassign

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state"
)

// Snapshots (operator.Snapshotter). TUMBLE, HOP and CUMULATE hold nothing
// between batches: their SnapshotState and RestoreState do nothing.
//
// SESSION keeps three tables:
//
//   - stateTable: the sessions' held rows, as spilled deltas (package
//     session's spill layout; a delta holds rows with their arrival
//     numbers). A snapshot spills the rows every session holds in memory as
//     one more delta (one spill round: one entry per key group that
//     sessions with new rows fall into), so sessions no row reached since
//     the previous snapshot write nothing. Firing merges the deltas back by
//     arrival number, as after any spill, so a restored session emits its
//     rows in the order the uninterrupted one would.
//   - stateTable+".sessions": the session tracker's records, one per
//     session changed since the previous snapshot (session.Tracker.Snapshot),
//     each with the operator's arrival counter at the time (a uvarint) as
//     its extra bytes. A session that received rows is changed, so its
//     record's counter is at least the arrival number of each of its rows;
//     a restored operator numbers new rows above the largest counter it
//     finds (after a rescale, over every old subtask's sessions), so they
//     come after every restored row of their session.
//   - stateTable+".meta": the input schema (Arrow IPC), written once under
//     every owned key group (opsnap.PutSchema), so a restored operator
//     binds before its first batch and the replayed watermark can fire
//     restored sessions.
//
// The fired-up-to watermark is not kept: the runtime replays the subtask's
// last watermark after RestoreState.
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
	if o.sess == nil {
		return nil
	}
	if err := o.sess.snapshot(); err != nil {
		return fmt.Errorf("window_assign %s (SESSION): checkpoint %d: %w", o.id, checkpointID, err)
	}
	return nil
}

// RestoreState implements operator.Snapshotter.
func (o *Operator) RestoreState(ctx context.Context) error {
	if o.sess == nil {
		return nil
	}
	if err := o.restore(); err != nil {
		return fmt.Errorf("window_assign %s (SESSION): restore: %w", o.id, err)
	}
	return nil
}

func (s *sessions) snapshot() error {
	if s.tr == nil {
		return nil // no batch yet: nothing to remember
	}
	if !s.snap.saved {
		if err := opsnap.PutSchema(s.snap.meta, s.oc.KeyGroups, 0, s.o.input.Schema); err != nil {
			return err
		}
		s.snap.saved = true
	}
	s.order = s.order[:0]
	s.tr.ForEachOpen(func(id int32) {
		if s.head[id] >= 0 {
			s.order = append(s.order, id)
		}
	})
	if len(s.order) > 0 {
		s.tr.BeginSpill()
		for _, id := range s.order {
			if err := s.spill(id, false); err != nil {
				return fmt.Errorf("write session: %w", err)
			}
		}
		if err := s.tr.EndSpill(s.table); err != nil {
			return err
		}
	}
	return s.tr.Snapshot(s.snap.sessions, s.oc.MaxParallelism, func(id int32, dst []byte) []byte {
		return binary.AppendUvarint(dst, s.seq)
	})
}

func (o *Operator) restore() error {
	s := o.sess
	if s.tr != nil {
		return errors.New("restore after the first batch")
	}
	sc, err := opsnap.GetSchema(s.snap.meta, s.oc.KeyGroups, 0)
	if err != nil {
		return err
	}
	if sc == nil {
		empty := true
		err := opsnap.ScanRange(s.snap.sessions, s.oc.KeyGroups, func(k, v []byte) error {
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
	err = s.tr.Restore(s.snap.sessions, s.oc.KeyGroups, s.oc.MaxParallelism, func(id int32, b []byte) error {
		seq, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("%w: session record without an arrival counter", errCorrupt)
		}
		s.seq = max(s.seq, seq)
		return nil
	})
	if err != nil {
		return err
	}
	s.growPayload()
	return nil
}

var errStopScan = errors.New("stop")

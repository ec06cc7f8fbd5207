package runtime

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// The subtask's side of checkpoints: its mailbox from the coordinator,
// barrier alignment, snapshots, and restoring from a checkpoint. See
// coordinator.go.

// mailbox is what the coordinator tells a subtask: a barrier to send (a
// source) and checkpoints completed. The subtask reads it between two
// input messages (or two reads).
type mailbox struct {
	has     atomic.Bool // something is posted
	mu      sync.Mutex
	barrier stream.Barrier // CheckpointID 0: none
	done    []int64
	// splits are split assignments for a split source, in order.
	splits []SplitAssignment
	// wake gets a token when something is posted, for a source waiting
	// for its reader.
	wake chan struct{}
}

// trigger asks source subtask s for barrier b.
func (m *mailbox) trigger(s *subtask, b stream.Barrier) {
	m.mu.Lock()
	m.barrier = b
	m.mu.Unlock()
	m.signal(s)
}

// assign hands split source subtask s an assignment.
func (m *mailbox) assign(s *subtask, a SplitAssignment) {
	m.mu.Lock()
	m.splits = append(m.splits, a)
	m.mu.Unlock()
	m.signal(s)
}

// complete tells s that checkpoint id is complete.
func (m *mailbox) complete(s *subtask, id int64) {
	m.mu.Lock()
	m.done = append(m.done, id)
	m.mu.Unlock()
	m.signal(s)
}

func (m *mailbox) signal(s *subtask) {
	m.has.Store(true)
	select {
	case m.wake <- struct{}{}:
	default:
	}
	if s.gate != nil {
		s.gate.Wake()
	}
}

// take returns and clears what was posted.
func (m *mailbox) take() (stream.Barrier, []int64, []SplitAssignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.has.Store(false)
	b, done, splits := m.barrier, m.done, m.splits
	m.barrier, m.done, m.splits = stream.Barrier{}, nil, nil
	return b, done, splits
}

// checkMail acts on the coordinator's messages: notifications of
// completed checkpoints, and for a source a barrier to send.
func (s *subtask) checkMail(ctx context.Context) error {
	if !s.mail.has.Load() {
		return nil
	}
	b, done, splits := s.mail.take()
	// Assignments first: one queued before a barrier was triggered must be
	// in the reader's position at that barrier.
	for _, a := range splits {
		if s.src == nil || s.src.split == nil {
			return s.wrap(-1, fmt.Errorf("split assignment for a subtask that reads no split source"))
		}
		if err := s.src.split.add(ctx, a); err != nil {
			return s.wrap(-1, err)
		}
	}
	for _, id := range done {
		if err := s.checkpointComplete(ctx, id); err != nil {
			return err
		}
		if id == s.job.stopAt.Load() {
			s.job.committedUpTo(ctx, id)
		}
	}
	if b.CheckpointID != 0 && s.src != nil {
		return s.snapshot(ctx, b)
	}
	return nil
}

// checkpointComplete commits the sinks' output prepared up to checkpoint
// id and notifies the chain's CheckpointListeners.
func (s *subtask) checkpointComplete(ctx context.Context, id int64) error {
	if s.src != nil && s.src.deadLetter != nil {
		if err := s.src.deadLetter.sink.commitUpTo(ctx, id); err != nil {
			return s.wrap(-1, fmt.Errorf("dead-letter table %s: %w", s.src.deadLetter.sink.table, err))
		}
	}
	for k, o := range s.ops {
		s.cur = k
		if sk, ok := o.op.(*sinkOp); ok {
			if err := sk.commitUpTo(ctx, id); err != nil {
				return s.wrap(k, err)
			}
		}
		if l, ok := o.op.(operator.CheckpointListener); ok {
			if err := l.NotifyCheckpointComplete(ctx, id); err != nil {
				return s.wrap(k, fmt.Errorf("checkpoint %d complete: %w", id, err))
			}
		}
	}
	s.cur = -1
	return nil
}

// alignment is a subtask's barrier alignment over its input channels.
type alignment struct {
	active  bool
	barrier stream.Barrier
	arrived []bool
	ended   []bool
}

// onBarrier handles barrier b arriving on input channel ch: the channel is
// blocked until the barrier has arrived on every channel not ended; then
// the subtask snapshots and forwards it.
func (s *subtask) onBarrier(ctx context.Context, ch int, b stream.Barrier) error {
	al := &s.align
	id := b.CheckpointID
	switch {
	case id <= s.lastBarrier:
		return nil // a stale barrier
	case al.active && id < al.barrier.CheckpointID:
		return nil
	case al.active && id > al.barrier.CheckpointID:
		// The one being aligned will never complete here.
		s.logger.Warn("barrier alignment abandoned for a newer barrier", "checkpoint", al.barrier.CheckpointID, "newer", id)
		s.unblockAll()
	}
	if !al.active {
		al.active, al.barrier = true, b
		clear(al.arrived)
	}
	al.arrived[ch] = true
	s.gate.Block(ch)
	return s.tryAlign(ctx)
}

// channelEnded notes that input channel ch has ended: it counts as arrived
// for every alignment from now on.
func (s *subtask) channelEnded(ctx context.Context, ch int) error {
	s.align.ended[ch] = true
	return s.tryAlign(ctx)
}

// tryAlign completes the alignment when the barrier has arrived on every
// live channel.
func (s *subtask) tryAlign(ctx context.Context) error {
	al := &s.align
	if !al.active {
		return nil
	}
	for ch := range al.arrived {
		if !al.arrived[ch] && !al.ended[ch] {
			return nil
		}
	}
	err := s.snapshot(ctx, al.barrier)
	s.unblockAll()
	return err
}

// unblockAll ends an alignment.
func (s *subtask) unblockAll() {
	al := &s.align
	for ch, a := range al.arrived {
		if a {
			s.gate.Unblock(ch)
		}
	}
	clear(al.arrived)
	al.active = false
}

// opSnap is one operator's backend snapshot, to persist.
type opSnap struct {
	op   string
	snap checkpoint.Snapshot
}

// snapshot takes the subtask's part of checkpoint b at its barrier: the
// source position, each operator's state in chain order, the sinks'
// prepared output; then it forwards the barrier and persists the
// snapshots on a goroutine, which acknowledges to the coordinator.
func (s *subtask) snapshot(ctx context.Context, b stream.Barrier) error {
	j := s.job
	id := b.CheckpointID
	if s.persisting != nil {
		// One persist in flight per subtask.
		select {
		case <-s.persisting:
		case <-ctx.Done():
			return s.wrap(-1, ctx.Err())
		}
		s.persisting = nil
	}
	states := map[string]*checkpoint.SubtaskState{}
	newState := func(wm int64) *checkpoint.SubtaskState {
		return &checkpoint.SubtaskState{Subtask: s.index, KeyGroups: s.kgs, Watermark: wm}
	}
	var snaps []opSnap
	release := func() {
		for _, sn := range snaps {
			if err := sn.snap.Release(); err != nil {
				s.logger.Warn("release snapshot", "operator", sn.op, "err", err)
			}
		}
	}
	if s.src != nil {
		pos, err := s.src.position()
		if err != nil {
			return s.wrap(-1, fmt.Errorf("checkpoint %d: %w", id, err))
		}
		st := newState(s.lastWM)
		st.Position = pos
		if dl := s.src.deadLetter; dl != nil {
			com, earlier, ok, err := dl.sink.prepare(ctx, id)
			if err != nil {
				return s.wrap(-1, fmt.Errorf("checkpoint %d: dead-letter table %s: %w", id, dl.sink.table, err))
			}
			if ok {
				st.Committable, st.Pending = com, earlier
			}
		}
		states[s.src.spec.ID] = st
	}
	for k, o := range s.ops {
		s.cur = k
		if sn, ok := o.op.(operator.Snapshotter); ok {
			if err := sn.SnapshotState(ctx, id); err != nil {
				release()
				return s.wrap(k, fmt.Errorf("checkpoint %d: snapshot state: %w", id, err))
			}
		}
		if sk, ok := o.op.(*sinkOp); ok {
			com, earlier, ok, err := sk.prepare(ctx, id)
			if err != nil {
				release()
				return s.wrap(k, fmt.Errorf("checkpoint %d: %w", id, err))
			}
			if ok {
				st := newState(o.wm)
				st.Committable, st.Pending = com, earlier
				states[o.spec.ID] = st
			}
			continue
		}
		if o.state == nil {
			continue
		}
		if _, stateful := o.op.(operator.Snapshotter); !stateful {
			// No state of its own: only its watermark is recorded.
			states[o.spec.ID] = newState(o.wm)
			continue
		}
		sb, ok := o.state.(checkpoint.SnapshotBackend)
		if !ok {
			release()
			return s.wrap(k, fmt.Errorf("checkpoint %d: state backend %T cannot snapshot (not a checkpoint.SnapshotBackend)", id, o.state))
		}
		snap, err := sb.Snapshot(ctx, id)
		if err != nil {
			release()
			return s.wrap(k, fmt.Errorf("checkpoint %d: snapshot backend: %w", id, err))
		}
		snaps = append(snaps, opSnap{op: o.spec.ID, snap: snap})
		states[o.spec.ID] = newState(o.wm)
	}
	s.cur = -1
	if err := s.broadcast(ctx, stream.Message{Kind: stream.BarrierMsg, Barrier: b}); err != nil {
		release()
		return err
	}
	s.lastBarrier = id
	if s.src != nil && b.Savepoint && s.job.haltAt.Load() == id {
		s.halted = id // stop with a savepoint: read nothing after it
	}
	done := make(chan struct{})
	s.persisting = done
	pctx := j.ckptCtx
	j.persistWG.Add(1)
	go func() {
		defer j.persistWG.Done()
		defer close(done)
		a := SubtaskAck{CheckpointID: id, Attempt: j.attemptNo, Vertex: s.plan.v.ID, Subtask: s.index, Parallelism: s.plan.v.Parallelism, States: states}
		size, err := persistAll(pctx, j.ckpt.storage, snaps, states)
		a.Size = size
		if err != nil {
			a.Error = err.Error()
		}
		if err := j.link.Ack(pctx, a); err != nil && pctx.Err() == nil {
			s.logger.Warn("checkpoint acknowledgement not delivered", "checkpoint", id, "err", err)
		}
	}()
	return nil
}

// persistAll persists every snapshot into st, records the handles in
// states and releases the snapshots. It returns the bytes the subtask's
// part of the checkpoint references.
func persistAll(ctx context.Context, st checkpoint.Storage, snaps []opSnap, states map[string]*checkpoint.SubtaskState) (size int64, err error) {
	for _, sn := range snaps {
		h, perr := persistOne(ctx, st, sn.snap)
		if rerr := sn.snap.Release(); rerr != nil && perr == nil {
			perr = fmt.Errorf("release: %w", rerr)
		}
		if perr != nil && err == nil {
			err = fmt.Errorf("operator %s: persist snapshot: %w", sn.op, perr)
		}
		if perr == nil {
			states[sn.op].Backend = h
		}
	}
	for _, ss := range states {
		size += int64(len(ss.Position) + len(ss.Committable))
		for _, p := range ss.Pending {
			size += int64(len(p))
		}
		if ss.Backend != nil {
			for _, f := range ss.Backend.Files {
				size += f.Size
			}
		}
	}
	return size, err
}

// persistOne calls Persist, turning a panic into an error.
func persistOne(ctx context.Context, st checkpoint.Storage, snap checkpoint.Snapshot) (h *checkpoint.BackendHandle, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("persist panicked: %v", r)
		}
	}()
	h, err = snap.Persist(ctx, st)
	if err == nil && h == nil {
		err = fmt.Errorf("persist returned no handle")
	}
	return h, err
}

// waitPersist waits for the subtask's persist in flight, if any.
func (s *subtask) waitPersist(ctx context.Context) {
	if s.persisting == nil {
		return
	}
	select {
	case <-s.persisting:
	case <-ctx.Done():
	}
	s.persisting = nil
}

// Restoring.

// openState opens the keyed state of operator o: restored from the
// checkpoint the job resumes from when it holds the operator, else empty.
func (s *subtask) openState(ctx context.Context, o *opRun, scope state.Scope) (state.Backend, error) {
	j := s.job
	os := j.restoredOp(o.spec.ID)
	if _, stateful := o.op.(operator.Snapshotter); !stateful && j.ckpt.enabled() {
		// Operators without state of their own (calcs, unions, ...)
		// snapshot nothing: no checkpointed backend for them.
		o.restored = os
		return memstate.New(), nil
	}
	var st state.Backend
	var err error
	if os != nil {
		rp := j.opts.State.(checkpoint.RestoringProvider) // checked by checkpointConfig
		handles := j.restore.HandlesFor(o.spec.ID, s.kgs)
		o.restored = os
		if st, err = rp.Restore(ctx, scope, j.ckpt.storage, handles); err != nil {
			return nil, fmt.Errorf("restore state from checkpoint %d: %w", j.restore.ID, err)
		}
	} else if st, err = j.opts.State.Open(ctx, scope); err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	if st == nil {
		return nil, fmt.Errorf("open state: the provider returned no backend")
	}
	if j.ckpt.enabled() {
		if _, ok := st.(checkpoint.SnapshotBackend); !ok {
			if cerr := st.Close(); cerr != nil {
				s.logger.Warn("close state", "err", cerr)
			}
			return nil, fmt.Errorf("open state: backend %T cannot be checkpointed (not a checkpoint.SnapshotBackend)", st)
		}
	}
	return st, nil
}

// restoreChain rebuilds the restored operators' memory (RestoreState)
// and replays their watermarks, in chain order.
func (s *subtask) restoreChain(ctx context.Context) error {
	for k, o := range s.ops {
		if o.restored == nil {
			continue
		}
		if sn, ok := o.op.(operator.Snapshotter); ok {
			s.cur = k
			if err := sn.RestoreState(ctx); err != nil {
				return s.wrap(k, fmt.Errorf("restore state from checkpoint %d: %w", s.job.restore.ID, err))
			}
		}
	}
	for k, o := range s.ops {
		if o.restored == nil {
			continue
		}
		wm := restoredWatermark(s.job.restore, o.spec.ID, s)
		if wm == stream.MinWatermark {
			continue
		}
		if k == 0 {
			s.lastWM, s.outWM = wm, wm
			s.liveWM.Store(wm)
		}
		o.wm = wm
		s.cur = k
		if err := o.op.ProcessWatermark(ctx, wm, o); err != nil {
			return s.wrap(k, fmt.Errorf("replay watermark %d: %w", wm, err))
		}
	}
	s.cur = -1
	return nil
}

// restoredWatermark is the watermark to replay into s's operator op:
// the lowest of the old subtasks whose key groups overlap s's.
func restoredWatermark(m *checkpoint.Metadata, op string, s *subtask) int64 {
	return m.Watermark(op, s.kgs)
}

// restoredReader opens a source reader resuming from the checkpoint's
// positions of its operator, or returns nil when the checkpoint does not
// hold the source.
func (s *subtask) restoredReader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	os := s.job.restoredOp(s.src.spec.ID)
	if os == nil {
		return nil, nil
	}
	rs, ok := s.plan.source.(connectors.RestorableSource)
	if !ok {
		return nil, fmt.Errorf("cannot resume from checkpoint %d: connector %q is not a connectors.RestorableSource", s.job.restore.ID, s.src.spec.Source.Connector)
	}
	rd, err := rs.RestoreReader(ctx, rc, s.job.restore.Positions(s.src.spec.ID))
	if err != nil {
		return nil, fmt.Errorf("restore reader from checkpoint %d: %w", s.job.restore.ID, err)
	}
	if rd == nil {
		return nil, fmt.Errorf("restore reader: connector returned no reader")
	}
	if wm := restoredWatermark(s.job.restore, s.src.spec.ID, s); wm != stream.MinWatermark {
		s.lastWM, s.outWM = wm, wm
		s.liveWM.Store(wm)
	}
	return rd, nil
}

// recoverSinks hands every RecoverableSink the committables of the
// checkpoint the job resumes from, before any writer opens: it commits
// them and removes what the failed run wrote after it. A restart with no
// checkpoint to resume from recovers with none, so the failed run's
// output goes (sinks that finished before another subtask failed had
// committed it).
func (j *job) recoverSinks(ctx context.Context) error {
	if j.restore == nil && !j.restarted {
		return nil
	}
	id := int64(0)
	if j.restore != nil {
		id = j.restore.ID
	}
	for _, p := range j.plans {
		if rs, ok := p.deadLetter.(connectors.RecoverableSink); ok {
			op := p.v.Ops[0]
			var coms [][]byte
			if j.restore != nil {
				coms = j.restore.Committables(op.ID)
			}
			if err := rs.Recover(ctx, coms); err != nil {
				return fmt.Errorf("runtime: vertex %s, source %s: dead-letter table %s: recover from checkpoint %d: %w", p.v.ID, op.ID, op.Source.DeadLetter.Table, id, err)
			}
		}
		rs, ok := p.sink.(connectors.RecoverableSink)
		if !ok {
			continue
		}
		op := p.v.Ops[len(p.v.Ops)-1]
		var coms [][]byte
		if j.restore != nil {
			coms = j.restore.Committables(op.ID)
		}
		if err := rs.Recover(ctx, coms); err != nil {
			return fmt.Errorf("runtime: vertex %s, sink %s (table %s): recover from checkpoint %d: %w", p.v.ID, op.ID, op.Sink.Table, id, err)
		}
	}
	return nil
}

package runtime

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// Checkpoints (asynchronous barrier snapshotting, as in Flink).
//
// The coordinator triggers checkpoint n every interval by asking each
// source subtask for a barrier. A source subtask, between two reads,
// records its reader's position, snapshots its chain and sends the barrier
// on all its outputs. A subtask with several input channels aligns: it
// blocks each channel the barrier arrived on until it has arrived on every
// channel that has not ended, then snapshots its chain and forwards it.
// Snapshotting a chain calls, for each operator in order,
// operator.Snapshotter.SnapshotState and then the backend's quick
// checkpoint.SnapshotBackend.Snapshot; a sink's TwoPhaseWriter prepares its
// output. The snapshots are persisted to storage on a goroutine (one in
// flight per subtask) while processing goes on, and the subtask then
// acknowledges with its checkpoint.SubtaskStates. When every subtask has
// acknowledged, the coordinator commits the metadata and tells the
// subtasks, which commit their sinks' prepared output and notify the
// operator.CheckpointListeners, from their own goroutines. A checkpoint
// that fails (an acknowledgement with an error, a failed commit) or times
// out is dropped, logged and counted; it is never committed, and the
// sinks' output it prepared is committed with the next completed one.
//
// One checkpoint runs at a time. Once any source has reached the end of
// its input no new checkpoint is triggered (and one under way is dropped
// if that source had not sent its barrier): at the end of the job the
// sinks commit the rest of their output when they close.

// ckptConfig is a job's checkpoint configuration.
type ckptConfig struct {
	storage  checkpoint.Storage
	interval time.Duration
	timeout  time.Duration
	// savepoints: the job has an Options.Control and can take savepoints
	// (with no interval, only those); noSavepoints says why it cannot.
	savepoints   bool
	noSavepoints error
}

// enabled reports whether the job takes checkpoints (periodic ones, or
// savepoints on request).
func (c ckptConfig) enabled() bool { return c.storage != nil && (c.interval > 0 || c.savepoints) }

// checkpointConfig resolves the checkpoint options and checks that the
// job can take (or restore) checkpoints: a state provider that restores,
// and restorable sources.
func checkpointConfig(opts Options, cfg map[string]string, plans []*vertexPlan) (ckptConfig, error) {
	c := ckptConfig{storage: opts.CheckpointStorage, interval: opts.CheckpointInterval, timeout: opts.CheckpointTimeout}
	if c.interval < 0 {
		return c, fmt.Errorf("runtime: checkpoint interval %s is negative", c.interval)
	}
	if v, ok := cfg[CheckpointIntervalKey]; ok && c.interval == 0 {
		d, err := connectors.ParseDuration(v)
		if err != nil || d < 0 {
			return c, fmt.Errorf("runtime: option '%s': '%s' is not a valid duration", CheckpointIntervalKey, v)
		}
		c.interval = d
	}
	if v, ok := cfg[CheckpointTimeoutKey]; ok && c.timeout == 0 {
		d, err := connectors.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("runtime: option '%s': '%s' is not a valid positive duration", CheckpointTimeoutKey, v)
		}
		c.timeout = d
	}
	if c.timeout <= 0 {
		c.timeout = DefaultCheckpointTimeout
	}
	if c.interval > 0 && c.storage == nil {
		opts.Logger.Warn("checkpoint interval set without checkpoint storage: no checkpoints are taken", "interval", c.interval)
	}
	if opts.Restore != nil && c.storage == nil {
		return c, fmt.Errorf("runtime: restoring checkpoint %d needs the checkpoint storage it was written to (Options.CheckpointStorage)", opts.Restore.ID)
	}
	if opts.Control != nil {
		if c.storage == nil {
			c.noSavepoints = fmt.Errorf("runtime: the job has no checkpoint storage (Options.CheckpointStorage) to keep savepoints in")
		} else {
			c.savepoints = true
		}
	}
	// Without periodic checkpoints, a job that cannot be checkpointed still
	// runs: it only refuses savepoints, saying why.
	optional := c.interval <= 0
	refuse := func(err error) (ckptConfig, error) {
		if !optional {
			return c, err
		}
		c.savepoints, c.noSavepoints = false, err
		return c, nil
	}
	if !c.enabled() && opts.Restore == nil {
		return c, nil
	}
	if _, ok := opts.State.(checkpoint.RestoringProvider); !ok {
		err := fmt.Errorf("runtime: checkpoints need a state provider that snapshots and restores (a checkpoint.RestoringProvider); %T is not one", opts.State)
		if opts.Restore != nil {
			return c, err
		}
		return refuse(err)
	}
	if !c.enabled() {
		return c, nil
	}
	for _, p := range plans {
		if p.source == nil {
			continue
		}
		if _, ok := p.source.(connectors.RestorableSource); !ok {
			op := p.v.Ops[0]
			return refuse(fmt.Errorf("runtime: vertex %s, source %s (table %s): connector %q cannot be checkpointed: it is not a connectors.RestorableSource (its read position cannot be saved)",
				p.v.ID, op.ID, op.Source.Table, op.Source.Connector))
		}
	}
	return c, nil
}

// checkRestore checks that checkpoint m fits the job: the same number of
// key groups, and no state of operators the job does not have (unless
// allow, when such state is dropped with a warning).
func (j *job) checkRestore(m *checkpoint.Metadata, allow bool) error {
	if err := m.CheckMaxParallelism(j.maxP); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	ids := map[string]bool{}
	for _, p := range j.plans {
		for _, op := range p.v.Ops {
			ids[op.ID] = true
		}
	}
	if err := m.Fits(ids, allow); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	if un := m.Unmatched(ids); len(un) > 0 {
		j.logger.Warn("dropping the checkpoint's state of operators the job does not have", "checkpoint", m.ID, "operators", strings.Join(un, ", "))
	}
	return nil
}

// restoredOp returns operator id's part of the checkpoint the job resumes
// from, or nil.
func (j *job) restoredOp(id string) *checkpoint.OperatorState {
	if j.restore == nil {
		return nil
	}
	return j.restore.Operators[id]
}

// ack is a subtask's acknowledgement of a checkpoint.
type ack struct {
	id     int64
	s      *subtask
	states map[string]*checkpoint.SubtaskState
	size   int64
	err    error
}

// sourceEnd says a source subtask reached the end of its input after
// sending barrier lastBarrier (0: none).
type sourceEnd struct {
	s           *subtask
	lastBarrier int64
}

// ckptStats are the job's checkpoint counts, over all its attempts.
type ckptStats struct {
	mu        sync.Mutex
	completed int
	failed    int
	lastID    int64
	lastDur   time.Duration
	lastSize  int64
	// lastPath, lastAt and lastSavepoint: the last one's path, completion
	// time and kind (Control.Status).
	lastPath      string
	lastAt        time.Time
	lastSavepoint bool
	// savepoints are the paths of the savepoints completed.
	savepoints []string
	// runFirst is the first checkpoint ID of the run (its first attempt).
	runFirst int64
}

// coordinator triggers and completes the checkpoints of one attempt.
type coordinator struct {
	j       *job
	conf    ckptConfig
	stats   *ckptStats
	nextID  int64
	sources []*subtask
	acks    chan ack
	ends    chan sourceEnd
	// pending is the checkpoint under way, nil when none.
	pending *pendingCkpt
	stopped bool // a source ended: trigger no more

	// Savepoints: the requests waiting for the pending checkpoint to end,
	// whether the job is stopping with a savepoint (no periodic checkpoint
	// is triggered), the completed stop savepoint waiting for the
	// subtasks' commits, and those commits.
	queued    []*savepointReq
	stopping  bool
	wait      *stopWait
	committed chan int64
}

// pendingCkpt is a checkpoint under way.
type pendingCkpt struct {
	id       int64
	start    time.Time
	ts       int64
	deadline time.Time
	acked    map[*subtask]bool
	ops      map[string]*checkpoint.OperatorState
	size     int64
	// savepoint: taken on request, answering reqs; stop: the job stops
	// with it.
	savepoint bool
	stop      bool
	reqs      []*savepointReq
}

func newCoordinator(j *job, conf ckptConfig, stats *ckptStats, firstID int64) *coordinator {
	stats.mu.Lock()
	if stats.runFirst == 0 {
		stats.runFirst = firstID
	}
	stats.mu.Unlock()
	c := &coordinator{j: j, conf: conf, stats: stats, nextID: firstID,
		acks: make(chan ack, len(j.subtasks)), ends: make(chan sourceEnd, len(j.subtasks)),
		committed: make(chan int64, len(j.subtasks))}
	for _, s := range j.subtasks {
		if s.src != nil {
			c.sources = append(c.sources, s)
		}
	}
	return c
}

// run triggers checkpoints until ctx is done, and savepoints on request.
func (c *coordinator) run(ctx context.Context) {
	var tickC <-chan time.Time
	if c.conf.interval > 0 {
		tick := time.NewTicker(c.conf.interval)
		defer tick.Stop()
		tickC = tick.C
	}
	timeout := time.NewTimer(time.Hour)
	timeout.Stop()
	defer timeout.Stop()
	reqs := c.j.opts.Control.requests()
	for {
		had := c.pending
		select {
		case <-ctx.Done():
			if c.pending != nil {
				c.j.logger.Info("checkpoint dropped: the job ended before it completed", "checkpoint", c.pending.id)
			}
			c.failRequests(fmt.Errorf("savepoint: the job ended (or failed) before the savepoint completed"))
			return
		case <-tickC:
			if c.pending == nil && !c.stopped && !c.stopping && len(c.queued) == 0 {
				c.trigger(false)
			}
		case r := <-reqs:
			c.onRequest(r)
		case <-timeout.C:
			if c.pending != nil && !time.Now().Before(c.pending.deadline) {
				c.drop(fmt.Errorf("timed out after %s", c.conf.timeout))
			}
		case e := <-c.ends:
			c.stopped = true
			if p := c.pending; p != nil && p.id > e.lastBarrier {
				c.drop(fmt.Errorf("source subtask %s#%d reached the end of its input before the barrier", e.s.plan.v.ID, e.s.index))
			}
		case a := <-c.acks:
			c.acked(ctx, a)
		case id := <-c.committed:
			c.onCommitted(id)
		}
		c.triggerQueued()
		if c.pending != nil && c.pending != had {
			timeout.Reset(c.conf.timeout)
		}
	}
}

// trigger starts the next checkpoint (a savepoint when savepoint is set).
func (c *coordinator) trigger(savepoint bool) {
	now := time.Now()
	p := &pendingCkpt{
		id: c.nextID, start: now, ts: now.UnixMilli(), deadline: now.Add(c.conf.timeout),
		acked: map[*subtask]bool{}, ops: map[string]*checkpoint.OperatorState{}, savepoint: savepoint,
	}
	c.nextID++
	c.pending = p
	b := stream.Barrier{CheckpointID: p.id, TimestampMs: p.ts, Savepoint: savepoint}
	for _, s := range c.sources {
		s.mail.trigger(s, b)
	}
}

// drop abandons the pending checkpoint; a stop with it is called off.
func (c *coordinator) drop(why error) {
	p := c.pending
	c.pending = nil
	c.stats.mu.Lock()
	c.stats.failed++
	c.stats.mu.Unlock()
	kind := "checkpoint"
	if p.savepoint {
		kind = "savepoint"
	}
	c.j.logger.Warn(kind+" dropped", "checkpoint", p.id, "reason", why)
	if p.stop {
		c.stopping = false
		c.resumeSources()
	}
	for _, r := range p.reqs {
		r.answer("", fmt.Errorf("savepoint %d failed: %w", p.id, why))
	}
}

// acked takes a subtask's acknowledgement and completes the checkpoint
// when it was the last.
func (c *coordinator) acked(ctx context.Context, a ack) {
	p := c.pending
	if p == nil || a.id != p.id || p.acked[a.s] {
		return // of a dropped checkpoint
	}
	if a.err != nil {
		c.drop(fmt.Errorf("vertex %s subtask %d: %w", a.s.plan.v.ID, a.s.index, a.err))
		return
	}
	p.acked[a.s] = true
	p.size += a.size
	for op, st := range a.states {
		os := p.ops[op]
		if os == nil {
			os = &checkpoint.OperatorState{Parallelism: a.s.plan.v.Parallelism, Subtasks: make([]*checkpoint.SubtaskState, a.s.plan.v.Parallelism)}
			p.ops[op] = os
		}
		os.Subtasks[a.s.index] = st
	}
	if len(p.acked) < len(c.j.subtasks) {
		return
	}
	m := &checkpoint.Metadata{
		Format: checkpoint.FormatVersion, Job: c.j.name, ID: p.id, TimestampMs: p.ts,
		Savepoint: p.savepoint, MaxParallelism: c.j.maxP, Operators: p.ops,
	}
	if err := c.conf.storage.Commit(ctx, m); err != nil {
		c.drop(fmt.Errorf("commit metadata: %w", err))
		return
	}
	c.pending = nil
	d := time.Since(p.start)
	c.stats.mu.Lock()
	c.stats.completed++
	c.stats.lastID, c.stats.lastDur, c.stats.lastSize = p.id, d, p.size
	c.stats.lastPath, c.stats.lastAt, c.stats.lastSavepoint = pathOf(c.conf.storage, m), time.Now(), p.savepoint
	path := ""
	if p.savepoint {
		path = pathOf(c.conf.storage, m)
		c.stats.savepoints = append(c.stats.savepoints, path)
	}
	c.stats.mu.Unlock()
	if p.savepoint {
		c.j.logger.Info("savepoint completed", "checkpoint", p.id, "path", path, "duration", d, "size", p.size, "stop", p.stop)
	} else {
		c.j.logger.Info("checkpoint completed", "checkpoint", p.id, "duration", d, "size", p.size)
	}
	if p.stop {
		// Answered once every subtask has committed up to it.
		c.wait = &stopWait{id: p.id, path: path, pending: len(c.j.subtasks), req: p.reqs[0]}
		for _, r := range p.reqs {
			if r.stop {
				c.wait.req = r
			} else {
				r.answer(path, nil)
			}
		}
		c.j.stopAt.Store(p.id)
	} else {
		for _, r := range p.reqs {
			r.answer(path, nil)
		}
	}
	for _, s := range c.j.subtasks {
		s.mail.complete(s, p.id)
	}
}

// committedUpTo tells the coordinator that a subtask has committed its
// sinks up to the stop savepoint id.
func (c *coordinator) committedUpTo(id int64) {
	select {
	case c.committed <- id:
	default: // cannot happen: one per subtask, buffered for all
	}
}

// ackTo sends a to the coordinator unless ctx ends first.
func (c *coordinator) ackTo(ctx context.Context, a ack) {
	select {
	case c.acks <- a:
	case <-ctx.Done():
	}
}

// sourceEnded tells the coordinator a source subtask has ended.
func (c *coordinator) sourceEnded(ctx context.Context, e sourceEnd) {
	select {
	case c.ends <- e:
	case <-ctx.Done():
	}
}

// firstCheckpointID is the ID after the newest of the restored checkpoint,
// those in storage and after.
func firstCheckpointID(ctx context.Context, st checkpoint.Storage, restore *checkpoint.Metadata, after int64) (int64, error) {
	id, err := checkpoint.NextID(ctx, st, restore)
	if err != nil {
		return 0, fmt.Errorf("runtime: %w", err)
	}
	return max(id, after+1), nil
}

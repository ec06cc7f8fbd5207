package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
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
	// external: a Part whose coordinator is elsewhere (it decides).
	external bool
}

// periodic reports whether the job takes periodic checkpoints (a Part
// learns the interval from the job's config), so that two-phase writers
// are committed as the job runs (connectors.ReaderContext.Checkpointing).
func (c ckptConfig) periodic() bool { return c.enabled() && c.interval > 0 }

// enabled reports whether the job takes checkpoints (periodic ones,
// savepoints on request, or whatever an external coordinator asks for).
func (c ckptConfig) enabled() bool {
	return c.storage != nil && (c.interval > 0 || c.savepoints || c.external)
}

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

// SubtaskAck is a subtask's acknowledgement of checkpoint CheckpointID:
// the checkpoint.SubtaskStates of its operators (by operator ID) once its
// snapshots are persisted, the bytes they reference, or the error that
// failed its part of the checkpoint. It is plain data, so a task manager
// can send it to the job manager.
type SubtaskAck struct {
	CheckpointID int64
	// Attempt is the job attempt the subtask runs in (PartConfig.Attempt;
	// 0 in Run), for carriers that fence stale attempts.
	Attempt     int64
	Vertex      string
	Subtask     int
	Parallelism int
	States      map[string]*checkpoint.SubtaskState
	Size        int64
	// Error is why the subtask's part of the checkpoint failed ("": it
	// did not).
	Error string
}

// SourceEnd says source subtask Subtask of vertex Vertex reached the end
// of its input after sending barrier LastBarrier (0: none).
type SourceEnd struct {
	Attempt     int64
	Vertex      string
	Subtask     int
	LastBarrier int64
}

// CoordinatorLink is how the subtasks of a job attempt reach the
// checkpoint coordinator: their acknowledgements, the ends of their
// sources' input, and their commits of a stop savepoint. *Coordinator
// implements it in process; a task manager implements it over RPC to the
// job manager. Calls come from the subtasks' goroutines; an error is
// logged by the caller (the checkpoint then times out or is dropped).
type CoordinatorLink interface {
	// Ack acknowledges a subtask's part of a checkpoint.
	Ack(ctx context.Context, a SubtaskAck) error
	// SourceEnded says a source subtask reached the end of its input.
	SourceEnded(ctx context.Context, e SourceEnd) error
	// CommittedUpTo says that every local subtask of the caller (a Part,
	// or the whole job in Run) has committed its sinks' output up to the
	// stop savepoint id.
	CommittedUpTo(ctx context.Context, id int64) error
}

// CoordinatorPeers is how the coordinator reaches the subtasks of the
// attempt it coordinates: in Run the job's own subtasks, in a cluster the
// Parts on the task managers (through RPC). The coordinator calls its
// methods from its own goroutine, so they should not block for long.
type CoordinatorPeers interface {
	// TriggerBarrier asks every running source subtask to send barrier b
	// on its outputs between two reads. With halt (a stop with a
	// savepoint), each source stops reading after it, until
	// ResumeSources or the teardown.
	TriggerBarrier(b stream.Barrier, halt bool)
	// ResumeSources calls off a halt: the stop savepoint failed and the
	// sources read on.
	ResumeSources()
	// NotifyComplete tells every subtask that checkpoint id is complete
	// (its metadata is committed): sinks commit their output up to it and
	// operator.CheckpointListeners are notified. With stop (the stop
	// savepoint), every caller of CoordinatorLink.CommittedUpTo reports
	// once its subtasks have committed.
	NotifyComplete(id int64, stop bool)
	// Stop tears the attempt down after its stop savepoint (path) is
	// complete and committed everywhere: no error, sinks abort what they
	// wrote after the savepoint.
	Stop(path string)
}

// SubtaskInfo describes one subtask of a job for the coordinator.
type SubtaskInfo struct {
	Vertex      string
	Subtask     int
	Parallelism int
	// Source: the subtask reads a source (it receives barriers from the
	// coordinator).
	Source bool
}

// Subtasks lists every subtask of graph g (vertex by vertex, subtask by
// subtask), for CoordinatorConfig.Subtasks.
func Subtasks(g *jobgraph.Graph) []SubtaskInfo {
	var out []SubtaskInfo
	for _, v := range g.Vertices {
		src := len(v.Ops) > 0 && v.Ops[0].Source != nil
		for i := 0; i < v.Parallelism; i++ {
			out = append(out, SubtaskInfo{Vertex: v.ID, Subtask: i, Parallelism: v.Parallelism, Source: src})
		}
	}
	return out
}

// CoordinatorConfig configures a Coordinator of one job attempt.
type CoordinatorConfig struct {
	// Job names the job (checkpoint.Metadata.Job).
	Job string
	// MaxParallelism is the job's number of key groups.
	MaxParallelism int
	// Subtasks are every subtask of the attempt: a checkpoint completes
	// when each has acknowledged it.
	Subtasks []SubtaskInfo
	// Committers is how many CommittedUpTo reports complete a stop with a
	// savepoint (one per Part; 1 in Run).
	Committers int
	// Storage keeps the checkpoints.
	Storage checkpoint.Storage
	// Interval is the time between periodic checkpoints (0: none, only
	// savepoints on request).
	Interval time.Duration
	// Timeout drops a checkpoint not complete within it (0:
	// DefaultCheckpointTimeout).
	Timeout time.Duration
	// FirstID is the ID of the attempt's first checkpoint; 0 means the one
	// after the newest in Storage (and after Restore's).
	FirstID int64
	// Restore is the checkpoint the attempt resumes from, if any.
	Restore *checkpoint.Metadata
	// Control, when set, brings savepoint requests (TriggerSavepoint,
	// StopWithSavepoint). The caller attaches it (Control.Attach) once per
	// job and ends it (Control.End) when the job is over.
	Control *Control
	// Peers reach the attempt's subtasks.
	Peers CoordinatorPeers
	// Splits, when the job reads split sources, is the attempt's split
	// coordinator: each checkpoint holds its enumerators' state, taken as
	// the barriers are triggered, with no assignment under way.
	Splits *SplitCoordinator
	// Logger receives the coordinator's logs; default slog.Default().
	Logger *slog.Logger
}

// CheckpointStats are a coordinator's checkpoint counts.
type CheckpointStats struct {
	Completed int
	Failed    int
	// LastID, LastDuration and LastSize describe the last completed
	// checkpoint.
	LastID       int64
	LastDuration time.Duration
	LastSize     int64
	// Savepoints are the paths of the savepoints completed, oldest first.
	Savepoints []string
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

// subtaskKey names a subtask.
type subtaskKey struct {
	vertex string
	index  int
}

// Coordinator triggers and completes the checkpoints of one job attempt,
// and takes its savepoints: it triggers barriers at the sources through
// CoordinatorPeers, collects the subtasks' acknowledgements (it is a
// CoordinatorLink), commits the metadata when every subtask has
// acknowledged, and tells the subtasks. Run uses one per attempt with the
// job's own subtasks as peers; a job manager uses one per attempt with the
// Parts on its task managers as peers. Create it with NewCoordinator and
// drive it with Run.
type Coordinator struct {
	job      string
	maxP     int
	storage  checkpoint.Storage
	interval time.Duration
	timeout  time.Duration
	peers    CoordinatorPeers
	splits   *SplitCoordinator
	logger   *slog.Logger
	reqs     chan *savepointReq
	// subtasks are the attempt's subtasks and their parallelism.
	subtasks   map[subtaskKey]int
	committers int

	stats   *ckptStats
	nextID  atomic.Int64
	acks    chan SubtaskAck
	ends    chan SourceEnd
	running chan struct{} // closed when Run returns
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
	acked    map[subtaskKey]bool
	ops      map[string]*checkpoint.OperatorState
	// enums are the split enumerators' states, by source operator.
	enums map[string][]byte
	size  int64
	// savepoint: taken on request, answering reqs; stop: the job stops
	// with it.
	savepoint bool
	stop      bool
	reqs      []*savepointReq
}

// NewCoordinator returns the coordinator of one job attempt. It reads the
// storage to number the first checkpoint when cfg.FirstID is 0.
func NewCoordinator(ctx context.Context, cfg CoordinatorConfig) (*Coordinator, error) {
	switch {
	case cfg.Storage == nil:
		return nil, fmt.Errorf("runtime: coordinator: no checkpoint storage")
	case cfg.Peers == nil:
		return nil, fmt.Errorf("runtime: coordinator: no peers")
	case len(cfg.Subtasks) == 0:
		return nil, fmt.Errorf("runtime: coordinator: no subtasks")
	case cfg.Interval < 0:
		return nil, fmt.Errorf("runtime: coordinator: checkpoint interval %s is negative", cfg.Interval)
	}
	if cfg.FirstID == 0 {
		id, err := firstCheckpointID(ctx, cfg.Storage, cfg.Restore, 0)
		if err != nil {
			return nil, err
		}
		cfg.FirstID = id
	}
	if cfg.MaxParallelism == 0 {
		cfg.MaxParallelism = jobgraph.DefaultMaxParallelism
	}
	return newCoordinator(cfg, &ckptStats{}), nil
}

func newCoordinator(cfg CoordinatorConfig, stats *ckptStats) *Coordinator {
	stats.mu.Lock()
	if stats.runFirst == 0 {
		stats.runFirst = cfg.FirstID
	}
	stats.mu.Unlock()
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultCheckpointTimeout
	}
	if cfg.Committers <= 0 {
		cfg.Committers = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := len(cfg.Subtasks)
	c := &Coordinator{
		job: cfg.Job, maxP: cfg.MaxParallelism, storage: cfg.Storage, interval: cfg.Interval, timeout: cfg.Timeout,
		peers: cfg.Peers, splits: cfg.Splits, logger: cfg.Logger, reqs: cfg.Control.requests(),
		subtasks: make(map[subtaskKey]int, n), committers: cfg.Committers, stats: stats,
		acks: make(chan SubtaskAck, n), ends: make(chan SourceEnd, n),
		committed: make(chan int64, cfg.Committers), running: make(chan struct{}),
	}
	c.nextID.Store(cfg.FirstID)
	for _, s := range cfg.Subtasks {
		c.subtasks[subtaskKey{s.Vertex, s.Subtask}] = s.Parallelism
	}
	return c
}

// NextID returns the ID the next checkpoint will get.
func (c *Coordinator) NextID() int64 { return c.nextID.Load() }

// Stats returns the coordinator's checkpoint counts (over every attempt
// of the job in Run).
func (c *Coordinator) Stats() CheckpointStats {
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	return CheckpointStats{
		Completed: c.stats.completed, Failed: c.stats.failed, LastID: c.stats.lastID,
		LastDuration: c.stats.lastDur, LastSize: c.stats.lastSize,
		Savepoints: append([]string(nil), c.stats.savepoints...),
	}
}

// Ack implements CoordinatorLink. It returns ctx's error if ctx ends
// first, and an error once Run has returned.
func (c *Coordinator) Ack(ctx context.Context, a SubtaskAck) error {
	select {
	case c.acks <- a:
		return nil
	case <-c.running:
		return errCoordinatorDone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SourceEnded implements CoordinatorLink.
func (c *Coordinator) SourceEnded(ctx context.Context, e SourceEnd) error {
	select {
	case c.ends <- e:
		return nil
	case <-c.running:
		return errCoordinatorDone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CommittedUpTo implements CoordinatorLink.
func (c *Coordinator) CommittedUpTo(ctx context.Context, id int64) error {
	select {
	case c.committed <- id:
		return nil
	case <-c.running:
		return errCoordinatorDone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errCoordinatorDone is returned by the link's methods after Run returned.
var errCoordinatorDone = fmt.Errorf("runtime: the checkpoint coordinator has stopped")

// Run triggers checkpoints every interval, and savepoints on request,
// until ctx is done (the attempt ended). Savepoint requests still waiting
// then fail.
func (c *Coordinator) Run(ctx context.Context) {
	defer close(c.running)
	var tickC <-chan time.Time
	if c.interval > 0 {
		tick := time.NewTicker(c.interval)
		defer tick.Stop()
		tickC = tick.C
	}
	timeout := time.NewTimer(time.Hour)
	timeout.Stop()
	defer timeout.Stop()
	for {
		had := c.pending
		select {
		case <-ctx.Done():
			if c.pending != nil {
				c.logger.Info("checkpoint dropped: the job ended before it completed", "checkpoint", c.pending.id)
			}
			c.failRequests(fmt.Errorf("savepoint: the job ended (or failed) before the savepoint completed"))
			return
		case <-tickC:
			if c.pending == nil && !c.stopped && !c.stopping && len(c.queued) == 0 {
				c.trigger(false, false, nil)
			}
		case r := <-c.reqs:
			c.onRequest(r)
		case <-timeout.C:
			if c.pending != nil && !time.Now().Before(c.pending.deadline) {
				c.drop(fmt.Errorf("timed out after %s", c.timeout))
			}
		case e := <-c.ends:
			c.stopped = true
			if p := c.pending; p != nil && p.id > e.LastBarrier {
				c.drop(fmt.Errorf("source subtask %s#%d reached the end of its input before the barrier", e.Vertex, e.Subtask))
			}
		case a := <-c.acks:
			c.acked(ctx, a)
		case id := <-c.committed:
			c.onCommitted(id)
		}
		c.triggerQueued()
		if c.pending != nil && c.pending != had {
			timeout.Reset(c.timeout)
		}
	}
}

// trigger starts the next checkpoint (a savepoint when savepoint is set,
// answering reqs; the job stops with it when stop is).
func (c *Coordinator) trigger(savepoint, stop bool, reqs []*savepointReq) {
	now := time.Now()
	id := c.nextID.Add(1) - 1
	p := &pendingCkpt{
		id: id, start: now, ts: now.UnixMilli(), deadline: now.Add(c.timeout),
		acked: map[subtaskKey]bool{}, ops: map[string]*checkpoint.OperatorState{}, savepoint: savepoint, stop: stop,
		reqs: reqs,
	}
	c.pending = p
	enums, err := c.splits.checkpoint(func() {
		c.peers.TriggerBarrier(stream.Barrier{CheckpointID: p.id, TimestampMs: p.ts, Savepoint: savepoint}, stop)
	})
	if err != nil {
		c.drop(err)
		return
	}
	p.enums = enums
}

// drop abandons the pending checkpoint; a stop with it is called off.
func (c *Coordinator) drop(why error) {
	p := c.pending
	c.pending = nil
	c.stats.mu.Lock()
	c.stats.failed++
	c.stats.mu.Unlock()
	kind := "checkpoint"
	if p.savepoint {
		kind = "savepoint"
	}
	c.logger.Warn(kind+" dropped", "checkpoint", p.id, "reason", why)
	if p.stop {
		c.stopping = false
		c.peers.ResumeSources()
	}
	for _, r := range p.reqs {
		r.answer("", fmt.Errorf("savepoint %d failed: %w", p.id, why))
	}
}

// acked takes a subtask's acknowledgement and completes the checkpoint
// when it was the last.
func (c *Coordinator) acked(ctx context.Context, a SubtaskAck) {
	p := c.pending
	k := subtaskKey{a.Vertex, a.Subtask}
	par, known := c.subtasks[k]
	if p == nil || a.CheckpointID != p.id || p.acked[k] {
		return // of a dropped checkpoint
	}
	if !known || a.Parallelism != par {
		c.logger.Warn("acknowledgement from an unknown subtask ignored", "checkpoint", a.CheckpointID, "vertex", a.Vertex, "subtask", a.Subtask, "parallelism", a.Parallelism)
		return
	}
	if a.Error != "" {
		c.drop(fmt.Errorf("vertex %s subtask %d: %s", a.Vertex, a.Subtask, a.Error))
		return
	}
	p.acked[k] = true
	p.size += a.Size
	for op, st := range a.States {
		os := p.ops[op]
		if os == nil {
			os = &checkpoint.OperatorState{Parallelism: par, Subtasks: make([]*checkpoint.SubtaskState, par)}
			p.ops[op] = os
		}
		os.Subtasks[a.Subtask] = st
	}
	if len(p.acked) < len(c.subtasks) {
		return
	}
	for op, st := range p.enums {
		if os := p.ops[op]; os != nil {
			os.Coordinator = st
		}
	}
	m := &checkpoint.Metadata{
		Format: checkpoint.FormatVersion, Job: c.job, ID: p.id, TimestampMs: p.ts,
		Savepoint: p.savepoint, MaxParallelism: c.maxP, Operators: p.ops,
	}
	if err := c.storage.Commit(ctx, m); err != nil {
		c.drop(fmt.Errorf("commit metadata: %w", err))
		return
	}
	c.pending = nil
	d := time.Since(p.start)
	c.stats.mu.Lock()
	c.stats.completed++
	c.stats.lastID, c.stats.lastDur, c.stats.lastSize = p.id, d, p.size
	c.stats.lastPath, c.stats.lastAt, c.stats.lastSavepoint = pathOf(c.storage, m), time.Now(), p.savepoint
	path := ""
	if p.savepoint {
		path = pathOf(c.storage, m)
		c.stats.savepoints = append(c.stats.savepoints, path)
	}
	c.stats.mu.Unlock()
	if p.savepoint {
		c.logger.Info("savepoint completed", "checkpoint", p.id, "path", path, "duration", d, "size", p.size, "stop", p.stop)
	} else {
		c.logger.Info("checkpoint completed", "checkpoint", p.id, "duration", d, "size", p.size)
	}
	if p.stop {
		// Answered once every committer has committed up to it.
		c.wait = &stopWait{id: p.id, path: path, pending: c.committers}
		for _, r := range p.reqs {
			if r.stop && c.wait.req == nil {
				c.wait.req = r
			} else {
				r.answer(path, nil)
			}
		}
	} else {
		for _, r := range p.reqs {
			r.answer(path, nil)
		}
	}
	c.peers.NotifyComplete(p.id, p.stop)
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

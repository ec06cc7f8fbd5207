package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// job is one attempt at running a graph: the first run, or a restart.
type job struct {
	g           *jobgraph.Graph
	name        string
	opts        Options
	maxP        int
	idleTimeout time.Duration
	config      map[string]string
	logger      *slog.Logger
	metrics     *metricSet
	plans       []*vertexPlan
	subtasks    []*subtask

	// Checkpoints: the configuration, the checkpoint this attempt resumes
	// from (nil: from the beginning), the coordinator in this process
	// (Run only; nil: none), the link the subtasks reach the coordinator
	// through (nil: no checkpoints), the context of persisting snapshots
	// (done when the attempt ends) and the persists in flight.
	ckpt      ckptConfig
	restore   *checkpoint.Metadata
	restarted bool
	coord     *Coordinator
	link      CoordinatorLink
	ckptCtx   context.Context
	persistWG sync.WaitGroup
	// haltAt is the stop savepoint after whose barrier sources stop
	// reading (0: none); stopAt the completed one subtasks report their
	// commits of.
	haltAt atomic.Int64
	stopAt atomic.Int64

	// A Part: which subtasks run here (nil: all), the transport of its
	// exchanges (nil: in-memory) and its attempt number.
	local     func(vertexID string, subtask int) bool
	transport exchange.Transport
	attemptNo int64

	// unfinished counts the subtasks (local ones in a Part) that have not
	// finished their input yet; allFinished is closed when none is left
	// (subtask.finish).
	unfinished  atomic.Int64
	allFinished chan struct{}

	mu     sync.Mutex
	err    error
	cancel context.CancelCauseFunc
	// stopped: the job stopped with a savepoint, stopPath (Run only).
	stoppedFlag bool
	stopPath    string
	// commits counts the local subtasks that committed up to the stop
	// savepoint commitsOf.
	commits   int
	commitsOf int64
	// live is the run's live view (Control.Status), nil without a Control.
	live *liveRun
}

// Run runs job graph g until every source is exhausted and every subtask
// has finished, or until the first failure or ctx is cancelled. It returns
// the job's Result and the first error: a validation error (with a nil
// Result: nothing ran), a *SubtaskError (with the counts up to the
// failure), or ctx.Err() wrapped when ctx was cancelled.
//
// With Options.CheckpointStorage, a job that fails is torn down and
// restarted in process, from the latest complete checkpoint, under
// Options.RestartStrategy; Run returns the last attempt's error when the
// attempts run out.
func Run(ctx context.Context, g *jobgraph.Graph, opts Options) (*Result, error) {
	start := time.Now()
	explicitState := opts.State != nil
	opts = opts.withDefaults()
	plans, maxP, idle, cfg, err := buildPlan(g, opts)
	if err != nil {
		if opts.Control != nil {
			opts.Control.end()
		}
		return nil, err
	}
	closeState, err := localState(&opts, explicitState, cfg)
	if err == nil {
		defer func() {
			if cerr := closeState(); cerr != nil {
				opts.Logger.Warn("closing keyed state", "err", cerr)
			}
		}()
	}
	var ck ckptConfig
	if err == nil {
		ck, err = checkpointConfig(opts, cfg, plans)
	}
	if err != nil {
		if opts.Control != nil {
			opts.Control.end()
		}
		return nil, err
	}
	if ctl := opts.Control; ctl != nil {
		defer ctl.end()
		if err := ctl.attach(ck.noSavepoints); err != nil {
			return nil, err
		}
	}
	logger := opts.Logger.With("job", g.Name)
	metrics := newMetricSet(opts.Registerer, g.Name, logger)
	stats := &ckptStats{}
	var live *liveRun
	if opts.Control != nil {
		live = &liveRun{stats: stats}
		opts.Control.setLive(live)
		defer live.end()
	}
	restore := opts.Restore
	var lastID int64
	restarts := 0
	var j *job
	for {
		j = &job{
			g: g, name: g.Name, opts: opts, maxP: maxP, idleTimeout: idle, config: cfg,
			logger: logger, metrics: metrics, plans: plans, ckpt: ck, restore: restore, restarted: restarts > 0,
			live: live,
		}
		var started bool
		started, lastID, err = j.attempt(ctx, stats, lastID)
		if !started && restarts == 0 {
			return nil, err
		}
		if err == nil || ctx.Err() != nil || ck.storage == nil || restarts >= opts.RestartStrategy.MaxAttempts || j.stopped() != "" {
			if err != nil && ctx.Err() == nil && j.stopped() == "" {
				live.failed(err, restarts, false)
			}
			break
		}
		restarts++
		live.failed(err, restarts, true)
		delay := opts.RestartStrategy.Delay(restarts)
		logger.Warn("job failed; restarting", "err", err, "restart", restarts, "of", opts.RestartStrategy.MaxAttempts, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
		// Only a checkpoint of this run: the storage may hold older ones
		// (of an earlier run, or older than the one restored).
		stats.mu.Lock()
		first := stats.runFirst
		stats.mu.Unlock()
		m, lerr := restartPoint(ctx, ck.storage, first, logger)
		if lerr != nil {
			err = fmt.Errorf("runtime: cannot restart: find the latest checkpoint: %w (after: %w)", lerr, err)
			break
		}
		switch {
		case m != nil && first > 0 && m.ID >= first:
			restore = m
			logger.Info("restarting from checkpoint", "checkpoint", m.ID)
		case restore != nil:
			logger.Info("restarting from the checkpoint the run resumed from", "checkpoint", restore.ID)
		default:
			logger.Info("no complete checkpoint yet; restarting from the beginning")
		}
	}

	res := j.result(time.Since(start))
	stats.mu.Lock()
	res.Checkpoints, res.CheckpointsFailed = stats.completed, stats.failed
	res.LastCheckpointID, res.LastCheckpointDuration, res.LastCheckpointSize = stats.lastID, stats.lastDur, stats.lastSize
	res.Savepoints = append([]string(nil), stats.savepoints...)
	stats.mu.Unlock()
	res.Restarts = restarts
	res.SavepointPath = j.stopped()
	if err == nil || ctx.Err() == nil || !isTeardown(err) {
		// keep err
	} else {
		err = fmt.Errorf("runtime: job %q cancelled: %w", j.name, ctx.Err())
	}
	attrs := []any{
		"records_in", res.RecordsIn, "records_out", res.RecordsOut,
		"late_records_dropped", res.LateRecordsDropped, "duration", res.Duration,
	}
	if ck.enabled() || restarts > 0 {
		attrs = append(attrs, "checkpoints", res.Checkpoints, "checkpoints_failed", res.CheckpointsFailed, "restarts", restarts)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		j.logger.Info("job cancelled", attrs...)
	case err != nil:
		j.logger.Error("job failed", append(attrs, "err", err)...)
	case res.SavepointPath != "":
		j.logger.Info("job stopped with a savepoint", append(attrs, "savepoint", res.SavepointPath)...)
	default:
		j.logger.Info("job finished", attrs...)
	}
	return res, err
}

// attempt runs the job once. It reports whether it started (false: a
// validation error, nothing ran) and the last checkpoint ID it used.
func (j *job) attempt(ctx context.Context, stats *ckptStats, lastID int64) (started bool, usedID int64, err error) {
	if j.restore != nil {
		if err := j.checkRestore(j.restore, j.opts.AllowNonRestoredState); err != nil {
			return false, lastID, err
		}
	}
	if err := j.wire(); err != nil {
		return false, lastID, err
	}
	j.live.attemptWired(j)
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	j.cancel = cancel
	ckctx, ckcancel := context.WithCancel(jctx)
	defer ckcancel()
	j.ckptCtx = ckctx
	closeGates := func() {
		for _, s := range j.subtasks {
			if s.gate != nil {
				s.gate.Close() // releases anything still queued
			}
		}
	}
	sopts := j.opts
	sopts.Restore = j.restore
	splits, err := NewSplitCoordinator(jctx, j.g, sopts, localPeers{j})
	if err != nil {
		closeGates()
		return false, lastID, err
	}
	defer splits.Close()
	if j.ckpt.enabled() {
		first, err := firstCheckpointID(ctx, j.ckpt.storage, j.restore, lastID)
		if err != nil {
			closeGates()
			return false, lastID, err
		}
		j.coord = newCoordinator(CoordinatorConfig{
			Job: j.name, MaxParallelism: j.maxP, Subtasks: j.subtaskInfos(), Committers: 1,
			Storage: j.ckpt.storage, Interval: j.ckpt.interval, Timeout: j.ckpt.timeout, FirstID: first,
			Restore: j.restore, Control: j.opts.Control, Peers: localPeers{j}, Splits: splits, Logger: j.logger,
		}, stats)
		j.link = j.coord
	}
	if err := j.recoverSinks(jctx); err != nil {
		closeGates()
		return true, lastID, err
	}
	var coordDone chan struct{}
	if j.coord != nil {
		coordDone = make(chan struct{})
		go func() {
			defer close(coordDone)
			j.coord.Run(ckctx)
		}()
	}
	var wg sync.WaitGroup
	for _, s := range j.subtasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.main(jctx)
		}()
	}
	splitsDone := make(chan struct{})
	go func() {
		defer close(splitsDone)
		if splits == nil {
			return
		}
		if err := splits.Run(ckctx); err != nil {
			j.fail(err)
			cancel(err)
		}
	}()
	wg.Wait()
	ckcancel()
	<-splitsDone
	j.persistWG.Wait()
	usedID = lastID
	if coordDone != nil {
		<-coordDone
		usedID = j.coord.NextID() - 1
	}
	closeGates()
	return true, usedID, j.outcome(ctx)
}

// wire creates every local subtask (all of them in Run) with its
// operators, gate and routers, over the job's transport (in-memory in
// Run).
func (j *job) wire() (err error) {
	transport := j.transport
	if transport == nil {
		if transport, err = exchange.NewLocal(j.opts.ChannelCapacity); err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
	}
	byID := map[string]*vertexPlan{}
	for _, p := range j.plans {
		byID[p.v.ID] = p
	}
	defer func() {
		if err != nil {
			for _, s := range j.subtasks {
				if s.gate != nil {
					s.gate.Close()
				}
			}
		}
	}()
	// Gates first: the senders look them up.
	for _, p := range j.plans {
		for i := 0; i < p.v.Parallelism; i++ {
			if j.local != nil && !j.local(p.v.ID, i) {
				continue
			}
			s, err := newSubtask(j, p, i)
			if err != nil {
				return err
			}
			j.subtasks = append(j.subtasks, s)
			if len(p.inputs) == 0 {
				continue
			}
			ids, inputs := p.channelIDs(byID, i)
			if s.gate, err = transport.Gate(ids); err != nil {
				return fmt.Errorf("runtime: vertex %s subtask %d: %w", p.v.ID, i, err)
			}
			s.chanInput = inputs
		}
	}
	for _, s := range j.subtasks {
		for _, out := range s.plan.outputs {
			to := byID[out.e.To].v
			ts := targets(out, to, s.index)
			senders := make([]exchange.Sender, len(ts))
			for k, t := range ts {
				id := exchange.ChannelID{Edge: out.index, From: s.index, To: t}
				if senders[k], err = transport.Sender(id); err != nil {
					return fmt.Errorf("runtime: vertex %s subtask %d: %w", s.plan.v.ID, s.index, err)
				}
			}
			r, err := exchange.NewRouter(exchange.RouterConfig{
				Kind:           out.e.Exchange,
				Producer:       s.index,
				Targets:        senders,
				Keys:           out.e.Keys,
				MaxParallelism: j.maxP,
				Alloc:          j.opts.Alloc,
			})
			if err != nil {
				return fmt.Errorf("runtime: edge %s -> %s: %w", out.e.From, out.e.To, err)
			}
			s.routers = append(s.routers, route{router: r, edge: out.e})
		}
	}
	j.unfinished.Store(int64(len(j.subtasks)))
	j.allFinished = make(chan struct{})
	return nil
}

// subtaskInfos describes the job's subtasks for its coordinator.
func (j *job) subtaskInfos() []SubtaskInfo {
	out := make([]SubtaskInfo, len(j.subtasks))
	for i, s := range j.subtasks {
		out[i] = SubtaskInfo{Vertex: s.plan.v.ID, Subtask: s.index, Parallelism: s.plan.v.Parallelism, Source: s.src != nil}
	}
	return out
}

// fail records the job's first error and cancels every subtask.
func (j *job) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = err
		j.cancel(err)
	}
}

// stop tears the job down after its stop savepoint (path) completed.
func (j *job) stop(path string) {
	j.mu.Lock()
	j.stoppedFlag, j.stopPath = true, path
	j.mu.Unlock()
	j.cancel(errStopped)
}

// arrive notes that a subtask has finished its input; the last one closes
// allFinished.
func (j *job) arrive() {
	if j.unfinished.Add(-1) == 0 {
		close(j.allFinished)
	}
}

// stopped returns the savepoint the job stopped with, "" if it did not.
func (j *job) stopped() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stopPath
}

// outcome is the error Run returns.
func (j *job) outcome(parent context.Context) error {
	j.mu.Lock()
	err := j.err
	stopped := j.stoppedFlag
	j.mu.Unlock()
	if stopped && parent.Err() == nil && (err == nil || isTeardown(err)) {
		return nil // stopped with a savepoint: the teardown is no failure
	}
	if err != nil && parent.Err() != nil && isTeardown(err) {
		return fmt.Errorf("runtime: job %q cancelled: %w", j.name, parent.Err())
	}
	return err
}

// result sums the counters of every operator subtask.
func (j *job) result(d time.Duration) *Result {
	res := &Result{Duration: d}
	type key struct{ vertex, op string }
	byOp := map[key]*OperatorResult{}
	for _, p := range j.plans {
		for _, op := range p.v.Ops {
			res.Operators = append(res.Operators, OperatorResult{VertexID: p.v.ID, OperatorID: op.ID, Name: op.Name, Kind: op.Kind(), Counters: map[string]int64{}})
		}
	}
	for i := range res.Operators {
		o := &res.Operators[i]
		byOp[key{o.VertexID, o.OperatorID}] = o
	}
	j.metrics.mu.Lock()
	all := append([]*opMetrics(nil), j.metrics.all...)
	j.metrics.mu.Unlock()
	for _, m := range all {
		o := byOp[key{m.vertex, m.op}]
		if o == nil {
			continue
		}
		o.RecordsIn += m.value(recordsInName)
		o.RecordsOut += m.value(recordsOutName)
		o.LateRecordsDropped += m.value(LateRecordsDroppedName)
		m.addValues(o.Counters)
	}
	for _, p := range j.plans {
		first := byOp[key{p.v.ID, p.v.Ops[0].ID}]
		last := byOp[key{p.v.ID, p.v.Ops[len(p.v.Ops)-1].ID}]
		vr := VertexResult{ID: p.v.ID, Parallelism: p.v.Parallelism, RecordsIn: first.RecordsIn, RecordsOut: last.RecordsOut}
		if p.source != nil {
			vr.RecordsIn = first.RecordsOut
			res.RecordsIn += first.RecordsOut
		}
		if p.sink != nil {
			vr.RecordsOut = last.RecordsIn
			res.RecordsOut += last.RecordsIn
		}
		res.Vertices = append(res.Vertices, vr)
	}
	for _, o := range res.Operators {
		res.LateRecordsDropped += o.LateRecordsDropped
	}
	return res
}

// connectorLookup returns the operator.Context.Connector function over the
// job's connector registry, or nil without one.
func (j *job) connectorLookup() func(string) (any, bool) {
	reg := j.opts.Connectors
	if reg == nil {
		return nil
	}
	return func(name string) (any, bool) {
		f, ok := reg.Lookup(name)
		return f, ok
	}
}

// restartPoint returns the newest complete checkpoint of this run (ID at
// least first; none when first is 0) whose metadata and files are intact,
// their contents checked against their SHA-256: a damaged checkpoint is
// logged and skipped for the one before it, so a restart never loops on a
// checkpoint it cannot restore. Nil when there is none.
func restartPoint(ctx context.Context, st checkpoint.Storage, first int64, logger *slog.Logger) (*checkpoint.Metadata, error) {
	if first <= 0 {
		return nil, nil
	}
	ids, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	if sl, ok := st.(interface {
		Savepoints(context.Context) ([]int64, error)
	}); ok {
		// A savepoint of this run newer than its checkpoints is the point
		// to restart from: the sinks committed up to it.
		sps, err := sl.Savepoints(ctx)
		if err != nil {
			return nil, err
		}
		ids = append(ids, sps...)
		sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	}
	for i := len(ids) - 1; i >= 0 && ids[i] >= first; i-- {
		m, err := st.Load(ctx, strconv.FormatInt(ids[i], 10))
		if err == nil {
			err = checkpoint.VerifyFiles(ctx, st, m)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			logger.Warn("skipping a damaged checkpoint", "checkpoint", ids[i], "err", err)
			continue
		}
		return m, nil
	}
	return nil, nil
}

package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// Running a job across processes.
//
// A job attempt can be split into Parts, one per task manager: a Part runs
// the subtasks of the slots its task manager was given (slot sharing: slot
// i holds subtask i of every vertex), and its channels go through the
// attempt's exchange.Transport (the network exchange: channels to other
// processes are gRPC streams). The checkpoint Coordinator runs elsewhere
// (in the job manager): the Part reaches it through a CoordinatorLink
// (acknowledgements, ends of input, stop commits) and the coordinator
// reaches the Parts through its CoordinatorPeers, which call Trigger,
// Complete, Resume and Stop on each Part. Run is the same machinery with
// every subtask local, an in-memory transport and the coordinator in
// process (localPeers).
//
// A Part runs one attempt and never restarts: when any part fails, the
// others fail too (their streams to it break), and the job manager starts
// a new attempt of every part (a new attempt number, new transports) from
// the latest checkpoint, after calling RecoverSinks once.

// PartConfig says which subtasks of a job attempt a Part runs and how it
// reaches the rest of the attempt.
type PartConfig struct {
	// Local reports whether subtask subtask of vertex vertexID runs in
	// this part.
	Local func(vertexID string, subtask int) bool
	// Transport makes the part's channels: gates for its local consumers,
	// senders for every output of its local producers (the transport
	// decides which are local and which remote). RunPart owns it: when it
	// has a Close() error method, it is closed once every local subtask
	// has ended (so streams to other processes end with the part), also
	// when RunPart fails.
	Transport exchange.Transport
	// Coordinator is the link to the attempt's checkpoint coordinator; nil
	// means the attempt takes no checkpoints (a barrier arriving is an
	// error). With it, Options.CheckpointStorage is required (snapshots
	// are persisted there), Options.State must be a
	// checkpoint.RestoringProvider and sources must be
	// connectors.RestorableSources.
	Coordinator CoordinatorLink
	// Attempt is the job's attempt number (logged, and carried in
	// SubtaskAck and SourceEnd so carriers can fence stale attempts).
	Attempt int64
}

// Part is a running subset of a job attempt's subtasks (see RunPart). Its
// methods may be called from any goroutine.
type Part struct {
	j       *job
	started time.Time
	done    chan struct{}
	res     *PartResult
	err     error
}

// PartResult is what a Part's subtasks did.
type PartResult struct {
	// Duration is the part's wall-clock running time.
	Duration time.Duration
	// RecordsIn is the number of rows read by the part's source
	// subtasks, RecordsOut of rows written by its sink subtasks.
	RecordsIn  int64
	RecordsOut int64
	// LateRecordsDropped sums the late_records_dropped counters of the
	// part's operator subtasks.
	LateRecordsDropped int64
	// Vertices and Operators are as in Result, summed over the part's
	// subtasks only (vertices without one here count zero).
	Vertices  []VertexResult
	Operators []OperatorResult
}

// RunPart starts the subtasks of job graph g that cfg.Local selects, as one
// attempt: it wires them over cfg.Transport, restores them from
// opts.Restore (state, watermarks, source positions) and runs them until
// every one has finished, one fails, Cancel or Stop is called, or ctx is
// done. It does not recover sinks (call RecoverSinks once per attempt,
// before any part starts: a sink's recovery removes what every writer of
// the failed attempt wrote) and it never restarts. Options.Control,
// CheckpointInterval and RestartStrategy are the coordinator's and job
// manager's business, and ignored.
//
// RunPart returns an error, with nothing running, when the graph, the
// options or the restore do not fit, or when no subtask is local.
func RunPart(ctx context.Context, g *jobgraph.Graph, opts Options, cfg PartConfig) (*Part, error) {
	start := time.Now()
	explicitState := opts.State != nil
	opts = opts.withDefaults()
	closeTransport := func() {
		if c, ok := cfg.Transport.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				opts.Logger.Warn("closing the part's exchange transport", "err", err)
			}
		}
	}
	if cfg.Local == nil || cfg.Transport == nil {
		closeTransport()
		return nil, fmt.Errorf("runtime: part: PartConfig needs Local and Transport")
	}
	fail := func(err error, closeState func() error) (*Part, error) {
		if closeState != nil {
			if cerr := closeState(); cerr != nil {
				opts.Logger.Warn("closing keyed state", "err", cerr)
			}
		}
		closeTransport()
		return nil, err
	}
	plans, maxP, idle, config, err := buildPlan(g, opts)
	if err != nil {
		return fail(err, nil)
	}
	closeState, err := localState(&opts, explicitState, config)
	if err != nil {
		return fail(err, nil)
	}
	ck, err := partCheckpointConfig(opts, plans, cfg.Coordinator != nil)
	if err != nil {
		return fail(err, closeState)
	}
	if v, ok := config[CheckpointIntervalKey]; ok && ck.external {
		// Informational: the coordinator triggers; writers learn that
		// checkpoints come periodically.
		if d, err := connectors.ParseDuration(v); err == nil && d > 0 {
			ck.interval = d
		}
	}
	logger := opts.Logger.With("job", g.Name, "attempt", cfg.Attempt)
	j := &job{
		g: g, name: g.Name, opts: opts, maxP: maxP, idleTimeout: idle, config: config,
		logger: logger, metrics: newMetricSet(opts.Registerer, g.Name, logger), plans: plans, ckpt: ck,
		restore: opts.Restore, link: cfg.Coordinator, local: cfg.Local, transport: cfg.Transport, attemptNo: cfg.Attempt,
	}
	if j.restore != nil {
		if err := j.checkRestore(j.restore, opts.AllowNonRestoredState); err != nil {
			return fail(err, closeState)
		}
	}
	if err := j.wire(); err != nil {
		return fail(err, closeState)
	}
	if len(j.subtasks) == 0 {
		return fail(fmt.Errorf("runtime: part: no subtask of job %q is local", g.Name), closeState)
	}
	jctx, cancel := context.WithCancelCause(ctx)
	j.cancel = cancel
	ckctx, ckcancel := context.WithCancel(jctx)
	j.ckptCtx = ckctx
	p := &Part{j: j, started: time.Now(), done: make(chan struct{})}
	done := make(chan struct{})
	for _, s := range j.subtasks {
		go func() {
			defer func() { done <- struct{}{} }()
			s.main(jctx)
		}()
	}
	go func() {
		for range j.subtasks {
			<-done
		}
		ckcancel()
		j.persistWG.Wait()
		for _, s := range j.subtasks {
			if s.gate != nil {
				s.gate.Close()
			}
		}
		closeTransport()
		err := j.outcome(ctx)
		res := j.result(time.Since(start))
		if cerr := closeState(); cerr != nil {
			logger.Warn("closing keyed state", "err", cerr)
		}
		cancel(nil)
		p.res = &PartResult{
			Duration: res.Duration, RecordsIn: res.RecordsIn, RecordsOut: res.RecordsOut,
			LateRecordsDropped: res.LateRecordsDropped, Vertices: res.Vertices, Operators: res.Operators,
		}
		p.err = err
		switch {
		case err != nil:
			logger.Info("part ended with an error", "subtasks", len(j.subtasks), "err", err)
		default:
			logger.Info("part finished", "subtasks", len(j.subtasks), "records_in", res.RecordsIn, "records_out", res.RecordsOut)
		}
		close(p.done)
	}()
	return p, nil
}

// partCheckpointConfig checks that a part can take the checkpoints its
// coordinator will ask for (withLink) and restore what it is asked to.
func partCheckpointConfig(opts Options, plans []*vertexPlan, withLink bool) (ckptConfig, error) {
	c := ckptConfig{storage: opts.CheckpointStorage, external: withLink}
	if (withLink || opts.Restore != nil) && c.storage == nil {
		return c, fmt.Errorf("runtime: part: checkpoints and restores need the checkpoint storage (Options.CheckpointStorage)")
	}
	if !withLink && opts.Restore == nil {
		return c, nil
	}
	if _, ok := opts.State.(checkpoint.RestoringProvider); !ok {
		return c, fmt.Errorf("runtime: checkpoints need a state provider that snapshots and restores (a checkpoint.RestoringProvider); %T is not one", opts.State)
	}
	if !withLink {
		return c, nil
	}
	for _, p := range plans {
		if p.source == nil {
			continue
		}
		if _, ok := p.source.(connectors.RestorableSource); !ok {
			op := p.v.Ops[0]
			return c, fmt.Errorf("runtime: vertex %s, source %s (table %s): connector %q cannot be checkpointed: it is not a connectors.RestorableSource (its read position cannot be saved)",
				p.v.ID, op.ID, op.Source.Table, op.Source.Connector)
		}
	}
	return c, nil
}

// Trigger asks the part's running source subtasks to send barrier b
// between two reads (CoordinatorPeers.TriggerBarrier). With halt (a stop
// with a savepoint) they read nothing after it until Resume or the
// teardown. A part without source subtasks only notes the halt.
func (p *Part) Trigger(b stream.Barrier, halt bool) { localPeers{p.j}.TriggerBarrier(b, halt) }

// AssignSplits queues split assignment a at its source subtask, which must
// be one of the part's (SplitPeers, for the job manager's
// SplitCoordinator).
func (p *Part) AssignSplits(ctx context.Context, a SplitAssignment) error {
	return localPeers{p.j}.AssignSplits(ctx, a)
}

// Resume calls off a halt: the stop savepoint failed, the sources read on.
func (p *Part) Resume() { localPeers{p.j}.ResumeSources() }

// Complete tells every local subtask that checkpoint id is complete: the
// sinks commit their output up to it and operator.CheckpointListeners are
// notified. With stop (the stop savepoint), the part reports
// CoordinatorLink.CommittedUpTo once every local subtask has committed.
func (p *Part) Complete(id int64, stop bool) { localPeers{p.j}.NotifyComplete(id, stop) }

// Stop tears the part down after the stop savepoint: Wait then returns no
// error (sinks abort what they wrote after the savepoint).
func (p *Part) Stop() { p.j.stop("") }

// Cancel fails the part with cause (context.Canceled when nil): every
// local subtask ends, writers abort, and Wait returns the cause. The
// part's streams end with it, so the attempt's other parts fail too.
func (p *Part) Cancel(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	p.j.fail(fmt.Errorf("runtime: part of job %q attempt %d cancelled: %w", p.j.name, p.j.attemptNo, cause))
}

// Done is closed when the part has ended (Wait returns at once).
func (p *Part) Done() <-chan struct{} { return p.done }

// Wait waits until every local subtask has ended and everything the part
// held is released (gates, state, transport), and returns what the part
// did and its error: nil when its subtasks finished (or Stop), else the
// first failure (a *SubtaskError, the Cancel cause, or ctx's error).
func (p *Part) Wait() (*PartResult, error) {
	<-p.done
	return p.res, p.err
}

// RecoverSinks recovers every connectors.RecoverableSink of job graph g
// before an attempt's writers open: with opts.Restore, the sinks commit
// that checkpoint's committables and remove what was written after it;
// with no restore but restarted (an attempt after a failure with no
// checkpoint), they remove the failed attempt's output. It does nothing
// for a first attempt without a restore. Call it once per attempt, before
// any Part starts (Run does it itself).
func RecoverSinks(ctx context.Context, g *jobgraph.Graph, opts Options, restarted bool) error {
	opts = opts.withDefaults()
	plans, maxP, _, _, err := buildPlan(g, opts)
	if err != nil {
		return err
	}
	j := &job{g: g, name: g.Name, opts: opts, maxP: maxP, plans: plans, restore: opts.Restore, restarted: restarted, logger: opts.Logger}
	if j.restore != nil {
		if err := j.checkRestore(j.restore, opts.AllowNonRestoredState); err != nil {
			return err
		}
	}
	return j.recoverSinks(ctx)
}

// localPeers are the coordinator's peers in process: the subtasks of one
// job (Run) or one Part.
type localPeers struct{ j *job }

// TriggerBarrier implements CoordinatorPeers.
func (l localPeers) TriggerBarrier(b stream.Barrier, halt bool) {
	if halt {
		l.j.haltAt.Store(b.CheckpointID) // before the barrier: see subtask.snapshot
	}
	for _, s := range l.j.subtasks {
		if s.src != nil {
			s.mail.trigger(s, b)
		}
	}
}

// ResumeSources implements CoordinatorPeers.
func (l localPeers) ResumeSources() {
	l.j.haltAt.Store(0)
	for _, s := range l.j.subtasks {
		if s.src != nil {
			s.mail.signal(s)
		}
	}
}

// NotifyComplete implements CoordinatorPeers.
func (l localPeers) NotifyComplete(id int64, stop bool) {
	if stop {
		l.j.stopAt.Store(id)
	}
	for _, s := range l.j.subtasks {
		s.mail.complete(s, id)
	}
}

// Stop implements CoordinatorPeers.
func (l localPeers) Stop(path string) { l.j.stop(path) }

// AssignSplits implements SplitPeers: it queues a at its subtask, which
// must be local.
func (l localPeers) AssignSplits(_ context.Context, a SplitAssignment) error {
	for _, s := range l.j.subtasks {
		if s.plan.v.ID == a.Vertex && s.index == a.Subtask {
			if s.src == nil || s.src.spec.ID != a.Operator || s.plan.splitSource == nil {
				return fmt.Errorf("runtime: vertex %s subtask %d does not read split source %s", a.Vertex, a.Subtask, a.Operator)
			}
			s.mail.assign(s, a)
			return nil
		}
	}
	return fmt.Errorf("runtime: vertex %s subtask %d is not here", a.Vertex, a.Subtask)
}

// committedUpTo counts a local subtask's commit of the stop savepoint id;
// the last one reports it to the coordinator.
func (j *job) committedUpTo(ctx context.Context, id int64) {
	j.mu.Lock()
	if j.commitsOf != id {
		j.commitsOf, j.commits = id, 0
	}
	j.commits++
	all := j.commits == len(j.subtasks)
	j.mu.Unlock()
	if !all || j.link == nil {
		return
	}
	if err := j.link.CommittedUpTo(ctx, id); err != nil && !errors.Is(err, context.Canceled) {
		j.logger.Warn("stop savepoint commit not delivered to the checkpoint coordinator", "checkpoint", id, "err", err)
	}
}

var _ CoordinatorPeers = localPeers{}
var _ SplitPeers = localPeers{}
var _ CoordinatorLink = (*Coordinator)(nil)

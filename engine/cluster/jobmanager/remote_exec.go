package jobmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tmv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// A remote execution runs attempts of one job until one finishes, the job
// is cancelled or stopped with a savepoint, or the restart strategy gives
// up. An attempt: the sinks are recovered here (RecoverSinks, once), a
// Coordinator is made whose peers are the attempt's parts (RPCs to their
// task managers, in order per part), every part is deployed, and the
// attempt is supervised: a part ending with an error, a failed call to a
// task manager, or the loss of a task manager holding a part fails it. A
// failed attempt cancels its other parts and waits for their ends (or
// their task managers' loss, at most RemoteConfig.EndWait), then the job
// restarts from the newest checkpoint of this execution (else from what
// it started from) on the slots that remain, waiting in RESTARTING while
// too few are free.

// eventKind says what happened to an attempt.
type eventKind int

const (
	evPartEnded eventKind = iota
	evLost
	evRPCFailed
)

// execEvent is something that happened to an execution's attempt.
type execEvent struct {
	kind    eventKind
	attempt int64
	tmID    string
	tm      membership.TaskManager // evLost
	why     string                 // evLost
	err     string
	res     *runtime.PartResult
}

// remoteExec is one job run by a RemoteRunner.
type remoteExec struct {
	r         *RemoteRunner
	job       JobSpec
	g         *jobgraph.Graph
	graphJSON []byte
	st        *checkpoint.DirStorage
	restore   *checkpoint.Metadata
	ctl       *runtime.Control
	strategy  runtime.RestartStrategy
	logger    *slog.Logger

	cancelOnce sync.Once
	cancelCh   chan struct{}
	done       chan struct{}
	events     chan execEvent

	mu         sync.Mutex
	cur        *attemptRun
	started    bool
	restarting bool
	message    string
	restarts   int
	failures   []runtime.Failure
	records    map[string]*runtime.VertexResult
	// Checkpoint counts of the attempts before the current one.
	ckDone, ckFailed int
	lastCkpt         *runtime.CheckpointStatus
	savepointPath    string
	err              error
}

// post delivers an event unless the execution has ended.
func (e *remoteExec) post(ev execEvent) {
	select {
	case e.events <- ev:
	case <-e.done:
	}
}

// Cancel implements Execution.
func (e *remoteExec) Cancel() { e.cancelOnce.Do(func() { close(e.cancelCh) }) }

// Savepoint implements Execution.
func (e *remoteExec) Savepoint(ctx context.Context) (string, error) {
	return e.ctl.TriggerSavepoint(ctx)
}

// StopWithSavepoint implements Execution.
func (e *remoteExec) StopWithSavepoint(ctx context.Context) (string, error) {
	return e.ctl.StopWithSavepoint(ctx)
}

// Done implements Execution.
func (e *remoteExec) Done() <-chan struct{} { return e.done }

// Err implements Execution.
func (e *remoteExec) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Status implements Execution.
func (e *remoteExec) Status() ExecStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := ExecStatus{SavepointPath: e.savepointPath, Message: e.message}
	st.Started, st.Restarting, st.Restarts = e.started, e.restarting, e.restarts
	select {
	case <-e.done:
		st.Ended = true
	default:
	}
	st.Failures = append([]runtime.Failure(nil), e.failures...)
	st.Checkpoints, st.CheckpointsFailed = e.ckDone, e.ckFailed
	last := e.lastCkpt
	if a := e.cur; a != nil {
		cs := a.coord.Stats()
		st.Checkpoints += cs.Completed
		st.CheckpointsFailed += cs.Failed
		if cs.LastID > 0 {
			last = e.ckptStatus(cs)
		}
	}
	if last != nil {
		c := *last
		st.LastCheckpoint = &c
	}
	var parts []*remotePart
	if e.cur != nil {
		parts = e.cur.parts
	}
	st.Vertices = liveVertices(e.g, e.records, parts)
	return st
}

// liveVertices is the vertices' status: records are those of the ended
// parts (records, every attempt) plus the latest live reports of parts'
// of the current attempt that have not ended; the watermark is the
// minimum over the current attempt's parts holding a subtask of the vertex
// (none while one of them has reported none, or nothing yet; the end once
// all ended), the back-pressure the maximum reported. The caller holds
// e.mu.
func liveVertices(g *jobgraph.Graph, records map[string]*runtime.VertexResult, parts []*remotePart) []runtime.VertexStatus {
	out := make([]runtime.VertexStatus, 0, len(g.Vertices))
	for _, v := range g.Vertices {
		names := make([]string, len(v.Ops))
		for i, op := range v.Ops {
			names[i] = op.Name
		}
		vs := runtime.VertexStatus{ID: v.ID, Name: strings.Join(names, " -> "), Parallelism: v.Parallelism, Watermark: stream.MinWatermark}
		if rec := records[v.ID]; rec != nil {
			vs.RecordsIn, vs.RecordsOut = rec.RecordsIn, rec.RecordsOut
		}
		wm, none, holders := stream.MaxWatermark, false, 0
		for _, p := range parts {
			if !p.holds(v.Parallelism) {
				continue
			}
			holders++
			if p.done {
				continue // its records are in records; its input ended or the attempt is failing
			}
			r := p.vertexReport(v.ID)
			if r == nil {
				none = true
				continue
			}
			vs.RecordsIn += r.GetRecordsIn()
			vs.RecordsOut += r.GetRecordsOut()
			vs.Backpressure = max(vs.Backpressure, min(1, max(0, r.GetBackpressure())))
			switch r.GetWatermarkState() {
			case tmv1.WatermarkState_WATERMARK_STATE_SET:
				wm = min(wm, r.GetWatermarkMs())
			case tmv1.WatermarkState_WATERMARK_STATE_ENDED:
			default:
				none = true
			}
		}
		if holders > 0 && !none {
			vs.Watermark = wm
		}
		out = append(out, vs)
	}
	return out
}

// ckptStatus describes the last checkpoint of a coordinator's stats.
func (e *remoteExec) ckptStatus(cs runtime.CheckpointStats) *runtime.CheckpointStatus {
	m := &checkpoint.Metadata{ID: cs.LastID}
	sp := e.st.PathOf(&checkpoint.Metadata{ID: cs.LastID, Savepoint: true})
	for _, p := range cs.Savepoints {
		if p == sp {
			m.Savepoint = true
		}
	}
	t := time.Now()
	if e.lastCkpt != nil && e.lastCkpt.ID == cs.LastID {
		t = e.lastCkpt.Time
	}
	c := &runtime.CheckpointStatus{ID: cs.LastID, Path: e.st.PathOf(m), Duration: cs.LastDuration, Size: cs.LastSize, Time: t, Savepoint: m.Savepoint}
	e.lastCkpt = c
	return c
}

// canceled reports whether Cancel was called.
func (e *remoteExec) canceled() bool {
	select {
	case <-e.cancelCh:
		return true
	default:
		return false
	}
}

// run runs the attempts, the first on grants.
func (e *remoteExec) run(grants []*slotGrant) {
	r := e.r
	var err error
	defer func() {
		e.ctl.End()
		r.mu.Lock()
		delete(r.execs, e.job.ID)
		r.mu.Unlock()
		e.mu.Lock()
		e.err, e.restarting, e.message = err, false, ""
		e.mu.Unlock()
		close(e.done)
	}()
	restore := e.restore
	var firstID, nextID int64
	for {
		var a *attemptRun
		a, err = e.attempt(grants, restore, nextID)
		r.release(grants)
		grants = nil
		if a != nil {
			if firstID == 0 {
				firstID = a.firstID
			}
			nextID = a.coord.NextID()
		}
		if err == nil {
			return
		}
		if e.canceled() {
			err = fmt.Errorf("job %s cancelled: %w", e.job.ID, context.Canceled)
			return
		}
		e.mu.Lock()
		e.failures = append(e.failures, runtime.Failure{Time: time.Now(), Message: err.Error()})
		giveUp := e.restarts >= e.strategy.MaxAttempts
		if !giveUp {
			e.restarts++
			e.restarting, e.message = true, "restarting from the latest checkpoint after a failure"
		}
		n := e.restarts
		e.mu.Unlock()
		if giveUp {
			e.logger.Error("job failed; no restart left", "err", err, "restarts", n)
			return
		}
		delay := e.strategy.Delay(n)
		e.logger.Warn("job attempt failed; restarting", "err", err, "restart", n, "of", e.strategy.MaxAttempts, "delay", delay)
		if !e.sleep(delay) {
			err = fmt.Errorf("job %s cancelled while restarting: %w", e.job.ID, context.Canceled)
			return
		}
		// The newest checkpoint of this execution, else what it
		// started from.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		m, skipped, ferr := checkpoint.FindRestore(ctx, e.st, e.st.Dir())
		cancel()
		for _, s := range skipped {
			e.logger.Warn("skipping a damaged checkpoint", "err", s)
		}
		switch {
		case ferr != nil:
			err = fmt.Errorf("cannot restart: find the latest checkpoint: %w (after: %w)", ferr, err)
			return
		case m != nil && firstID > 0 && m.ID >= firstID:
			restore = m
			e.logger.Info("restarting from checkpoint", "checkpoint", m.ID)
		case restore != nil:
			e.logger.Info("restarting from the checkpoint the job started from", "checkpoint", restore.ID)
		default:
			e.logger.Info("no complete checkpoint yet; restarting from the beginning")
		}
		if grants, err = e.waitSlots(); err != nil {
			return
		}
	}
}

// sleep waits d; false when cancelled meanwhile.
func (e *remoteExec) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.cancelCh:
		return false
	}
}

// waitSlots takes the slots of the next attempt, waiting (RESTARTING, with
// a message) while too few are free.
func (e *remoteExec) waitSlots() ([]*slotGrant, error) {
	for {
		changed := e.r.SlotsChanged()
		grants, err := e.r.allocate(slotsOf(e.g))
		if err == nil {
			return grants, nil
		}
		if !errors.Is(err, ErrNoSlots) {
			return nil, err
		}
		e.mu.Lock()
		e.message = "waiting for slots: " + err.Error()
		e.mu.Unlock()
		t := time.NewTimer(time.Second)
		select {
		case <-changed:
		case <-t.C:
		case <-e.cancelCh:
			t.Stop()
			return nil, fmt.Errorf("job %s cancelled while waiting for slots: %w", e.job.ID, context.Canceled)
		}
		t.Stop()
	}
}

// attemptRun is one attempt of a remote execution: its coordinator and
// parts. It is the coordinator's CoordinatorPeers.
type attemptRun struct {
	e       *remoteExec
	no      int64
	firstID int64
	coord   *runtime.Coordinator
	parts   []*remotePart

	mu       sync.Mutex
	stopPath string
}

// remotePart is the part of an attempt on one task manager. Calls to it go
// through calls, in order.
type remotePart struct {
	grant  *slotGrant
	client tmv1.TaskManagerClient
	calls  chan func(context.Context) error
	// ended, err: its PartEnded arrived (or its task manager was lost).
	ended bool
	err   string

	// Guarded by the execution's mu: report is the part's latest live
	// status (JobControl.ReportStatus); done says its records were added
	// to the execution's (its end, its loss or the attempt's), after
	// which reports are ignored.
	report *tmv1.PartStatusRequest
	done   bool
}

// holds reports whether the part runs a subtask of a vertex of
// parallelism p (slot i holds subtask i).
func (p *remotePart) holds(parallelism int) bool {
	for _, s := range p.grant.slots {
		if int(s) < parallelism {
			return true
		}
	}
	return false
}

// vertexReport is the part's latest report of vertex id (nil: none).
func (p *remotePart) vertexReport(id string) *tmv1.VertexStatus {
	for _, v := range p.report.GetVertices() {
		if v.GetVertex() == id {
			return v
		}
	}
	return nil
}

// foldReport adds the part's last live report to the execution's records
// when nothing else will (its PartEnded result is missing: lost, or the
// attempt is over), and marks it done. The caller holds e.mu.
func (e *remoteExec) foldReport(p *remotePart) {
	if p.done {
		return
	}
	p.done = true
	for _, v := range p.report.GetVertices() {
		e.addRecords(v.GetVertex(), 0, v.GetRecordsIn(), v.GetRecordsOut())
	}
	p.report = nil
}

// partOn returns the part on task manager id.
func (a *attemptRun) partOn(id string) *remotePart {
	for _, p := range a.parts {
		if p.grant.tm.ID == id {
			return p
		}
	}
	return nil
}

func (a *attemptRun) ref() *tmv1.PartRef { return &tmv1.PartRef{JobId: a.e.job.ID, Attempt: a.no} }

// each queues call on every part.
func (a *attemptRun) each(name string, call func(ctx context.Context, p *remotePart) error) {
	for _, p := range a.parts {
		select {
		case p.calls <- func(ctx context.Context) error { return call(ctx, p) }:
		default:
			a.e.post(execEvent{kind: evRPCFailed, attempt: a.no, tmID: p.grant.tm.ID,
				err: fmt.Sprintf("%s on task manager %s: too many calls queued (it does not answer)", name, p.grant.tm.ID)})
		}
	}
}

// TriggerBarrier implements runtime.CoordinatorPeers.
func (a *attemptRun) TriggerBarrier(b stream.Barrier, halt bool) {
	a.each("trigger barrier", func(ctx context.Context, p *remotePart) error {
		_, err := p.client.TriggerBarrier(ctx, &tmv1.TriggerBarrierRequest{Part: a.ref(), CheckpointId: b.CheckpointID,
			TimestampMs: b.TimestampMs, Savepoint: b.Savepoint, Halt: halt})
		return err
	})
}

// AssignSplits implements runtime.SplitPeers: the assignment is queued
// on the calls of the part running the subtask, so it reaches the subtask
// before any barrier triggered after it.
func (a *attemptRun) AssignSplits(_ context.Context, sa runtime.SplitAssignment) error {
	for _, p := range a.parts {
		if !slices.Contains(p.grant.slots, int32(sa.Subtask)) {
			continue
		}
		req := &tmv1.AssignSplitsRequest{Part: a.ref(), Vertex: sa.Vertex, Operator: sa.Operator, Subtask: int32(sa.Subtask), NoMore: sa.NoMore}
		for _, sp := range sa.Splits {
			req.Splits = append(req.Splits, &tmv1.Split{Id: sp.ID, State: sp.State})
		}
		select {
		case p.calls <- func(ctx context.Context) error {
			_, err := p.client.AssignSplits(ctx, req)
			return err
		}:
			return nil
		default:
			return fmt.Errorf("task manager %s: too many calls queued (it does not answer)", p.grant.tm.ID)
		}
	}
	return fmt.Errorf("no part runs slot %d", sa.Subtask)
}

// ResumeSources implements runtime.CoordinatorPeers.
func (a *attemptRun) ResumeSources() {
	a.each("resume sources", func(ctx context.Context, p *remotePart) error {
		_, err := p.client.ResumeSources(ctx, a.ref())
		return err
	})
}

// NotifyComplete implements runtime.CoordinatorPeers.
func (a *attemptRun) NotifyComplete(id int64, stop bool) {
	a.each("notify complete", func(ctx context.Context, p *remotePart) error {
		_, err := p.client.NotifyComplete(ctx, &tmv1.NotifyCompleteRequest{Part: a.ref(), CheckpointId: id, Stop: stop})
		return err
	})
}

// Stop implements runtime.CoordinatorPeers.
func (a *attemptRun) Stop(path string) {
	a.mu.Lock()
	a.stopPath = path
	a.mu.Unlock()
	a.each("stop part", func(ctx context.Context, p *remotePart) error {
		_, err := p.client.StopPart(ctx, a.ref())
		return err
	})
}

// callLoop makes p's calls in order until ctx is done; a failed call
// (but one refused because the part has already ended) fails the attempt.
func (a *attemptRun) callLoop(ctx context.Context, p *remotePart, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case call := <-p.calls:
			cctx, cancel := context.WithTimeout(ctx, a.e.r.cfg.RPCTimeout)
			err := call(cctx)
			cancel()
			if err == nil || ctx.Err() != nil {
				continue
			}
			if status.Code(err) == codes.FailedPrecondition {
				// The part has ended (its PartEnded says how) or is
				// being replaced.
				a.e.logger.Info("task manager refused a call: its part has ended", "taskmanager", p.grant.tm.ID, "attempt", a.no, "err", err)
				continue
			}
			if status.Code(err) == codes.Unavailable {
				a.e.r.distrust(p.grant.tm)
			}
			a.e.post(execEvent{kind: evRPCFailed, attempt: a.no, tmID: p.grant.tm.ID, err: fmt.Sprintf("task manager %s: %v", p.grant.tm.ID, err)})
		}
	}
}

// attempt runs one attempt on grants from restore; it returns the attempt
// (nil when it could not be made) and its error: nil when every part
// finished (or the job stopped with a savepoint).
func (e *remoteExec) attempt(grants []*slotGrant, restore *checkpoint.Metadata, after int64) (*attemptRun, error) {
	r := e.r
	no := r.attempts.Add(1)
	logger := e.logger.With("attempt", no)
	bg := context.Background()
	e.mu.Lock()
	restarted := e.restarts > 0
	jm := r.jmAddr
	e.mu.Unlock()
	opts := runtime.Options{Connectors: r.cfg.Connectors, Operators: r.cfg.Operators, Functions: r.cfg.Functions,
		Logger: logger, CheckpointStorage: e.st, Restore: restore}
	rctx, rcancel := context.WithTimeout(bg, r.cfg.DeployTimeout)
	err := runtime.RecoverSinks(rctx, e.g, opts, restarted)
	rcancel()
	if err != nil {
		return nil, fmt.Errorf("attempt %d: recover sinks: %w", no, err)
	}
	first, err := checkpoint.NextID(bg, e.st, restore)
	if err != nil {
		return nil, fmt.Errorf("attempt %d: %w", no, err)
	}
	first = max(first, after)
	a := &attemptRun{e: e, no: no, firstID: first}
	// The split sources' enumerators run here, assigning splits to the
	// parts' source subtasks (nil when the job reads none).
	splits, err := runtime.NewSplitCoordinator(bg, e.g, opts, a)
	if err != nil {
		return nil, fmt.Errorf("attempt %d: %w", no, err)
	}
	defer splits.Close()
	coord, err := runtime.NewCoordinator(bg, runtime.CoordinatorConfig{
		Job: e.g.Name, MaxParallelism: e.g.MaxParallelism, Subtasks: runtime.Subtasks(e.g), Committers: len(grants),
		Storage: e.st, Interval: e.interval(), FirstID: first, Restore: restore, Control: e.ctl, Peers: a, Splits: splits, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("attempt %d: %w", no, err)
	}
	a.coord = coord
	addrs := map[int32]string{}
	for _, g := range grants {
		c, err := r.client(g.tm.Address)
		if err != nil {
			return a, fmt.Errorf("attempt %d: %w", no, err)
		}
		a.parts = append(a.parts, &remotePart{grant: g, client: c, calls: make(chan func(context.Context) error, 64)})
		for _, s := range g.slots {
			addrs[s] = g.tm.Address
		}
	}
	var restoreJSON []byte
	if restore != nil {
		if restoreJSON, err = json.Marshal(restore); err != nil {
			return a, fmt.Errorf("attempt %d: encode the restored checkpoint: %w", no, err)
		}
	}
	e.mu.Lock()
	e.cur, e.started, e.restarting, e.message = a, true, false, ""
	e.mu.Unlock()
	defer func() {
		cs := coord.Stats()
		e.mu.Lock()
		e.ckDone += cs.Completed
		e.ckFailed += cs.Failed
		if cs.LastID > 0 {
			e.ckptStatus(cs)
		}
		for _, p := range a.parts {
			e.foldReport(p)
		}
		e.cur = nil
		e.mu.Unlock()
	}()

	// Calls to the parts, in order per part, until the attempt is over.
	callCtx, stopCalls := context.WithCancel(bg)
	var callWG sync.WaitGroup
	for _, p := range a.parts {
		callWG.Add(1)
		go a.callLoop(callCtx, p, &callWG)
	}
	coordCtx, stopCoord := context.WithCancel(bg)
	coordDone := make(chan struct{})
	defer func() {
		stopCoord()
		<-coordDone
		stopCalls()
		callWG.Wait()
	}()

	// Deploy every part at once: a part's producers wait for the others'
	// gates (netexchange's GateWait).
	var failure error
	deployErrs := make(chan error, len(a.parts))
	// The parts learn the checkpoint interval (their writers commit as
	// the job runs when it is set); the job manager triggers them.
	config := maps.Clone(e.g.Config)
	if d := e.interval(); d > 0 {
		if config == nil {
			config = map[string]string{}
		}
		config[runtime.CheckpointIntervalKey] = d.String()
	}
	for _, p := range a.parts {
		req := &tmv1.DeployRequest{Part: a.ref(), GraphJson: e.graphJSON, Slots: p.grant.slots, SlotAddresses: addrs,
			CheckpointDir: e.st.Dir(), RestoreJson: restoreJSON, Config: config, MaxParallelism: int32(e.g.MaxParallelism), JobManager: jm}
		go func() {
			ctx, cancel := context.WithTimeout(bg, r.cfg.DeployTimeout)
			defer cancel()
			if _, err := p.client.Deploy(ctx, req); err != nil {
				if status.Code(err) == codes.Unavailable {
					r.distrust(p.grant.tm)
				}
				deployErrs <- fmt.Errorf("deploy on task manager %s (%s): %w", p.grant.tm.ID, p.grant.tm.Address, err)
				return
			}
			deployErrs <- nil
		}()
	}
	deployed := 0
	for range a.parts {
		if err := <-deployErrs; err != nil {
			failure = errors.Join(failure, err)
		} else {
			deployed++
		}
	}
	runCoord := failure == nil
	go func() {
		defer close(coordDone)
		if !runCoord {
			return
		}
		var wg sync.WaitGroup
		if splits != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := splits.Run(coordCtx); err != nil {
					e.post(execEvent{kind: evRPCFailed, attempt: no, err: err.Error()})
				}
			}()
		}
		coord.Run(coordCtx)
		wg.Wait()
	}()
	if failure != nil {
		failure = fmt.Errorf("attempt %d: %w", no, failure)
		// The parts that did deploy are cancelled; those that did not
		// never send PartEnded.
		for _, p := range a.parts {
			p.ended = true
		}
		if deployed > 0 {
			for _, p := range a.parts {
				ctx, cancel := context.WithTimeout(bg, r.cfg.RPCTimeout)
				_, _ = p.client.CancelPart(ctx, &tmv1.CancelPartRequest{Part: a.ref(), Reason: failure.Error()})
				cancel()
			}
		}
		return a, failure
	}
	logger.Info("job attempt deployed", "parts", len(a.parts), "slots", slotsOf(e.g), "restore", restore != nil)
	return a, a.supervise(logger)
}

// interval is the job's checkpoint interval: the spec's, else the job
// option, else none.
func (e *remoteExec) interval() time.Duration {
	if e.job.CheckpointInterval > 0 {
		return e.job.CheckpointInterval
	}
	if v, ok := e.g.Config[runtime.CheckpointIntervalKey]; ok {
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil && d > 0 {
			return d
		}
	}
	return 0
}

// supervise waits until every part has ended; it fails the attempt on the
// first error, cancelling the other parts.
func (a *attemptRun) supervise(logger *slog.Logger) error {
	e := a.e
	var failure error
	var deadline <-chan time.Time
	cancelCh := e.cancelCh
	fail := func(err error) {
		if failure != nil {
			return
		}
		failure = fmt.Errorf("attempt %d: %w", a.no, err)
		logger.Warn("job attempt failed; cancelling its other parts", "err", err)
		for _, p := range a.parts {
			if p.ended {
				continue
			}
			select {
			case p.calls <- func(ctx context.Context) error {
				_, err := p.client.CancelPart(ctx, &tmv1.CancelPartRequest{Part: a.ref(), Reason: err.Error()})
				return err
			}:
			default:
			}
		}
		wait := e.r.cfg.EndWait
		if e.canceled() {
			// Nothing restarts: do not hold a cancel (or a shutdown, when
			// PartEnded can no longer arrive) for long.
			wait = min(wait, 5*time.Second)
		}
		deadline = time.After(wait)
	}
	running := func() int {
		n := 0
		for _, p := range a.parts {
			if !p.ended {
				n++
			}
		}
		return n
	}
	for running() > 0 {
		select {
		case <-cancelCh:
			cancelCh = nil
			fail(errors.New("cancelled"))
		case <-deadline:
			logger.Warn("parts did not end after the attempt failed; going on without them", "parts", running())
			return failure
		case ev := <-e.events:
			if ev.kind != evLost && ev.attempt != a.no {
				continue
			}
			switch ev.kind {
			case evPartEnded:
				p := a.partOn(ev.tmID)
				if p == nil || p.ended {
					continue
				}
				p.ended, p.err = true, ev.err
				e.partResult(p, ev.res)
				if ev.err != "" {
					fail(fmt.Errorf("the part on task manager %s failed: %s", ev.tmID, ev.err))
				} else {
					logger.Info("part finished", "taskmanager", ev.tmID)
				}
			case evLost:
				p := a.partOn(ev.tm.ID)
				if p == nil || p.ended || p.grant.tm.Registration != ev.tm.Registration {
					continue
				}
				p.ended, p.err = true, "lost"
				e.mu.Lock()
				e.foldReport(p)
				e.mu.Unlock()
				fail(fmt.Errorf("task manager %s (%s) holding slots %v was lost: %s", ev.tm.ID, ev.tm.Address, p.grant.slots, ev.why))
			case evRPCFailed:
				if ev.tmID == "" { // the job manager's own side (split enumerators)
					fail(errors.New(ev.err))
				} else if p := a.partOn(ev.tmID); p != nil && !p.ended {
					fail(errors.New(ev.err))
				}
			}
		}
	}
	if failure != nil {
		return failure
	}
	a.mu.Lock()
	path := a.stopPath
	a.mu.Unlock()
	if path != "" {
		e.mu.Lock()
		e.savepointPath = path
		e.mu.Unlock()
		logger.Info("job stopped with a savepoint", "path", path)
	} else {
		logger.Info("job finished: every part ended")
	}
	return nil
}

// partResult adds an ended part's counts to the job's: its result, else
// (unreadable) its last live report; later reports are ignored.
func (e *remoteExec) partResult(p *remotePart, res *runtime.PartResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if res == nil {
		e.foldReport(p)
		return
	}
	p.done, p.report = true, nil
	for _, v := range res.Vertices {
		e.addRecords(v.ID, v.Parallelism, v.RecordsIn, v.RecordsOut)
	}
}

// addRecords adds to vertex id's counts. The caller holds e.mu.
func (e *remoteExec) addRecords(id string, parallelism int, in, out int64) {
	cur := e.records[id]
	if cur == nil {
		cur = &runtime.VertexResult{ID: id, Parallelism: parallelism}
		e.records[id] = cur
	}
	cur.RecordsIn += in
	cur.RecordsOut += out
}

// liveReport keeps a part's live status report when it is of the current
// attempt, from one of its parts, and that part's records are not counted
// yet.
func (e *remoteExec) liveReport(a *attemptRun, req *tmv1.PartStatusRequest) error {
	p := a.partOn(req.GetTaskmanagerId())
	if p == nil {
		return status.Errorf(codes.InvalidArgument, "status report: attempt %d of job %s has no part on task manager %q", a.no, e.job.ID, req.GetTaskmanagerId())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != a || p.done {
		return status.Errorf(codes.FailedPrecondition, "status report: the part of attempt %d of job %s on task manager %s is no longer current", a.no, e.job.ID, req.GetTaskmanagerId())
	}
	p.report = req
	return nil
}

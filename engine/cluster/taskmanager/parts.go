package taskmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	taskmanagerv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/exchange/netexchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
	"github.com/eddy-streaming/eddy/udf"
)

// PartsConfig configures Parts.
type PartsConfig struct {
	// ID names the task manager (PartEnded's taskmanager_id).
	ID string
	// Address is this task manager's gRPC address as its peers and the job
	// manager reach it: the network exchange's Self, which the deployed
	// slot_addresses must give for every slot deployed here.
	Address string
	// Exchange is the process's network-exchange server (registered on
	// the same gRPC server as Parts).
	Exchange *netexchange.Server
	// Connectors serves the jobs' sources and sinks.
	Connectors *connectors.Registry
	// Functions holds the user-defined functions jobs may call.
	Functions *udf.Registry
	// Operators builds operators; default operators.Factories().
	Operators map[string]operator.Factory
	// StateDir is where parts keep their keyed state's working files (in
	// Pebble, one directory per part, removed when it ends); default
	// os.TempDir().
	StateDir string
	// DialOptions dial the job manager and the other task managers: they
	// must carry transport credentials (TLS, or insecure) and, in a
	// cluster with a secret, membership.SecretCredentials.
	DialOptions []grpc.DialOption
	// Alloc allocates Arrow memory; default memory.DefaultAllocator.
	Alloc memory.Allocator
	// Registerer registers the parts' metrics, labelled job_id; nil: a
	// private registry per part.
	Registerer prometheus.Registerer
	// StateCacheSize is each part's Pebble block cache (0: Pebble state's
	// default).
	StateCacheSize int64
	// RetryFor bounds how long a call to the job manager is retried while
	// it is Unavailable (default 5 s; PartEnded is retried four times as
	// long).
	RetryFor time.Duration
	// StatusInterval is how often a running part reports its live status
	// to the job manager (JobControl.ReportStatus; default 1 s).
	StatusInterval time.Duration
	// Logger receives the parts' logs; default slog.Default().
	Logger *slog.Logger
}

// Parts runs the parts of job attempts the job manager deploys on this task
// manager: it implements taskmanagerv1.TaskManagerServer. One part runs per
// job: deploying a newer attempt of a job cancels the older one, and calls
// naming an attempt that is not the one running here are refused with
// FAILED_PRECONDITION. When a part ends it reports JobControl.PartEnded to
// the job manager that deployed it. Close cancels every part.
type Parts struct {
	taskmanagerv1.UnimplementedTaskManagerServer
	cfg PartsConfig

	// deploy serializes Deploys (a newer attempt waits for the older one
	// to end before it takes over the job's transport).
	deploy sync.Mutex

	mu    sync.Mutex
	parts map[string]*part // by job id
	// latest is the newest attempt of each job deployed here: older ones
	// are stale even once it has ended.
	latest map[string]int64
	conns  map[string]*grpc.ClientConn
	closed bool
	wg     sync.WaitGroup // the goroutines that wait for parts

	// ctx is cancelled by Close: retries to the job manager stop.
	ctx    context.Context
	cancel context.CancelFunc
}

// part is one running part of a job attempt.
type part struct {
	job     string
	attempt int64
	p       *runtime.Part
	// ended is closed when the part ended and its resources are released
	// (its end may still be being reported).
	ended chan struct{}
}

// NewParts returns a Parts with nothing running.
func NewParts(cfg PartsConfig) (*Parts, error) {
	switch {
	case cfg.Address == "":
		return nil, errors.New("taskmanager: parts: no address (PartsConfig.Address)")
	case cfg.Exchange == nil:
		return nil, errors.New("taskmanager: parts: no network-exchange server (PartsConfig.Exchange)")
	case cfg.Connectors == nil:
		return nil, errors.New("taskmanager: parts: no connector registry (PartsConfig.Connectors)")
	case len(cfg.DialOptions) == 0:
		return nil, errors.New("taskmanager: parts: no dial options (PartsConfig.DialOptions needs transport credentials)")
	}
	if cfg.Operators == nil {
		cfg.Operators = operators.Factories()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Alloc == nil {
		cfg.Alloc = memory.DefaultAllocator
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 5 * time.Second
	}
	if cfg.ID == "" {
		cfg.ID = cfg.Address
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Parts{cfg: cfg, parts: map[string]*part{}, latest: map[string]int64{}, conns: map[string]*grpc.ClientConn{}, ctx: ctx, cancel: cancel}, nil
}

// Running returns the job attempts running here, as "job/attempt", sorted.
func (ps *Parts) Running() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for _, p := range ps.parts {
		out = append(out, fmt.Sprintf("%s/%d", p.job, p.attempt))
	}
	sort.Strings(out)
	return out
}

// CancelAll cancels every running part with reason and waits until each
// has ended (its resources released; its end may still be being
// reported). A task manager that lost its job manager calls it before it
// registers again: a new job manager deploys new attempts, and no part of
// an old one may commit output after the new attempt recovered its sinks.
func (ps *Parts) CancelAll(reason string) {
	ps.mu.Lock()
	running := make([]*part, 0, len(ps.parts))
	for _, p := range ps.parts {
		running = append(running, p)
	}
	ps.mu.Unlock()
	for _, p := range running {
		p.p.Cancel(errors.New(reason))
	}
	for _, p := range running {
		<-p.ended
	}
}

// Close cancels every running part, waits until each has ended and
// reported its end (briefly: the job manager may be gone), and closes the
// connections to job managers. Deploys after Close fail.
func (ps *Parts) Close() error {
	ps.mu.Lock()
	ps.closed = true
	running := make([]*part, 0, len(ps.parts))
	for _, p := range ps.parts {
		running = append(running, p)
	}
	ps.mu.Unlock()
	for _, p := range running {
		p.p.Cancel(errors.New("the task manager is shutting down"))
	}
	// Give the reports a moment, then stop retrying.
	t := time.AfterFunc(2*time.Second, ps.cancel)
	ps.wg.Wait()
	t.Stop()
	ps.cancel()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var errs []error
	for addr, cc := range ps.conns {
		if err := cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the connection to job manager %s: %w", addr, err))
		}
	}
	ps.conns = map[string]*grpc.ClientConn{}
	return errors.Join(errs...)
}

// conn returns the (shared) client connection to the job manager at addr.
func (ps *Parts) conn(addr string) (*grpc.ClientConn, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if cc, ok := ps.conns[addr]; ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, ps.cfg.DialOptions...)
	if err != nil {
		return nil, err
	}
	ps.conns[addr] = cc
	return cc, nil
}

// lookup returns the running part of ref's job when it is ref's attempt.
func (ps *Parts) lookup(ref *taskmanagerv1.PartRef) (*part, error) {
	if ref.GetJobId() == "" {
		return nil, status.Error(codes.InvalidArgument, "part: no job_id")
	}
	ps.mu.Lock()
	p := ps.parts[ref.GetJobId()]
	ps.mu.Unlock()
	switch {
	case p == nil:
		return nil, status.Errorf(codes.FailedPrecondition, "job %s attempt %d: no part of the job runs on task manager %s", ref.GetJobId(), ref.GetAttempt(), ps.cfg.ID)
	case p.attempt != ref.GetAttempt():
		return nil, status.Errorf(codes.FailedPrecondition, "job %s attempt %d: not current on task manager %s (attempt %d runs here)", ref.GetJobId(), ref.GetAttempt(), ps.cfg.ID, p.attempt)
	}
	return p, nil
}

// deployed is what Deploy decoded and checked.
type deployed struct {
	g       *jobgraph.Graph
	slots   map[int]bool
	addrs   map[int]string
	restore *checkpoint.Metadata
}

// decode checks a DeployRequest against this task manager.
func (ps *Parts) decode(req *taskmanagerv1.DeployRequest) (*deployed, error) {
	ref := req.GetPart()
	if ref.GetJobId() == "" {
		return nil, errors.New("part: no job_id")
	}
	if ref.GetAttempt() < 0 {
		return nil, fmt.Errorf("part: attempt %d < 0", ref.GetAttempt())
	}
	if req.GetJobManager() == "" {
		return nil, errors.New("job_manager: no address to report to")
	}
	d := &deployed{g: &jobgraph.Graph{}, slots: map[int]bool{}, addrs: map[int]string{}}
	if err := json.Unmarshal(req.GetGraphJson(), d.g); err != nil {
		return nil, fmt.Errorf("graph_json: %w", err)
	}
	if len(d.g.Vertices) == 0 {
		return nil, errors.New("graph_json: the graph has no vertex")
	}
	switch mp := int(req.GetMaxParallelism()); {
	case mp < 0:
		return nil, fmt.Errorf("max_parallelism %d < 0", mp)
	case mp > 0 && d.g.MaxParallelism == 0:
		d.g.MaxParallelism = mp
	case mp > 0 && d.g.MaxParallelism != mp:
		return nil, fmt.Errorf("max_parallelism %d differs from the graph's %d", mp, d.g.MaxParallelism)
	}
	p := 1
	for _, v := range d.g.Vertices {
		p = max(p, v.Parallelism)
	}
	for s, addr := range req.GetSlotAddresses() {
		if s < 0 || int(s) >= p {
			return nil, fmt.Errorf("slot_addresses: slot %d is outside the job's %d slots", s, p)
		}
		if addr == "" {
			return nil, fmt.Errorf("slot_addresses: slot %d has no address", s)
		}
		d.addrs[int(s)] = addr
	}
	for s := range p {
		if d.addrs[s] == "" {
			return nil, fmt.Errorf("slot_addresses: slot %d of the job's %d has no address", s, p)
		}
	}
	if len(req.GetSlots()) == 0 {
		return nil, errors.New("slots: none given")
	}
	for _, s := range req.GetSlots() {
		switch {
		case s < 0 || int(s) >= p:
			return nil, fmt.Errorf("slots: slot %d is outside the job's %d slots", s, p)
		case d.slots[int(s)]:
			return nil, fmt.Errorf("slots: slot %d given twice", s)
		case d.addrs[int(s)] != ps.cfg.Address:
			return nil, fmt.Errorf("slots: slot %d is placed at %s, but this task manager is %s", s, d.addrs[int(s)], ps.cfg.Address)
		}
		d.slots[int(s)] = true
	}
	if len(req.GetRestoreJson()) > 0 {
		d.restore = &checkpoint.Metadata{}
		if err := json.Unmarshal(req.GetRestoreJson(), d.restore); err != nil {
			return nil, fmt.Errorf("restore_json: %w", err)
		}
		if req.GetCheckpointDir() == "" && req.GetRestoreDir() == "" {
			return nil, errors.New("restore_json: set, but neither checkpoint_dir nor restore_dir says where its files are")
		}
	}
	return d, nil
}

// Deploy implements taskmanagerv1.TaskManagerServer: it starts the part
// (its gates are ready when it returns). An older attempt of the job
// running here is cancelled first; the same or a newer one is refused
// with FAILED_PRECONDITION.
func (ps *Parts) Deploy(ctx context.Context, req *taskmanagerv1.DeployRequest) (*taskmanagerv1.DeployResponse, error) {
	d, err := ps.decode(req)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "deploy job %s attempt %d on task manager %s: %v", req.GetPart().GetJobId(), req.GetPart().GetAttempt(), ps.cfg.ID, err)
	}
	job, attempt := req.GetPart().GetJobId(), req.GetPart().GetAttempt()
	ps.deploy.Lock()
	defer ps.deploy.Unlock()

	ps.mu.Lock()
	closed, old, latest := ps.closed, ps.parts[job], ps.latest[job]
	ps.mu.Unlock()
	if closed {
		return nil, status.Errorf(codes.Unavailable, "deploy job %s attempt %d: task manager %s is shutting down", job, attempt, ps.cfg.ID)
	}
	if old == nil && latest >= attempt && latest > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "deploy job %s attempt %d: stale, attempt %d was deployed on task manager %s", job, attempt, latest, ps.cfg.ID)
	}
	if old != nil {
		if old.attempt >= attempt {
			return nil, status.Errorf(codes.FailedPrecondition, "deploy job %s attempt %d: stale, attempt %d already runs on task manager %s", job, attempt, old.attempt, ps.cfg.ID)
		}
		ps.cfg.Logger.Info("a newer attempt supersedes the running part", "job_id", job, "old_attempt", old.attempt, "attempt", attempt)
		old.p.Cancel(fmt.Errorf("superseded by attempt %d", attempt))
		select {
		case <-old.ended:
		case <-ctx.Done():
			return nil, status.Errorf(codes.DeadlineExceeded, "deploy job %s attempt %d: waiting for attempt %d to end: %v", job, attempt, old.attempt, ctx.Err())
		}
	}
	cc, err := ps.conn(req.GetJobManager())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "deploy job %s attempt %d: job_manager %q: %v", job, attempt, req.GetJobManager(), err)
	}
	logger := ps.cfg.Logger.With("job_id", job, "attempt", attempt)
	ref := &taskmanagerv1.PartRef{JobId: job, Attempt: attempt}
	p, cleanup, err := ps.start(req, d, ref, taskmanagerv1.NewJobControlClient(cc), logger)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "deploy job %s attempt %d on task manager %s: %v", job, attempt, ps.cfg.ID, err)
	}
	pt := &part{job: job, attempt: attempt, p: p, ended: make(chan struct{})}
	ps.mu.Lock()
	ps.parts[job] = pt
	ps.latest[job] = attempt
	ps.wg.Add(1)
	ps.mu.Unlock()
	slots := make([]int, 0, len(d.slots))
	for s := range d.slots {
		slots = append(slots, s)
	}
	sort.Ints(slots)
	logger.Info("part deployed", "slots", slots, "restore", d.restore != nil)
	go ps.await(pt, cleanup, ref, taskmanagerv1.NewJobControlClient(cc), logger)
	return &taskmanagerv1.DeployResponse{}, nil
}

// start builds the part's options, state, transport and link and runs it.
// cleanup releases the state once the part has ended.
func (ps *Parts) start(req *taskmanagerv1.DeployRequest, d *deployed, ref *taskmanagerv1.PartRef, jc taskmanagerv1.JobControlClient, logger *slog.Logger) (*runtime.Part, func() error, error) {
	var st checkpoint.Storage
	var err error
	if dir := req.GetCheckpointDir(); dir != "" {
		if st, err = checkpoint.NewDirStorage(dir, 0); err != nil {
			return nil, nil, fmt.Errorf("checkpoint_dir: %w", err)
		}
	}
	if rd := req.GetRestoreDir(); d.restore != nil && rd != "" && rd != req.GetCheckpointDir() {
		from, err := checkpoint.NewDirStorage(rd, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("restore_dir: %w", err)
		}
		if st == nil {
			st = from
		} else {
			st = restoreStorage{Storage: st, from: from}
		}
	}
	work, err := os.MkdirTemp(ps.cfg.StateDir, "part-"+safeName(ref.GetJobId())+fmt.Sprintf("-%d-", ref.GetAttempt()))
	if err != nil {
		return nil, nil, fmt.Errorf("keyed state: %w", err)
	}
	prov, err := pebblestate.New(pebblestate.Config{Dir: work, CacheSize: ps.cfg.StateCacheSize, Logger: logger})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("keyed state: %w", err), os.RemoveAll(work))
	}
	cleanup := func() error { return errors.Join(prov.Close(), os.RemoveAll(work)) }
	addrs := d.addrs
	tr, err := netexchange.New(ps.cfg.Exchange, netexchange.Config{
		Job: ref.GetJobId(), Attempt: ref.GetAttempt(), Self: ps.cfg.Address, Allocator: ps.cfg.Alloc,
		Placement:   func(id exchange.ChannelID) string { return addrs[id.To] },
		DialOptions: ps.cfg.DialOptions,
	})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("network exchange: %w", err), cleanup())
	}
	var reg prometheus.Registerer
	if ps.cfg.Registerer != nil {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"job_id": ref.GetJobId()}, ps.cfg.Registerer)
	}
	opts := runtime.Options{
		Connectors: ps.cfg.Connectors, Operators: ps.cfg.Operators, Functions: ps.cfg.Functions,
		Alloc: ps.cfg.Alloc, Logger: logger, Registerer: reg, State: prov, Config: req.GetConfig(),
		CheckpointStorage: st, Restore: d.restore,
	}
	var link runtime.CoordinatorLink
	if req.GetCheckpointDir() != "" {
		link = &jobLink{ps: ps, jc: jc, ref: ref, logger: logger}
	}
	slots := d.slots
	// The part outlives the Deploy call: its context is the task
	// manager's, cancelled by Close through Cancel.
	p, err := runtime.RunPart(ps.ctx, d.g, opts, runtime.PartConfig{
		Local:       func(_ string, subtask int) bool { return slots[subtask] },
		Transport:   tr,
		Coordinator: link,
		Attempt:     ref.GetAttempt(),
	})
	if err != nil { // RunPart closed the transport
		return nil, nil, errors.Join(err, cleanup())
	}
	return p, cleanup, nil
}

// await waits for a part to end, releases its state and reports its end.
func (ps *Parts) await(pt *part, cleanup func() error, ref *taskmanagerv1.PartRef, jc taskmanagerv1.JobControlClient, logger *slog.Logger) {
	defer ps.wg.Done()
	stopReports := ps.reportStatus(pt, ref, jc, logger)
	res, perr := pt.p.Wait()
	last := stopReports()
	if err := cleanup(); err != nil {
		logger.Warn("releasing the part's keyed state", "err", err)
	}
	ps.mu.Lock()
	if ps.parts[pt.job] == pt {
		delete(ps.parts, pt.job)
	}
	ps.mu.Unlock()
	close(pt.ended)
	ps.sendStatus(pt, ref, jc, logger, &last, true)
	req := &taskmanagerv1.PartEndedRequest{Part: ref, TaskmanagerId: ps.cfg.ID}
	if perr != nil {
		req.Error = perr.Error()
	}
	if res != nil {
		data, err := json.Marshal(res)
		if err != nil {
			logger.Warn("encoding the part's result", "err", err)
		}
		req.ResultJson = data
	}
	err := ps.retry(4*ps.cfg.RetryFor, func(ctx context.Context) error {
		_, err := jc.PartEnded(ctx, req)
		return err
	})
	if err != nil {
		logger.Warn("the part's end was not reported to the job manager", "part_err", req.Error, "err", err)
	}
}

// reportStatus reports pt's live status to the job manager every
// StatusInterval until the returned stop is called; stop waits for the
// reporting goroutine and returns the last snapshot sent (the zero
// PartStatus when none was), from which the final report's back-pressure
// is measured.
func (ps *Parts) reportStatus(pt *part, ref *taskmanagerv1.PartRef, jc taskmanagerv1.JobControlClient, logger *slog.Logger) (stop func() runtime.PartStatus) {
	quit := make(chan struct{})
	done := make(chan struct{})
	var last runtime.PartStatus
	go func() {
		defer close(done)
		t := time.NewTicker(ps.cfg.StatusInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ps.ctx.Done():
				return
			case <-t.C:
				ps.sendStatus(pt, ref, jc, logger, &last, false)
			}
		}
	}()
	return func() runtime.PartStatus {
		close(quit)
		<-done
		return last
	}
}

// sendStatus sends one status report of pt (final: its last, once it has
// ended), its back-pressure measured since *prev, which it then replaces.
// A report that fails is logged at debug level: the next one replaces it,
// and the part never fails for it.
func (ps *Parts) sendStatus(pt *part, ref *taskmanagerv1.PartRef, jc taskmanagerv1.JobControlClient, logger *slog.Logger, prev *runtime.PartStatus, final bool) {
	st := pt.p.Status()
	if !prev.At.IsZero() {
		st.Since(*prev)
	}
	*prev = st
	req := &taskmanagerv1.PartStatusRequest{Part: ref, TaskmanagerId: ps.cfg.ID, Final: final,
		Vertices: make([]*taskmanagerv1.VertexStatus, 0, len(st.Vertices))}
	for _, v := range st.Vertices {
		vs := &taskmanagerv1.VertexStatus{Vertex: v.ID, Subtasks: int32(v.Subtasks), RecordsIn: v.RecordsIn,
			RecordsOut: v.RecordsOut, Backpressure: v.Backpressure}
		switch v.Watermark {
		case stream.MinWatermark:
			vs.WatermarkState = taskmanagerv1.WatermarkState_WATERMARK_STATE_NONE
		case stream.MaxWatermark:
			vs.WatermarkState = taskmanagerv1.WatermarkState_WATERMARK_STATE_ENDED
		default:
			vs.WatermarkState, vs.WatermarkMs = taskmanagerv1.WatermarkState_WATERMARK_STATE_SET, v.Watermark
		}
		req.Vertices = append(req.Vertices, vs)
	}
	ctx, cancel := context.WithTimeout(ps.ctx, max(ps.cfg.StatusInterval, time.Second))
	defer cancel()
	if _, err := jc.ReportStatus(ctx, req); err != nil {
		logger.Debug("live status not reported to the job manager", "final", final, "err", err)
	}
}

// retry calls f until it succeeds, fails otherwise than Unavailable, or
// for has passed (or Close gave up).
func (ps *Parts) retry(for_ time.Duration, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ps.ctx, for_)
	defer cancel()
	backoff := 20 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil || status.Code(err) != codes.Unavailable {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// TriggerBarrier implements taskmanagerv1.TaskManagerServer.
func (ps *Parts) TriggerBarrier(ctx context.Context, req *taskmanagerv1.TriggerBarrierRequest) (*taskmanagerv1.Empty, error) {
	p, err := ps.lookup(req.GetPart())
	if err != nil {
		return nil, err
	}
	if req.GetCheckpointId() <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "trigger barrier: checkpoint_id %d <= 0", req.GetCheckpointId())
	}
	p.p.Trigger(stream.Barrier{CheckpointID: req.GetCheckpointId(), TimestampMs: req.GetTimestampMs(), Savepoint: req.GetSavepoint()}, req.GetHalt())
	return &taskmanagerv1.Empty{}, nil
}

// ResumeSources implements taskmanagerv1.TaskManagerServer.
func (ps *Parts) ResumeSources(ctx context.Context, ref *taskmanagerv1.PartRef) (*taskmanagerv1.Empty, error) {
	p, err := ps.lookup(ref)
	if err != nil {
		return nil, err
	}
	p.p.Resume()
	return &taskmanagerv1.Empty{}, nil
}

// NotifyComplete implements taskmanagerv1.TaskManagerServer.
func (ps *Parts) NotifyComplete(ctx context.Context, req *taskmanagerv1.NotifyCompleteRequest) (*taskmanagerv1.Empty, error) {
	p, err := ps.lookup(req.GetPart())
	if err != nil {
		return nil, err
	}
	p.p.Complete(req.GetCheckpointId(), req.GetStop())
	return &taskmanagerv1.Empty{}, nil
}

// AssignSplits implements taskmanagerv1.TaskManagerServer: the splits are
// queued at their source subtask before it returns.
func (ps *Parts) AssignSplits(ctx context.Context, req *taskmanagerv1.AssignSplitsRequest) (*taskmanagerv1.Empty, error) {
	p, err := ps.lookup(req.GetPart())
	if err != nil {
		return nil, err
	}
	a := runtime.SplitAssignment{Vertex: req.GetVertex(), Operator: req.GetOperator(), Subtask: int(req.GetSubtask()), NoMore: req.GetNoMore()}
	for _, sp := range req.GetSplits() {
		a.Splits = append(a.Splits, connectors.Split{ID: sp.GetId(), State: sp.GetState()})
	}
	if err := p.p.AssignSplits(ctx, a); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "assign splits: %v", err)
	}
	return &taskmanagerv1.Empty{}, nil
}

// StopPart implements taskmanagerv1.TaskManagerServer.
func (ps *Parts) StopPart(ctx context.Context, ref *taskmanagerv1.PartRef) (*taskmanagerv1.Empty, error) {
	p, err := ps.lookup(ref)
	if err != nil {
		return nil, err
	}
	p.p.Stop()
	return &taskmanagerv1.Empty{}, nil
}

// CancelPart implements taskmanagerv1.TaskManagerServer. It returns at
// once; the part's end is reported through PartEnded.
func (ps *Parts) CancelPart(ctx context.Context, req *taskmanagerv1.CancelPartRequest) (*taskmanagerv1.Empty, error) {
	p, err := ps.lookup(req.GetPart())
	if err != nil {
		return nil, err
	}
	reason := req.GetReason()
	if reason == "" {
		reason = "cancelled by the job manager"
	}
	p.p.Cancel(errors.New(reason))
	return &taskmanagerv1.Empty{}, nil
}

// jobLink is a part's runtime.CoordinatorLink: JobControl calls to the job
// manager, retried briefly while it is Unavailable.
type jobLink struct {
	ps     *Parts
	jc     taskmanagerv1.JobControlClient
	ref    *taskmanagerv1.PartRef
	logger *slog.Logger
}

// call runs f with retries bounded by ctx and the configured time.
func (l *jobLink) call(ctx context.Context, what string, f func(ctx context.Context) error) error {
	err := l.ps.retry(l.ps.cfg.RetryFor, func(rctx context.Context) error {
		cctx, cancel := mergeCancel(rctx, ctx)
		defer cancel()
		return f(cctx)
	})
	if err != nil {
		return fmt.Errorf("taskmanager %s: job %s attempt %d: %s to the job manager: %w", l.ps.cfg.ID, l.ref.GetJobId(), l.ref.GetAttempt(), what, err)
	}
	return nil
}

// Ack implements runtime.CoordinatorLink.
func (l *jobLink) Ack(ctx context.Context, a runtime.SubtaskAck) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("taskmanager: encoding the ack of checkpoint %d (vertex %s, subtask %d): %w", a.CheckpointID, a.Vertex, a.Subtask, err)
	}
	return l.call(ctx, fmt.Sprintf("acknowledging checkpoint %d (vertex %s, subtask %d)", a.CheckpointID, a.Vertex, a.Subtask), func(ctx context.Context) error {
		_, err := l.jc.Ack(ctx, &taskmanagerv1.AckRequest{Part: l.ref, AckJson: data})
		return err
	})
}

// SourceEnded implements runtime.CoordinatorLink.
func (l *jobLink) SourceEnded(ctx context.Context, e runtime.SourceEnd) error {
	return l.call(ctx, fmt.Sprintf("reporting the end of source %s subtask %d", e.Vertex, e.Subtask), func(ctx context.Context) error {
		_, err := l.jc.SourceEnded(ctx, &taskmanagerv1.SourceEndedRequest{Part: l.ref, Vertex: e.Vertex, Subtask: int32(e.Subtask), LastBarrier: e.LastBarrier})
		return err
	})
}

// CommittedUpTo implements runtime.CoordinatorLink.
func (l *jobLink) CommittedUpTo(ctx context.Context, id int64) error {
	return l.call(ctx, fmt.Sprintf("reporting the commit of stop savepoint %d", id), func(ctx context.Context) error {
		_, err := l.jc.CommittedUpTo(ctx, &taskmanagerv1.CommittedUpToRequest{Part: l.ref, CheckpointId: id})
		return err
	})
}

// mergeCancel returns a context of a that is also cancelled when b is.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(a)
	stop := context.AfterFunc(b, func() { cancel(context.Cause(b)) })
	return ctx, func() { stop(); cancel(nil) }
}

// restoreStorage is a part's checkpoint storage when it restores from
// another directory (a savepoint): new files go to the job's storage,
// shared files it lacks are read from the restore directory. HasShared
// answers for the job's storage alone, so new checkpoints copy what they
// keep of the restored files.
type restoreStorage struct {
	checkpoint.Storage
	from checkpoint.Storage
}

// OpenShared implements checkpoint.Storage.
func (s restoreStorage) OpenShared(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := s.Storage.OpenShared(ctx, name)
	if err == nil {
		return r, nil
	}
	r2, err2 := s.from.OpenShared(ctx, name)
	if err2 != nil {
		return nil, errors.Join(err, err2)
	}
	return r2, nil
}

// safeName keeps the letters, digits, '-' and '_' of s (for directory
// names).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

var _ taskmanagerv1.TaskManagerServer = (*Parts)(nil)

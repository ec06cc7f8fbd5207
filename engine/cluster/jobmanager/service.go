package jobmanager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	jmv1 "github.com/eddy-streaming/eddy/api/jobmanager/v1"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// Dir is the checkpoint directory: job records in Dir/jobs, each
	// job's checkpoints in Dir/<id>.
	Dir string
	// Compiler compiles SQL; Runner runs jobs.
	Compiler Compiler
	Runner   Runner
	// Members, when set, are the task managers registered over the
	// cluster protocol (engine/cluster/membership), listed next to the
	// runner's.
	Members *membership.Registry
	// Logger receives the service's logs; default slog.Default().
	Logger *slog.Logger
}

// Service implements the gRPC service eddy.jobmanager.v1.JobManager: the
// registry of jobs and their state machine.
type Service struct {
	jmv1.UnimplementedJobManagerServer
	cfg    ServiceConfig
	store  *store
	logger *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*jobEntry
	closing bool
	wg      sync.WaitGroup // watchers
	// stopWatch ends the goroutine that starts waiting jobs when the
	// runner's slots change (a slotNotifier runner only).
	stopWatch chan struct{}
}

// slotNotifier is a Runner whose slots change on their own (task managers
// join): the service then starts the jobs waiting for slots.
type slotNotifier interface {
	SlotsChanged() <-chan struct{}
}

// jobEntry is a job in the registry; its fields are guarded by
// Service.mu.
type jobEntry struct {
	rec     *jobRecord
	graph   *jobgraph.Graph
	storage checkpoint.Storage
	restore *checkpoint.Metadata
	exec    Execution
	// ended is closed once the job reached a terminal state (or the
	// service closed).
	ended           chan struct{}
	cancelRequested bool
	lastStatus      *ExecStatus
	interval        time.Duration
}

// NewService opens the job store under cfg.Dir and resumes the jobs that
// were CREATED, RUNNING or RESTARTING, from their latest checkpoint.
func NewService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if cfg.Dir == "" || cfg.Compiler == nil || cfg.Runner == nil {
		return nil, fmt.Errorf("jobmanager: a checkpoint directory, a compiler and a runner are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := openStore(filepath.Join(cfg.Dir, "jobs"))
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, logger: cfg.Logger, jobs: map[string]*jobEntry{}, stopWatch: make(chan struct{})}
	if n, ok := cfg.Runner.(slotNotifier); ok {
		s.wg.Add(1)
		go s.watchSlots(n)
	}
	recs, bad, err := st.load()
	if err != nil {
		return nil, err
	}
	for _, e := range bad {
		s.logger.Warn("skipping a job record", "err", e)
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].CreatedAt.Before(recs[b].CreatedAt) })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		e := &jobEntry{rec: r, ended: make(chan struct{})}
		s.jobs[r.ID] = e
		if terminal(r.State) {
			close(e.ended)
			continue
		}
		s.logger.Info("resuming job", "job_id", r.ID, "name", r.Name, "state", r.State)
		if err := s.prepare(ctx, e, true); err != nil {
			s.failLocked(e, fmt.Errorf("resume: %w", err))
			continue
		}
		s.scheduleLocked(ctx, e)
	}
	return s, nil
}

// watchSlots starts the jobs waiting for slots whenever n's change, until
// Close.
func (s *Service) watchSlots(n slotNotifier) {
	defer s.wg.Done()
	for {
		// Take the channel before looking at the slots: a change after
		// the look closes it, so none is missed.
		changed := n.SlotsChanged()
		s.mu.Lock()
		s.scheduleWaitingLocked()
		s.mu.Unlock()
		select {
		case <-s.stopWatch:
			return
		case <-changed:
		}
	}
}

// Close cancels the running jobs without recording it (their records keep
// their states, so a job manager started on the same directory resumes
// them) and waits for them to end.
func (s *Service) Close() {
	s.mu.Lock()
	if !s.closing {
		close(s.stopWatch)
	}
	s.closing = true
	for _, e := range s.jobs {
		if e.exec != nil {
			e.exec.Cancel()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// newID returns a random job ID: 16 hex digits.
func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("job id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// sqlStatus turns a compile error into a status: InvalidArgument with an
// SQLError detail for errors in the SQL text.
func sqlStatus(err error) error {
	var se *SQLError
	if errors.As(err, &se) {
		st := status.New(codes.InvalidArgument, se.Message)
		if d, derr := st.WithDetails(&jmv1.SQLError{Line: int32(se.Line), Column: int32(se.Column), Message: se.Message}); derr == nil {
			st = d
		}
		return st.Err()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.InvalidArgument, "%v", err)
}

func checkParallelism(p int32) (int, error) {
	switch {
	case p < 0:
		return 0, status.Errorf(codes.InvalidArgument, "parallelism must be at least 1, got %d", p)
	case p == 0:
		return 1, nil
	}
	return int(p), nil
}

func checkSQL(sql string) error {
	if strings.TrimSpace(sql) == "" {
		return status.Error(codes.InvalidArgument, "sql is empty: send the script's statements in \"sql\"")
	}
	return nil
}

// SubmitJob implements JobManagerServer.
func (s *Service) SubmitJob(ctx context.Context, req *jmv1.SubmitJobRequest) (*jmv1.SubmitJobResponse, error) {
	if err := checkSQL(req.GetSql()); err != nil {
		return nil, err
	}
	p, err := checkParallelism(req.GetParallelism())
	if err != nil {
		return nil, err
	}
	var interval time.Duration
	if iv := strings.TrimSpace(req.GetCheckpointInterval()); iv != "" {
		if interval, err = time.ParseDuration(iv); err != nil || interval < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "checkpoint_interval %q: want a non-negative Go duration such as \"500ms\" or \"2s\"", iv)
		}
	}
	if total := s.cfg.Runner.TotalSlots(); p > total {
		return nil, status.Errorf(codes.InvalidArgument, "parallelism %d needs %d slots; the cluster has %d", p, p, total)
	}
	id, err := newID()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	name := strings.TrimSpace(req.GetName())
	if name == "" {
		name = "job-" + id
	}
	rec := &jobRecord{
		ID: id, Name: name, SQL: req.GetSql(), Parallelism: p, CheckpointInterval: strings.TrimSpace(req.GetCheckpointInterval()),
		FromSavepoint: strings.TrimSpace(req.GetFromSavepoint()), State: StateCreated, CreatedAt: time.Now().UTC(),
	}
	e := &jobEntry{rec: rec, ended: make(chan struct{}), interval: interval}
	if err := s.prepare(ctx, e, false); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, status.Error(codes.Unavailable, "the job manager is shutting down")
	}
	if err := s.store.put(rec); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.jobs[id] = e
	s.logger.Info("job submitted", "job_id", id, "name", name, "parallelism", p)
	s.scheduleLocked(ctx, e)
	return &jmv1.SubmitJobResponse{Id: id}, nil
}

// prepare compiles e's SQL, opens its checkpoint storage and finds what it
// restores from: on resume its newest checkpoint or savepoint, else (or
// when it has none) its from_savepoint. Errors are statuses.
func (s *Service) prepare(ctx context.Context, e *jobEntry, resume bool) error {
	r := e.rec
	if r.CheckpointInterval != "" && e.interval == 0 {
		d, err := time.ParseDuration(r.CheckpointInterval)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "checkpoint_interval %q: %v", r.CheckpointInterval, err)
		}
		e.interval = d
	}
	c, err := s.cfg.Compiler.Compile(ctx, CompileRequest{Name: r.Name, SQL: r.SQL, Parallelism: r.Parallelism})
	if err != nil {
		return sqlStatus(err)
	}
	if c.Graph == nil {
		return status.Error(codes.InvalidArgument, "the script has no INSERT or query to run (only DDL or EXPLAIN statements)")
	}
	st, err := checkpoint.NewDirStorage(filepath.Join(s.cfg.Dir, r.ID), 0)
	if err != nil {
		return status.Errorf(codes.Internal, "checkpoint storage: %v", err)
	}
	e.graph, e.storage = c.Graph, st
	var m *checkpoint.Metadata
	if resume {
		var skipped []error
		m, skipped, err = checkpoint.FindRestore(ctx, st, filepath.Join(s.cfg.Dir, r.ID))
		for _, sk := range skipped {
			s.logger.Warn("skipping a damaged checkpoint", "job_id", r.ID, "err", sk)
		}
		if err != nil {
			return status.Errorf(codes.FailedPrecondition, "find the latest checkpoint: %v", err)
		}
		if m != nil {
			s.logger.Info("job resumes from its latest checkpoint", "job_id", r.ID, "checkpoint", m.ID, "savepoint", m.Savepoint)
		}
	}
	if m == nil && r.FromSavepoint != "" {
		var skipped []error
		m, skipped, err = checkpoint.FindRestore(ctx, st, r.FromSavepoint)
		for _, sk := range skipped {
			s.logger.Warn("skipping a damaged checkpoint", "job_id", r.ID, "err", sk)
		}
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "from_savepoint: %v", err)
		}
		if m == nil {
			return status.Errorf(codes.InvalidArgument, "from_savepoint %s: no complete checkpoint or savepoint there", r.FromSavepoint)
		}
		s.logger.Info("job starts from savepoint", "job_id", r.ID, "path", r.FromSavepoint, "checkpoint", m.ID)
	}
	if resume && m == nil {
		s.logger.Info("job has no complete checkpoint; it starts from the beginning", "job_id", r.ID)
	}
	e.restore = m
	return nil
}

// scheduleLocked starts e when the runner has the slots; otherwise e waits
// in CREATED with a message.
func (s *Service) scheduleLocked(ctx context.Context, e *jobEntry) {
	r := e.rec
	ex, err := s.cfg.Runner.Start(ctx, JobSpec{ID: r.ID, Name: r.Name, CheckpointInterval: e.interval}, e.graph, e.restore, e.storage)
	if errors.Is(err, ErrNoSlots) {
		msg := "waiting for slots: " + err.Error()
		if r.State != StateCreated || r.Message != msg {
			r.State, r.Message = StateCreated, msg
			s.putLocked(e)
		}
		return
	}
	if err != nil {
		s.failLocked(e, err)
		return
	}
	e.exec = ex
	r.State, r.Message = StateRunning, ""
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now().UTC()
	}
	s.putLocked(e)
	s.wg.Add(1)
	go s.watch(e, ex)
}

// putLocked records e, logging a failure (the job runs on).
func (s *Service) putLocked(e *jobEntry) {
	if err := s.store.put(e.rec); err != nil {
		s.logger.Error("cannot record job", "job_id", e.rec.ID, "err", err)
	}
}

// failLocked ends e as FAILED with err.
func (s *Service) failLocked(e *jobEntry, err error) {
	r := e.rec
	now := time.Now().UTC()
	r.State, r.Message, r.EndedAt = StateFailed, err.Error(), now
	r.Failures = append(r.Failures, failureRecord{Time: now, Message: err.Error()})
	s.putLocked(e)
	s.logger.Error("job failed", "job_id", r.ID, "err", err)
	select {
	case <-e.ended:
	default:
		close(e.ended)
	}
}

// watch waits for ex to end and records how.
func (s *Service) watch(e *jobEntry, ex Execution) {
	defer s.wg.Done()
	<-ex.Done()
	err := ex.Err()
	st := ex.Status()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.lastStatus = &st
	e.exec = nil
	r := e.rec
	r.Restarts = st.Restarts
	r.Failures = r.Failures[:0]
	for _, f := range st.Failures {
		r.Failures = append(r.Failures, failureRecord{Time: f.Time.UTC(), Message: f.Message})
	}
	now := time.Now().UTC()
	switch {
	case err == nil && st.SavepointPath != "":
		r.State, r.SavepointPath, r.Message = StateCanceled, st.SavepointPath, "stopped with savepoint "+st.SavepointPath
	case err == nil:
		r.State, r.Message = StateFinished, ""
	case e.cancelRequested:
		r.State, r.Message = StateCanceled, "canceled"
	case s.closing:
		// The job manager is shutting down: the record keeps its state
		// so that the next job manager resumes the job.
		s.logger.Info("job interrupted by shutdown; it resumes when a job manager starts on the same directory", "job_id", r.ID)
		close(e.ended)
		s.scheduleWaitingLocked()
		return
	default:
		r.State, r.Message = StateFailed, err.Error()
		if len(st.Failures) == 0 || st.Failures[len(st.Failures)-1].Message != err.Error() {
			r.Failures = append(r.Failures, failureRecord{Time: now, Message: err.Error()})
		}
	}
	r.EndedAt = now
	s.putLocked(e)
	s.logger.Info("job ended", "job_id", r.ID, "state", r.State)
	close(e.ended)
	s.scheduleWaitingLocked()
}

// scheduleWaitingLocked starts waiting jobs, oldest first, while slots
// allow.
func (s *Service) scheduleWaitingLocked() {
	if s.closing {
		return
	}
	var waiting []*jobEntry
	for _, e := range s.jobs {
		if e.rec.State == StateCreated && e.exec == nil && e.graph != nil {
			waiting = append(waiting, e)
		}
	}
	sort.Slice(waiting, func(a, b int) bool { return waiting[a].rec.CreatedAt.Before(waiting[b].rec.CreatedAt) })
	for _, e := range waiting {
		s.scheduleLocked(context.Background(), e)
	}
}

// lookup returns job id or a NotFound status.
func (s *Service) lookup(id string) (*jobEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "job %q not found", id)
	}
	return e, nil
}

// ValidateSQL implements JobManagerServer.
func (s *Service) ValidateSQL(ctx context.Context, req *jmv1.ValidateSQLRequest) (*jmv1.ValidateSQLResponse, error) {
	if err := checkSQL(req.GetSql()); err != nil {
		return nil, err
	}
	c, err := s.cfg.Compiler.Compile(ctx, CompileRequest{Name: "validate", SQL: req.GetSql(), Parallelism: 1})
	if err != nil {
		return nil, sqlStatus(err)
	}
	return &jmv1.ValidateSQLResponse{Valid: true, Statements: int32(c.Statements)}, nil
}

// ExplainSQL implements JobManagerServer.
func (s *Service) ExplainSQL(ctx context.Context, req *jmv1.ExplainSQLRequest) (*jmv1.ExplainSQLResponse, error) {
	if err := checkSQL(req.GetSql()); err != nil {
		return nil, err
	}
	p, err := checkParallelism(req.GetParallelism())
	if err != nil {
		return nil, err
	}
	plan, err := s.cfg.Compiler.Explain(ctx, CompileRequest{Name: "explain", SQL: req.GetSql(), Parallelism: p})
	if err != nil {
		return nil, sqlStatus(err)
	}
	return &jmv1.ExplainSQLResponse{Plan: plan}, nil
}

// ListJobs implements JobManagerServer: newest first.
func (s *Service) ListJobs(ctx context.Context, req *jmv1.ListJobsRequest) (*jmv1.ListJobsResponse, error) {
	s.mu.Lock()
	entries := make([]*jobEntry, 0, len(s.jobs))
	for _, e := range s.jobs {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	sort.Slice(entries, func(a, b int) bool { return entries[a].rec.CreatedAt.After(entries[b].rec.CreatedAt) })
	out := &jmv1.ListJobsResponse{Jobs: []*jmv1.Job{}}
	for _, e := range entries {
		out.Jobs = append(out.Jobs, s.render(e))
	}
	return out, nil
}

// GetJob implements JobManagerServer.
func (s *Service) GetJob(ctx context.Context, req *jmv1.GetJobRequest) (*jmv1.Job, error) {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return nil, err
	}
	return s.render(e), nil
}

// running returns e's execution, or a FailedPrecondition status naming
// its state.
func (s *Service) running(e *jobEntry, what string) (Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.exec == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "job %s is %s: only a running job %s", e.rec.ID, e.rec.State, what)
	}
	return e.exec, nil
}

// waitEnded waits until e has reached a terminal state (or ctx ends).
func waitEnded(ctx context.Context, e *jobEntry) error {
	select {
	case <-e.ended:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

// CancelJob implements JobManagerServer: it cancels the job, waits for it
// to be torn down and returns it.
func (s *Service) CancelJob(ctx context.Context, req *jmv1.CancelJobRequest) (*jmv1.Job, error) {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	switch {
	case terminal(e.rec.State):
		st := e.rec.State
		s.mu.Unlock()
		return nil, status.Errorf(codes.FailedPrecondition, "job %s is already %s", e.rec.ID, st)
	case e.exec == nil:
		// Waiting for slots: it never started.
		r := e.rec
		r.State, r.Message, r.EndedAt = StateCanceled, "canceled before it started", time.Now().UTC()
		s.putLocked(e)
		close(e.ended)
	default:
		e.cancelRequested = true
		e.exec.Cancel()
	}
	s.mu.Unlock()
	if err := waitEnded(ctx, e); err != nil {
		return nil, err
	}
	return s.render(e), nil
}

// StopJob implements JobManagerServer: a stop with a savepoint.
func (s *Service) StopJob(ctx context.Context, req *jmv1.StopJobRequest) (*jmv1.SavepointResponse, error) {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return nil, err
	}
	ex, err := s.running(e, "can be stopped with a savepoint")
	if err != nil {
		return nil, err
	}
	path, err := ex.StopWithSavepoint(ctx)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "stop job %s with a savepoint: %v", e.rec.ID, err)
	}
	if err := waitEnded(ctx, e); err != nil {
		return nil, err
	}
	return &jmv1.SavepointResponse{SavepointPath: path}, nil
}

// TriggerSavepoint implements JobManagerServer.
func (s *Service) TriggerSavepoint(ctx context.Context, req *jmv1.TriggerSavepointRequest) (*jmv1.SavepointResponse, error) {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return nil, err
	}
	ex, err := s.running(e, "takes savepoints")
	if err != nil {
		return nil, err
	}
	path, err := ex.Savepoint(ctx)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "savepoint of job %s: %v", e.rec.ID, err)
	}
	return &jmv1.SavepointResponse{SavepointPath: path}, nil
}

// ListCheckpoints implements JobManagerServer.
func (s *Service) ListCheckpoints(ctx context.Context, req *jmv1.ListCheckpointsRequest) (*jmv1.ListCheckpointsResponse, error) {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	st := e.storage
	s.mu.Unlock()
	if st == nil {
		if st, err = checkpoint.NewDirStorage(filepath.Join(s.cfg.Dir, e.rec.ID), 0); err != nil {
			return nil, status.Errorf(codes.Internal, "checkpoint storage: %v", err)
		}
	}
	ids, err := st.List(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "list checkpoints: %v", err)
	}
	if sl, ok := st.(interface {
		Savepoints(context.Context) ([]int64, error)
	}); ok {
		sps, err := sl.Savepoints(ctx)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "list savepoints: %v", err)
		}
		ids = append(ids, sps...)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] > ids[b] })
	out := &jmv1.ListCheckpointsResponse{Checkpoints: []*jmv1.Checkpoint{}}
	for _, id := range ids {
		m, err := st.Load(ctx, strconv.FormatInt(id, 10))
		if err != nil {
			continue // removed by retention meanwhile, or damaged
		}
		path := ""
		if p, ok := st.(interface {
			PathOf(*checkpoint.Metadata) string
		}); ok {
			path = p.PathOf(m)
		}
		out.Checkpoints = append(out.Checkpoints, &jmv1.Checkpoint{
			Id: float64(m.ID), Path: path, Savepoint: m.Savepoint, Time: rfc3339(time.UnixMilli(m.TimestampMs)),
		})
	}
	return out, nil
}

// ListTaskManagers implements JobManagerServer.
func (s *Service) ListTaskManagers(ctx context.Context, req *jmv1.ListTaskManagersRequest) (*jmv1.ListTaskManagersResponse, error) {
	out := &jmv1.ListTaskManagersResponse{Taskmanagers: []*jmv1.TaskManager{}}
	for _, tm := range s.cfg.Runner.TaskManagers() {
		out.Taskmanagers = append(out.Taskmanagers, &jmv1.TaskManager{
			Id: tm.ID, Slots: int32(tm.Slots), FreeSlots: int32(tm.FreeSlots), Address: tm.Address,
			LastHeartbeat: rfc3339(tm.LastHeartbeat), Local: tm.Local,
		})
	}
	if s.cfg.Members != nil {
		// Remote task managers run nothing yet: all their slots are free.
		for _, tm := range s.cfg.Members.TaskManagers() {
			out.Taskmanagers = append(out.Taskmanagers, &jmv1.TaskManager{
				Id: tm.ID, Slots: int32(tm.Slots), FreeSlots: int32(tm.Slots), Address: tm.Address,
				LastHeartbeat: rfc3339(tm.LastHeartbeat),
			})
		}
	}
	return out, nil
}

// rfc3339 renders t in UTC, "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// watermarkText renders a watermark: "" for none, "END" for the final one.
func watermarkText(wm int64) string {
	switch wm {
	case stream.MinWatermark:
		return ""
	case stream.MaxWatermark:
		return "END"
	}
	return rfc3339(time.UnixMilli(wm))
}

// render returns e as the API shows it, with its live status.
func (s *Service) render(e *jobEntry) *jmv1.Job {
	s.mu.Lock()
	r := *e.rec
	failures := append([]failureRecord(nil), e.rec.Failures...)
	ex := e.exec
	last := e.lastStatus
	s.mu.Unlock()
	j := &jmv1.Job{
		Id: r.ID, Name: r.Name, State: r.State, Parallelism: int32(r.Parallelism), Sql: r.SQL,
		CheckpointInterval: r.CheckpointInterval, FromSavepoint: r.FromSavepoint,
		CreatedAt: rfc3339(r.CreatedAt), StartedAt: rfc3339(r.StartedAt), EndedAt: rfc3339(r.EndedAt),
		Restarts: int32(r.Restarts), Message: r.Message, SavepointPath: r.SavepointPath,
		Vertices: []*jmv1.Vertex{}, Failures: []*jmv1.Failure{},
	}
	var st *ExecStatus
	if ex != nil {
		cur := ex.Status()
		st = &cur
		if cur.Restarting {
			j.State = StateRestarting
			j.Message = "restarting from the latest checkpoint after a failure"
			if cur.Message != "" {
				j.Message = cur.Message
			}
		}
		j.Restarts = int32(cur.Restarts)
		failures = failures[:0]
		for _, f := range cur.Failures {
			failures = append(failures, failureRecord{Time: f.Time, Message: f.Message})
		}
	} else if last != nil {
		st = last
	}
	for _, f := range failures {
		j.Failures = append(j.Failures, &jmv1.Failure{Time: rfc3339(f.Time), Message: f.Message})
	}
	if st != nil {
		for _, v := range st.Vertices {
			j.Vertices = append(j.Vertices, &jmv1.Vertex{
				Id: v.ID, Name: v.Name, Parallelism: int32(v.Parallelism),
				RecordsIn: float64(v.RecordsIn), RecordsOut: float64(v.RecordsOut),
				Watermark: watermarkText(v.Watermark), Backpressure: v.Backpressure,
			})
		}
		if lc := st.LastCheckpoint; lc != nil {
			j.LastCheckpoint = &jmv1.CheckpointInfo{
				Id: float64(lc.ID), Path: lc.Path, Duration: lc.Duration.String(), Size: float64(lc.Size),
				Time: rfc3339(lc.Time), Savepoint: lc.Savepoint,
			}
		}
	}
	return j
}

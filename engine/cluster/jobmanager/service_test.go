package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	jmv1 "github.com/eddy-streaming/eddy/api/jobmanager/v1"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// fakeCompiler compiles "job N" (any text without "bad") into a graph of
// one vertex; text with "bad" at line 2, column 5 is an SQL error.
type fakeCompiler struct{}

func (fakeCompiler) Compile(ctx context.Context, req CompileRequest) (*Compiled, error) {
	if strings.Contains(req.SQL, "bad") {
		return nil, &SQLError{Line: 2, Column: 5, Message: "job.sql:2:5: bad thing"}
	}
	g := &jobgraph.Graph{Name: req.Name, Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: req.Parallelism}}}
	return &Compiled{Graph: g, Statements: strings.Count(req.SQL, ";")}, nil
}

func (fakeCompiler) Explain(ctx context.Context, req CompileRequest) (string, error) {
	if strings.Contains(req.SQL, "bad") {
		return "", &SQLError{Line: 2, Column: 5, Message: "job.sql:2:5: bad thing"}
	}
	return "plan of " + req.SQL, nil
}

// fakeRunner accounts for slots and hands out fakeExecs the test ends.
type fakeRunner struct {
	total int

	mu     sync.Mutex
	used   int
	execs  map[string]*fakeExec
	starts map[string][]*checkpoint.Metadata
}

func newFakeRunner(total int) *fakeRunner {
	return &fakeRunner{total: total, execs: map[string]*fakeExec{}, starts: map[string][]*checkpoint.Metadata{}}
}

func (r *fakeRunner) Start(ctx context.Context, job JobSpec, g *jobgraph.Graph, restore *checkpoint.Metadata, st checkpoint.Storage) (Execution, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := slotsOf(g)
	if r.used+n > r.total {
		return nil, fmt.Errorf("need %d, %d free: %w", n, r.total-r.used, ErrNoSlots)
	}
	r.used += n
	e := &fakeExec{done: make(chan struct{}), release: func() { r.mu.Lock(); r.used -= n; r.mu.Unlock() }}
	r.execs[job.ID] = e
	r.starts[job.ID] = append(r.starts[job.ID], restore)
	return e, nil
}

func (r *fakeRunner) TotalSlots() int { return r.total }

func (r *fakeRunner) TaskManagers() []TaskManagerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []TaskManagerInfo{{ID: "fake", Slots: r.total, FreeSlots: r.total - r.used, Local: true}}
}

func (r *fakeRunner) exec(id string) *fakeExec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.execs[id]
}

type fakeExec struct {
	done    chan struct{}
	release func()
	once    sync.Once
	mu      sync.Mutex
	err     error
	st      ExecStatus
}

func (e *fakeExec) end(err error) {
	e.once.Do(func() {
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
		e.release()
		close(e.done)
	})
}
func (e *fakeExec) Status() ExecStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st
}
func (e *fakeExec) Cancel() { e.end(context.Canceled) }
func (e *fakeExec) Savepoint(ctx context.Context) (string, error) {
	return "/sp/savepoint-1", nil
}
func (e *fakeExec) StopWithSavepoint(ctx context.Context) (string, error) {
	e.mu.Lock()
	e.st.SavepointPath = "/sp/savepoint-2"
	e.mu.Unlock()
	e.end(nil)
	return "/sp/savepoint-2", nil
}
func (e *fakeExec) Done() <-chan struct{} { return e.done }
func (e *fakeExec) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func newTestService(t *testing.T, dir string, r Runner) *Service {
	t.Helper()
	s, err := NewService(context.Background(), ServiceConfig{Dir: dir, Compiler: fakeCompiler{}, Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, s *Service, id string) *jmv1.Job {
	t.Helper()
	j, err := s.GetJob(context.Background(), &jmv1.GetJobRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitFor polls job id until its state is want.
func waitFor(t *testing.T, s *Service, id, want string) *jmv1.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j := get(t, s, id)
		if j.State == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s (%s)", id, j.State, want, j.Message)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStateMachine walks jobs through every state with a fake runner of 4
// slots, then restarts the service on the same directory.
func TestStateMachine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := newFakeRunner(4)
	s := newTestService(t, dir, r)
	submit := func(p int32) string {
		t.Helper()
		resp, err := s.SubmitJob(ctx, &jmv1.SubmitJobRequest{Sql: "job;", Parallelism: p, CheckpointInterval: "1s"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Id
	}
	a := submit(3)
	if j := get(t, s, a); j.State != StateRunning || j.StartedAt == "" || j.Name != "job-"+a {
		t.Fatalf("a: %v", j)
	}
	b := submit(2) // 1 slot free: waits
	if j := get(t, s, b); j.State != StateCreated || !strings.Contains(j.Message, "waiting for slots") {
		t.Fatalf("b: %v", j)
	}
	if _, err := s.SubmitJob(ctx, &jmv1.SubmitJobRequest{Sql: "job;", Parallelism: 5}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("parallelism over the cluster's slots: %v", err)
	}
	// a restarts once, then finishes: b starts.
	ea := r.exec(a)
	ea.mu.Lock()
	ea.st.Restarting, ea.st.Restarts = true, 1
	ea.st.Failures = []runtime.Failure{{Time: time.Now(), Message: "boom"}}
	ea.mu.Unlock()
	if j := get(t, s, a); j.State != StateRestarting || j.Restarts != 1 || len(j.Failures) != 1 {
		t.Fatalf("a restarting: %v", j)
	}
	ea.mu.Lock()
	ea.st.Restarting = false
	ea.mu.Unlock()
	ea.end(nil)
	if j := waitFor(t, s, a, StateFinished); j.EndedAt == "" || j.Restarts != 1 {
		t.Fatalf("a: %v", j)
	}
	waitFor(t, s, b, StateRunning)
	// b fails for good.
	r.exec(b).end(errors.New("disk on fire"))
	if j := waitFor(t, s, b, StateFailed); len(j.Failures) != 1 || j.Failures[0].Message != "disk on fire" {
		t.Fatalf("b: %v", j)
	}
	// c is canceled, d stopped with a savepoint, e waits and is canceled
	// before it starts.
	c := submit(1)
	if j, err := s.CancelJob(ctx, &jmv1.CancelJobRequest{Id: c}); err != nil || j.State != StateCanceled {
		t.Fatalf("cancel c: %v %v", j, err)
	}
	d := submit(4)
	e := submit(1)
	if j := get(t, s, e); j.State != StateCreated {
		t.Fatalf("e: %v", j)
	}
	if sp, err := s.TriggerSavepoint(ctx, &jmv1.TriggerSavepointRequest{Id: d}); err != nil || sp.SavepointPath != "/sp/savepoint-1" {
		t.Fatalf("savepoint of d: %v %v", sp, err)
	}
	if sp, err := s.StopJob(ctx, &jmv1.StopJobRequest{Id: d}); err != nil || sp.SavepointPath != "/sp/savepoint-2" {
		t.Fatalf("stop d: %v %v", sp, err)
	}
	if j := get(t, s, d); j.State != StateCanceled || j.SavepointPath != "/sp/savepoint-2" {
		t.Fatalf("d: %v", j)
	}
	waitFor(t, s, e, StateRunning)
	if _, err := s.StopJob(ctx, &jmv1.StopJobRequest{Id: d}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("stop of a stopped job: %v", err)
	}
	if _, err := s.TriggerSavepoint(ctx, &jmv1.TriggerSavepointRequest{Id: a}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "FINISHED") {
		t.Fatalf("savepoint of a finished job: %v", err)
	}
	if _, err := s.GetJob(ctx, &jmv1.GetJobRequest{Id: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown job: %v", err)
	}
	f := submit(1) // waits? no: e holds 1 of 4
	waitFor(t, s, f, StateRunning)

	// A new service on the same directory: the ended jobs are listed as
	// they were, e and f (running) are resumed.
	s.Close()
	for _, id := range []string{e, f} {
		if j := get(t, s, id); j.State != StateRunning {
			t.Fatalf("%s after shutdown: %v (the record must stay RUNNING)", id, j)
		}
	}
	r2 := newFakeRunner(4)
	s2 := newTestService(t, dir, r2)
	l, err := s2.ListJobs(ctx, &jmv1.ListJobsRequest{})
	if err != nil || len(l.Jobs) != 6 {
		t.Fatalf("list after restart: %v %v", l, err)
	}
	want := map[string]string{a: StateFinished, b: StateFailed, c: StateCanceled, d: StateCanceled, e: StateRunning, f: StateRunning}
	for _, j := range l.Jobs {
		if j.State != want[j.Id] {
			t.Errorf("job %s after restart: %s, want %s", j.Id, j.State, want[j.Id])
		}
	}
	for i := 1; i < len(l.Jobs); i++ {
		if l.Jobs[i].CreatedAt > l.Jobs[i-1].CreatedAt {
			t.Errorf("jobs not newest first")
		}
	}
	if r2.exec(e) == nil || r2.exec(f) == nil || r2.exec(a) != nil || len(r2.execs) != 2 {
		t.Fatalf("resumed %v, want e and f", r2.execs)
	}
}

// TestResumeFromLatestCheckpoint: a resumed job starts from the newest
// checkpoint in its directory.
func TestResumeFromLatestCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := newFakeRunner(2)
	s := newTestService(t, dir, r)
	resp, err := s.SubmitJob(ctx, &jmv1.SubmitJobRequest{Sql: "job;", Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := checkpoint.NewDirStorage(filepath.Join(dir, resp.Id), 0)
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 3; id++ {
		if err := st.Commit(ctx, &checkpoint.Metadata{Format: checkpoint.FormatVersion, Job: "x", ID: id, MaxParallelism: 128, Operators: map[string]*checkpoint.OperatorState{}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	r2 := newFakeRunner(2)
	newTestService(t, dir, r2)
	starts := r2.starts[resp.Id]
	if len(starts) != 1 || starts[0] == nil || starts[0].ID != 3 {
		t.Fatalf("resumed from %+v, want checkpoint 3", starts)
	}
	cks, err := newTestServiceNoResume(t, dir).ListCheckpoints(ctx, &jmv1.ListCheckpointsRequest{Id: resp.Id})
	if err != nil || len(cks.Checkpoints) != 3 || cks.Checkpoints[0].Id != 3 || !strings.HasSuffix(cks.Checkpoints[0].Path, "chk-3") {
		t.Fatalf("checkpoints: %v %v", cks, err)
	}
}

func newTestServiceNoResume(t *testing.T, dir string) *Service {
	return newTestService(t, dir, newFakeRunner(8))
}

// TestBadRequests: SQL errors carry the SQLError detail; bad fields are
// InvalidArgument.
func TestBadRequests(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, t.TempDir(), newFakeRunner(2))
	_, err := s.SubmitJob(ctx, &jmv1.SubmitJobRequest{Sql: "x;\nbad"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("bad SQL: %v", err)
	}
	if d, ok := st.Details()[0].(*jmv1.SQLError); !ok || d.Line != 2 || d.Column != 5 || d.Message != "job.sql:2:5: bad thing" {
		t.Fatalf("detail: %v", st.Details()[0])
	}
	for _, req := range []*jmv1.SubmitJobRequest{
		{Sql: ""}, {Sql: "job", Parallelism: -2}, {Sql: "job", CheckpointInterval: "-1s"}, {Sql: "job", CheckpointInterval: "soon"},
		{Sql: "job", FromSavepoint: "/does/not/exist"},
	} {
		if _, err := s.SubmitJob(ctx, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("submit %v: %v", req, err)
		}
	}
	if v, err := s.ValidateSQL(ctx, &jmv1.ValidateSQLRequest{Sql: "a; b;"}); err != nil || !v.Valid || v.Statements != 2 {
		t.Errorf("validate: %v %v", v, err)
	}
	if _, err := s.ExplainSQL(ctx, &jmv1.ExplainSQLRequest{Sql: "bad"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("explain: %v", err)
	}
}

// TestGRPCAuth: the interceptor enforces the token on gRPC clients.
func TestGRPCAuth(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, t.TempDir(), newFakeRunner(2))
	srv, err := Start(ctx, s, ServerConfig{RESTAddr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	conn, err := grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := jmv1.NewJobManagerClient(conn)
	for _, md := range []metadata.MD{nil, metadata.Pairs("authorization", "Bearer nope"), metadata.Pairs("authorization", "tok")} {
		cctx := metadata.NewOutgoingContext(ctx, md)
		if _, err := c.ListJobs(cctx, &jmv1.ListJobsRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("metadata %v: %v", md, err)
		}
	}
	cctx := metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer tok"))
	if _, err := c.ListJobs(cctx, &jmv1.ListJobsRequest{}); err != nil {
		t.Errorf("with the token: %v", err)
	}
}

// TestStore: records round-trip, are written atomically (no temporary
// file left) and unreadable or misnamed ones are skipped.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &jobRecord{ID: "0123456789abcdef", Name: "n", SQL: "s", Parallelism: 2, State: StateRunning, CreatedAt: time.Now().UTC().Round(0)}
	for i := 0; i < 3; i++ {
		r.Restarts = i
		if err := st.put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "fedcba9876543210.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "aaaaaaaaaaaaaaaa.json"), []byte(`{"id": "../../x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, bad, err := st.load()
	if err != nil || len(recs) != 1 || len(bad) != 2 {
		t.Fatalf("load: %v %v %v", recs, bad, err)
	}
	got := recs[0]
	if got.ID != r.ID || got.Restarts != 2 || !got.CreatedAt.Equal(r.CreatedAt) || got.State != StateRunning {
		t.Fatalf("record %+v, want %+v", got, r)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestLocalRunnerSlots: slots are taken across task managers and given
// back.
func TestLocalRunnerSlots(t *testing.T) {
	r, err := NewLocalRunner(LocalConfig{TaskManagers: 3, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.allocate(3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.allocate(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.allocate(2); !errors.Is(err, ErrNoSlots) || !strings.Contains(err.Error(), "needs 2 slots and 1 of 6 are free") {
		t.Fatalf("over-allocation: %v", err)
	}
	free := 0
	for _, tm := range r.TaskManagers() {
		if tm.FreeSlots < 0 || tm.FreeSlots > tm.Slots {
			t.Fatalf("task manager %+v", tm)
		}
		free += tm.FreeSlots
	}
	if free != 1 {
		t.Fatalf("%d free slots, want 1", free)
	}
	r.release(a)
	r.release(b)
	for _, tm := range r.TaskManagers() {
		if tm.FreeSlots != 2 {
			t.Fatalf("after release: %+v", tm)
		}
	}
	if _, err := NewLocalRunner(LocalConfig{TaskManagers: -1}); err == nil {
		t.Fatal("negative task managers accepted")
	}
}

// growingRunner is a fakeRunner whose slots grow on their own (task
// managers joining), announced through SlotsChanged. Its first refused
// Start blocks until the test has added every slot (and signalled each
// addition), as when several task managers join while the service is
// still looking at the slots of the first.
type growingRunner struct {
	*fakeRunner
	mu       sync.Mutex
	changed  chan struct{}
	inStart  chan struct{} // closed when the first refused Start begins
	proceed  chan struct{} // closed by the test to let it return
	refusals int
}

func (g *growingRunner) SlotsChanged() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

func (g *growingRunner) add(n int) {
	g.fakeRunner.mu.Lock()
	g.fakeRunner.total += n
	g.fakeRunner.mu.Unlock()
	g.mu.Lock()
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

func (g *growingRunner) TotalSlots() int { return 8 }

func (g *growingRunner) Start(ctx context.Context, job JobSpec, gr *jobgraph.Graph, restore *checkpoint.Metadata, st checkpoint.Storage) (Execution, error) {
	e, err := g.fakeRunner.Start(ctx, job, gr, restore, st)
	if errors.Is(err, ErrNoSlots) {
		g.mu.Lock()
		g.refusals++
		first := g.refusals == 2 // the submit's own attempt is the first
		g.mu.Unlock()
		if first {
			close(g.inStart)
			<-g.proceed
		}
	}
	return e, err
}

// TestWaitingJobStartsWhenSlotsJoinQuickly: slots that arrive while the
// service is deciding (three joins in a row) are not missed: the waiting
// job starts.
func TestWaitingJobStartsWhenSlotsJoinQuickly(t *testing.T) {
	g := &growingRunner{fakeRunner: newFakeRunner(0), changed: make(chan struct{}), inStart: make(chan struct{}), proceed: make(chan struct{})}
	s := newTestService(t, t.TempDir(), g)
	resp, err := s.SubmitJob(context.Background(), &jmv1.SubmitJobRequest{Sql: "job;", Parallelism: 3})
	if err != nil {
		t.Fatal(err)
	}
	g.add(1) // the watcher looks, and is refused while...
	<-g.inStart
	g.add(1) // ...two more task managers join
	g.add(1)
	close(g.proceed)
	deadline := time.Now().Add(5 * time.Second)
	for get(t, s, resp.Id).State != StateRunning {
		if time.Now().After(deadline) {
			t.Fatalf("the job still waits with 3 of 3 slots free: %v", get(t, s, resp.Id))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package jobmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tmv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/udf"
)

// Defaults of RemoteConfig's zero durations.
const (
	DefaultRPCTimeout    = 10 * time.Second
	DefaultDeployTimeout = 30 * time.Second
	DefaultEndWait       = 30 * time.Second
)

// RemoteConfig configures a RemoteRunner.
type RemoteConfig struct {
	// Members is the registry of the task managers jobs run on.
	Members *membership.Registry
	// Connectors, Functions and Operators are what the job manager needs
	// to recover the jobs' sinks before each attempt (the task managers
	// have their own). Operators default to operators.Factories().
	Connectors *connectors.Registry
	Functions  *udf.Registry
	Operators  map[string]operator.Factory
	// RestartStrategy is every job's (zero fields: runtime's defaults).
	RestartStrategy runtime.RestartStrategy
	// DialOptions reach the task managers' gRPC ports: transport
	// credentials, and the cluster secret
	// (grpc.WithPerRPCCredentials(membership.SecretCredentials(s))).
	DialOptions []grpc.DialOption
	// RPCTimeout bounds each call to a task manager but Deploy, which
	// DeployTimeout bounds.
	RPCTimeout, DeployTimeout time.Duration
	// EndWait bounds how long a failed attempt waits for its other parts
	// to end (PartEnded) or their task managers to be declared lost
	// before the job restarts anyway.
	EndWait time.Duration
	// Logger receives the jobs' logs; default slog.Default().
	Logger *slog.Logger
}

// RemoteRunner runs jobs on task managers in other processes, registered
// in a membership.Registry: it implements Runner, and serves the
// JobControl service (api/taskmanager/v1) the parts of the job attempts
// call back on; register it on the job manager's gRPC server with
// Register. See remoteExec for an execution's life.
//
// Slots are accounted per registration of a task manager: slot i of an
// attempt holds subtask i of every vertex (slot sharing), and an attempt
// at parallelism P takes P slots, spread over the task managers with the
// most free slots first, so that the attempt's exchanges cross processes
// as the cluster's size allows.
type RemoteRunner struct {
	tmv1.UnimplementedJobControlServer
	cfg RemoteConfig

	mu sync.Mutex
	// used counts the slots in use per registration of a task manager.
	used map[string]int
	// suspect are registrations that refused a connection, and when: no
	// slot is taken on them for suspectFor, or until they are lost.
	suspect map[string]time.Time
	// conns are the clients of the task managers, by address.
	conns map[string]*grpc.ClientConn
	// execs are the executions by job ID.
	execs map[string]*remoteExec
	// changed is closed (and replaced) whenever slots may have become
	// free: a task manager joined, or an attempt released its slots.
	changed chan struct{}
	jmAddr  string

	attempts atomic.Int64
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// NewRemoteRunner returns a RemoteRunner and starts following the
// registry's events; Close stops it.
func NewRemoteRunner(cfg RemoteConfig) (*RemoteRunner, error) {
	if cfg.Members == nil {
		return nil, fmt.Errorf("jobmanager: remote runner: no membership registry")
	}
	if cfg.Operators == nil {
		cfg.Operators = operators.Factories()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RPCTimeout <= 0 {
		cfg.RPCTimeout = DefaultRPCTimeout
	}
	if cfg.DeployTimeout <= 0 {
		cfg.DeployTimeout = DefaultDeployTimeout
	}
	if cfg.EndWait <= 0 {
		cfg.EndWait = DefaultEndWait
	}
	r := &RemoteRunner{cfg: cfg, used: map[string]int{}, suspect: map[string]time.Time{}, conns: map[string]*grpc.ClientConn{},
		execs: map[string]*remoteExec{}, changed: make(chan struct{})}
	// Attempt numbers grow across job manager restarts, so that task
	// managers still running an attempt of a previous job manager cancel
	// it when a new one arrives.
	r.attempts.Store(time.Now().UnixMilli())
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	events, unsubscribe := cfg.Members.Subscribe()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				r.onMember(ev)
			}
		}
	}()
	return r, nil
}

// Register registers the JobControl service on s.
func (r *RemoteRunner) Register(s grpc.ServiceRegistrar) { tmv1.RegisterJobControlServer(s, r) }

// JobControlPrefix is the prefix of the JobControl service's method names
// (for the cluster-secret interceptor).
var JobControlPrefix = "/" + tmv1.JobControl_ServiceDesc.ServiceName + "/"

// SetJobManagerAddress sets the gRPC address task managers call JobControl
// at (known once the job manager listens). Jobs start only once it is set.
func (r *RemoteRunner) SetJobManagerAddress(addr string) {
	r.mu.Lock()
	r.jmAddr = addr
	r.mu.Unlock()
	r.signal()
}

// Close stops following the registry and closes the connections to task
// managers. Cancel the executions first (Service.Close does).
func (r *RemoteRunner) Close() {
	r.stop()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, c := range r.conns {
		_ = c.Close()
		delete(r.conns, addr)
	}
}

// SlotsChanged returns a channel closed when slots may have become free
// (a task manager joined, an attempt released its slots): a Service then
// starts the jobs waiting for slots.
func (r *RemoteRunner) SlotsChanged() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

func (r *RemoteRunner) signal() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// onMember follows the registry: a joined task manager brings slots, a
// lost one fails the attempts with a part on it.
func (r *RemoteRunner) onMember(ev membership.Event) {
	if ev.Kind == membership.Joined {
		r.signal()
		return
	}
	r.mu.Lock()
	delete(r.used, ev.TM.Registration)
	delete(r.suspect, ev.TM.Registration)
	if c := r.conns[ev.TM.Address]; c != nil {
		_ = c.Close()
		delete(r.conns, ev.TM.Address)
	}
	execs := make([]*remoteExec, 0, len(r.execs))
	for _, e := range r.execs {
		execs = append(execs, e)
	}
	r.mu.Unlock()
	for _, e := range execs {
		e.post(execEvent{kind: evLost, tm: ev.TM, why: ev.Why})
	}
}

// TotalSlots implements Runner: the slots of the registered task managers.
func (r *RemoteRunner) TotalSlots() int {
	n := 0
	for _, tm := range r.cfg.Members.TaskManagers() {
		n += tm.Slots
	}
	return n
}

// TaskManagers implements Runner.
func (r *RemoteRunner) TaskManagers() []TaskManagerInfo {
	tms := r.cfg.Members.TaskManagers()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TaskManagerInfo, len(tms))
	for i, tm := range tms {
		free := max(0, tm.Slots-r.used[tm.Registration])
		if r.suspectLocked(tm.Registration) {
			free = 0
		}
		out[i] = TaskManagerInfo{ID: tm.ID, Slots: tm.Slots, FreeSlots: free, Address: tm.Address, LastHeartbeat: tm.LastHeartbeat}
	}
	return out
}

// slotGrant is the slots of one attempt on one task manager.
type slotGrant struct {
	tm    membership.TaskManager
	slots []int32
}

// allocate takes slots 0..n-1 of an attempt, each on the task manager with
// the most free slots left (ties: by id), so an attempt spreads out.
func (r *RemoteRunner) allocate(n int) ([]*slotGrant, error) {
	tms := r.cfg.Members.TaskManagers()
	r.mu.Lock()
	defer r.mu.Unlock()
	free, total := 0, 0
	left := make([]int, len(tms))
	for i, tm := range tms {
		if r.suspectLocked(tm.Registration) {
			total += tm.Slots
			continue
		}
		left[i] = max(0, tm.Slots-r.used[tm.Registration])
		free += left[i]
		total += tm.Slots
	}
	if free < n {
		return nil, fmt.Errorf("the job needs %d slots and %d of %d are free on %d task managers: %w", n, free, total, len(tms), ErrNoSlots)
	}
	if r.jmAddr == "" {
		return nil, fmt.Errorf("the job manager's gRPC address is not known yet: %w", ErrNoSlots)
	}
	grants := map[int]*slotGrant{}
	for s := 0; s < n; s++ {
		best := -1
		for i := range tms {
			if left[i] > 0 && (best < 0 || left[i] > left[best]) {
				best = i
			}
		}
		left[best]--
		g := grants[best]
		if g == nil {
			g = &slotGrant{tm: tms[best]}
			grants[best] = g
		}
		g.slots = append(g.slots, int32(s))
	}
	out := make([]*slotGrant, 0, len(grants))
	for _, g := range grants {
		r.used[g.tm.Registration] += len(g.slots)
		out = append(out, g)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].slots[0] < out[b].slots[0] })
	return out, nil
}

// suspectFor is how long a task manager that refused a connection gets
// no slots: it is lost by then if it died, and otherwise (it heartbeats,
// so something answers) it is tried again.
const suspectFor = 10 * time.Second

// suspectLocked reports whether registration reg refused a connection
// less than suspectFor ago. r.mu is held.
func (r *RemoteRunner) suspectLocked(reg string) bool {
	at, ok := r.suspect[reg]
	if ok && time.Since(at) >= suspectFor {
		delete(r.suspect, reg)
		return false
	}
	return ok
}

// distrust takes no slots on task manager tm (it could not be reached)
// for suspectFor, or until it is lost.
func (r *RemoteRunner) distrust(tm membership.TaskManager) {
	r.mu.Lock()
	r.suspect[tm.Registration] = time.Now()
	r.mu.Unlock()
	r.cfg.Logger.Warn("task manager unreachable: no slot is taken on it until it registers again", "taskmanager", tm.ID, "address", tm.Address)
}

// release gives an attempt's slots back.
func (r *RemoteRunner) release(grants []*slotGrant) {
	r.mu.Lock()
	for _, g := range grants {
		if k, ok := r.used[g.tm.Registration]; ok {
			if k -= len(g.slots); k > 0 {
				r.used[g.tm.Registration] = k
			} else {
				delete(r.used, g.tm.Registration)
			}
		}
	}
	r.mu.Unlock()
	r.signal()
}

// client returns the TaskManager client of the task manager at addr.
func (r *RemoteRunner) client(addr string) (tmv1.TaskManagerClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.conns[addr]
	if c == nil {
		var err error
		if c, err = grpc.NewClient(addr, r.cfg.DialOptions...); err != nil {
			return nil, fmt.Errorf("task manager at %s: %w", addr, err)
		}
		r.conns[addr] = c
	}
	return tmv1.NewTaskManagerClient(c), nil
}

// Start implements Runner: it takes the slots of the first attempt now
// (ErrNoSlots when too few are free) and runs the job's attempts on a
// goroutine.
func (r *RemoteRunner) Start(ctx context.Context, job JobSpec, g *jobgraph.Graph, restore *checkpoint.Metadata, st checkpoint.Storage) (Execution, error) {
	ds, ok := st.(*checkpoint.DirStorage)
	if !ok {
		return nil, fmt.Errorf("job %s: remote task managers need a checkpoint directory they reach (a checkpoint.DirStorage), not %T", job.ID, st)
	}
	graphJSON, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("job %s: encode the job graph: %w", job.ID, err)
	}
	r.mu.Lock()
	_, dup := r.execs[job.ID]
	r.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("job %s is already running", job.ID)
	}
	grants, err := r.allocate(slotsOf(g))
	if err != nil {
		return nil, err
	}
	e := &remoteExec{
		r: r, job: job, g: g, graphJSON: graphJSON, st: ds, restore: restore,
		ctl: runtime.NewControl(), cancelCh: make(chan struct{}), done: make(chan struct{}),
		events: make(chan execEvent, 256), logger: r.cfg.Logger.With("job_id", job.ID),
		records: map[string]*runtime.VertexResult{}, strategy: r.cfg.RestartStrategy.WithDefaults(),
	}
	if err := e.ctl.Attach(nil); err != nil {
		r.release(grants)
		return nil, err
	}
	r.mu.Lock()
	r.execs[job.ID] = e
	r.mu.Unlock()
	go e.run(grants)
	return e, nil
}

// lookupAttempt returns the current attempt of job id when it is number
// no; a FailedPrecondition status otherwise.
func (r *RemoteRunner) lookupAttempt(ref *tmv1.PartRef) (*remoteExec, *attemptRun, error) {
	r.mu.Lock()
	e := r.execs[ref.GetJobId()]
	r.mu.Unlock()
	if e == nil {
		return nil, nil, status.Errorf(codes.FailedPrecondition, "job %q is not running on this job manager", ref.GetJobId())
	}
	e.mu.Lock()
	a := e.cur
	e.mu.Unlock()
	if a == nil || a.no != ref.GetAttempt() {
		return nil, nil, status.Errorf(codes.FailedPrecondition, "attempt %d of job %s is not the current one", ref.GetAttempt(), ref.GetJobId())
	}
	return e, a, nil
}

// coordStatus turns a coordinator link error into a status.
func coordStatus(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.FailedPrecondition, "%v", err)
}

// Ack implements tmv1.JobControlServer.
func (r *RemoteRunner) Ack(ctx context.Context, req *tmv1.AckRequest) (*tmv1.Empty, error) {
	_, a, err := r.lookupAttempt(req.GetPart())
	if err != nil {
		return nil, err
	}
	var ack runtime.SubtaskAck
	if err := json.Unmarshal(req.GetAckJson(), &ack); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "ack of job %s attempt %d: ack_json: %v", req.GetPart().GetJobId(), a.no, err)
	}
	if err := a.coord.Ack(ctx, ack); err != nil {
		return nil, coordStatus(err)
	}
	return &tmv1.Empty{}, nil
}

// SourceEnded implements tmv1.JobControlServer.
func (r *RemoteRunner) SourceEnded(ctx context.Context, req *tmv1.SourceEndedRequest) (*tmv1.Empty, error) {
	_, a, err := r.lookupAttempt(req.GetPart())
	if err != nil {
		return nil, err
	}
	e := runtime.SourceEnd{Attempt: a.no, Vertex: req.GetVertex(), Subtask: int(req.GetSubtask()), LastBarrier: req.GetLastBarrier()}
	if err := a.coord.SourceEnded(ctx, e); err != nil {
		return nil, coordStatus(err)
	}
	return &tmv1.Empty{}, nil
}

// CommittedUpTo implements tmv1.JobControlServer.
func (r *RemoteRunner) CommittedUpTo(ctx context.Context, req *tmv1.CommittedUpToRequest) (*tmv1.Empty, error) {
	_, a, err := r.lookupAttempt(req.GetPart())
	if err != nil {
		return nil, err
	}
	if err := a.coord.CommittedUpTo(ctx, req.GetCheckpointId()); err != nil {
		return nil, coordStatus(err)
	}
	return &tmv1.Empty{}, nil
}

// PartEnded implements tmv1.JobControlServer.
func (r *RemoteRunner) PartEnded(ctx context.Context, req *tmv1.PartEndedRequest) (*tmv1.Empty, error) {
	e, a, err := r.lookupAttempt(req.GetPart())
	if err != nil {
		return nil, err
	}
	if a.partOn(req.GetTaskmanagerId()) == nil {
		return nil, status.Errorf(codes.InvalidArgument, "part ended: attempt %d of job %s has no part on task manager %q", a.no, e.job.ID, req.GetTaskmanagerId())
	}
	var res *runtime.PartResult
	if len(req.GetResultJson()) > 0 {
		res = &runtime.PartResult{}
		if err := json.Unmarshal(req.GetResultJson(), res); err != nil {
			e.logger.Warn("part result unreadable", "taskmanager", req.GetTaskmanagerId(), "err", err)
			res = nil
		}
	}
	ev := execEvent{kind: evPartEnded, attempt: a.no, tmID: req.GetTaskmanagerId(), err: req.GetError(), res: res}
	select {
	case e.events <- ev:
	case <-e.done:
		return nil, status.Errorf(codes.FailedPrecondition, "job %s has ended", e.job.ID)
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &tmv1.Empty{}, nil
}

// ReportStatus implements tmv1.JobControlServer: it keeps the part's
// latest live status, which Execution.Status merges.
func (r *RemoteRunner) ReportStatus(ctx context.Context, req *tmv1.PartStatusRequest) (*tmv1.Empty, error) {
	e, a, err := r.lookupAttempt(req.GetPart())
	if err != nil {
		return nil, err
	}
	if err := e.liveReport(a, req); err != nil {
		return nil, err
	}
	return &tmv1.Empty{}, nil
}

var (
	_ Runner                   = (*RemoteRunner)(nil)
	_ tmv1.JobControlServer    = (*RemoteRunner)(nil)
	_ runtime.CoordinatorPeers = (*attemptRun)(nil)
)

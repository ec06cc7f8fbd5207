package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
	"github.com/eddy-streaming/eddy/udf"
)

// LocalConfig configures a LocalRunner.
type LocalConfig struct {
	// TaskManagers is the number of local task managers (default 1) and
	// Slots the slots of each (default 4).
	TaskManagers, Slots int
	// Connectors serves the jobs' sources and sinks.
	Connectors *connectors.Registry
	// Functions holds the user-defined functions jobs may call.
	Functions *udf.Registry
	// Operators builds operators; default operators.Factories().
	Operators map[string]operator.Factory
	// Registerer registers every job's metrics, labelled job_id; nil: a
	// private registry per job.
	Registerer prometheus.Registerer
	// RestartStrategy is every job's (zero: runtime's default).
	RestartStrategy runtime.RestartStrategy
	// StateDir is where jobs keep their keyed state's working files (in
	// Pebble, one temporary directory per run); default os.TempDir().
	StateDir string
	// Logger receives the jobs' logs; default slog.Default().
	Logger *slog.Logger
}

// LocalRunner runs jobs with engine/runtime in this process, across local
// task managers whose slots it accounts for: as in Flink a slot holds one
// subtask of every vertex, so a job at parallelism P takes P slots.
type LocalRunner struct {
	cfg LocalConfig

	mu  sync.Mutex
	tms []*localTM
}

type localTM struct {
	id    string
	slots int
	used  int
}

// NewLocalRunner returns a LocalRunner.
func NewLocalRunner(cfg LocalConfig) (*LocalRunner, error) {
	if cfg.TaskManagers == 0 {
		cfg.TaskManagers = 1
	}
	if cfg.Slots == 0 {
		cfg.Slots = 4
	}
	if cfg.TaskManagers < 0 || cfg.Slots < 0 {
		return nil, fmt.Errorf("local task managers: want positive counts, got %d task managers of %d slots", cfg.TaskManagers, cfg.Slots)
	}
	if cfg.Operators == nil {
		cfg.Operators = operators.Factories()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &LocalRunner{cfg: cfg}
	for i := 0; i < cfg.TaskManagers; i++ {
		r.tms = append(r.tms, &localTM{id: fmt.Sprintf("local-%d", i), slots: cfg.Slots})
	}
	return r, nil
}

// TotalSlots implements Runner.
func (r *LocalRunner) TotalSlots() int { return r.cfg.TaskManagers * r.cfg.Slots }

// TaskManagers implements Runner.
func (r *LocalRunner) TaskManagers() []TaskManagerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	out := make([]TaskManagerInfo, len(r.tms))
	for i, tm := range r.tms {
		out[i] = TaskManagerInfo{ID: tm.id, Slots: tm.slots, FreeSlots: tm.slots - tm.used, Address: "local", LastHeartbeat: now, Local: true}
	}
	return out
}

// allocate takes n slots, from the task managers with the most free
// first; it returns what it took of each.
func (r *LocalRunner) allocate(n int) (map[*localTM]int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	free := 0
	for _, tm := range r.tms {
		free += tm.slots - tm.used
	}
	if free < n {
		return nil, fmt.Errorf("the job needs %d slots and %d of %d are free: %w", n, free, r.TotalSlots(), ErrNoSlots)
	}
	tms := append([]*localTM(nil), r.tms...)
	sort.SliceStable(tms, func(a, b int) bool { return tms[a].slots-tms[a].used > tms[b].slots-tms[b].used })
	took := map[*localTM]int{}
	for _, tm := range tms {
		k := min(n, tm.slots-tm.used)
		if k > 0 {
			tm.used += k
			took[tm] = k
			n -= k
		}
	}
	return took, nil
}

func (r *LocalRunner) release(took map[*localTM]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for tm, k := range took {
		tm.used -= k
	}
}

// slotsOf is the slots a graph takes: its highest vertex parallelism.
func slotsOf(g *jobgraph.Graph) int {
	n := 1
	for _, v := range g.Vertices {
		n = max(n, v.Parallelism)
	}
	return n
}

// Start implements Runner: it runs g with runtime.Run on a goroutine,
// keyed state in Pebble under a temporary directory, checkpoints in st.
func (r *LocalRunner) Start(ctx context.Context, job JobSpec, g *jobgraph.Graph, restore *checkpoint.Metadata, st checkpoint.Storage) (Execution, error) {
	took, err := r.allocate(slotsOf(g))
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(r.cfg.StateDir, "eddy-state-"+job.ID+"-")
	if err != nil {
		r.release(took)
		return nil, fmt.Errorf("job %s: keyed state: %w", job.ID, err)
	}
	logger := r.cfg.Logger.With("job_id", job.ID)
	prov, err := pebblestate.New(pebblestate.Config{Dir: work, Logger: logger})
	if err != nil {
		r.release(took)
		return nil, errors.Join(fmt.Errorf("job %s: keyed state: %w", job.ID, err), os.RemoveAll(work))
	}
	var reg prometheus.Registerer
	if r.cfg.Registerer != nil {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"job_id": job.ID}, r.cfg.Registerer)
	}
	ctl := runtime.NewControl()
	rctx, cancel := context.WithCancel(context.Background()) // the job outlives the request
	e := &localExec{ctl: ctl, cancel: cancel, done: make(chan struct{})}
	opts := runtime.Options{
		Connectors: r.cfg.Connectors, Operators: r.cfg.Operators, Functions: r.cfg.Functions,
		Logger: logger, Registerer: reg, State: prov,
		CheckpointStorage: st, CheckpointInterval: job.CheckpointInterval, Restore: restore,
		RestartStrategy: r.cfg.RestartStrategy, Control: ctl,
	}
	go func() {
		defer close(e.done)
		res, err := runtime.Run(rctx, g, opts)
		if cerr := errors.Join(prov.Close(), os.RemoveAll(work)); cerr != nil {
			logger.Warn("cleaning up keyed state", "err", cerr)
		}
		r.release(took)
		cancel()
		e.mu.Lock()
		e.res, e.err = res, err
		e.mu.Unlock()
	}()
	return e, nil
}

// localExec is a job LocalRunner runs.
type localExec struct {
	ctl    *runtime.Control
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	res *runtime.Result
	err error
}

// Status implements Execution.
func (e *localExec) Status() ExecStatus {
	s := ExecStatus{Status: e.ctl.Status()}
	e.mu.Lock()
	if e.res != nil {
		s.SavepointPath = e.res.SavepointPath
	}
	e.mu.Unlock()
	return s
}

// Cancel implements Execution.
func (e *localExec) Cancel() { e.cancel() }

// Savepoint implements Execution.
func (e *localExec) Savepoint(ctx context.Context) (string, error) {
	return e.ctl.TriggerSavepoint(ctx)
}

// StopWithSavepoint implements Execution.
func (e *localExec) StopWithSavepoint(ctx context.Context) (string, error) {
	return e.ctl.StopWithSavepoint(ctx)
}

// Done implements Execution.
func (e *localExec) Done() <-chan struct{} { return e.done }

// Err implements Execution.
func (e *localExec) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

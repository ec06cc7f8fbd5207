package embedded

import (
	"context"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/planner"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/udf"
)

// Options configure a compile or a run. The zero value runs at parallelism
// 1 with the built-in connectors and no user-defined functions.
type Options struct {
	// JobName names the job; the script's file name when empty.
	JobName string
	// Parallelism of every operator (1 when 0).
	Parallelism int
	// MaxParallelism is the number of key groups (128 when 0).
	MaxParallelism int
	// Connectors serves the tables; default builtin.Registry().
	Connectors *connectors.Registry
	// Functions holds user-defined functions the SQL may call.
	Functions *udf.Registry
	// Logger, Alloc, BatchSize, Registerer and Config are passed to the
	// runtime (see runtime.Options).
	Logger     *slog.Logger
	Alloc      memory.Allocator
	BatchSize  int
	Registerer prometheus.Registerer
	Config     map[string]string

	// State, CheckpointStorage, CheckpointInterval, Restore,
	// AllowNonRestoredState and RestartStrategy configure keyed state and
	// checkpoints, and are passed to the runtime (see runtime.Options):
	// a job checkpoints with a storage, a State that restores (e.g.
	// pebblestate) and an interval (or the job option
	// 'execution.checkpointing.interval', which the interval overrides).
	State                 state.Provider
	CheckpointStorage     checkpoint.Storage
	CheckpointInterval    time.Duration
	Restore               *checkpoint.Metadata
	AllowNonRestoredState bool
	RestartStrategy       runtime.RestartStrategy
	// Control, when set, takes savepoints of the running job and stops it
	// with one (runtime.NewControl; see runtime.Control). It needs a
	// CheckpointStorage; without a CheckpointInterval the job takes
	// savepoints only.
	Control *runtime.Control
}

func (o Options) connectors() *connectors.Registry {
	if o.Connectors != nil {
		return o.Connectors
	}
	return builtin.Registry()
}

// Compile parses, analyzes and plans the script. SQL errors are
// *parse.Error values reading FILE:LINE:COL: message.
func Compile(ctx context.Context, file, text string, opts Options) (*planner.Plan, error) {
	return compile(ctx, file, text, opts, opts.connectors())
}

func compile(ctx context.Context, file, text string, opts Options, reg *connectors.Registry) (*planner.Plan, error) {
	name := opts.JobName
	if name == "" {
		name = file
	}
	return planner.Compile(ctx, file, text, planner.Options{
		JobName: name, Parallelism: opts.Parallelism, MaxParallelism: opts.MaxParallelism,
		Registry: reg, Functions: opts.Functions,
	})
}

// Run compiles the script and runs its job until every source is exhausted
// (bounded sources), ctx is cancelled or the job fails.
func Run(ctx context.Context, file, text string, opts Options) (*planner.Plan, *runtime.Result, error) {
	reg := opts.connectors()
	plan, err := compile(ctx, file, text, opts, reg)
	if err != nil {
		return nil, nil, err
	}
	res, err := RunPlan(ctx, plan, reg, opts)
	return plan, res, err
}

// RunPlan runs a compiled plan with the connectors it was compiled against.
func RunPlan(ctx context.Context, plan *planner.Plan, reg *connectors.Registry, opts Options) (*runtime.Result, error) {
	return runtime.Run(ctx, plan.Graph, runtime.Options{
		Connectors: reg,
		Operators:  operators.Factories(),
		Functions:  opts.Functions,
		Logger:     opts.Logger,
		Alloc:      opts.Alloc,
		BatchSize:  opts.BatchSize,
		Registerer: opts.Registerer,
		Config:     opts.Config,

		State:                 opts.State,
		CheckpointStorage:     opts.CheckpointStorage,
		CheckpointInterval:    opts.CheckpointInterval,
		Restore:               opts.Restore,
		AllowNonRestoredState: opts.AllowNonRestoredState,
		RestartStrategy:       opts.RestartStrategy,
		Control:               opts.Control,
	})
}

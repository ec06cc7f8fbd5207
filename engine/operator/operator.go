package operator

import (
	"context"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/udf"
)

// Collector receives an operator's output. Emit takes ownership of b's
// reference: the caller must not Release b afterwards. Emit may block when
// downstream is slow (backpressure); it returns an error when the job is
// being torn down.
type Collector interface {
	Emit(ctx context.Context, b stream.Batch) error
}

// Counter is a monotonically increasing metric.
type Counter interface {
	Add(delta float64)
}

// Metrics hands out the counters of one operator subtask.
type Metrics interface {
	// Counter returns the counter called name (snake_case, e.g.
	// "late_records_dropped"), creating it on first use.
	Counter(name, help string) Counter
}

// Context is what the runtime gives an operator subtask at Open.
type Context struct {
	JobName    string
	VertexID   string
	OperatorID string
	// Subtask is this subtask's index in [0, Parallelism).
	Subtask     int
	Parallelism int
	// MaxParallelism is the number of key groups.
	MaxParallelism int
	// Alloc allocates every Arrow buffer the operator builds.
	Alloc   memory.Allocator
	Logger  *slog.Logger
	Metrics Metrics
	// KeyGroups are the key groups this subtask owns (keyed operators only
	// ever see rows of these key groups).
	KeyGroups keygroup.Range
	// State is this subtask's keyed state.
	State state.Backend
	// Config holds the job's options (SET 'key' = 'value' and the graph's
	// Config), for operator tuning knobs such as buffer sizes.
	Config map[string]string
	// Functions holds the job's user-defined functions, which expressions,
	// aggregates and table functions of the graph name.
	Functions *udf.Registry
	// Now returns the wall-clock time in epoch milliseconds: processing
	// time. Operators use it rather than time.Now, so tests can drive it.
	Now func() int64
	// Connector returns the connector factory registered under name (a
	// connectors.Factory; this package cannot name the type), for
	// operators that open a table themselves: the dimension table of a
	// lookup join. Nil when the job has no connector registry.
	Connector func(name string) (any, bool)
}

// ProcessingTimeHandler is implemented by operators that act on the wall
// clock (processing-time windows). The runtime calls OnProcessingTime from
// the operator's goroutine, between batches, at least every
// ProcessingTimeInterval while the job runs, with oc.Now(); the operator
// emits whatever that time completes. At end of input ProcessWatermark is
// called with stream.MaxWatermark as for every operator: everything left
// fires then.
type ProcessingTimeHandler interface {
	OnProcessingTime(ctx context.Context, nowMs int64, out Collector) error
}

// ProcessingTimeInterval is how often, at most, the runtime lets a running
// subtask's processing-time handlers see the clock advance.
const ProcessingTimeInterval = 100 * time.Millisecond

// Factory builds an operator from its spec. The runtime looks factories up
// by jobgraph.OperatorSpec.Kind.
type Factory func(spec *jobgraph.OperatorSpec) (Operator, error)

// Operator is a stream operator. The runtime calls its methods from one
// goroutine: Open once, then ProcessBatch and ProcessWatermark any number of
// times, then Close once (also after a failure).
type Operator interface {
	// Open prepares the operator.
	Open(ctx context.Context, oc *Context) error
	// ProcessBatch handles rows from input (0 for single-input operators).
	// b is borrowed: the runtime releases it after the call, so an operator
	// that keeps any of its arrays must Retain them.
	ProcessBatch(ctx context.Context, input int, b stream.Batch, out Collector) error
	// ProcessWatermark is called when the combined watermark of all inputs
	// advances to wm. The operator emits whatever wm completes (windows
	// ending at or before wm+1); the runtime then forwards wm downstream.
	// At end of input it is called with stream.MaxWatermark.
	ProcessWatermark(ctx context.Context, wm int64, out Collector) error
	// Close releases everything the operator holds.
	Close(ctx context.Context) error
}

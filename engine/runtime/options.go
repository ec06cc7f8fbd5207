package runtime

import (
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/memstate"
	"github.com/eddy-streaming/eddy/udf"
)

// Defaults of Options.
const (
	DefaultBatchSize       = 4096
	DefaultChannelCapacity = 4
)

// IdleTimeoutKey is the job option (Flink's name) after which a source
// subtask with nothing to read marks its output idle, so downstream
// watermarks do not wait for it. Its value is a duration ("10 s", "500ms");
// 0, the default, means never.
const IdleTimeoutKey = "table.exec.source.idle-timeout"

// Options configure Run.
type Options struct {
	// Connectors serves the sources and sinks of the graph.
	Connectors *connectors.Registry
	// Operators builds the operators of the graph, by
	// jobgraph.OperatorSpec.Kind. Sources and sinks are the runtime's own
	// and need no entry.
	Operators map[string]operator.Factory
	// Alloc allocates Arrow memory; default memory.DefaultAllocator.
	Alloc memory.Allocator
	// BatchSize is the most rows a source reader puts in one batch
	// (connectors.ReaderContext.BatchSize); default DefaultBatchSize.
	BatchSize int
	// Logger receives the job's logs; default slog.Default().
	Logger *slog.Logger
	// State opens the keyed state of every operator subtask; default
	// memstate.Provider{}.
	State state.Provider
	// ChannelCapacity is how many messages (batches or control messages)
	// one channel between two subtasks holds before its producer blocks;
	// default DefaultChannelCapacity.
	ChannelCapacity int
	// Registerer registers the job's prometheus metrics; when nil they go
	// to a private registry.
	Registerer prometheus.Registerer
	// Config holds job options; it overrides the graph's Config, and
	// operators see the merged map.
	Config map[string]string
	// Functions holds the user-defined functions the graph names
	// (operator.Context.Functions).
	Functions *udf.Registry
	// Now is the wall clock, in epoch milliseconds, for processing time
	// (operator.Context.Now); default the system clock.
	Now func() int64

	// CheckpointStorage keeps the job's checkpoints. Without it the job
	// takes no checkpoints and a failure ends it.
	CheckpointStorage checkpoint.Storage
	// CheckpointInterval is the time between two checkpoints. When 0, the
	// job option CheckpointIntervalKey decides (Options.CheckpointInterval,
	// set from a command-line flag, wins over the option); when neither is
	// set, or the interval is 0, no checkpoint is triggered. Checkpoints
	// need CheckpointStorage, a State that is a checkpoint.RestoringProvider
	// and sources that are connectors.RestorableSources.
	CheckpointInterval time.Duration
	// CheckpointTimeout drops a checkpoint not complete within it; when 0,
	// the job option CheckpointTimeoutKey, else DefaultCheckpointTimeout.
	CheckpointTimeout time.Duration
	// Restore, when set, is the checkpoint (or savepoint) the job resumes
	// from. Its files are read from CheckpointStorage.
	Restore *checkpoint.Metadata
	// AllowNonRestoredState lets a restore drop the state of operators the
	// job no longer has; otherwise such a restore fails naming them.
	AllowNonRestoredState bool
	// Control, when set, lets the caller take savepoints of the running job
	// and stop it with one (see Control). Savepoints need CheckpointStorage
	// (and what checkpoints need); with no checkpoint interval the job
	// takes savepoints only.
	Control *Control
	// RestartStrategy says how a job with CheckpointStorage restarts after
	// a failure: torn down whole and resumed in process from the latest
	// complete checkpoint (or from Restore, or from the beginning, when
	// none completed yet). Zero fields take DefaultRestartStrategy's.
	RestartStrategy RestartStrategy
}

// Job options of checkpointing (Flink's names).
const (
	// CheckpointIntervalKey is the interval between checkpoints, a Go
	// ("2s", "500ms") or Flink ("10 s", "1 min") duration.
	CheckpointIntervalKey = "execution.checkpointing.interval"
	// CheckpointTimeoutKey is how long a checkpoint may take before it is
	// dropped.
	CheckpointTimeoutKey = "execution.checkpointing.timeout"
)

// DefaultCheckpointTimeout is the default of Options.CheckpointTimeout
// (Flink's: 10 minutes).
const DefaultCheckpointTimeout = 10 * time.Minute

// RestartStrategy is an exponential-delay restart strategy: after the
// n-th failure (n from 1) the job waits min(InitialDelay * Multiplier^(n-1),
// MaxDelay) and restarts, unless it already restarted MaxAttempts times.
type RestartStrategy struct {
	// MaxAttempts is the most restarts; negative means none.
	MaxAttempts int
	// InitialDelay is the wait before the first restart.
	InitialDelay time.Duration
	// MaxDelay bounds the wait.
	MaxDelay time.Duration
	// Multiplier grows the wait after each restart (at least 1).
	Multiplier float64
}

// DefaultRestartStrategy is used for the zero fields of
// Options.RestartStrategy: 3 restarts, 1 s doubling up to 30 s.
var DefaultRestartStrategy = RestartStrategy{MaxAttempts: 3, InitialDelay: time.Second, MaxDelay: 30 * time.Second, Multiplier: 2}

// WithDefaults returns r with its zero fields taken from
// DefaultRestartStrategy (a negative MaxAttempts means no restart).
func (r RestartStrategy) WithDefaults() RestartStrategy {
	d := DefaultRestartStrategy
	if r.MaxAttempts == 0 {
		r.MaxAttempts = d.MaxAttempts
	}
	if r.MaxAttempts < 0 {
		r.MaxAttempts = 0
	}
	if r.InitialDelay <= 0 {
		r.InitialDelay = d.InitialDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = max(d.MaxDelay, r.InitialDelay)
	}
	if r.Multiplier < 1 {
		r.Multiplier = d.Multiplier
	}
	return r
}

// Delay returns the wait before restart n (from 1).
func (r RestartStrategy) Delay(n int) time.Duration {
	d := float64(r.InitialDelay)
	for i := 1; i < n && d < float64(r.MaxDelay); i++ {
		d *= r.Multiplier
	}
	return min(time.Duration(d), r.MaxDelay)
}

func (o Options) withDefaults() Options {
	if o.Alloc == nil {
		o.Alloc = memory.DefaultAllocator
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.State == nil {
		o.State = memstate.Provider{}
	}
	if o.ChannelCapacity <= 0 {
		o.ChannelCapacity = DefaultChannelCapacity
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = func() int64 { return time.Now().UnixMilli() }
	}
	o.RestartStrategy = o.RestartStrategy.WithDefaults()
	return o
}

// Result is what a job did. Run returns it also when a running job failed,
// with the counts up to the failure.
type Result struct {
	// Duration is the job's wall-clock running time.
	Duration time.Duration
	// RecordsIn is the number of rows read by all sources.
	RecordsIn int64
	// RecordsOut is the number of rows written to all sinks.
	RecordsOut int64
	// LateRecordsDropped sums every operator's late_records_dropped counter.
	LateRecordsDropped int64
	// Vertices has one entry per vertex, in graph order.
	Vertices []VertexResult
	// Operators has one entry per operator, in graph order.
	Operators []OperatorResult

	// Checkpoints is the number of checkpoints completed, and
	// CheckpointsFailed of those dropped (failed or timed out).
	Checkpoints       int
	CheckpointsFailed int
	// LastCheckpointID, LastCheckpointDuration and LastCheckpointSize
	// describe the last completed checkpoint: its ID, the time from
	// trigger to its metadata being committed, and the bytes it
	// references (state files, positions and committables).
	LastCheckpointID       int64
	LastCheckpointDuration time.Duration
	LastCheckpointSize     int64
	// Restarts is how many times the job was restarted after a failure.
	// The record counts include the rows processed again after a restart.
	Restarts int
	// Savepoints are the paths of the savepoints the job took, oldest
	// first, and SavepointPath the one it stopped with
	// (Control.StopWithSavepoint), "" when it did not stop with one.
	Savepoints    []string
	SavepointPath string
}

// VertexResult is what one vertex did, summed over its subtasks.
type VertexResult struct {
	ID          string
	Parallelism int
	// RecordsIn counts rows into the vertex: read by its source, or
	// received from its inputs.
	RecordsIn int64
	// RecordsOut counts rows out of the vertex: emitted by its last
	// operator, or written by its sink.
	RecordsOut int64
}

// OperatorResult is what one operator did, summed over its subtasks.
type OperatorResult struct {
	VertexID   string
	OperatorID string
	Name       string
	Kind       string
	// RecordsIn counts rows handed to the operator (written, for a sink).
	RecordsIn int64
	// RecordsOut counts rows the operator emitted (read, for a source).
	RecordsOut int64
	// LateRecordsDropped is the operator's late_records_dropped counter.
	LateRecordsDropped int64
	// Counters holds every counter the operator kept (operator.Metrics),
	// by name, summed over its subtasks.
	Counters map[string]int64
}

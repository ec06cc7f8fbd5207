package runtime

import (
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state"
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

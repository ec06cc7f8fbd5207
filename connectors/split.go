package connectors

import (
	"context"
	"log/slog"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// SplitSourceFactory is implemented by source factories whose tables are
// read as splits, in the manner of Flink's FLIP-27 sources: an enumerator,
// run by the checkpoint coordinator on the job manager, divides the input
// into splits (Kafka partitions, files) and the runtime assigns them to the
// source's readers on the task managers. Split positions are checkpointed
// and, after a failure or at another parallelism, the splits are assigned
// again with them. Watermarks are generated per split, and a split that
// has had no data for the idle timeout does not hold the watermark back.
//
// The runtime prefers NewSplitSource over SourceFactory.NewSource when a
// factory implements both.
type SplitSourceFactory interface {
	Factory
	// NewSplitSource returns the table's split source, or (nil, nil) when
	// this table is read through SourceFactory.NewSource instead (a factory
	// may use splits for some tables only).
	NewSplitSource(info TableInfo) (SplitSource, error)
}

// SplitSource is a table read as splits.
type SplitSource interface {
	// Bounded reports whether the enumerator eventually reports done and
	// every split eventually finishes.
	Bounded() bool
	// NewEnumerator makes the source's enumerator. checkpoint is what
	// SplitEnumerator.Snapshot returned in the checkpoint the job restores
	// from, or nil at a fresh start. The splits that checkpoint assigned
	// are not given to the enumerator: the runtime assigns them again, with
	// their positions, to the new readers.
	NewEnumerator(ctx context.Context, ec EnumeratorContext, checkpoint []byte) (SplitEnumerator, error)
	// NewSplitReader opens the reader of source subtask rc.Subtask. It
	// reads only the splits given to it by AddSplits.
	NewSplitReader(ctx context.Context, rc ReaderContext) (SplitReader, error)
}

// EnumeratorContext is what an enumerator is told.
type EnumeratorContext struct {
	// Parallelism is the number of readers splits are assigned to.
	Parallelism int
	Logger      *slog.Logger
}

// Split is one split and how far it has been read: State is the
// connector's own encoding of the split and its position (a Kafka topic,
// partition and next offset; a file and a byte offset), and must be enough
// for any reader to resume it.
type Split struct {
	// ID names the split; it is unique within the source and never changes.
	ID    string
	State []byte
}

// SplitEnumerator discovers splits. Its methods are called from one
// goroutine.
type SplitEnumerator interface {
	// Discover returns the splits found since the last call: at the first
	// call every split known then, later the new ones (new files, new
	// partitions). done reports that no split will ever be added again (a
	// bounded source after its listing). The runtime calls it at start and
	// then about every 200 ms until done; an enumerator lists its input
	// at its own interval (a Kafka discovery interval, a directory monitor
	// interval) and returns nothing in between.
	Discover(ctx context.Context) (splits []Split, done bool, err error)
	// Snapshot returns the enumerator's state for a checkpoint: enough that
	// an enumerator restored from it does not discover again a split it
	// has already returned (for example the files already listed).
	Snapshot() ([]byte, error)
	Close() error
}

// SplitAssigner is optionally implemented by a SplitSource that decides
// which reader reads a split (Kafka assigns a topic's partitions round
// robin from a start reader derived from the topic name). Without it the
// runtime gives each new split to the reader holding the fewest.
type SplitAssigner interface {
	Assign(split Split, parallelism int) int
}

// SplitReader reads the splits assigned to one source subtask.
type SplitReader interface {
	// AddSplits hands the reader splits to read: new ones, or ones
	// restored from a checkpoint with their positions.
	AddSplits(ctx context.Context, splits []Split) error
	// Next returns rows of one split the reader holds, in the table's
	// physical schema (the caller owns Batch.Record), or a zero SplitBatch
	// when none has data right now. A split that is exhausted is reported
	// once with Finished set (with or without rows); the reader then drops
	// it.
	Next(ctx context.Context) (SplitBatch, error)
	// Snapshot returns every split the reader holds and has not finished,
	// with its position after everything Next has returned, for a
	// checkpoint taken between two Next calls.
	Snapshot() ([]Split, error)
	Close() error
}

// SplitBatch is what SplitReader.Next returns.
type SplitBatch struct {
	// Split is the ID of the split the rows come from.
	Split string
	// Batch holds the rows (Record nil when there are none) and, for a
	// changelog source, their kinds (nil: all +I).
	Batch stream.Batch
	// Finished reports that the split is exhausted.
	Finished bool
}

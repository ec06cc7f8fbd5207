// Package runtime runs a job graph (engine/jobgraph): all of it in one
// process (Run), or one part of an attempt per process (RunPart).
//
// Run validates the graph, turns every vertex into Parallelism subtasks and
// runs each subtask as a goroutine that drives its chain of operators: the
// first operator reads the vertex's inputs (or is a source), and each later
// one consumes the output of the one before it through a Collector that
// calls it directly. Subtasks of different vertices are joined by the
// exchanges of package exchange (bounded channels, so a slow consumer
// back-pressures its producers).
//
// Sources are connectors (connectors.SourceFactory): one Reader per
// subtask. A source with a Projection reads only those columns of its table
// (the connector must be a connectors.ProjectableSource). A source with a
// WatermarkSpec emits bounded-out-of-orderness watermarks after each batch
// (watermark.Generator); at end of input every source emits
// stream.MaxWatermark and then End. A "watermark_assigner" operator does the
// same in the middle of a chain, for a time attribute computed from other
// columns: it passes rows through, generates watermarks from its column,
// and stops the watermarks arriving from upstream, except the final one
// (see hooks.go). A reader with nothing to
// read is polled with a growing back-off and, after the job option
// 'table.exec.source.idle-timeout', marks its channels idle. Sinks
// (connectors.SinkFactory) run as the last operator of their chain, one
// Writer per subtask, closed when the job succeeds and aborted otherwise.
//
// A subtask with several input channels merges their watermarks with a
// watermark.Tracker: the minimum over channels neither idle nor ended (when
// all are idle, the subtask forwards Idle, after moving its watermark up to
// the highest of theirs, as Flink does).
// When it rises the subtask calls ProcessWatermark on each operator in
// chain order and then forwards it downstream; once every channel has ended
// it finishes with MaxWatermark, End downstream, and Close.
//
// Operators that implement operator.ProcessingTimeHandler are called from
// their subtask's goroutine, between input messages, at least every
// operator.ProcessingTimeInterval while the job runs, with Options.Now();
// a subtask waiting for input wakes up on a deadline to do so.
//
// The first error in any subtask, or a recovered panic, cancels the whole
// job: every goroutine ends, readers are closed, writers aborted, operator
// state closed and every queued batch released. Run returns that error
// wrapped in a *SubtaskError naming the vertex, operator and subtask.
//
// Checkpoints (Options.CheckpointStorage and an interval: Options.
// CheckpointInterval, or else the job option
// 'execution.checkpointing.interval') are Flink's asynchronous barrier
// snapshots; coordinator.go describes them. In short: a coordinator
// triggers checkpoint n at the sources, whose subtasks record their
// readers' positions (connectors.PositionedReader), snapshot their chains
// and send a barrier; subtasks with several input channels align the
// barrier (exchange.Gate.Block), snapshot (operator.Snapshotter, then the
// backend's checkpoint.SnapshotBackend), forward it, and persist the
// snapshot on a goroutine before acknowledging; sinks with
// connectors.TwoPhaseWriters prepare at the barrier and commit once the
// checkpoint's metadata is committed. A checkpoint that fails or times
// out is dropped, never committed. Once a source has reached the end of
// its input no new checkpoint starts, and at the end of the job the sinks
// commit the rest as they close.
//
// With Options.Restore the job resumes from a checkpoint: it must fit the
// job (Metadata.Fits; Options.AllowNonRestoredState drops the state of
// operators the job lacks), every RecoverableSink recovers that
// checkpoint's committables before a writer opens, each operator's backend
// is restored from the snapshots of the old subtasks whose key groups
// overlap its own (checkpoint.RestoringProvider), RestoreState rebuilds
// its memory, its watermark is replayed, and sources resume from their
// positions (connectors.RestorableSource). With a checkpoint storage, a
// job that fails is torn down and restarted in process from its latest
// checkpoint under Options.RestartStrategy (exponential delay, a bounded
// number of attempts).
//
// Savepoints (savepoint.go) are checkpoints taken on request through an
// Options.Control: Control.TriggerSavepoint takes one while the job runs
// on; Control.StopWithSavepoint takes one after whose barrier the sources
// stop reading, waits until it is committed and every sink has committed
// up to it, then tears the job down: Run returns no error and
// Result.SavepointPath. They are kept outside the checkpoints' retention
// and restore at any parallelism, like checkpoints.
//
// A job attempt can also run across processes (part.go): RunPart runs the
// subtasks a task manager was given as a Part, its channels through the
// attempt's exchange.Transport (the network exchange), while a Coordinator
// in the job manager triggers and completes checkpoints through
// CoordinatorPeers and the Parts reach it through a CoordinatorLink with
// plain data (SubtaskAck, SourceEnd, CommittedUpTo). Run uses the same
// Coordinator with its own subtasks as peers. A Part runs one attempt;
// the job manager recovers the sinks (RecoverSinks) and restarts every
// part from the latest checkpoint when one fails.
//
// Metrics are prometheus counters labelled job, vertex, operator and
// subtask: records in and out of every operator, plus whatever counters
// operators and connectors ask for (for example late_records_dropped).
// Result carries the job's totals, and Run logs them in one line at the end.
package runtime

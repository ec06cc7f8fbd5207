// Package physical turns an optimized logical plan into a DAG of stream
// operators, each an engine/jobgraph.OperatorSpec, connected by exchanges,
// with a parallelism and an output distribution: sources, Calcs, window
// aggregates, window Top-Ns (and deduplications), window_assigns, window
// joins, unions, correlates (table functions), watermark assigners and
// sinks.
//
// Building works bottom-up with lazy Calcs: filters and projections are
// folded into a pending (filter, projections) over the last real operator
// and only become a Calc when an operator that needs real columns consumes
// them; at that point only the columns the consumer needs are computed
// (projection pruning).
//
// # Window TVFs
//
// Above a window TVF the window columns are placeholders: an Aggregate that
// groups on window_start and window_end absorbs the TVF into a window
// aggregate, which assigns windows itself (TUMBLE, HOP, CUMULATE, SESSION;
// on processing time when the time column is a PROCTIME() attribute). A
// SESSION is absorbed when its partition keys are among the group keys
// (sessions are tracked per partition, the input hashed on the partition
// keys, and each session's rows grouped by the keys); otherwise, and
// whenever a HOP, CUMULATE or SESSION window column is used other than as a
// bare group key, the windows are made real first. Every other use of
// window columns makes them real: TUMBLE's are a pure function of the time
// column, computed in a Calc (window_start is expr's tumble_start,
// window_end = window_start + size, window_time = window_end - 1 ms, rows
// without a time dropped); HOP, CUMULATE and SESSION become a window_assign
// operator (SESSION behind a hash exchange on its partition keys). A filter
// above a SESSION that reads more than its partition keys waits for the
// sessions too.
//
// Operators whose rows carry windows (window aggregate, window_assign,
// window Top-N over a TVF, window join, a union whose inputs agree) mark
// their window_start and window_end columns (ColInfo). Grouping on them
// regroups those windows: TUMBLE's are assigned again from window_time;
// other kinds, which overlap or vary in length, by a TUMBLE of 1 ms over
// window_time (one window per window_end) with window_start as a group key.
//
// # Top-N, deduplication and joins
//
// A Filter on the row number of a ROW_NUMBER() partitioned by window_start
// and window_end of one window becomes a window Top-N; keeping one row per
// partition ordered by a time attribute alone, without selecting the row
// number, is Flink's window deduplication (a Top-N of 1, named so in
// EXPLAIN). A Join whose condition equates both inputs' window_start and
// window_end, over the same windows, becomes a window join: other
// equalities between a left and a right expression of one type are its
// keys, the rest its residual; both inputs are hashed on the keys (on
// window_end without keys). Any other join is refused.
//
// # Distribution and parallelism
//
// Every operator gets the job's parallelism, except one that must see all
// rows (a window aggregate or Top-N without other keys, a global SESSION),
// which runs at parallelism 1 behind a SINGLE exchange, as do the operators
// forwarded from it. A window aggregate's input is hash-distributed on its
// group keys and a window Top-N's on its partition keys (window columns
// excluded); the exchange is skipped when the input already is distributed
// that way, or when both sides run at parallelism 1. A union is the first
// operator of its vertex; inputs of its parallelism are forwarded, others
// rebalanced.
//
// # Projection pushdown and checks
//
// With a connector registry, Build plans twice: the first pass records
// which columns of each source its consumers read, and the second reads
// only those from sources whose connector implements
// connectors.ProjectableSource (SourceSpec.Projection; the source's Output
// and its watermark column are the projected ones). Finally every
// operator's column references are checked against its inputs; a mismatch
// is a planner bug, reported as an internal error.
package physical

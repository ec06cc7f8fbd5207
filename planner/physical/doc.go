// Package physical turns an optimized logical plan into a DAG of stream
// operators: sources, Calcs, window aggregates, window Top-Ns and sinks,
// each an engine/jobgraph.OperatorSpec, connected by exchanges, with a
// parallelism and an output distribution.
//
// Building works bottom-up with lazy Calcs: filters and projections are
// folded into a pending (filter, projections) over the last real operator
// and only become a Calc when an operator that needs real columns consumes
// them; at that point only the columns the consumer needs are computed
// (projection pruning). Above a window TVF the window columns are
// placeholders: an Aggregate that groups on window_start and window_end
// absorbs the TVF into a window aggregate, which assigns windows itself.
// Every other use of a window column computes it from the TVF's time column
// (TUMBLE's are a pure function of it: window_start is expr's tumble_start,
// window_end = window_start + size, window_time = window_end - 1 ms); the
// TVF's rows then carry their window columns, and rows without a time,
// which are in no window, are dropped. A Filter on the row number of a
// ROW_NUMBER() partitioned by window_start and window_end of a window TVF
// or window aggregate becomes a window Top-N.
//
// Every operator gets the job's parallelism, except one that must see all
// rows (a window aggregate or Top-N without other keys), which runs at
// parallelism 1 behind a SINGLE exchange, as do the operators forwarded from
// it. A window aggregate's input is hash-distributed on its group keys and a
// window Top-N's on its partition keys (window columns excluded); the
// exchange is skipped when the input already is distributed that way, or
// when both sides run at parallelism 1.
package physical

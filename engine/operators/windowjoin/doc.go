// Package windowjoin implements the window_join operator ("window_join"):
// two windowed inputs (input 0 left, input 1 right, each carrying its
// window_start and window_end columns) joined on the same window plus equi
// keys and an optional residual condition, once per window, as Flink's
// WindowJoinOperator does.
//
// Rows are buffered per window and side as retained Arrow record batches:
// a batch whose rows all belong to one window is kept as is (zero copy);
// otherwise each window's rows are gathered into a batch of their own. When
// the combined watermark (the minimum of both inputs', which the runtime
// passes) reaches a window's end - 1, the window is joined and released, in
// window-end order:
//
//   - each side's batches are concatenated, and its key columns hashed
//     (keygroup.HashColumns) and encoded (rowkey) a column at a time; rows
//     with a NULL key never match (SQL equality), and with no equi keys every
//     pair of rows is a candidate;
//   - the right side is built into a hash table (hashtable.Table, dense group
//     ids, rows chained per group) and the left side probes it, producing
//     candidate pairs in chunks of OutputBatchRows;
//   - the residual condition, if any, is evaluated over a chunk's pairs with
//     only the columns it reads gathered (expr.Take), and keeps the pairs
//     where it is TRUE;
//   - INNER emits the pairs, gathering each output column once per chunk;
//     LEFT, RIGHT and FULL also emit the rows of their outer side(s) that
//     matched nothing, with NULLs for the other side; SEMI emits each left row
//     with at least one match, ANTI each left row with none (left columns
//     only). Windows with rows on one side only skip the join: INNER and SEMI
//     emit nothing, the outer and ANTI joins emit that side's batches as they
//     are (padded with NULLs).
//
// Rows whose window has already been joined (window_end - 1 <= watermark)
// are late: dropped and counted (late_records_dropped, and per side
// left_late_records_dropped and right_late_records_dropped). Rows with a
// NULL window_start or window_end are dropped and counted
// (null_rowtime_records_dropped).
//
// The buffer has no spill path yet: a window's rows stay in memory until it
// fires. At a checkpoint (operator.Snapshotter) the rows that arrived since
// the previous one are also written to keyed state, per window, side and
// key group of their join key; a window deletes them when it fires
// (snapshot.go has the layout).
package windowjoin

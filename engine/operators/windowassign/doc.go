// Package windowassign implements the window_assign operator
// ("window_assign"): a window TVF evaluated on its own, whose rows no
// aggregate absorbs. The output is the input's columns followed by
// window_start, window_end and window_time (= window_end - 1 ms).
//
// TUMBLE, HOP and CUMULATE have row semantics, as in Flink's
// AlignedWindowTableFunctionOperator: every row is emitted at once, once per
// window it falls in (HOP: windows of size starting every slide, latest start
// first; CUMULATE: windows [start, start + k*step) of the max-size window
// holding the row, for every k whose window ends after the row). Nothing is
// buffered and no row is late. Per batch the operator computes each row's
// number of windows and its first one, builds one list of row indices and the
// window bounds for all output rows, and gathers each input column once with
// that index list (expr.Take); the window columns are written straight from
// the bound lists. Batches are cut so an output batch stays near
// OutputBatchRows rows.
//
// SESSION has set semantics, as in Flink's
// UnalignedWindowTableFunctionOperator: rows are held per partition (the
// PARTITION BY columns) until their session closes, then emitted, in arrival
// order, with the session's bounds. Sessions follow Flink's rules (package
// session): windows [ts, ts + gap) that touch merge, a session fires when the
// watermark reaches its end - 1, and a row is late (dropped and counted) when
// its own window is complete and it touches no open session. Held rows are
// encoded a column at a time (rowkey's exact row format) into fixed-size
// pages, grouped by session within each batch so a session's rows lie
// together; each session keeps a list of its rows, merged sessions
// concatenate their lists and are put back in arrival order when they fire,
// and a page is reused once its last row is gone (rows never move). Firing
// copies the rows of the firing sessions into one buffer and decodes it into
// whole Arrow columns, a batch at a time.
//
// When more than 'table.exec.window-tvf.buffer-size-limit' rows are held,
// the sessions that end last give up their rows as one delta each (a format
// byte then, per row, its arrival number and its encoded row), written
// without reading as one state entry per key group and spill round (package
// session has the layout); firing reads a session's deltas back (one Get
// each) and merges them with its held rows by arrival number, so the output
// does not depend on the limit.
//
// Rows whose time is NULL are dropped and counted
// (null_rowtime_records_dropped). With a processing-time window every row is
// placed at the wall-clock time of its batch; SESSION then fires from
// OnProcessingTime and nothing is late.
package windowassign

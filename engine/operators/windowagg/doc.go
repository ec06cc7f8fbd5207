// Package windowagg implements the window aggregate operator ("window_agg"):
// GROUP BY window_start, window_end, keys over a window TVF, emitting one
// final row per group and window when the watermark passes the window's end.
//
// The operator assigns windows itself from the rowtime column (TUMBLE with
// an optional offset for now; see sliceAssigner for how HOP and CUMULATE fit
// in). Per batch it hashes the group key columns (keygroup.HashColumns),
// encodes them (rowkey), looks the keys up in one open-addressing hash
// table per slice to get dense group ids, and folds each aggregate's input
// column into typed accumulator vectors (agg) indexed by those ids. Nothing
// is done a row at a time through maps or interfaces.
//
// Groups live in the operator's window buffer (package winbuf). When it
// holds more than 'table.exec.window-agg.buffer-size-limit' groups, the
// slices that end last, the farthest from firing, are written to the
// keyed-state table without reading it, until the buffer holds half the
// limit. When a window fires, its spilled groups are merged back into its
// hash table (agg.Accumulator.MergeState) and deleted, and the result is
// built as whole Arrow columns.
//
// Rows whose rowtime is NULL are dropped and counted
// (null_rowtime_records_dropped); rows whose every window has already fired
// are late: dropped and counted (late_records_dropped).
package windowagg

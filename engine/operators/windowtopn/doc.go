// Package windowtopn implements the window Top-N operator ("window_topn"):
// ROW_NUMBER() OVER (PARTITION BY window_start, window_end, keys ORDER BY
// ...) <= N over rows that already carry their window columns, emitting the
// first N rows of every partition, with their row numbers, once the
// watermark passes the window's end.
//
// Per batch the operator hashes and encodes the partition keys (the window
// columns are left out of the key: rows are first split by window), encodes
// the ORDER BY columns in a memcomparable format (rowkey.SortEncoder), and
// looks partitions up in a hash table per window. Each partition keeps a
// max-heap of at most N candidates, so memory is O(partitions * N): a row
// that does not beat the partition's current N-th row is rejected with one
// byte comparison; one that does evicts it. Ties rank by arrival. Only rows
// still in a heap at the end of the batch have their columns encoded (a
// column at a time) into the window's arena; dead candidates are compacted
// away.
//
// Like the window aggregate, windows live in the operator's window buffer
// (package winbuf): when it holds more than
// 'table.exec.window-rank.buffer-size-limit' candidate rows, the windows
// that end last are written to the keyed-state table, each partition's
// candidates as a delta, without reading it, until the buffer holds half
// the limit. At fire time the window's deltas are offered back to its
// partitions (at most N candidates survive per partition) and deleted,
// every partition is sorted, and the rows are decoded into whole Arrow
// columns.
//
// Rows of windows that have already fired are late: dropped and counted
// (late_records_dropped). Rows with a NULL window column are dropped and
// counted (null_rowtime_records_dropped).
package windowtopn

// Package windowagg implements the window aggregate operator ("window_agg"):
// GROUP BY window_start, window_end, keys over a TUMBLE, HOP or CUMULATE
// window TVF, emitting one final row per group and window when the
// watermark passes the window's end - 1, in window-end order. Only windows
// holding at least one row are emitted. Rows whose rowtime is NULL are
// dropped and counted (null_rowtime_records_dropped); rows whose every
// window has already fired are late: dropped and counted
// (late_records_dropped). A row behind the watermark whose slice still has
// unfired windows joins those windows only, as in Flink.
//
// # Slices
//
// Event time is cut into slices (see windows in assign.go): TUMBLE's slice
// is its window, HOP's its slide (Flink requires the size to be a multiple
// of the slide), CUMULATE's its step. A row updates exactly one group of one
// slice, whatever the window kind: per batch the operator hashes the group
// key columns (keygroup.HashColumns), encodes them (rowkey), looks them up
// in the slice's open-addressing hash table to get dense group ids, and
// folds each aggregate's input column into typed accumulator vectors
// (agg.Groups, which also applies FILTER) indexed by those ids. Nothing is
// done a row at a time through maps or interfaces.
//
// # Sharing work between overlapping windows
//
// Merging all size/slide slices of a HOP window for every key at every fire
// costs O(size/slide) per key and slide. Instead, windows are computed from
// slices with a constant number of merges per slice and per window, for
// every aggregate, invertible or not:
//
//   - CUMULATE's windows of one period share their start, so one running
//     aggregate per period is extended by each step's slice and emitted as
//     it stands at each window end: one merge per slice and group.
//   - HOP uses aligned blocks (van Herk / Gil-Werman; the two-stacks queue
//     with fixed flips). Event time is cut into blocks of one window size,
//     aligned on window starts, so a window starting at a is either a whole
//     block or the suffix of one block from a plus the prefix of the next
//     block up to a + size. The prefix is a running aggregate, extended by
//     one merge per slice as slices come due. The suffixes of a block are
//     computed once, when the first window needing one fires: newest slice
//     first, each suffix merged from the one after it, so one merge per
//     slice. A window is then one suffix merged with one prefix.
//
// So an event costs its update plus, per slide, about three merges of its
// group (prefix, suffix, window), whatever size/slide is: an hour sliding
// by a second costs what a minute sliding by a second costs. The
// alternative, subtracting the slice that leaves from one running window
// per key, needs invertible aggregates (not MIN, MAX, FIRST_VALUE,
// LAST_VALUE, DISTINCT or HyperLogLog; and DOUBLE sums drift), dropping
// groups that empty out of a hash table that cannot delete, and still keeps
// every slice of a window for its later subtraction; it would save one
// merge of three. Merges are per group and column (agg.Groups.Merge);
// FIRST_VALUE and LAST_VALUE carry arrival sequence numbers, so the merge
// order does not change results.
//
// Rows that arrive behind the watermark but inside windows still open
// (their slice was absorbed already) go, for CUMULATE, straight into the
// period's running aggregate; for HOP into a per-slice patch merged into
// each later window of that slice until its last one fires: such rows cost
// what a window-by-window operator would, the punctual ones do not.
//
// # Memory and keyed state
//
// Pending slices, the slices of the current HOP block kept for its
// suffixes, and the suffixes all live in the operator's window buffer
// (package winbuf), keyed by their bounds (a suffix by the window it
// starts, which is longer than a slice). When the buffer holds more than
// 'table.exec.window-agg.buffer-size-limit' groups, the entries that end
// last, the farthest from being needed, are written to the keyed-state
// table without reading it, until it holds half the limit; taking an entry
// back merges its spilled state in (winbuf.Buffer.Take), so results do not
// depend on the limit. Only the running aggregate (at most one window's
// groups, like a firing window) and patches stay outside the buffer. Output
// is built as whole Arrow columns in batches of at most OutputBatchRows.
//
// # Processing time
//
// With WindowSpec.ProcTime the operator never reads its time column: each
// batch goes to the slice of the wall clock (operator.Context.Now) when it
// arrives, and windows fire when operator.ProcessingTimeHandler's
// OnProcessingTime sees the clock pass their end, or at the final
// watermark. Other watermarks are ignored, and no row is ever late.
package windowagg

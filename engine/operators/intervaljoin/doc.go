// Package intervaljoin implements the interval join, "interval_join"
// (jobgraph.IntervalJoinSpec): two append-only inputs (0 left, 1 right)
// joined on equal keys, an optional residual condition, and
// LowerMs <= l.time - r.time <= UpperMs, emitting append-only output (the
// left columns then the right ones; the left ones alone for SEMI and ANTI).
//
// # State
//
// Each side keeps the rows that a future row of the other side can still
// match, encoded whole (rowkey's exact row format) in a byte arena, and
// organised per key: a hash table (hashtable.Table over the encoded key)
// maps each key to its rows sorted by time, and a min-heap orders all of
// the side's rows by time for cleanup. A row's partners on the other side
// are found by a binary search of its key's rows for the time range its
// bound allows; the candidate pairs are filtered by the residual condition
// a chunk at a time (only the columns it reads are gathered).
//
// # Watermarks, cleanup and late rows
//
// Let W be the combined watermark: every row still to come has time > W,
// except late ones. A row can be matched by a future row only while
// l.time - LowerMs > W (left) or r.time + UpperMs > W (right), so at each
// watermark the rows with l.time <= W + LowerMs and r.time <= W - UpperMs
// are dropped; for LEFT, RIGHT and FULL joins a dropped row of a preserved
// side that never matched is emitted then, NULL-padded (ANTI: a left row
// that never matched is emitted then). The state at watermark W is thus
// exactly: left rows with time > W + LowerMs, right rows with time
// > W - UpperMs.
//
// A row arriving at watermark W joins the other side's rows in state. It is
// late when none of them could match it whatever their keys: a left row
// when l.time + (UpperMs - LowerMs) <= W, a right row when
// r.time + (UpperMs - LowerMs) <= W. Late rows are dropped and counted
// (late_records_dropped, and left_late_records_dropped or
// right_late_records_dropped); even in an outer join they are not emitted.
// A row that is not late but already out of the state's range (a left row
// with l.time <= W + LowerMs, a right row with r.time <= W - UpperMs) is
// joined and, if it is of a preserved side and matched nothing, emitted
// NULL-padded at once; it is not stored. Rows that arrive no later than
// the watermark allows (time > W) are never late and lose no partner.
//
// A row whose key or time is NULL matches nothing: a row of a preserved
// side is emitted NULL-padded at once (ANTI: emitted), others are dropped.
// SEMI emits a left row once, when it first matches.
//
// # Snapshots
//
// The operator is an operator.Snapshotter (engine/internal/opsnap). Each
// stored row has an arrival number; a snapshot writes the rows stored
// since the previous one, key group of the join key | side | time |
// arrival number -> key hash, encoded key, matched flag, row, rewrites the
// rows that matched for the first time since, and deletes the rows the
// watermark dropped since (recorded as they left); the watermark and the
// arrival counters go under the subtask's first key group ("meta"; merged
// by maximum after a rescale), and each side's schema
// under every owned key group once ("schema"). RestoreState rebuilds the
// rows of the owned key groups (a key's rows in time, then arrival, order)
// and takes the largest watermark of the old subtasks' bookkeeping (at an
// aligned checkpoint every subtask of the join has seen the same
// watermarks), so late-row decisions and NULL-padded output continue
// exactly; the replayed watermark then does nothing.
package intervaljoin

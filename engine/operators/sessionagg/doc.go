// Package sessionagg implements aggregation over SESSION windows (a
// "window_agg" whose window is SESSION): sessions grow and merge per
// partition key as rows arrive, and fire when the watermark passes their end.
//
// # Semantics
//
// SESSION(TABLE t PARTITION BY p..., DESCRIPTOR(ts), gap) with GROUP BY
// g..., window_start, window_end. Sessions are tracked per distinct value of
// the PARTITION BY columns, with Flink's rules (package session: windows
// [ts, ts + gap) that touch merge; a session fires when the watermark reaches
// its end - 1; lateness is decided on the merged window). Each session
// yields one output row per distinct value of the group keys among its rows.
//
// Flink absorbs a SESSION TVF into its window aggregate only when the group
// keys are exactly the partition keys (WindowUtil.validGroupKeyPartitionKey);
// otherwise it runs the TVF on its own, attaching each row's session bounds,
// and aggregates downstream grouped by window_start, window_end and the group
// keys. When the group keys include the partition keys (PARTITION BY bidder,
// GROUP BY bidder, auction) that is the same as sub-grouping each session by
// the extra keys, which this operator does itself, so such plans need no
// separate TVF. Group keys that do not include every partition key would
// combine sessions of different partitions, which one subtask cannot see
// (its input is hash-partitioned on the partition keys): New rejects them,
// and the planner must use window_assign followed by an aggregate. The input
// must be hash-partitioned on the PARTITION BY columns (or go to a single
// subtask when there are none).
//
// # Layout
//
// Per batch the operator hashes and encodes the partition key columns
// (keygroup.HashColumns, rowkey), maps them to dense partition ids, places
// every row into its session (session.Tracker, in arrival order, which
// decides lateness), gives each row the dense id of its session's group and
// folds each aggregate's input column into typed accumulator vectors
// (agg.Groups.Update) indexed by those ids. When the group keys equal the
// partition keys a session has exactly one group; otherwise a hash table
// keyed by (session uid, encoded group key) finds the group of each row. When
// sessions merge, their groups are merged (agg.Groups.Merge) into the
// survivor's.
//
// Group ids are never reused while live; a session that fires or is merged
// away leaves a dead group, and once dead groups outnumber live ones the
// accumulators (and the sub-group table) are rebuilt with only the live ones,
// so memory follows the open sessions.
//
// # Buffer and state
//
// Window aggregates buffer groups per fixed window (package winbuf). Sessions
// have no fixed bounds: they grow and merge until they fire, so a state key
// cannot name a session's final window, and spilled state must follow merges.
// The operator therefore keeps the session bounds (a few words per session)
// in memory, which placing rows needs on the hot path anyway, and spills only
// accumulators. When more than 'table.exec.window-agg.buffer-size-limit'
// groups are in memory, the sessions that end last (the farthest from
// firing) give up their groups as one delta each, until half the limit
// remains; a spill round writes, without reading, one state entry per key
// group holding all its sessions' deltas (package session has the layout).
// A spilled session that receives more rows starts a new in-memory delta, a
// merge hands the absorbed session's deltas to the survivor, and firing
// merges every delta of a session back (one Get each) before building the
// result, so results do not depend on the limit. Entries are keyed by the
// key group of the partition key, so they move with their key group.
//
// Rows whose rowtime is NULL are dropped and counted
// (null_rowtime_records_dropped); late rows are dropped and counted
// (late_records_dropped). With a processing-time window every row is placed
// at the wall-clock time of its batch and sessions fire from
// OnProcessingTime; nothing is late.
package sessionagg

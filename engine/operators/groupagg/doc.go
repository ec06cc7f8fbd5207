// Package groupagg implements the "group_agg" operator
// (jobgraph.GroupAggSpec): a non-windowed GROUP BY over an append-only or
// retracting input, emitting a changelog of its results.
//
// Groups. The group keys of a batch are hashed and encoded a column at a
// time (winbuf.Keys, the hash the exchange partitions by) and looked up in
// a hash table (package hashtable) that numbers groups densely; every
// aggregate call keeps typed vectors indexed by group id (agg.GroupState).
// Next to them the operator keeps, per group, its number of live rows
// (+I/+U minus -U/-D) and, with a state TTL, the processing time it was
// last touched. No GROUP BY keys means one global group.
//
// Per batch. The rows are split, in one pass, into accumulations and
// retractions, noting the groups they touch and whether each held rows
// before. The results of the touched groups that held rows are built
// (straight into Arrow builders, then encoded as rows with rowkey's exact
// row format); the accumulations are folded in and the retractions taken
// out, a whole column per call (FILTER applies to both); the results of
// the touched groups that hold rows now are built. Comparing the two
// encodings gives each group's change: a new group emits +I; a changed
// result -U old and +U new (EmitUpdateBefore) or +U alone; a group whose
// live rows all went emits -D with its last result and its state is
// dropped; an unchanged result emits nothing. Like Flink's GroupAggFunction
// the previous result is derived from the accumulators before the update
// rather than kept. The -U/-D rows of a batch come before its +I/+U rows,
// so each key's changes are in order. A retraction for a group holding no
// row (its state expired, or the input never inserted it) is dropped and
// counted in "retractions_ignored".
//
// Retraction. Over a retracting input every call retracts (see
// agg.NewRetracting): MIN and MAX keep an ordered multiset per group,
// FIRST_VALUE and LAST_VALUE their live values with arrival numbers,
// DISTINCT reference counts per (group, value). APPROX_COUNT_DISTINCT and
// user-defined aggregates cannot retract: New refuses them over a
// retracting input.
//
// Dropped groups. A dropped group's key stays in the hash table, which
// cannot delete, with empty state that a returning key reuses. Once the
// dead groups outnumber the live ones (and 1024), the table and the state
// are rebuilt from the live groups (agg.GroupState.Merge), so memory
// follows the live groups at an amortized constant cost per dropped group.
//
// State TTL. With StateTTL.TTLMs, a group untouched for that long in
// processing time (operator.Context.Now) is dropped without emitting
// anything and counted in "state_expired"; a later row for its key starts
// afresh with +I. The sweep runs at most every TTL/10, from ProcessBatch
// and from OnProcessingTime (the operator is then an
// operator.ProcessingTimeHandler).
//
// Local phase. With Phase LocalPhase the operator pre-aggregates an
// append-only input (plain agg.Groups) and flushes every group's partial
// result as +I rows every 'table.exec.mini-batch.size' input rows (default
// 10000), at every watermark and at end of input, keeping nothing between
// flushes. A OnePhase aggregate downstream merges the partials (SUM of
// counts and sums, MIN of minima, MAX of maxima).
//
// # State larger than memory
//
// With a cache limit (engine/internal/statecache: the job option
// 'table.exec.state.cache-size', default 1,000,000 groups per subtask over
// Pebble, none over an in-memory backend) the one-phase operator keeps at
// most that many groups in memory. After a batch that leaves more in the
// table, the live groups touched longest ago (a logical clock, one tick
// per batch) are evicted down to three quarters of the limit: those changed
// since the last snapshot are written into "groups" in the snapshot
// encoding, and the table is rebuilt without them and without the dead
// groups (whose stale entries are deleted from keyed state then, before a
// returning key could read them). Once anything was evicted, the keys a
// batch adds to the table are looked up in keyed state (one Get per new
// group, before the batch is folded in) and take their live rows and
// accumulators from there; a group whose state TTL passed while evicted
// is dropped then and counted as expired (the TTL sweep covers the groups
// in memory only, so an evicted group that never returns stays in keyed
// state). A restore with a limit reads no group: they all stay in keyed
// state until their keys return. The local phase holds one mini-batch of
// groups and is not limited.
//
// # Snapshots
//
// The operator is an operator.Snapshotter; its working state stays in
// memory and a snapshot writes into keyed state what changed since the
// previous one (engine/internal/opsnap):
//
//   - "groups": per group touched since (or dropped by the TTL), key group
//     of its key | encoded key -> hash, live rows, last access, the
//     accumulators' state (agg.GroupState.AppendState, which keeps
//     FIRST_VALUE/LAST_VALUE arrival numbers); a group whose rows all went
//     is deleted. Dead groups renumbered away by a compaction are deleted
//     from keyed state then.
//   - "pending": a mini-batch aggregate's buffered rows (key group | their
//     number -> row kind and row), replaced at every snapshot.
//   - the local phase writes its partial results under the subtask's first
//     key group (they belong to no key) with the number of rows folded in
//     since the last flush ("meta"); after a rescale a subtask merges the
//     partials and sums the counts of the old subtasks it took over.
//   - "schema": the input schema, under every owned key group, once.
//
// RestoreState binds to the stored schema and rebuilds the groups of the
// owned key groups. The watermark the runtime replays after a restore does
// not flush a restored mini-batch or local phase (those rows arrived after
// it). Restored mini-batch rows count as arrived at the restore.
package groupagg

// Package rank implements the "rank" operator (jobgraph.RankSpec): a
// regular, non-windowed Top-N. Per partition key it keeps the rows whose
// ROW_NUMBER, RANK or DENSE_RANK by the ORDER BY keys is at most N, and
// after every input batch emits, per partition the batch touched, only the
// difference between the top N visible before and after it.
//
// # State
//
// Rows are kept in one ordered map, like the keyed state they will become:
// a B-tree of candidate ids ordered by (partition id, sort key, arrival
// number), where the sort key is the memcomparable encoding of the ORDER BY
// columns (rowkey.SortEncoder: NULLs first or last as each key says) and the
// arrival number breaks ROW_NUMBER ties (first arrival first). Partition
// keys are encoded a column at a time and mapped to dense partition ids by a
// hash table (engine/internal/hashtable); per-partition facts (live rows,
// last access, the append-mode boundary) are vectors indexed by partition
// id. Sort keys and whole rows (rowkey's row encoding, which is also the
// row's identity for retractions) live in two byte arenas, compacted when
// dead bytes outnumber live ones.
//
// With append-only input a partition keeps only the rows that can still
// reach the top N: ranks only grow, so a row ranked beyond N is dropped for
// good (for RANK and DENSE_RANK all rows tied at the boundary stay). A
// cached boundary row rejects most rows with one comparison. With
// retracting input (Changes.InputRetracts) every live row is kept, so that
// a retracted top row is replaced by the next one; a -U/-D row removes the
// earliest-arrived live row with equal values (with RANK and DENSE_RANK,
// whose output does not depend on the order of tied rows, ties are ordered
// by the row's encoding so that this lookup is one B-tree seek). A
// retraction of a row the operator does not hold (its partition's state
// expired) is ignored and counted in "retractions_ignored".
//
// # Output
//
// For every touched partition the operator records the visible top N
// before the batch's first change to it and compares it with the top N
// after the batch. With EmitRank and ROW_NUMBER, the output is keyed by
// (partition, rank): a position whose row changed emits -U(old, r) +U(new,
// r) (only +U without EmitUpdateBefore), a new position +I, a vanished one
// -D. Otherwise (no EmitRank, or RANK/DENSE_RANK) the visible rows are a
// multiset of (row[, rank]): rows leaving emit -D, rows entering +I, and a
// row that stays but whose emitted rank changed emits -U(row, old rank)
// then +U(row, new rank); tied ranks are not a unique key, so RANK and
// DENSE_RANK always send the -U. Rows whose values (and rank) did not
// change emit nothing, even when an equal row replaced them.
//
// # State TTL
//
// With StateTTL.TTLMs > 0 a partition whose state was not accessed (by any
// input row of it) for TTLMs of processing time (operator.Context.Now) is
// dropped without output, and counted in "state_expired". Expiry is checked
// when a partition is next touched and by a sweep that runs at most every
// quarter TTL (from ProcessBatch, ProcessWatermark and OnProcessingTime),
// never per row; a sweep that leaves more empty partitions than live ones
// rebuilds the partition table.
//
// # Snapshots
//
// The operator is an operator.Snapshotter (engine/internal/opsnap). A
// snapshot writes every row that entered since the previous one and that
// keyed state does not hold yet (an eviction may have written it), key
// group of the partition key | partition key | arrival number -> partition
// hash, sort key, row, and deletes every row that left (recorded as it
// left); with a TTL, the last access of the partitions accessed since goes
// to "partitions". The input schema goes under every owned key group once
// ("schema"). RestoreState binds to it and rebuilds the partitions of the
// owned key groups with the rows' arrival numbers, so ROW_NUMBER ties keep
// their order; new rows are numbered after the largest restored one. In
// append mode each restored partition is trimmed, which recomputes its
// boundary. With a cache limit (below) a restore reads only the schema and
// the arrival counter and loads partitions as their keys arrive.
//
// # State larger than memory
//
// The operator's memory is a cache over its keyed state
// (engine/internal/statecache): with a limit (the job option
// 'table.exec.state.cache-size', by default 1,000,000 over an on-disk
// backend and none over an in-memory one) it holds at most that many
// partitions after each batch. The unit of eviction is a partition: a
// partition's rows share the state key prefix key group | partition key,
// so they are written, deleted and read back together. Every batch stamps
// the partitions it touches with its number. After a batch's output is
// emitted, if more partitions than the limit are in memory, the operator
// drops the empty ones and evicts the partitions stamped longest ago down
// to three quarters of the limit: in append mode it first trims each
// victim to the rows that can still rank; then it applies every pending
// row (and partition) delete to keyed state, writes each victim's rows that
// keyed state does not hold yet in the snapshot encoding (and, with a TTL,
// its last access if it changed), and rebuilds the partition table, the
// tree and the arenas without the victims. Keyed state is thus the truth
// for every partition not in memory, and a snapshot still writes only what
// changed in memory.
//
// Once anything was evicted (or after a restore with a limit), every
// partition a batch brings into memory for the first time is looked up in
// keyed state before the batch's rows are applied: the batch's new
// partitions' key prefixes, sorted, are read with one batched prefix scan
// of the rows (state.ScanPrefixes; one forward-moving iterator over
// Pebble), and with a TTL one batched Get of their last accesses
// (state.GetMany). Pending deletes are applied first. Loaded rows keep their arrival numbers, so ROW_NUMBER ties
// keep their order, and the arrival counter moves past them, so new rows of
// the partition number after them; in append mode the loaded partition is
// trimmed, which sets its boundary. The output is identical to that of the
// operator without a limit.
//
// A loaded partition whose TTL passed is dropped (without output, counted
// in "state_expired", its rows deleted from keyed state) when its first row
// arrives, as in memory. TTL sweeps cover only the partitions in memory:
// an evicted partition that expires is counted and deleted when its key
// next arrives, never if it does not, so "state_expired" may count fewer
// partitions than without a limit (the output is the same).
//
// Write-behind: over an on-disk backend, once more than
// 'table.exec.state.write-behind-keys' (statecache.WriteBehind) changes
// that keyed state lacks have piled up after a batch (rows not stored yet,
// pending row and partition deletes, partitions whose last access
// changed), the operator writes them all as a snapshot would and forgets
// them, so a checkpoint barrier writes at most that many.
package rank

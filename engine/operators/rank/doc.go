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
// snapshot writes every row that entered since the previous one, key group
// of the partition key | partition key | arrival number -> partition hash,
// sort key, row, and deletes every row that left (recorded as it left);
// with a TTL, the last access of the partitions accessed since goes to
// "partitions". The input schema goes under every owned key group once
// ("schema"). RestoreState binds to it and rebuilds the partitions of the
// owned key groups with the rows' arrival numbers, so ROW_NUMBER ties keep
// their order; new rows are numbered after the largest restored one. In
// append mode each restored partition is trimmed, which recomputes its
// boundary.
package rank

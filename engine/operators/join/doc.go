// Package join implements the regular (non-windowed) join, "join"
// (jobgraph.JoinSpec): input 0 is the left side, input 1 the right, joined
// on equal keys (SQL equality: a NULL key never matches) and an optional
// residual condition, INNER, LEFT, RIGHT, FULL, SEMI or ANTI, over
// append-only or retracting inputs.
//
// # State
//
// Each side keeps its live rows in memory, organised per key as a future
// keyed-state layout would be: rows are encoded whole (rowkey's exact row
// format) into a hash table of distinct rows (hashtable.Table over the row
// bytes), each with its multiplicity, the number of the other side's rows
// (copies) it currently matches, and when it was last read or written; a
// second hash table maps the encoded join key (a NULL one too, which no
// probe looks up) to a chain of the distinct rows with that key, newest
// first, each row numbered by its place in the chain. Identical rows share
// one entry, so a retraction (-U/-D) finds its row by one hash lookup and
// removes one copy.
//
// # Processing a batch
//
// A batch of side s is handled in two steps. First, vectorized: its key
// columns are hashed and encoded a column at a time, its rows encoded
// whole, and every row with a non-NULL key probes the other side's key
// table; the candidate pairs (row, stored row) are filtered by the residual
// condition a chunk at a time, gathering only the columns it reads (the
// batch's by expr.Take, the stored rows' by decoding them). Then, row by
// row in batch order, the row updates side s's state and the output is
// derived from the matching pairs (the other side does not change during
// the batch, so the matches found up front stay valid):
//
//   - an accumulate row (+I, +U) is stored and emits its joined rows as +I
//     (+U for a +U input when EmitUpdateBefore is set); a retract row
//     (-U, -D) removes one stored copy and emits the retraction of its
//     joined rows as -D (-U for a -U input when EmitUpdateBefore is set). A
//     stored row of multiplicity m joins as m output rows.
//   - LEFT, RIGHT and FULL: a row of an outer side is emitted NULL-padded
//     (with the input row's kind) while it has no match (its stored match
//     count is 0; under a state TTL that count may still include expired
//     rows, which keeps the output a consistent changelog). When a stored
//     outer row gets its first match, its NULL-padded rows are retracted
//     (-D) before the joined rows; when its last match goes, they are
//     emitted again (+I) after the retracted joined rows.
//   - SEMI emits a left row while it has at least one match, ANTI while it
//     has none (left columns only); a right row that gives a left row its
//     first match, or takes its last one, inserts or deletes that left row.
//   - A row with a NULL key matches nothing: in an outer side it is kept
//     and emitted NULL-padded, otherwise it only updates the state.
//
// A retract row whose row is not in state (never inserted, or dropped by
// the state TTL) is dropped and counted (retractions_not_in_state):
// emitting it would retract output rows that downstream never saw.
//
// # State TTL
//
// With StateTTL.TTLMs > 0, a stored row not read (probed as a candidate)
// or written for TTLMs milliseconds of processing time (operator.Context.Now)
// is gone: a probe or a lookup that meets it drops it, and a sweep of a few
// entries per input row reclaims the rest, so expiry is exact for what the
// join sees and memory is reclaimed lazily. Dropped rows are counted in
// state_expired (with their multiplicity); their removal emits nothing.
// When more than half of a side's table entries are dead, the side's
// tables are rebuilt from its live rows (each key's chain keeps its order).
//
// Watermarks buffer nothing here; the runtime forwards them.
//
// # Snapshots
//
// The operator is an operator.Snapshotter (engine/internal/opsnap). A
// snapshot writes, for each side, the distinct rows changed since the
// previous one (stored, retracted, matched or unmatched by the other side,
// read under a TTL) into table "rows": key group of the join key | side |
// encoded join key with its length (opsnap.AppendBytes) | row ->
// multiplicity, matches, last access, place in the key's chain (varints),
// join key hash. The rows of one (side, join key) are thus one contiguous
// key range. Rows whose last copy went are deleted (and recorded for
// deletion before a compaction renumbers them away). Each side's schema
// goes under every owned key group once ("schema"). RestoreState binds the
// sides that had seen a batch and, without a cache limit, rebuilds both
// sides' rows of the owned key groups, each chain in its order.
//
// # State larger than memory
//
// With a cache limit (engine/internal/statecache: the job option
// 'table.exec.state.cache-size', by default 1,000,000 over an on-disk
// backend and none over memstate), the two sides' state in memory is a
// cache over keyed state. Its unit is a join key of one side with all its
// distinct rows; the limit counts these units over both sides. Each input
// batch advances a logical clock and stamps the keys it touches.
//
// Before a batch of side s is matched, a pre-pass over the batch's
// encoded keys makes every key it touches resident on both sides: side s's
// keys (rows are added or retracted there) and, for non-NULL keys, the
// other side's (their rows are probed and their match counts change). A
// key missing from memory of a side from which something was evicted (or
// that was restored lazily) is added to memory, and the side's missing
// keys are then loaded together: their state key prefixes, sorted, in one
// batched prefix scan (state.ScanPrefixes; one forward-moving iterator
// over Pebble) per side per batch; each chain is linked back in the order
// of the stored places, so the output is the same, change for change, as
// without a limit. A key found nowhere stays in memory empty, so it is not
// looked up again. Both sides' match counts are stored with their rows
// and change only while both sides of the key are resident, so they stay
// exact across eviction: a stored outer row evicted with its count comes
// back with it, whichever of the other side's rows were evicted or loaded
// meanwhile.
//
// After the batch's output is emitted, if more keys than the limit are in
// memory, the ones stamped longest ago are evicted down to three quarters
// of the limit: their rows changed since the last snapshot are written to
// keyed state in the snapshot encoding (dirty marks cleared), rows whose
// last copy went are deleted from it, and the side's tables are rebuilt
// from the kept keys. With a limit, rows dropped by a rebuild are deleted
// from keyed state at once rather than at the next snapshot, so a later
// lookup cannot find them. A snapshot still writes only the dirty rows in
// memory; evicted rows are already in state. With a limit, RestoreState
// loads no rows (the keys are loaded as batches touch them).
//
// Under a state TTL, evicted rows keep their last access in state; a row
// found expired when its key is loaded is dropped (counted in
// state_expired, deleted from state), as a probe of it in memory would
// drop it. The TTL sweep covers only the rows in memory. StoredRows counts
// the rows in memory.
//
// Write-behind: over an on-disk backend, once more than
// 'table.exec.state.write-behind-keys' (statecache.WriteBehind) distinct
// rows changed since the last snapshot (plus pending deletes) are held in
// memory after a batch, with or without a cache limit, the operator writes
// them all as a snapshot would and clears their dirty marks, so a
// checkpoint barrier writes at most that many.
package join

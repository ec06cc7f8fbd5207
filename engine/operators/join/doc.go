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
// second hash table maps the encoded join key to a chain of the distinct
// rows with that key. Identical rows share one entry, so a retraction
// (-U/-D) finds its row by one hash lookup and removes one copy.
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
//     (with the input row's kind) while it has no match. When a stored
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
// tables are rebuilt from its live rows.
//
// Watermarks buffer nothing here; the runtime forwards them.
//
// # Snapshots
//
// The operator is an operator.Snapshotter (engine/internal/opsnap). A
// snapshot writes, for each side, the distinct rows changed since the
// previous one (stored, retracted, matched or unmatched by the other side,
// read under a TTL): key group of the join key | side | row ->
// multiplicity, matches, last access, join key hash and encoding; rows
// whose last copy went are deleted (and recorded for deletion before a
// compaction renumbers them away). Each side's schema goes under every
// owned key group once ("schema"). RestoreState binds the sides that had
// seen a batch and rebuilds both sides' rows of the owned key groups.
package join

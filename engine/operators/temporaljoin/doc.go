// Package temporaljoin implements the "temporal_join" operator
// (jobgraph.TemporalJoinSpec): the event-time temporal join `JOIN versioned
// FOR SYSTEM_TIME AS OF l.ts ON l.k = v.pk`.
//
// Input 0 is append-only. Its rows are buffered (retained Arrow chunks plus
// one small record per row: time, arrival order, key group) until the
// combined watermark passes their time; then, in time order, each is joined
// with the version of its key valid at its time and emitted (append-only
// output: the left columns then the right ones; with Left, a row with no
// valid version, a NULL key or a failing Residual is kept NULL-padded).
//
// Input 1 is the versioned table's changelog, keyed by RightKeys (its
// primary key). A +I or +U row sets the key's version from its RightTime
// on, a -D ends the version from its RightTime on, and a -U is ignored (the
// +U after it says everything, as in upsert semantics). Versions are kept
// per key, in a hash table over the encoded key columns, as a list ordered
// by time (equal times: the later arrival wins) of references into
// retained record chunks. Right rows may arrive out of order within the
// watermark delay: the version valid at a time is decided by RightTime,
// never by arrival.
//
// At each watermark W, once the due left rows are joined, every left row
// still to come has a time after W, so of each changed key's versions at or
// before W only the last is kept (none if it is a deletion). A left row
// that arrives at or before the watermark is joined at the next watermark
// with the versions still kept. With a StateTTL, a key whose versions were
// not read or written (a left row arriving for the key counts) for TTLMs of
// processing time loses them, counted in state_expired (one per version).
// Rows whose time is NULL are dropped and counted
// (null_rowtime_records_dropped); right rows with a NULL key are ignored.
//
// # Snapshots
//
// The operator is an operator.Snapshotter (engine/internal/opsnap). A
// snapshot writes the left rows buffered since the previous one, key group
// of the key | time | arrival number -> row (rowkey's row encoding, a
// chunk's rows encoded at once), deletes the buffered rows joined since,
// and rewrites, per key whose versions (or, with a TTL, last use) changed,
// key group | encoded key -> hash, last use, its versions (time, row or
// deletion; the rows gathered into one record and encoded at once); a key
// left without versions is deleted. The watermark and the arrival counter
// go under the subtask's first key group ("meta"; merged by maximum after
// a rescale), each side's schema under every owned
// key group once ("schema"). RestoreState rebuilds the versions and the
// buffered rows of the owned key groups (each side's restored rows decoded
// into one retained record), keeps arrival numbers, and takes the largest
// watermark of the old subtasks' bookkeeping.
package temporaljoin

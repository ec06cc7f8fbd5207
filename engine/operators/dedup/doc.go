// Package dedup implements the "dedup" operator (jobgraph.DedupSpec):
// deduplication without windows, ROW_NUMBER() OVER (PARTITION BY keys
// ORDER BY time) = 1, keeping the first (ASC) or last (DESC) row per key.
//
// # Semantics
//
// With ProcTime, arrival order decides. Keep-first emits each key's first
// row once, as +I, and never updates it (append-only output). Keep-last
// emits +I for a key's first row and then an update for every later row.
//
// With event time (TimeColumn), the row with the smallest (keep-first) or
// largest (keep-last) time wins, ties going to the row that arrived first
// (keep-first) or last (keep-last). NULL times sort as in ORDER BY: first
// ascending (a keep-first NULL-time row wins over any time) and last
// descending (a keep-last NULL-time row wins only over another NULL). A row
// that wins over the key's current row replaces it, so keep-first may
// update when an earlier row arrives late. Like Flink, rows behind the
// watermark are not dropped: deduplication does not wait for watermarks,
// it emits as rows arrive, so a late row is deduplicated like any other.
//
// A replacement emits -U old then +U new, or +U alone without
// EmitUpdateBefore (an upsert stream keyed by Keys). The operator emits at
// most one change per key per input batch: the net change from the row the
// key showed before the batch to its winner after it, and nothing when the
// winner's values equal the old row's. The input must be append-only.
//
// # State
//
// Keys are encoded a column at a time (rowkey) and mapped to dense key ids
// by a hash table (engine/internal/hashtable); the state is columnar
// vectors indexed by key id (whether the key holds a row, its time, its
// last access) plus the kept rows, encoded by rowkey, in one byte arena
// that is compacted when dead bytes outnumber live ones. Proctime
// keep-first keeps no rows at all, only which keys were seen.
//
// # State TTL
//
// With StateTTL.TTLMs > 0 a key not accessed (by any input row of it) for
// TTLMs of processing time (operator.Context.Now) is dropped without output
// and counted in "state_expired"; its next row is a first row again (+I).
// Expiry is checked when a key is next touched and by a sweep that runs at
// most every quarter TTL (from ProcessBatch, ProcessWatermark and
// OnProcessingTime), never per row; a sweep that leaves more dropped keys
// than live ones rebuilds the key table. Sweeps only cover the keys in
// memory (see below): an evicted key keeps its last access in keyed state
// and is found expired (dropped, counted, its entry replaced or deleted)
// when its next row loads it, so the output is the same as with all keys
// in memory, but "state_expired" does not count evicted keys that never
// come back, and their entries stay in keyed state.
//
// # State larger than memory
//
// The in-memory keys are a cache over keyed state (engine/internal/
// statecache), limited by the job option 'table.exec.state.cache-size'
// (keys per subtask; by default 1,000,000 over an on-disk backend and no
// limit over memstate). Every key carries the number of the last batch
// that touched it. After a batch, once the key table holds more keys than
// the limit, the keys touched longest ago (statecache.Victims) are evicted
// down to three quarters of the limit: those changed since the last
// snapshot are written to keyed state in the snapshot encoding below and
// their dirty marks cleared, keys the TTL dropped are deleted from keyed
// state, and the key table is rebuilt from the rest (recency kept), the
// arena compacted when dead bytes outnumber live ones. Proctime
// keep-first keeps no row, but its entry says the key was seen, so an
// evicted key is never emitted again.
//
// Once anything was evicted (or a restore loaded nothing), a batch's
// distinct keys missing from the table (those FindOrInsert creates) are
// looked up in keyed state, one point Get each, before the batch is
// processed; a key found is filled in from its entry and is touched by
// the batch like any other. The output is identical to the operator's
// with every key in memory: rows, order and kinds (ties need no arrival
// numbers, see below). Without a limit nothing changes: no lookups, no
// evictions.
//
// # Snapshots
//
// The operator is an operator.Snapshotter (engine/internal/opsnap). A
// snapshot writes, per key in memory touched since the previous one, key
// group of the key | encoded key -> hash, NULL-time flag, kept row's time,
// last access (with a TTL), kept row (none for proctime keep-first); a key
// dropped by the TTL is deleted (and recorded for deletion before a table
// rebuild renumbers it away; with a cache, deleted at once). Evicted keys
// are already in keyed state. The input schema goes under every owned key
// group once ("schema"). RestoreState binds to it and rebuilds the keys of
// the owned key groups, or, with a cache limit, loads none and looks keys
// up as they arrive; ties need no arrival numbers (keep-first keeps the
// current row, keep-last takes the new one).
package dedup

// Package opsnap holds what the updating operators (group_agg, rank,
// dedup, join, interval_join, temporal_join) share to snapshot their
// in-memory state into keyed state (operator.Snapshotter) and restore it.
//
// Layout. An operator keeps its data in tables whose keys begin with the
// key group (state.KeyPrefix) of the row's key, then the operator's own
// encoding (Key; AppendBytes for length-prefixed parts). Small per-subtask
// bookkeeping (a watermark, an arrival counter) goes under the subtask's
// first key group (PutMeta); after a rescale a new subtask finds one entry
// per old subtask whose first key group it owns, or none (ScanMeta), and
// merges them as the operator documents (typically the maximum).
//
// Schemas. Operators bind to their input schema with their first batch,
// but a restored operator must bind before it (the runtime replays a
// watermark first, and restored rows must be decoded). PutSchema writes
// the schema (Arrow IPC's schema message) under every key group the
// subtask owns, once, so whichever subtask owns any of them after a
// rescale finds it (GetSchema).
//
// Dirty tracking. Dirty collects the ids (group, key or partition ids) an
// operator changed since its last snapshot, so that a snapshot writes only
// what changed; Deletes collects the state keys of entries dropped from
// memory before the snapshot could see them (when an operator renumbers
// its ids and forgets the dead ones, or when a row leaves). Reader decodes
// the values.
//
// The subpackage snaptest drives snapshot, restore and rescale tests.
package opsnap

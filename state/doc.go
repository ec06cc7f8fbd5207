// Package state is keyed operator state.
//
// Each operator subtask gets a Backend holding named Tables: ordered maps from
// byte keys to byte values. Every key begins with the two-byte key group of
// the record key it belongs to (see package keygroup and KeyPrefix), so state
// can be redistributed by key group when parallelism changes, and a subtask
// only ever touches the key groups it owns.
//
// Operators keep their hot working set in columnar buffers of their own and
// go to a Table when a buffer overflows, when a window fires and (with
// checkpoints) at every barrier. This keeps the per-row path off the backend,
// as Flink's window buffers do.
//
// Backends: memstate (in memory, for tests and small jobs) and pebblestate
// (github.com/cockroachdb/pebble/v2, one DB per subtask, snapshotted
// incrementally into checkpoint storage; see package checkpoint).
package state

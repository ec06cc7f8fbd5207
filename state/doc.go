// Package state is keyed operator state. Keys are partitioned into key
// groups (a fixed number per job, the max parallelism) so that state can be
// redistributed when parallelism changes. This slice provides an in-memory
// backend; a Pebble backend with checkpoints follows.
package state

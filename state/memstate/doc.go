// Package memstate is an in-memory state backend: each table is a B-tree
// (github.com/google/btree) of copied keys and values. It holds everything in
// the Go heap and has no checkpoints; it is the reference backend that the
// Pebble backend is tested against.
package memstate

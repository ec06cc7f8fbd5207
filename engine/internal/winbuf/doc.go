// Package winbuf is the window buffer the window operators share
// (window_agg, window_topn): open windows live in memory, the buffer spills
// some of them to the operator's keyed-state table when it outgrows its
// limit, and a window's spilled state is merged back when the watermark
// fires it.
//
// Each window holds groups (partitions) in a hashtable.Table keyed by their
// encoded group key, with the key hash the hash exchange uses, and a state
// per group that the operator encodes and merges (the Window interface).
//
// An operator either lets the buffer fire windows by watermark (Fire: every
// window with End-1 <= watermark, in (End, Start) order) or decides itself
// what is due and takes windows out one by one (Take), handing windows it
// builds or keeps back with Put: the window aggregate does so to keep the
// slices and partial aggregates that overlapping windows share (HOP,
// CUMULATE) under the same limit and spill policy as everything else.
//
// Spilling never reads. When the buffer holds more than its limit it
// writes out the windows that end last, the ones farthest from firing,
// until it holds at most half the limit: the windows about to fire stay in
// memory, and each spill makes room for half the limit, so nothing
// thrashes. A window spilled twice has two deltas in state, possibly for
// the same group; firing or taking it merges every delta into the window's
// hash table, which costs what merging one would. Results are the same for
// any limit.
//
// State layout, one table per operator:
//
//	key   = key group (state.KeyPrefix) | window end (state.AppendInt64) |
//	        window start (state.AppendInt64) | chunk sequence (4 bytes BE)
//	value = format version (1 byte) | groups, each:
//	        key hash (8 bytes LE) | group key length (uvarint) | encoded group key |
//	        state length (4 bytes LE) | state (Window.AppendState)
//
// A spill writes, for each key group the window's groups fall into, one
// chunk holding all of them (more when one passes 256 KiB), under a
// sequence number unique within the window. Keys still start with the key
// group, so key groups move between subtasks whole, but a spill is a few
// large blind writes (a write batch, for an LSM backend) instead of one
// entry per group: firing reads whole key groups of a window anyway, never
// one group, so per-group entries would buy nothing but per-entry costs
// (tree or LSM comparisons, allocations, the 22-byte prefix repeated). End
// before start makes a window's chunks in one key group one contiguous
// range, so firing is one Scan and one DeleteRange per key group the
// window spilled into, which the buffer remembers.
//
// What the buffer remembers about spilled windows (which windows, which key
// groups, the next chunk sequence) lives in memory only. Restoring from a
// checkpoint, when there are checkpoints, will rebuild it with a scan of
// the table.
package winbuf

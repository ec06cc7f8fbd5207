// Package statecache is what the updating operators (group_agg, rank,
// dedup, join) share to keep only part of their keyed state in memory.
//
// Such an operator works on an in-memory working set (hash tables over
// encoded keys, typed vectors, arenas of encoded rows) that is a cache over
// its keyed state (operator.Context.State, Pebble in a real job). When the
// working set holds more keys than the limit, the operator evicts the keys
// touched longest ago: it writes those changed since the last snapshot into
// keyed state (the snapshot encoding, so a snapshot need not write them
// again) and forgets them. A key missing from memory is looked up in keyed
// state before it is treated as new. Keyed state is thus always the truth
// for evicted keys and the in-memory entry for cached ones, and a snapshot
// still writes only the cached keys that changed since the last one.
//
// The limit is the job option 'table.exec.state.cache-size' (keys per
// operator subtask). When the job does not set it, the limit is
// DefaultLimit over a backend that keeps its data on disk and unbounded
// over an in-memory one (state.InMemory), where evicting would save
// nothing. Recency is a logical clock the operator advances once per input
// batch, so eviction is deterministic.
//
// Write-behind. A checkpoint barrier writes the cached keys changed since
// the last checkpoint, at most the cache's size. To bound that pause
// further, 'table.exec.state.write-behind-keys' makes an operator over an
// on-disk backend write its changed keys between two batches once more
// than that many have piled up; the barrier then writes at most that
// many. It is off by default: it writes a key again each time it changes
// after being written, which costs throughput.
package statecache

// Package hashtable maps encoded keys (rowkey rows) to dense group ids
// 0, 1, 2, ... in insertion order, for hash aggregation and partitioning.
//
// It is an open-addressing table with linear probing over a power-of-two
// slot array kept at most half full. Each slot packs the upper 32 bits of
// the key's hash (a tag that rejects most mismatches without touching the
// key) and the group id; a matching tag is confirmed by comparing key
// bytes. Keys live back to back in one byte arena (NewFixed skips the
// offsets when every key has the same width), so a batch of probes
// allocates nothing once the table has grown. Hashes come
// from the caller (the operators use keygroup.HashColumns, which they also
// need for key groups), so the table never hashes bytes itself.
package hashtable

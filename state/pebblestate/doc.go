// Package pebblestate is the keyed-state backend that keeps each operator
// subtask's tables in its own Pebble database on local disk and checkpoints
// them incrementally.
//
// Layout. A Provider owns a root directory and a block cache shared by all
// of its backends. Each backend (one operator subtask) gets a working
// directory holding its database (db/) and the frozen views of snapshots not
// yet released (snap-*/). Tables are namespaces inside the one database: a
// table's keys are its two-byte table id followed by the user key, which
// begins with the key group, so each table's key groups are contiguous
// ranges. Table ids are recorded in the database itself (namespace 0), so a
// snapshot carries its catalog.
//
// Writes. Put, Delete and DeleteRange go into one plain (unindexed) Pebble
// batch per backend, committed when it grows past Config.BatchSize, at
// every snapshot and before a read (Get, Scan), never per write: operators
// write in runs (spills, snapshot deltas) and read in runs (window fires,
// restores), and an unindexed batch makes a write a cheap append (about
// twice the throughput of an indexed one, and half the checkpoint time of a
// million-key aggregate). Reads therefore always see every earlier write.
// The write-ahead log is disabled: durability comes from checkpoints.
//
// Snapshots. Snapshot commits the batch, flushes the memtable and takes a
// Pebble checkpoint (hard links, no data copied) into a directory of its
// own: that is the frozen view. Persist uploads the view's files to
// checkpoint storage. Data files (sstables, blob files) are immutable and
// named after the database instance's random id and their file number, and
// files the storage already has are skipped, so snapshots are incremental;
// the small files that change every time (MANIFEST, OPTIONS, markers) are
// named by their content's SHA-256. Every file is recorded with its size and
// SHA-256 in the returned handle.
//
// Restore. Restore downloads a handle's files into a fresh directory,
// verifying size and SHA-256 (a mismatch names the file), and opens the
// database. Without a rescale (one handle whose key groups are the scope's)
// that is all. With a rescale, the handle overlapping most is opened as the
// base and the key groups outside the scope are range-deleted from it (as
// Flink's RocksDB backend clips its base instance); the keys of the scope's
// key groups in the other handles are copied in, table by table, with
// range scans over the key-group prefixes, and those temporaries are
// deleted.
//
// Close removes the working directory once the snapshots taken from the
// backend are released: state lives in checkpoints.
package pebblestate

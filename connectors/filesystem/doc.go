// Package filesystem is the 'filesystem' connector: tables stored as files
// in a local directory, in the csv, json or changelog-json text formats
// (connectors/format/csv, connectors/format/json) or as Parquet
// (connectors/format/parquet).
//
// As a source, 'path' names a file or a directory; a directory is read
// whole, every visible file of it and of its subdirectories (names starting
// with '.' or '_' are hidden), in name order. Text files are cut into one
// byte range per reader, so even a single big file is read in parallel: a
// reader owns the records that start inside its range, finding the first
// one by scanning for a line start (for csv, one outside quotes: the parity
// of the quotes before it decides). Parquet files are dealt whole to the
// readers (largest first, to the least loaded), and a reader's range of a
// Parquet file is a range of rows. The source is bounded, unless the table
// sets 'source.monitor-interval' (see Continuous directories).
//
// A bad record goes to the table's bad-record policy
// (connectors.BadRecordOptions, applied by rc.BadRecordHandler()) as
// connectors.BadRecord{Location: "PATH:LINE", Reason, Record}: under
// 'fail', the default, the read fails with "PATH:LINE: reason". The text
// formats' older options 'csv.ignore-parse-errors' and
// 'json.ignore-parse-errors' = 'true' are aliases of 'skip': bad records
// are skipped, counted in the metric bad_records_skipped, and summed up in
// a log line when the reader ends.
//
// As a sink, 'path' is a directory of part files, created if missing. The
// writer of subtask s writes part-<s>-<n>.<format> with n counting up (past
// the files already there, so a second INSERT appends), rolling to a new
// file after 'sink.rolling-policy.file-size' bytes, or when a file has been
// open longer than 'sink.rolling-policy.rollover-interval' or has had no
// rows for 'sink.rolling-policy.inactivity-interval' (checked every
// 'sink.rolling-policy.check-interval' when rows arrive; a writer has no
// timer of its own), and at every checkpoint. Every file is written under a
// hidden name (".part-...inprogress") and renamed when the writer is
// closed, after an fsync, so the table shows complete files only; Abort
// deletes them. A Parquet file is complete only once closed (its footer),
// which rolling and checkpoints do. With csv, json and parquet the sink
// takes inserts only.
//
// # Partitions
//
// A table declared PARTITIONED BY (k1, ..., kn) (TableInfo.PartitionKeys:
// STRING, INT or BIGINT columns, not all of them) is written as Flink
// writes it: each row under path/k1=v1/.../kn=vn/, the values escaped as
// Flink's and Hive's partition paths escape them (%XX for control
// characters, DEL and " # % ' * / : = ? \ { [ ] ^), a NULL or empty value
// as 'partition.default-name' (__DEFAULT_PARTITION__), and the partition
// columns left out of the files. A writer keeps one open file per
// partition it has rows for, all numbered by the writer's one counter, and
// a batch is split by partition with one gather per partition. The
// committable names files by their paths relative to 'path', and Recover
// walks the partition directories. A source reads the partition values of
// each file back from its directories (which must be exactly k1=v1/.../kn=vn),
// unescaped and parsed to the column's type, the default name as NULL, and
// a reader's batches then hold rows of one file each. changelog-json tables
// cannot be partitioned (an update could move a row to another partition,
// whose files are read apart).
//
// # Continuous directories
//
// With 'source.monitor-interval', the factory's NewSplitSource
// (connectors.SplitSourceFactory) returns a split source, unbounded, and
// NewSource refuses the table; without it NewSplitSource returns (nil, nil)
// and tables are read through NewSource as above. Every file is a split
// (ID: its path relative to 'path'; state: JSON of its path and offset, a
// byte offset at a record start for the text formats, a row for Parquet).
// The enumerator lists the directory at most once per monitor interval and
// returns the files it has not returned before; its Snapshot is that set of
// names, sorted and front-coded. A split reader reads its files one at a
// time, in the order assigned, reports each Finished once at its end, and
// snapshots the one it is reading at the offset after the rows returned.
// Files are never read twice: a file should appear complete (renamed into
// place), and one that grows after it was read is not read again.
//
// # Checkpoints
//
// The sink takes part in checkpoints as a two-phase commit
// (connectors.TwoPhaseWriter, connectors.RecoverableSink). At a barrier,
// Prepare fsyncs and closes the writer's in-progress files (one per
// partition) and returns, as
// JSON, the in-progress and final names of the files finished since (and
// of those prepared earlier whose Commit has not come yet), with the
// writer's next part counter. Commit renames them to their visible names;
// a file already renamed is fine, so Commit is idempotent. Close, at the
// end of input, commits everything not yet committed; Abort deletes only
// what was written after the last Prepare. Recover, when a job resumes
// from a checkpoint, commits that checkpoint's files, then deletes every
// in-progress part file it does not name and every visible part file of a
// checkpointed writer numbered from its committable's next counter on (the
// output of the failed run after the checkpoint), so the visible output
// holds every row exactly once. Writers then number their files on from
// there. (Visible files of writers absent from the restored checkpoint,
// e.g. added by a rescale after it and closed before the failure, cannot
// be told from an earlier job's and are kept.)
//
// The source is a connectors.RestorableSource: a reader's position is, per
// file, the byte ranges (for Parquet, the row ranges) whose records it has
// returned. A restored reader, at any parallelism, reads its share less
// every range any old reader had read, and its own positions still name
// those ranges (for a later checkpoint and restore), so each record is
// read exactly once; a changelog-json writer's files are still read by one reader, in
// order, resuming where the old one stopped.
//
// 'format' = 'changelog-json' is the format of updating tables (the
// factory is a connectors.UpdatingSink and a connectors.ChangelogSource):
// json lines with the row kind under "op" ("+I", "-U", "+U", "-D"). A
// sink fed an upsert stream (TableInfo.Changelog "upsert", by its PRIMARY
// KEY) leaves out -U lines; otherwise every change is written. Its part
// files are numbered with ten digits, part-<s>-<nnnnnnnnnn>.json, counting
// on past the files already there, so reading one writer's files in name
// order replays its changes in order, across restarts. As a source, each
// writer's files go whole to one reader, in name order (never split by
// byte range), and come back with their row kinds (ChangelogReader): a
// retract stream, or with a PRIMARY KEY an upsert stream whose -U lines
// are skipped (read that way, an update is assumed not to change the key).
package filesystem

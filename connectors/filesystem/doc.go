// Package filesystem is the 'filesystem' connector: tables stored as text
// files in a local directory, in the csv, json or changelog-json format
// (connectors/format/csv, connectors/format/json).
//
// As a source, 'path' names a file or a directory; a directory is read
// whole, every visible file of it and of its subdirectories (names starting
// with '.' or '_' are hidden), in name order. The files are cut into one
// byte range per reader, so even a single big file is read in parallel: a
// reader owns the records that start inside its range, finding the first
// one by scanning for a line start (for csv, one outside quotes: the parity
// of the quotes before it decides). The source is bounded.
//
// A bad record fails the read with "PATH:LINE: reason", unless the table
// sets 'csv.ignore-parse-errors' or 'json.ignore-parse-errors' = 'true':
// then bad records are skipped, counted in the metric bad_records_skipped,
// and summed up in a log line when the reader ends.
//
// As a sink, 'path' is a directory of part files, created if missing. The
// writer of subtask s writes part-<s>-<n>.<format> with n counting up (past
// the files already there, so a second INSERT appends), rolling to a new
// file after 'sink.rolling-policy.file-size' bytes. Every file is written
// under a hidden name (".part-...inprogress") and renamed when the writer
// is closed, after an fsync, so the table shows complete files only; Abort
// deletes them. With csv and json the sink takes inserts only.
//
// # Checkpoints
//
// The sink takes part in checkpoints as a two-phase commit
// (connectors.TwoPhaseWriter, connectors.RecoverableSink). At a barrier,
// Prepare fsyncs and closes the writer's in-progress file and returns, as
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
// file, the byte ranges whose records it has returned. A restored reader,
// at any parallelism, reads its share less every range any old reader had
// read, so each record is read exactly once; a changelog-json writer's
// files are still read by one reader, in order, resuming where the old
// one stopped.
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

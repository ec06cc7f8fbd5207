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

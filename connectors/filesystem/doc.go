// Package filesystem is the 'filesystem' connector: tables stored as text
// files in a local directory, in the csv or json format
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
// deletes them. The sink takes inserts only.
package filesystem

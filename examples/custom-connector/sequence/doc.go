// Package sequence is a third-party connector written against Eddy's public
// connector API (package connectors), living outside the connectors tree:
// a bounded or unbounded sequence of numbers, read as splits in the manner
// of Flink's NumberSequenceSource (a FLIP-27 source).
//
//	CREATE TABLE numbers (
//	  seq BIGINT, ts TIMESTAMP(3), parity STRING,
//	  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
//	) WITH ('connector' = 'sequence', 'start' = '1', 'end' = '100001', 'splits' = '8');
//
// The values start, start+1, ... (below 'end', when given) are dealt to
// 'splits' splits round robin: split i holds start+i, start+i+splits, ...
// The enumerator hands every split out at once; the runtime assigns them to
// the source's readers, checkpoints each split's next value, and after a
// failure or at another parallelism assigns the unfinished splits again.
// Each row's ts is 'event-time.start' + (seq - start) × 'event-time.step',
// so every split is in event-time order while the splits of one reader
// interleave: the per-split watermarks of split sources keep those rows
// from being late.
//
// Register it next to the built-in connectors:
//
//	reg := builtin.Registry()
//	if err := reg.Register(sequence.New()); err != nil { ... }
//	embedded.Run(ctx, "job.sql", script, embedded.Options{Connectors: reg})
package sequence

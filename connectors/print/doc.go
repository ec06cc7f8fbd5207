// Package print is the 'print' connector: a sink that prints every row,
// one line each, in Flink's form: the row kind and the values,
// "+I[42, Golden Rose, 2026-01-01 00:00:05.120]", NULL as null and
// TIMESTAMP(3) as 'yyyy-MM-dd HH:mm:ss.SSS'. With parallelism above 1 a
// line starts with "<subtask+1>> ", and with 'print-identifier' set with
// "<identifier>> " (or "<identifier>:<subtask+1>> "), as in Flink. Lines go
// to standard output, or standard error with 'standard-error' = 'true'.
// Each batch is formatted first and written whole under one lock shared by
// every print table of the factory, so lines of parallel writers never
// interleave.
//
// The print sink is not transactional: it does not take part in
// checkpoints (its writers are not connectors.TwoPhaseWriters), and lines
// are printed as rows arrive. A job restored from a checkpoint prints again
// the rows it had printed after that checkpoint, so its output is
// at-least-once; that is fine for demos and debugging. Use the filesystem
// sink for exactly-once output.
package print

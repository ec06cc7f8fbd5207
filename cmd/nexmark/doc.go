// Command nexmark runs the Nexmark queries of examples/nexmark in process
// and prints, per query, the events generated, the wall and CPU time and
// the events per CPU-second (Nexmark's per-core throughput) and per second.
//
// Usage:
//
//	go run ./cmd/nexmark [--events N] [--parallelism P] [--queries q0,q1,...]
//	                     [--rate R] [--seed S] [--batch-size B] [--explain]
//
// Each query reads the 'nexmark' connector's tables (the events are
// generated in the job, as Flink's nexmark source does) and writes into a
// blackhole sink, through package embedded. --events is 'events.num', the
// events of all three kinds, and the figure the rates count, as Nexmark
// counts them. CPU time is the process's (user + system, from getrusage),
// so it includes the generator, the garbage collector and everything else.
// The last column is the query's peak heap, sampled every 10 ms (garbage
// not yet collected included), which shows the state updating queries
// keep. q10 writes CSV files and q13 reads a side-input file (written by
// nexmark.WriteSideInput) in a temporary directory, removed at the end.
// --explain prints each query's plan instead of running it.
package main

// Package blackhole is the 'blackhole' connector: a sink that discards
// every row, for benchmarks and for jobs run for their side effects. It
// takes part in checkpoints trivially (its writers are
// connectors.TwoPhaseWriters with empty committables, and Recover does
// nothing), so a checkpointed job may use it.
package blackhole

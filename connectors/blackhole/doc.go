// Package blackhole is the 'blackhole' connector: a sink that discards
// every row, for benchmarks and for jobs run for their side effects.
package blackhole

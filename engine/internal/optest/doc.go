// Package optest is the harness for operator tests: a Collector that
// renders every emitted row as text and records which watermark call emitted
// it, fake metrics with readable counters, a Context with an in-memory state
// backend, and a canonical text rendering of Arrow values that test
// references reproduce from plain Go values.
package optest

// Package connectors is the public API for sources and sinks, and the
// explicit registry that maps a table's 'connector' option to a Factory.
//
// A source divides its input among parallel readers; each reader produces
// Arrow record batches in the table's physical schema. A sink hands each
// parallel subtask a writer. Built-in connectors live in subpackages and are
// listed by connectors/builtin; third-party connectors register themselves
// into a Registry the same way, without touching the engine.
//
// Lifecycle: the planner calls Factory.Options (to validate a CREATE TABLE)
// and the runtime calls NewSource/NewSink, then Reader/Writer once per
// subtask. Every Reader is closed exactly once, also on failure; every Writer is
// either closed (the job finished) or aborted (it failed), exactly once.
package connectors

// Package refeval evaluates plans a row at a time, for the planner's tests:
// a logical plan by the meaning of its nodes (Scan, Filter, Project,
// WindowTVF of every kind, Aggregate, Over, Union, Join, WatermarkAssigner)
// and a job graph by the meaning of its operator specs (source with its
// projection, Calc, window aggregate, window Top-N, window_assign, window
// join, union, watermark assigner), over the same bounded input, where
// every window fires at the end. The two must agree on every sink's rows
// for a plan to be a correct translation.
//
// SESSION windows follow Flink's rule: per partition, rows whose windows
// [ts, ts + gap) intersect or touch belong to one session. Aggregates
// apply FILTER and DISTINCT; APPROX_COUNT_DISTINCT is the exact count on
// both sides. Processing time, table functions and user-defined functions
// have no meaning here and are reported as errors.
//
// Values are Go values: nil for NULL, int64 for INT, BIGINT, TIMESTAMP
// (milliseconds) and INTERVAL (milliseconds), float64 for DOUBLE, bool and
// string. DECIMAL is not supported.
package refeval

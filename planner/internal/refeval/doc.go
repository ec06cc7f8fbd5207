// Package refeval evaluates plans a row at a time, for the planner's tests:
// a logical plan by the meaning of its nodes (Scan, Filter, Project,
// WindowTVF, Aggregate, Over) and a job graph by the meaning of its
// operator specs (Calc, WindowAggregate, WindowTopN), over the same bounded
// input, where every window fires at the end. The two must agree on every
// sink's rows for a plan to be a correct translation.
//
// Values are Go values: nil for NULL, int64 for INT, BIGINT, TIMESTAMP
// (milliseconds) and INTERVAL (milliseconds), float64 for DOUBLE, bool and
// string. DECIMAL is not supported.
package refeval

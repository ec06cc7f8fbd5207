// Package udf is the public API for user-defined functions written in Go:
// scalar functions, aggregate functions and table functions, callable from
// SQL once registered in a Registry that is handed to both the planner (for
// type checking) and the runtime (for execution).
//
// Functions work on Arrow columns: a scalar function computes a whole result
// column per call, a table function the rows of a whole input batch. The
// typed helpers in this package (see the examples) adapt plain Go functions
// of Go values for the common case.
package udf

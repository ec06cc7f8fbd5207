// Package udf is the public API for user-defined functions written in Go:
// scalar functions, aggregate functions and table functions, callable from
// SQL once registered in a Registry that is handed to both the planner (for
// type checking: analyze.Env.Functions, embedded.Options.Functions) and the
// runtime (for execution: operator.Context.Functions).
//
// Functions work on Arrow columns: a scalar function computes a whole result
// column per call (Scalar), a table function the rows of a whole input
// batch (Table, called as LATERAL TABLE(f(args))), an aggregate folds rows
// into per-group accumulators (Aggregate). The typed helpers adapt plain Go
// functions of Go values for the common case:
//
//	reg := udf.NewRegistry()
//	err := reg.Register(udf.ScalarFunc2("count_char", func(s, c string) int64 {
//		return int64(strings.Count(s, c))
//	}))
//
// ScalarFunc1 to ScalarFunc3, AggregateFunc1 (a state type with Add, Merge
// and Result) and TableFunc1 (a function returning the rows of one input
// row, as values or structs) map Go types to SQL types (see typed.go), skip
// NULL inputs unless a parameter is a Nullable, and report unsupported Go
// types when registered. A panic in a function fails the job with an error
// rather than crashing it. examples/udf runs all three kinds from SQL.
//
// Strings passed to a function point into the batch: a scalar or table
// function must not keep them after it returns (the aggregate helper copies
// the ones it hands to Add).
package udf

// Package plantest builds logical plans by hand for the planner's tests, in
// the shapes the analyzer produces, with columns named rather than numbered,
// and names a set of cases (flagship Top-N, every window kind with
// aggregation, Top-N, deduplication, joins and plain TVFs, unions, table
// functions, computed watermarks, processing time, projection pushdown,
// unsupported shapes) that the golden tests plan and explain. Random builds
// random windowed queries for the semantic tests.
//
// It is test support: its helpers panic on misuse (an unknown column name),
// which fails the test that misused them.
package plantest

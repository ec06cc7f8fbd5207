// Package analyze binds and type-checks a parsed SQL script against the
// catalog its CREATE TABLE statements build and turns its queries into a
// logical plan (planner/logical), with Flink's semantics.
//
// Binding resolves names case-insensitively; typing follows Flink's rules
// (LogicalTypeMerging for common types and decimal arithmetic, integer
// division for integers, SQL NULL semantics) and makes every implicit cast
// explicit in the engine/expr trees it produces. Anything this slice does
// not support is rejected with an error that names the construct and points
// at it in the user's text, rather than planned wrongly.
package analyze

// Package logical is the logical plan: a tree of relational operators over
// typed columns, as the SQL analyzer (sql/analyze) builds it from a script.
//
// It says what to compute, not how: an Aggregate over a WindowTVF is still
// just an aggregate with window_start and window_end among its group keys;
// the planner's rules recognize that shape and turn it into a window
// aggregation, and likewise a Filter on a Rank's number into a Top-N.
//
// Columns are referred to by index into a node's input schema; expressions
// are engine/expr trees, already typed, with every implicit cast made
// explicit. The package is a leaf of the planner: it imports only engine
// types, so the analyzer can build plans without importing the planner.
package logical

// Package explain renders plans as deterministic, readable text: logical
// plans as trees, the physical job graph as its vertices (each with its
// parallelism and chain of operators, their parameters written with column
// names, a window join's as L.name and R.name) and the exchanges between
// them, and expressions as SQL. The same plan always renders to the same
// text, which golden tests rely on. Options add each operator's output
// types, or its changelog mode (EXPLAIN CHANGELOG_MODE).
package explain

// Package agg implements the aggregate functions of the aggregating
// operators as vectorized accumulators: each keeps typed vectors (sums,
// counts, extremes) indexed by dense group id, and Update folds a whole
// input column into them given each row's group id, with fast paths for
// columns without NULLs. Calls binds an operator's calls to its input and
// Groups drives all of them at once, applying each call's FILTER.
//
// The functions are COUNT(*), COUNT, SUM, AVG, MIN, MAX, FIRST_VALUE and
// LAST_VALUE (the first and last non-NULL value in arrival order, as
// Flink), APPROX_COUNT_DISTINCT (a HyperLogLog sketch per group, from
// github.com/axiomhq/hyperloglog) and user-defined aggregates (package
// udf), with Flink's result types. DISTINCT keeps, for all groups of an
// accumulator together, one hash set of (group, value) in the rowkey key
// format (package hashtable), and feeds each group's inner COUNT, SUM or
// AVG a value the first time the group sees it.
//
// Accumulators also merge (group into group, for combining window slices
// and sessions, and from an encoded state, for the keyed-state path) and
// build their results straight into Arrow builders. Merging is order-free:
// partial states merged in any order, directly or through their encoding,
// give the result of one accumulator that saw every row. FIRST_VALUE and
// LAST_VALUE get there by keeping each value's arrival number (see
// firstlast.go), since the window buffer merges older spilled state into
// newer state in memory. COUNT, SUM and AVG over integers and decimals can
// also subtract a group they absorbed (Retractable, Calls.Invertible).
//
// The state encoding is little-endian and fixed per function; the
// operators that store it version it.
package agg

// Package agg implements the aggregate functions of window aggregation as
// vectorized accumulators: each keeps typed vectors (sums, counts, extremes)
// indexed by dense group id, and Update folds a whole input column into them
// given each row's group id, with fast paths for columns without NULLs.
//
// Accumulators also merge (group into group, for combining window slices,
// and from an encoded state, for the keyed-state path) and build their
// results straight into Arrow builders. The state encoding is little-endian
// and fixed per function; the operators that store it version it.
package agg

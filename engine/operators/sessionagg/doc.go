// Package sessionagg implements aggregation over SESSION windows (a "window_agg" whose window is SESSION): aggregation over SESSION windows, which grow and merge per partition key as rows arrive.
package sessionagg

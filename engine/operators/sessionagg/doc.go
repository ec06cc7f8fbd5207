// Package sessionagg implements aggregation over SESSION windows (a
// "window_agg" whose window is SESSION): sessions grow and merge per
// partition key as rows arrive, and fire when the watermark passes their end.
package sessionagg

// Package temporaljoin implements the "temporal_join" operator (jobgraph.TemporalJoinSpec).
package temporaljoin

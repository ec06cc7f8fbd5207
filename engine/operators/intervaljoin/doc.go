// Package intervaljoin implements the "interval_join" operator (jobgraph.IntervalJoinSpec).
package intervaljoin

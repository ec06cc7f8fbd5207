// Package groupagg implements the "group_agg" operator (jobgraph.GroupAggSpec).
package groupagg

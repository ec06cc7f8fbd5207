// Package rank implements the "rank" operator (jobgraph.RankSpec).
package rank

// Package join implements the "join" operator (jobgraph.JoinSpec).
package join

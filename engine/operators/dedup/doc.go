// Package dedup implements the "dedup" operator (jobgraph.DedupSpec).
package dedup

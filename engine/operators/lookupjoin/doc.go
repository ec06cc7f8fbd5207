// Package lookupjoin implements the "lookup_join" operator (jobgraph.LookupJoinSpec).
package lookupjoin

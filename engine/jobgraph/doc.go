// Package jobgraph is the contract between the planner and the engine: a job
// as plain, serializable data. Vertices are chains of operator specs that run
// together in one subtask; edges are exchanges between vertices (forward, or
// hash on key columns). The planner writes a Graph; the engine instantiates
// operators from it and never sees SQL.
package jobgraph

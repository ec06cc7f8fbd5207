// Package chain turns a physical plan into the engine's job graph. Operators
// connected by a forward edge, with the same parallelism, where the producer
// feeds nothing else, are chained into one vertex and run in one subtask;
// every other edge becomes a jobgraph.Edge carrying its exchange. An operator
// with several inputs (a union, a window join) starts a vertex, its inputs
// being the vertex's edges in order. Vertex IDs
// ("v1", "v2", ...) follow the plan's stable operator order, so the same SQL
// and parallelism always give the same graph.
package chain

// Package exprutil holds the planner's operations on engine/expr trees:
// finding the columns an expression reads, substituting and remapping column
// references, splitting and building conjunctions, and recognizing constants.
// Expressions are treated as immutable: every function returns new nodes and
// never modifies its arguments.
package exprutil

// Package expr holds scalar expressions as the planner writes them into a job
// graph (plain, serializable data) and compiles them into vectorized
// evaluators that compute a whole Arrow column per call.
//
// Expressions follow SQL three-valued logic: a NULL input makes a NULL output
// unless the function says otherwise (AND, OR, IS NULL, CASE, COALESCE).
package expr

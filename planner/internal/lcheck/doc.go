// Package lcheck checks that a logical plan is well formed before the
// planner works on it: every node has its inputs, every column index an
// expression, key list or window spec holds is inside the schema it refers
// to, and expressions that must be boolean are. The analyzer builds valid
// plans; this check turns a mistake there into a clear error instead of a
// wrong plan.
package lcheck

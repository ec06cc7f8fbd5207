// Package optimize rewrites a logical plan into an equivalent one that is
// easier to execute and to recognize patterns in. Its rules are named (see
// Rules) and applied bottom-up until none applies:
//
//   - filters are pushed towards the sources: below projections (the
//     condition is rewritten over the projection's input), below window
//     TVFs when they do not read the window columns (below a SESSION only
//     when they read partition keys alone: other rows could have extended
//     or bridged a session), below aggregates and ranking functions when
//     they only read grouping or partition keys, into every input of a
//     UNION ALL, and into the input of a join whose rows the join keeps
//     unchanged (both inputs of an inner join, the preserved side of an
//     outer one, the left input of a semi or anti join) when they read
//     that input only;
//   - adjacent filters are merged, and so are adjacent projections;
//   - projections that pass their input through unchanged, and filters that
//     are always TRUE, are removed.
//
// The result puts a window Top-N's filter directly over its ranking function
// and the window TVF directly under the projections feeding an aggregate,
// which is what the physical planner looks for. Column pruning and the
// merging of filters and projections into one Calc happen in the physical
// planner, which knows which columns each operator needs.
//
// A rewrite never moves an expression that can fail (division, MOD, CAST)
// to where it would run on rows an earlier filter removed.
package optimize

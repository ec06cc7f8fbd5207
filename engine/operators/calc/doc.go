// Package calc implements the calc operator ("calc"): a filter and a list
// of projections over each batch (jobgraph.CalcSpec), as Flink's Calc.
//
// Per batch the filter predicate is evaluated as one BOOLEAN column and the
// rows where it is TRUE are kept (NULL and FALSE drop). When every row
// passes nothing is copied; otherwise only the input columns the
// projections read are gathered. Each projection is then computed a whole
// column at a time by engine/expr; a projection that is a bare column
// passes the input column through without copying. Row kinds follow the
// kept rows, and a batch with no kept row emits nothing. Watermarks need no
// work.
//
// The filter and the projections are compiled together (expr.Program), so
// a subexpression they repeat - Nexmark q21's LOWER(channel), written
// eight times - is computed once per batch: the projections gather the
// filter's values for the kept rows instead of computing them again.
//
// The operator's input schema is not part of its spec: the column types come
// from the column references in the expressions (every one carries its
// type), and the column names from the first batch, for error messages.
package calc

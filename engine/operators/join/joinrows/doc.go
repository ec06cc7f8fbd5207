// Package joinrows holds what the regular join (engine/operators/join) and
// the interval join (engine/operators/intervaljoin) share:
//
//   - Layout checks each input's schema against the operator's output (the
//     left columns then the right ones; the left ones alone for SEMI and
//     ANTI), checks that the key columns of the two sides have equal types,
//     and compiles the residual condition over the joined columns;
//   - RowBuf collects rows encoded whole (rowkey's exact row format, the
//     format both joins keep their state in) for one columnar Decode;
//   - Output assembles output batches, a column at a time, from encoded
//     left and right rows (nil: the side is NULL) with a row kind each, and
//     emits them in batches of at most OutputBatchRows rows;
//   - Pairs evaluates the residual condition over candidate pairs of an
//     input batch's rows and stored rows, gathering only the columns the
//     condition reads.
package joinrows

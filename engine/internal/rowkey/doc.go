// Package rowkey encodes the values of a few Arrow columns, row by row, into
// compact byte strings, a column at a time.
//
// Two encodings are provided:
//
//   - Encoder writes a key format for equality: grouping keys of hash tables
//     and keys and payloads of operator state. Each column is a marker byte
//     (0 NULL, 1 valid) followed by the value (fixed width for numbers,
//     uvarint length then bytes for strings). Equal values encode to equal
//     bytes (-0.0 is written as 0.0 and every NaN as one NaN), and Decode
//     turns rows back into Arrow builders. NewRowEncoder writes the same
//     format but keeps doubles' exact bits, for whole rows kept as payload.
//   - SortEncoder writes a memcomparable format: comparing two encoded rows
//     with bytes.Compare orders them as SQL ORDER BY would, honouring DESC and
//     NULLS FIRST/LAST per column.
//
// Both formats are part of the state format of the operators that store
// them: changing either needs a new state format version.
package rowkey

// Package format holds what the text formats of the built-in connectors
// share: the column builder that turns parsed values into Arrow arrays
// (with row rollback for bad records), the parsers and printers of SQL
// values in their text forms (TIMESTAMP(3) as 'yyyy-MM-dd HH:mm:ss.SSS',
// DECIMAL, DOUBLE in Java's notation as Flink prints it), the error a bad
// field reports, and the Decoder and Encoder interfaces that the
// filesystem connector drives. Serialization lives here and in the
// csv and json subpackages; transport (files, directories, splits) lives in
// connectors/filesystem.
package format

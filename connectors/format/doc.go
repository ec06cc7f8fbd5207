// Package format holds what the text formats of the built-in connectors
// share: the column builder that turns parsed values into Arrow arrays
// (with row rollback for bad records), the reading and writing of one
// field as text, the error a bad field reports, and the Decoder and
// Encoder interfaces that the filesystem connector drives.
//
// The text forms of SQL values themselves (TIMESTAMP(3) as
// 'yyyy-MM-dd HH:mm:ss.SSS', DECIMAL with its scale, DOUBLE in Java's
// notation as Flink prints it) are engine/types/sqltext's, shared with
// CAST. A field is read more strictly than CAST reads text: only spaces
// and tabs around it are trimmed, an integer has no fraction, a BOOLEAN is
// TRUE or FALSE, and a TIMESTAMP(3) has every field at full width.
//
// Serialization lives here and in the csv and json subpackages; transport
// (files, directories, splits) lives in connectors/filesystem.
package format

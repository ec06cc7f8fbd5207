// Package csv is the csv text format of the filesystem connector, as
// Flink's csv format reads and writes it: no header, one record per line,
// fields separated by a delimiter (',' by default) and quoted per RFC 4180
// when they hold the delimiter, a quote or a line break.
//
// Empty fields read as NULL for every type but STRING, where an empty
// field is the empty string (Flink's rule). A table that must tell a NULL
// string from an empty one sets 'csv.null-literal': an unquoted field equal
// to it is NULL for every type, and NULLs are written as it. TIMESTAMP(3)
// is written 'yyyy-MM-dd HH:mm:ss.SSS' and read with 0 to 9 fraction
// digits and a ' ' or 'T' separator; DOUBLE is written as Java prints it.
package csv

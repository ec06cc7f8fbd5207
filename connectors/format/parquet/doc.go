// Package parquet is the Parquet format of the filesystem connector: whole
// Arrow record batches written to and read from Parquet files through
// arrow-go's pqarrow, a column at a time (no per-row code).
//
// The SQL types map onto Parquet through their Arrow types
// (engine/types): BOOLEAN, INT (int32), BIGINT (int64), DOUBLE, DECIMAL(p,s)
// (a fixed-length decimal), STRING (UTF-8 byte arrays) and TIMESTAMP(3)
// (TIMESTAMP(MILLIS), not adjusted to UTC). The Arrow schema is stored in
// the file's metadata, so files read back with the exact types.
//
// A file is read into a table's columns by name (exactly, or else ignoring
// case); every column of the file that the table declares must have the
// table's type (a TIMESTAMP in milliseconds with a time zone is read as
// TIMESTAMP(3)), otherwise Open fails naming the file, the column and both
// types. A column the file lacks is read as NULL (Flink's behaviour),
// unless it is NOT NULL. Columns of the file the table does not declare
// are not read.
//
// A Writer buffers a row group in memory and writes it when it reaches
// MaxRowGroupRows rows or when the file is closed; a Parquet file is
// readable only once closed (its footer holds the metadata).
package parquet

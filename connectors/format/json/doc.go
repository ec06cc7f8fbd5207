// Package json is the json text format of the filesystem connector, as
// Flink's json format reads and writes it: JSON lines, one object per row
// keyed by column name.
//
// Reading, a missing key or a JSON null is NULL (or an error with
// 'json.fail-on-missing-field'), unknown keys are ignored, numeric columns
// take numbers (or strings holding numbers), STRING takes strings (other
// values as their JSON text), BOOLEAN takes true and false, TIMESTAMP(3)
// takes strings 'yyyy-MM-dd HH:mm:ss.SSS' (0 to 9 fraction digits, ' ' or
// 'T'), DECIMAL takes numbers or strings. Objects are parsed with
// github.com/valyala/fastjson into a reused arena: no map or allocation per
// row. Writing, NULL is null, TIMESTAMP(3) a string in the SQL form (or
// ISO-8601 with 'T'), DOUBLE a number as Java prints it ("NaN" and
// "Infinity" as strings, as Jackson writes them), DECIMAL a plain number.
package json

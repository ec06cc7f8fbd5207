// Package sqltext reads and writes SQL values in their text forms, the way
// Flink writes and reads them: integers in decimal, DOUBLE as Java's
// Double.toString ("1.0", "1.0E7") and Double.parseDouble, DECIMAL with
// exactly its scale as BigDecimal.toPlainString and BigDecimal syntax
// rounded half up, BOOLEAN as TRUE/FALSE in any case, and TIMESTAMP(3) as
// 'yyyy-MM-dd HH:mm:ss.SSS' (UTC, proleptic Gregorian calendar).
//
// It is the one implementation behind CAST to and from STRING in
// engine/expr and the text formats of the connectors (CSV, JSON). Where
// they legitimately differ, a field being read exactly and CAST following
// Flink's more forgiving cast rules, the package offers both readings:
// ParseInt and ParseIntLenient (which drops a fraction, '12.7' is 12),
// ParseBool and ParseBoolLenient (which also takes t, yes, 1, ...),
// ParseTimestamp and ParseTimestampLenient (which takes one-digit fields
// and a missing time). Trimming is the caller's: CAST trims as Java does
// (Trim), a text format only blanks.
//
// Every function works on byte slices and appends to a caller's buffer,
// so callers can convert whole columns without per-row allocation: nothing
// allocates, except strconv's error inside ParseDouble for a number beyond
// the range of a double (which then reads as ±Infinity). Failures are reported
// as a bool or as one of the sentinel errors (ErrEmpty, ErrSignOnly,
// ErrSyntax, ErrRange), never by panicking.
//
// The package imports only the standard library and Arrow's decimal128.
package sqltext

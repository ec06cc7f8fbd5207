// Package raw is Flink's 'raw' format: a table of exactly one STRING column
// whose value is a record's bytes, as they are. Each Kafka message value
// is one row; a NULL value (a Kafka tombstone) is a NULL row value and is
// written back as a message without a value.
//
// The format has no framing of its own: in a file a record is a line, so
// values holding line breaks cannot be written to files (the encoder
// refuses them), while Kafka carries any value.
//
// Values must be valid UTF-8 (an Arrow STRING holds text): a record that
// is not is refused as a bad record, with the position of the first
// invalid byte.
package raw

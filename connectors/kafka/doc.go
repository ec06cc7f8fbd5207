// Package kafka holds the 'kafka' and 'upsert-kafka' connectors, built on
// franz-go, with Flink's option names and behaviours.
//
// # Source
//
// A Kafka table is read as splits (connectors.SplitSourceFactory): one
// split per topic-partition, whose state is the topic, the partition, the
// next offset to read and, for a bounded read, the offset to stop at. The
// enumerator lists the partitions of 'topic' (several topics separated by
// ';') and resolves 'scan.startup.mode' to concrete offsets when it first
// finds a partition: 'earliest-offset', 'latest-offset', 'group-offsets'
// (the offsets 'properties.group.id' committed; the earliest offset where
// it committed none, which is logged) or 'timestamp' (the first record at
// or after 'scan.startup.timestamp-millis'). Partitions found later, every
// 'scan.topic-partition-discovery.interval', start at their earliest
// offset, as in Flink. With 'scan.bounded.mode' = 'latest-offset' the
// enumerator records each partition's end offset at the first listing (the
// last stable offset under 'read_committed') as its stop, and is done after
// that listing. Splits are assigned as Flink's KafkaSourceEnumerator does
// (connectors.SplitAssigner): a topic's partitions go round robin from a
// start reader derived from the hash of its name.
//
// Each reader consumes its partitions with one kgo client, directly at the
// offsets of its splits (no consumer group, nothing committed to Kafka: the
// positions live in the job's checkpoints). Next returns the records of
// one partition decoded into an Arrow batch. Transaction markers and, under
// 'read_committed', aborted records advance a split's offset without rows,
// so a bounded split finishes even when its last offsets are markers. A
// message without a value is skipped by the json and csv formats and is a
// NULL row with 'raw'. A record that cannot be decoded goes to the table's
// bad-record policy with the location "topic/partition/offset";
// 'json.ignore-parse-errors' and 'csv.ignore-parse-errors' skip it.
//
// # Sink
//
// 'sink.delivery-guarantee' = 'at-least-once' (the default) produces
// through one idempotent producer per writer and flushes at every
// checkpoint and at the end; 'none' does not flush at checkpoints.
// 'exactly-once' writes, as Flink's KafkaSink does, each checkpoint's
// records in a Kafka transaction: a writer keeps a small pool of
// transactional producers with the ids <prefix>-<subtask>-<n>; at a
// barrier it flushes the open transaction and returns it as the
// committable (transactional id, producer id, epoch), and the records
// after the barrier go into a transaction of another producer. When the
// checkpoint completes, Commit commits the transaction on its producer, or,
// after a restart, by sending EndTxn with the stored producer id and epoch
// (already committed or unknown transactions are fine, so Commit is
// idempotent). Recover commits the restored checkpoint's transactions, then
// initializes every transactional id the failed run may have used, which
// aborts whatever it left open; a writer does the same for its own ids when
// it opens, so a job that failed before its first checkpoint leaves nothing
// open. Close commits everything; Abort aborts the open transaction and
// leaves the prepared ones to the recovery. A job that takes no checkpoints
// writes an exactly-once table without transactions, at least once.
//
// Read an exactly-once topic with 'properties.isolation.level' =
// 'read_committed'. 'properties.transaction.timeout.ms' (15 minutes by
// default) must exceed the time between a checkpoint and its completion,
// plus the time a failed job takes to recover.
//
// A message key is written when 'key.format' and 'key.fields' name the key
// columns (the value holds every column, Flink's 'value.fields-include' =
// 'ALL'); the source reads rows from the value only.
//
// # upsert-kafka
//
// A table with a PRIMARY KEY; the key columns are the message key (in
// 'key.format'), every column is the value (in 'value.format'). The sink
// takes updating streams (connectors.UpdatingSink): +I and +U rows are
// written as values, -D rows as tombstones (a message without a value),
// -U rows are dropped. The source (a changelog source in upsert mode) reads
// from the earliest offset: a message with a value is a +U row, a
// tombstone a -D row holding the key's columns and NULL elsewhere.
package kafka

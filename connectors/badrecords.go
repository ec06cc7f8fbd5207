package connectors

import (
	"context"
	"fmt"
	"strings"
)

// The options every connector that parses records (a format) accepts, for
// records that cannot be parsed. Add BadRecordOptions() to the factory's
// Options.
const (
	// OptBadRecordsPolicy is 'fail' (the default), 'skip' or 'dead-letter'.
	OptBadRecordsPolicy = "bad-records.policy"
	// OptBadRecordsDeadLetterTable names the table the 'dead-letter'
	// policy writes bad records to.
	OptBadRecordsDeadLetterTable = "bad-records.dead-letter-table"
)

// The bad-record policies.
const (
	BadRecordsFail       = "fail"
	BadRecordsSkip       = "skip"
	BadRecordsDeadLetter = "dead-letter"
)

// DeadLetterColumns are the columns a dead-letter table may declare (any
// subset, by name, all STRING): the table the record was read for, where
// it was (topic/partition/offset, or file:line), why it was refused, and
// the record's bytes as text.
var DeadLetterColumns = []string{"source_table", "location", "reason", "record"}

// BadRecordOptions returns the option specs of the bad-record policy.
func BadRecordOptions() []OptionSpec {
	return []OptionSpec{
		{Key: OptBadRecordsPolicy, Type: OptEnum, Default: BadRecordsFail,
			Enum:        []string{BadRecordsFail, BadRecordsSkip, BadRecordsDeadLetter},
			Description: "What a record that cannot be parsed does: 'fail' the job (the error names where the record is and why), 'skip' it, or write it to the 'dead-letter' table. Skipped and dead-lettered records are counted in the metrics bad_records_skipped and bad_records_dead_lettered."},
		{Key: OptBadRecordsDeadLetterTable, Type: OptString,
			Description: "With 'bad-records.policy' = 'dead-letter': the table bad records are written to. It declares some of the STRING columns source_table, location, reason and record."},
	}
}

// BadRecord is a record a reader could not turn into a row.
type BadRecord struct {
	// Location says where the record is: "topic/partition/offset" for a
	// Kafka record, "path:line" for a line of a file.
	Location string
	// Reason says why it was refused (which column, what was wrong).
	Reason string
	// Record is the record's bytes.
	Record []byte
}

// Error is the error of the 'fail' policy: the location, then the reason.
func (b BadRecord) Error() string { return b.Location + ": " + b.Reason }

// BadRecordHandler applies a table's bad-record policy. Readers call Handle
// for every record they cannot parse and go on when it returns nil (the
// record was skipped or dead-lettered); its error, under the 'fail' policy,
// fails the job.
type BadRecordHandler interface {
	Handle(ctx context.Context, rec BadRecord) error
}

// BadRecordPolicy returns the table's policy, checked: 'dead-letter' needs
// the table option naming where to.
func BadRecordPolicy(info TableInfo) (string, error) {
	p := strings.ToLower(Option(BadRecordOptions(), info.Options, OptBadRecordsPolicy))
	switch p {
	case BadRecordsFail, BadRecordsSkip:
		return p, nil
	case BadRecordsDeadLetter:
		if strings.TrimSpace(info.Options[OptBadRecordsDeadLetterTable]) == "" {
			return "", fmt.Errorf("option '%s' = '%s' needs '%s', the table bad records go to",
				OptBadRecordsPolicy, p, OptBadRecordsDeadLetterTable)
		}
		return p, nil
	}
	return "", fmt.Errorf("option '%s': '%s' is not one of %s, %s, %s", OptBadRecordsPolicy, p,
		BadRecordsFail, BadRecordsSkip, BadRecordsDeadLetter)
}

// FailOnBadRecord is the handler of the 'fail' policy: every bad record is
// an error.
type FailOnBadRecord struct{}

// Handle returns rec as an error.
func (FailOnBadRecord) Handle(_ context.Context, rec BadRecord) error { return rec }

// BadRecords returns rc's handler, or FailOnBadRecord when the runtime gave
// none (a reader opened outside a job, in a test).
func (rc ReaderContext) BadRecordHandler() BadRecordHandler {
	if rc.BadRecords != nil {
		return rc.BadRecords
	}
	return FailOnBadRecord{}
}

package runtime

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// The bad-record metrics (per source operator subtask).
const (
	BadRecordsSkippedName      = "bad_records_skipped"
	BadRecordsDeadLetteredName = "bad_records_dead_lettered"
)

// badRecordHandler makes the source subtask's handler of the table's
// bad-record policy ('bad-records.policy').
func (s *subtask) badRecordHandler(rc connectors.ReaderContext) (connectors.BadRecordHandler, error) {
	info := tableInfo(s.src.spec.Source.TableRef)
	policy, err := connectors.BadRecordPolicy(info)
	if err != nil {
		return nil, err
	}
	switch policy {
	case connectors.BadRecordsSkip:
		return &skipBadRecords{
			table:   info.Name,
			counter: rc.Metrics.Counter(BadRecordsSkippedName, "Records a source skipped because they could not be parsed."),
			logger:  rc.Logger,
		}, nil
	case connectors.BadRecordsDeadLetter:
		return s.deadLetterHandler(info, rc)
	}
	return connectors.FailOnBadRecord{}, nil
}

// skipBadRecords counts and skips bad records, logging the first few.
type skipBadRecords struct {
	table   string
	counter operator.Counter
	logger  interface {
		Warn(msg string, args ...any)
	}
	n atomic.Int64
}

// maxLoggedBadRecords is how many bad records a subtask logs one by one.
const maxLoggedBadRecords = 10

func (h *skipBadRecords) Handle(_ context.Context, rec connectors.BadRecord) error {
	h.counter.Add(1)
	if n := h.n.Add(1); n <= maxLoggedBadRecords {
		msg := "bad record skipped"
		if n == maxLoggedBadRecords {
			msg = "bad record skipped (further ones are only counted, in " + BadRecordsSkippedName + ")"
		}
		h.logger.Warn(msg, "table", h.table, "location", rec.Location, "reason", rec.Reason)
	}
	return nil
}

// deadLetterHandler writes bad records to the table's dead-letter table.
func (s *subtask) deadLetterHandler(info connectors.TableInfo, rc connectors.ReaderContext) (connectors.BadRecordHandler, error) {
	return nil, fmt.Errorf("table %s: option '%s' = '%s' is not supported by this runtime yet",
		info.Name, connectors.OptBadRecordsPolicy, connectors.BadRecordsDeadLetter)
}

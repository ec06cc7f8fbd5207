package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
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

// deadLetterRun writes a source subtask's bad records to its dead-letter
// table, through a sink writer that takes part in checkpoints like any
// sink's: prepared at the source's barrier (its committable is kept in the
// source's state), committed when the checkpoint completes, recovered on
// restore.
type deadLetterRun struct {
	table   string // the source table
	sink    *sinkOp
	schema  *arrow.Schema
	cols    []int // for each dead-letter column, its index in DeadLetterColumns
	alloc   memory.Allocator
	counter operator.Counter
}

// Handle implements connectors.BadRecordHandler: the record becomes one
// row of the dead-letter table.
func (d *deadLetterRun) Handle(ctx context.Context, rec connectors.BadRecord) error {
	b := array.NewRecordBuilder(d.alloc, d.schema)
	defer b.Release()
	for i, c := range d.cols {
		v := ""
		switch connectors.DeadLetterColumns[c] {
		case "source_table":
			v = d.table
		case "location":
			v = rec.Location
		case "reason":
			v = rec.Reason
		case "record":
			v = strings.ToValidUTF8(string(rec.Record), "\uFFFD")
		}
		b.Field(i).(*array.StringBuilder).Append(v)
	}
	r := b.NewRecordBatch()
	defer r.Release()
	if err := d.sink.ProcessBatch(ctx, 0, stream.Batch{Record: r}, nil); err != nil {
		return fmt.Errorf("dead-letter table %s: %w", d.sink.table, err)
	}
	d.counter.Add(1)
	return nil
}

// openDeadLetter opens the subtask's dead-letter writer, when the source
// has a dead-letter table.
func (s *subtask) openDeadLetter(ctx context.Context, rc connectors.ReaderContext) error {
	spec := s.src.spec.Source.DeadLetter
	if spec == nil {
		return nil
	}
	d := &deadLetterRun{table: s.src.spec.Source.Table, alloc: rc.Alloc}
	fields := make([]arrow.Field, len(spec.Schema.Fields))
	for i, f := range spec.Schema.Fields {
		c := slices.IndexFunc(connectors.DeadLetterColumns, func(n string) bool { return strings.EqualFold(n, f.Name) })
		if c < 0 || f.Type.Kind != types.String {
			return fmt.Errorf("dead-letter table %s: column %s %s is not one of the STRING columns %s", spec.Table, f.Name, f.Type,
				strings.Join(connectors.DeadLetterColumns, ", "))
		}
		d.cols = append(d.cols, c)
		fields[i] = arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	d.schema = arrow.NewSchema(fields, nil)
	d.sink = &sinkOp{sink: s.plan.deadLetter, batchSize: s.job.opts.BatchSize, table: spec.Table, schema: spec.Schema, checkpointing: s.job.ckpt.periodic()}
	oc := &operator.Context{JobName: s.job.name, VertexID: s.plan.v.ID, OperatorID: s.src.spec.ID + "/dead-letter",
		Subtask: s.index, Parallelism: s.plan.v.Parallelism, MaxParallelism: s.job.maxP, Alloc: rc.Alloc,
		Logger: rc.Logger.With("dead_letter_table", spec.Table), Metrics: rc.Metrics, Config: s.job.config}
	if err := d.sink.Open(ctx, oc); err != nil {
		return fmt.Errorf("dead-letter table %s: %w", spec.Table, err)
	}
	s.src.deadLetter = d
	return nil
}

// deadLetterHandler is the 'dead-letter' policy's handler.
func (s *subtask) deadLetterHandler(info connectors.TableInfo, rc connectors.ReaderContext) (connectors.BadRecordHandler, error) {
	d := s.src.deadLetter
	if d == nil {
		return nil, fmt.Errorf("table %s: option '%s' = '%s', but the job graph names no dead-letter table for it",
			info.Name, connectors.OptBadRecordsPolicy, connectors.BadRecordsDeadLetter)
	}
	d.counter = rc.Metrics.Counter(BadRecordsDeadLetteredName, "Records a source wrote to its dead-letter table because they could not be parsed.")
	return d, nil
}

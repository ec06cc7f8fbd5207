package groupagg

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// miniBatch is the input a one-phase aggregate with a MiniBatch spec has
// buffered: it is folded in as one batch, so each group emits at most one
// change per mini-batch.
type miniBatch struct {
	recs  []arrow.RecordBatch
	kinds [][]stream.RowKind // per record; nil: every row +I
	rows  int
	since int64 // processing time the oldest buffered row arrived
}

// buffer adds b to the mini-batch and folds the mini-batch in once it
// holds the spec's number of rows.
func (o *Operator) buffer(ctx context.Context, b stream.Batch, out operator.Collector) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	m := &o.mini
	if len(m.recs) > 0 && !b.Record.Schema().Equal(m.recs[0].Schema()) {
		// process reports the schema change with the rows' context.
		if err := o.flushMini(ctx, out); err != nil {
			return err
		}
	}
	if m.rows == 0 {
		m.since = o.now()
	}
	b.Record.Retain()
	m.recs = append(m.recs, b.Record)
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = append(kinds, b.Kinds...)
	}
	m.kinds = append(m.kinds, kinds)
	m.rows += n
	if m.rows >= o.spec.MiniBatch.Size {
		return o.flushMini(ctx, out)
	}
	return nil
}

// flushMini folds the buffered rows in as one batch.
func (o *Operator) flushMini(ctx context.Context, out operator.Collector) error {
	m := &o.mini
	if len(m.recs) == 0 {
		return nil
	}
	defer o.releaseMini()
	if len(m.recs) == 1 {
		return o.process(ctx, stream.Batch{Record: m.recs[0], Kinds: m.kinds[0]}, out)
	}
	rec, err := concatRecords(o, m.recs)
	if err != nil {
		return fmt.Errorf("mini-batch: %w", err)
	}
	defer rec.Release()
	var kinds []stream.RowKind
	for i, k := range m.kinds {
		if k != nil && kinds == nil {
			kinds = make([]stream.RowKind, 0, m.rows)
			for _, r := range m.recs[:i] {
				kinds = append(kinds, make([]stream.RowKind, r.NumRows())...) // +I is the zero RowKind
			}
		}
		if kinds != nil {
			if k == nil {
				k = make([]stream.RowKind, m.recs[i].NumRows())
			}
			kinds = append(kinds, k...)
		}
	}
	return o.process(ctx, stream.Batch{Record: rec, Kinds: kinds}, out)
}

// concatRecords joins records of one schema into one record.
func concatRecords(o *Operator, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	nc := int(recs[0].NumCols())
	cols := make([]arrow.Array, nc)
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(recs))
	rows := int64(0)
	for _, r := range recs {
		rows += r.NumRows()
	}
	for c := range cols {
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, o.mem)
		if err != nil {
			return nil, err
		}
		cols[c] = a
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, rows), nil
}

// releaseMini drops the buffered rows.
func (o *Operator) releaseMini() {
	for _, r := range o.mini.recs {
		r.Release()
	}
	clear(o.mini.recs)
	clear(o.mini.kinds)
	o.mini.recs, o.mini.kinds, o.mini.rows = o.mini.recs[:0], o.mini.kinds[:0], 0
}

package runtime

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/watermark"
)

// splitRun is a split source's reader in one source subtask: it is the
// subtask's connectors.Reader (a ChangelogReader and PositionedReader),
// over the connector's SplitReader, and keeps a watermark generator per
// split it holds.
type splitRun struct {
	reader connectors.SplitReader
	held   map[string]*heldSplit
	// wmCol and wmDelay describe the table's watermark; hasWM is false
	// for a table without one.
	hasWM   bool
	wmCol   int
	wmDelay int64
	// assigned is set once the first assignment arrived; noMore once the
	// coordinator said no split will come again.
	assigned, noMore bool
}

// heldSplit is a split the reader holds.
type heldSplit struct {
	gen      *watermark.Generator
	lastData time.Time
}

var (
	_ connectors.ChangelogReader  = (*splitRun)(nil)
	_ connectors.PositionedReader = (*splitRun)(nil)
)

// add hands the reader the splits of assignment a.
func (r *splitRun) add(ctx context.Context, a SplitAssignment) error {
	r.assigned = true
	r.noMore = r.noMore || a.NoMore
	if len(a.Splits) == 0 {
		return nil
	}
	now := time.Now()
	for _, sp := range a.Splits {
		if _, dup := r.held[sp.ID]; dup {
			return fmt.Errorf("split %q assigned twice", sp.ID)
		}
		h := &heldSplit{lastData: now}
		if r.hasWM {
			gen, err := watermark.NewGenerator(r.wmCol, r.wmDelay)
			if err != nil {
				return err
			}
			h.gen = gen
		}
		r.held[sp.ID] = h
	}
	if err := r.reader.AddSplits(ctx, a.Splits); err != nil {
		return fmt.Errorf("add %d split(s): %w", len(a.Splits), err)
	}
	return nil
}

// Next implements connectors.Reader.
func (r *splitRun) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := r.NextBatch(ctx)
	return b.Record, err
}

// NextBatch reads the next batch of any held split. It returns io.EOF
// once no split is held and none will come.
func (r *splitRun) NextBatch(ctx context.Context) (stream.Batch, error) {
	if r.noMore && len(r.held) == 0 {
		return stream.Batch{}, io.EOF
	}
	if len(r.held) == 0 {
		return stream.Batch{}, nil
	}
	sb, err := r.reader.Next(ctx)
	if err != nil {
		if sb.Batch.Record != nil {
			sb.Batch.Record.Release()
		}
		return stream.Batch{}, err
	}
	if sb.Split == "" {
		if sb.Batch.Record != nil {
			sb.Batch.Record.Release()
			return stream.Batch{}, fmt.Errorf("split reader returned rows without naming their split")
		}
		return stream.Batch{}, nil
	}
	h := r.held[sb.Split]
	if h == nil {
		if sb.Batch.Record != nil {
			sb.Batch.Record.Release()
		}
		return stream.Batch{}, fmt.Errorf("split reader returned split %q, which it does not hold", sb.Split)
	}
	if rec := sb.Batch.Record; rec != nil && rec.NumRows() > 0 {
		h.lastData = time.Now()
		if h.gen != nil {
			if _, _, err := h.gen.Observe(rec); err != nil {
				rec.Release()
				return stream.Batch{}, fmt.Errorf("split %q: %w", sb.Split, err)
			}
		}
	}
	if sb.Finished {
		delete(r.held, sb.Split)
	}
	return sb.Batch, nil
}

// watermark returns the subtask's watermark: the least of its held
// splits' watermarks, leaving out the splits that had no data for
// idleTimeout (when positive). idle reports that no split counts: none is
// held (after the first assignment, while more may come) or every one is
// idle.
func (r *splitRun) watermark(now time.Time, idleTimeout time.Duration) (wm int64, idle bool) {
	wm = stream.MaxWatermark
	active := 0
	for _, h := range r.held {
		if idleTimeout > 0 && now.Sub(h.lastData) >= idleTimeout {
			continue
		}
		active++
		if h.gen == nil {
			continue
		}
		wm = min(wm, h.gen.Current())
	}
	if active == 0 {
		// A reader that holds nothing and will be given nothing more is
		// about to end (its end is the final watermark): going idle first
		// would let downstream operators run ahead of what it sent them.
		return stream.MinWatermark, r.assigned && !r.noMore
	}
	if !r.hasWM {
		return stream.MinWatermark, false
	}
	return wm, false
}

// Position implements connectors.PositionedReader: every held split with
// its position.
func (r *splitRun) Position() ([]byte, error) {
	splits, err := r.reader.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("split reader snapshot: %w", err)
	}
	for _, sp := range splits {
		if _, ok := r.held[sp.ID]; !ok {
			return nil, fmt.Errorf("split reader snapshot holds split %q, which it finished or was never given", sp.ID)
		}
	}
	if len(splits) != len(r.held) {
		return nil, fmt.Errorf("split reader snapshot holds %d split(s), but %d are unfinished", len(splits), len(r.held))
	}
	return encodeSplits(splits)
}

// Close implements connectors.Reader.
func (r *splitRun) Close() error { return r.reader.Close() }

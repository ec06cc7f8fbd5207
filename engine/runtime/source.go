package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/watermark"
)

// Back-off of a source whose reader has nothing right now.
const (
	minBackoff = time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// sourceRun is the source at the head of a subtask's chain.
type sourceRun struct {
	spec    *jobgraph.OperatorSpec
	metrics *opMetrics
	reader  connectors.Reader
	gen     *watermark.Generator
	// split is set for a split source: reader is then split.
	split *splitRun
	// deadLetter is set when bad records go to a dead-letter table.
	deadLetter *deadLetterRun
}

// close closes the reader once.
func (r *sourceRun) close() error {
	if r.reader == nil {
		return nil
	}
	rd := r.reader
	r.reader = nil
	if err := rd.Close(); err != nil {
		return fmt.Errorf("close reader: %w", err)
	}
	return nil
}

// openSource opens the subtask's reader and watermark generator.
func (s *subtask) openSource(ctx context.Context) error {
	j, spec := s.job, s.src.spec.Source
	if w := spec.Watermark; w != nil {
		gen, err := watermark.NewGenerator(w.Column, w.DelayMs)
		if err != nil {
			return s.wrap(-1, err)
		}
		s.src.gen = gen
	}
	rc := connectors.ReaderContext{
		Subtask: s.index, Parallelism: s.plan.v.Parallelism, BatchSize: j.opts.BatchSize,
		Alloc: j.opts.Alloc, Logger: s.logger.With("operator", s.src.spec.ID), Metrics: s.src.metrics,
		Checkpointing: j.ckpt.periodic(),
	}
	if err := s.openDeadLetter(ctx, rc); err != nil {
		return s.wrap(-1, err)
	}
	bad, err := s.badRecordHandler(rc)
	if err != nil {
		return s.wrap(-1, err)
	}
	rc.BadRecords = bad
	if ss := s.plan.splitSource; ss != nil {
		return s.openSplitReader(ctx, ss, rc)
	}
	rd, err := s.restoredReader(ctx, rc)
	if err != nil {
		return s.wrap(-1, err)
	}
	if rd == nil {
		if rd, err = s.plan.source.Reader(ctx, rc); err != nil {
			return s.wrap(-1, fmt.Errorf("open reader: %w", err))
		}
	}
	if rd == nil {
		return s.wrap(-1, fmt.Errorf("open reader: connector returned no reader"))
	}
	s.src.reader = rd
	if j.ckpt.enabled() {
		if _, ok := rd.(connectors.PositionedReader); !ok {
			return s.wrap(-1, fmt.Errorf("open reader: connector %q returned a reader that cannot report its position (not a connectors.PositionedReader), so the job cannot be checkpointed", spec.Connector))
		}
	}
	return nil
}

// position returns the reader's position for a checkpoint.
func (r *sourceRun) position() ([]byte, error) {
	pr, ok := r.reader.(connectors.PositionedReader)
	if !ok {
		return nil, fmt.Errorf("reader of connector %q cannot report its position", r.spec.Source.Connector)
	}
	pos, err := pr.Position()
	if err != nil {
		return nil, fmt.Errorf("reader position: %w", err)
	}
	return pos, nil
}

// runSource reads the source until end of input, pushing batches down the
// chain and emitting watermarks after them. finish then emits
// MaxWatermark and End.
func (s *subtask) runSource(ctx context.Context) error {
	src := s.src
	backoff := minBackoff
	var waitingSince time.Time // when the reader last had nothing, zero if it had data
	idle := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return s.wrap(-1, err)
		}
		if err := s.procDue(ctx); err != nil {
			return err
		}
		if err := s.checkMail(ctx); err != nil {
			return err
		}
		if s.halted != 0 {
			if s.job.haltAt.Load() == s.halted {
				// Stopping with a savepoint: wait for the teardown, or
				// for the stop to be called off.
				select {
				case <-ctx.Done():
					return s.wrap(-1, ctx.Err())
				case <-s.mail.wake:
				}
				continue
			}
			s.halted = 0
		}
		rec, kinds, err := readNext(ctx, src.reader)
		if err != nil {
			if rec != nil {
				rec.Release()
			}
			if errors.Is(err, io.EOF) {
				if l := s.job.link; l != nil {
					e := SourceEnd{Attempt: s.job.attemptNo, Vertex: s.plan.v.ID, Subtask: s.index, LastBarrier: s.lastBarrier}
					if err := l.SourceEnded(s.job.ckptCtx, e); err != nil && s.job.ckptCtx.Err() == nil {
						s.logger.Warn("end of input not delivered to the checkpoint coordinator", "err", err)
					}
				}
				return nil
			}
			return s.wrap(-1, fmt.Errorf("read: %w", err))
		}
		if rec == nil {
			// Nothing right now: back off, and go idle after the timeout.
			now := time.Now()
			if waitingSince.IsZero() {
				waitingSince = now
			}
			if src.split != nil {
				if idle, err = s.splitWatermark(ctx, idle); err != nil {
					return err
				}
			} else if !idle && s.job.idleTimeout > 0 && now.Sub(waitingSince) >= s.job.idleTimeout {
				idle = true
				if err := s.broadcast(ctx, stream.Message{Kind: stream.Idle}); err != nil {
					return err
				}
			}
			timer.Reset(s.untilDue(backoff))
			select {
			case <-ctx.Done():
				return s.wrap(-1, ctx.Err())
			case <-timer.C:
			case <-s.mail.wake:
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		waitingSince, backoff, idle = time.Time{}, minBackoff, false
		if err := s.checkBatch(rec); err != nil {
			rec.Release()
			return s.wrap(-1, err)
		}
		n := rec.NumRows()
		if n == 0 {
			rec.Release()
			continue
		}
		src.metrics.out.Add(float64(n))
		wm, advanced := int64(0), false
		if src.gen != nil {
			if wm, advanced, err = src.gen.Observe(rec); err != nil {
				rec.Release()
				return s.wrap(-1, err)
			}
		}
		if kinds != nil && len(kinds) != int(n) {
			rec.Release()
			return s.wrap(-1, fmt.Errorf("read: batch has %d rows but %d row kinds", n, len(kinds)))
		}
		b := stream.Batch{Record: rec, Kinds: kinds}
		if len(s.ops) > 0 {
			err = s.push(ctx, 0, 0, b)
		} else if err = s.output(ctx, b); err != nil {
			err = s.wrap(-1, err)
		}
		if err != nil {
			return err
		}
		if advanced {
			if err := s.advance(ctx, wm); err != nil {
				return err
			}
		}
		if src.split != nil {
			if idle, err = s.splitWatermark(ctx, idle); err != nil {
				return err
			}
		}
	}
}

// checkBatch checks that a reader's batch has the table's columns.
func (s *subtask) checkBatch(rec arrow.RecordBatch) error {
	want := s.plan.sourceCols
	if int(rec.NumCols()) != len(want) {
		return fmt.Errorf("reader returned a batch of %d columns, want the %d it reads", rec.NumCols(), len(want))
	}
	for i, dt := range want {
		if got := rec.Column(i).DataType(); !arrow.TypeEqual(got, dt) {
			return fmt.Errorf("reader returned column %d (%s) as %s, the table declares %s",
				i, s.plan.sourceSchema.Fields[i].Name, got, dt)
		}
	}
	return nil
}

// readNext reads r's next batch, with its row kinds when r is a
// connectors.ChangelogReader (nil kinds: every row is +I).
func readNext(ctx context.Context, r connectors.Reader) (arrow.RecordBatch, []stream.RowKind, error) {
	if cr, ok := r.(connectors.ChangelogReader); ok {
		b, err := cr.NextBatch(ctx)
		return b.Record, b.Kinds, err
	}
	rec, err := r.Next(ctx)
	return rec, nil, err
}

// openSplitReader opens the subtask's split reader. Its splits come from
// the split coordinator, through the mailbox.
func (s *subtask) openSplitReader(ctx context.Context, ss connectors.SplitSource, rc connectors.ReaderContext) error {
	spec := s.src.spec.Source
	rd, err := ss.NewSplitReader(ctx, rc)
	if err != nil {
		return s.wrap(-1, fmt.Errorf("open split reader: %w", err))
	}
	if rd == nil {
		return s.wrap(-1, fmt.Errorf("open split reader: connector %q returned no reader", spec.Connector))
	}
	r := &splitRun{reader: rd, held: map[string]*heldSplit{}}
	if w := spec.Watermark; w != nil {
		r.hasWM, r.wmCol, r.wmDelay = true, w.Column, w.DelayMs
	}
	s.src.gen = nil // one generator per split instead
	s.src.reader, s.src.split = r, r
	if s.job.restore != nil && s.job.restoredOp(s.src.spec.ID) != nil {
		if wm := restoredWatermark(s.job.restore, s.src.spec.ID, s); wm != stream.MinWatermark {
			s.lastWM, s.outWM = wm, wm
			s.liveWM.Store(wm)
		}
	}
	return nil
}

// splitWatermark emits a split source subtask's watermark when it rose
// (the least over its active splits) and marks its outputs idle when no
// split is active. idle is the subtask's idleness, updated.
func (s *subtask) splitWatermark(ctx context.Context, idle bool) (bool, error) {
	wm, nowIdle := s.src.split.watermark(time.Now(), s.job.idleTimeout)
	if nowIdle {
		if !idle {
			if err := s.broadcast(ctx, stream.Message{Kind: stream.Idle}); err != nil {
				return idle, err
			}
		}
		return true, nil
	}
	if wm != stream.MinWatermark && wm > s.lastWM {
		if err := s.advance(ctx, wm); err != nil {
			return idle, err
		}
	}
	return idle, nil
}

package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/watermark"
)

// Processing time.
//
// A subtask whose chain holds operators that implement
// operator.ProcessingTimeHandler calls them, in chain order and from its
// own goroutine (so never during ProcessBatch), whenever
// operator.ProcessingTimeInterval has passed since the last call: between
// two input messages, and when no input arrives, on a deadline that wakes
// the subtask's wait for input (a timer, not a busy loop). They receive
// Options.Now().

// procTime is a subtask's processing-time schedule.
type procTime struct {
	// ops are the indexes in subtask.ops of the handlers.
	ops []int
	// due is when the next call is due.
	due time.Time
	// wait is a context that expires at due, for waits on input; its
	// cancel releases it.
	wait   context.Context
	cancel context.CancelFunc
}

// initProcTime finds the chain's processing-time handlers.
func (s *subtask) initProcTime() {
	for k, o := range s.ops {
		if _, ok := o.op.(operator.ProcessingTimeHandler); ok {
			s.proc.ops = append(s.proc.ops, k)
		}
	}
	s.proc.due = time.Now().Add(operator.ProcessingTimeInterval)
}

// procDue calls the handlers when their time has come.
func (s *subtask) procDue(ctx context.Context) error {
	if len(s.proc.ops) == 0 || time.Now().Before(s.proc.due) {
		return nil
	}
	now := s.job.opts.Now()
	for _, k := range s.proc.ops {
		o := s.ops[k]
		s.cur = k
		if err := o.op.(operator.ProcessingTimeHandler).OnProcessingTime(ctx, now, o); err != nil {
			return s.wrap(k, fmt.Errorf("processing time %d: %w", now, err))
		}
	}
	s.cur = -1
	s.proc.due = time.Now().Add(operator.ProcessingTimeInterval)
	return nil
}

// waitContext returns the context to wait for input with: ctx itself, or
// for a subtask with handlers one that also expires when they are due.
func (s *subtask) waitContext(ctx context.Context) context.Context {
	p := &s.proc
	if len(p.ops) == 0 {
		return ctx
	}
	if p.wait != nil {
		if d, _ := p.wait.Deadline(); d.Equal(p.due) {
			return p.wait
		}
		p.cancel()
	}
	p.wait, p.cancel = context.WithDeadline(ctx, p.due)
	return p.wait
}

// stopProcTime releases the wait context.
func (s *subtask) stopProcTime() {
	if s.proc.cancel != nil {
		s.proc.cancel()
		s.proc.wait, s.proc.cancel = nil, nil
	}
}

// untilDue returns how long to sleep at most before the handlers are due
// (d itself when there are none).
func (s *subtask) untilDue(d time.Duration) time.Duration {
	if len(s.proc.ops) == 0 {
		return d
	}
	return max(0, min(d, time.Until(s.proc.due)))
}

// Watermark assigners.
//
// A "watermark_assigner" operator (jobgraph.OperatorSpec.WatermarkAssigner)
// is the runtime's own, like sources and sinks: it passes rows through and,
// after each batch, generates bounded-out-of-orderness watermarks from its
// column exactly as a source does (watermark.Generator), handing them to
// the rest of the chain and downstream. Watermarks arriving from upstream
// stop at it (Flink's WatermarkAssigner replaces them), except the final
// stream.MaxWatermark; idleness passes through.

// assignerOp is a watermark assigner at index k of its subtask's chain.
type assignerOp struct {
	s   *subtask
	k   int
	gen *watermark.Generator
}

// Open implements operator.Operator.
func (a *assignerOp) Open(ctx context.Context, oc *operator.Context) error { return nil }

// ProcessBatch implements operator.Operator: it forwards b, then the
// watermark b moves up, if any, to the rest of the chain.
func (a *assignerOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	wm, advanced, err := a.gen.Observe(b.Record)
	if err != nil {
		return err
	}
	b.Record.Retain()
	if err := out.Emit(ctx, b); err != nil {
		return err
	}
	if advanced {
		return a.s.advanceFrom(ctx, a.k+1, wm)
	}
	return nil
}

// ProcessWatermark implements operator.Operator. The subtask never hands
// an assigner a watermark but the final one, which it lets through.
func (a *assignerOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

// Close implements operator.Operator.
func (a *assignerOp) Close(ctx context.Context) error { return nil }

var _ operator.Operator = (*assignerOp)(nil)

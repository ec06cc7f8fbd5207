package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/watermark"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// opRun is one operator of a subtask's chain.
type opRun struct {
	s       *subtask
	k       int // index in subtask.ops
	spec    *jobgraph.OperatorSpec
	op      operator.Operator
	metrics *opMetrics
	logger  *slog.Logger
	state   state.Backend
	opened  bool
	closed  bool
	// wm is the last watermark handed to the operator.
	wm int64
	// restored is the operator's part of the checkpoint the job resumes
	// from, nil when it starts empty.
	restored *checkpoint.OperatorState
}

// Emit implements operator.Collector for the operator's output: it hands
// the batch to the next operator of the chain, or to the exchanges.
func (o *opRun) Emit(ctx context.Context, b stream.Batch) error {
	n := b.NumRows()
	if n == 0 {
		b.Release()
		return nil
	}
	o.metrics.out.Add(float64(n))
	if o.k+1 < len(o.s.ops) {
		return o.s.push(ctx, o.k+1, 0, b)
	}
	return o.s.output(ctx, b)
}

// route is a Router with the edge it serves.
type route struct {
	router exchange.Router
	edge   *jobgraph.Edge
}

// subtask is one parallel instance of a vertex.
type subtask struct {
	job    *job
	plan   *vertexPlan
	index  int
	logger *slog.Logger

	// ops is the chain after the source, if any (the sink is the last).
	ops []*opRun
	// cur is the index in ops of the operator being called, -1 for none.
	cur int

	// Source vertices.
	src *sourceRun

	// Other vertices.
	gate      exchange.Gate
	chanInput []int // operator input of each gate channel
	tracker   *watermark.Tracker

	routers []route
	// lastWM is the last watermark handed to the operators from upstream
	// (the input's, or the source's own).
	lastWM int64
	// outWM is the last watermark sent downstream: lastWM, unless a
	// watermark assigner in the chain makes its own.
	outWM int64
	// proc schedules the chain's processing-time handlers.
	proc procTime
	// ended reports that End went downstream.
	ended bool

	// kgs are the key groups the subtask owns.
	kgs keygroup.Range
	// Checkpoints: the coordinator's messages, the barrier alignment, the
	// last barrier sent on, and the persist in flight (closed when done).
	mail        mailbox
	align       alignment
	lastBarrier int64
	persisting  chan struct{}
	// halted is the stop savepoint after whose barrier a source stopped
	// reading (0: none).
	halted int64

	liveState
}

func newSubtask(j *job, p *vertexPlan, i int) (*subtask, error) {
	s := &subtask{
		job: j, plan: p, index: i, cur: -1, lastWM: stream.MinWatermark, outWM: stream.MinWatermark,
		logger: j.logger.With("vertex", p.v.ID, "subtask", i),
		kgs:    keygroup.RangeOf(i, j.maxP, p.v.Parallelism),
	}
	s.mail.wake = make(chan struct{}, 1)
	s.liveWM.Store(stream.MinWatermark)
	specs := p.v.Ops
	if p.source != nil {
		s.src = &sourceRun{spec: specs[0], metrics: j.metrics.forOperator(p.v.ID, specs[0].ID, i)}
		specs = specs[1:]
	}
	for k, spec := range specs {
		o := &opRun{s: s, k: k, spec: spec, logger: s.logger.With("operator", spec.ID), wm: stream.MinWatermark}
		o.metrics = j.metrics.forOperator(p.v.ID, spec.ID, i)
		switch {
		case spec.Sink != nil:
			o.op = &sinkOp{sink: p.sink, batchSize: j.opts.BatchSize, table: spec.Sink.Table, schema: spec.Sink.Schema, checkpointing: j.ckpt.periodic()}
		case spec.WatermarkAssigner != nil:
			gen, err := watermark.NewGenerator(spec.WatermarkAssigner.Column, spec.WatermarkAssigner.DelayMs)
			if err != nil {
				return nil, fmt.Errorf("runtime: vertex %s, watermark assigner %s: %w", p.v.ID, spec.ID, err)
			}
			o.op = &assignerOp{s: s, k: k, gen: gen}
		default:
			op, err := safeFactory(j.opts.Operators[spec.Kind()], spec)
			if err != nil {
				return nil, fmt.Errorf("runtime: vertex %s, operator %s (%s): %w", p.v.ID, spec.ID, spec.Kind(), err)
			}
			if op == nil {
				return nil, fmt.Errorf("runtime: vertex %s, operator %s (%s): factory returned no operator", p.v.ID, spec.ID, spec.Kind())
			}
			o.op = op
		}
		s.ops = append(s.ops, o)
	}
	return s, nil
}

// safeFactory calls f, turning a panic into an error.
func safeFactory(f operator.Factory, spec *jobgraph.OperatorSpec) (op operator.Operator, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("operator factory panicked: %v", r)
		}
	}()
	return f(spec)
}

// main runs the subtask and cleans up after it, reporting any error to the
// job.
func (s *subtask) main(ctx context.Context) {
	err := s.guard(func() error { return s.run(ctx) })
	if err != nil {
		s.job.fail(err)
	}
	if cerr := s.guard(func() error { return s.cleanup(context.WithoutCancel(ctx)) }); cerr != nil {
		s.job.fail(cerr)
	}
}

// guard calls fn, turning a panic into an error attributed to the
// operator being called, and logging its stack.
func (s *subtask) guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("subtask panicked", "panic", r, "stack", string(debug.Stack()))
			err = s.wrap(s.cur, fmt.Errorf("panic: %v", r))
			s.cur = -1
		}
	}()
	return fn()
}

// wrap attributes err to operator k of the chain (-1: the source, or the
// runtime itself) unless it already is a *SubtaskError.
func (s *subtask) wrap(k int, err error) error {
	var se *SubtaskError
	if errors.As(err, &se) {
		return err
	}
	se = &SubtaskError{VertexID: s.plan.v.ID, Subtask: s.index, Parallelism: s.plan.v.Parallelism, Err: err}
	switch {
	case k >= 0 && k < len(s.ops):
		se.OperatorID, se.OperatorName = s.ops[k].spec.ID, s.ops[k].spec.Name
	case s.src != nil:
		se.OperatorID, se.OperatorName = s.src.spec.ID, s.src.spec.Name
	}
	return se
}

// run opens the chain, processes input to the end and finishes.
func (s *subtask) run(ctx context.Context) error {
	if err := s.open(ctx); err != nil {
		return err
	}
	if s.src != nil {
		if err := s.runSource(ctx); err != nil {
			return err
		}
	} else if err := s.runInputs(ctx); err != nil {
		return err
	}
	return s.finish(ctx)
}

// open opens every operator of the chain (and the source reader).
func (s *subtask) open(ctx context.Context) error {
	j, v := s.job, s.plan.v
	kgs := s.kgs
	for k, o := range s.ops {
		oc := &operator.Context{
			JobName: j.name, VertexID: v.ID, OperatorID: o.spec.ID,
			Subtask: s.index, Parallelism: v.Parallelism, MaxParallelism: j.maxP,
			Alloc: j.opts.Alloc, Logger: o.logger, Metrics: o.metrics,
			KeyGroups: kgs, Config: j.config, Functions: j.opts.Functions, Now: j.opts.Now,
			Connector: j.connectorLookup(),
		}
		if o.spec.Sink == nil && o.spec.WatermarkAssigner == nil {
			st, err := s.openState(ctx, o, state.Scope{
				Job: j.name, OperatorID: o.spec.ID, Subtask: s.index, KeyGroups: kgs, MaxParallelism: j.maxP,
			})
			if err != nil {
				return s.wrap(k, err)
			}
			o.state, oc.State = st, st
		}
		s.cur = k
		o.opened = true
		if err := o.op.Open(ctx, oc); err != nil {
			return s.wrap(k, fmt.Errorf("open: %w", err))
		}
		s.cur = -1
	}
	if err := s.restoreChain(ctx); err != nil {
		return err
	}
	s.initProcTime()
	if s.src != nil {
		return s.openSource(ctx)
	}
	n := s.gate.NumChannels()
	s.tracker = watermark.NewTracker(n)
	s.align.arrived, s.align.ended = make([]bool, n), make([]bool, n)
	return nil
}

// push hands b to operator k of the chain and releases it afterwards.
func (s *subtask) push(ctx context.Context, k, input int, b stream.Batch) error {
	defer b.Release()
	o := s.ops[k]
	o.metrics.in.Add(float64(b.NumRows()))
	prev := s.cur
	s.cur = k
	err := o.op.ProcessBatch(ctx, input, b, o)
	s.cur = prev
	if err != nil {
		return s.wrap(k, err)
	}
	return nil
}

// output sends the chain's output to every outgoing edge.
func (s *subtask) output(ctx context.Context, b stream.Batch) error {
	rs := s.routers
	if len(rs) == 0 {
		// Only a sink ends a chain without edges, and sinks emit nothing.
		b.Release()
		return nil
	}
	if len(rs) > 1 {
		exchange.Share(b) // the consumers of several edges read b concurrently
	}
	for i := 1; i < len(rs); i++ {
		b.Record.Retain()
	}
	// Back-pressure (Control.Status): every outputSample-th batch is
	// timed, and counts for outputSample.
	s.outputs++
	var t0 time.Time
	if s.outputs%outputSample == 0 {
		t0 = time.Now()
	}
	for i, r := range rs {
		if err := r.router.Route(ctx, b); err != nil {
			for j := i + 1; j < len(rs); j++ {
				b.Release()
			}
			return fmt.Errorf("%s exchange to vertex %s: %w", r.edge.Exchange, r.edge.To, err)
		}
	}
	if !t0.IsZero() {
		s.blockedNs.Add(outputSample * int64(time.Since(t0)))
	}
	return nil
}

// broadcast sends a control message over every outgoing edge.
func (s *subtask) broadcast(ctx context.Context, m stream.Message) error {
	for _, r := range s.routers {
		if err := r.router.Broadcast(ctx, m); err != nil {
			return s.wrap(-1, fmt.Errorf("%s exchange to vertex %s: %w", r.edge.Exchange, r.edge.To, err))
		}
	}
	return nil
}

// advance hands watermark wm, from upstream, to the chain. A watermark
// not above the last one (after a restore replayed it) is dropped.
func (s *subtask) advance(ctx context.Context, wm int64) error {
	if wm <= s.lastWM {
		return nil
	}
	s.lastWM = wm
	return s.advanceFrom(ctx, 0, wm)
}

// advanceFrom hands watermark wm to the operators of the chain from k on,
// in chain order, then forwards it downstream. A watermark assigner stops
// every watermark but stream.MaxWatermark: it makes its own.
func (s *subtask) advanceFrom(ctx context.Context, k int, wm int64) error {
	if k < len(s.ops) && wm <= s.ops[k].wm {
		return nil // not above what a restore replayed
	}
	prev := s.cur
	for ; k < len(s.ops); k++ {
		o := s.ops[k]
		if _, ok := o.op.(*assignerOp); ok && wm != stream.MaxWatermark {
			s.cur = prev
			return nil
		}
		o.wm = wm
		s.cur = k
		if err := o.op.ProcessWatermark(ctx, wm, o); err != nil {
			return s.wrap(k, err)
		}
	}
	s.cur = prev
	s.outWM = wm
	s.liveWM.Store(wm)
	return s.broadcast(ctx, stream.WatermarkMessage(wm))
}

// runInputs reads the gate until every input channel has ended.
func (s *subtask) runInputs(ctx context.Context) error {
	for !s.tracker.Done() {
		if err := s.procDue(ctx); err != nil {
			return err
		}
		if err := s.checkMail(ctx); err != nil {
			return err
		}
		ch, m, err := s.gate.Next(s.waitContext(ctx))
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				continue // processing time is due
			}
			if errors.Is(err, exchange.ErrWoken) {
				continue // mail
			}
			return s.wrap(-1, fmt.Errorf("read input: %w", err))
		}
		var u watermark.Update
		switch m.Kind {
		case stream.Data:
			if u, err = s.tracker.Data(ch); err == nil {
				err = s.update(ctx, u)
			}
			if err != nil {
				m.Batch.Release()
				return s.wrap(-1, err)
			}
			if m.Batch.NumRows() == 0 {
				m.Batch.Release()
				continue
			}
			if err := s.push(ctx, 0, s.chanInput[ch], m.Batch); err != nil {
				return err
			}
			continue
		case stream.Watermark:
			u, err = s.tracker.Advance(ch, m.Watermark)
		case stream.Idle:
			u, err = s.tracker.SetIdle(ch)
		case stream.End:
			if u, err = s.tracker.End(ch); err == nil {
				if err = s.update(ctx, u); err != nil {
					return err
				}
				if err := s.channelEnded(ctx, ch); err != nil {
					return err
				}
				continue
			}
		case stream.BarrierMsg:
			if s.job.link == nil {
				err = fmt.Errorf("checkpoint barrier %d on input channel %d of a job without checkpoints", m.Barrier.CheckpointID, ch)
				break
			}
			if err := s.onBarrier(ctx, ch, m.Barrier); err != nil {
				return err
			}
			continue
		default:
			m.Batch.Release()
			err = fmt.Errorf("unknown message kind %d on input channel %d", m.Kind, ch)
		}
		if err != nil {
			return s.wrap(-1, err)
		}
		if err := s.update(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// update acts on a change of the combined input watermark or idleness.
func (s *subtask) update(ctx context.Context, u watermark.Update) error {
	if u.Advanced {
		if err := s.advance(ctx, s.tracker.Watermark()); err != nil {
			return err
		}
	} else if u.Active {
		// Tell downstream this subtask counts again.
		if err := s.broadcast(ctx, stream.WatermarkMessage(s.outWM)); err != nil {
			return err
		}
	}
	if u.Idle {
		return s.broadcast(ctx, stream.Message{Kind: stream.Idle})
	}
	return nil
}

// finish ends a subtask whose input is exhausted: the final watermark,
// End downstream, committing sinks, then closing the chain.
//
// Output a sink commits at the end of its input is covered by no
// checkpoint (none is taken once a source has ended), and a failure of
// any other subtask after that commit would restart the job from an
// earlier checkpoint and write that output again, which a sink such as
// Kafka's cannot take back. So in a job that checkpoints, a subtask with
// two-phase sinks commits only when every subtask of the attempt has
// finished its input (see job.arrive); one that fails first aborts them.
func (s *subtask) finish(ctx context.Context) error {
	if s.lastWM != stream.MaxWatermark {
		if err := s.advance(ctx, stream.MaxWatermark); err != nil {
			return err
		}
	}
	if err := s.broadcast(ctx, stream.Message{Kind: stream.End}); err != nil {
		return err
	}
	s.ended = true
	hold := s.twoPhaseSinks()
	if hold {
		s.job.arrive()
		select {
		case <-s.job.allFinished:
		case <-ctx.Done():
			return s.wrap(-1, ctx.Err())
		}
	}
	if s.src != nil && s.src.deadLetter != nil {
		if err := s.src.deadLetter.sink.commit(ctx, s.logger); err != nil {
			return s.wrap(-1, fmt.Errorf("dead-letter table %s: %w", s.src.deadLetter.sink.table, err))
		}
	}
	for k, o := range s.ops {
		if sk, ok := o.op.(*sinkOp); ok {
			s.cur = k
			if err := sk.commit(ctx, s.logger); err != nil {
				return s.wrap(k, err)
			}
			s.cur = -1
		}
	}
	if err := s.closeChain(ctx); err != nil {
		return err
	}
	if !hold {
		s.job.arrive()
	}
	return nil
}

// twoPhaseSinks reports whether the subtask has a sink (or dead-letter
// table) whose writer commits checkpoints, so it must not commit its
// output before every other subtask has finished.
func (s *subtask) twoPhaseSinks() bool {
	is := func(o *sinkOp) bool {
		_, ok := o.w.(connectors.TwoPhaseWriter)
		return ok && o.checkpointing && !o.closed && s.job.link != nil
	}
	if s.src != nil && s.src.deadLetter != nil && is(s.src.deadLetter.sink) {
		return true
	}
	for _, o := range s.ops {
		if sk, ok := o.op.(*sinkOp); ok && is(sk) {
			return true
		}
	}
	return false
}

// closeChain closes the source reader, every opened operator and its
// state, in chain order, and returns the first error.
func (s *subtask) closeChain(ctx context.Context) error {
	var first error
	note := func(k int, err error) {
		if err != nil && first == nil {
			first = s.wrap(k, err)
		}
	}
	if s.src != nil {
		note(-1, s.src.close())
		if dl := s.src.deadLetter; dl != nil {
			note(-1, dl.sink.Close(ctx)) // aborts what was not committed
		}
	}
	for k, o := range s.ops {
		if !o.opened || o.closed {
			continue
		}
		o.closed = true
		s.cur = k
		if err := o.op.Close(ctx); err != nil {
			note(k, fmt.Errorf("close: %w", err))
		}
		s.cur = -1
		if o.state != nil {
			if err := o.state.Close(); err != nil {
				note(k, fmt.Errorf("close state: %w", err))
			}
			o.state = nil
		}
	}
	return first
}

// cleanup releases whatever run left open. After a success everything is
// closed already; after a failure it closes the input gate (releasing
// queued batches and waking blocked producers) and the chain, so sinks
// abort. Errors while cleaning up after a failure are only logged: the
// job's error is the failure.
func (s *subtask) cleanup(ctx context.Context) error {
	s.stopProcTime()
	if s.gate != nil {
		s.gate.Close()
	}
	if err := s.closeChain(ctx); err != nil {
		s.logger.Warn("error while cleaning up after a failure", "err", err)
	}
	return nil
}

// sinkOp runs a sink's writer as the last operator of a chain.
type sinkOp struct {
	sink      connectors.Sink
	batchSize int
	table     string
	schema    types.Schema
	notNull   *notNullEnforcer // nil: no NOT NULL column
	// checkpointing: the job takes checkpoints (ReaderContext.Checkpointing).
	checkpointing bool
	w             connectors.Writer
	closed        bool
	// pending are the committables prepared (connectors.TwoPhaseWriter)
	// and not committed yet, oldest first.
	pending []pendingCommit
}

// pendingCommit is a committable prepared at checkpoint id.
type pendingCommit struct {
	id          int64
	committable []byte
}

// prepare prepares the writer's output at checkpoint id when it is a
// connectors.TwoPhaseWriter (ok), returning the committable and those of
// earlier checkpoints not committed yet.
func (o *sinkOp) prepare(ctx context.Context, id int64) (committable []byte, earlier [][]byte, ok bool, err error) {
	tw, ok := o.w.(connectors.TwoPhaseWriter)
	if !ok || o.closed {
		return nil, nil, false, nil
	}
	c, err := tw.Prepare(ctx, id)
	if err != nil {
		return nil, nil, false, fmt.Errorf("prepare writer: %w", err)
	}
	for _, p := range o.pending {
		earlier = append(earlier, p.committable)
	}
	o.pending = append(o.pending, pendingCommit{id: id, committable: c})
	return c, earlier, true, nil
}

// commitUpTo commits the output prepared at checkpoints up to id.
func (o *sinkOp) commitUpTo(ctx context.Context, id int64) error {
	tw, ok := o.w.(connectors.TwoPhaseWriter)
	if !ok || o.closed {
		return nil
	}
	for len(o.pending) > 0 && o.pending[0].id <= id {
		p := o.pending[0]
		if err := tw.Commit(ctx, p.id, p.committable); err != nil {
			return fmt.Errorf("commit writer's checkpoint %d: %w", p.id, err)
		}
		o.pending = o.pending[1:]
	}
	return nil
}

// Open implements operator.Operator: it opens the subtask's writer.
func (o *sinkOp) Open(ctx context.Context, oc *operator.Context) error {
	nn, err := newNotNullEnforcer(o.table, o.schema, oc)
	if err != nil {
		return err
	}
	o.notNull = nn
	w, err := o.sink.Writer(ctx, connectors.ReaderContext{
		Subtask: oc.Subtask, Parallelism: oc.Parallelism, BatchSize: o.batchSize,
		Alloc: oc.Alloc, Logger: oc.Logger, Metrics: oc.Metrics, Checkpointing: o.checkpointing,
	})
	if err != nil {
		return fmt.Errorf("open writer: %w", err)
	}
	if w == nil {
		return fmt.Errorf("open writer: connector returned no writer")
	}
	o.w = w
	return nil
}

// ProcessBatch implements operator.Operator: it writes b, once its NOT
// NULL columns are checked.
func (o *sinkOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if o.notNull != nil {
		checked, err := o.notNull.check(b)
		if err != nil {
			return err
		}
		if checked.Record != b.Record {
			defer checked.Release()
			b = checked
		}
	}
	if b.NumRows() == 0 {
		return nil
	}
	if err := o.w.Write(ctx, b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// ProcessWatermark implements operator.Operator: sinks ignore watermarks.
func (o *sinkOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

// commit completes the output after the last write: it commits what
// checkpoints prepared and not committed yet, then Writer.Close commits
// the rest. It runs once every subtask has finished its input, when a
// restart would write again what other sinks have committed, so a failed
// Commit (idempotent) is tried again a few times before the job fails.
func (o *sinkOp) commit(ctx context.Context, logger *slog.Logger) error {
	if o.w == nil || o.closed {
		return nil
	}
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		err := o.commitUpTo(ctx, math.MaxInt64)
		if err == nil {
			break
		}
		if try == finalCommitTries || ctx.Err() != nil {
			return err
		}
		logger.Warn("committing the sink's output at the end failed; trying again", "table", o.table, "err", err, "try", try)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
	o.closed = true
	if err := o.w.Close(ctx); err != nil {
		return fmt.Errorf("close writer: %w", err)
	}
	return nil
}

// finalCommitTries is how many times sinkOp.commit tries to commit the
// checkpoints prepared before the end of input.
const finalCommitTries = 4

// Close implements operator.Operator: a writer not committed is aborted.
func (o *sinkOp) Close(ctx context.Context) error {
	if o.w == nil || o.closed {
		return nil
	}
	o.closed = true
	if err := o.w.Abort(ctx); err != nil {
		return fmt.Errorf("abort writer: %w", err)
	}
	return nil
}

var _ operator.Operator = (*sinkOp)(nil)

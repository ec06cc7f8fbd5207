package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// Savepoints.
//
// A savepoint is a checkpoint taken on request, with Savepoint set in its
// barriers and metadata; a storage keeps it outside the retention of
// checkpoints (checkpoint.DirStorage: DIR/savepoint-<id>/). Its format is
// that of checkpoints, which is already independent of the parallelism
// (keyed state by key-group ranges, sources' positions restorable at any
// parallelism), so a savepoint restores at another parallelism.
//
// Control.TriggerSavepoint asks the coordinator for one: it is triggered
// as soon as no checkpoint is under way and answered when its metadata is
// committed. Control.StopWithSavepoint also stops the job: every source
// subtask stops reading once it has sent the savepoint's barrier (it
// neither reads on nor ends its input, so no final watermark fires
// windows after the savepoint); once the savepoint's metadata is
// committed and every subtask has committed its sinks' output up to it,
// the job is torn down (sinks abort whatever they wrote after the
// barrier) and Run returns with no error and the savepoint's path in
// Result.SavepointPath. A stop whose savepoint fails (dropped, timed out)
// resumes the sources and reports the error: the job runs on.

// ErrJobEnded is returned by Control's requests when the job has ended (or
// Run returned without running it).
var ErrJobEnded = errors.New("runtime: the job has ended")

// errStopped is the cause of the teardown after a stop with a savepoint.
var errStopped = errors.New("runtime: job stopped with a savepoint")

// Control takes savepoints of a running job and stops it with one. Create
// it with NewControl, pass it to one Run in Options.Control and call its
// methods from any goroutine while the job runs; a request made before Run
// has started the job waits for it. A Control serves one Run.
type Control struct {
	reqs  chan *savepointReq
	ready chan struct{} // closed when Run attached (or refused) the control
	ended chan struct{} // closed when Run returns

	mu          sync.Mutex
	attached    bool
	unavailable error // why the job takes no savepoints, nil if it does
	endOnce     sync.Once

	// live is the run's live view (Status), nil before Run starts.
	live atomic.Pointer[liveRun]
}

// NewControl returns a Control for one run of a job.
func NewControl() *Control {
	return &Control{reqs: make(chan *savepointReq), ready: make(chan struct{}), ended: make(chan struct{})}
}

// savepointReq is one request to the coordinator.
type savepointReq struct {
	stop  bool
	reply chan savepointReply // buffered: the coordinator never blocks
}

type savepointReply struct {
	path string
	err  error
}

func (r *savepointReq) answer(path string, err error) {
	select {
	case r.reply <- savepointReply{path: path, err: err}:
	default: // answered already
	}
}

// TriggerSavepoint takes a savepoint of the running job and returns its
// path (checkpoint.DirStorage.PathOf; "savepoint-<id>" for other
// storages) once its metadata is committed. The job runs on. It fails when
// the job takes no savepoints (no checkpoint storage, or state or sources
// that cannot be checkpointed), when a source has reached the end of its
// input, when the savepoint fails, or with ctx's error (the savepoint may
// then still complete).
func (c *Control) TriggerSavepoint(ctx context.Context) (path string, err error) {
	return c.request(ctx, false)
}

// StopWithSavepoint takes a savepoint of the running job, waits until it is
// complete (metadata committed and every sink's output up to it committed)
// and stops the job cleanly: its sources read nothing after the savepoint,
// its sinks commit nothing after it, and Run returns no error and the
// savepoint's path in Result.SavepointPath. It returns the same path. When
// the savepoint fails the job runs on and the error is returned.
func (c *Control) StopWithSavepoint(ctx context.Context) (path string, err error) {
	return c.request(ctx, true)
}

func (c *Control) request(ctx context.Context, stop bool) (string, error) {
	kind := "savepoint"
	if stop {
		kind = "stop with a savepoint"
	}
	select {
	case <-c.ready:
	case <-c.ended:
		return "", fmt.Errorf("%s: %w", kind, ErrJobEnded)
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", kind, ctx.Err())
	}
	select {
	case <-c.ended:
		return "", fmt.Errorf("%s: %w", kind, ErrJobEnded)
	default:
	}
	c.mu.Lock()
	un := c.unavailable
	c.mu.Unlock()
	if un != nil {
		return "", fmt.Errorf("%s: %w", kind, un)
	}
	r := &savepointReq{stop: stop, reply: make(chan savepointReply, 1)}
	select {
	case c.reqs <- r:
	case <-c.ended:
		return "", fmt.Errorf("%s: %w", kind, ErrJobEnded)
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", kind, ctx.Err())
	}
	select {
	case rep := <-r.reply:
		return rep.path, rep.err
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", kind, ctx.Err())
	}
}

// Attach binds c to a job that a caller coordinates itself (a
// Coordinator in a job manager; Run attaches its Options.Control):
// requests made before it wait for it, and unavailable, when not nil,
// says why the job takes no savepoints. A Control attaches once.
func (c *Control) Attach(unavailable error) error { return c.attach(unavailable) }

// End tells waiting and later requests that the job attached with Attach
// is over: they fail with ErrJobEnded. It is idempotent.
func (c *Control) End() { c.end() }

// attach binds c to a run; unavailable says why the job takes no
// savepoints (nil: it does).
func (c *Control) attach(unavailable error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attached {
		return fmt.Errorf("runtime: Options.Control is already used by another run (a Control serves one Run)")
	}
	c.attached = true
	c.unavailable = unavailable
	close(c.ready)
	return nil
}

// end tells waiting and later requests that the run is over.
func (c *Control) end() {
	c.endOnce.Do(func() { close(c.ended) })
}

// requests returns the channel the coordinator reads requests from (nil
// without a control: never ready).
func (c *Control) requests() chan *savepointReq {
	if c == nil {
		return nil
	}
	return c.reqs
}

// pathOf names checkpoint m of st as logs and results print it.
func pathOf(st checkpoint.Storage, m *checkpoint.Metadata) string {
	if p, ok := st.(interface {
		PathOf(*checkpoint.Metadata) string
	}); ok {
		return p.PathOf(m)
	}
	if m.Savepoint {
		return fmt.Sprintf("savepoint-%d", m.ID)
	}
	return fmt.Sprintf("chk-%d", m.ID)
}

// stopWait is a completed stop savepoint waiting for every subtask to
// commit its sinks up to it.
type stopWait struct {
	id      int64
	path    string
	pending int
	req     *savepointReq
}

// onRequest takes a savepoint request.
func (c *Coordinator) onRequest(r *savepointReq) {
	switch {
	case c.stopped:
		r.answer("", fmt.Errorf("savepoint: a source has reached the end of its input: the job is finishing and takes no more checkpoints"))
	case r.stop && c.stopping:
		r.answer("", fmt.Errorf("stop with a savepoint: the job is already stopping"))
	case c.pending != nil || c.stopping:
		c.queued = append(c.queued, r)
		if r.stop {
			c.stopping = true
		}
	default:
		c.triggerSavepoint([]*savepointReq{r})
	}
}

// triggerQueued starts a savepoint for the queued requests, if any.
func (c *Coordinator) triggerQueued() {
	if len(c.queued) == 0 || c.pending != nil || c.wait != nil {
		return
	}
	if c.stopped {
		for _, r := range c.queued {
			r.answer("", fmt.Errorf("savepoint: a source has reached the end of its input: the job is finishing and takes no more checkpoints"))
		}
		c.queued = nil
		c.stopping = false
		return
	}
	rs := c.queued
	c.queued = nil
	c.triggerSavepoint(rs)
}

// triggerSavepoint starts a savepoint answering rs; it stops the job when
// one of them asks to (the sources stop reading after its barrier: see
// CoordinatorPeers.TriggerBarrier).
func (c *Coordinator) triggerSavepoint(rs []*savepointReq) {
	stop := false
	for _, r := range rs {
		stop = stop || r.stop
	}
	c.stopping = stop
	c.trigger(true, stop, rs)
}

// onCommitted counts a committer's commit of the stop savepoint; the
// last one stops the job.
func (c *Coordinator) onCommitted(id int64) {
	w := c.wait
	if w == nil || id != w.id {
		return
	}
	w.pending--
	if w.pending > 0 {
		return
	}
	c.wait = nil
	c.peers.Stop(w.path)
	if w.req != nil {
		w.req.answer(w.path, nil)
	}
}

// failRequests answers every request still waiting when the attempt ends.
func (c *Coordinator) failRequests(err error) {
	if p := c.pending; p != nil {
		for _, r := range p.reqs {
			r.answer("", err)
		}
	}
	if w := c.wait; w != nil && w.req != nil {
		w.req.answer("", err)
	}
	for _, r := range c.queued {
		r.answer("", err)
	}
}

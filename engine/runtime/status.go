package runtime

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// Live status.
//
// Run returns a Result only at the end; a job manager shows running jobs
// through Control.Status, a snapshot taken at any moment from the same
// counters: records in and out per vertex (summed over its subtasks and
// every attempt, as Result), the lowest watermark its subtasks sent on,
// a back-pressure estimate, the last completed checkpoint, the restarts
// and the failures that caused them.

// Status is a live snapshot of a job run through Options.Control.
type Status struct {
	// Started reports that Run has started the job (its first attempt
	// is wired); the other fields are zero before.
	Started bool
	// Restarting reports that the job failed and waits to restart (under
	// Options.RestartStrategy).
	Restarting bool
	// Ended reports that Run has returned.
	Ended bool
	// Restarts is how many times the job restarted after a failure.
	Restarts int
	// Failures are the failures of the run, oldest first.
	Failures []Failure
	// Vertices has one entry per vertex, in graph order.
	Vertices []VertexStatus
	// Checkpoints is the number of checkpoints (and savepoints) completed
	// and CheckpointsFailed of those dropped.
	Checkpoints       int
	CheckpointsFailed int
	// LastCheckpoint is the last completed checkpoint or savepoint, nil
	// when none completed yet.
	LastCheckpoint *CheckpointStatus
}

// Failure is one failure of a run.
type Failure struct {
	Time    time.Time
	Message string
}

// CheckpointStatus describes a completed checkpoint.
type CheckpointStatus struct {
	ID int64
	// Path names it as logs print it (checkpoint.DirStorage.PathOf).
	Path string
	// Duration is the time from its trigger to its metadata's commit.
	Duration time.Duration
	// Size is the bytes it references.
	Size int64
	// Time is when it completed.
	Time time.Time
	// Savepoint marks a savepoint.
	Savepoint bool
}

// VertexStatus is one vertex's live counters, summed over its subtasks.
type VertexStatus struct {
	ID string
	// Name joins the names of the vertex's operators with " -> ".
	Name        string
	Parallelism int
	RecordsIn   int64
	RecordsOut  int64
	// Watermark is the lowest watermark the vertex's subtasks have sent
	// downstream (or handed their sinks), stream.MinWatermark when one
	// has sent none.
	Watermark int64
	// Backpressure estimates, between 0 and 1, the share of time the
	// vertex's subtasks spent handing output to full exchanges since the
	// previous Status call (since the attempt started, on the first).
	Backpressure float64
}

// liveRun is what Control.Status reads of a run.
type liveRun struct {
	stats *ckptStats

	mu         sync.Mutex
	j          *job // the current attempt, once wired
	started    time.Time
	restarts   int
	restarting bool
	ended      bool
	failures   []Failure
	// prev is the previous Status call's sample of each vertex's blocked
	// time, for the back-pressure estimate.
	prevAt      time.Time
	prevBlocked map[string]int64
}

// setLive binds the run's live view to c (nil-safe).
func (c *Control) setLive(l *liveRun) {
	if c == nil {
		return
	}
	c.live.Store(l)
}

// attemptWired records that attempt j is wired and running.
func (l *liveRun) attemptWired(j *job) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.j, l.restarting, l.started = j, false, time.Now()
	l.prevAt, l.prevBlocked = time.Time{}, nil
	l.mu.Unlock()
}

// failed records a failure; restarting says whether a restart follows.
func (l *liveRun) failed(err error, restarts int, restarting bool) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.failures = append(l.failures, Failure{Time: time.Now(), Message: err.Error()})
	l.restarts, l.restarting = restarts, restarting
	l.mu.Unlock()
}

// end records that Run returned.
func (l *liveRun) end() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.ended, l.restarting = true, false
	l.mu.Unlock()
}

// Status returns a live snapshot of the job run with c. It may be called
// from any goroutine, before, during and after the run.
func (c *Control) Status() Status {
	l := c.live.Load()
	if l == nil {
		return Status{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Status{
		Started: l.j != nil, Restarting: l.restarting, Ended: l.ended, Restarts: l.restarts,
		Failures: append([]Failure(nil), l.failures...),
	}
	l.stats.mu.Lock()
	st.Checkpoints, st.CheckpointsFailed = l.stats.completed, l.stats.failed
	if l.stats.lastID > 0 {
		st.LastCheckpoint = &CheckpointStatus{
			ID: l.stats.lastID, Path: l.stats.lastPath, Duration: l.stats.lastDur, Size: l.stats.lastSize,
			Time: l.stats.lastAt, Savepoint: l.stats.lastSavepoint,
		}
	}
	l.stats.mu.Unlock()
	j := l.j
	if j == nil {
		return st
	}
	res := j.result(0)
	now := time.Now()
	since := l.prevAt
	if since.IsZero() {
		since = l.started
	}
	wall := now.Sub(since).Nanoseconds()
	blocked := map[string]int64{}
	wms := map[string]int64{}
	for _, s := range j.subtasks {
		id := s.plan.v.ID
		blocked[id] += s.blockedNs.Load()
		wm := s.liveWM.Load()
		if cur, ok := wms[id]; !ok || wm < cur {
			wms[id] = wm
		}
	}
	for i, vr := range res.Vertices {
		v := j.plans[i].v
		name := ""
		for k, op := range v.Ops {
			if k > 0 {
				name += " -> "
			}
			name += op.Name
		}
		vs := VertexStatus{
			ID: vr.ID, Name: name, Parallelism: vr.Parallelism, RecordsIn: vr.RecordsIn, RecordsOut: vr.RecordsOut,
			Watermark: stream.MinWatermark,
		}
		if wm, ok := wms[vr.ID]; ok {
			vs.Watermark = wm
		}
		if wall > 0 && vr.Parallelism > 0 {
			d := blocked[vr.ID] - l.prevBlocked[vr.ID]
			vs.Backpressure = min(1, max(0, float64(d)/float64(wall*int64(vr.Parallelism))))
		}
		st.Vertices = append(st.Vertices, vs)
	}
	l.prevAt, l.prevBlocked = now, blocked
	return st
}

// liveState is the part of a subtask Control.Status reads while it runs.
type liveState struct {
	// liveWM mirrors outWM for readers on other goroutines.
	liveWM atomic.Int64
	// blockedNs estimates the time spent handing batches to the
	// exchanges: one batch in outputSample is timed (outputs counts them).
	blockedNs atomic.Int64
	outputs   uint64
}

// outputSample is how many output batches one timed batch stands for.
const outputSample = 4

// PartStatus is a live snapshot of a Part's local subtasks (Part.Status).
type PartStatus struct {
	// At is when it was taken, Started when the part started.
	At, Started time.Time
	// Vertices has an entry per vertex with a local subtask, in graph
	// order.
	Vertices []PartVertexStatus
}

// PartVertexStatus is one vertex's counters summed over a part's local
// subtasks of it.
type PartVertexStatus struct {
	ID string
	// Subtasks is how many of the vertex's subtasks run in the part.
	Subtasks   int
	RecordsIn  int64
	RecordsOut int64
	// Watermark is the lowest watermark the local subtasks have sent
	// downstream (or handed their sinks): stream.MinWatermark when one
	// has sent none, stream.MaxWatermark when all reached end of input.
	Watermark int64
	// Blocked estimates the time the local subtasks spent, together,
	// handing output to full exchanges since the part started.
	Blocked time.Duration
	// Backpressure is Blocked as a share (0 to 1) of the subtasks' time
	// since the part started, or of the time since an earlier snapshot
	// after PartStatus.Since.
	Backpressure float64
}

// Status returns a live snapshot of the part's local subtasks: per vertex,
// records in and out, the lowest output watermark and the back-pressure
// estimate since the part started (PartStatus.Since narrows it to the
// time since an earlier snapshot). It only reads counters: it may be
// called from any goroutine, as often as wanted, also after the part
// ended (the final counts).
func (p *Part) Status() PartStatus {
	j := p.j
	st := PartStatus{At: time.Now(), Started: p.started}
	res := j.result(0)
	type acc struct {
		n       int
		wm      int64
		blocked int64
	}
	byV := map[string]*acc{}
	for _, s := range j.subtasks {
		id := s.plan.v.ID
		a := byV[id]
		if a == nil {
			a = &acc{wm: stream.MaxWatermark}
			byV[id] = a
		}
		a.n++
		a.wm = min(a.wm, s.liveWM.Load())
		a.blocked += s.blockedNs.Load()
	}
	wall := st.At.Sub(st.Started).Nanoseconds()
	for _, vr := range res.Vertices {
		a := byV[vr.ID]
		if a == nil {
			continue
		}
		vs := PartVertexStatus{ID: vr.ID, Subtasks: a.n, RecordsIn: vr.RecordsIn, RecordsOut: vr.RecordsOut,
			Watermark: a.wm, Blocked: time.Duration(a.blocked)}
		if wall > 0 {
			vs.Backpressure = min(1, max(0, float64(a.blocked)/float64(wall*int64(a.n))))
		}
		st.Vertices = append(st.Vertices, vs)
	}
	return st
}

// Since sets each vertex's Backpressure to the share of its subtasks' time
// since prev (an earlier snapshot of the same part) spent blocked; vertices
// prev lacks keep theirs.
func (s *PartStatus) Since(prev PartStatus) {
	wall := s.At.Sub(prev.At).Nanoseconds()
	if wall <= 0 {
		return
	}
	before := make(map[string]time.Duration, len(prev.Vertices))
	for _, v := range prev.Vertices {
		before[v.ID] = v.Blocked
	}
	for i := range s.Vertices {
		v := &s.Vertices[i]
		b, ok := before[v.ID]
		if !ok || v.Subtasks == 0 {
			continue
		}
		v.Backpressure = min(1, max(0, float64(v.Blocked-b)/float64(wall*int64(v.Subtasks))))
	}
}

package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// testPeers are a coordinator's peers calling Parts directly.
type testPeers struct {
	mu    sync.Mutex
	parts []*Part
	// stopped records the path Stop was called with.
	stopped atomic.Value
}

func (tp *testPeers) each(f func(*Part)) {
	tp.mu.Lock()
	ps := tp.parts
	tp.mu.Unlock()
	for _, p := range ps {
		f(p)
	}
}

func (tp *testPeers) TriggerBarrier(b stream.Barrier, halt bool) {
	tp.each(func(p *Part) { p.Trigger(b, halt) })
}
func (tp *testPeers) ResumeSources() { tp.each(func(p *Part) { p.Resume() }) }
func (tp *testPeers) NotifyComplete(id int64, stop bool) {
	tp.each(func(p *Part) { p.Complete(id, stop) })
}
func (tp *testPeers) Stop(path string) {
	tp.stopped.Store(path)
	tp.each(func(p *Part) { p.Stop() })
}

// lazyTransport is one in-memory transport shared by the parts of a test,
// as a network transport would be: its senders find their gate on first
// Send (the consuming part may not be wired yet when a producer is).
type lazyTransport struct{ l *exchange.Local }

func (t lazyTransport) Gate(ids []exchange.ChannelID) (exchange.Gate, error) { return t.l.Gate(ids) }
func (t lazyTransport) Sender(id exchange.ChannelID) (exchange.Sender, error) {
	return &lazySender{l: t.l, id: id}, nil
}

type lazySender struct {
	l  *exchange.Local
	id exchange.ChannelID
	s  exchange.Sender
}

func (s *lazySender) Send(ctx context.Context, m stream.Message) error {
	for s.s == nil {
		snd, err := s.l.Sender(s.id)
		if err == nil {
			s.s = snd
			break
		}
		if !strings.Contains(err.Error(), "has no gate") {
			m.Batch.Release()
			return err
		}
		select {
		case <-ctx.Done():
			m.Batch.Release()
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return s.s.Send(ctx, m)
}

// splitJob runs graph g as n Parts (subtask i in part i % n) over one
// in-memory transport, coordinated by a Coordinator with ctl.
type splitJob struct {
	parts     []*Part
	coord     *Coordinator
	peers     *testPeers
	cancel    context.CancelFunc
	coordDone chan struct{}
}

func startSplit(t *testing.T, ctx context.Context, g *jobgraph.Graph, opts Options, n int, ctl *Control) *splitJob {
	t.Helper()
	local, err := exchange.NewLocal(DefaultChannelCapacity)
	if err != nil {
		t.Fatal(err)
	}
	tr := lazyTransport{local}
	peers := &testPeers{}
	coord, err := NewCoordinator(ctx, CoordinatorConfig{
		Job: g.Name, Subtasks: Subtasks(g), Committers: n, Storage: opts.CheckpointStorage,
		Interval: opts.CheckpointInterval, Restore: opts.Restore, Control: ctl, Peers: peers, Logger: opts.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := RecoverSinks(ctx, g, opts, false); err != nil {
		t.Fatal(err)
	}
	sj := &splitJob{coord: coord, peers: peers, coordDone: make(chan struct{})}
	for k := range n {
		p, err := RunPart(ctx, g, opts, PartConfig{
			Local: func(_ string, i int) bool { return i%n == k }, Transport: tr, Coordinator: coord, Attempt: 1,
		})
		if err != nil {
			t.Fatalf("part %d: %v", k, err)
		}
		sj.parts = append(sj.parts, p)
	}
	peers.mu.Lock()
	peers.parts = sj.parts
	peers.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	sj.cancel = cancel
	go func() {
		defer close(sj.coordDone)
		coord.Run(cctx)
	}()
	return sj
}

func (sj *splitJob) wait() []error {
	errs := make([]error, len(sj.parts))
	for i, p := range sj.parts {
		_, errs[i] = p.Wait()
	}
	sj.cancel()
	<-sj.coordDone
	return errs
}

// TestPartsStopWithSavepoint runs the checkpoint test job as two Parts
// coordinated from outside (sources of parallelism 2 and 3, counts of
// parallelism 3): periodic checkpoints complete, a stop with a savepoint
// halts the sources of both parts, every part commits up to it and ends
// without an error, and the visible output is exactly the reference over
// the rows the savepoint covers. The savepoint then restores in Run at
// parallelism 1 to the end: the output is the reference over all rows.
func TestPartsStopWithSavepoint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(21, 8))
	c := newCkptJob(t)
	rows := genRows(r, 5000, 40, 5, 10)
	sharesA, sharesB := byKey(rows[:3000], 2), byKey(rows[3000:], 3)
	var release atomic.Bool
	slow := func(ctx context.Context, _, _ int) error {
		time.Sleep(200 * time.Microsecond)
		return nil
	}
	c.f.addDataset("a", &dataset{shares: sharesA, maxBatch: 1 + r.IntN(20), nilEvery: 4, hold: func(int) bool { return release.Load() }, hook: slow})
	c.f.addDataset("b", &dataset{shares: sharesB, maxBatch: 1 + r.IntN(20), hold: func(int) bool { return release.Load() }, hook: slow})
	g := c.graph(3, map[string]int{"a": 2, "b": 3})
	opts := c.options(mem)
	opts.CheckpointInterval = 5 * time.Millisecond
	ctl := NewControl()
	if err := ctl.Attach(nil); err != nil {
		t.Fatal(err)
	}
	defer ctl.End()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sj := startSplit(t, ctx, g, opts, 2, ctl)
	for c.st.maxID() < 3 {
		if ctx.Err() != nil {
			release.Store(true)
			sj.wait()
			t.Fatal("no checkpoints completed")
		}
		time.Sleep(time.Millisecond)
	}
	path, err := ctl.StopWithSavepoint(ctx)
	if err != nil {
		release.Store(true)
		sj.wait()
		t.Fatalf("stop with a savepoint: %v", err)
	}
	for i, err := range sj.wait() {
		if err != nil {
			t.Fatalf("part %d after the stop: %v", i, err)
		}
	}
	if got, _ := sj.peers.stopped.Load().(string); got != path {
		t.Fatalf("peers stopped with %q, want %q", got, path)
	}
	st := sj.coord.Stats()
	if st.Completed < 3 || len(st.Savepoints) != 1 || st.Savepoints[0] != path {
		t.Fatalf("stats %+v, savepoint %q", st, path)
	}
	m, err := c.st.load(st.LastID) // the stop savepoint is the last one
	if err != nil || !m.Savepoint {
		t.Fatalf("savepoint %s: %+v, %v", path, m, err)
	}
	posA, posB := savepointPositions(t, m, "src-a", 2), savepointPositions(t, m, "src-b", 3)
	// A key's rows come from both sources in no fixed order: check every
	// covered row once and, per key, the running counts 1..n.
	var covered []row
	for i := range sharesA {
		covered = append(covered, sharesA[i][:posA[i]]...)
	}
	for i := range sharesB {
		covered = append(covered, sharesB[i][:posB[i]]...)
	}
	if len(covered) == 0 || len(covered) == len(rows) {
		t.Fatalf("the savepoint covers %d of %d rows: not a stop mid-run", len(covered), len(rows))
	}
	if err := checkCounts(c.sink.rows(), covered); err != nil {
		t.Fatalf("visible output after the stop is not exactly the output up to the savepoint: %v", err)
	}
	t.Logf("stopped with %s after %v and %v rows", path, posA, posB)

	release.Store(true)
	ropts := c.options(mem)
	ropts.Restore = m
	if _, err := Run(ctx, c.graph(1, map[string]int{"a": 2, "b": 3}), ropts); err != nil {
		t.Fatalf("restore the stop savepoint: %v", err)
	}
	if err := checkCounts(c.sink.rows(), rows); err != nil {
		t.Fatalf("output after restoring the savepoint differs from the reference: %v", err)
	}
}

// TestPartCancelFailsTheAttempt cancels one of two parts while both run:
// both end with an error (the other's exchange to it fails), nothing is
// leaked, and the checkpoints completed before hold every subtask's state.
func TestPartCancelFailsTheAttempt(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(4, 9))
	c := newCkptJob(t)
	shares := byKey(genRows(r, 3000, 30, 5, 10), 2)
	c.f.addDataset("a", &dataset{shares: shares, maxBatch: 10, hold: func(int) bool { return false }})
	g := c.graph(2, map[string]int{"a": 2})
	opts := c.options(mem)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sj := startSplit(t, ctx, g, opts, 2, nil)
	for c.st.maxID() < 2 {
		if ctx.Err() != nil {
			t.Fatal("no checkpoints completed")
		}
		time.Sleep(time.Millisecond)
	}
	sj.parts[1].Cancel(errors.New("lost"))
	errs := sj.wait()
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "lost") {
		t.Errorf("cancelled part: %v", errs[1])
	}
	if errs[0] == nil {
		t.Errorf("the other part ended without an error")
	}
	t.Logf("errors: %v / %v", errs[0], errs[1])
	// The committed checkpoints name every subtask of every operator.
	m, err := c.st.load(c.st.maxID())
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"src-a", "runcount", "sink"} {
		os := m.Operators[op]
		if os == nil || len(os.Subtasks) != 2 || os.Subtasks[0] == nil || os.Subtasks[1] == nil {
			t.Errorf("checkpoint %d: operator %s: %+v", m.ID, op, os)
		}
	}
}

// TestRunPartErrors: bad configurations are refused with nothing running.
func TestRunPartErrors(t *testing.T) {
	c := newCkptJob(t)
	c.f.addDataset("a", &dataset{shares: [][]row{nil}})
	g := c.graph(1, map[string]int{"a": 1})
	opts := c.options(memory.NewGoAllocator())
	tr, _ := exchange.NewLocal(4)
	ctx := context.Background()
	for _, tc := range []struct {
		cfg  PartConfig
		opts func(Options) Options
		want string
	}{
		{PartConfig{Transport: tr}, nil, "needs Local and Transport"},
		{PartConfig{Local: func(string, int) bool { return false }, Transport: tr}, nil, "no subtask"},
		{PartConfig{Local: func(string, int) bool { return true }, Transport: tr, Coordinator: &Coordinator{}},
			func(o Options) Options { o.CheckpointStorage = nil; return o }, "checkpoint storage"},
	} {
		o := opts
		if tc.opts != nil {
			o = tc.opts(o)
		}
		if _, err := RunPart(ctx, g, o, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RunPart: %v, want an error containing %q", err, tc.want)
		}
	}
}

// TestPartStatus runs the checkpoint test job (sources of parallelism 3,
// counts of parallelism 2) as two Parts while another goroutine reads
// their live status: the counts never go back and the back-pressure stays
// within [0, 1]; at the end each part reports its own subtasks of each
// vertex, the source vertex's records in over both parts are every row
// generated, and every vertex's watermark is the end of input.
func TestPartStatus(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 3))
	c := newCkptJob(t)
	shares := byKey(genRows(r, 4000, 30, 5, 10), 3)
	rows := 0
	for _, s := range shares {
		rows += len(s)
	}
	c.f.addDataset("a", &dataset{shares: shares, maxBatch: 1 + r.IntN(20)})
	g := c.graph(2, map[string]int{"a": 3})
	opts := c.options(mem)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sj := startSplit(t, ctx, g, opts, 2, nil)
	polled := make(chan error, 1)
	go func() {
		prev := make([]PartStatus, len(sj.parts))
		for {
			done := true
			for k, p := range sj.parts {
				select {
				case <-p.Done():
				default:
					done = false
				}
				st := p.Status()
				if !prev[k].At.IsZero() {
					st.Since(prev[k])
					for i, v := range st.Vertices {
						pv := prev[k].Vertices[i]
						if v.ID != pv.ID || v.RecordsIn < pv.RecordsIn || v.RecordsOut < pv.RecordsOut || v.Watermark < pv.Watermark || v.Blocked < pv.Blocked {
							polled <- fmt.Errorf("part %d: status went back: %+v after %+v", k, v, pv)
							return
						}
					}
				}
				for _, v := range st.Vertices {
					if v.Backpressure < 0 || v.Backpressure > 1 {
						polled <- fmt.Errorf("part %d vertex %s: back-pressure %v", k, v.ID, v.Backpressure)
						return
					}
				}
				prev[k] = st
			}
			if done {
				polled <- nil
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for k, err := range sj.wait() {
		if err != nil {
			t.Fatalf("part %d: %v", k, err)
		}
	}
	if err := <-polled; err != nil {
		t.Fatal(err)
	}
	var srcIn int64
	for k, p := range sj.parts {
		st := p.Status()
		want := map[string]int{}
		for _, v := range g.Vertices {
			for i := range v.Parallelism {
				if i%2 == k {
					want[v.ID]++
				}
			}
		}
		if len(st.Vertices) != len(want) {
			t.Fatalf("part %d: vertices %+v, want subtasks %v", k, st.Vertices, want)
		}
		for _, v := range st.Vertices {
			if v.Subtasks != want[v.ID] {
				t.Errorf("part %d vertex %s: %d subtasks, want %d", k, v.ID, v.Subtasks, want[v.ID])
			}
			if v.Watermark != stream.MaxWatermark {
				t.Errorf("part %d vertex %s: watermark %d after the end of input", k, v.ID, v.Watermark)
			}
			if v.ID == "va" {
				srcIn += v.RecordsIn
			}
		}
	}
	if srcIn != int64(rows) {
		t.Fatalf("source records in over the parts: %d, want %d", srcIn, rows)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/filesystem"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/exchange/netexchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// The split runtime: one job attempt run as several runtime.Parts, each
// with its own network-exchange server on a loopback gRPC port (as task
// managers would), its own Pebble state and its own view of the shared
// checkpoint directory, and one runtime.Coordinator (as the job manager
// would) whose peers call the parts. Slot sharing: subtask i of every
// vertex runs in part i % n.

// splitProc is one simulated task manager: a gRPC server with the
// exchange service, Pebble state and checkpoint storage of its own.
type splitProc struct {
	addr  string
	gs    *grpc.Server
	srv   *netexchange.Server
	state *pebblestate.Provider
	st    checkpoint.Storage
}

// splitCluster is n simulated task managers and the job they run.
type splitCluster struct {
	t     *testing.T
	g     *jobgraph.Graph
	reg   *connectors.Registry
	mem   memory.Allocator
	ck    string
	procs []*splitProc
	logs  *logBuffer
	log   *slog.Logger
}

func newSplitCluster(t *testing.T, g *jobgraph.Graph, reg *connectors.Registry, mem memory.Allocator, ck string, n int) *splitCluster {
	t.Helper()
	logs := &logBuffer{}
	c := &splitCluster{t: t, g: g, reg: reg, mem: mem, ck: ck, logs: logs,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	for i := range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := &splitProc{addr: lis.Addr().String(), gs: grpc.NewServer(netexchange.ServerOptions()...), srv: netexchange.NewServer(netexchange.ServerConfig{GateWait: 5 * time.Second})}
		p.srv.Register(p.gs)
		go func() { _ = p.gs.Serve(lis) }()
		if p.state, err = pebblestate.New(pebblestate.Config{Dir: t.TempDir(), CacheSize: 8 << 20, MemTableSize: 4 << 20}); err != nil {
			t.Fatal(err)
		}
		if p.st, err = checkpoint.NewDirStorage(ck, 0); err != nil {
			t.Fatal(err)
		}
		c.procs = append(c.procs, p)
		_ = i
	}
	return c
}

// close stops the gRPC servers and closes the state providers.
func (c *splitCluster) close() {
	for _, p := range c.procs {
		p.gs.Stop()
		if err := p.state.Close(); err != nil {
			c.t.Errorf("close pebble provider: %v", err)
		}
	}
}

// partPeers are the coordinator's peers: the parts of the current
// attempt, called directly (a job manager would call them over RPC).
type partPeers struct {
	mu    sync.Mutex
	parts []*runtime.Part
}

func (pp *partPeers) each(f func(*runtime.Part)) {
	pp.mu.Lock()
	ps := pp.parts
	pp.mu.Unlock()
	for _, p := range ps {
		f(p)
	}
}

func (pp *partPeers) TriggerBarrier(b stream.Barrier, halt bool) {
	pp.each(func(p *runtime.Part) { p.Trigger(b, halt) })
}
func (pp *partPeers) ResumeSources() { pp.each(func(p *runtime.Part) { p.Resume() }) }
func (pp *partPeers) NotifyComplete(id int64, stop bool) {
	pp.each(func(p *runtime.Part) { p.Complete(id, stop) })
}
func (pp *partPeers) Stop(string) { pp.each(func(p *runtime.Part) { p.Stop() }) }

// wireLink carries the parts' messages to the coordinator the way an RPC
// would: every message goes through JSON, so only plain data arrives.
type wireLink struct {
	c     *runtime.Coordinator
	acks  int
	mu    sync.Mutex
	bytes int
}

func roundTrip[T any](l *wireLink, v T) (T, error) {
	var out T
	data, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	l.mu.Lock()
	l.bytes += len(data)
	l.mu.Unlock()
	err = json.Unmarshal(data, &out)
	return out, err
}

func (l *wireLink) Ack(ctx context.Context, a runtime.SubtaskAck) error {
	a2, err := roundTrip(l, a)
	if err != nil {
		return fmt.Errorf("encode ack: %w", err)
	}
	l.mu.Lock()
	l.acks++
	l.mu.Unlock()
	return l.c.Ack(ctx, a2)
}

func (l *wireLink) SourceEnded(ctx context.Context, e runtime.SourceEnd) error {
	e2, err := roundTrip(l, e)
	if err != nil {
		return err
	}
	return l.c.SourceEnded(ctx, e2)
}

func (l *wireLink) CommittedUpTo(ctx context.Context, id int64) error {
	return l.c.CommittedUpTo(ctx, id)
}

// crashFS is the filesystem connector whose writers in the crashed part
// (sink subtask % n == part) skip Abort once crashed is set: the part died
// as a killed process would, leaving its in-progress files behind for the
// next attempt's sink recovery to remove.
type crashFS struct {
	*filesystem.Factory
	crashed *atomic.Bool
	part, n int
	skipped *atomic.Int64
}

func (d *crashFS) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	s, err := d.Factory.NewSink(info)
	if err != nil {
		return nil, err
	}
	return &crashSink{RecoverableSink: s.(connectors.RecoverableSink), d: d}, nil
}

type crashSink struct {
	connectors.RecoverableSink
	d *crashFS
}

func (s *crashSink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	w, err := s.RecoverableSink.Writer(ctx, rc)
	if err != nil {
		return nil, err
	}
	return &crashWriter{TwoPhaseWriter: w.(connectors.TwoPhaseWriter), d: s.d, sub: rc.Subtask}, nil
}

type crashWriter struct {
	connectors.TwoPhaseWriter
	d   *crashFS
	sub int
}

func (w *crashWriter) Abort(ctx context.Context) error {
	if w.d.crashed.Load() && w.sub%w.d.n == w.d.part {
		w.d.skipped.Add(1)
		return nil // the process is gone: nothing cleans up
	}
	return w.TwoPhaseWriter.Abort(ctx)
}

// crashRegistry is the built-in registry with the filesystem sink wrapped
// in crashFS.
func crashRegistry(t *testing.T, fs *crashFS) *connectors.Registry {
	t.Helper()
	reg := connectors.NewRegistry()
	for _, fac := range builtin.Factories() {
		if f, ok := fac.(*filesystem.Factory); ok {
			fs.Factory = f
			fac = fs
		}
		if err := reg.Register(fac); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// splitAttempt is one running attempt: its parts and coordinator.
type splitAttempt struct {
	parts     []*runtime.Part
	coord     *runtime.Coordinator
	link      *wireLink
	cancel    context.CancelFunc
	coordDone chan struct{}
}

// start starts attempt number attempt of the job from restore (nil: from
// the beginning): sinks recovered once, then one part per process with a
// fresh transport, and the coordinator with 100 ms checkpoints.
func (c *splitCluster) start(ctx context.Context, attempt int64, restore *checkpoint.Metadata, restarted bool) *splitAttempt {
	t := c.t
	t.Helper()
	n := len(c.procs)
	baseOpts := func(p *splitProc) runtime.Options {
		return runtime.Options{
			Connectors: c.reg, Operators: operators.Factories(), Alloc: c.mem, Logger: c.log,
			State: p.state, CheckpointStorage: p.st, Restore: restore,
		}
	}
	if err := runtime.RecoverSinks(ctx, c.g, baseOpts(c.procs[0]), restarted); err != nil {
		t.Fatalf("recover sinks: %v", err)
	}
	jmStorage, err := checkpoint.NewDirStorage(c.ck, 0)
	if err != nil {
		t.Fatal(err)
	}
	peers := &partPeers{}
	coord, err := runtime.NewCoordinator(ctx, runtime.CoordinatorConfig{
		Job: c.g.Name, MaxParallelism: c.g.MaxParallelism, Subtasks: runtime.Subtasks(c.g), Committers: n,
		Storage: jmStorage, Interval: 100 * time.Millisecond, Restore: restore, Peers: peers, Logger: c.log,
	})
	if err != nil {
		t.Fatal(err)
	}
	link := &wireLink{c: coord}
	addrs := make([]string, n)
	for i, p := range c.procs {
		addrs[i] = p.addr
	}
	a := &splitAttempt{coord: coord, link: link, coordDone: make(chan struct{})}
	for k, p := range c.procs {
		tr, err := netexchange.New(p.srv, netexchange.Config{
			Job: c.g.Name, Attempt: attempt, Self: p.addr, Allocator: c.mem,
			Placement:   func(id exchange.ChannelID) string { return addrs[id.To%n] },
			DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		})
		if err != nil {
			t.Fatal(err)
		}
		part, err := runtime.RunPart(ctx, c.g, baseOpts(p), runtime.PartConfig{
			Local:       func(_ string, subtask int) bool { return subtask%n == k },
			Transport:   tr,
			Coordinator: link,
			Attempt:     attempt,
		})
		if err != nil {
			t.Fatalf("attempt %d: part %d: %v", attempt, k, err)
		}
		a.parts = append(a.parts, part)
	}
	peers.mu.Lock()
	peers.parts = a.parts
	peers.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	a.cancel = cancel
	go func() {
		defer close(a.coordDone)
		coord.Run(cctx)
	}()
	return a
}

// wait waits for every part and stops the coordinator; it returns each
// part's result and error.
func (a *splitAttempt) wait() ([]*runtime.PartResult, []error) {
	res := make([]*runtime.PartResult, len(a.parts))
	errs := make([]error, len(a.parts))
	for i, p := range a.parts {
		res[i], errs[i] = p.Wait()
	}
	a.cancel()
	<-a.coordDone
	return res, errs
}

// splitCase is one split run: a checkpoint case at parallelism p over n
// parts, with or without a part cancelled mid-run.
type splitCase struct {
	c    ckptCase
	p, n int
	fail bool
}

// TestSplitParts runs jobs as parts of one attempt over the network
// exchange, coordinated from outside: the committed output must equal the
// reference. With fail, part 0 is cancelled after a checkpoint completed:
// every part must end with an error, and a new attempt of all parts (new
// attempt number, new transports, on the same exchange servers) restored
// from the latest checkpoint must finish with output identical to the
// reference (nothing lost, nothing doubled).
func TestSplitParts(t *testing.T) {
	cases := []splitCase{
		{c: flagshipCase(), p: 2, n: 2},
		{c: flagshipCase(), p: 3, n: 3, fail: true},
		{c: groupAggCase(), p: 2, n: 2, fail: true},
	}
	if longCheckpointTests() {
		cases = append(cases, splitCase{c: flagshipCase(), p: 2, n: 2, fail: true}, splitCase{c: groupAggCase(), p: 3, n: 3, fail: true},
			splitCase{c: spillingCase(), p: 3, n: 2, fail: true})
	}
	for _, sc := range cases {
		name := fmt.Sprintf("%s/p%d_parts%d", sc.c.name, sc.p, sc.n)
		if sc.fail {
			name += "/failover"
		}
		t.Run(name, func(t *testing.T) { runSplit(t, sc) })
	}
}

func runSplit(t *testing.T, sc splitCase) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const rows, rps = 40_000, 40_000
	seed := 11 + sc.p*7 + sc.n
	tables := sc.c.tables(rows, rps, seed)
	want := sc.c.want(t, tables)
	dir := t.TempDir()
	ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
	crash := &crashFS{crashed: &atomic.Bool{}, part: 0, n: sc.n, skipped: &atomic.Int64{}}
	reg := crashRegistry(t, crash)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	plan, err := embedded.Compile(ctx, "job.sql", sc.c.script(tables, out), embedded.Options{JobName: "split", Parallelism: sc.p, Connectors: reg})
	if err != nil {
		t.Fatal(err)
	}
	cl := newSplitCluster(t, plan.Graph, reg, mem, ck, sc.n)
	defer cl.close()

	a := cl.start(ctx, 1, nil, false)
	if sc.fail {
		newest := newestCheckpoint(ck)
		for newest() < 2 {
			select {
			case <-a.parts[0].Done():
				t.Fatalf("part 0 ended before 2 checkpoints completed (newest %d): make the input longer\nlogs:\n%s", newest(), tail(cl.logs.String(), 30))
			case <-time.After(2 * time.Millisecond):
			}
		}
		crash.crashed.Store(true)
		a.parts[0].Cancel(errors.New("injected: task manager 0 lost"))
		res, errs := a.wait()
		crash.crashed.Store(false)
		if crash.skipped.Load() == 0 {
			t.Fatalf("the crashed part aborted no writer: the crash left nothing behind to recover")
		}
		var in int64
		for i, err := range errs {
			if err == nil {
				t.Fatalf("part %d of the failed attempt ended without an error", i)
			}
			t.Logf("attempt 1, part %d: %v", i, err)
			in += res[i].RecordsIn
		}
		stats := a.coord.Stats()
		t.Logf("attempt 1: %d checkpoints (failed %d), %d rows read before the failure, %d acks over the wire", stats.Completed, stats.Failed, in, a.link.acks)
		if in >= rows {
			t.Fatalf("the sources read all %d rows before the failure: it was not mid-run", rows)
		}
		st, err := checkpoint.NewDirStorage(ck, 0)
		if err != nil {
			t.Fatal(err)
		}
		m, skipped, err := checkpoint.FindRestore(ctx, st, ck)
		if err != nil || m == nil || len(skipped) > 0 {
			t.Fatalf("find restore: m=%v skipped=%v err=%v", m, skipped, err)
		}
		_, hidden := visibleParts(t, out)
		t.Logf("restoring checkpoint %d; the crash left %d in-progress files", m.ID, len(hidden))
		a = cl.start(ctx, 2, m, true)
	}
	res, errs := a.wait()
	var in, outRows int64
	for i, err := range errs {
		if err != nil {
			t.Fatalf("part %d: %v\nlogs:\n%s", i, err, tail(cl.logs.String(), 40))
		}
		in += res[i].RecordsIn
		outRows += res[i].RecordsOut
	}
	stats := a.coord.Stats()
	if stats.Completed == 0 {
		t.Errorf("no checkpoint completed in the last attempt")
	}
	if !sc.fail && in != rows {
		t.Errorf("the parts read %d rows, want %d", in, rows)
	}
	t.Logf("last attempt: %d rows read, %d written, %d checkpoints (failed %d), %d acks (%d bytes) over the wire",
		in, outRows, stats.Completed, stats.Failed, a.link.acks, a.link.bytes)
	assertSameRows(t, sc.c.output(t, out), want)
	checkNoHidden(t, out)
}

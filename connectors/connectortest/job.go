package connectortest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// The connector names of the suite's own connectors, and the operator IDs
// of its jobs.
const (
	collectName  = "connectortest-collect"
	replayName   = "connectortest-replay"
	sourceOpID   = "connectortest-source"
	sinkOpID     = "connectortest-sink"
	ckptInterval = 10 * time.Millisecond
)

// errInjected is the failure the suite injects.
var errInjected = fmt.Errorf("connectortest: injected failure")

// countingStorage is a checkpoint.Storage that counts completed
// checkpoints, so faults can be injected after one.
type countingStorage struct {
	checkpoint.Storage
	commits atomic.Int64
}

func (s *countingStorage) Commit(ctx context.Context, m *checkpoint.Metadata) error {
	if err := s.Storage.Commit(ctx, m); err != nil {
		return err
	}
	s.commits.Add(1)
	return nil
}

// injector fails a job (through the suite's collecting sink or replaying
// source) after a checkpoint has completed, at a random batch, and slows
// the batches down a little until then, so that checkpoints do complete
// before a bounded input is exhausted.
type injector struct {
	st *countingStorage

	mu       sync.Mutex
	r        *rand.Rand
	left     int   // faults still to inject
	after    int64 // inject once this many checkpoints completed...
	at       int   // ...and this many batches more were seen
	seen     int
	injected int
	started  bool
}

func newInjector(st *countingStorage, r *rand.Rand, faults int) *injector {
	in := &injector{st: st, r: rand.New(rand.NewPCG(r.Uint64(), r.Uint64())), left: faults}
	in.arm(0)
	return in
}

// arm schedules the next fault after base + 1 or 2 checkpoints.
func (in *injector) arm(base int64) {
	in.after = base + 1 + in.r.Int64N(2)
	in.at = in.r.IntN(12)
	in.seen = 0
}

// tick is called for every batch; it returns the injected error when the
// time has come.
func (in *injector) tick() error {
	if in == nil {
		return nil
	}
	in.mu.Lock()
	if in.left == 0 {
		in.mu.Unlock()
		return nil
	}
	done := in.st.commits.Load()
	if !in.started {
		// Count checkpoints from the first batch on, so the one the
		// job restores from is likely to cover some rows.
		in.started = true
		in.arm(done)
	}
	pause := 3 * time.Millisecond
	if done >= in.after {
		if in.seen >= in.at {
			in.left--
			in.injected++
			in.arm(done)
			in.mu.Unlock()
			return errInjected
		}
		in.seen++
		pause = time.Millisecond
	}
	in.mu.Unlock()
	time.Sleep(pause)
	return nil
}

// pending reports whether faults are still to be injected.
func (in *injector) pending() bool {
	if in == nil {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.left > 0
}

func (in *injector) count() (injected, left int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.injected, in.left
}

// env is what the runs of one check share: checkpoint storage, Pebble
// state and an allocator that finds leaks.
type env struct {
	t     testing.TB
	st    *countingStorage
	state *pebblestate.Provider
	mem   *memory.CheckedAllocator
	log   *slog.Logger
	r     *rand.Rand
}

func newEnv(t testing.TB, r *rand.Rand) *env {
	t.Helper()
	dir := t.TempDir()
	ds, err := checkpoint.OpenDirStorage(dir+"/checkpoints", checkpoint.DirOptions{Retain: 2, PendingGrace: -1})
	if err != nil {
		t.Fatalf("connectortest: checkpoint storage: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := pebblestate.New(pebblestate.Config{Dir: dir + "/state", CacheSize: 1 << 20, MemTableSize: 1 << 20, Logger: log})
	if err != nil {
		t.Fatalf("connectortest: pebble state: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &env{t: t, st: &countingStorage{Storage: ds}, state: p,
		mem: memory.NewCheckedAllocator(memory.NewGoAllocator()), log: log, r: r}
}

// checkLeaks reports Arrow memory not released by the end of a check.
func (e *env) checkLeaks(what string) {
	if n := e.mem.CurrentAlloc(); n != 0 {
		e.t.Errorf("%s: %d bytes of Arrow memory were not released (a reader, writer or enumerator keeps batches it should release)", what, n)
	}
}

// jobSpec is a job source -> sink of the suite.
type jobSpec struct {
	name   string
	source jobgraph.TableRef
	proj   []int
	ps     int
	sink   jobgraph.TableRef
	pk     int
	reg    *connectors.Registry
	// faults is how many failures to inject; restarts whether the job
	// restarts in process after them (else Run fails).
	restarts bool
	restore  *checkpoint.Metadata
	batch    int
	// changelog is the mode of the rows the source emits and the sink
	// receives (empty: append-only); keys the columns they are keyed by,
	// which the edge hashes on.
	changelog jobgraph.ChangelogMode
	keys      []int
}

func (j jobSpec) graph() *jobgraph.Graph {
	out := j.source.Schema
	if j.proj != nil {
		out = types.Schema{}
		for _, c := range j.proj {
			out.Fields = append(out.Fields, j.source.Schema.Fields[c])
		}
	}
	ex := jobgraph.Forward
	if j.ps != j.pk {
		ex = jobgraph.Rebalance
	}
	edge := &jobgraph.Edge{From: "source", To: "sink", Exchange: ex}
	if j.changelog != "" && j.pk > 1 {
		// Rows of one key stay in order on one channel.
		edge.Exchange, edge.Keys = jobgraph.Hash, j.keys
	}
	return &jobgraph.Graph{
		Name: j.name, MaxParallelism: jobgraph.DefaultMaxParallelism,
		Vertices: []*jobgraph.Vertex{
			{ID: "source", Parallelism: j.ps, Ops: []*jobgraph.OperatorSpec{{ID: sourceOpID, Name: "Source(" + j.source.Table + ")", Output: out,
				Source: &jobgraph.SourceSpec{TableRef: j.source, Projection: j.proj}, Changelog: j.changelog}}},
			{ID: "sink", Parallelism: j.pk, Ops: []*jobgraph.OperatorSpec{{ID: sinkOpID, Name: "Sink(" + j.sink.Table + ")", Output: out,
				Sink: &jobgraph.SinkSpec{TableRef: j.sink, Changelog: j.changelog}}}},
		},
		Edges: []*jobgraph.Edge{edge},
	}
}

// run runs the job to its end.
func (e *env) run(ctx context.Context, j jobSpec) (*runtime.Result, error) {
	rs := runtime.RestartStrategy{MaxAttempts: -1}
	if j.restarts {
		rs = runtime.RestartStrategy{MaxAttempts: 4, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return runtime.Run(ctx, j.graph(), runtime.Options{
		Connectors:         j.reg,
		Operators:          map[string]operator.Factory{},
		Alloc:              e.mem,
		BatchSize:          j.batch,
		Logger:             e.log,
		State:              e.state,
		ChannelCapacity:    2,
		CheckpointStorage:  e.st,
		CheckpointInterval: ckptInterval,
		Restore:            j.restore,
		RestartStrategy:    rs,
	})
}

// latest returns the newest complete checkpoint.
func (e *env) latest(ctx context.Context) (*checkpoint.Metadata, error) {
	m, skipped, err := e.st.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("no complete checkpoint (skipped: %v)", skipped)
	}
	return m, nil
}

// registry returns a registry of fs.
func registry(t testing.TB, fs ...connectors.Factory) *connectors.Registry {
	reg := connectors.NewRegistry()
	for _, f := range fs {
		if err := reg.Register(f); err != nil {
			t.Fatalf("connectortest: %v", err)
		}
	}
	return reg
}

// otherParallelism returns a parallelism in [1, 3] other than p.
func otherParallelism(r *rand.Rand, p int) int {
	q := 1 + r.IntN(2)
	if q >= p {
		q++
	}
	return q
}

// tableRef is info as a job graph's table.
func tableRef(connector string, info connectors.TableInfo) jobgraph.TableRef {
	opts := make(map[string]string, len(info.Options)+1)
	for k, v := range info.Options {
		opts[k] = v
	}
	opts["connector"] = connector
	name := info.Name
	if name == "" {
		name = connector
	}
	return jobgraph.TableRef{Table: name, Connector: connector, Options: opts, Schema: info.Schema, PrimaryKey: info.PrimaryKey, PartitionKeys: info.PartitionKeys}
}

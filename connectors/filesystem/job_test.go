package filesystem

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// continuousGraph is a job copying a continuous directory table (source
// parallelism ps) into a filesystem sink table (one writer).
func continuousGraph(src, dst connectors.TableInfo, ps int) *jobgraph.Graph {
	ref := func(info connectors.TableInfo) jobgraph.TableRef {
		return jobgraph.TableRef{Table: info.Name, Connector: "filesystem", Options: info.Options, Schema: info.Schema, PartitionKeys: info.PartitionKeys}
	}
	return &jobgraph.Graph{
		Name: "copy", MaxParallelism: jobgraph.DefaultMaxParallelism,
		Vertices: []*jobgraph.Vertex{
			{ID: "source", Parallelism: ps, Ops: []*jobgraph.OperatorSpec{{ID: "src", Name: "Source(in)", Output: src.Schema,
				Source: &jobgraph.SourceSpec{TableRef: ref(src)}}}},
			{ID: "sink", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{{ID: "snk", Name: "Sink(out)", Output: dst.Schema,
				Sink: &jobgraph.SinkSpec{TableRef: ref(dst)}}}},
		},
		Edges: []*jobgraph.Edge{{From: "source", To: "sink", Exchange: jobgraph.Rebalance}},
	}
}

// TestContinuousJob runs a job reading a monitored directory (partitioned
// Parquet) into a filesystem sink through the runtime: files dropped in
// while it runs come out once committed; the job stops with a savepoint,
// more files arrive while it is down, and the job restored from the
// savepoint (at another parallelism) picks up exactly those and the ones
// arriving after: the sink's output is every input row exactly once.
func TestContinuousJob(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(21, 21))
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	os.MkdirAll(in, 0o755)
	src := table("in", partSchema, map[string]string{"path": in, "format": "parquet", OptMonitorInterval: "20 ms"})
	src.PartitionKeys = partKeys
	dst := table("out", partSchema, map[string]string{"path": out, "format": "csv", OptCSVNullLiteral: `\N`})
	st, err := checkpoint.OpenDirStorage(filepath.Join(base, "ckpt"), checkpoint.DirOptions{Retain: 2})
	if err != nil {
		t.Fatal(err)
	}
	state, err := pebblestate.New(pebblestate.Config{Dir: filepath.Join(base, "state"), CacheSize: 1 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	reg := connectors.NewRegistry()
	if err := reg.Register(New()); err != nil {
		t.Fatal(err)
	}
	var want []string
	batch := 0
	addFiles := func() {
		batch++
		rows := partRows(r, 1+r.IntN(150))
		stageFiles(t, src, rows, in, fmt.Sprintf("b%03d", batch), r, mem)
		for _, rw := range rows {
			exp := append(row(nil), rw...)
			if exp[1] == "" {
				exp[1] = nil
			}
			want = append(want, canonRow(exp))
		}
	}
	// output reads the sink's committed rows.
	output := func() []string {
		if _, err := os.Stat(out); err != nil {
			return nil
		}
		s, err := New().NewSource(dst)
		if err != nil {
			t.Fatal(err)
		}
		rows, errs := readAll(t, s, 1, r, mem, connectors.ReaderContext{})
		if errs[0] != nil {
			t.Fatal(errs[0])
		}
		return canonRows(rows)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitFor := func(n int, done chan error) {
		for len(output()) < n {
			select {
			case err := <-done:
				t.Fatalf("the job ended (%v) before the output reached %d rows", err, n)
			case <-ctx.Done():
				t.Fatalf("the output never reached %d rows (%d)", n, len(output()))
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	run := func(ps int, restore *checkpoint.Metadata, ctl *runtime.Control) chan error {
		done := make(chan error, 1)
		batchSize := 1 + r.IntN(64)
		go func() {
			_, err := runtime.Run(ctx, continuousGraph(src, dst, ps), runtime.Options{
				Connectors: reg, Operators: map[string]operator.Factory{}, Alloc: mem, BatchSize: batchSize,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CheckpointStorage: st,
				CheckpointInterval: 15 * time.Millisecond, Restore: restore, Control: ctl, State: state,
			})
			done <- err
		}()
		return done
	}
	stop := func(ctl *runtime.Control, done chan error) *checkpoint.Metadata {
		sp, err := ctl.StopWithSavepoint(ctx)
		if err != nil {
			t.Fatalf("stop with savepoint: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the stopped job returned %v", err)
		}
		m, err := st.Load(ctx, sp)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	addFiles()
	ctl := runtime.NewControl()
	done := run(2, nil, ctl)
	waitFor(len(want), done)
	addFiles()
	addFiles()
	waitFor(len(want), done)
	m := stop(ctl, done)
	addFiles() // while the job is down
	ctl = runtime.NewControl()
	done = run(3, m, ctl)
	addFiles()
	waitFor(len(want), done)
	stop(ctl, done)
	sameMultiset(t, output(), want)
}

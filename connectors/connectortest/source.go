package connectortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// SourceHarness describes a source connector under test.
type SourceHarness struct {
	// Factory is the connector: a connectors.SourceFactory (legacy
	// readers; RestorableSource for the restore checks), a
	// connectors.SplitSourceFactory, or both.
	Factory connectors.Factory
	// NewTable makes a table in the external system and fills it with
	// rows (Generator.Record makes random ones), and returns it with the
	// rows its source must produce. It is called once; the suite reads the
	// table many times (directly and in jobs), and every read must give
	// the same rows. The table must be bounded (its source's Bounded is
	// true: Kafka's 'scan.bounded.mode', a filesystem source that does
	// not monitor its directory) and should hold enough rows for a few
	// dozen batches (a few thousand), so a fault can be injected mid-read.
	NewTable func(t testing.TB, r *rand.Rand) SourceTable
	// NoRescale says the source cannot resume at another parallelism; the
	// suite then restores at the parallelism of the failed run only.
	NoRescale bool
	// ParallelismDependent says the rows depend on the parallelism a
	// read starts at (Nexmark's event times do, as upstream's): the
	// reference of a job is then an uninterrupted direct read at the
	// parallelism the job started at, which must be reproducible, and a
	// job restored at another parallelism must still give it. Want must
	// be nil.
	ParallelismDependent bool
	// Seed seeds the suite's random choices (0: a fixed seed); it is
	// logged, so a failure can be replayed.
	Seed uint64
}

// SourceTable is a table under test and what it holds.
type SourceTable struct {
	Info connectors.TableInfo
	// Want are the rows the table's source produces, each once (a
	// multiset, in no order); the suite releases them. Nil: the rows of an
	// uninterrupted read by one reader are the reference (for generators
	// like datagen, whose rows the test cannot write).
	Want []stream.Batch
}

// subtest runs fn as a subtest when t is a *testing.T, else in place.
func subtest(t testing.TB, name string, fn func(t testing.TB)) {
	if tt, ok := t.(*testing.T); ok {
		tt.Run(name, func(t *testing.T) { fn(t) })
		return
	}
	fn(t)
}

// RunSource runs the conformance checks of a source connector: options,
// schema and rows of direct reads (at several parallelisms, and projected
// for a ProjectableSource), the split contract (a SplitSource driven
// through a checkpoint and a restore onto another number of readers), and
// exactly-once through engine/runtime: a job read into a collecting sink,
// failed after a checkpoint at a random point and restored, in process and
// (unless NoRescale) at another parallelism, commits exactly the reference
// rows.
func RunSource(t testing.TB, h SourceHarness) {
	t.Helper()
	seed := h.Seed
	if seed == 0 {
		seed = 1
	}
	t.Logf("connectortest: connector '%s', seed %d", h.Factory.Name(), seed)
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	table := h.NewTable(t, rand.New(rand.NewPCG(seed, 1)))
	info := table.Info
	var want []Row
	if table.Want != nil {
		for i, b := range table.Want {
			if b.Record == nil {
				t.Fatalf("harness: Want batch %d has no record", i)
			}
			if p := checkTypes(b.Record, info.Schema); p != "" {
				t.Fatalf("harness: Want batch %d does not match the table: %s", i, p)
			}
		}
		want = RowsOf(table.Want)
		for _, b := range table.Want {
			b.Release()
		}
	}
	_, legacy := h.Factory.(connectors.SourceFactory)
	var ss connectors.SplitSource
	if sf, ok := h.Factory.(connectors.SplitSourceFactory); ok {
		var err error
		if ss, err = sf.NewSplitSource(info); err != nil {
			t.Fatalf("connector '%s': NewSplitSource: %v", h.Factory.Name(), err)
		}
	}
	if !legacy && ss == nil {
		t.Fatalf("connector '%s' is neither a SourceFactory nor a SplitSourceFactory with a split source for the table", h.Factory.Name())
	}

	subtest(t, "options", func(t testing.TB) { CheckOptions(t, h.Factory, info) })

	if h.ParallelismDependent && want != nil {
		t.Fatalf("harness: a ParallelismDependent source's rows are its own reads (Want must be nil)")
	}
	// refs holds uninterrupted direct reads by parallelism.
	refs := map[int][]Row{}
	reference := func(t testing.TB, e *env, p int) []Row {
		t.Helper()
		if !h.ParallelismDependent {
			p = 1
		}
		if rows, ok := refs[p]; ok {
			return rows
		}
		rows, err := readDirect(context.Background(), e, h.Factory, ss, info, p, 1+r.IntN(100))
		if err != nil {
			t.Fatalf("uninterrupted read with %d readers: %v", p, err)
		}
		if len(rows) == 0 {
			t.Fatalf("harness: the table holds no rows")
		}
		refs[p] = rows
		return rows
	}

	ok := false
	subtest(t, "read", func(t testing.TB) {
		e := newEnv(t, r)
		ref := reference(t, e, 1)
		if want != nil {
			if d := Diff(ref, want); d != "" {
				t.Fatalf("the rows read by one reader differ from the table's rows: %s", d)
			}
		} else {
			want = ref
		}
		p := 2 + r.IntN(2)
		if h.ParallelismDependent {
			ref = reference(t, e, p)
		}
		got, err := readDirect(context.Background(), e, h.Factory, ss, info, p, 1+r.IntN(100))
		if err != nil {
			t.Fatalf("read with %d readers: %v", p, err)
		}
		if d := Diff(got, ref); d != "" {
			t.Fatalf("the rows read by %d readers together differ from the reference: %s", p, d)
		}
		e.checkLeaks("direct reads")
		ok = true
	})
	if !ok {
		return
	}

	if ps, isP := h.Factory.(connectors.ProjectableSource); isP && ps.CanProject(info) && info.Schema.Len() > 1 {
		subtest(t, "projection", func(t testing.TB) {
			e := newEnv(t, r)
			proj := randomProjection(r, info.Schema.Len())
			pinfo := info
			pinfo.Schema = project(info.Schema, proj)
			p := 1 + r.IntN(2)
			got, err := readDirect(context.Background(), e, h.Factory, nil, pinfo, p, 1+r.IntN(100))
			if err != nil {
				t.Fatalf("read of columns %v: %v", proj, err)
			}
			if d := Diff(got, projectRows(reference(t, e, p), proj)); d != "" {
				t.Errorf("the rows read of columns %v differ from the reference's: %s", proj, d)
			}
			e.checkLeaks("projected reads")
		})
	}

	if ss != nil {
		subtest(t, "split-restore", func(t testing.TB) {
			e := newEnv(t, r)
			d := &splitDriver{ss: ss, schema: info.Schema, mem: e.mem, log: e.log, r: r, batch: 1 + r.IntN(100)}
			full, err := d.read(context.Background(), 1, 1, 0)
			if err != nil {
				t.Fatalf("split source, one reader: %v", err)
			}
			for round := 0; round < 3; round++ {
				p1 := 1 + r.IntN(3)
				p2 := p1
				if !h.NoRescale {
					p2 = otherParallelism(r, p1)
				}
				stop := 1 + r.IntN(max(1, full.calls*2/3))
				d := &splitDriver{ss: ss, schema: info.Schema, mem: e.mem, log: e.log, r: r, batch: 1 + r.IntN(100)}
				run, err := d.read(context.Background(), p1, p2, stop)
				if err != nil {
					t.Fatalf("split source, %d readers restored onto %d after %d reads: %v", p1, p2, stop, err)
				}
				if diff := Diff(run.rows, reference(t, e, p1)); diff != "" {
					t.Fatalf("split source, %d readers restored onto %d after %d reads: the rows differ from the reference: %s", p1, p2, stop, diff)
				}
			}
			e.checkLeaks("split reads")
		})
	}

	if !legacy && !runtimeRunsSplits() {
		t.Logf("connectortest: engine/runtime cannot run split sources yet; connector '%s' was checked by driving its SplitSource directly only", h.Factory.Name())
		return
	}
	var projectable bool
	if ps, isP := h.Factory.(connectors.ProjectableSource); isP && ps.CanProject(info) && info.Schema.Len() > 1 {
		projectable = true
	}
	subtest(t, "exactly-once-restart", func(t testing.TB) {
		p := 1 + r.IntN(3)
		var proj []int
		if projectable && r.IntN(2) == 0 {
			proj = randomProjection(r, info.Schema.Len())
		}
		sourceRestore(t, r, h.Factory, info, reference(t, newEnv(t, r), p), proj, p, p, 1+r.IntN(2))
	})
	if !h.NoRescale {
		subtest(t, "exactly-once-rescale", func(t testing.TB) {
			p1 := 1 + r.IntN(3)
			sourceRestore(t, r, h.Factory, info, reference(t, newEnv(t, r), p1), nil, p1, otherParallelism(r, p1), 0)
		})
	}
}

// sourceRestore runs a job source -> collecting sink at parallelism p1
// that fails after a checkpoint. With faults > 0 the job restarts in
// process, faults times; otherwise it fails, and a second job restores it
// from its latest checkpoint at parallelism p2 (and fails once more there,
// restarting in process). The committed rows must be want's (projected).
func sourceRestore(t testing.TB, r *rand.Rand, f connectors.Factory, info connectors.TableInfo, want []Row, proj []int, p1, p2, faults int) {
	t.Helper()
	ctx := context.Background()
	src := tableRef(f.Name(), info)
	schema := info.Schema
	if proj != nil {
		schema = project(schema, proj)
		want = projectRows(want, proj)
	}
	sink := tableRef(collectName, connectors.TableInfo{Name: "collected", Schema: schema})
	restarts := faults > 0
	if !restarts {
		faults = 1
	}
	batch := 1 + r.IntN(64)
	var (
		e        *env
		what     string
		inj      *injector
		col      *collector
		job      jobSpec
		res      *runtime.Result
		err      error
		injected int
	)
	// A source that reads its table in fewer batches than checkpoints
	// take is read again in smaller ones.
	for attempt := 0; ; attempt++ {
		e = newEnv(t, r)
		what = fmt.Sprintf("source at parallelism %d, batches of at most %d rows", p1, batch)
		if proj != nil {
			what += fmt.Sprintf(", columns %v", proj)
		}
		inj = newInjector(e.st, r, faults)
		col = newCollector(inj)
		job = jobSpec{name: "connectortest-" + f.Name(), source: src, proj: proj, ps: p1, sink: sink, pk: 1 + r.IntN(3),
			reg: registry(t, f, col), restarts: restarts, batch: batch}
		res, err = e.run(ctx, job)
		injected, _ = inj.count()
		if injected > 0 {
			break
		}
		if err != nil || attempt == 2 || batch == 1 {
			var ck int
			var dur time.Duration
			if res != nil {
				ck, dur = res.Checkpoints, res.LastCheckpointDuration
			}
			t.Fatalf("%s: the job ended (err %v; %d checkpoints, the last took %v) before a fault could be injected after a checkpoint; the harness's table should hold more rows", what, err, ck, dur)
		}
		e.checkLeaks(what)
		batch = max(1, batch/4)
	}
	if restarts {
		if err != nil {
			t.Fatalf("%s: the job failed: %v", what, err)
		}
		if res.Restarts != injected {
			t.Errorf("%s: %d faults injected, the job restarted %d times", what, injected, res.Restarts)
		}
		what += fmt.Sprintf(", %d failures and in-process restarts", injected)
	} else {
		if err == nil || !errors.Is(err, errInjected) && !strings.Contains(err.Error(), errInjected.Error()) {
			t.Fatalf("%s: the job should have failed with the injected fault, got %v", what, err)
		}
		md, err := e.latest(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		what += fmt.Sprintf(", failed and restored from checkpoint %d at parallelism %d", md.ID, p2)
		inj2 := newInjector(e.st, r, 1)
		col.inj = inj2
		job.ps, job.restore, job.restarts = p2, md, true
		if _, err := e.run(ctx, job); err != nil {
			t.Fatalf("%s: the restored job failed: %v", what, err)
		}
	}
	for _, p := range col.schemaProblems() {
		t.Errorf("%s: %s", what, p)
	}
	if d := Diff(col.rows(), want); d != "" {
		t.Errorf("%s: the committed rows differ from the reference (exactly once): %s", what, d)
	} else {
		t.Logf("%s: the %d rows were committed exactly once", what, len(want))
	}
	e.checkLeaks(what)
}

// readDirect reads the table with p readers, opened directly (no runtime),
// until every one is exhausted, and checks every batch's types.
func readDirect(ctx context.Context, e *env, f connectors.Factory, ss connectors.SplitSource, info connectors.TableInfo, p, batch int) ([]Row, error) {
	if ss != nil {
		d := &splitDriver{ss: ss, schema: info.Schema, mem: e.mem, log: e.log, r: e.r, batch: batch}
		run, err := d.read(ctx, p, p, 0)
		if err != nil {
			return nil, err
		}
		return run.rows, nil
	}
	src, err := f.(connectors.SourceFactory).NewSource(info)
	if err != nil {
		return nil, fmt.Errorf("NewSource: %w", err)
	}
	if src == nil {
		return nil, fmt.Errorf("NewSource returned no source")
	}
	if !src.Bounded() {
		return nil, fmt.Errorf("harness: the table's source is unbounded; the suite needs a bounded table")
	}
	var (
		mu   sync.Mutex
		rows []Row
		wg   sync.WaitGroup
		errs = make([]error, p)
	)
	for i := range p {
		rc := connectors.ReaderContext{Subtask: i, Parallelism: p, BatchSize: batch, Alloc: e.mem, Logger: e.log, Metrics: metrics{}}
		rd, err := src.Reader(ctx, rc)
		if err != nil {
			return nil, fmt.Errorf("Reader(%d of %d): %w", i, p, err)
		}
		if rd == nil {
			return nil, fmt.Errorf("Reader(%d of %d) returned no reader", i, p)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := drain(ctx, rd, info.Schema, batch)
			if cerr := rd.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("Close: %w", cerr)
			}
			if err != nil {
				errs[i] = fmt.Errorf("reader %d of %d: %w", i, p, err)
			}
			mu.Lock()
			rows = append(rows, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return rows, errors.Join(errs...)
}

// drain reads rd to io.EOF.
func drain(ctx context.Context, rd connectors.Reader, schema types.Schema, batch int) ([]Row, error) {
	var rows []Row
	var idleSince time.Time
	for {
		var b stream.Batch
		var err error
		if cr, ok := rd.(connectors.ChangelogReader); ok {
			b, err = cr.NextBatch(ctx)
		} else {
			b.Record, err = rd.Next(ctx)
		}
		if errors.Is(err, io.EOF) {
			if b.Record != nil {
				b.Release()
			}
			return rows, nil
		}
		if err != nil {
			if b.Record != nil {
				b.Release()
			}
			return rows, fmt.Errorf("Next: %w", err)
		}
		if b.Record == nil {
			if idleSince.IsZero() {
				idleSince = time.Now()
			} else if time.Since(idleSince) > 20*time.Second {
				return rows, fmt.Errorf("a bounded reader returned nothing for 20 s without reaching io.EOF")
			}
			time.Sleep(200 * time.Microsecond)
			continue
		}
		idleSince = time.Time{}
		p := checkTypes(b.Record, schema)
		if p == "" && b.Kinds != nil && len(b.Kinds) != b.NumRows() {
			p = fmt.Sprintf("a batch of %d rows with %d row kinds", b.NumRows(), len(b.Kinds))
		}
		if p == "" && b.NumRows() > batch {
			p = fmt.Sprintf("a batch of %d rows, more than the reader context's BatchSize %d", b.NumRows(), batch)
		}
		if p != "" {
			b.Release()
			return rows, fmt.Errorf("Next returned %s", p)
		}
		rows = append(rows, Rows(b)...)
		b.Release()
	}
}

// randomProjection returns a random non-empty, ascending proper subset of
// n columns.
func randomProjection(r *rand.Rand, n int) []int {
	for {
		var proj []int
		for c := range n {
			if r.IntN(2) == 0 {
				proj = append(proj, c)
			}
		}
		if len(proj) > 0 && len(proj) < n {
			return proj
		}
	}
}

func project(s types.Schema, proj []int) types.Schema {
	out := types.Schema{}
	for _, c := range proj {
		out.Fields = append(out.Fields, s.Fields[c])
	}
	return out
}

func projectRows(rows []Row, proj []int) []Row {
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = r.Project(proj)
	}
	return out
}

// runtimeRunsSplits reports whether engine/runtime runs split sources:
// it runs a job over an empty split-only source once.
var runtimeRunsSplits = sync.OnceValue(func() bool {
	reg := connectors.NewRegistry()
	_ = reg.Register(emptySplits{})
	col := newCollector(nil)
	_ = reg.Register(col)
	schema := types.Schema{Fields: []types.Field{{Name: "x", Type: types.BigIntType}}}
	j := jobSpec{name: "connectortest-probe", source: tableRef("connectortest-empty-splits", connectors.TableInfo{Schema: schema}),
		ps: 1, sink: tableRef(collectName, connectors.TableInfo{Schema: schema}), pk: 1, reg: reg}
	g := j.graph()
	_, err := runProbe(g, reg)
	return err == nil
})

// runProbe runs g briefly, without checkpoints.
func runProbe(g *jobgraph.Graph, reg *connectors.Registry) (*runtime.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return runtime.Run(ctx, g, runtime.Options{Connectors: reg, Operators: map[string]operator.Factory{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// emptySplits is a split-only source with no splits.
type emptySplits struct{}

func (emptySplits) Name() string                     { return "connectortest-empty-splits" }
func (emptySplits) Options() []connectors.OptionSpec { return nil }
func (emptySplits) NewSplitSource(connectors.TableInfo) (connectors.SplitSource, error) {
	return emptySplits{}, nil
}
func (emptySplits) Bounded() bool { return true }
func (emptySplits) NewEnumerator(context.Context, connectors.EnumeratorContext, []byte) (connectors.SplitEnumerator, error) {
	return emptyEnum{}, nil
}
func (emptySplits) NewSplitReader(context.Context, connectors.ReaderContext) (connectors.SplitReader, error) {
	return emptyReader{}, nil
}

type emptyEnum struct{}

func (emptyEnum) Discover(context.Context) ([]connectors.Split, bool, error) { return nil, true, nil }
func (emptyEnum) Snapshot() ([]byte, error)                                  { return nil, nil }
func (emptyEnum) Close() error                                               { return nil }

type emptyReader struct{}

func (emptyReader) AddSplits(context.Context, []connectors.Split) error { return nil }
func (emptyReader) Next(context.Context) (connectors.SplitBatch, error) {
	return connectors.SplitBatch{}, nil
}
func (emptyReader) Snapshot() ([]connectors.Split, error) { return nil, nil }
func (emptyReader) Close() error                          { return nil }

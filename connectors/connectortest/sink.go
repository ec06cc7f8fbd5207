package connectortest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// SinkHarness describes a sink connector under test.
type SinkHarness struct {
	Factory connectors.SinkFactory
	// NewTable returns a new, empty table to write, in a fresh place of
	// the external system (a new directory, topic...). The suite writes
	// random rows of its Schema: pick one with every type the sink takes
	// (AllTypesSchema, when it takes them all).
	NewTable func(t testing.TB) connectors.TableInfo
	// ReadBack returns the rows committed to table (visible to a reader
	// that sees only committed output), rendered by Rows. Nil for a
	// sink whose output cannot be read back (blackhole): the suite then
	// checks only that the jobs succeed through failures and restores.
	ReadBack func(t testing.TB, table connectors.TableInfo) []Row
	// AtLeastOnce says the sink guarantees only that, across failures:
	// every row is written at least once, and none that was not given.
	// Without failures it must still write every row exactly once.
	AtLeastOnce bool
	// Generator makes the rows written (the zero Generator: random values
	// of every type, with NULLs).
	Generator Generator
	// NoRescale says the sink cannot be restored at another parallelism.
	NoRescale bool
	// Changelog, when set ("retract" or "upsert"), makes the suite write a
	// changelog (Generator.Changelog: inserts, updates and deletes) keyed
	// by the table's PrimaryKey (retract without one: its first column)
	// instead of inserts; the factory must be an UpdatingSink that accepts
	// it. The source runs at parallelism 1 and the rows of a key reach the
	// same writer in order.
	Changelog string
	// Materialized says ReadBack returns the table's final contents (an
	// upsert-kafka topic read back by key, a database table): the suite
	// compares them, as +I rows, with the changelog applied. Otherwise
	// ReadBack returns every row written with its kind.
	Materialized bool
	// Seed seeds the suite's random choices (0: a fixed seed).
	Seed uint64
}

// RunSink runs the conformance checks of a sink connector: options (of
// the first table NewTable returns), then jobs from the suite's
// replaying source into the sink: uninterrupted (every row of the engine's
// Arrow types for the declared schema is written once), failed after a
// checkpoint at a random point and restarted in process, and failed then
// restored from the latest checkpoint at another parallelism; the
// committed rows must equal the rows given (exactly once, or at least
// once with AtLeastOnce).
func RunSink(t testing.TB, h SinkHarness) {
	t.Helper()
	seed := h.Seed
	if seed == 0 {
		seed = 1
	}
	t.Logf("connectortest: connector '%s', seed %d", h.Factory.Name(), seed)
	r := rand.New(rand.NewPCG(seed, 0x5151))
	subtest(t, "options", func(t testing.TB) { CheckOptions(t, h.Factory, h.NewTable(t)) })
	subtest(t, "write", func(t testing.TB) {
		p := 1 + r.IntN(3)
		sinkRestore(t, r, h, p, p, -1)
	})
	subtest(t, "restore-restart", func(t testing.TB) {
		p := 1 + r.IntN(3)
		sinkRestore(t, r, h, p, p, 1+r.IntN(2))
	})
	subtest(t, "restore-rescale", func(t testing.TB) {
		p1 := 1 + r.IntN(3)
		p2 := p1
		if !h.NoRescale {
			p2 = otherParallelism(r, p1)
		}
		sinkRestore(t, r, h, p1, p2, 0)
	})
}

// sinkRestore runs a job replaying source -> the sink under test at
// parallelism p1. faults < 0: no failure; faults > 0: that many failures,
// each followed by an in-process restart; faults == 0: one failure that
// ends the job, then a job restored from the latest checkpoint at p2
// (failing once more and restarting in process).
func sinkRestore(t testing.TB, r *rand.Rand, h SinkHarness, p1, p2, faults int) {
	t.Helper()
	e := newEnv(t, r)
	ctx := context.Background()
	info := h.NewTable(t)
	n := 500 + r.IntN(1500)
	var (
		rec   arrow.RecordBatch
		kinds []stream.RowKind
		keys  []int
		mode  jobgraph.ChangelogMode
	)
	if h.Changelog != "" {
		mode = jobgraph.ChangelogMode(h.Changelog)
		keys = info.PrimaryKey
		if len(keys) == 0 && mode == jobgraph.Retract {
			keys = []int{0}
		}
		if len(keys) == 0 {
			t.Fatalf("harness: an upsert sink's table needs a PrimaryKey")
		}
		info.Changelog = h.Changelog
		us, ok := h.Factory.(connectors.UpdatingSink)
		if !ok {
			t.Fatalf("connector '%s' is not a connectors.UpdatingSink, but the harness writes a %s changelog", h.Factory.Name(), h.Changelog)
		}
		if err := us.AcceptsUpdates(info); err != nil {
			t.Fatalf("connector '%s' refuses a %s changelog: %v", h.Factory.Name(), h.Changelog, err)
		}
		b, err := h.Generator.Changelog(r, info.Schema, keys, h.Changelog, n, memory.NewGoAllocator())
		if err != nil {
			t.Fatal(err)
		}
		rec, kinds = b.Record, b.Kinds
	} else {
		rec = h.Generator.Record(r, info.Schema, n, memory.NewGoAllocator())
	}
	want := Rows(stream.Batch{Record: rec, Kinds: kinds})
	if h.Materialized {
		want = Materialize(want, keys)
	}
	nf := max(faults, 1)
	if faults < 0 {
		nf = 0
	}
	inj := newInjector(e.st, r, nf)
	src := newReplay(inj, info.Schema, rec, r, 40)
	src.kinds = kinds
	rec.Release()
	defer src.release()
	batch := 1 + r.IntN(64)
	job := jobSpec{name: "connectortest-" + h.Factory.Name(), ps: 1 + r.IntN(3), pk: p1,
		source: tableRef(replayName, connectors.TableInfo{Name: "replayed", Schema: info.Schema}),
		sink:   tableRef(h.Factory.Name(), info), reg: registry(t, h.Factory, src), restarts: faults != 0, batch: batch,
		changelog: mode, keys: keys}
	if mode != "" {
		job.ps = 1 // one reader keeps each key's rows in order
	}
	what := fmt.Sprintf("sink at parallelism %d, %d rows", p1, n)
	if mode != "" {
		what += fmt.Sprintf(" of a %s changelog keyed by columns %v", mode, keys)
	}
	res, err := e.run(ctx, job)
	injected, _ := inj.count()
	switch {
	case faults < 0:
		if err != nil {
			t.Fatalf("%s: the job failed: %v", what, err)
		}
	case faults > 0:
		if injected == 0 {
			t.Fatalf("%s: the job ended (err %v) before a fault could be injected after a checkpoint", what, err)
		}
		if err != nil {
			t.Fatalf("%s: the job failed: %v", what, err)
		}
		if res.Restarts != injected {
			t.Errorf("%s: %d faults injected, the job restarted %d times", what, injected, res.Restarts)
		}
		what += fmt.Sprintf(", %d failures and in-process restarts", injected)
	default:
		if err == nil || !errors.Is(err, errInjected) && !strings.Contains(err.Error(), errInjected.Error()) {
			t.Fatalf("%s: the job should have failed with the injected fault, got %v", what, err)
		}
		md, err := e.latest(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		what += fmt.Sprintf(", failed and restored from checkpoint %d at parallelism %d", md.ID, p2)
		src.inj = newInjector(e.st, r, 1)
		job.pk, job.restore, job.restarts = p2, md, true
		if mode == "" {
			job.ps = 1 + r.IntN(3)
		}
		if _, err := e.run(ctx, job); err != nil {
			t.Fatalf("%s: the restored job failed: %v", what, err)
		}
	}
	if h.ReadBack == nil {
		t.Logf("%s: the jobs succeeded (the sink's output cannot be read back)", what)
	} else {
		got := h.ReadBack(t, info)
		atLeast := h.AtLeastOnce && faults >= 0 && !h.Materialized
		check := Diff
		if atLeast {
			check = DiffAtLeastOnce
		}
		if d := check(got, want); d != "" {
			guarantee := "exactly once"
			if atLeast {
				guarantee = "at least once"
			}
			if h.Materialized {
				guarantee = "the table's final contents"
			}
			t.Errorf("%s: the committed rows differ from those written (%s): %s", what, guarantee, d)
		} else {
			t.Logf("%s: the rows read back are those written", what)
		}
	}
	e.checkLeaks(what)
}

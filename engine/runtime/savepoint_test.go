package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// savepointPositions returns, per source subtask, the rows its reader had
// returned at savepoint m (the fake reader's position "subtask:rows").
func savepointPositions(t *testing.T, m *checkpoint.Metadata, op string, p int) []int {
	t.Helper()
	os := m.Operators[op]
	if os == nil || len(os.Subtasks) != p {
		t.Fatalf("savepoint %d: no positions of %s for %d subtasks: %+v", m.ID, op, p, os)
	}
	pos := make([]int, p)
	for i, ss := range os.Subtasks {
		var sub, n int
		if _, err := fmt.Sscanf(string(ss.Position), "%d:%d", &sub, &n); err != nil || sub != i {
			t.Fatalf("savepoint %d: subtask %d position %q", m.ID, i, ss.Position)
		}
		pos[i] = n
	}
	return pos
}

// TestStopWithSavepoint runs the checkpoint test job (sources -> HASH ->
// running count -> two-phase sink) on an unbounded source with periodic
// checkpoints into a directory storage keeping one checkpoint, takes a
// savepoint on demand (marked, kept beyond retention), then stops the job
// with a savepoint: Run returns no error and the savepoint's path, and the
// visible output is exactly the reference over the rows the savepoint's
// source positions cover. The savepoint then restores at parallelism 4
// and 1 (rescale) and runs to the end: the output equals the reference
// over all rows.
func TestStopWithSavepoint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 5))
	c := newCkptJob(t)
	const ps, pc = 2, 2
	rows := genRows(r, 6000, 50, 5, 10)
	shares := byKey(rows, ps)
	var release atomic.Bool
	c.f.addDataset("a", &dataset{shares: shares, maxBatch: 1 + r.IntN(20), nilEvery: 3,
		hold: func(int) bool { return release.Load() },
		hook: func(ctx context.Context, _, _ int) error {
			time.Sleep(200 * time.Microsecond) // long enough to stop it midway
			return nil
		}})
	dir := t.TempDir()
	st, err := checkpoint.OpenDirStorage(dir, checkpoint.DirOptions{Retain: 1})
	if err != nil {
		t.Fatal(err)
	}
	opts := c.options(mem)
	opts.CheckpointStorage = st
	opts.CheckpointInterval = 5 * time.Millisecond
	ctl := NewControl()
	opts.Control = ctl
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(context.Background(), c.graph(pc, map[string]int{"a": ps}), opts)
		done <- outcome{res, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopJob := func() {
		release.Store(true)
		<-done
	}
	waitCheckpoints := func(after int64, n int) {
		for {
			ids, err := st.List(ctx)
			if err != nil {
				stopJob()
				t.Fatal(err)
			}
			// Retention keeps one: wait for the newest to be n past after.
			if len(ids) > 0 && ids[len(ids)-1] >= after+int64(n) {
				return
			}
			if ctx.Err() != nil {
				stopJob()
				t.Fatal("checkpoints did not complete")
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitCheckpoints(0, 1)
	sp1, err := ctl.TriggerSavepoint(ctx)
	if err != nil {
		stopJob()
		t.Fatalf("trigger savepoint: %v", err)
	}
	if !strings.HasPrefix(filepath.Base(sp1), "savepoint-") || filepath.Dir(sp1) != st.Dir() {
		stopJob()
		t.Fatalf("savepoint path %q, want %s/savepoint-<id>", sp1, st.Dir())
	}
	m1, err := st.Load(ctx, sp1)
	if err != nil || !m1.Savepoint {
		stopJob()
		t.Fatalf("savepoint %s: %+v, %v", sp1, m1, err)
	}
	// Two checkpoints later retention (1) has dropped every checkpoint
	// older than the newest, and the savepoint is still there.
	waitCheckpoints(m1.ID, 3)
	sp2, err := ctl.StopWithSavepoint(ctx)
	if err != nil {
		stopJob()
		t.Fatalf("stop with savepoint: %v", err)
	}
	o := <-done
	if o.err != nil {
		t.Fatalf("stopped job returned %v", o.err)
	}
	if o.res.SavepointPath != sp2 || len(o.res.Savepoints) != 2 || o.res.Savepoints[0] != sp1 || o.res.Savepoints[1] != sp2 {
		t.Fatalf("result: savepoint path %q, savepoints %q; want %q after %q", o.res.SavepointPath, o.res.Savepoints, sp2, sp1)
	}
	if _, err := os.Stat(filepath.Join(sp1, checkpoint.MetadataName)); err != nil {
		t.Fatalf("savepoint %s not kept beyond retention: %v", sp1, err)
	}
	ids, err := st.List(ctx)
	if err != nil || len(ids) != 1 || ids[0] <= m1.ID {
		t.Fatalf("checkpoints kept: %v (%v); want the newest only, after savepoint %d", ids, err, m1.ID)
	}
	m2, err := st.Load(ctx, sp2)
	if err != nil || !m2.Savepoint || m2.ID <= ids[0] {
		t.Fatalf("stop savepoint %s: %+v, %v", sp2, m2, err)
	}
	pos := savepointPositions(t, m2, "src-a", ps)
	covered := make([][]row, ps)
	for i := range shares {
		covered[i] = shares[i][:pos[i]]
	}
	t.Logf("stopped with savepoint %d after %v of %d, %d rows", m2.ID, pos, len(shares[0]), len(shares[1]))
	if d := diff(c.sink.rows(), reference(covered...)); d != "" {
		t.Fatalf("visible output after the stop is not exactly the output up to the savepoint: %s", d)
	}
	if _, err := ctl.TriggerSavepoint(ctx); !errors.Is(err, ErrJobEnded) {
		t.Fatalf("savepoint of an ended job: %v, want ErrJobEnded", err)
	}

	// Restore the stop savepoint at another parallelism, to the end.
	release.Store(true)
	for _, p := range []int{4, 1} {
		m, _, err := checkpoint.FindRestore(ctx, st, sp2)
		if err != nil {
			t.Fatal(err)
		}
		ropts := c.options(mem)
		ropts.CheckpointStorage = st
		ropts.CheckpointInterval = 5 * time.Millisecond
		ropts.Restore = m
		res, err := Run(ctx, c.graph(p, map[string]int{"a": ps}), ropts)
		if err != nil {
			t.Fatalf("restore at parallelism %d: %v", p, err)
		}
		if res.SavepointPath != "" {
			t.Fatalf("restore at parallelism %d: savepoint path %q without a stop", p, res.SavepointPath)
		}
		if d := diff(c.sink.rows(), reference(shares...)); d != "" {
			t.Fatalf("visible output after restoring the savepoint at parallelism %d differs from the reference: %s", p, d)
		}
	}
}

// TestSavepointErrors: a Control serves one run, a job without checkpoint
// storage refuses savepoints (and runs on), and a request made after the
// job ended fails.
func TestSavepointErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 3))
	c := newCkptJob(t)
	shares := byKey(genRows(r, 500, 10, 5, 10), 2)
	var release atomic.Bool
	c.f.addDataset("a", &dataset{shares: shares, maxBatch: 10, hold: func(int) bool { return release.Load() }})
	opts := c.options(mem)
	opts.CheckpointStorage, opts.CheckpointInterval = nil, 0
	ctl := NewControl()
	opts.Control = ctl
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), c.graph(2, map[string]int{"a": 2}), opts)
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := ctl.StopWithSavepoint(ctx)
	if err == nil || !strings.Contains(err.Error(), "no checkpoint storage") {
		t.Errorf("stop without storage: %v", err)
	}
	release.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := diff(c.sink.rows(), reference(shares...)); d != "" {
		t.Fatalf("output: %s", d)
	}
	if _, err := ctl.TriggerSavepoint(ctx); !errors.Is(err, ErrJobEnded) {
		t.Errorf("savepoint after the end: %v, want ErrJobEnded", err)
	}
	if _, err := Run(ctx, c.graph(2, map[string]int{"a": 2}), opts); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("second run with one Control: %v", err)
	}
}

package runtime

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// TestControlStatus polls Control.Status while the checkpoint test job
// runs (its sources held until released, a failure injected once): the
// live counters never go down, the last checkpoint names a committed
// checkpoint, the failure and restart show, and once Run returned the
// status equals the Result, with every vertex at the final watermark.
func TestControlStatus(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 9))
	c := newCkptJob(t)
	const ps, pc = 2, 3
	rows := genRows(r, 3000, 40, 5, 10)
	var release, failed atomic.Bool
	c.f.addDataset("a", &dataset{shares: byKey(rows, ps), maxBatch: 1 + r.IntN(30), nilEvery: 4,
		hold: func(int) bool { return release.Load() },
		hook: func(ctx context.Context, sub, n int) error {
			time.Sleep(100 * time.Microsecond)
			if sub == 0 && n > 50 && failed.CompareAndSwap(false, true) {
				return errors.New("injected failure")
			}
			return nil
		}})
	dir := t.TempDir()
	st, err := checkpoint.OpenDirStorage(dir, checkpoint.DirOptions{Retain: 3})
	if err != nil {
		t.Fatal(err)
	}
	opts := c.options(mem)
	opts.CheckpointStorage = st
	opts.CheckpointInterval = 5 * time.Millisecond
	opts.RestartStrategy = RestartStrategy{MaxAttempts: 2, InitialDelay: time.Millisecond}
	ctl := NewControl()
	if s := ctl.Status(); s.Started || len(s.Vertices) != 0 {
		t.Fatalf("status before Run: %+v", s)
	}
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
	deadline := time.Now().Add(30 * time.Second)
	prev := map[string][2]int64{}
	var sawCkpt bool
	for {
		s := ctl.Status()
		if s.Started {
			for _, v := range s.Vertices {
				p := prev[v.ID]
				if v.RecordsIn < p[0] || v.RecordsOut < p[1] {
					release.Store(true)
					t.Fatalf("vertex %s went down: in %d out %d after %v", v.ID, v.RecordsIn, v.RecordsOut, p)
				}
				prev[v.ID] = [2]int64{v.RecordsIn, v.RecordsOut}
				if v.Backpressure < 0 || v.Backpressure > 1 || v.Parallelism < 1 || v.Name == "" {
					release.Store(true)
					t.Fatalf("vertex status %+v", v)
				}
			}
			if lc := s.LastCheckpoint; lc != nil && s.Restarts == 1 && len(s.Failures) == 1 {
				if _, err := os.Stat(lc.Path); err != nil && lc.ID > 0 {
					// retention may have dropped it already: it must have existed
					if filepath.Dir(lc.Path) != dir {
						release.Store(true)
						t.Fatalf("last checkpoint path %q not under %s", lc.Path, dir)
					}
				}
				sawCkpt = true
			}
		}
		if sawCkpt && s.Checkpoints >= 3 {
			break
		}
		if time.Now().After(deadline) {
			release.Store(true)
			t.Fatalf("no restart and checkpoints seen: %+v", s)
		}
		time.Sleep(2 * time.Millisecond)
	}
	release.Store(true)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	s := ctl.Status()
	if !s.Ended || s.Restarting || s.Restarts != o.res.Restarts || s.Restarts != 1 || len(s.Failures) != 1 {
		t.Fatalf("final status: %+v (result restarts %d)", s, o.res.Restarts)
	}
	if len(s.Vertices) != len(o.res.Vertices) {
		t.Fatalf("%d vertices, result has %d", len(s.Vertices), len(o.res.Vertices))
	}
	for i, v := range s.Vertices {
		w := o.res.Vertices[i]
		if v.ID != w.ID || v.RecordsIn != w.RecordsIn || v.RecordsOut != w.RecordsOut || v.Parallelism != w.Parallelism {
			t.Errorf("vertex %d: status %+v, result %+v", i, v, w)
		}
		if v.Watermark != stream.MaxWatermark {
			t.Errorf("vertex %s: watermark %d at the end, want the final one", v.ID, v.Watermark)
		}
	}
	if s.Checkpoints != o.res.Checkpoints || s.LastCheckpoint == nil || s.LastCheckpoint.ID != o.res.LastCheckpointID {
		t.Errorf("checkpoints: status %d %+v, result %d last %d", s.Checkpoints, s.LastCheckpoint, o.res.Checkpoints, o.res.LastCheckpointID)
	}
}

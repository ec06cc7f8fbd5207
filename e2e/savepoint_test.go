package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

var stoppedRE = regexp.MustCompile(`stopped with savepoint (\S+)`)

// TestSavepointStopAndRescale runs a real `jobmanager run` process at
// parallelism 2 (the flagship Top-N into csv files, and an updating GROUP
// BY into changelog-json files) on a throttled datagen, sends it SIGTERM
// after its first checkpoint: it stops with a savepoint and exits 0,
// printing the savepoint's path. The savepoint is then restored at
// parallelism 4 and at 1 (each into a copy of the output as the stop left
// it, and a checkpoint directory of its own) and runs to completion: the
// visible output equals the reference.
func TestSavepointStopAndRescale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs jobmanager processes")
	}
	const rows, rps = 40_000, 20_000
	for i, c := range []ckptCase{flagshipCase(), groupAggCase()} {
		t.Run(c.name, func(t *testing.T) {
			seed := 90 + i
			tables := c.tables(rows, rps, seed)
			want := c.want(t, tables)
			dir := t.TempDir()
			tmp := filepath.Join(dir, "tmp")
			if err := os.MkdirAll(tmp, 0o755); err != nil {
				t.Fatal(err)
			}
			ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
			job := filepath.Join(dir, "job.sql")
			if err := os.WriteFile(job, []byte(c.script(tables, out)), 0o644); err != nil {
				t.Fatal(err)
			}
			newest := newestCheckpoint(ck)
			p := startJobmanager(t, tmp, "run", "--parallelism", "2", "--checkpoint-dir", ck, "--checkpoint-interval", "300ms", job)
			deadline := time.Now().Add(time.Minute)
			for newest() < 1 && !p.exited() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if p.exited() {
				t.Fatalf("the job ended before its first checkpoint: %v\n%s", p.err, tail(p.stderr.String(), 30))
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				p.kill()
				t.Fatal(err)
			}
			select {
			case <-p.done:
			case <-time.After(time.Minute):
				p.kill()
				t.Fatalf("no exit within a minute of SIGTERM:\n%s", tail(p.stderr.String(), 30))
			}
			stderr := p.stderr.String()
			if p.err != nil {
				t.Fatalf("stop with a savepoint: %v\n%s", p.err, tail(stderr, 30))
			}
			mm := stoppedRE.FindStringSubmatch(stderr)
			if mm == nil {
				t.Fatalf("the stopped job printed no savepoint path:\n%s", tail(stderr, 30))
			}
			sp := mm[1]
			if filepath.Dir(sp) != ck || !strings.HasPrefix(filepath.Base(sp), "savepoint-") {
				t.Fatalf("savepoint %s is not a savepoint-<id> directory of %s", sp, ck)
			}
			if _, err := os.Stat(filepath.Join(sp, checkpoint.MetadataName)); err != nil {
				t.Fatalf("savepoint: %v", err)
			}
			stopped := c.output(t, out)
			t.Logf("stopped with %s after checkpoint %d; %d of %d rows visible", filepath.Base(sp), newest(), len(stopped), len(want))

			for _, to := range []string{"4", "1"} {
				rdir := filepath.Join(dir, "p"+to)
				rout, rck := filepath.Join(rdir, "out"), filepath.Join(rdir, "ck")
				if err := copyTree(out, rout); err != nil {
					t.Fatal(err)
				}
				rjob := filepath.Join(rdir, "job.sql")
				if err := os.WriteFile(rjob, []byte(c.script(tables, rout)), 0o644); err != nil {
					t.Fatal(err)
				}
				_, rerr, code := runJobmanager(t, "run", "--parallelism", to, "--checkpoint-dir", rck,
					"--checkpoint-interval", "300ms", "--from-checkpoint", sp, rjob)
				if code != 0 {
					t.Fatalf("restore at p%s: exit %d\n%s", to, code, tail(rerr, 30))
				}
				if !strings.Contains(rerr, "resuming from checkpoint") {
					t.Errorf("restore at p%s did not log that it resumed:\n%s", to, tail(rerr, 20))
				}
				assertSameRows(t, c.output(t, rout), want)
				checkNoHidden(t, rout)
			}
		})
	}
}

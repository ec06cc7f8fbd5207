package e2e

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jmProcess is a running jobmanager.
type jmProcess struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
	err    error
}

// startJobmanager starts the binary with args; its temporary files (the
// Pebble working directories) go under tmp, which the test removes even
// when the process is killed.
func startJobmanager(t *testing.T, tmp string, args ...string) *jmProcess {
	t.Helper()
	cmd := exec.Command(jobmanagerBin(t), args...)
	p := &jmProcess{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, p.stderr
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jobmanager: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p
}

// exited reports whether the process has ended.
func (p *jmProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to end.
func (p *jmProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestSIGKILLedJobmanagerResumesExactlyOnce runs real jobmanager processes
// with 300 ms checkpoints and kills them with SIGKILL at random moments
// after a new checkpoint has completed, resuming each time with
// --from-checkpoint on the same directory, then lets the last run finish.
// The visible output must equal an uninterrupted run's and the reference.
func TestSIGKILLedJobmanagerResumesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs jobmanager processes")
	}
	kills := 3
	if longCheckpointTests() {
		kills = 8
	}
	const rows, rps = 60_000, 20_000
	for i, c := range []ckptCase{flagshipCase(), groupAggCase()} {
		t.Run(c.name, func(t *testing.T) {
			seed := 70 + i
			r := rand.New(rand.NewPCG(uint64(seed), 3))
			tables := c.tables(rows, rps, seed)
			want := c.want(t, tables)
			dir := t.TempDir()
			tmp := filepath.Join(dir, "tmp")
			if err := os.MkdirAll(tmp, 0o755); err != nil {
				t.Fatal(err)
			}

			// The uninterrupted run.
			plainOut := filepath.Join(dir, "plain")
			plainJob := filepath.Join(dir, "plain.sql")
			if err := os.WriteFile(plainJob, []byte(c.script(tables, plainOut)), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startJobmanager(t, tmp, "run", "--parallelism", "2", "--checkpoint-dir", filepath.Join(dir, "plain-ck"),
				"--checkpoint-interval", "300ms", plainJob)
			<-p.done
			if p.err != nil {
				t.Fatalf("uninterrupted run: %v\n%s", p.err, tail(p.stderr.String(), 30))
			}
			plain := c.output(t, plainOut)
			assertSameRows(t, plain, want)

			// Killed and resumed.
			ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
			job := filepath.Join(dir, "job.sql")
			if err := os.WriteFile(job, []byte(c.script(tables, out)), 0o644); err != nil {
				t.Fatal(err)
			}
			newest := newestCheckpoint(ck)
			killed := 0
			var lastStderr string
			for run := 0; ; run++ {
				args := []string{"run", "--parallelism", "2", "--checkpoint-dir", ck, "--checkpoint-interval", "300ms"}
				if run > 0 {
					args = append(args, "--from-checkpoint", ck)
				}
				start := newest()
				p := startJobmanager(t, tmp, append(args, job)...)
				if killed < kills {
					// Wait for a checkpoint of this run, then a random
					// moment more, and kill.
					deadline := time.Now().Add(time.Minute)
					for newest() <= start && !p.exited() && time.Now().Before(deadline) {
						time.Sleep(5 * time.Millisecond)
					}
					time.Sleep(time.Duration(r.IntN(400)) * time.Millisecond)
					if !p.exited() {
						p.kill()
						killed++
						t.Logf("run %d: killed after checkpoint %d", run, newest())
						continue
					}
				}
				<-p.done
				lastStderr = p.stderr.String()
				if p.err != nil {
					t.Fatalf("run %d (after %d kills): %v\n%s", run, killed, p.err, tail(lastStderr, 30))
				}
				break
			}
			if killed == 0 {
				t.Fatal("no run was killed: the test proves nothing")
			}
			if !strings.Contains(lastStderr, "resuming from checkpoint") {
				t.Errorf("the last run did not log that it resumed from a checkpoint:\n%s", tail(lastStderr, 20))
			}
			t.Logf("%d kills; last run: %s", killed, lastLine(lastStderr))
			got := c.output(t, out)
			if only1, only2 := diffMultisets(got, plain); len(only1)+len(only2) > 0 {
				t.Errorf("output differs from the uninterrupted run's: %d rows only in the resumed output, %d only in the uninterrupted (e.g. %v / %v)",
					len(only1), len(only2), first(only1, 3), first(only2, 3))
			}
			assertSameRows(t, got, want)
			checkNoHidden(t, out)
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// TestCLIFromCheckpointWithoutCheckpoints checks that --from-checkpoint
// on a directory with no complete checkpoint starts from the beginning,
// says so, and produces the whole output once.
func TestCLIFromCheckpointWithoutCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a jobmanager process")
	}
	c := flagshipCase()
	tables := c.tables(20_000, 0, 81)
	want := c.want(t, tables)
	dir := t.TempDir()
	ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "out")
	job := filepath.Join(dir, "job.sql")
	if err := os.WriteFile(job, []byte(c.script(tables, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runJobmanager(t, "run", "--parallelism", "2", "--checkpoint-dir", ck, "--from-checkpoint", ck, job)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "no complete checkpoint under") {
		t.Errorf("no log line says the job starts from the beginning:\n%s", stderr)
	}
	assertSameRows(t, c.output(t, out), want)
	checkNoHidden(t, out)
}

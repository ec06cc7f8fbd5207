package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// syncBuffer is a bytes.Buffer safe for the job's and the signal
// handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// throttledJob writes a job over a throttled datagen (about two seconds of
// input) into a csv directory, with extra SET statements first.
func throttledJob(t *testing.T, dir, out, set string) string {
	t.Helper()
	path := filepath.Join(dir, filepath.Base(out)+".sql")
	text := set + strings.Replace(giftsDDL, "'number-of-rows' = '200'", "'number-of-rows' = '6000', 'rows-per-second' = '3000'", 1) + `
CREATE TABLE out (room_id BIGINT, window_end TIMESTAMP(3), n BIGINT, total BIGINT)
WITH ('connector' = 'filesystem', 'path' = '` + out + `', 'format' = 'csv');
INSERT INTO out
SELECT room_id, window_end, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' SECOND))
GROUP BY room_id, window_start, window_end;
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var savepointRE = regexp.MustCompile(`jobmanager: savepoint (\S+)`)

// TestSIGUSR1TakesSavepoint runs a checkpointed job (savepoints only, no
// interval) and sends it SIGUSR1 until it prints a savepoint's path: the
// savepoint is complete in storage, and the job runs on to the same output
// as an uninterrupted run.
func TestSIGUSR1TakesSavepoint(t *testing.T) {
	dir := t.TempDir()
	ref, out, ck := filepath.Join(dir, "ref"), filepath.Join(dir, "out"), filepath.Join(dir, "ck")
	if code, _, errOut := runCLI(t, "run", "--parallelism", "2", throttledJob(t, dir, ref, "")); code != 0 {
		t.Fatalf("reference run: exit %d:\n%s", code, errOut)
	}
	sigs := make(chan os.Signal, 4)
	var stdout, stderr syncBuffer
	codec := make(chan int, 1)
	go func() {
		codec <- runSignals(context.Background(), []string{"run", "--parallelism", "2", "--checkpoint-dir", ck, throttledJob(t, dir, out, "")}, &stdout, &stderr, sigs)
	}()
	var path string
	deadline := time.Now().Add(20 * time.Second)
	for path == "" && time.Now().Before(deadline) {
		sigs <- syscall.SIGUSR1
		time.Sleep(200 * time.Millisecond)
		if m := savepointRE.FindStringSubmatch(stderr.String()); m != nil {
			path = m[1]
		}
	}
	var code int
	select {
	case code = <-codec:
	case <-time.After(time.Minute):
		t.Fatalf("the job did not end:\n%s", stderr.String())
	}
	if path == "" {
		t.Fatalf("no savepoint printed after SIGUSR1 (exit %d):\n%s", code, stderr.String())
	}
	if code != 0 {
		t.Fatalf("exit %d after a savepoint:\n%s", code, stderr.String())
	}
	if filepath.Dir(path) != ck || !strings.HasPrefix(filepath.Base(path), "savepoint-") {
		t.Fatalf("savepoint %s is not a savepoint-<id> directory of %s", path, ck)
	}
	st, err := checkpoint.NewDirStorage(ck, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Load(context.Background(), filepath.Base(path))
	if err != nil {
		t.Fatalf("loading the savepoint: %v", err)
	}
	if !m.Savepoint {
		t.Fatalf("checkpoint %d is not marked as a savepoint", m.ID)
	}
	if got, want := outputRows(t, out), outputRows(t, ref); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the job wrote %d rows after its savepoint, the reference %d", len(got), len(want))
	}
}

// TestFailedStopSavepointCancels: when the stop's savepoint cannot
// complete (its checkpoint times out at once), SIGTERM cancels the job
// instead, which says so and exits non-zero rather than hanging.
func TestFailedStopSavepointCancels(t *testing.T) {
	dir := t.TempDir()
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "ck")
	job := throttledJob(t, dir, out, "SET 'execution.checkpointing.timeout' = '1ms';\n")
	sigs := make(chan os.Signal, 4)
	var stdout, stderr syncBuffer
	codec := make(chan int, 1)
	go func() {
		codec <- runSignals(context.Background(), []string{"run", "--parallelism", "2", "--checkpoint-dir", ck, job}, &stdout, &stderr, sigs)
	}()
	time.Sleep(500 * time.Millisecond)
	sigs <- syscall.SIGTERM
	var code int
	select {
	case code = <-codec:
	case <-time.After(time.Minute):
		t.Fatalf("the job did not end after a failed stop:\n%s", stderr.String())
	}
	errOut := stderr.String()
	if code == 0 {
		t.Fatalf("exit 0 although the stop's savepoint failed:\n%s", errOut)
	}
	if !strings.Contains(errOut, "stop with a savepoint failed; cancelling the job") {
		t.Fatalf("the failed stop was not reported:\n%s", errOut)
	}
	if savepointRE.MatchString(errOut) || strings.Contains(errOut, "stopped with savepoint") {
		t.Fatalf("a savepoint was reported although it failed:\n%s", errOut)
	}
}

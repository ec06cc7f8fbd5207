package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const giftsDDL = `CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'number-of-rows' = '200', 'rooms' = '3');
`

// script writes a SQL script into a temporary file and returns its path.
func script(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.sql")
	if err := os.WriteFile(path, []byte(giftsDDL+text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestExplainOnlyScriptRunsNothing: a script of EXPLAIN statements prints
// each plan, runs no job and exits 0.
func TestExplainOnlyScriptRunsNothing(t *testing.T) {
	path := script(t, `
EXPLAIN SELECT room_id FROM gifts WHERE amount > 100;
EXPLAIN CHANGELOG_MODE SELECT room_id, window_end, COUNT(*) AS n
FROM TABLE(HOP(TABLE gifts, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '30' SECOND))
GROUP BY room_id, window_start, window_end;
`)
	code, out, errOut := runCLI(t, "run", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if n := strings.Count(out, "== Physical DAG"); n != 2 {
		t.Errorf("%d plans printed, want 2:\n%s", n, out)
	}
	for _, want := range []string{"filter: amount > 100", "HOP(ts, INTERVAL '10' SECOND, INTERVAL '30' SECOND)", "changelog mode: [I]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "+I[") || strings.Contains(errOut, "job finished") {
		t.Errorf("an EXPLAIN-only script ran a job:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

// TestExplainThenRun: EXPLAIN statements print first, then the rest of the
// script runs as the job.
func TestExplainThenRun(t *testing.T) {
	path := script(t, `
EXPLAIN SELECT room_id FROM gifts WHERE amount > 100;
SELECT room_id, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY room_id, window_start, window_end;
`)
	code, out, errOut := runCLI(t, "run", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	// The print sink writes the job's rows to the process's stdout; the
	// job's log line on stderr says it ran.
	if n := strings.Count(out, "== Physical DAG"); n != 1 || !strings.Contains(out, "filter: amount > 100") {
		t.Errorf("want the EXPLAIN statement's plan only:\n%s", out)
	}
	if !strings.Contains(errOut, "job finished") || !strings.Contains(errOut, "records_in=200") {
		t.Errorf("the job did not run:\n%s", errOut)
	}

	// explain prints the EXPLAIN statement's plan, then the job's.
	code, out, errOut = runCLI(t, "explain", path)
	if code != 0 {
		t.Fatalf("explain: exit %d, stderr:\n%s", code, errOut)
	}
	if n := strings.Count(out, "== Physical DAG"); n != 2 {
		t.Errorf("explain printed %d plans, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "WindowAggregate") || strings.Contains(out, "+I[") {
		t.Errorf("explain output:\n%s", out)
	}
}

// TestExplainOfBadStatementIsPositioned: a statement under EXPLAIN that
// cannot be planned fails the script with a positioned error.
func TestExplainOfBadStatementIsPositioned(t *testing.T) {
	path := script(t, "EXPLAIN SELECT a.room_id FROM gifts a, gifts b;\n")
	code, out, errOut := runCLI(t, "run", path)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "job.sql:5:") || !strings.Contains(errOut, "cross join") {
		t.Errorf("stderr: %s", errOut)
	}
}

// outputRows reads the visible rows of a filesystem sink's directory
// (files whose names start with neither '.' nor '_'), sorted.
func outputRows(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				rows = append(rows, l)
			}
		}
	}
	sort.Strings(rows)
	return rows
}

// TestCheckpointFlags runs a windowed aggregation into a filesystem sink
// with checkpoints, then resumes it from its last checkpoint (the output
// after that checkpoint is removed and produced again): both runs' visible
// output must equal that of a run without checkpoints.
func TestCheckpointFlags(t *testing.T) {
	dir := t.TempDir()
	job := func(out string) string {
		path := filepath.Join(dir, filepath.Base(out)+".sql")
		text := strings.Replace(giftsDDL, "'number-of-rows' = '200'", "'number-of-rows' = '6000', 'rows-per-second' = '8000'", 1) + `
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
	ref, out, ckdir := filepath.Join(dir, "ref"), filepath.Join(dir, "out"), filepath.Join(dir, "ck")
	if code, _, errOut := runCLI(t, "run", "--parallelism", "2", job(ref)); code != 0 {
		t.Fatalf("reference run: exit %d:\n%s", code, errOut)
	}
	want := outputRows(t, ref)
	if len(want) == 0 {
		t.Fatal("the reference run wrote nothing")
	}
	path := job(out)
	code, _, errOut := runCLI(t, "run", "--parallelism", "2", "--checkpoint-dir", ckdir, "--checkpoint-interval", "50ms", "--from-checkpoint", ckdir, path)
	if code != 0 {
		t.Fatalf("checkpointed run: exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "no complete checkpoint under "+ckdir+"; starting from the beginning") {
		t.Errorf("the first run did not say it starts from the beginning:\n%s", errOut)
	}
	if !strings.Contains(errOut, "checkpoint completed") {
		t.Fatalf("no checkpoint completed:\n%s", errOut)
	}
	if got := outputRows(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("checkpointed run wrote %d rows, the reference %d", len(got), len(want))
	}
	code, _, errOut = runCLI(t, "run", "--parallelism", "2", "--checkpoint-dir", ckdir, "--from-checkpoint", ckdir, path)
	if code != 0 {
		t.Fatalf("resumed run: exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "resuming from checkpoint") {
		t.Errorf("the second run did not resume:\n%s", errOut)
	}
	if got := outputRows(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after resuming, the output has %d rows, the reference %d", len(got), len(want))
	}

	// Flag errors.
	for _, args := range [][]string{
		{"run", "--from-checkpoint", ckdir, path},
		{"run", "--checkpoint-interval", "1s", path},
		{"run", "--checkpoint-dir", ckdir, "--checkpoint-interval", "-1s", path},
		{"run", "--checkpoint-dir", ckdir, "--allow-non-restored-state", path},
	} {
		if code, _, errOut := runCLI(t, args...); code != 2 || !strings.Contains(errOut, "--") {
			t.Errorf("%v: exit %d, stderr %s", args, code, errOut)
		}
	}
}

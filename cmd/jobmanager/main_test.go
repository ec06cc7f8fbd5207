package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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

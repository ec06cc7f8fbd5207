package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// jobmanagerBin builds cmd/jobmanager once per test binary and returns its path.
func jobmanagerBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eddy-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "jobmanager")
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/jobmanager") // the tests run in e2e/
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runJobmanager runs the binary and returns stdout, stderr and the exit code.
func runJobmanager(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(jobmanagerBin(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run jobmanager: %v", err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

func formatTs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
}

// TestMillionRowCSVThroughFlagshipIntoJSON runs the flagship SQL as a real
// jobmanager process over a 1,000,000-row CSV file into a JSON sink and
// checks the sink's files against the reference.
func TestMillionRowCSVThroughFlagshipIntoJSON(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	gs := genGifts(r, 1_000_000, 200, 50, 5000)
	in := filepath.Join(dir, "gifts.csv")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, g := range gs {
		qty := fmt.Sprint(g.Qty)
		if g.QtyNull {
			qty = ""
		}
		fmt.Fprintf(w, "%d,%d,%d,%s,%d,%s\n", g.Room, g.User, g.Gift, qty, g.Amount, formatTs(g.Ts))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out")
	script := fmt.Sprintf(`
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');

CREATE TABLE top_gifts (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), room_id BIGINT, gift_id INT,
  total_amount BIGINT, rn BIGINT
) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');

INSERT INTO top_gifts
SELECT window_start, window_end, room_id, gift_id, total_amount, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                               ORDER BY total_amount DESC, gift_id) AS rn
  FROM (
    SELECT window_start, window_end, room_id, gift_id, SUM(amount) AS total_amount
    FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, room_id, gift_id))
WHERE rn <= 3;
`, in, out)
	job := filepath.Join(dir, "job.sql")
	if err := os.WriteFile(job, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runJobmanager(t, "run", "--parallelism", "2", job)
	if code != 0 {
		t.Fatalf("jobmanager run exited %d:\n%s", code, stderr)
	}
	var got []string
	parts, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if strings.HasPrefix(p.Name(), ".") || strings.HasPrefix(p.Name(), "_") {
			t.Errorf("hidden in-progress file left behind: %s", p.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, p.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line == "" {
				continue
			}
			var row struct {
				WindowStart string `json:"window_start"`
				WindowEnd   string `json:"window_end"`
				RoomID      int64  `json:"room_id"`
				GiftID      int32  `json:"gift_id"`
				Total       int64  `json:"total_amount"`
				Rn          int64  `json:"rn"`
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("%s: bad JSON line %q: %v", p.Name(), line, err)
			}
			ws, err1 := time.Parse("2006-01-02 15:04:05.000", row.WindowStart)
			we, err2 := time.Parse("2006-01-02 15:04:05.000", row.WindowEnd)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad timestamps in %q", p.Name(), line)
			}
			got = append(got, fmt.Sprintf("+I|%d|%d|%d|%d|%d|%d", ws.UnixMilli(), we.UnixMilli(), row.RoomID, row.GiftID, row.Total, row.Rn))
		}
	}
	want := refTopGifts(gs, 60_000, 3)
	t.Logf("%d result rows", len(want))
	assertSameRows(t, got, want)
}

// TestSQLErrorsPointAtTheUsersText checks the CLI's error contract:
// FILE:LINE:COL: message and a non-zero exit.
func TestSQLErrorsPointAtTheUsersText(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "bad.sql")
	script := "CREATE TABLE t (a BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'blackhole');\n" +
		"INSERT INTO t\nSELECT a, ts FROM nosuch;\n"
	if err := os.WriteFile(job, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runJobmanager(t, "run", job)
	if code == 0 {
		t.Fatal("jobmanager run exited 0 on an unknown table")
	}
	want := job + ":3:19: "
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "nosuch") {
		t.Fatalf("stderr = %q, want an error at %q naming nosuch", stderr, want)
	}
}

// TestExampleRunsAndExplains runs the README's main command on the flagship
// example and checks that it prints ranked rows and that EXPLAIN shows the DAG.
func TestExampleRunsAndExplains(t *testing.T) {
	example := filepath.Join("..", "examples", "live-room", "top_gifts.sql")
	stdout, stderr, code := runJobmanager(t, "run", example)
	if code != 0 {
		t.Fatalf("run exited %d:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 20 {
		t.Fatalf("expected many result rows, got %d:\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "+I[") {
			t.Fatalf("unexpected output line %q", l)
		}
	}
	stdout, stderr, code = runJobmanager(t, "explain", "--parallelism", "4", example)
	if code != 0 {
		t.Fatalf("explain exited %d:\n%s", code, stderr)
	}
	for _, want := range []string{"HASH", "room_id", "4"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, stdout)
		}
	}
}

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procCPU is the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat.
func procCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticks
}

// flagshipBenchSQL is the flagship Top-N over n datagen gifts (1,000 rooms,
// unthrottled) into a blackhole sink.
func flagshipBenchSQL(n int) string {
	return fmt.Sprintf(`
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'rooms' = '1000', 'users' = '100000',
        'skew' = '1.1', 'number-of-rows' = '%d', 'max-out-of-orderness' = '5 s', 'seed' = '7');
CREATE TABLE top_gifts (window_start TIMESTAMP(3), window_end TIMESTAMP(3), room_id BIGINT, gift_id INT,
  total_amount BIGINT, rn BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO top_gifts
SELECT window_start, window_end, room_id, gift_id, total_amount, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                               ORDER BY total_amount DESC, gift_id ASC) AS rn
  FROM (
    SELECT window_start, window_end, room_id, gift_id, SUM(amount) AS total_amount
    FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, room_id, gift_id))
WHERE rn <= 3;
`, n)
}

// BenchmarkClusterFlagship runs the flagship Top-N at parallelism 2 on two
// task manager processes (one slot each, so its hash exchanges cross the
// network exchange) under a job manager process, and the same job in one
// `jobmanager run` process, and reports events per CPU-second of all the
// processes involved (EDDY_BENCH_EVENTS events, default 10 M; no
// checkpoints).
func BenchmarkClusterFlagship(b *testing.B) {
	events := benchEnvInt("EDDY_BENCH_EVENTS", 10_000_000)
	sql := flagshipBenchSQL(events)
	b.Run("one_process", func(b *testing.B) {
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			job := filepath.Join(dir, "job.sql")
			if err := os.WriteFile(job, []byte(sql), 0o644); err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(jobmanagerBin(b), "run", "--parallelism", "2", job)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("run: %v\n%s", err, tail(string(out), 20))
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		b.ReportMetric(float64(events*b.N)/cpu.Seconds(), "events/cpu-s")
	})
	b.Run("two_taskmanagers", func(b *testing.B) {
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			c := startCluster(b, b.TempDir(), 1, 1)
			pids := []int{c.jm.Process.Pid}
			for _, tm := range c.tms {
				pids = append(pids, tm.Process.Pid)
			}
			var before time.Duration
			for _, pid := range pids {
				before += procCPU(b, pid)
			}
			id := c.submit(map[string]any{"sql": sql, "parallelism": 2})
			for {
				j := c.job(id)
				if j.State == "FINISHED" {
					break
				}
				if j.State == "FAILED" || j.State == "CANCELED" {
					b.Fatalf("job %s: %+v\n%s", j.State, j, c.logs())
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, pid := range pids {
				cpu += procCPU(b, pid)
			}
			cpu -= before
			c.stop()
		}
		b.ReportMetric(float64(events*b.N)/cpu.Seconds(), "events/cpu-s")
	})
}

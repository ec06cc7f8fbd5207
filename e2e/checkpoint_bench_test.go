package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// benchEnvInt reads a positive integer from the environment, or def.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkCheckpointOverhead runs the flagship job (datagen gifts, 1,000
// rooms, 1-minute Top-3 into blackhole) at parallelism 2 with Pebble state,
// without checkpoints and with checkpoints every 10 s and every 1 s, and
// reports events per CPU-second. EDDY_BENCH_EVENTS sets the events per run
// (default 20 M). A 10-second interval only fires on runs longer than 10 s
// of wall time; the 1-second interval is the proxy for "several
// checkpoints" on shorter runs (the report says how many were taken).
func BenchmarkCheckpointOverhead(b *testing.B) {
	events := benchEnvInt("EDDY_BENCH_EVENTS", 20_000_000)
	script := fmt.Sprintf(`
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'rooms' = '1000', 'users' = '100000',
        'skew' = '1.1', 'number-of-rows' = '%d', 'max-out-of-orderness' = '5 s', 'seed' = '7');
`, events) + `
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
`
	for _, iv := range []time.Duration{0, 10 * time.Second, time.Second} {
		name := "no_checkpoints"
		if iv > 0 {
			name = "interval_" + iv.String()
		}
		b.Run(name, func(b *testing.B) {
			var ckpts, wall, lastDur, lastSize float64
			cpu := time.Duration(0)
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				c0, w0 := cpuTime(), time.Now()
				res, _, err := ckptRun{script: script, parallelism: 2, ckDir: filepath.Join(dir, "ck"), interval: iv,
					alloc: memory.NewGoAllocator(), stateDir: filepath.Join(dir, "state"), defaultPebble: true}.run(b)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
				wall += time.Since(w0).Seconds()
				ckpts += float64(res.Checkpoints)
				lastDur += res.LastCheckpointDuration.Seconds() * 1000
				lastSize += float64(res.LastCheckpointSize)
			}
			n := float64(b.N)
			b.ReportMetric(float64(events)*n/cpu.Seconds(), "events/cpu-s")
			b.ReportMetric(wall/n, "wall-s/run")
			b.ReportMetric(ckpts/n, "checkpoints/run")
			b.ReportMetric(lastDur/n, "last-ckpt-ms")
			b.ReportMetric(lastSize/n, "last-ckpt-bytes")
		})
	}
}

// BenchmarkCheckpointSizeAndRecovery loads a GROUP BY over N distinct keys
// (unbounded datagen, user_id uniform over N users: after 4 N rows about
// 98% of the keys exist) into Pebble-backed state at parallelism 2 with
// 1-second checkpoints, then measures the first checkpoint triggered after
// that: its duration (trigger to committed metadata), the bytes it
// references, and the bytes it added to storage (incremental). Then it
// restores that checkpoint into a new job and measures recovery: the time
// from the start of Run to the first output row. EDDY_BENCH_KEYS lists N
// (default 1 M and 10 M).
func BenchmarkCheckpointSizeAndRecovery(b *testing.B) {
	keys := []int{1_000_000, 10_000_000}
	if v := benchEnvInt("EDDY_BENCH_KEYS", 0); v > 0 {
		keys = []int{v}
	}
	for _, n := range keys {
		b.Run(fmt.Sprintf("keys_%dM", n/1_000_000), func(b *testing.B) {
			script := fmt.Sprintf(`
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'users' = '%d', 'seed' = '3');
CREATE TABLE totals (user_id BIGINT, n BIGINT, total BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO totals SELECT user_id, COUNT(*), SUM(amount) FROM gifts GROUP BY user_id;
`, n)
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				ck := filepath.Join(dir, "ck")
				f := newFaults(1, 0, 1, 1, func() int64 { return 0 })
				newest := newestCheckpoint(ck)
				ctx, cancel := context.WithCancel(context.Background())
				var measured int64
				go func() {
					defer cancel()
					for ctx.Err() == nil && f.rows.Load() < int64(4*n) {
						time.Sleep(10 * time.Millisecond)
					}
					after := newest() + 1 // may be under way: the one after it starts later
					for ctx.Err() == nil && newest() <= after {
						time.Sleep(5 * time.Millisecond)
					}
					measured = newest()
				}()
				res, _, err := ckptRun{script: script, parallelism: 2, ckDir: ck, interval: time.Second, f: f, ctx: ctx,
					alloc: memory.NewGoAllocator(), stateDir: filepath.Join(dir, "state"), defaultPebble: true}.run(b)
				if err == nil || res == nil {
					b.Fatalf("the unbounded job ended: %v", err)
				}
				st, err := checkpoint.NewDirStorage(ck, 0)
				if err != nil {
					b.Fatal(err)
				}
				m, err := st.Load(context.Background(), fmt.Sprint(res.LastCheckpointID))
				if err != nil {
					b.Fatal(err)
				}
				prev, _ := st.Load(context.Background(), fmt.Sprint(res.LastCheckpointID-1))
				had := map[string]bool{}
				if prev != nil {
					for _, f := range prev.Files() {
						had[f.Name] = true
					}
				}
				var added int64
				for _, f := range m.Files() {
					if !had[f.Name] {
						added += f.Size
					}
				}
				b.ReportMetric(float64(res.LastCheckpointDuration.Milliseconds()), "ckpt-ms")
				b.ReportMetric(float64(res.LastCheckpointSize)/(1<<20), "ckpt-MiB")
				b.ReportMetric(float64(added)/(1<<20), "ckpt-added-MiB")
				b.ReportMetric(float64(f.rows.Load())/float64(n), "rows/key")
				b.Logf("checkpoint %d (waited for %d) after %d rows: %s, %d bytes referenced, %d added",
					res.LastCheckpointID, measured, f.rows.Load(), res.LastCheckpointDuration, res.LastCheckpointSize, added)

				// Recovery: restore it and time the first output row.
				f2 := newFaults(1, 0, 1, 1, func() int64 { return 0 })
				ctx2, cancel2 := context.WithCancel(context.Background())
				start := time.Now()
				go func() {
					defer cancel2()
					for ctx2.Err() == nil && f2.firstWrite.Load() == 0 {
						time.Sleep(time.Millisecond)
					}
				}()
				_, _, err = ckptRun{script: script, parallelism: 2, ckDir: ck, f: f2, ctx: ctx2, restore: m,
					alloc: memory.NewGoAllocator(), stateDir: filepath.Join(dir, "state2"), defaultPebble: true}.run(b)
				if f2.firstWrite.Load() == 0 {
					b.Fatalf("the restored job wrote nothing: %v", err)
				}
				rec := time.Unix(0, f2.firstWrite.Load()).Sub(start)
				b.ReportMetric(float64(rec.Milliseconds()), "recovery-ms")
				b.Logf("recovery (Run start to first output row): %s", rec)
			}
		})
	}
}

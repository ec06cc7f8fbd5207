package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/planner"
)

// hotGiftsDDL is the live-room gifts stream over 1,000 rooms with a Zipf
// exponent of 1.33, which gives room 1 about 30% of the gifts
// (1 / H(1000, 1.33)); TestHotRoomShare checks the share.
const hotGiftsDDL = `
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'rooms' = '1000', 'users' = '100000',
        'skew' = '1.33', 'number-of-rows' = '%d', 'max-out-of-orderness' = '5 s', 'seed' = '11');
`

// TestHotRoomShare checks that the hot-key benchmark's data has one room
// with about 30% of the traffic.
func TestHotRoomShare(t *testing.T) {
	opts := map[string]string{"connector": "datagen", "stream": "gifts", "rooms": "1000", "users": "100000",
		"skew": "1.33", "number-of-rows": "100000", "max-out-of-orderness": "5 s", "seed": "11"}
	gs := readDatagenGifts(t, opts)
	hot := 0
	for _, g := range gs {
		if g.Room == 1 {
			hot++
		}
	}
	if share := float64(hot) / float64(len(gs)); share < 0.27 || share > 0.33 {
		t.Fatalf("room 1 has %.1f%% of %d gifts, want about 30%%", 100*share, len(gs))
	}
}

// BenchmarkHotKeys measures what two-phase aggregation and split distinct
// aggregation gain on skewed keys: a non-windowed GROUP BY room over the
// live-room datagen with room 1 taking 30% of the gifts, at parallelism 2,
// into blackhole; each variant sets the job options that ask for it, with
// and without mini-batches ('table.exec.mini-batch.*').
func BenchmarkHotKeys(b *testing.B) {
	const (
		events  = 2_000_000
		aggSel  = "COUNT(*), SUM(amount), MAX(amount)"
		aggCols = "a BIGINT, b BIGINT, c BIGINT"
		// Flink's advice for hot keys: mini-batches as well.
		miniBatch = "SET 'table.exec.mini-batch.enabled' = 'true'; SET 'table.exec.mini-batch.allow-latency' = '1 s'; SET 'table.exec.mini-batch.size' = '20000';"
	)
	queries := []struct {
		name, sel, cols, opt string
	}{
		{"agg/one-phase", aggSel, aggCols, ""},
		{"agg/two-phase", aggSel, aggCols, "SET 'table.optimizer.agg-phase-strategy' = 'TWO_PHASE';"},
		{"distinct/one-phase", "COUNT(DISTINCT user_id)", "a BIGINT", ""},
		{"distinct/split", "COUNT(DISTINCT user_id)", "a BIGINT", "SET 'table.optimizer.distinct-agg.split.enabled' = 'true';"},
		{"agg/one-phase+mini-batch", aggSel, aggCols, miniBatch},
		{"agg/two-phase+mini-batch", aggSel, aggCols, miniBatch + "SET 'table.optimizer.agg-phase-strategy' = 'TWO_PHASE';"},
		{"distinct/one-phase+mini-batch", "COUNT(DISTINCT user_id)", "a BIGINT", miniBatch},
		{"distinct/split+mini-batch", "COUNT(DISTINCT user_id)", "a BIGINT", miniBatch + "SET 'table.optimizer.distinct-agg.split.enabled' = 'true';"},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			script := q.opt + fmt.Sprintf(hotGiftsDDL, events) + `
CREATE TABLE out1 (room_id BIGINT, ` + q.cols + `)
WITH ('connector' = 'blackhole');
INSERT INTO out1 SELECT room_id, ` + q.sel + ` FROM gifts GROUP BY room_id;`
			reg := builtin.Registry()
			ctx := context.Background()
			plan, err := planner.Compile(ctx, "hot.sql", script, planner.Options{JobName: "hot", Parallelism: 2, Registry: reg})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0, wall0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				opts := runtime.Options{Connectors: reg, Operators: operators.Factories(), Logger: slog.New(slog.DiscardHandler)}
				if _, err := runtime.Run(ctx, plan.Graph, opts); err != nil {
					b.Fatal(err)
				}
			}
			cpu, wall := cpuTime()-cpu0, time.Since(wall0)
			total := float64(events) * float64(b.N)
			b.ReportMetric(total/cpu.Seconds(), "events/cpu-s")
			b.ReportMetric(total/wall.Seconds(), "events/s")
		})
	}
}

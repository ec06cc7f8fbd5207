package e2e

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/planner"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchFlagship runs the flagship Top-N job over an in-memory gifts source
// into a blackhole sink and reports events per CPU-second.
func benchFlagship(b *testing.B, parallelism int, sourceDDL string, events int, datasets map[string]arrow.RecordBatch) {
	script := strings.Replace(topGiftsSQL, giftsDDL, sourceDDL, 1)
	script = strings.Replace(script, "'connector' = 'collect'", "'connector' = 'blackhole'", 1)
	reg := builtin.Registry()
	if err := reg.Register(&memSource{data: datasets, seed: 1}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	plan, err := planner.Compile(ctx, "bench.sql", script, planner.Options{JobName: "bench", Parallelism: parallelism, Registry: reg})
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
}

// BenchmarkFlagshipTopN is the yardstick: 1M in-memory gifts over
// 1,000 skewed rooms and 200 gift kinds, tumbling 1-minute windows, top 3 per
// room, into blackhole.
func BenchmarkFlagshipTopN(b *testing.B) {
	const events = 1_000_000
	r := rand.New(rand.NewPCG(42, 42))
	gs := genGifts(r, events, 1000, 200, 5000)
	rec := giftsRecord(memory.DefaultAllocator, gs)
	defer rec.Release()
	for _, p := range []int{1, 2} {
		b.Run("p"+string(rune('0'+p)), func(b *testing.B) {
			benchFlagship(b, p, giftsDDL, events, map[string]arrow.RecordBatch{"gifts": rec})
		})
	}
}

// BenchmarkFlagshipTopNDatagen is the same job with the live-room datagen
// as its source, so generation cost is included.
func BenchmarkFlagshipTopNDatagen(b *testing.B) {
	const events = 1_000_000
	ddl := `
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'rooms' = '1000', 'users' = '100000',
        'skew' = '1.1', 'number-of-rows' = '1000000', 'max-out-of-orderness' = '5 s', 'seed' = '7');
`
	benchFlagship(b, 1, ddl, events, nil)
}

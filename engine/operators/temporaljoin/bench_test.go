package temporaljoin_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/operators/temporaljoin"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// BenchmarkTemporalJoin streams 256Ki events (a third of them changes of
// 1000 versioned keys) out of order by up to 500 ms: each run of 2048
// events is fed as a batch of its left rows and one of its right rows,
// then a watermark. It reports events per CPU-second.
func BenchmarkTemporalJoin(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	events, nominal := generate(r, 1<<18, 1000, 500)
	type step struct {
		input int
		b     stream.Batch
		wm    int64
	}
	var steps []step
	maxNominal := int64(0)
	for i := 0; i < len(events); i += 2048 {
		j := min(i+2048, len(events))
		var sides [2][]event
		for _, e := range events[i:j] {
			if e.right {
				sides[1] = append(sides[1], e)
			} else {
				sides[0] = append(sides[0], e)
			}
		}
		maxNominal = max(maxNominal, nominal[j-1])
		for in, es := range sides {
			if len(es) > 0 {
				// Only the step after both sides' rows moves the watermark.
				steps = append(steps, step{in, batch(memory.DefaultAllocator, es), stream.MinWatermark})
			}
		}
		steps[len(steps)-1].wm = maxNominal - 501
	}
	ctx := context.Background()
	out := &optest.Discard{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := optest.CPUTime()
	for i := 0; i < b.N; i++ {
		op, err := temporaljoin.New(spec(true, false, 0))
		if err != nil {
			b.Fatal(err)
		}
		oc, _ := optest.NewContext(memory.DefaultAllocator, nil)
		oc.Now = func() int64 { return 0 }
		if err := op.Open(ctx, oc); err != nil {
			b.Fatal(err)
		}
		for _, s := range steps {
			if err := op.ProcessBatch(ctx, s.input, s.b, out); err != nil {
				b.Fatal(err)
			}
			if err := op.ProcessWatermark(ctx, s.wm, out); err != nil {
				b.Fatal(err)
			}
		}
		op.ProcessWatermark(ctx, stream.MaxWatermark, out)
		op.Close(ctx)
	}
	cpu := optest.CPUTime() - cpu0
	b.ReportMetric(float64(len(events)*b.N)/cpu.Seconds(), "events/cpu-s")
}

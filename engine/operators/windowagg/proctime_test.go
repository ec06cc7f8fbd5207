package windowagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// TestProcTimeAgainstReference drives processing-time windows of every kind
// with a clock the test moves: each row belongs to the windows holding the
// clock when it arrives (its time column, often NULL, is never read), and
// a window fires at the first OnProcessingTime call whose time has passed
// its end, or at the final watermark. Event-time watermarks change nothing.
func TestProcTimeAgainstReference(t *testing.T) {
	for i, kind := range []jobgraph.WindowKind{jobgraph.Tumble, jobgraph.Hop, jobgraph.Cumulate} {
		for _, limit := range []int{0, 3} {
			t.Run(fmt.Sprintf("%s/limit%d", kind, limit), func(t *testing.T) {
				runProcTime(t, uint64(500+i), kind, limit)
			})
		}
	}
}

func runProcTime(t *testing.T, seed uint64, kind jobgraph.WindowKind, limit int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 7))
	w := randomWindow(r, kind)
	w.ProcTime = true
	keys, aggs := []int{cK1, cK2}, append(append([]jobgraph.AggCall(nil), testAggs...), filterAggs[1])
	op, err := windowagg.New(makeSpec(keys, aggs, w))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := op.(operator.ProcessingTimeHandler); !ok {
		t.Fatal("a processing-time window aggregate is not a ProcessingTimeHandler")
	}
	cfg := map[string]string{}
	if limit > 0 {
		cfg[windowagg.BufferLimitOption] = strconv.Itoa(limit)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	clock := r.Int64N(2_000_000_000_000)
	oc.Now = func() int64 { return clock }
	d := optest.NewDriver(t, op, oc)
	handler := op.(operator.ProcessingTimeHandler)
	ref := newReference(w, keys)
	g := &gen{r: r, base: 0, step: 1, delay: 0, keys: 1 + r.IntN(40), nullRate: 10}
	// Each row is emitted by the first OnProcessingTime at or after its
	// window's end: prevFire[now] is the call before the one at now.
	prevFire := map[int64]int64{}
	lastFire := int64(stream.MinWatermark)
	ctx := context.Background()
	for step := 0; step < 25; step++ {
		clock += r.Int64N(w.SizeMs / 3)
		n := optest.RandomBatchSize(r)
		rows := make([]trow, n)
		for i := range rows {
			rows[i] = g.row(stream.MinWatermark)
			rows[i].null[cTs] = r.IntN(5) == 0 // never read
			rows[i].ts = r.Int64N(1000)
			refRow := rows[i]
			refRow.ts, refRow.null[cTs] = clock, false
			fired := int64(stream.MinWatermark) // windows ending at or before lastFire have fired
			if lastFire != stream.MinWatermark {
				fired = lastFire - 1
			}
			ref.add(refRow, fired)
		}
		d.Batch(record(t, mem, rows))
		switch r.IntN(4) {
		case 0:
			// An event-time watermark: ignored.
			d.Advance(clock + r.Int64N(10*w.SizeMs))
		case 1, 2:
			if clock > lastFire {
				prevFire[clock] = lastFire
				lastFire = clock
			}
			d.Out.Current = clock
			if err := handler.OnProcessingTime(ctx, clock, d.Out); err != nil {
				t.Fatal(err)
			}
			d.Out.Current = optest.NoWatermark
		}
	}
	d.Advance(stream.MaxWatermark)
	if left := windowagg.Leftovers(op); left != "" {
		t.Errorf("after the final watermark the operator still holds %s", left)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := ref.rows(aggs)
	if len(want) == 0 {
		t.Fatal("reference produced no rows: test data is broken")
	}
	optest.AssertSameRows(t, d.Out.Texts(), want)
	endCol := len(keys) + 1
	for _, row := range d.Out.Rows {
		end, _ := strconv.ParseInt(row.Cols[endCol], 10, 64)
		switch row.Watermark {
		case stream.MaxWatermark:
			if end <= lastFire {
				t.Fatalf("row %s of a window ending at %d waited for the end of input, but the clock reached %d", row.Text, end, lastFire)
			}
		case optest.NoWatermark:
			t.Fatalf("row %s emitted outside OnProcessingTime and the final watermark", row.Text)
		default:
			if prev, ok := prevFire[row.Watermark]; !ok || end > row.Watermark || end <= prev {
				t.Fatalf("row %s emitted at processing time %d (previous call %d)", row.Text, row.Watermark, prevFire[row.Watermark])
			}
		}
	}
	optest.CheckCounter(t, metrics, windowagg.LateRecordsMetric, 0)
	optest.CheckCounter(t, metrics, windowagg.NullRowtimeMetric, 0)
	t.Logf("%d rows out, window %+v", len(want), w)
}

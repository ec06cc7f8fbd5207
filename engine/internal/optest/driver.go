package optest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// Driver feeds an operator under test batches and watermarks, records
// which watermark emitted each row, and checks window operators' timing.
// Every method fails the test on an operator error.
type Driver struct {
	T   testing.TB
	Op  operator.Operator
	Out *Collector

	ctx  context.Context
	wm   int64
	prev map[int64]int64 // each watermark passed -> the one before it
}

// NewDriver opens op with oc and returns a driver for it.
func NewDriver(t testing.TB, op operator.Operator, oc *operator.Context) *Driver {
	t.Helper()
	d := &Driver{T: t, Op: op, Out: NewCollector(), ctx: context.Background(), wm: stream.MinWatermark, prev: map[int64]int64{}}
	if err := op.Open(d.ctx, oc); err != nil {
		t.Fatal(err)
	}
	return d
}

// Watermark returns the highest watermark passed so far.
func (d *Driver) Watermark() int64 { return d.wm }

// Batch passes rec to the operator and releases it.
func (d *Driver) Batch(rec arrow.RecordBatch) {
	d.T.Helper()
	err := d.Op.ProcessBatch(d.ctx, 0, stream.Batch{Record: rec}, d.Out)
	rec.Release()
	if err != nil {
		d.T.Fatal(err)
	}
}

// Advance passes watermark wm, which may be at or below the current one
// (the operator must then ignore it).
func (d *Driver) Advance(wm int64) {
	d.T.Helper()
	if wm > d.wm {
		d.prev[wm] = d.wm
		d.wm = wm
	}
	d.Out.Current = wm
	err := d.Op.ProcessWatermark(d.ctx, wm, d.Out)
	d.Out.Current = NoWatermark
	if err != nil {
		d.T.Fatal(err)
	}
}

// Finish passes the final watermark and closes the operator.
func (d *Driver) Finish() {
	d.T.Helper()
	d.Advance(stream.MaxWatermark)
	if err := d.Op.Close(d.ctx); err != nil {
		d.T.Fatal(err)
	}
}

// CheckWindowTiming checks that every row, whose window end is column
// endCol, was emitted by the first watermark that completed its window
// (end - 1 <= watermark, and above the watermark before), and that each
// watermark emitted its rows in window-end order.
func (d *Driver) CheckWindowTiming(endCol int) {
	d.T.Helper()
	lastEnd := map[int64]int64{}
	for _, row := range d.Out.Rows {
		end, err := strconv.ParseInt(row.Cols[endCol], 10, 64)
		if err != nil {
			d.T.Fatalf("window end %q: %v", row.Cols[endCol], err)
		}
		if row.Watermark == NoWatermark {
			d.T.Fatalf("row %s emitted outside ProcessWatermark", row.Text)
		}
		prev, ok := d.prev[row.Watermark]
		if !ok || end-1 > row.Watermark || end-1 <= prev {
			d.T.Fatalf("row %s emitted at watermark %d (previous %d)", row.Text, row.Watermark, prev)
		}
		if last, ok := lastEnd[row.Watermark]; ok && end < last {
			d.T.Fatalf("row %s emitted after a row of window end %d", row.Text, last)
		}
		lastEnd[row.Watermark] = end
	}
}

// CheckCounter fails the test unless counter name of m is want.
func CheckCounter(t testing.TB, m *Metrics, name string, want int) {
	t.Helper()
	if got := m.Value(name); got != float64(want) {
		t.Errorf("%s = %v, want %d", name, got, want)
	}
}

// BenchOperator runs a fresh operator from newOp over recs per iteration,
// passing watermark wms[j] after batch j when there is one and the final
// watermark at the end, and reports rows per CPU-second. cfg is the job
// config of the operator's context.
func BenchOperator(b *testing.B, newOp func() (operator.Operator, error), cfg map[string]string, recs []arrow.RecordBatch, wms map[int]int64) {
	b.Helper()
	rows := 0
	for _, r := range recs {
		rows += int(r.NumRows())
	}
	ctx := context.Background()
	out := &Discard{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := CPUTime()
	for i := 0; i < b.N; i++ {
		op, err := newOp()
		if err != nil {
			b.Fatal(err)
		}
		oc, _ := NewContext(memory.DefaultAllocator, cfg)
		if err := op.Open(ctx, oc); err != nil {
			b.Fatal(err)
		}
		for j, rec := range recs {
			if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out); err != nil {
				b.Fatal(err)
			}
			if wm, ok := wms[j]; ok {
				if err := op.ProcessWatermark(ctx, wm, out); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
			b.Fatal(err)
		}
		if err := op.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu := CPUTime() - cpu0
	b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
}

// BenchName names a sub-benchmark by a parameter and a buffer limit (0:
// the default).
func BenchName(param string, n, limit int) string {
	if limit == 0 {
		return fmt.Sprintf("%s=%d/buffer=default", param, n)
	}
	return fmt.Sprintf("%s=%d/buffer=%d", param, n, limit)
}

// RandomBatchSize returns a batch size for random tests: up to 2000 rows,
// and a quarter of the time tiny (1 to 5).
func RandomBatchSize(r *rand.Rand) int {
	n := 1 + r.IntN(2000)
	if r.IntN(4) == 0 {
		n = 1 + r.IntN(5)
	}
	return n
}

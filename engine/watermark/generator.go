package watermark

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// Generator produces a source subtask's watermarks with bounded
// out-of-orderness: after each batch, W = (largest event time seen) - Delay
// - 1 ms, emitted only when it rises. W promises that no later row has an
// event time <= W, provided rows are at most Delay late.
type Generator struct {
	column  int
	delayMs int64
	maxTime int64
	seen    bool
	emitted int64
}

// NewGenerator returns a generator over rowtime column col (a TIMESTAMP(3)
// column, milliseconds) with allowed out-of-orderness delayMs >= 0.
func NewGenerator(col int, delayMs int64) (*Generator, error) {
	if col < 0 {
		return nil, fmt.Errorf("watermark: rowtime column %d is negative", col)
	}
	if delayMs < 0 {
		return nil, fmt.Errorf("watermark: delay %d ms is negative", delayMs)
	}
	return &Generator{column: col, delayMs: delayMs, emitted: stream.MinWatermark}, nil
}

// Current returns the last watermark Observe reported (stream.MinWatermark
// before the first).
func (g *Generator) Current() int64 { return g.emitted }

// Observe folds the non-NULL event times of rec's rowtime column into the
// maximum and returns the new watermark and true if it advanced.
func (g *Generator) Observe(rec arrow.RecordBatch) (int64, bool, error) {
	if g.column >= int(rec.NumCols()) {
		return 0, false, fmt.Errorf("watermark: rowtime column %d out of range: batch has %d columns", g.column, rec.NumCols())
	}
	col, ok := rec.Column(g.column).(*array.Timestamp)
	if !ok {
		return 0, false, fmt.Errorf("watermark: rowtime column %d (%s) is %s, not a timestamp",
			g.column, rec.ColumnName(g.column), rec.Column(g.column).DataType())
	}
	if m, ok := maxTimestamp(col); ok && (!g.seen || m > g.maxTime) {
		g.maxTime, g.seen = m, true
	}
	if !g.seen {
		return g.emitted, false, nil
	}
	// W = max - delay - 1, saturating at MinWatermark.
	if g.maxTime < stream.MinWatermark+g.delayMs+1 {
		return g.emitted, false, nil
	}
	w := g.maxTime - g.delayMs - 1
	if w <= g.emitted {
		return g.emitted, false, nil
	}
	g.emitted = w
	return w, true, nil
}

// maxTimestamp returns the largest non-NULL value of col.
func maxTimestamp(col *array.Timestamp) (int64, bool) {
	vs := col.TimestampValues()
	if len(vs) == 0 {
		return 0, false
	}
	m := int64(stream.MinWatermark)
	if col.NullN() == 0 {
		for _, v := range vs {
			m = max(m, int64(v))
		}
		return m, true
	}
	if col.NullN() == col.Len() {
		return 0, false
	}
	bits, off := col.NullBitmapBytes(), col.Data().Offset()
	for i, v := range vs {
		if bitutil.BitIsSet(bits, off+i) {
			m = max(m, int64(v))
		}
	}
	return m, true
}

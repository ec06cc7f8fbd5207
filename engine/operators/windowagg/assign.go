package windowagg

import (
	"fmt"
	"math"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// windows is the window arithmetic of one operator. Event time is cut into
// slices: disjoint ranges [end - slice, end) on a grid, each row falling
// into exactly one, so a row updates one group of one slice whatever the
// window kind. Every window is a run of consecutive slices, and every
// window end is a slice end:
//
//   - TUMBLE(size, offset): slice = size; a window is one slice.
//   - HOP(slide, size, offset): slice = slide (Flink requires size to be a
//     multiple of slide, so gcd(size, slide) = slide); the window ending at
//     e holds the size/slide slices ending in (e - size, e].
//   - CUMULATE(step, max_size, offset): slice = step; periods
//     [p, p + max_size) start at p = offset + k*max_size, and the window
//     ending at e is [p, e) for the period p that e - 1 falls in.
//
// span is the window size (TUMBLE, HOP) or the period (CUMULATE), and
// offset is reduced modulo the slice grid's period: size for TUMBLE, slide
// for HOP (which only shifts window starts by multiples of the slide),
// max_size for CUMULATE.
type windows struct {
	kind   jobgraph.WindowKind
	slice  int64
	span   int64
	offset int64 // in [0, slice) for TUMBLE and HOP, [0, span) for CUMULATE
	// sliceOff is offset mod slice: slice ends are sliceOff + k*slice.
	sliceOff int64
}

// maxWindowMs bounds sizes and offsets so window arithmetic cannot overflow.
const maxWindowMs = math.MaxInt64 / 8

func newWindows(w jobgraph.WindowSpec) (windows, error) {
	name := upper(w.Kind)
	positive := func(what string, v int64) error {
		if v <= 0 || v > maxWindowMs {
			return fmt.Errorf("window_agg: %s %s %d ms must be positive and at most %d ms", name, what, v, int64(maxWindowMs))
		}
		return nil
	}
	if w.OffsetMs <= -maxWindowMs || w.OffsetMs >= maxWindowMs {
		return windows{}, fmt.Errorf("window_agg: %s offset %d ms is out of range", name, w.OffsetMs)
	}
	var ws windows
	switch w.Kind {
	case jobgraph.Tumble:
		if err := positive("size", w.SizeMs); err != nil {
			return ws, err
		}
		ws = windows{kind: w.Kind, slice: w.SizeMs, span: w.SizeMs, offset: floorMod(w.OffsetMs, w.SizeMs)}
	case jobgraph.Hop:
		if err := positive("slide", w.SlideMs); err != nil {
			return ws, err
		}
		if err := positive("size", w.SizeMs); err != nil {
			return ws, err
		}
		if w.SizeMs%w.SlideMs != 0 {
			return ws, fmt.Errorf("window_agg: HOP size %d ms must be a whole multiple of the slide %d ms", w.SizeMs, w.SlideMs)
		}
		ws = windows{kind: w.Kind, slice: w.SlideMs, span: w.SizeMs, offset: floorMod(w.OffsetMs, w.SlideMs)}
	case jobgraph.Cumulate:
		if err := positive("step", w.SlideMs); err != nil {
			return ws, err
		}
		if err := positive("max size", w.SizeMs); err != nil {
			return ws, err
		}
		if w.SizeMs%w.SlideMs != 0 {
			return ws, fmt.Errorf("window_agg: CUMULATE max size %d ms must be a whole multiple of the step %d ms", w.SizeMs, w.SlideMs)
		}
		ws = windows{kind: w.Kind, slice: w.SlideMs, span: w.SizeMs, offset: floorMod(w.OffsetMs, w.SizeMs)}
	case jobgraph.Session:
		return ws, fmt.Errorf("window_agg: SESSION windows are aggregated by the session aggregate, not window_agg")
	default:
		return ws, fmt.Errorf("window_agg: unknown window kind %q", w.Kind)
	}
	if ws.span == ws.slice {
		ws.kind = jobgraph.Tumble // one slice per window: nothing to share
	}
	ws.sliceOff = ws.offset % ws.slice
	return ws, nil
}

func upper(k jobgraph.WindowKind) string {
	b := []byte(k)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// floorMod is a mod b rounded towards -inf (b > 0), without overflow for
// any a.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// alignDown returns the largest x <= t with x = off (mod period), for
// 0 <= off < period.
func alignDown(t, period, off int64) int64 {
	// (t%period - off) cannot overflow; its floorMod is (t - off) mod period.
	return t - floorMod(t%period-off, period)
}

// assign sets ends[i] to the end of the slice holding ts[i], for each row
// i with valid[i] (nil means all rows). It fails on a timestamp whose
// windows would not fit in int64 milliseconds.
func (w windows) assign(ts []int64, valid func(int) bool, ends []int64) error {
	size, off := w.slice, w.sliceOff
	lo, hi := int64(math.MinInt64)+2*w.span, int64(math.MaxInt64)-3*w.span
	for i, v := range ts {
		if valid != nil && !valid(i) {
			continue
		}
		if v < lo || v > hi {
			return fmt.Errorf("window_agg: event time %d ms is too close to the limits of the timestamp range for %d ms windows", v, w.span)
		}
		m := (v%size - off) % size
		if m < 0 {
			m += size
		}
		ends[i] = v - m + size
	}
	return nil
}

// sliceEnd is the end of the slice holding t.
func (w windows) sliceEnd(t int64) int64 { return alignDown(t, w.slice, w.sliceOff) + w.slice }

// periodStart is the start of the CUMULATE period, or the HOP block (see
// hop), holding t.
func (w windows) periodStart(t int64) int64 { return alignDown(t, w.span, w.offset%w.span) }

// lastWindowEnd is the end of the last window the slice ending at sliceEnd
// belongs to: the slice, and any row in it, is late once the watermark
// reaches lastWindowEnd - 1.
func (w windows) lastWindowEnd(sliceEnd int64) int64 {
	switch w.kind {
	case jobgraph.Hop:
		return sliceEnd - w.slice + w.span
	case jobgraph.Cumulate:
		return w.periodStart(sliceEnd-1) + w.span
	}
	return sliceEnd
}

// windowStart is the start of the window ending at windowEnd.
func (w windows) windowStart(windowEnd int64) int64 {
	if w.kind == jobgraph.Cumulate {
		return w.periodStart(windowEnd - 1)
	}
	return windowEnd - w.span
}

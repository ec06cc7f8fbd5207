package windowagg

import (
	"fmt"
	"math"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// sliceAssigner cuts event time into slices: disjoint ranges [start, end)
// that every row falls into exactly one of, so a row updates one group of
// one slice whatever the window kind. Windows are unions of consecutive
// slices. TUMBLE's slices are its windows. HOP (slice = gcd(size, slide))
// and CUMULATE (slice = step) will add assigners whose windows span several
// slices and merge them at fire time with agg.Accumulator.Merge; the
// buffer, state and accumulators are already organized by slice end.
type sliceAssigner interface {
	// assign sets ends[i] to the end of the slice holding ts[i], for each
	// row i with valid[i] (nil means all rows). It fails on a timestamp
	// whose slice would not fit in int64 milliseconds.
	assign(ts []int64, valid func(int) bool, ends []int64) error
	// lastWindowEnd is the end of the last window the slice ending at
	// sliceEnd belongs to: the slice, and any row in it, is late once the
	// watermark reaches lastWindowEnd - 1.
	lastWindowEnd(sliceEnd int64) int64
	// windowStart is the start of the window ending at windowEnd.
	windowStart(windowEnd int64) int64
}

// maxWindowMs bounds sizes and offsets so window arithmetic cannot overflow.
const maxWindowMs = math.MaxInt64 / 4

func newAssigner(w jobgraph.WindowSpec) (sliceAssigner, error) {
	switch w.Kind {
	case jobgraph.Tumble:
		if w.SizeMs <= 0 || w.SizeMs > maxWindowMs {
			return nil, fmt.Errorf("window_agg: TUMBLE size %d ms must be positive and below %d ms", w.SizeMs, int64(maxWindowMs))
		}
		if w.OffsetMs <= -maxWindowMs || w.OffsetMs >= maxWindowMs {
			return nil, fmt.Errorf("window_agg: TUMBLE offset %d ms is out of range", w.OffsetMs)
		}
		return tumble{size: w.SizeMs, offset: w.OffsetMs % w.SizeMs}, nil
	case jobgraph.Hop, jobgraph.Cumulate, jobgraph.Session:
		return nil, fmt.Errorf("window_agg: %s windows are not supported yet (only TUMBLE)", upper(w.Kind))
	}
	return nil, fmt.Errorf("window_agg: unknown window kind %q", w.Kind)
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

// tumble is TUMBLE(size, offset): windows [offset + k*size, offset + (k+1)*size).
type tumble struct {
	size, offset int64 // |offset| < size
}

func (t tumble) assign(ts []int64, valid func(int) bool, ends []int64) error {
	size, off := t.size, t.offset
	lo, hi := int64(math.MinInt64)+2*size, int64(math.MaxInt64)-2*size
	for i, v := range ts {
		if valid != nil && !valid(i) {
			continue
		}
		if v < lo || v > hi {
			return fmt.Errorf("window_agg: event time %d ms is too close to the limits of the timestamp range for %d ms windows", v, size)
		}
		// start = v - ((v - off) mod size), with mod rounding towards -inf
		// so that negative times land in the right window.
		m := (v%size - off) % size
		if m < 0 {
			m += size
		}
		ends[i] = v - m + size
	}
	return nil
}

func (t tumble) lastWindowEnd(sliceEnd int64) int64 { return sliceEnd }
func (t tumble) windowStart(windowEnd int64) int64  { return windowEnd - t.size }

package watermark

import (
	"math/rand/v2"
	"testing"

	"github.com/eddy-streaming/eddy/engine/stream"
)

const (
	minW = stream.MinWatermark
	maxW = stream.MaxWatermark
)

// must returns a function that fails t on an error and passes the update on.
func must(t *testing.T) func(Update, error) Update {
	return func(u Update, err error) Update {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
}

func TestTrackerMinAcrossChannels(t *testing.T) {
	tr := NewTracker(3)
	if tr.Watermark() != minW {
		t.Fatalf("initial watermark %d, want MinWatermark", tr.Watermark())
	}
	if u := must(t)(tr.Advance(0, 100)); u.Advanced {
		t.Fatalf("advanced with channels 1 and 2 still at MinWatermark: %+v", u)
	}
	must(t)(tr.Advance(1, 50))
	u := must(t)(tr.Advance(2, 70))
	if !u.Advanced || tr.Watermark() != 50 {
		t.Fatalf("got %+v wm=%d, want advance to 50", u, tr.Watermark())
	}
	u = must(t)(tr.Advance(1, 200))
	if !u.Advanced || tr.Watermark() != 70 {
		t.Fatalf("got %+v wm=%d, want advance to 70", u, tr.Watermark())
	}
	// A channel going backwards changes nothing.
	if u := must(t)(tr.Advance(2, 10)); u != (Update{}) || tr.Watermark() != 70 {
		t.Fatalf("backwards watermark: %+v wm=%d", u, tr.Watermark())
	}
	if tr.ChannelWatermark(2) != 70 {
		t.Fatalf("channel 2 watermark %d, want 70", tr.ChannelWatermark(2))
	}
}

func TestTrackerIdle(t *testing.T) {
	tr := NewTracker(2)
	must(t)(tr.Advance(0, 100))
	// Channel 1 never sent a watermark; once idle, channel 0 alone rules.
	u := must(t)(tr.SetIdle(1))
	if !u.Advanced || tr.Watermark() != 100 || u.Idle {
		t.Fatalf("after idling channel 1: %+v wm=%d", u, tr.Watermark())
	}
	// Both idle: output idle, watermark unchanged.
	u = must(t)(tr.SetIdle(0))
	if !u.Idle || u.Advanced || !tr.Idle() || tr.Watermark() != 100 {
		t.Fatalf("both idle: %+v wm=%d idle=%v", u, tr.Watermark(), tr.Idle())
	}
	// Repeated idle is a no-op.
	if u := must(t)(tr.SetIdle(0)); u != (Update{}) {
		t.Fatalf("repeated idle: %+v", u)
	}
	// Data un-idles channel 1, whose watermark (Min) is below the output:
	// the output stays at 100 (monotonic) but becomes active.
	u = must(t)(tr.Data(1))
	if !u.Active || u.Advanced || tr.Idle() || tr.Watermark() != 100 {
		t.Fatalf("un-idle by data: %+v wm=%d", u, tr.Watermark())
	}
	// Channel 1 now holds the minimum back until it passes 100.
	if u := must(t)(tr.Advance(1, 90)); u.Advanced {
		t.Fatalf("advanced below output: %+v", u)
	}
	// Channel 0 is still idle, so channel 1 alone rules once it passes 100.
	u = must(t)(tr.Advance(1, 150))
	if !u.Advanced || tr.Watermark() != 150 {
		t.Fatalf("%+v wm=%d, want 150", u, tr.Watermark())
	}
	// A watermark un-idles channel 0 and holds the minimum at its value.
	u = must(t)(tr.Advance(0, 120))
	if u.Advanced || u.Active || tr.Watermark() != 150 {
		t.Fatalf("%+v wm=%d", u, tr.Watermark())
	}
	// min(300, 150) = 150: no rise.
	u = must(t)(tr.Advance(0, 300))
	if u.Advanced || tr.Watermark() != 150 {
		t.Fatalf("%+v wm=%d", u, tr.Watermark())
	}
	u = must(t)(tr.Advance(1, 400))
	if !u.Advanced || tr.Watermark() != 300 {
		t.Fatalf("%+v wm=%d, want 300", u, tr.Watermark())
	}
}

// TestTrackerAllIdleFlush checks that when every live channel is idle the
// watermark moves up to the highest of theirs, whichever went idle last.
func TestTrackerAllIdleFlush(t *testing.T) {
	for _, lastIdle := range []int{0, 1} {
		tr := NewTracker(3)
		must(t)(tr.Advance(0, 10))
		must(t)(tr.Advance(1, 50))
		must(t)(tr.Advance(2, 5))
		must(t)(tr.End(2))
		must(t)(tr.SetIdle(1 - lastIdle))
		u := must(t)(tr.SetIdle(lastIdle))
		// Idling channel 1 first leaves channel 0 (10) ruling until the flush.
		if !u.Idle || u.Advanced != (lastIdle == 0) || tr.Watermark() != 50 {
			t.Fatalf("last idle %d: %+v wm=%d, want idle at 50", lastIdle, u, tr.Watermark())
		}
		// Channel 0 resumes behind the output: the output holds at 50.
		u = must(t)(tr.Data(0))
		if !u.Active || u.Advanced || tr.Watermark() != 50 {
			t.Fatalf("%+v wm=%d", u, tr.Watermark())
		}
	}
}

func TestTrackerIdleThenActiveByWatermark(t *testing.T) {
	tr := NewTracker(1)
	must(t)(tr.Advance(0, 10))
	if u := must(t)(tr.SetIdle(0)); !u.Idle {
		t.Fatalf("%+v", u)
	}
	u := must(t)(tr.Advance(0, 20))
	if !u.Active || !u.Advanced || tr.Watermark() != 20 {
		t.Fatalf("%+v wm=%d", u, tr.Watermark())
	}
}

func TestTrackerEnd(t *testing.T) {
	tr := NewTracker(3)
	must(t)(tr.Advance(0, 10))
	must(t)(tr.Advance(1, 20))
	must(t)(tr.Advance(2, 30))
	if tr.Watermark() != 10 {
		t.Fatalf("wm=%d", tr.Watermark())
	}
	u := must(t)(tr.End(0))
	if !u.Advanced || tr.Watermark() != 20 || tr.Done() {
		t.Fatalf("%+v wm=%d", u, tr.Watermark())
	}
	// Messages on an ended channel are ignored.
	if u := must(t)(tr.Advance(0, 5)); u != (Update{}) {
		t.Fatalf("%+v", u)
	}
	if _, err := tr.End(0); err == nil {
		t.Fatal("ending a channel twice was accepted")
	}
	// An idle channel plus an ended one: idle output.
	u = must(t)(tr.SetIdle(1))
	if u.Idle || tr.Watermark() != 30 {
		t.Fatalf("%+v wm=%d", u, tr.Watermark())
	}
	u = must(t)(tr.End(2))
	if !u.Idle || tr.Done() {
		t.Fatalf("%+v idle=%v", u, tr.Idle())
	}
	u = must(t)(tr.End(1))
	if !u.Advanced || !u.Active || tr.Watermark() != maxW || !tr.Done() {
		t.Fatalf("%+v wm=%d done=%v", u, tr.Watermark(), tr.Done())
	}
	if _, err := tr.Advance(7, 1); err == nil {
		t.Fatal("out-of-range channel accepted")
	}
}

func TestTrackerNoChannels(t *testing.T) {
	tr := NewTracker(0)
	if !tr.Done() || tr.Watermark() != maxW {
		t.Fatalf("done=%v wm=%d", tr.Done(), tr.Watermark())
	}
}

// TestTrackerRandom drives a tracker with random events and checks it
// against a model that recomputes everything from the event history.
func TestTrackerRandom(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(6)
		tr := NewTracker(n)
		type ch struct {
			wm          int64
			idle, ended bool
		}
		model := make([]ch, n)
		for i := range model {
			model[i].wm = minW
		}
		prevOut, prevIdle := int64(minW), false
		for step := 0; step < 300 && !tr.Done(); step++ {
			c := r.IntN(n)
			var u Update
			var err error
			switch k := r.IntN(20); {
			case k < 12:
				wm := int64(r.IntN(1000))
				u, err = tr.Advance(c, wm)
				if !model[c].ended {
					model[c].idle = false
					model[c].wm = max(model[c].wm, wm)
				}
			case k < 15:
				u, err = tr.Data(c)
				if !model[c].ended {
					model[c].idle = false
				}
			case k < 19:
				u, err = tr.SetIdle(c)
				if !model[c].ended {
					model[c].idle = true
				}
			default:
				if model[c].ended {
					continue
				}
				u, err = tr.End(c)
				model[c].ended, model[c].idle = true, false
			}
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			// Reference: minimum over live active channels.
			live, active := 0, 0
			lowest := int64(maxW)
			for _, m := range model {
				if m.ended {
					continue
				}
				live++
				if m.idle {
					continue
				}
				active++
				if m.wm < lowest {
					lowest = m.wm
				}
			}
			wantIdle := live > 0 && active == 0
			wantOut := prevOut
			switch {
			case live == 0:
				wantOut = maxW
			case active > 0 && lowest > prevOut:
				wantOut = lowest
			case active == 0:
				// All idle: the highest watermark of the live channels.
				for _, m := range model {
					if !m.ended && m.wm > wantOut {
						wantOut = m.wm
					}
				}
			}
			if tr.Watermark() != wantOut || tr.Idle() != wantIdle {
				t.Fatalf("seed %d step %d: wm=%d idle=%v, want wm=%d idle=%v (model %+v)", seed, step, tr.Watermark(), tr.Idle(), wantOut, wantIdle, model)
			}
			if u.Advanced != (wantOut > prevOut) || u.Idle != (wantIdle && !prevIdle) || u.Active != (!wantIdle && prevIdle) {
				t.Fatalf("seed %d step %d: update %+v for %d->%d idle %v->%v", seed, step, u, prevOut, wantOut, prevIdle, wantIdle)
			}
			if tr.Watermark() < prevOut {
				t.Fatalf("seed %d step %d: watermark went back from %d to %d", seed, step, prevOut, tr.Watermark())
			}
			prevOut, prevIdle = tr.Watermark(), tr.Idle()
		}
	}
}

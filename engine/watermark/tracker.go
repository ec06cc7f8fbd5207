package watermark

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// Update tells the owner of a Tracker what an input event changed about the
// combined output. Several fields can be set at once.
type Update struct {
	// Advanced reports that the combined watermark rose: the subtask hands
	// the new value to its operators and then forwards it downstream.
	Advanced bool
	// Idle reports that the output became idle (every live channel is
	// idle): the subtask forwards stream.Idle downstream.
	Idle bool
	// Active reports that the output stopped being idle. When Advanced is
	// not also set, the subtask forwards its current watermark so that
	// downstream counts this channel again.
	Active bool
}

type channel struct {
	wm    int64
	idle  bool
	ended bool
}

// Tracker merges the watermarks of a fixed number of input channels. It is
// not safe for concurrent use; a subtask owns its tracker.
//
// A channel starts active at stream.MinWatermark. Its watermark only rises
// (a lower value than it already has is ignored). An idle channel is left
// out of the minimum until data or a watermark arrives on it again; an
// ended channel is left out for good. The combined watermark is the minimum
// over channels that are neither idle nor ended, clamped so that it never
// decreases; once every channel has ended it is stream.MaxWatermark. When
// every channel that has not ended is idle, the output is idle and the
// combined watermark moves up to the highest of their watermarks (Flink's
// rule): an input that is idle everywhere still makes progress, at the
// price that rows arriving later on a channel that was behind may be late.
type Tracker struct {
	chans []channel
	out   int64
	idle  bool
	live  int // channels not ended
}

// NewTracker returns a tracker for n input channels, all active at
// stream.MinWatermark.
func NewTracker(n int) *Tracker {
	t := &Tracker{chans: make([]channel, n), out: stream.MinWatermark, live: n}
	for i := range t.chans {
		t.chans[i].wm = stream.MinWatermark
	}
	if n == 0 {
		t.out = stream.MaxWatermark
	}
	return t
}

// NumChannels returns the number of input channels.
func (t *Tracker) NumChannels() int { return len(t.chans) }

// Watermark returns the current combined watermark.
func (t *Tracker) Watermark() int64 { return t.out }

// Idle reports whether the output is idle.
func (t *Tracker) Idle() bool { return t.idle }

// Done reports whether every channel has ended.
func (t *Tracker) Done() bool { return t.live == 0 }

// ChannelWatermark returns the last watermark received on channel ch.
func (t *Tracker) ChannelWatermark(ch int) int64 { return t.chans[ch].wm }

func (t *Tracker) check(ch int) error {
	if ch < 0 || ch >= len(t.chans) {
		return fmt.Errorf("watermark: channel %d out of range [0, %d)", ch, len(t.chans))
	}
	return nil
}

// Data records that a batch arrived on channel ch, which makes an idle
// channel active again.
func (t *Tracker) Data(ch int) (Update, error) {
	if err := t.check(ch); err != nil {
		return Update{}, err
	}
	c := &t.chans[ch]
	if !c.idle || c.ended {
		return Update{}, nil
	}
	c.idle = false
	return t.recompute(), nil
}

// Advance records watermark wm on channel ch, which also makes an idle
// channel active again.
func (t *Tracker) Advance(ch int, wm int64) (Update, error) {
	if err := t.check(ch); err != nil {
		return Update{}, err
	}
	c := &t.chans[ch]
	if c.ended {
		return Update{}, nil
	}
	if !c.idle && wm <= c.wm {
		return Update{}, nil
	}
	c.idle = false
	if wm > c.wm {
		c.wm = wm
	}
	return t.recompute(), nil
}

// SetIdle records that channel ch went idle.
func (t *Tracker) SetIdle(ch int) (Update, error) {
	if err := t.check(ch); err != nil {
		return Update{}, err
	}
	c := &t.chans[ch]
	if c.idle || c.ended {
		return Update{}, nil
	}
	c.idle = true
	return t.recompute(), nil
}

// End records that channel ch ended. Ending a channel twice is an error.
func (t *Tracker) End(ch int) (Update, error) {
	if err := t.check(ch); err != nil {
		return Update{}, err
	}
	c := &t.chans[ch]
	if c.ended {
		return Update{}, fmt.Errorf("watermark: channel %d ended twice", ch)
	}
	c.ended = true
	c.idle = false
	t.live--
	return t.recompute(), nil
}

// recompute derives the combined watermark and idleness from the channels.
func (t *Tracker) recompute() Update {
	var u Update
	target := t.out
	idle := false
	if t.live == 0 {
		target = stream.MaxWatermark
	} else {
		lowest, highest, active := stream.MaxWatermark, stream.MinWatermark, 0
		for i := range t.chans {
			c := &t.chans[i]
			if c.ended {
				continue
			}
			highest = max(highest, c.wm)
			if c.idle {
				continue
			}
			active++
			lowest = min(lowest, c.wm)
		}
		if active == 0 {
			// Every live channel is idle: flush to the highest of their
			// watermarks, as Flink's StatusWatermarkValve does, so the
			// result does not depend on which channel went idle last.
			idle = true
			target = max(target, highest)
		} else {
			target = lowest
		}
	}
	switch {
	case idle && !t.idle:
		u.Idle = true
	case !idle && t.idle:
		u.Active = true
	}
	t.idle = idle
	if target > t.out {
		t.out = target
		u.Advanced = true
	}
	return u
}

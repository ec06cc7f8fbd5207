package nexmark

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/eddy-streaming/eddy/connectors"
)

var (
	_ connectors.RestorableSource = (*Source)(nil)
	_ connectors.PositionedReader = (*Reader)(nil)
)

// segment is a generator's timeline and how many of its events were
// passed.
type segment struct {
	line timeline
	next int64
}

// segmentJSON is a segment in a position.
type segmentJSON struct {
	FirstID int64   `json:"first_id"`
	Events  int64   `json:"events"`
	DelayUs float64 `json:"delay_us"`
	Base    int64   `json:"base"`
	Next    int64   `json:"next"`
}

// position is a reader's position, as JSON: the timelines it reads (one,
// unless it was restored from more readers than it has peers) and how far.
type position struct {
	Segments []segmentJSON `json:"segments"`
}

// Position returns the reader's timelines and how many events of each it
// passed. The events are a function of the seed, the event id and the
// timeline, so this is all a checkpoint needs.
func (r *Reader) Position() ([]byte, error) {
	var pos position
	for _, sg := range append([]segment{{r.line, r.next}}, r.others...) {
		if sg.next >= sg.line.events {
			continue
		}
		pos.Segments = append(pos.Segments, segmentJSON{FirstID: sg.line.firstID, Events: sg.line.events,
			DelayUs: sg.line.delayUs, Base: sg.line.base, Next: sg.next})
	}
	data, err := json.Marshal(pos)
	if err != nil {
		return nil, fmt.Errorf("table '%s': position: %w", r.src.cfg.name, err)
	}
	return data, nil
}

// RestoreReader opens reader rc.Subtask of rc.Parallelism resuming after
// positions, every reader's of a checkpoint taken at any parallelism. The
// old readers' timelines are kept, so every event keeps its id and its
// event time and is produced exactly once over both runs: the unfinished
// timelines, in order of their first ids, are dealt round-robin to the new
// readers, and a reader given several merges them by event time (ties in
// any order), so its output stays in event-time order. Restored at more
// readers than there are unfinished timelines, the extra readers get none:
// a bounded one ends at once, an unbounded one stays empty.
func (s *Source) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	rd, err := s.Reader(ctx, rc)
	if err != nil {
		return nil, err
	}
	r := rd.(*Reader)
	var segs []segment
	for i, data := range positions {
		var pos position
		if err := json.Unmarshal(data, &pos); err != nil {
			return nil, fmt.Errorf("table '%s': restoring reader %d: bad position %d: %w", s.cfg.name, rc.Subtask, i, err)
		}
		for _, sj := range pos.Segments {
			if sj.FirstID < 0 || sj.Events < 1 || sj.Next < 0 || sj.Next > sj.Events || !(sj.DelayUs > 0) || math.IsInf(sj.DelayUs, 0) {
				return nil, fmt.Errorf("table '%s': restoring reader %d: bad position %d: timeline %+v", s.cfg.name, rc.Subtask, i, sj)
			}
			segs = append(segs, segment{line: timeline{firstID: sj.FirstID, events: sj.Events, delayUs: sj.DelayUs, base: sj.Base}, next: sj.Next})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].line.firstID < segs[j].line.firstID })
	for i := 1; i < len(segs); i++ {
		if a, b := segs[i-1].line, segs[i].line; a.firstID+a.events > b.firstID {
			return nil, fmt.Errorf("table '%s': restoring reader %d: the positions' event ids overlap (%d+%d > %d)", s.cfg.name, rc.Subtask, a.firstID, a.events, b.firstID)
		}
	}
	var mine []segment
	for j, sg := range segs {
		if j%rc.Parallelism == rc.Subtask {
			mine = append(mine, sg)
		}
	}
	if len(mine) == 0 {
		// Nothing left for this reader: an exhausted timeline.
		r.line.events, r.next = 1, 1
		return r, nil
	}
	r.line, r.next, r.others = mine[0].line, mine[0].next, mine[1:]
	r.gen.line = r.line
	// Pacing resumes at the earliest event due.
	r.paceFrom = math.MaxInt64
	for _, sg := range mine {
		r.paceFrom = min(r.paceFrom, sg.line.time(sg.next+1))
	}
	return r, nil
}

// peekAt returns the event time of segment sg's next event of the
// table's kind.
func (r *Reader) peekAt(sg segment) (int64, bool) {
	line, next := r.line, r.next
	r.line, r.next = sg.line, sg.next
	n, ok := r.peek()
	r.line, r.next = line, next
	if !ok {
		return 0, false
	}
	return sg.line.time(n), true
}

// pickSegment makes the timeline with the earliest next event the active
// one (dropping exhausted ones) and returns, when others remain, the
// event time up to which the active one may run ahead: the earliest next
// event of the others.
func (r *Reader) pickSegment() (merge bool, limit int64) {
	if len(r.others) == 0 {
		return false, 0
	}
	all := append(r.others, segment{r.line, r.next})
	best, bestT := -1, int64(0)
	live := all[:0]
	times := make([]int64, 0, len(all))
	for _, sg := range all {
		t, ok := r.peekAt(sg)
		if !ok {
			continue
		}
		live = append(live, sg)
		times = append(times, t)
		if best < 0 || t < bestT {
			best, bestT = len(live)-1, t
		}
	}
	if best < 0 {
		// Every timeline is done; keep one, exhausted, for io.EOF.
		r.others = nil
		r.next = r.line.events
		return false, 0
	}
	r.line, r.next = live[best].line, live[best].next
	limit = math.MaxInt64
	others := r.others[:0]
	for i, sg := range live {
		if i != best {
			others = append(others, sg)
			limit = min(limit, times[i])
		}
	}
	r.others = others
	return len(others) > 0, limit
}

package nexmark

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
)

// defaultBatch is the batch size when the runtime sets none, and
// maxBatchBytes bounds the size of a batch.
const (
	defaultBatch  = 4096
	maxBatchBytes = 1 << 30
)

// Source is a nexmark table being read.
type Source struct {
	cfg    *config
	kind   int
	key    uint64 // the seed's random key
	schema *arrow.Schema

	channels func() *channelTable
}

var _ connectors.Source = (*Source)(nil)

func newSource(cfg *config) *Source {
	s := &Source{cfg: cfg, kind: kindOf[cfg.table], key: mix64(uint64(cfg.seed) ^ 0x4E45584D41524B21), schema: cfg.schema.Arrow()}
	s.channels = sync.OnceValue(func() *channelTable { return newChannelTable(s.key) })
	return s
}

// Bounded reports whether 'events.num' is set.
func (s *Source) Bounded() bool { return s.cfg.events > 0 }

// Reader opens the reader of subtask rc.Subtask of rc.Parallelism: like
// upstream's source, it is a generator of its own, on its own event-time
// timeline, for the subtask's share of the event ids.
func (s *Source) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	if rc.Parallelism < 1 || rc.Subtask < 0 || rc.Subtask >= rc.Parallelism {
		return nil, fmt.Errorf("table '%s': reader %d of %d does not exist", s.cfg.name, rc.Subtask, rc.Parallelism)
	}
	p, i := int64(rc.Parallelism), int64(rc.Subtask)
	total := s.cfg.maxEvents()
	share := total / p
	count := share
	if i == p-1 {
		count = total - share*(p-1)
	}
	r := &Reader{
		src:      s,
		gen:      generator{cfg: s.cfg, key: s.key, text: sharedTexts()},
		alloc:    rc.Alloc,
		batch:    rc.BatchSize,
		paceFrom: s.cfg.base,
		line: timeline{
			firstID: 1 + i*share,
			events:  count,
			delayUs: 1e6 / float64(s.cfg.rate) * float64(p),
			base:    s.cfg.base,
		},
	}
	r.gen.line = r.line
	for _, f := range s.schema.Fields() {
		r.gen.dts = append(r.gen.dts, f.Type)
	}
	for _, c := range s.cfg.cols {
		if s.kind == kindBid && (c == bChannel || c == bURL) {
			r.gen.channels = s.channels()
		}
	}
	if r.alloc == nil {
		r.alloc = memory.DefaultAllocator
	}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	// Keep a batch's text well below the 2 GiB a string column can hold,
	// even with very large 'extra' sizes.
	r.batch = min(r.batch, int(maxBatchBytes/(max(s.cfg.avg[0], s.cfg.avg[1], s.cfg.avg[2])*2+512)))
	return r, nil
}

// timeline is one generator's share of the events, as upstream's
// GeneratorConfig splits them: its k-th event (k from 0) has event number
// k+1, event id firstID + k + 1 and event time base + ⌊(k+1)·delayUs⌋/1000
// milliseconds.
type timeline struct {
	// firstID is the generator's first event id minus one.
	firstID int64
	// events is the number of events (of all kinds) the generator makes.
	events int64
	// delayUs is the event-time distance between two events in
	// microseconds: 1e6 · parallelism / 'first-event.rate'.
	delayUs float64
	// base is 'base-time' in epoch milliseconds.
	base int64
}

// time returns the event time of event number n, in epoch milliseconds.
func (t timeline) time(n int64) int64 { return t.base + int64(float64(n)*t.delayUs)/1000 }

// Reader produces one subtask's share of a table.
type Reader struct {
	src   *Source
	gen   generator
	out   batch
	alloc memory.Allocator
	batch int
	line  timeline
	next  int64 // events (of every kind) consumed so far: the position

	// others are further timelines a restored reader merges with line by
	// event time (see position.go).
	others []segment

	started  time.Time // wall clock of the first batch, when paced
	paceFrom int64     // event time due at started, when paced
}

var _ connectors.Reader = (*Reader)(nil)

// EventsPassed returns how many events (of every kind) the reader has
// passed on its timeline.
func (r *Reader) EventsPassed() int64 { return r.next }

// SetEventsPassed makes the reader continue after pos events of its share.
func (r *Reader) SetEventsPassed(pos int64) error {
	if pos < 0 || pos > r.line.events {
		return fmt.Errorf("table '%s': position %d is outside the reader's %d events", r.src.cfg.name, pos, r.line.events)
	}
	r.next = pos
	r.started = time.Time{}
	r.paceFrom = r.src.cfg.base
	return nil
}

// Next returns the next batch of the table's rows: io.EOF when a bounded
// share is done, and (nil, nil) when the reader is paced ('max-emit-speed'
// = false) and no event is due yet.
func (r *Reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := r.src.cfg
	merge, mergeLimit := r.pickSegment()
	paced, limit := !cfg.maxSpeed, int64(0) // limit: the latest event time due when paced
	if paced {
		now := time.Now()
		if r.started.IsZero() {
			r.started = now
		}
		limit = r.paceFrom + now.Sub(r.started).Milliseconds()
		if n, ok := r.peek(); ok {
			if wait := time.Duration(r.line.time(n)-limit) * time.Millisecond; wait > 0 {
				t := time.NewTimer(min(wait, 100*time.Millisecond))
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, ctx.Err()
				case <-t.C:
				}
				limit = r.paceFrom + time.Since(r.started).Milliseconds()
			}
		}
	}
	if merge {
		if !paced || mergeLimit < limit {
			limit = mergeLimit
		}
		paced = true
	}
	n := r.collect(paced, limit)
	if n == 0 {
		if r.next >= r.line.events && cfg.events > 0 {
			return nil, io.EOF
		}
		// Paced and nothing due yet, or an unbounded share that ran out
		// of ids (after some 10^16 events).
		return nil, nil
	}
	r.out.reset(r.alloc, n)
	r.gen.line = r.line
	r.gen.fill(&r.out, r.src.kind, n)
	return r.out.record(r.src.schema), nil
}

// peek returns the event number of the next event of the table's kind.
func (r *Reader) peek() (int64, bool) {
	k := r.skip(r.next)
	if k >= r.line.events {
		return 0, false
	}
	return k + 1, true
}

// skip returns the first k >= from whose event is of the table's kind (or
// a k >= events if there is none).
func (r *Reader) skip(k int64) int64 {
	cfg := r.src.cfg
	lo, hi := cfg.kindRange(r.src.kind)
	res := (r.line.firstID + 1 + k) % cfg.total
	switch {
	case res < lo:
		k += lo - res
	case res >= hi:
		k += cfg.total - res + lo
	}
	return k
}

// collect gathers the next events of the table's kind, up to a batch (and,
// when paced, those whose event time is at most limit), into the
// generator's ids and numbers, and returns how many.
func (r *Reader) collect(paced bool, limit int64) int {
	g := &r.gen
	g.ids, g.nums = g.ids[:0], g.nums[:0]
	cfg := r.src.cfg
	_, hi := cfg.kindRange(r.src.kind)
	k := r.next
	for len(g.ids) < r.batch {
		k = r.skip(k)
		if k >= r.line.events {
			k = r.line.events
			break
		}
		// The run of this kind's events from k on.
		id := r.line.firstID + 1 + k
		run := min(hi-id%cfg.total, r.line.events-k, int64(r.batch-len(g.ids)))
		for j := int64(0); j < run; j++ {
			n := k + 1 + j
			if paced && r.line.time(n) > limit {
				r.next = k + j
				return len(g.ids)
			}
			g.ids = append(g.ids, id+j)
			g.nums = append(g.nums, n)
		}
		k += run
	}
	r.next = k
	return len(g.ids)
}

// Close releases nothing: the reader holds no batch between calls.
func (r *Reader) Close() error {
	r.out.release()
	return nil
}

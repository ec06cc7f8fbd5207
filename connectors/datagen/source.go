package datagen

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
)

// defaultBatch is the batch size when the runtime sets none.
const defaultBatch = 4096

// Source is a generated table.
type Source struct {
	cfg   *config
	key   uint64      // the stream's random key, from the seed
	rooms *aliasTable // nil when rooms are uniform
	price []int64     // catalogue prices by index
	gift  []int32     // catalogue ids by index
}

var _ connectors.Source = (*Source)(nil)

// Stream salts keep streams with the same seed apart.
var streamSalt = map[string]uint64{Gifts: 1, Comments: 2, Likes: 3, RoomEvents: 4, GiftCatalog: 5}

// NewSource validates the table and prepares the samplers.
func (f *Factory) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	cfg, err := parseConfig(info)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	return newSource(cfg), nil
}

func newSource(cfg *config) *Source {
	s := &Source{cfg: cfg, key: mix64(uint64(cfg.seed)^0x5DEECE66D) + streamSalt[cfg.stream]*gamma}
	if cfg.stream != GiftCatalog && cfg.skew > 0 && cfg.rooms > 1 {
		s.rooms = newAlias(zipfWeights(int(cfg.rooms), cfg.skew))
	}
	for _, g := range catalog {
		s.price = append(s.price, g.Price)
		s.gift = append(s.gift, g.ID)
	}
	return s
}

// Bounded reports whether 'number-of-rows' is set (gift_catalog always is).
func (s *Source) Bounded() bool { return s.cfg.bounded }

// Reader opens the reader of subtask rc.Subtask: it produces rows
// rc.Subtask, rc.Subtask + P, rc.Subtask + 2P, ...
func (s *Source) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	if rc.Parallelism < 1 || rc.Subtask < 0 || rc.Subtask >= rc.Parallelism {
		return nil, fmt.Errorf("table '%s': reader %d of %d does not exist", s.cfg.table, rc.Subtask, rc.Parallelism)
	}
	r := &Reader{
		src:     s,
		gen:     &generator{src: s, cfg: s.cfg},
		builder: format.NewBuilder(s.cfg.schema),
		alloc:   rc.Alloc,
		batch:   rc.BatchSize,
		subtask: int64(rc.Subtask),
		step:    int64(rc.Parallelism),
		next:    int64(rc.Subtask),
	}
	if r.alloc == nil {
		r.alloc = memory.DefaultAllocator
	}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	if s.cfg.rps > 0 {
		r.rate = s.cfg.rps / float64(rc.Parallelism)
		// About 20 batches a second keep a rate-limited stream smooth.
		r.batch = max(1, min(r.batch, int(r.rate/20)))
	}
	return r, nil
}

// Reader produces one subtask's rows.
type Reader struct {
	src     *Source
	gen     *generator
	builder *format.Builder
	alloc   memory.Allocator
	batch   int
	subtask int64
	step    int64
	next    int64 // index of the next row this reader produces

	// After a restore, levels say which rows earlier runs read (see
	// position.go); rows from hi on were read by none of them.
	levels []level
	hi     int64

	rate    float64 // rows per second for this reader; 0 = unlimited
	started time.Time
	emitted int64 // rows since started (for the rate limit)
}

var _ connectors.Reader = (*Reader)(nil)

// NextRow returns the index of the next row the reader will produce.
func (r *Reader) NextRow() int64 { return r.next }

// SetNextRow makes pos the next row the reader produces. pos must be one of
// this reader's rows (pos mod P == subtask).
func (r *Reader) SetNextRow(pos int64) error {
	if pos < 0 || pos%r.step != r.subtask {
		return fmt.Errorf("table '%s': row %d does not belong to reader %d of %d", r.src.cfg.table, pos, r.subtask, r.step)
	}
	r.next = pos
	r.levels, r.hi = nil, 0
	r.started, r.emitted = time.Time{}, 0
	return nil
}

// Next returns the next batch: io.EOF when a bounded share is done, and
// (nil, nil) when the rate limit says the next rows are not due yet.
func (r *Reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := int64(r.batch)
	if r.src.cfg.bounded {
		if r.next >= r.src.cfg.rows {
			return nil, io.EOF
		}
		// Rows next, next+step, ... below rows.
		n = min(n, (r.src.cfg.rows-r.next+r.step-1)/r.step)
	}
	if r.rate > 0 {
		now := time.Now()
		if r.started.IsZero() {
			r.started = now
		}
		due := r.started.Add(time.Duration(float64(r.emitted) / r.rate * float64(time.Second)))
		if wait := due.Sub(now); wait > 0 {
			t := time.NewTimer(min(wait, 100*time.Millisecond))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			if wait > 100*time.Millisecond {
				return nil, nil
			}
		}
	}
	got := 0
	if r.next < r.hi {
		got = r.fillRestored(int(n))
		if got == 0 && r.src.cfg.bounded {
			// What was left below hi had all been read.
			if r.next >= r.src.cfg.rows {
				return nil, io.EOF
			}
			n = min(int64(r.batch), (r.src.cfg.rows-r.next+r.step-1)/r.step)
		}
	}
	if got > 0 {
		n = int64(got)
	} else {
		r.gen.fill(r.builder, uint64(r.next), uint64(r.step), int(n))
		r.next += n * r.step
	}
	r.builder.CommitN(int(n))
	rec, err := r.builder.Build(r.alloc)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", r.src.cfg.table, err)
	}
	r.emitted += n
	return rec, nil
}

// Close releases nothing: the reader holds no resources between batches.
func (r *Reader) Close() error {
	r.builder.Rollback()
	return nil
}

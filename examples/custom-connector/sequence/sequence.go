package sequence

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// The option keys.
const (
	OptStart         = "start"
	OptEnd           = "end"
	OptSplits        = "splits"
	OptRowsPerSecond = "rows-per-second"
	OptEventStart    = "event-time.start"
	OptEventStep     = "event-time.step"
	maxSplits        = 100_000
)

var specs = []connectors.OptionSpec{
	{Key: OptStart, Type: connectors.OptInt, Default: "0",
		Description: "The first value of the sequence."},
	{Key: OptEnd, Type: connectors.OptInt,
		Description: "The values stay below this one and the source is bounded. Absent: unbounded."},
	{Key: OptSplits, Type: connectors.OptInt, Default: "4",
		Description: "How many splits the values are dealt to, round robin (1 to 100000)."},
	{Key: OptRowsPerSecond, Type: connectors.OptFloat, Default: "0",
		Description: "Rows per second across all readers; 0 reads as fast as possible."},
	{Key: OptEventStart, Type: connectors.OptString, Default: "2026-01-01 00:00:00",
		Description: "The ts of the first value, 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC)."},
	{Key: OptEventStep, Type: connectors.OptDuration, Default: "1 s",
		Description: "How much ts advances from one value to the next."},
}

// The columns a table may declare, in any order and any subset.
var columns = []types.Field{
	{Name: "seq", Type: types.BigIntType},
	{Name: "ts", Type: types.TimestampType},
	{Name: "parity", Type: types.StringType},
}

const (
	colSeq = iota
	colTS
	colParity
)

// Factory makes sequence sources.
type Factory struct{}

var (
	_ connectors.SplitSourceFactory = (*Factory)(nil)
	_ connectors.TableValidator     = (*Factory)(nil)
)

// New returns the sequence connector's factory.
func New() *Factory { return &Factory{} }

// Name returns "sequence", the value of the 'connector' option.
func (*Factory) Name() string { return "sequence" }

// Options lists the connector's options.
func (*Factory) Options() []connectors.OptionSpec { return specs }

// ValidateTable checks the declared columns and the options' ranges at
// CREATE TABLE.
func (*Factory) ValidateTable(info connectors.TableInfo) error {
	_, err := parse(info)
	return err
}

// NewSplitSource returns the table's source.
func (*Factory) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	cfg, err := parse(info)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	return &Source{cfg: cfg}, nil
}

// config is a table's checked options.
type config struct {
	schema  types.Schema
	cols    []int // declared column -> colSeq, colTS or colParity
	start   int64
	end     int64 // exclusive, when bounded
	bounded bool
	splits  int
	rps     float64
	t0      int64 // ts of start, epoch ms
	stepMs  int64
}

func parse(info connectors.TableInfo) (*config, error) {
	if err := connectors.ValidateOptions(specs, info.Options); err != nil {
		return nil, err
	}
	c := &config{schema: info.Schema}
	if info.Schema.Len() == 0 {
		return nil, fmt.Errorf("the table declares no columns; a sequence has seq BIGINT, ts TIMESTAMP(3) and parity STRING")
	}
	for _, f := range info.Schema.Fields {
		k := -1
		for j, col := range columns {
			if strings.EqualFold(col.Name, f.Name) {
				k = j
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("column '%s' is not a column of a sequence (seq BIGINT, ts TIMESTAMP(3), parity STRING)", f.Name)
		}
		want := columns[k].Type
		if f.Type.Kind != want.Kind || (want.Kind == types.Timestamp && f.Type.Precision != 3) || (want.Kind == types.String && f.Type.Length != 0) {
			return nil, fmt.Errorf("column '%s' is declared %s, but a sequence's %s is %s", f.Name, f.Type.Plain(), columns[k].Name, want)
		}
		c.cols = append(c.cols, k)
	}
	opt := func(k string) string { return connectors.Option(specs, info.Options, k) }
	var err error
	if c.start, err = strconv.ParseInt(opt(OptStart), 10, 64); err != nil {
		return nil, fmt.Errorf("option '%s': %w", OptStart, err)
	}
	if v, ok := info.Options[OptEnd]; ok {
		c.bounded = true
		if c.end, err = strconv.ParseInt(v, 10, 64); err != nil || c.end < c.start {
			return nil, fmt.Errorf("option '%s': '%s' is not an integer at least 'start' (%d)", OptEnd, v, c.start)
		}
	}
	n, err := strconv.Atoi(opt(OptSplits))
	if err != nil || n < 1 || n > maxSplits {
		return nil, fmt.Errorf("option '%s': '%s' is out of range (1 to %d)", OptSplits, opt(OptSplits), maxSplits)
	}
	c.splits = n
	if c.rps, err = strconv.ParseFloat(opt(OptRowsPerSecond), 64); err != nil || c.rps < 0 || math.IsInf(c.rps, 0) || math.IsNaN(c.rps) {
		return nil, fmt.Errorf("option '%s': '%s' is not a rate of at least 0", OptRowsPerSecond, opt(OptRowsPerSecond))
	}
	t0, ok := sqltext.ParseTimestamp([]byte(opt(OptEventStart)))
	if !ok {
		return nil, fmt.Errorf("option '%s': '%s' is not a timestamp 'yyyy-MM-dd HH:mm:ss[.SSS]'", OptEventStart, opt(OptEventStart))
	}
	c.t0 = t0
	step, err := connectors.ParseDuration(opt(OptEventStep))
	if err != nil || step < 0 {
		return nil, fmt.Errorf("option '%s': '%s' is not a duration of at least 0", OptEventStep, opt(OptEventStep))
	}
	c.stepMs = step.Milliseconds()
	return c, nil
}

// Source is a table being read.
type Source struct{ cfg *config }

// Bounded reports whether the table has an 'end'.
func (s *Source) Bounded() bool { return s.cfg.bounded }

// splitState is a split's State: which split and the next value it
// yields (its values are next, next+stride, ... below end).
type splitState struct {
	Index int   `json:"index"`
	Next  int64 `json:"next"`
}

// splitID names split i.
func splitID(i int) string { return "split-" + strconv.Itoa(i) }

// enumState is the enumerator's checkpoint.
type enumState struct {
	Discovered bool `json:"discovered"`
}

// NewEnumerator returns the enumerator: it hands out every split at its
// first Discover, unless its checkpoint says it already did.
func (s *Source) NewEnumerator(ctx context.Context, ec connectors.EnumeratorContext, checkpoint []byte) (connectors.SplitEnumerator, error) {
	e := &enumerator{cfg: s.cfg}
	if checkpoint != nil {
		var st enumState
		if err := json.Unmarshal(checkpoint, &st); err != nil {
			return nil, fmt.Errorf("sequence: enumerator checkpoint %q: %w", checkpoint, err)
		}
		e.discovered = st.Discovered
	}
	return e, nil
}

type enumerator struct {
	cfg        *config
	discovered bool
}

// Discover returns every split the first time, none later; the set of
// splits never grows.
func (e *enumerator) Discover(ctx context.Context) ([]connectors.Split, bool, error) {
	if e.discovered {
		return nil, true, nil
	}
	e.discovered = true
	out := make([]connectors.Split, 0, e.cfg.splits)
	for i := 0; i < e.cfg.splits; i++ {
		st, err := json.Marshal(splitState{Index: i, Next: e.cfg.start + int64(i)})
		if err != nil {
			return nil, false, err
		}
		out = append(out, connectors.Split{ID: splitID(i), State: st})
	}
	return out, true, nil
}

// Snapshot says whether the splits were handed out.
func (e *enumerator) Snapshot() ([]byte, error) {
	return json.Marshal(enumState{Discovered: e.discovered})
}

// Close does nothing.
func (e *enumerator) Close() error { return nil }

// NewSplitReader returns the reader of source subtask rc.Subtask.
func (s *Source) NewSplitReader(ctx context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	if rc.BatchSize < 1 || rc.Alloc == nil || rc.Parallelism < 1 {
		return nil, fmt.Errorf("sequence: reader context of subtask %d lacks a batch size, allocator or parallelism", rc.Subtask)
	}
	return &reader{cfg: s.cfg, rc: rc}, nil
}

type reader struct {
	cfg    *config
	rc     connectors.ReaderContext
	splits []*splitState
	turn   int
	// For 'rows-per-second': when the first row was read and how many
	// rows since.
	since time.Time
	rows  int64
}

// AddSplits takes new splits or restored ones.
func (r *reader) AddSplits(ctx context.Context, splits []connectors.Split) error {
	for _, s := range splits {
		var st splitState
		if err := json.Unmarshal(s.State, &st); err != nil {
			return fmt.Errorf("sequence: split %s: state %q: %w", s.ID, s.State, err)
		}
		if st.Index < 0 || st.Index >= r.cfg.splits || s.ID != splitID(st.Index) {
			return fmt.Errorf("sequence: split %s: state %q does not belong to a table of %d splits", s.ID, s.State, r.cfg.splits)
		}
		r.splits = append(r.splits, &st)
	}
	return nil
}

// Next reads the next batch of one split, taking the splits in turn.
func (r *reader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	if len(r.splits) == 0 {
		return connectors.SplitBatch{}, nil
	}
	n := int64(r.rc.BatchSize)
	if r.cfg.rps > 0 {
		if r.since.IsZero() {
			r.since = time.Now()
		}
		allowed := int64(time.Since(r.since).Seconds()*r.cfg.rps/float64(r.rc.Parallelism)) + 1 - r.rows
		if allowed <= 0 {
			return connectors.SplitBatch{}, nil
		}
		n = min(n, allowed)
	}
	r.turn = (r.turn + 1) % len(r.splits)
	s := r.splits[r.turn]
	stride := int64(r.cfg.splits)
	if r.cfg.bounded {
		// Values left: next, next+stride, ... below end.
		left := int64(0)
		if s.Next < r.cfg.end {
			left = (r.cfg.end-s.Next-1)/stride + 1
		}
		n = min(n, left)
	}
	sb := connectors.SplitBatch{Split: splitID(s.Index)}
	if n > 0 {
		sb.Batch = stream.Batch{Record: r.build(s.Next, stride, int(n))}
		s.Next += n * stride
		r.rows += n
	}
	if r.cfg.bounded && s.Next >= r.cfg.end {
		sb.Finished = true
		r.splits = append(r.splits[:r.turn], r.splits[r.turn+1:]...)
	}
	return sb, nil
}

// build makes the rows first, first+stride, ... (n of them), a column at a
// time.
func (r *reader) build(first, stride int64, n int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(r.cfg.cols))
	for i, k := range r.cfg.cols {
		switch k {
		case colSeq:
			b := array.NewInt64Builder(r.rc.Alloc)
			b.Reserve(n)
			for j := int64(0); j < int64(n); j++ {
				b.UnsafeAppend(first + j*stride)
			}
			cols[i] = b.NewArray()
			b.Release()
		case colTS:
			b := array.NewTimestampBuilder(r.rc.Alloc, arrow.FixedWidthTypes.Timestamp_ms.(*arrow.TimestampType))
			b.Reserve(n)
			for j := int64(0); j < int64(n); j++ {
				b.UnsafeAppend(arrow.Timestamp(r.cfg.t0 + (first+j*stride-r.cfg.start)*r.cfg.stepMs))
			}
			cols[i] = b.NewArray()
			b.Release()
		case colParity:
			b := array.NewStringBuilder(r.rc.Alloc)
			b.Reserve(n)
			for j := int64(0); j < int64(n); j++ {
				if (first+j*stride)%2 == 0 {
					b.Append("even")
				} else {
					b.Append("odd")
				}
			}
			cols[i] = b.NewArray()
			b.Release()
		}
	}
	rec := array.NewRecordBatch(r.cfg.schema.Arrow(), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// Snapshot returns the unfinished splits with their next values.
func (r *reader) Snapshot() ([]connectors.Split, error) {
	out := make([]connectors.Split, 0, len(r.splits))
	for _, s := range r.splits {
		st, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		out = append(out, connectors.Split{ID: splitID(s.Index), State: st})
	}
	return out, nil
}

// Close does nothing: the reader holds no resources.
func (r *reader) Close() error { return nil }

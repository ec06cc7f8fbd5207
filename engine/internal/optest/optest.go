package optest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// NoWatermark marks rows emitted outside ProcessWatermark.
const NoWatermark = int64(-1 << 63)

// Row is one emitted row.
type Row struct {
	// Text is the row rendered by RenderRow.
	Text string
	// Watermark is the argument of the ProcessWatermark call that emitted
	// the row, or NoWatermark if it was emitted by ProcessBatch.
	Watermark int64
	// Cols holds the row's cells rendered one by one.
	Cols []string
}

// Collector is an operator.Collector that renders and releases every batch.
type Collector struct {
	Rows    []Row
	Batches int
	// Schema is the schema of the first batch.
	Schema *arrow.Schema
	// Current is recorded as Row.Watermark; the test sets it around
	// ProcessWatermark calls.
	Current int64
	// Err, when set, is returned by Emit (after releasing the batch).
	Err error
}

// NewCollector returns an empty collector.
func NewCollector() *Collector { return &Collector{Current: NoWatermark} }

// Emit implements operator.Collector.
func (c *Collector) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	if c.Err != nil {
		return c.Err
	}
	c.Batches++
	if c.Schema == nil {
		c.Schema = b.Record.Schema()
	} else if !c.Schema.Equal(b.Record.Schema()) {
		return fmt.Errorf("optest: batch schema %s differs from %s", b.Record.Schema(), c.Schema)
	}
	for i := 0; i < b.NumRows(); i++ {
		if k := b.Kind(i); k != stream.Insert {
			return fmt.Errorf("optest: row kind %s, want +I", k)
		}
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = RenderValue(b.Record.Column(j), i)
		}
		c.Rows = append(c.Rows, Row{Text: strings.Join(cols, "|"), Watermark: c.Current, Cols: cols})
	}
	return nil
}

// Texts returns the rendered rows.
func (c *Collector) Texts() []string {
	out := make([]string, len(c.Rows))
	for i, r := range c.Rows {
		out[i] = r.Text
	}
	return out
}

// RenderValue renders row i of a: "null", integers and timestamps (epoch
// ms) in decimal, doubles in Go's shortest 'g' form, decimals with exactly
// their scale's fractional digits, strings quoted with %q, booleans as
// true/false.
func RenderValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.Timestamp:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Float64:
		return Float(a.Value(i))
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Decimal128:
		v := a.Value(i)
		return Decimal(v.BigInt(), int(a.DataType().(*arrow.Decimal128Type).Scale))
	}
	return a.ValueStr(i)
}

// Float renders a double as RenderValue does.
func Float(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Decimal renders the unscaled value u at scale s, as RenderValue does.
func Decimal(u *big.Int, s int) string {
	d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil)
	return new(big.Rat).SetFrac(u, d).FloatString(s)
}

// Metrics is an operator.Metrics whose counters can be read back.
type Metrics struct {
	mu sync.Mutex
	m  map[string]*Counter
}

// Counter is a readable counter.
type Counter struct {
	mu sync.Mutex
	v  float64
}

// Add implements operator.Counter.
func (c *Counter) Add(d float64) {
	c.mu.Lock()
	c.v += d
	c.mu.Unlock()
}

// Counter implements operator.Metrics.
func (m *Metrics) Counter(name, help string) operator.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]*Counter{}
	}
	c, ok := m.m[name]
	if !ok {
		c = &Counter{}
		m.m[name] = c
	}
	return c
}

// Value returns the value of counter name (0 if it was never created).
func (m *Metrics) Value(name string) float64 {
	m.mu.Lock()
	c := m.m[name]
	m.mu.Unlock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v
}

// MaxParallelism is the number of key groups of contexts made by NewContext.
const MaxParallelism = 128

// NewContext returns an operator context for subtask 0 of 1 owning every
// key group, with an in-memory state backend, fake metrics, the given
// allocator and config, and a logger that discards its output.
func NewContext(mem memory.Allocator, cfg map[string]string) (*operator.Context, *Metrics) {
	m := &Metrics{}
	return &operator.Context{
		JobName:        "test",
		VertexID:       "v1",
		OperatorID:     "op1",
		Parallelism:    1,
		MaxParallelism: MaxParallelism,
		Alloc:          mem,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:        m,
		KeyGroups:      keygroup.Range{Start: 0, End: MaxParallelism},
		State:          memstate.New(),
		Config:         cfg,
	}, m
}

// AssertSameRows fails t unless got and want hold the same rows with the
// same multiplicities, showing up to 10 rows only in each.
func AssertSameRows(t testing.TB, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var onlyGot, onlyWant []string
	for k, n := range count {
		for ; n < 0; n++ {
			onlyGot = append(onlyGot, k)
		}
		for ; n > 0; n-- {
			onlyWant = append(onlyWant, k)
		}
	}
	if len(onlyGot)+len(onlyWant) == 0 {
		return
	}
	sort.Strings(onlyGot)
	sort.Strings(onlyWant)
	show := func(rows []string) string {
		if len(rows) > 10 {
			return strings.Join(rows[:10], "\n  ") + fmt.Sprintf("\n  ... (%d more)", len(rows)-10)
		}
		return strings.Join(rows, "\n  ")
	}
	t.Fatalf("output differs from reference (%d rows, want %d)\nunexpected:\n  %s\nmissing:\n  %s",
		len(got), len(want), show(onlyGot), show(onlyWant))
}

// CPUTime returns the user plus system CPU time of the process, for
// benchmarks that report rows per CPU-second.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Discard is a Collector that releases every batch and counts rows.
type Discard struct{ Rows int }

// Emit implements operator.Collector.
func (d *Discard) Emit(ctx context.Context, b stream.Batch) error {
	d.Rows += b.NumRows()
	b.Release()
	return nil
}

// Dec is a DECIMAL value for tests: Unscaled * 10^-Scale.
type Dec struct {
	Unscaled int64
	Scale    int
}

// Append appends the Go value v to b: nil appends NULL; int64, int32,
// float64, string, bool, arrow.Timestamp and Dec go to builders of their
// type. It fails t on any other value or a builder of another type.
func Append(t testing.TB, b array.Builder, v any) {
	t.Helper()
	ok := true
	switch v := v.(type) {
	case nil:
		b.AppendNull()
	case int64:
		var bb *array.Int64Builder
		if bb, ok = b.(*array.Int64Builder); ok {
			bb.Append(v)
		}
	case int32:
		var bb *array.Int32Builder
		if bb, ok = b.(*array.Int32Builder); ok {
			bb.Append(v)
		}
	case float64:
		var bb *array.Float64Builder
		if bb, ok = b.(*array.Float64Builder); ok {
			bb.Append(v)
		}
	case string:
		var bb *array.StringBuilder
		if bb, ok = b.(*array.StringBuilder); ok {
			bb.Append(v)
		}
	case bool:
		var bb *array.BooleanBuilder
		if bb, ok = b.(*array.BooleanBuilder); ok {
			bb.Append(v)
		}
	case arrow.Timestamp:
		var bb *array.TimestampBuilder
		if bb, ok = b.(*array.TimestampBuilder); ok {
			bb.Append(v)
		}
	case Dec:
		var bb *array.Decimal128Builder
		if bb, ok = b.(*array.Decimal128Builder); ok {
			bb.Append(decimal128.FromI64(v.Unscaled))
		}
	default:
		ok = false
	}
	if !ok {
		t.Fatalf("optest: cannot append %T %v to a %s builder", v, v, b.Type())
	}
}

// Render renders the Go value v (as Append takes it) the way RenderValue
// renders the Arrow value Append makes of it.
func Render(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case arrow.Timestamp:
		return strconv.FormatInt(int64(v), 10)
	case float64:
		return Float(v)
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case Dec:
		return Decimal(big.NewInt(v.Unscaled), v.Scale)
	}
	return fmt.Sprintf("%v", v)
}

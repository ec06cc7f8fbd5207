package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/planner"
)

// gift is one row of the gifts stream in test data.
type gift struct {
	Room, User int64
	Gift       int32
	Qty        int32
	QtyNull    bool
	Amount     int64
	Ts         int64 // event time, ms
}

// genGifts makes n random gifts with skewed rooms whose event times advance
// and are out of order by at most maxDelay ms.
func genGifts(r *rand.Rand, n, rooms, giftKinds int, maxDelay int64) []gift {
	out := make([]gift, n)
	base := int64(1_767_225_600_000) // 2026-01-01 00:00:00 UTC
	for i := range out {
		base += r.Int64N(40)
		room := int64(1 + int(float64(rooms)*r.Float64()*r.Float64())) // skewed towards room 1
		q := int32(1 + r.IntN(5))
		g := int32(1 + r.IntN(giftKinds))
		out[i] = gift{
			Room:    room,
			User:    int64(r.IntN(500)),
			Gift:    g,
			Qty:     q,
			QtyNull: r.IntN(20) == 0,
			Amount:  int64(g) * 10 * int64(q),
			Ts:      base - r.Int64N(maxDelay+1),
		}
	}
	return out
}

// memSource is a test connector serving in-memory Arrow data: subtask s of P
// reads the s-th contiguous share in batches of random size.
type memSource struct {
	mu   sync.Mutex
	data map[string]arrow.RecordBatch
	seed uint64
}

func (m *memSource) Name() string { return "memory" }
func (m *memSource) Options() []connectors.OptionSpec {
	return []connectors.OptionSpec{{Key: "dataset", Type: connectors.OptString, Required: true, Description: "test dataset name"}}
}

func (m *memSource) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.data[info.Options["dataset"]]
	if !ok {
		return nil, fmt.Errorf("memory: no dataset %q", info.Options["dataset"])
	}
	return &memTable{rec: rec, seed: m.seed}, nil
}

type memTable struct {
	rec  arrow.RecordBatch
	seed uint64
}

func (t *memTable) Bounded() bool { return true }

func (t *memTable) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	n := t.rec.NumRows()
	lo := n * int64(rc.Subtask) / int64(rc.Parallelism)
	hi := n * int64(rc.Subtask+1) / int64(rc.Parallelism)
	return &memReader{rec: t.rec, pos: lo, end: hi, r: rand.New(rand.NewPCG(t.seed, uint64(rc.Subtask)))}, nil
}

type memReader struct {
	rec      arrow.RecordBatch
	pos, end int64
	r        *rand.Rand
}

func (m *memReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if m.pos >= m.end {
		return nil, io.EOF
	}
	size := 1 + m.r.Int64N(2000)
	if m.r.IntN(10) == 0 {
		size = 1 + m.r.Int64N(5)
	}
	hi := min(m.pos+size, m.end)
	b := m.rec.NewSlice(m.pos, hi)
	m.pos = hi
	return b, nil
}

func (m *memReader) Close() error { return nil }

// collectSink keeps every row written to it, rendered as text, by table.
type collectSink struct {
	mu   sync.Mutex
	rows map[string][]string
}

func (c *collectSink) Name() string { return "collect" }
func (c *collectSink) Options() []connectors.OptionSpec {
	return nil
}

func (c *collectSink) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return &collectTable{c: c, name: info.Name}, nil
}

type collectTable struct {
	c    *collectSink
	name string
}

func (t *collectTable) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	return &collectWriter{t: t}, nil
}

type collectWriter struct{ t *collectTable }

func (w *collectWriter) Write(ctx context.Context, b stream.Batch) error {
	rows := renderRows(b)
	w.t.c.mu.Lock()
	w.t.c.rows[w.t.name] = append(w.t.c.rows[w.t.name], rows...)
	w.t.c.mu.Unlock()
	return nil
}

func (w *collectWriter) Close(ctx context.Context) error { return nil }
func (w *collectWriter) Abort(ctx context.Context) error { return nil }

// renderRows renders each row as "kind|v1|v2|..." with timestamps in ms and
// NULL as "null".
func renderRows(b stream.Batch) []string {
	rec := b.Record
	out := make([]string, rec.NumRows())
	for i := range out {
		var sb strings.Builder
		sb.WriteString(b.Kind(i).String())
		for c := 0; c < int(rec.NumCols()); c++ {
			sb.WriteByte('|')
			sb.WriteString(renderValue(rec.Column(c), i))
		}
		out[i] = sb.String()
	}
	return out
}

func renderValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.Timestamp:
		return fmt.Sprint(int64(a.Value(i)))
	case *array.Int64:
		return fmt.Sprint(a.Value(i))
	case *array.Int32:
		return fmt.Sprint(a.Value(i))
	case *array.Float64:
		return fmt.Sprintf("%.6g", a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return fmt.Sprint(a.Value(i))
	case *array.Decimal128:
		return a.ValueStr(i)
	}
	return a.ValueStr(i)
}

// giftsRecord turns test gifts into one Arrow record with the gifts schema.
func giftsRecord(mem memory.Allocator, gs []gift) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "room_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "gift_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, g := range gs {
		b.Field(0).(*array.Int64Builder).Append(g.Room)
		b.Field(1).(*array.Int64Builder).Append(g.User)
		b.Field(2).(*array.Int32Builder).Append(g.Gift)
		if g.QtyNull {
			b.Field(3).(*array.Int32Builder).AppendNull()
		} else {
			b.Field(3).(*array.Int32Builder).Append(g.Qty)
		}
		b.Field(4).(*array.Int64Builder).Append(g.Amount)
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(g.Ts))
	}
	return b.NewRecordBatch()
}

// runSQL compiles script and runs it with a registry that also serves the
// given in-memory datasets ('connector' = 'memory') and collects sink rows
// ('connector' = 'collect'). It returns the collected rows by sink table.
func runSQL(t *testing.T, script string, parallelism int, datasets map[string]arrow.RecordBatch, seed uint64, alloc memory.Allocator) (map[string][]string, *runtime.Result) {
	t.Helper()
	reg := builtin.Registry()
	src := &memSource{data: datasets, seed: seed}
	sink := &collectSink{rows: map[string][]string{}}
	if err := reg.Register(src); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(sink); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan, err := planner.Compile(ctx, "test.sql", script, planner.Options{JobName: t.Name(), Parallelism: parallelism, Registry: reg})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	res, err := runtime.Run(ctx, plan.Graph, runtime.Options{
		Connectors: reg,
		Operators:  operators.Factories(),
		Alloc:      alloc,
		BatchSize:  1 + int(seed%3000),
	})
	if err != nil {
		t.Fatalf("run: %v\nplan:\n%s", err, plan.Explain())
	}
	return sink.rows, res
}

// diffMultisets reports the rows only in got and only in want.
func diffMultisets(got, want []string) (onlyGot, onlyWant []string) {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for n := count[k]; n < 0; n++ {
			onlyGot = append(onlyGot, k)
		}
		for n := count[k]; n > 0; n-- {
			onlyWant = append(onlyWant, k)
		}
	}
	return onlyGot, onlyWant
}

func assertSameRows(t *testing.T, got, want []string) {
	t.Helper()
	onlyGot, onlyWant := diffMultisets(got, want)
	if len(onlyGot)+len(onlyWant) == 0 {
		return
	}
	show := func(rows []string) string {
		if len(rows) > 10 {
			return strings.Join(rows[:10], "\n  ") + fmt.Sprintf("\n  ... (%d more)", len(rows)-10)
		}
		return strings.Join(rows, "\n  ")
	}
	t.Fatalf("output differs from reference (%d rows vs %d expected)\nunexpected:\n  %s\nmissing:\n  %s",
		len(got), len(want), show(onlyGot), show(onlyWant))
}

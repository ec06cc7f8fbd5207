package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// allTypes is a schema with a column of every type.
var allTypes = types.Schema{Fields: []types.Field{
	{Name: "b", Type: types.BooleanType},
	{Name: "i", Type: types.IntType},
	{Name: "l", Type: types.BigIntType},
	{Name: "d", Type: types.DoubleType},
	{Name: "m", Type: types.DecimalType(18, 4)},
	{Name: "w", Type: types.DecimalType(38, 10)},
	{Name: "s", Type: types.StringType},
	{Name: "t", Type: types.TimestampType},
	{Name: "s2", Type: types.StringType},
}}

// row is a reference row: one Go value per column, nil for NULL.
type row []any

var stringRunes = []rune{'a', 'b', 'Z', '0', ' ', ',', '"', '\n', '\r', '\t', '\\', '/', 'é', '中', '😀', '\x01', '{', '}', ':', '#'}

func randomString(r *rand.Rand) string {
	n := r.IntN(12)
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = stringRunes[r.IntN(len(stringRunes))]
	}
	return string(rs)
}

func randomDecimal(r *rand.Rand, prec, scale int) *big.Int {
	digits := 1 + r.IntN(prec)
	v := new(big.Int)
	for i := 0; i < digits; i++ {
		v.Mul(v, big.NewInt(10))
		v.Add(v, big.NewInt(int64(r.IntN(10))))
	}
	if r.IntN(2) == 0 {
		v.Neg(v)
	}
	return v
}

func randomValue(r *rand.Rand, t types.Type) any {
	switch t.Kind {
	case types.Boolean:
		return r.IntN(2) == 0
	case types.Int:
		return int32(r.Uint32())
	case types.BigInt:
		if r.IntN(2) == 0 {
			return r.Int64N(2000) - 1000
		}
		return int64(r.Uint64())
	case types.Double:
		switch r.IntN(10) {
		case 0:
			return []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64}[r.IntN(7)]
		case 1, 2:
			return float64(r.IntN(1000)) / 8
		}
		return math.Float64frombits(r.Uint64()&^(0x7ff<<52)|uint64(900+r.IntN(250))<<52) * float64(1-2*r.IntN(2))
	case types.Decimal:
		return randomDecimal(r, t.Precision, t.Scale)
	case types.String:
		return randomString(r)
	case types.Timestamp:
		// 1900 .. 2100
		return r.Int64N(6_311_433_600_000) - 2_208_988_800_000
	}
	panic("type")
}

func randomRows(r *rand.Rand, schema types.Schema, n int, nullEvery int) []row {
	rows := make([]row, n)
	for i := range rows {
		rw := make(row, len(schema.Fields))
		for c, f := range schema.Fields {
			if nullEvery > 0 && r.IntN(nullEvery) == 0 {
				continue
			}
			rw[c] = randomValue(r, f.Type)
		}
		rows[i] = rw
	}
	return rows
}

// canon renders a value so that equal values, and only those, render alike.
func canon(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case float64:
		if math.IsNaN(v) {
			return "NaN"
		}
		return fmt.Sprintf("f%x", math.Float64bits(v))
	case *big.Int:
		return "m" + v.String()
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%T:%v", v, v)
}

func canonRow(rw row) string {
	parts := make([]string, len(rw))
	for i, v := range rw {
		parts[i] = canon(v)
	}
	return strings.Join(parts, "|")
}

// buildBatch builds an Arrow batch of rows with arrow's own builders.
func buildBatch(mem memory.Allocator, schema types.Schema, rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	for _, rw := range rows {
		for c, v := range rw {
			fb := b.Field(c)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.Int32Builder:
				fb.Append(v.(int32))
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromBigInt(v.(*big.Int)))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(int64)))
			}
		}
	}
	return b.NewRecordBatch()
}

// rowsOf turns a batch back into reference rows.
func rowsOf(rec arrow.RecordBatch) []row {
	out := make([]row, rec.NumRows())
	for i := range out {
		rw := make(row, rec.NumCols())
		for c := range rw {
			a := rec.Column(c)
			if a.IsNull(i) {
				continue
			}
			switch a := a.(type) {
			case *array.Boolean:
				rw[c] = a.Value(i)
			case *array.Int32:
				rw[c] = a.Value(i)
			case *array.Int64:
				rw[c] = a.Value(i)
			case *array.Float64:
				rw[c] = a.Value(i)
			case *array.Decimal128:
				rw[c] = a.Value(i).BigInt()
			case *array.String:
				rw[c] = a.Value(i)
			case *array.Timestamp:
				rw[c] = int64(a.Value(i))
			}
		}
		out[i] = rw
	}
	return out
}

func sameMultiset(t *testing.T, got, want []string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row multisets differ: got %s, want %s", got[i], want[i])
		}
	}
}

// counters is a fake operator.Metrics.
type counters struct {
	mu sync.Mutex
	m  map[string]float64
}

type counter struct {
	c    *counters
	name string
}

func (c counter) Add(d float64) { c.c.mu.Lock(); c.c.m[c.name] += d; c.c.mu.Unlock() }

func (c *counters) Counter(name, help string) operator.Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]float64{}
	}
	return counter{c, name}
}

func (c *counters) get(name string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

// readAll reads every reader of src, each with random batch sizes, and
// returns the rows and, per reader, the error that ended it (nil for EOF).
func readAll(t *testing.T, src connectors.Source, parallelism int, r *rand.Rand, mem memory.Allocator, rc connectors.ReaderContext) ([]row, []error) {
	t.Helper()
	var rows []row
	errs := make([]error, parallelism)
	for s := 0; s < parallelism; s++ {
		rc := rc
		rc.Subtask, rc.Parallelism, rc.BatchSize, rc.Alloc = s, parallelism, 1+r.IntN(700), mem
		rd, err := src.Reader(context.Background(), rc)
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := rd.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs[s] = err
				break
			}
			if rec == nil {
				t.Fatal("bounded reader returned no batch and no error")
			}
			if rec.NumRows() == 0 || int(rec.NumRows()) > rc.BatchSize {
				t.Fatalf("batch of %d rows, batch size %d", rec.NumRows(), rc.BatchSize)
			}
			rows = append(rows, rowsOf(rec)...)
			rec.Release()
		}
		if err := rd.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return rows, errs
}

func table(name string, schema types.Schema, opts map[string]string) connectors.TableInfo {
	o := map[string]string{"connector": "filesystem"}
	for k, v := range opts {
		o[k] = v
	}
	return connectors.TableInfo{Name: name, Schema: schema, Options: o}
}

// writeRows writes rows through the sink with the given number of writers,
// each taking a random share in random batches, and closes them.
func writeRows(t *testing.T, sink connectors.Sink, schema types.Schema, rows []row, writers int, r *rand.Rand, mem memory.Allocator) {
	t.Helper()
	ws := make([]connectors.Writer, writers)
	for s := range ws {
		w, err := sink.Writer(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: writers, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		ws[s] = w
	}
	for len(rows) > 0 {
		n := min(len(rows), 1+r.IntN(200))
		rec := buildBatch(mem, schema, rows[:n])
		if err := ws[r.IntN(writers)].Write(context.Background(), stream.Batch{Record: rec}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rows = rows[n:]
	}
	for _, w := range ws {
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// crash releases w's open files as a dying process would: buffered
// Parquet data is lost, the files stay, nothing is committed or removed.
func (w *Writer) crash() {
	for rel, bk := range w.buckets {
		if bk.pw != nil {
			bk.pw.Abort()
		}
		bk.f.Close()
		delete(w.buckets, rel)
	}
	w.closed = true
}

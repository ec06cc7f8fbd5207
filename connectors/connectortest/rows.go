package connectortest

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// AllTypesSchema returns a schema with a column of every type a table can
// declare (BOOLEAN, INT, BIGINT, DOUBLE, two DECIMALs, STRING, VARCHAR(n),
// TIMESTAMP(3), TIMESTAMP_LTZ(3)) and a NOT NULL BIGINT 'id' first, for
// sinks and formats that accept them all.
func AllTypesSchema() types.Schema {
	ltz := types.TimestampType
	ltz.LocalZone = true
	notNull := types.BigIntType
	notNull.NotNull = true
	return types.Schema{Fields: []types.Field{
		{Name: "id", Type: notNull},
		{Name: "b", Type: types.BooleanType},
		{Name: "i", Type: types.IntType},
		{Name: "l", Type: types.BigIntType},
		{Name: "d", Type: types.DoubleType},
		{Name: "m", Type: types.DecimalType(10, 2)},
		{Name: "big", Type: types.DecimalType(38, 9)},
		{Name: "s", Type: types.StringType},
		{Name: "v", Type: types.Type{Kind: types.String, Length: 12}},
		{Name: "ts", Type: types.TimestampType},
		{Name: "ltz", Type: ltz},
	}}
}

// Generator makes random rows of any schema, for sinks to write and
// harnesses to put into their external systems.
type Generator struct {
	// NullRate is the share of NULLs in nullable columns: 0 means 1 in
	// 10, a negative rate none.
	NullRate float64
	// NoEmptyStrings avoids empty strings (formats that write NULL as an
	// empty field cannot tell them apart).
	NoEmptyStrings bool
	// ASCII keeps strings to printable ASCII letters, digits and blanks
	// (no quotes, commas or separators), for formats that do not quote.
	ASCII bool
}

const (
	tsLow  = 946_684_800_000   // 2000-01-01
	tsHigh = 4_102_444_800_000 // 2100-01-01
)

var (
	plainRunes = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")
	richRunes  = []rune("abcXYZ019 ,;|\"'\\/{}[]:-_.é中€")
)

// Record returns n random rows of schema, allocated from mem. Doubles are
// binary fractions with short decimal forms (so text formats round-trip
// them exactly); timestamps lie in [2000, 2100).
func (g Generator) Record(r *rand.Rand, schema types.Schema, n int, mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	nullRate := g.NullRate
	if nullRate == 0 {
		nullRate = 0.1
	}
	for c, f := range schema.Fields {
		fb := b.Field(c)
		for range n {
			if !f.Type.NotNull && nullRate > 0 && r.Float64() < nullRate {
				fb.AppendNull()
				continue
			}
			g.appendValue(r, f.Type, fb)
		}
	}
	return b.NewRecordBatch()
}

func (g Generator) appendValue(r *rand.Rand, t types.Type, fb array.Builder) {
	switch t.Kind {
	case types.Boolean:
		fb.(*array.BooleanBuilder).Append(r.IntN(2) == 0)
	case types.Int:
		fb.(*array.Int32Builder).Append(int32(randInt(r, 32)))
	case types.BigInt:
		fb.(*array.Int64Builder).Append(randInt(r, 64))
	case types.Double:
		// ±m / 2^k: exact in binary, short in decimal.
		v := float64(r.Int64N(2_000_001)-1_000_000) / float64(int64(1)<<r.IntN(11))
		fb.(*array.Float64Builder).Append(v)
	case types.Decimal:
		digits := 1 + r.IntN(t.Precision)
		ds := make([]byte, digits)
		for k := range ds {
			ds[k] = byte('0' + r.IntN(10))
		}
		v, _ := new(big.Int).SetString(string(ds), 10)
		if r.IntN(2) == 0 {
			v.Neg(v)
		}
		fb.(*array.Decimal128Builder).Append(decimal128.FromBigInt(v))
	case types.String:
		max := 16
		if t.Length > 0 {
			max = t.Length
		}
		lo := 0
		if g.NoEmptyStrings {
			lo = 1
		}
		runes := richRunes
		if g.ASCII {
			runes = plainRunes
		}
		n := lo + r.IntN(max-lo+1)
		var sb strings.Builder
		for range n {
			sb.WriteRune(runes[r.IntN(len(runes))])
		}
		s := sb.String()
		if g.ASCII || g.NoEmptyStrings {
			// Leading and trailing blanks may be trimmed by text formats.
			s = strings.TrimSpace(s)
			if s == "" && g.NoEmptyStrings {
				s = "x"
			}
		}
		fb.(*array.StringBuilder).Append(s)
	case types.Timestamp:
		fb.(*array.TimestampBuilder).Append(arrow.Timestamp(tsLow + r.Int64N(tsHigh-tsLow)))
	default:
		fb.AppendNull()
	}
}

// randInt is a random signed integer of bits bits: small values, extremes
// and everything between.
func randInt(r *rand.Rand, bits int) int64 {
	lim := int64(1)<<(bits-1) - 1
	switch r.IntN(6) {
	case 0:
		return r.Int64N(201) - 100
	case 1:
		return []int64{lim, -lim - 1, 0, 1, -1}[r.IntN(5)]
	default:
		return r.Int64N(lim) - r.Int64N(lim)
	}
}

// Row is one row rendered for comparison: its kind and its cells, each
// in a canonical text (NULL, numbers as Go prints them, DECIMAL with its
// scale, strings quoted, timestamps in Flink's form).
type Row struct {
	Kind  stream.RowKind
	Cells []string
}

// String renders the row as "+I|cell|cell".
func (r Row) String() string { return r.Kind.String() + "|" + strings.Join(r.Cells, "|") }

// Project returns the row with only the cells cols, in that order.
func (r Row) Project(cols []int) Row {
	out := Row{Kind: r.Kind, Cells: make([]string, len(cols))}
	for i, c := range cols {
		out.Cells[i] = r.Cells[c]
	}
	return out
}

// Rows renders the rows of b.
func Rows(b stream.Batch) []Row {
	n := b.NumRows()
	out := make([]Row, n)
	for i := range out {
		out[i] = Row{Kind: b.Kind(i), Cells: make([]string, b.Record.NumCols())}
	}
	for c := 0; c < int(b.Record.NumCols()); c++ {
		col := b.Record.Column(c)
		for i := range n {
			out[i].Cells[c] = Cell(col, i)
		}
	}
	return out
}

// RowsOf renders the rows of every batch.
func RowsOf(bs []stream.Batch) []Row {
	var out []Row
	for _, b := range bs {
		out = append(out, Rows(b)...)
	}
	return out
}

// Cell renders value i of a in the canonical text of Row.
func Cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch c := a.(type) {
	case *array.Boolean:
		return strconv.FormatBool(c.Value(i))
	case *array.Int32:
		return strconv.FormatInt(int64(c.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(c.Value(i), 10)
	case *array.Float64:
		return strconv.FormatFloat(c.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return string(sqltext.AppendDecimal(nil, c.Value(i), int(c.DataType().(*arrow.Decimal128Type).Scale)))
	case *array.String:
		return strconv.Quote(c.Value(i))
	case *array.Timestamp:
		return string(sqltext.AppendTimestamp(nil, int64(c.Value(i)), ' '))
	}
	return a.ValueStr(i)
}

// Diff compares two multisets of rows and describes how got differs from
// want ("" when equal): the rows missing and the rows extra (doubled rows
// are extra), a few of each.
func Diff(got, want []Row) string {
	m := map[string]int{}
	for _, r := range want {
		m[r.String()]++
	}
	for _, r := range got {
		m[r.String()]--
	}
	var missing, extra []string
	for s, n := range m {
		for ; n > 0; n-- {
			missing = append(missing, s)
		}
		for ; n < 0; n++ {
			extra = append(extra, s)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Sprintf("%d rows missing (e.g. %v), %d rows extra or doubled (e.g. %v); %d rows expected, %d got",
		len(missing), missing[:min(3, len(missing))], len(extra), extra[:min(3, len(extra))], len(want), len(got))
}

// DiffAtLeastOnce checks the at-least-once guarantee: every row of want is
// in got at least as often, and got holds no row that want lacks.
func DiffAtLeastOnce(got, want []Row) string {
	m := map[string]int{}
	for _, r := range got {
		m[r.String()]++
	}
	var missing, unknown []string
	w := map[string]int{}
	for _, r := range want {
		w[r.String()]++
	}
	for s, n := range w {
		if m[s] < n {
			missing = append(missing, s)
		}
	}
	for s := range m {
		if w[s] == 0 {
			unknown = append(unknown, s)
		}
	}
	if len(missing) == 0 && len(unknown) == 0 {
		return ""
	}
	slices.Sort(missing)
	slices.Sort(unknown)
	return fmt.Sprintf("%d rows missing or written fewer times than given (e.g. %v), %d rows never given (e.g. %v)",
		len(missing), missing[:min(3, len(missing))], len(unknown), unknown[:min(3, len(unknown))])
}

// checkTypes reports how rec's columns differ from the Arrow types of
// schema ("" when they match exactly).
func checkTypes(rec arrow.RecordBatch, schema types.Schema) string {
	if int(rec.NumCols()) != schema.Len() {
		return fmt.Sprintf("a batch of %d columns, the table declares %d %s", rec.NumCols(), schema.Len(), schema)
	}
	for i, f := range schema.Fields {
		want := f.Type.Arrow()
		if got := rec.Column(i).DataType(); !arrow.TypeEqual(got, want) {
			return fmt.Sprintf("column %d (%s) is %s, the table declares %s (Arrow %s)", i, f.Name, got, f.Type, want)
		}
		if rec.Column(i).Len() != int(rec.NumRows()) {
			return fmt.Sprintf("column %d (%s) has %d values in a batch of %d rows", i, f.Name, rec.Column(i).Len(), rec.NumRows())
		}
	}
	return ""
}

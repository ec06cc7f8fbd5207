package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

var testSchema = types.Schema{Fields: []types.Field{
	{Name: "b", Type: types.Type{Kind: types.Boolean}},
	{Name: "i", Type: types.Type{Kind: types.Int}},
	{Name: "l", Type: types.Type{Kind: types.BigInt, NotNull: true}},
	{Name: "d", Type: types.Type{Kind: types.Double}},
	{Name: "m", Type: types.DecimalType(12, 3)},
	{Name: "s", Type: types.Type{Kind: types.String}},
	{Name: "t", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
}}

// randomRows returns n rows of testSchema as Go values (nil: NULL).
func randomRows(r *rand.Rand, n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		row := make([]any, len(testSchema.Fields))
		for j, f := range testSchema.Fields {
			if !f.Type.NotNull && r.IntN(5) == 0 {
				continue
			}
			switch f.Type.Kind {
			case types.Boolean:
				row[j] = r.IntN(2) == 0
			case types.Int:
				row[j] = int32(r.Uint32())
			case types.BigInt:
				row[j] = int64(r.Uint64())
			case types.Double:
				row[j] = r.NormFloat64() * 1e6
			case types.Decimal:
				row[j] = r.Int64N(2e11) - 1e11
			case types.String:
				b := make([]byte, r.IntN(12))
				for k := range b {
					b[k] = "abcdé,\"\n/xyz"[r.IntN(13)]
				}
				row[j] = strings.ToValidUTF8(string(b), "?")
			case types.Timestamp:
				row[j] = r.Int64N(4e12) - 1e12
			}
		}
		rows[i] = row
	}
	return rows
}

// record builds rows into a record of testSchema, row by row (the
// reference side of the test).
func record(rows [][]any) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, testSchema.Arrow())
	defer b.Release()
	for _, row := range rows {
		for j, v := range row {
			fb := b.Field(j)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch x := fb.(type) {
			case *array.BooleanBuilder:
				x.Append(v.(bool))
			case *array.Int32Builder:
				x.Append(v.(int32))
			case *array.Int64Builder:
				x.Append(v.(int64))
			case *array.Float64Builder:
				x.Append(v.(float64))
			case *array.Decimal128Builder:
				x.Append(decimal128.FromI64(v.(int64)))
			case *array.StringBuilder:
				x.Append(v.(string))
			case *array.TimestampBuilder:
				x.Append(arrow.Timestamp(v.(int64)))
			}
		}
	}
	return b.NewRecordBatch()
}

// rowText renders row i of rec, a value at a time, as text.
func rowText(rec arrow.RecordBatch, i int) string {
	var parts []string
	for _, c := range rec.Columns() {
		if c.IsNull(i) {
			parts = append(parts, "NULL")
			continue
		}
		parts = append(parts, c.ValueStr(i))
	}
	return strings.Join(parts, "|")
}

func refText(rows [][]any) []string {
	rec := record(rows)
	defer rec.Release()
	out := make([]string, len(rows))
	for i := range rows {
		out[i] = rowText(rec, i)
	}
	return out
}

// TestRoundTrip writes random rows in random batches with each codec and
// reads them back from random starting rows: the rows equal the input's
// suffix, in order.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	for k, codec := range Compressions {
		rows := randomRows(r, r.IntN(3000))
		want := refText(rows)
		path := filepath.Join(dir, fmt.Sprintf("f%d.parquet", k))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCompression(codec)
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(f, testSchema, WriterOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(rows); {
			n := min(len(rows)-i, 1+r.IntN(700))
			rec := record(rows[i : i+n])
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			i += n
		}
		if w.Rows() != int64(len(rows)) || (len(rows) > 0 && w.Size() <= 0) {
			t.Fatalf("%s: Rows %d, Size %d for %d rows", codec, w.Rows(), w.Size(), len(rows))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		for range 3 {
			from := int64(0)
			if len(rows) > 0 {
				from = r.Int64N(int64(len(rows)) + 1)
			}
			pf, err := Open(path, testSchema, 1+r.IntN(900), nil)
			if err != nil {
				t.Fatal(err)
			}
			if pf.NumRows() != int64(len(rows)) {
				t.Fatalf("%s: NumRows %d, want %d", codec, pf.NumRows(), len(rows))
			}
			got := readAll(t, pf, from)
			pf.Close()
			if strings.Join(got, "\n") != strings.Join(want[from:], "\n") {
				t.Fatalf("%s from row %d: %d rows differ from the %d written", codec, from, len(got), len(want[from:]))
			}
		}
	}
	if _, err := ParseCompression("lzo"); err == nil {
		t.Error("ParseCompression(lzo) succeeded")
	}
}

func readAll(t *testing.T, pf *File, from int64) []string {
	t.Helper()
	rs, err := pf.Rows(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var got []string
	for {
		rec, err := rs.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Schema().Equal(pf.out) {
			t.Fatalf("schema %s, want %s", rec.Schema(), pf.out)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, rowText(rec, i))
		}
		rec.Release()
		if rs.Row() != from+int64(len(got)) {
			t.Fatalf("Row() = %d after %d rows from %d", rs.Row(), len(got), from)
		}
	}
}

// TestColumnsByName reads a file into a table whose columns are in
// another order, in another case, with one the file lacks (NULL) and
// without some of the file's: the values follow the names.
func TestColumnsByName(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows := randomRows(r, 500)
	path := filepath.Join(t.TempDir(), "x.parquet")
	writeFile(t, path, rows)
	table := types.Schema{Fields: []types.Field{
		{Name: "S", Type: types.Type{Kind: types.String}},
		{Name: "extra", Type: types.Type{Kind: types.Int}},
		{Name: "l", Type: types.Type{Kind: types.BigInt}},
	}}
	pf, err := Open(path, table, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	got := readAll(t, pf, 0)
	full := refText(rows)
	for i, line := range full {
		f := strings.Split(line, "|")
		if want := f[5] + "|NULL|" + f[2]; got[i] != want {
			t.Fatalf("row %d: %q, want %q", i, got[i], want)
		}
	}
}

func writeFile(t *testing.T, path string, rows [][]any) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testSchema, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := record(rows)
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenErrors: a column of another type, a NOT NULL column the file
// lacks, a file that is not Parquet; each error names the file and what
// is wrong.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.parquet")
	writeFile(t, path, randomRows(rand.New(rand.NewPCG(5, 6)), 10))
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("a,b\n1,2\n"), 0o644)
	for _, c := range []struct {
		path   string
		schema types.Schema
		want   string
	}{
		{path, types.Schema{Fields: []types.Field{{Name: "i", Type: types.Type{Kind: types.BigInt}}}},
			"x.parquet': column 'i' has type int32 in the file, but the table declares BIGINT"},
		{path, types.Schema{Fields: []types.Field{{Name: "zz", Type: types.Type{Kind: types.BigInt, NotNull: true}}}},
			"the file has no column 'zz', which is NOT NULL"},
		{bad, testSchema, "bad.parquet' is not a readable Parquet file"},
	} {
		_, err := Open(c.path, c.schema, 10, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open: %v, want an error with %q", err, c.want)
		}
	}
	// NULLs read into a NOT NULL column.
	pf, err := Open(path, types.Schema{Fields: []types.Field{{Name: "s", Type: types.Type{Kind: types.String, NotNull: true}}}}, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rs, err := pf.Rows(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if _, err := rs.Next(); err == nil || !strings.Contains(err.Error(), "column 's' is NOT NULL in the table") {
		t.Errorf("NULLs into NOT NULL: %v", err)
	}
}

package connectortest

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestGenerator checks the random rows against their schema: Arrow
// types, NOT NULL, VARCHAR lengths, DECIMAL precision, the timestamp
// range and the string options.
func TestGenerator(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := AllTypesSchema()
	for i, g := range []Generator{{}, {NullRate: -1, NoEmptyStrings: true}, {ASCII: true}} {
		r := rand.New(rand.NewPCG(uint64(i), 3))
		rec := g.Record(r, schema, 2000, mem)
		if p := checkTypes(rec, schema); p != "" {
			t.Fatalf("generator %+v: %s", g, p)
		}
		nulls := 0
		for c, f := range schema.Fields {
			col := rec.Column(c)
			nulls += col.NullN()
			if f.Type.NotNull && col.NullN() > 0 {
				t.Errorf("generator %+v: NOT NULL column %s has NULLs", g, f.Name)
			}
			for k := 0; k < col.Len(); k++ {
				if col.IsNull(k) {
					continue
				}
				switch a := col.(type) {
				case *array.String:
					s := a.Value(k)
					if f.Type.Length > 0 && utf8.RuneCountInString(s) > f.Type.Length {
						t.Errorf("%s: %q is longer than %d", f.Name, s, f.Type.Length)
					}
					if g.NoEmptyStrings && s == "" {
						t.Errorf("%s: empty string", f.Name)
					}
					if g.ASCII && (strings.ContainsAny(s, `,"|'\`) || s != strings.TrimSpace(s)) {
						t.Errorf("%s: %q is not plain ASCII", f.Name, s)
					}
				case *array.Decimal128:
					if !a.Value(k).FitsInPrecision(int32(f.Type.Precision)) {
						t.Errorf("%s: %v does not fit DECIMAL(%d, %d)", f.Name, a.Value(k), f.Type.Precision, f.Type.Scale)
					}
				case *array.Timestamp:
					if v := int64(a.Value(k)); v < tsLow || v >= tsHigh {
						t.Errorf("%s: %d out of range", f.Name, v)
					}
				}
			}
		}
		if g.NullRate < 0 && nulls > 0 {
			t.Errorf("generator %+v: %d NULLs", g, nulls)
		}
		if g.NullRate == 0 && nulls == 0 {
			t.Errorf("generator %+v: no NULLs", g)
		}
		rec.Release()
	}
}

// TestRowsAndDiff checks the canonical rendering and the multiset diffs.
func TestRowsAndDiff(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "s", Type: types.StringType}, {Name: "ts", Type: types.TimestampType},
		{Name: "m", Type: types.DecimalType(5, 2)}}}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema.Arrow())
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"NULL", "a|b"}, nil)
	b.Field(0).(*array.StringBuilder).AppendNull()
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 1_767_225_600_123, 5}, nil)
	b.Field(2).AppendNull()
	b.Field(2).AppendNull()
	b.Field(2).AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	b.Release()
	rows := Rows(stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert, stream.Delete, stream.Insert}})
	want := []string{`+I|"NULL"|1970-01-01 00:00:00.000|NULL`, `-D|"a|b"|2026-01-01 00:00:00.123|NULL`, `+I|NULL|1970-01-01 00:00:00.005|NULL`}
	for i, r := range rows {
		if r.String() != want[i] {
			t.Errorf("row %d: %s, want %s", i, r, want[i])
		}
	}
	if d := Diff(rows, rows[:2]); !strings.Contains(d, "1 rows extra") {
		t.Errorf("Diff with an extra row: %q", d)
	}
	if d := Diff(rows[:2], rows); !strings.Contains(d, "1 rows missing") {
		t.Errorf("Diff with a missing row: %q", d)
	}
	if d := Diff(append(rows, rows[0]), rows); !strings.Contains(d, "1 rows extra or doubled") {
		t.Errorf("Diff with a doubled row: %q", d)
	}
	if d := DiffAtLeastOnce(append(rows, rows[0]), rows); d != "" {
		t.Errorf("DiffAtLeastOnce with a doubled row: %q", d)
	}
	if d := DiffAtLeastOnce(rows[:2], rows); d == "" {
		t.Errorf("DiffAtLeastOnce with a missing row passed")
	}
}

package rowkey_test

import (
	"bytes"
	"cmp"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

var allTypes = []arrow.DataType{
	arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
	arrow.PrimitiveTypes.Float64, &arrow.Decimal128Type{Precision: 20, Scale: 2}, arrow.BinaryTypes.String,
	arrow.FixedWidthTypes.Timestamp_ms,
}

var strs = []string{"", "\x00", "\x00\x00", "a", "a\x00", "a\x00\x00", "a\x00b", "a\x01", "ab", "b", "é", "\xff", "\xff\x00"}

var floats = []float64{math.Inf(-1), -1e300, -2.5, -1, math.Copysign(0, -1), 0, 1e-300, 1, 2.5, 1e300, math.Inf(1), math.NaN()}

var ints = []int64{math.MinInt64, math.MinInt32, -256, -1, 0, 1, 255, 256, math.MaxInt32, math.MaxInt64}

// randomColumn builds n random values of type t, NULL with probability
// nullPc percent.
func randomColumn(r *rand.Rand, mem memory.Allocator, t arrow.DataType, n, nullPc int) arrow.Array {
	b := array.NewBuilder(mem, t)
	defer b.Release()
	for i := 0; i < n; i++ {
		if r.IntN(100) < nullPc {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.BooleanBuilder:
			bb.Append(r.IntN(2) == 0)
		case *array.Int32Builder:
			bb.Append(int32(ints[r.IntN(len(ints))]))
		case *array.Int64Builder:
			bb.Append(ints[r.IntN(len(ints))] + int64(r.IntN(3)-1))
		case *array.Float64Builder:
			bb.Append(floats[r.IntN(len(floats))])
		case *array.Decimal128Builder:
			v := decimal128.FromI64(ints[r.IntN(len(ints))])
			if r.IntN(2) == 0 {
				v = v.Mul(decimal128.FromI64(int64(r.IntN(1 << 20)))) // beyond 64 bits
			}
			bb.Append(v)
		case *array.StringBuilder:
			bb.Append(strs[r.IntN(len(strs))])
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(ints[r.IntN(len(ints))]))
		}
	}
	return b.NewArray()
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		n := 1 + r.IntN(300)
		var types []arrow.DataType
		for c := 0; c < 1+r.IntN(5); c++ {
			types = append(types, allTypes[r.IntN(len(allTypes))])
		}
		cols := make([]arrow.Array, len(types))
		for c, ty := range types {
			cols[c] = randomColumn(r, mem, ty, n, r.IntN(40))
		}
		var sel []int32
		if r.IntN(2) == 0 {
			for i := 0; i < n; i++ {
				if r.IntN(3) == 0 {
					sel = append(sel, int32(i))
				}
			}
		}
		for _, exact := range []bool{false, true} {
			enc, err := rowkey.NewEncoder(types)
			if exact {
				enc, err = rowkey.NewRowEncoder(types)
			}
			if err != nil {
				t.Fatal(err)
			}
			var rows rowkey.Rows
			if err := enc.Encode(cols, n, sel, &rows); err != nil {
				t.Fatal(err)
			}
			bs := make([]array.Builder, len(types))
			for c, ty := range types {
				bs[c] = array.NewBuilder(mem, ty)
			}
			starts := make([]int, rows.Len())
			for j := range starts {
				starts[j] = int(rows.Offs[j])
			}
			if err := enc.Decode(rows.Data, starts, bs); err != nil {
				t.Fatal(err)
			}
			for j := range starts {
				if starts[j] != int(rows.Offs[j+1]) {
					t.Fatalf("row %d decoded to offset %d, want %d", j, starts[j], rows.Offs[j+1])
				}
				if p, err := enc.Skip(rows.Data, int(rows.Offs[j])); err != nil || p != int(rows.Offs[j+1]) {
					t.Fatalf("Skip row %d = %d, %v; want %d", j, p, err, rows.Offs[j+1])
				}
			}
			for c := range types {
				got := bs[c].NewArray()
				for j := 0; j < got.Len(); j++ {
					i := j
					if sel != nil {
						i = int(sel[j])
					}
					want := optest.RenderValue(cols[c], i)
					if f, ok := cols[c].(*array.Float64); ok && !exact && cols[c].IsValid(i) && f.Value(i) == 0 {
						want = "0" // keys canonicalize -0.0
					}
					if g := optest.RenderValue(got, j); g != want {
						t.Fatalf("exact=%v column %d (%s) row %d: got %s, want %s", exact, c, types[c], i, g, want)
					}
				}
				got.Release()
				bs[c].Release()
			}
			// Equal keys encode equally, different keys differently.
			if !exact {
				for a := 0; a < rows.Len() && a < 40; a++ {
					for b := 0; b < rows.Len() && b < 40; b++ {
						same := true
						for c := range cols {
							ia, ib := rowIdx(sel, a), rowIdx(sel, b)
							if keyText(cols[c], ia) != keyText(cols[c], ib) {
								same = false
							}
						}
						if same != bytes.Equal(rows.Row(a), rows.Row(b)) {
							t.Fatalf("rows %d and %d: equal values %v but equal encodings %v", a, b, same, !same)
						}
					}
				}
			}
		}
		for _, c := range cols {
			c.Release()
		}
	}
}

func rowIdx(sel []int32, j int) int {
	if sel != nil {
		return int(sel[j])
	}
	return j
}

// keyText renders a value with SQL key equality: -0.0 = 0.0, NaN = NaN.
func keyText(a arrow.Array, i int) string {
	s := optest.RenderValue(a, i)
	if s == "-0" {
		return "0"
	}
	return s
}

func TestDecodeCorruptData(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	types := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String}
	enc, _ := rowkey.NewEncoder(types)
	for _, data := range [][]byte{{}, {1, 2, 3}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 'a'}} {
		bs := []array.Builder{array.NewBuilder(mem, types[0]), array.NewBuilder(mem, types[1])}
		if err := enc.Decode(data, []int{0}, bs); err == nil {
			t.Errorf("Decode(%x) succeeded", data)
		}
		if _, err := enc.Skip(data, 0); err == nil {
			t.Errorf("Skip(%x) succeeded", data)
		}
		for _, b := range bs {
			b.Release()
		}
	}
}

// compareValue is the reference order of one non-NULL value.
func compareValue(a arrow.Array, i, j int) int {
	switch a := a.(type) {
	case *array.Boolean:
		return cmp.Compare(b2i(a.Value(i)), b2i(a.Value(j)))
	case *array.Int32:
		return cmp.Compare(a.Value(i), a.Value(j))
	case *array.Int64:
		return cmp.Compare(a.Value(i), a.Value(j))
	case *array.Timestamp:
		return cmp.Compare(a.Value(i), a.Value(j))
	case *array.Float64:
		x, y := a.Value(i), a.Value(j)
		switch {
		case math.IsNaN(x) && math.IsNaN(y):
			return 0
		case math.IsNaN(x):
			return 1
		case math.IsNaN(y):
			return -1
		}
		return cmp.Compare(x, y) // -0.0 == 0.0
	case *array.Decimal128:
		return a.Value(i).Cmp(a.Value(j))
	case *array.String:
		return strings.Compare(a.Value(i), a.Value(j))
	}
	panic("type")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSortEncodingOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 60; trial++ {
		n := 2 + r.IntN(120)
		var sc []rowkey.SortColumn
		var cols []arrow.Array
		for c := 0; c < 1+r.IntN(3); c++ {
			ty := allTypes[r.IntN(len(allTypes))]
			sc = append(sc, rowkey.SortColumn{Type: ty, Desc: r.IntN(2) == 0, NullsFirst: r.IntN(2) == 0})
			cols = append(cols, randomColumn(r, mem, ty, n, r.IntN(30)))
		}
		enc, err := rowkey.NewSortEncoder(sc)
		if err != nil {
			t.Fatal(err)
		}
		var rows rowkey.Rows
		if err := enc.Encode(cols, n, nil, &rows); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				want := 0
				for c, s := range sc {
					ni, nj := cols[c].IsNull(i), cols[c].IsNull(j)
					switch {
					case ni && nj:
					case ni:
						want = map[bool]int{true: -1, false: 1}[s.NullsFirst]
					case nj:
						want = map[bool]int{true: 1, false: -1}[s.NullsFirst]
					default:
						want = compareValue(cols[c], i, j)
						if s.Desc {
							want = -want
						}
					}
					if want != 0 {
						break
					}
				}
				if got := bytes.Compare(rows.Row(i), rows.Row(j)); got != want {
					var vi, vj []string
					for c := range cols {
						vi = append(vi, optest.RenderValue(cols[c], i))
						vj = append(vj, optest.RenderValue(cols[c], j))
					}
					t.Fatalf("order %+v: compare %v with %v = %d, want %d", sc, vi, vj, got, want)
				}
			}
		}
		for _, c := range cols {
			c.Release()
		}
	}
}

func TestUnsupportedType(t *testing.T) {
	if _, err := rowkey.NewEncoder([]arrow.DataType{arrow.PrimitiveTypes.Uint8}); err == nil || !strings.Contains(err.Error(), "uint8") {
		t.Errorf("NewEncoder(uint8) error = %v", err)
	}
	if _, err := rowkey.NewSortEncoder([]rowkey.SortColumn{{Type: arrow.BinaryTypes.Binary}}); err == nil {
		t.Error("NewSortEncoder(binary) succeeded")
	}
}

// TestSlicedInput encodes sliced columns (non-zero offsets into buffers and
// validity bitmaps) and the whole columns with a selection of the same
// rows: all three encodings must agree.
func TestSlicedInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 12))
	const n, off = 200, 13
	var whole, part []arrow.Array
	var sort []rowkey.SortColumn
	for _, ty := range allTypes {
		c := randomColumn(r, mem, ty, n, 30)
		whole = append(whole, c)
		part = append(part, array.NewSlice(c, off, n))
		sort = append(sort, rowkey.SortColumn{Type: ty, Desc: r.IntN(2) == 0, NullsFirst: r.IntN(2) == 0})
	}
	defer func() {
		for i := range whole {
			whole[i].Release()
			part[i].Release()
		}
	}()
	sel := make([]int32, n-off)
	for i := range sel {
		sel[i] = int32(off + i)
	}
	key, _ := rowkey.NewEncoder(allTypes)
	row, _ := rowkey.NewRowEncoder(allTypes)
	se, _ := rowkey.NewSortEncoder(sort)
	for name, enc := range map[string]interface {
		Encode([]arrow.Array, int, []int32, *rowkey.Rows) error
	}{"key": key, "row": row, "sort": se} {
		var a, b rowkey.Rows
		if err := enc.Encode(part, n-off, nil, &a); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(whole, n, sel, &b); err != nil {
			t.Fatal(err)
		}
		for j := range sel {
			if !bytes.Equal(a.Row(j), b.Row(j)) {
				t.Fatalf("%s: row %d of the slice encodes as %x, of the selection as %x", name, j, a.Row(j), b.Row(j))
			}
		}
	}
}

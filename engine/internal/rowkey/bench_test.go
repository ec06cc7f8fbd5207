package rowkey_test

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// benchColumns makes one 4096-row column of every type, NULL with
// probability nullPc percent.
func benchColumns(nullPc int) []arrow.Array {
	r := rand.New(rand.NewPCG(7, 8))
	cols := make([]arrow.Array, len(allTypes))
	for i, t := range allTypes {
		cols[i] = randomColumn(r, memory.DefaultAllocator, t, 4096, nullPc)
	}
	return cols
}

// BenchmarkEncode encodes 4096 rows of one column of each type: keys
// (canonical doubles), whole rows (exact) and sort keys, without and with
// NULLs.
func BenchmarkEncode(b *testing.B) {
	for _, nullPc := range []int{0, 10} {
		cols := benchColumns(nullPc)
		for i, t := range allTypes {
			col := cols[i : i+1]
			key, _ := rowkey.NewEncoder([]arrow.DataType{t})
			row, _ := rowkey.NewRowEncoder([]arrow.DataType{t})
			sort, _ := rowkey.NewSortEncoder([]rowkey.SortColumn{{Type: t, Desc: true}})
			name := t.String()
			if nullPc > 0 {
				name += "/nulls"
			}
			var rows rowkey.Rows
			b.Run("key/"+name, func(b *testing.B) {
				for b.Loop() {
					if err := key.Encode(col, 4096, nil, &rows); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("row/"+name, func(b *testing.B) {
				for b.Loop() {
					if err := row.Encode(col, 4096, nil, &rows); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("sort/"+name, func(b *testing.B) {
				for b.Loop() {
					if err := sort.Encode(col, 4096, nil, &rows); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecode decodes 4096 encoded rows of one column of each type
// into a builder.
func BenchmarkDecode(b *testing.B) {
	cols := benchColumns(10)
	for i, t := range allTypes {
		enc, _ := rowkey.NewRowEncoder([]arrow.DataType{t})
		var rows rowkey.Rows
		if err := enc.Encode(cols[i:i+1], 4096, nil, &rows); err != nil {
			b.Fatal(err)
		}
		starts := make([]int, 4096)
		bld := array.NewBuilder(memory.DefaultAllocator, t)
		b.Run(t.String(), func(b *testing.B) {
			for b.Loop() {
				for j := range starts {
					starts[j] = int(rows.Offs[j])
				}
				if err := enc.Decode(rows.Data, starts, []array.Builder{bld}); err != nil {
					b.Fatal(err)
				}
				bld.NewArray().Release()
			}
		})
		bld.Release()
	}
}

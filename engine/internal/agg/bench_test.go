package agg_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// BenchmarkUpdate folds 4096 rows (a fifth NULL) into 1,000 groups, then
// builds the 1,000 results, for every call in cases.
func BenchmarkUpdate(b *testing.B) {
	const rows, groups = 4096, 1000
	r := rand.New(rand.NewPCG(5, 6))
	gs := make([]uint32, rows)
	for i := range gs {
		gs[i] = uint32(r.IntN(groups))
	}
	for _, c := range cases {
		col := column(r, memory.DefaultAllocator, c.in, rows)
		call := jobgraph.AggCall{Func: c.fn, Arg: 0, Type: c.out}
		if c.fn == jobgraph.CountStar {
			call.Arg = -1
		}
		a, err := agg.New(call, inType(c))
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("%s(%s)", c.fn, c.in)
		b.Run("update/"+name, func(b *testing.B) {
			for b.Loop() {
				a.Reset()
				a.Grow(groups)
				if err := a.Update(col, gs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		a.Reset()
		a.Grow(groups)
		if err := a.Update(col, gs, nil); err != nil {
			b.Fatal(err)
		}
		bld := array.NewBuilder(memory.DefaultAllocator, c.out.Arrow())
		b.Run("build/"+name, func(b *testing.B) {
			for b.Loop() {
				if err := a.Build(bld); err != nil {
					b.Fatal(err)
				}
				bld.NewArray().Release()
			}
		})
		bld.Release()
		if col != nil {
			col.Release()
		}
	}
}

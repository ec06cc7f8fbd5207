package agg_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
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

// BenchmarkDistinctAndHLL measures COUNT(DISTINCT x), SUM(DISTINCT x) and
// APPROX_COUNT_DISTINCT(x) updates over 4096-row batches (a fifth NULL)
// into 1,000 groups, in rows per second of one goroutine (= per CPU
// second). "fresh" resets the accumulator every batch, so every value is
// new to its group; "steady" keeps it, over values drawn from 20,000 per
// column, so that after warming up most values are already known, as in a
// long window.
func BenchmarkDistinctAndHLL(b *testing.B) {
	const rows, groups = 4096, 1000
	r := rand.New(rand.NewPCG(5, 7))
	gs := make([]uint32, rows)
	for i := range gs {
		gs[i] = uint32(r.IntN(groups))
	}
	cols := map[string]arrow.Array{}
	{
		ib := array.NewInt64Builder(memory.DefaultAllocator)
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		for i := 0; i < rows; i++ {
			if r.IntN(5) == 0 {
				ib.AppendNull()
				sb.AppendNull()
				continue
			}
			v := r.IntN(20000)
			ib.Append(int64(v) * 7919)
			sb.Append(fmt.Sprintf("user-%08d", v))
		}
		cols["BIGINT"], cols["STRING"] = ib.NewArray(), sb.NewArray()
		ib.Release()
		sb.Release()
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, bc := range []struct {
		name, in string
		call     jobgraph.AggCall
	}{
		{"count_distinct", "BIGINT", jobgraph.AggCall{Func: jobgraph.Count, Type: types.BigIntType, Distinct: true}},
		{"count_distinct", "STRING", jobgraph.AggCall{Func: jobgraph.Count, Type: types.BigIntType, Distinct: true}},
		{"sum_distinct", "BIGINT", jobgraph.AggCall{Func: jobgraph.Sum, Type: types.BigIntType, Distinct: true}},
		{"approx_count_distinct", "BIGINT", jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Type: types.BigIntType}},
		{"approx_count_distinct", "STRING", jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Type: types.BigIntType}},
	} {
		col := cols[bc.in]
		for _, steady := range []bool{false, true} {
			mode := "fresh"
			if steady {
				mode = "steady"
			}
			b.Run(fmt.Sprintf("%s(%s)/%s", bc.name, bc.in, mode), func(b *testing.B) {
				a, err := agg.New(bc.call, col.DataType())
				if err != nil {
					b.Fatal(err)
				}
				a.Grow(groups)
				for b.Loop() {
					if !steady {
						a.Reset()
						a.Grow(groups)
					}
					if err := a.Update(col, gs, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

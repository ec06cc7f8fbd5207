package agg_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// invertibleCalls lists the calls over in that Calls.Invertible accepts.
func invertibleCalls(in types.Type) []refCall {
	var out []refCall
	for _, c := range callsFor(in) {
		switch {
		case c.distinct:
		case c.fn == jobgraph.CountStar, c.fn == jobgraph.Count:
			out = append(out, c)
		case (c.fn == jobgraph.Sum || c.fn == jobgraph.Avg) && in.Kind != types.Double:
			out = append(out, c)
		}
	}
	return out
}

// TestSubtract merges random slices of rows into one group per key, then
// subtracts random slices back out: every key must hold the reference over
// the rows of the slices left, directly after Subtract and after an
// AppendState/MergeState round trip of the result.
func TestSubtract(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for ti, in := range inTypes {
		cs := invertibleCalls(in)
		schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: in.Arrow(), Nullable: true}, {Name: "f", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
		calls, err := agg.Bind(jobCalls(cs), schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !calls.Invertible() {
			t.Fatalf("%s: %v are not invertible", in, cs)
		}
		r := rand.New(rand.NewPCG(uint64(ti), 11))
		const keys, nslices = 5, 6
		slices := make([]*agg.Groups, nslices)
		rows := make([][]row, nslices)
		total, err := calls.NewGroups()
		if err != nil {
			t.Fatal(err)
		}
		total.Grow(keys)
		for s := range slices {
			if slices[s], err = calls.NewGroups(); err != nil {
				t.Fatal(err)
			}
			slices[s].Grow(keys)
			rows[s] = make([]row, r.IntN(200))
			gs := make([]uint32, len(rows[s]))
			for i := range rows[s] {
				rows[s][i] = row{key: r.IntN(keys), f: r.IntN(3)}
				if r.IntN(4) > 0 {
					rows[s][i].v = value(r, in)
				}
				gs[i] = uint32(rows[s][i].key)
			}
			rec := record(mem, in, rows[s], 0)
			if err := slices[s].Update(rec, gs, nil); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			for k := uint32(0); k < keys; k++ {
				if err := total.Merge(k, slices[s], k); err != nil {
					t.Fatal(err)
				}
			}
		}
		ident := []uint32{0, 1, 2, 3, 4}
		left := map[int]bool{}
		for s := range slices {
			left[s] = true
		}
		for _, s := range r.Perm(nslices) {
			for k := uint32(0); k < keys; k++ {
				if err := total.Subtract(k, slices[s], k); err != nil {
					t.Fatal(err)
				}
			}
			delete(left, s)
			var remaining []row
			for s2 := range nslices {
				if left[s2] {
					remaining = append(remaining, rows[s2]...)
				}
			}
			want := reference(cs, in, keys, remaining)
			what := fmt.Sprintf("%s: %d slices left", in, len(left))
			compare(t, what, cs, results(t, mem, cs, total, ident), want)
			copied, err := calls.NewGroups()
			if err != nil {
				t.Fatal(err)
			}
			copied.Grow(keys)
			for k := uint32(0); k < keys; k++ {
				if err := copied.MergeState(k, total.AppendState(nil, k)); err != nil {
					t.Fatal(err)
				}
			}
			compare(t, what+", through state", cs, results(t, mem, cs, copied, ident), want)
		}
	}
}

// TestInvertible checks which calls can subtract.
func TestInvertible(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	for _, tc := range []struct {
		call jobgraph.AggCall
		want bool
	}{
		{jobgraph.AggCall{Func: jobgraph.CountStar, Arg: -1, Type: types.BigIntType}, true},
		{jobgraph.AggCall{Func: jobgraph.Sum, Arg: 0, Type: types.BigIntType}, true},
		{jobgraph.AggCall{Func: jobgraph.Avg, Arg: 0, Type: types.DoubleType}, true},
		{jobgraph.AggCall{Func: jobgraph.Sum, Arg: 1, Type: types.DoubleType}, false},
		{jobgraph.AggCall{Func: jobgraph.Count, Arg: 0, Type: types.BigIntType, Distinct: true}, false},
		{jobgraph.AggCall{Func: jobgraph.Max, Arg: 0, Type: types.BigIntType}, false},
		{jobgraph.AggCall{Func: jobgraph.FirstValue, Arg: 0, Type: types.BigIntType}, false},
		{jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Arg: 0, Type: types.BigIntType}, false},
	} {
		both := []jobgraph.AggCall{{Func: jobgraph.Count, Arg: 0, Type: types.BigIntType}, tc.call}
		c, err := agg.Bind(both, schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Invertible(); got != tc.want {
			t.Errorf("%s: Invertible = %v, want %v", tc.call.Func, got, tc.want)
		}
		if !tc.want {
			g, _ := c.NewGroups()
			g.Grow(1)
			if err := g.Subtract(0, g, 0); err == nil {
				t.Errorf("%s: Subtract succeeded", tc.call.Func)
			}
		}
	}
}

package agg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// hllBound is the error APPROX_COUNT_DISTINCT may make on large inputs:
// three standard errors of HyperLogLog with 2^14 registers,
// 3 * 1.04 / sqrt(2^14), about 2.4%.
var hllBound = 3 * 1.04 / math.Sqrt(1<<14)

// TestApproxCountDistinctLarge counts groups of up to 300,000 distinct
// values (each value repeated) in random batches, split over partial
// accumulators merged directly and through their state: every estimate
// must be within hllBound of the exact count, and small groups exact or
// one off.
func TestApproxCountDistinctLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	// Group g has sizes[g] distinct values: the strings "v<g>-<i>" or, for
	// BIGINT, g<<40 + i.
	sizes := []int{0, 1, 7, 150, 2000, 20000, 120000, 300000}
	for _, in := range []types.Type{types.BigIntType, types.StringType} {
		call := jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Arg: 0, Type: types.Type{Kind: types.BigInt, NotNull: true}}
		schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: in.Arrow(), Nullable: true}}, nil)
		calls, err := agg.Bind([]jobgraph.AggCall{call}, schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		newGroups := func() *agg.Groups {
			g, err := calls.NewGroups()
			if err != nil {
				t.Fatal(err)
			}
			g.Grow(len(sizes))
			return g
		}
		whole, parts := newGroups(), []*agg.Groups{newGroups(), newGroups(), newGroups()}
		next := make([]int, len(sizes)) // values of each group fed so far
		for {
			n := 1 + r.IntN(4096)
			b := array.NewBuilder(mem, in.Arrow())
			gs := make([]uint32, 0, n)
			for len(gs) < n {
				g := r.IntN(len(sizes))
				if sizes[g] == 0 || next[g] >= 2*sizes[g] {
					continue
				}
				i := next[g] % sizes[g] // every value twice
				next[g]++
				switch bb := b.(type) {
				case *array.Int64Builder:
					bb.Append(int64(g)<<40 + int64(i))
				case *array.StringBuilder:
					bb.Append(fmt.Sprintf("v%d-%d", g, i))
				}
				gs = append(gs, uint32(g))
				if r.IntN(50) == 0 {
					b.AppendNull()
					gs = append(gs, uint32(g))
				}
				if done(next, sizes) {
					break
				}
			}
			col := b.NewArray()
			b.Release()
			rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
			col.Release()
			if err := whole.Update(rec, gs, nil); err != nil {
				t.Fatal(err)
			}
			sels := make([][]int32, len(parts))
			pgs := make([][]uint32, len(parts))
			for i, g := range gs {
				p := r.IntN(len(parts))
				sels[p], pgs[p] = append(sels[p], int32(i)), append(pgs[p], g)
			}
			for p, part := range parts {
				if sels[p] != nil {
					if err := part.Update(rec, pgs[p], sels[p]); err != nil {
						t.Fatal(err)
					}
				}
			}
			rec.Release()
			if done(next, sizes) {
				break
			}
		}
		merged := newGroups()
		for p, part := range parts {
			for g := range sizes {
				if p%2 == 0 {
					if err := merged.Merge(uint32(g), part, uint32(g)); err != nil {
						t.Fatal(err)
					}
				} else if err := merged.MergeState(uint32(g), part.AppendState(nil, uint32(g))); err != nil {
					t.Fatal(err)
				}
			}
		}
		for label, g := range map[string]*agg.Groups{"one accumulator": whole, "merged": merged} {
			b := array.NewInt64Builder(mem)
			if err := g.Build([]array.Builder{b}); err != nil {
				t.Fatal(err)
			}
			res := b.NewInt64Array()
			b.Release()
			for grp, exact := range sizes {
				est := res.Value(grp)
				if res.IsNull(grp) {
					t.Fatalf("%s %s: group %d is NULL", in, label, grp)
				}
				switch {
				case exact <= 2000:
					if est != int64(exact) && est != int64(exact)-1 {
						t.Errorf("%s %s: %d distinct values estimated %d", in, label, exact, est)
					}
				case math.Abs(float64(est)-float64(exact))/float64(exact) > hllBound:
					t.Errorf("%s %s: %d distinct values estimated %d: error %.2f%% over %.2f%%", in, label, exact, est,
						100*math.Abs(float64(est)-float64(exact))/float64(exact), 100*hllBound)
				}
				t.Logf("%s %s: %d distinct, estimate %d", in, label, exact, est)
			}
			res.Release()
		}
	}
}

func done(next, sizes []int) bool {
	for g := range sizes {
		if next[g] < 2*sizes[g] {
			return false
		}
	}
	return true
}

// TestApproxCountDistinctCorruptState feeds damaged sketches to MergeState.
func TestApproxCountDistinctCorruptState(t *testing.T) {
	a, err := agg.New(jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Type: types.BigIntType}, arrow.PrimitiveTypes.Int64)
	if err != nil {
		t.Fatal(err)
	}
	a.Grow(1)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{1, 2, 3}, nil)
	col := b.NewArray()
	b.Release()
	defer col.Release()
	if err := a.Update(col, []uint32{0, 0, 0}, nil); err != nil {
		t.Fatal(err)
	}
	good := a.AppendState(nil, 0)
	for _, bad := range [][]byte{{2}, good[:len(good)-1], append([]byte{1, 3}, good[2:5]...), {1, 8, 9, 9, 9, 9, 9, 9, 9, 9}} {
		if _, err := a.MergeState(0, bad); err == nil {
			t.Errorf("MergeState(%x) succeeded", bad)
		}
	}
	if rest, err := a.MergeState(0, good); err != nil || len(rest) != 0 {
		t.Errorf("MergeState(good) = %x, %v", rest, err)
	}
}

package agg_test

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestGroupStateRoundTrip folds random rows into retracting group state,
// takes a random half back out, and checks that every group survives an
// AppendState/MergeState round trip and a Merge into fresh state, and that
// Clear empties a group: the results built from each are the same.
func TestGroupStateRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	filter := 3
	var calls []jobgraph.AggCall
	for _, c := range []struct {
		fn  jobgraph.AggFunc
		arg int
		typ types.Type
	}{
		{jobgraph.CountStar, -1, types.BigIntType}, {jobgraph.Count, 0, types.BigIntType},
		{jobgraph.Sum, 0, types.BigIntType}, {jobgraph.Avg, 1, types.DoubleType},
		{jobgraph.Min, 0, types.BigIntType}, {jobgraph.Max, 2, types.StringType},
		{jobgraph.Min, 1, types.DoubleType}, {jobgraph.FirstValue, 2, types.StringType},
		{jobgraph.LastValue, 0, types.BigIntType},
	} {
		calls = append(calls, jobgraph.AggCall{Func: c.fn, Arg: c.arg, Type: c.typ, Name: string(c.fn)})
	}
	calls = append(calls,
		jobgraph.AggCall{Func: jobgraph.Count, Arg: 2, Type: types.BigIntType, Name: "cd", Distinct: true},
		jobgraph.AggCall{Func: jobgraph.Sum, Arg: 0, Type: types.BigIntType, Name: "sd", Distinct: true, Filter: &filter})
	bound, err := agg.Bind(calls, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const groups, rows = 7, 600
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	gs := make([]uint32, rows)
	for i := range gs {
		gs[i] = uint32(r.IntN(groups))
		if r.IntN(5) == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(r.Int64N(30))
		}
		b.Field(1).(*array.Float64Builder).Append(float64(r.IntN(40)) / 4)
		if r.IntN(5) == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(string(rune('a' + r.IntN(8))))
		}
		b.Field(3).(*array.BooleanBuilder).Append(r.IntN(2) == 0)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	st, err := bound.NewGroupState(true)
	if err != nil {
		t.Fatal(err)
	}
	st.Grow(groups)
	if err := st.Update(rec, gs, nil); err != nil {
		t.Fatal(err)
	}
	var sel []int32
	var sg []uint32
	for i := range gs {
		if r.IntN(2) == 0 {
			sel, sg = append(sel, int32(i)), append(sg, gs[i])
		}
	}
	if err := st.Retract(rec, sg, sel); err != nil {
		t.Fatal(err)
	}
	st.Clear(3)

	viaState, _ := bound.NewGroupState(true)
	viaMerge, _ := bound.NewGroupState(true)
	viaState.Grow(groups)
	viaMerge.Grow(groups)
	for g := uint32(0); g < groups; g++ {
		if err := viaState.MergeState(g, st.AppendState(nil, g)); err != nil {
			t.Fatal(err)
		}
		if err := viaMerge.Merge(g, st, g); err != nil {
			t.Fatal(err)
		}
	}
	all := make([]uint32, groups)
	for i := range all {
		all[i] = uint32(i)
	}
	build := func(s *agg.GroupState) arrow.RecordBatch {
		out := make([]arrow.Field, len(calls))
		for i, c := range calls {
			out[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: true}
		}
		rb := array.NewRecordBuilder(mem, arrow.NewSchema(out, nil))
		defer rb.Release()
		if err := s.BuildGroups(rb.Fields(), all); err != nil {
			t.Fatal(err)
		}
		return rb.NewRecordBatch()
	}
	want := build(st)
	defer want.Release()
	for name, s := range map[string]*agg.GroupState{"state": viaState, "merge": viaMerge} {
		got := build(s)
		if !array.RecordEqual(got, want) {
			t.Errorf("via %s:\n got %v\nwant %v", name, got, want)
		}
		got.Release()
	}
	// The cleared group is empty: counts 0, everything else NULL.
	for i := range calls {
		col := want.Column(i)
		if calls[i].Func == jobgraph.CountStar || calls[i].Func == jobgraph.Count {
			if v := col.(*array.Int64).Value(3); v != 0 {
				t.Errorf("%s of the cleared group is %d", calls[i].Name, v)
			}
		} else if col.IsValid(3) {
			t.Errorf("%s of the cleared group is not NULL", calls[i].Name)
		}
	}
}

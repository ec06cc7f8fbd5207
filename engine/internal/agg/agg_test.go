package agg_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

type tcase struct {
	fn  jobgraph.AggFunc
	in  types.Type // Kind Null for COUNT(*)
	out types.Type
}

var cases = []tcase{
	{jobgraph.CountStar, types.Type{}, types.BigIntType},
	{jobgraph.Count, types.StringType, types.BigIntType},
	{jobgraph.Sum, types.IntType, types.IntType},
	{jobgraph.Sum, types.IntType, types.BigIntType},
	{jobgraph.Sum, types.BigIntType, types.BigIntType},
	{jobgraph.Sum, types.DoubleType, types.DoubleType},
	{jobgraph.Sum, types.DecimalType(10, 2), types.DecimalType(38, 2)},
	{jobgraph.Avg, types.IntType, types.IntType},
	{jobgraph.Avg, types.BigIntType, types.BigIntType},
	{jobgraph.Avg, types.BigIntType, types.DoubleType},
	{jobgraph.Avg, types.DoubleType, types.DoubleType},
	{jobgraph.Avg, types.DecimalType(10, 2), types.DecimalType(38, 6)},
	{jobgraph.Min, types.IntType, types.IntType},
	{jobgraph.Max, types.BigIntType, types.BigIntType},
	{jobgraph.Min, types.DoubleType, types.DoubleType},
	{jobgraph.Max, types.DoubleType, types.DoubleType},
	{jobgraph.Min, types.DecimalType(10, 2), types.DecimalType(10, 2)},
	{jobgraph.Max, types.DecimalType(10, 2), types.DecimalType(10, 2)},
	{jobgraph.Min, types.StringType, types.StringType},
	{jobgraph.Max, types.StringType, types.StringType},
	{jobgraph.Min, types.BooleanType, types.BooleanType},
	{jobgraph.Max, types.BooleanType, types.BooleanType},
	{jobgraph.Min, types.TimestampType, types.TimestampType},
	{jobgraph.Max, types.TimestampType, types.TimestampType},
}

func column(r *rand.Rand, mem memory.Allocator, t types.Type, n int) arrow.Array {
	if t.Kind == types.Null {
		return nil
	}
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	for i := 0; i < n; i++ {
		if r.IntN(5) == 0 {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.Int32Builder:
			bb.Append(int32(r.Uint32()))
		case *array.Int64Builder:
			bb.Append(int64(r.Uint64()))
		case *array.Float64Builder:
			v := float64(r.IntN(1000)-500) * 0.125
			switch r.IntN(20) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1)
			}
			bb.Append(v)
		case *array.Decimal128Builder:
			bb.Append(decimal128.FromI64(r.Int64N(2e9) - 1e9))
		case *array.StringBuilder:
			bb.Append(strings.Repeat("xy", r.IntN(4)) + string(rune('a'+r.IntN(26))))
		case *array.BooleanBuilder:
			bb.Append(r.IntN(2) == 0)
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(r.Int64N(1e12)))
		}
	}
	return b.NewArray()
}

func build(t *testing.T, mem memory.Allocator, a agg.Accumulator, out types.Type) []string {
	t.Helper()
	b := array.NewBuilder(mem, out.Arrow())
	defer b.Release()
	if err := a.Build(b); err != nil {
		t.Fatal(err)
	}
	arr := b.NewArray()
	defer arr.Release()
	res := make([]string, arr.Len())
	for i := range res {
		res[i] = optest.RenderValue(arr, i)
	}
	return res
}

func inType(c tcase) arrow.DataType {
	if c.in.Kind == types.Null {
		return nil
	}
	return c.in.Arrow()
}

// TestMergePaths checks that splitting the rows over two accumulators and
// merging them, directly or through the encoded state, gives what one
// accumulator gives.
func TestMergePaths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(8, 8))
	for _, c := range cases {
		call := jobgraph.AggCall{Func: c.fn, Arg: 0, Type: c.out, Name: "a"}
		if c.fn == jobgraph.CountStar {
			call.Arg = -1
		}
		name := string(c.fn) + "(" + c.in.String() + ") " + c.out.String()
		newAcc := func() agg.Accumulator {
			a, err := agg.New(call, inType(c))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return a
		}
		whole, part1, part2, viaState := newAcc(), newAcc(), newAcc(), newAcc()
		groups := 1 + r.IntN(50)
		for _, a := range []agg.Accumulator{whole, part1, part2, viaState} {
			a.Grow(groups)
		}
		for batch := 0; batch < 5; batch++ {
			n := 1 + r.IntN(500)
			col := column(r, mem, c.in, n)
			gs := make([]uint32, n)
			for i := range gs {
				gs[i] = uint32(r.IntN(groups))
			}
			if err := whole.Update(col, gs, nil); err != nil {
				t.Fatal(err)
			}
			var sel1, sel2 []int32
			var g1, g2 []uint32
			for i := range gs {
				if r.IntN(2) == 0 {
					sel1, g1 = append(sel1, int32(i)), append(g1, gs[i])
				} else {
					sel2, g2 = append(sel2, int32(i)), append(g2, gs[i])
				}
			}
			if sel1 == nil {
				sel1 = []int32{}
			}
			if sel2 == nil {
				sel2 = []int32{}
			}
			if err := part1.Update(col, g1, sel1); err != nil {
				t.Fatal(err)
			}
			if err := part2.Update(col, g2, sel2); err != nil {
				t.Fatal(err)
			}
			if col != nil {
				col.Release()
			}
		}
		var enc []byte
		for g := 0; g < groups; g++ {
			enc = part1.AppendState(enc, uint32(g))
			enc = part2.AppendState(enc, uint32(g))
		}
		for g := 0; g < groups; g++ {
			var err error
			for k := 0; k < 2; k++ {
				if enc, err = viaState.MergeState(uint32(g), enc); err != nil {
					t.Fatalf("%s: MergeState: %v", name, err)
				}
			}
			if err := part1.Merge(uint32(g), part2, uint32(g)); err != nil {
				t.Fatal(err)
			}
		}
		if len(enc) != 0 {
			t.Fatalf("%s: %d state bytes left over", name, len(enc))
		}
		want := build(t, mem, whole, c.out)
		for label, a := range map[string]agg.Accumulator{"merge": part1, "state": viaState} {
			got := build(t, mem, a, c.out)
			for g := range want {
				if got[g] != want[g] {
					t.Fatalf("%s via %s: group %d = %s, want %s", name, label, g, got[g], want[g])
				}
			}
		}
		whole.Reset()
		if whole.Len() != 0 {
			t.Fatalf("%s: Reset left %d groups", name, whole.Len())
		}
	}
}

func accumulate(t *testing.T, mem memory.Allocator, call jobgraph.AggCall, in arrow.Array) (string, error) {
	t.Helper()
	a, err := agg.New(call, in.DataType())
	if err != nil {
		t.Fatal(err)
	}
	a.Grow(1)
	if err := a.Update(in, make([]uint32, in.Len()), nil); err != nil {
		return "", err
	}
	b := array.NewBuilder(mem, call.Type.Arrow())
	defer b.Release()
	if err := a.Build(b); err != nil {
		return "", err
	}
	arr := b.NewArray()
	defer arr.Release()
	return optest.RenderValue(arr, 0), nil
}

var big6e37, _ = decimal128.FromString("60000000000000000000000000000000000000", 38, 0)

func TestSemantics(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f64 := func(vs ...float64) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	i32 := func(vs ...int32) arrow.Array {
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	dec := func(p, s int32, vs ...decimal128.Num) arrow.Array {
		b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: p, Scale: s})
		defer b.Release()
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	nan := math.NaN()
	tests := []struct {
		name string
		call jobgraph.AggCall
		in   arrow.Array
		want string // or an error substring after "error: "
	}{
		{"max with NaN", jobgraph.AggCall{Func: jobgraph.Max, Type: types.DoubleType}, f64(1, nan, 2), "NaN"},
		{"min ignores NaN", jobgraph.AggCall{Func: jobgraph.Min, Type: types.DoubleType}, f64(nan, 3, -1), "-1"},
		{"min -inf", jobgraph.AggCall{Func: jobgraph.Min, Type: types.DoubleType}, f64(math.Inf(-1), 0), "-Inf"},
		{"sum int wraps", jobgraph.AggCall{Func: jobgraph.Sum, Type: types.IntType}, i32(math.MaxInt32, 1), "-2147483648"},
		{"sum int as bigint", jobgraph.AggCall{Func: jobgraph.Sum, Type: types.BigIntType}, i32(math.MaxInt32, 1), "2147483648"},
		{"avg int truncates", jobgraph.AggCall{Func: jobgraph.Avg, Type: types.IntType}, i32(-7, 0), "-3"},
		{"avg int sums in bigint", jobgraph.AggCall{Func: jobgraph.Avg, Type: types.IntType}, i32(math.MaxInt32, math.MaxInt32), "2147483647"},
		{"avg decimal half up", jobgraph.AggCall{Func: jobgraph.Avg, Type: types.DecimalType(38, 6)},
			dec(10, 0, decimal128.FromI64(-1), decimal128.FromI64(0), decimal128.FromI64(0), decimal128.FromI64(0),
				decimal128.FromI64(0), decimal128.FromI64(0), decimal128.FromI64(0), decimal128.FromI64(0)), "-0.125000"},
		{"avg decimal rounds away from zero", jobgraph.AggCall{Func: jobgraph.Avg, Type: types.DecimalType(38, 6)},
			dec(10, 6, decimal128.FromI64(-1), decimal128.FromI64(0)), "-0.000001"},
		{"sum decimal overflow", jobgraph.AggCall{Func: jobgraph.Sum, Type: types.DecimalType(38, 0)},
			dec(38, 0, big6e37, big6e37), "error: does not fit DECIMAL(38, 0)"},
		{"sum decimal 128-bit overflow", jobgraph.AggCall{Func: jobgraph.Sum, Type: types.DecimalType(38, 0)},
			dec(38, 0, decimal128.GetMaxValue(38), decimal128.GetMaxValue(38), decimal128.GetMaxValue(38)), "error: overflowed"},
	}
	for _, tc := range tests {
		got, err := accumulate(t, mem, tc.call, tc.in)
		tc.in.Release()
		if e, ok := strings.CutPrefix(tc.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), e) {
				t.Errorf("%s: got %q, %v; want error containing %q", tc.name, got, err, e)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestUnsupportedResultTypes(t *testing.T) {
	bad := []tcase{
		{jobgraph.Count, types.IntType, types.IntType},
		{jobgraph.Sum, types.BigIntType, types.IntType},
		{jobgraph.Sum, types.StringType, types.StringType},
		{jobgraph.Sum, types.DecimalType(10, 2), types.DecimalType(38, 3)},
		{jobgraph.Avg, types.DecimalType(10, 2), types.DecimalType(38, 1)},
		{jobgraph.Avg, types.DoubleType, types.IntType},
		{jobgraph.Min, types.IntType, types.BigIntType},
		{jobgraph.Max, types.DecimalType(10, 2), types.DecimalType(10, 3)},
		{jobgraph.AggFunc("median"), types.IntType, types.IntType},
	}
	for _, c := range bad {
		if _, err := agg.New(jobgraph.AggCall{Func: c.fn, Type: c.out}, c.in.Arrow()); err == nil {
			t.Errorf("%s(%s) -> %s: no error", c.fn, c.in, c.out)
		}
	}
	if _, err := agg.New(jobgraph.AggCall{Func: jobgraph.Sum, Type: types.BigIntType}, nil); err == nil {
		t.Error("SUM without input: no error")
	}
}

func TestCorruptState(t *testing.T) {
	for _, c := range cases {
		a, err := agg.New(jobgraph.AggCall{Func: c.fn, Type: c.out}, inType(c))
		if err != nil {
			t.Fatal(err)
		}
		a.Grow(1)
		if _, err := a.MergeState(0, nil); err == nil {
			t.Errorf("%s(%s): MergeState(empty) succeeded", c.fn, c.in)
		}
	}
}

// TestSlicedInput updates from a sliced column (a non-zero offset into its
// buffers and validity bitmap) and from the whole column with a selection
// of the same rows: the results must agree.
func TestSlicedInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(9, 9))
	for _, c := range cases {
		if c.fn == jobgraph.CountStar {
			continue
		}
		call := jobgraph.AggCall{Func: c.fn, Arg: 0, Type: c.out}
		const n, off, groups = 300, 37, 7
		col := column(r, mem, c.in, n)
		part := array.NewSlice(col, off, n)
		gs := make([]uint32, n-off)
		sel := make([]int32, n-off)
		for i := range gs {
			gs[i], sel[i] = uint32(r.IntN(groups)), int32(off+i)
		}
		sliced, whole := newAcc(t, call, inType(c)), newAcc(t, call, inType(c))
		sliced.Grow(groups)
		whole.Grow(groups)
		if err := sliced.Update(part, gs, nil); err != nil {
			t.Fatal(err)
		}
		if err := whole.Update(col, gs, sel); err != nil {
			t.Fatal(err)
		}
		got, want := build(t, mem, sliced, c.out), build(t, mem, whole, c.out)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s(%s): sliced input gives %v, want %v", c.fn, c.in, got, want)
		}
		part.Release()
		col.Release()
	}
}

func newAcc(t *testing.T, call jobgraph.AggCall, in arrow.DataType) agg.Accumulator {
	t.Helper()
	a, err := agg.New(call, in)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

package expr

import (
	"context"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// refTumbleStart is the reference for tumble_start, in exact integer
// arithmetic: ts - ((ts - offset) mod size), the modulus taken in [0, size)
// (big.Int.Mod is Euclidean), then wrapped to int64 as the engine's
// long arithmetic wraps.
func refTumbleStart(ts, size, offset int64) int64 {
	t := big.NewInt(ts)
	m := new(big.Int).Sub(t, big.NewInt(offset))
	m.Mod(m, big.NewInt(size))
	start := new(big.Int).Sub(t, m)
	// Wrap to 64 bits, two's complement.
	mod := new(big.Int).Lsh(big.NewInt(1), 64)
	start.Mod(start, mod)
	if start.Cmp(new(big.Int).Lsh(big.NewInt(1), 63)) >= 0 {
		start.Sub(start, mod)
	}
	return start.Int64()
}

func intervalLit(ms int64) *Expr {
	t := types.IntervalType
	t.NotNull = true
	return Lit(strconv.FormatInt(ms, 10), t)
}

func tumbleStartOf(ts *Expr, size, offset int64) *Expr {
	t := types.TimestampType
	t.NotNull = ts.Type.NotNull
	return Call(FuncTumbleStart, t, ts, intervalLit(size), intervalLit(offset))
}

// randomEventTime draws times near the epoch (both signs), near window
// boundaries, typical ones, and extremes.
func randomEventTime(r *rand.Rand, size int64) int64 {
	switch r.IntN(6) {
	case 0:
		return r.Int64N(2_000_000) - 1_000_000
	case 1:
		k := r.Int64N(2001) - 1000
		return k*size + r.Int64N(3) - 1
	case 2:
		return 1_700_000_000_000 + r.Int64N(10_000_000)
	case 3:
		return math.MinInt64 + r.Int64N(1000)
	case 4:
		return math.MaxInt64 - r.Int64N(1000)
	}
	return int64(r.Uint64())
}

func randomWindowSize(r *rand.Rand) int64 {
	sizes := []int64{1, 2, 3, 7, 1000, 5000, 60_000, 3_600_000, 86_400_000, math.MaxInt64 / 4, math.MaxInt64/2 + 1, math.MaxInt64}
	if r.IntN(3) == 0 {
		return 1 + r.Int64N(math.MaxInt64)
	}
	return sizes[r.IntN(len(sizes))]
}

func randomWindowOffset(r *rand.Rand, size int64) int64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		// Flink's range: |offset| < size.
		if size == 1 {
			return 0
		}
		return r.Int64N(size) * (1 - 2*r.Int64N(2))
	case 2:
		return int64(r.Uint64()) // any offset: only offset mod size matters
	}
	return []int64{math.MinInt64, math.MaxInt64, -1, 1}[r.IntN(4)]
}

// TestTumbleStartMatchesReference evaluates tumble_start over random
// TIMESTAMP columns (random lengths, NULLs, sliced inputs, negative and
// extreme times, every size and offset) and checks each row against the
// exact reference.
func TestTumbleStartMatchesReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(42, 1))
	schema := types.Schema{Fields: []types.Field{{Name: "ts", Type: types.TimestampType}}}
	for iter := 0; iter < 500; iter++ {
		checkTumbleStartBatch(t, r, mem, schema)
	}
}

// checkTumbleStartBatch checks one random batch with a random window.
func checkTumbleStartBatch(t *testing.T, r *rand.Rand, mem memory.Allocator, schema types.Schema) {
	t.Helper()
	size := randomWindowSize(r)
	offset := randomWindowOffset(r, size)
	n := randomSizes[r.IntN(len(randomSizes))] + r.IntN(300)
	nullRate := []float64{0, 0, 0.1, 0.5, 1}[r.IntN(5)]
	b := array.NewTimestampBuilder(mem, types.TimestampType.Arrow().(*arrow.TimestampType))
	lead := r.IntN(5) // sliced away, to test array offsets
	for i := 0; i < n+lead; i++ {
		if r.Float64() < nullRate {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(randomEventTime(r, size)))
		}
	}
	full := b.NewArray()
	b.Release()
	col := array.NewSlice(full, int64(lead), int64(lead+n))
	full.Release()
	defer col.Release()

	e := tumbleStartOf(Col(0, types.TimestampType), size, offset)
	ev, err := Compile(e, schema)
	if err != nil {
		t.Fatalf("size %d offset %d: compile: %v", size, offset, err)
	}
	out, err := ev.EvalColumns(context.Background(), []arrow.Array{col}, n, mem)
	if err != nil {
		t.Fatalf("size %d offset %d: eval: %v", size, offset, err)
	}
	defer out.Release()
	got := out.(*array.Timestamp)
	if got.Len() != n {
		t.Fatalf("size %d offset %d: %d rows, want %d", size, offset, got.Len(), n)
	}
	in := col.(*array.Timestamp)
	for i := 0; i < n; i++ {
		if in.IsNull(i) {
			if !got.IsNull(i) {
				t.Fatalf("size %d offset %d row %d: NULL time gave %d, want NULL", size, offset, i, got.Value(i))
			}
			continue
		}
		ts := int64(in.Value(i))
		want := refTumbleStart(ts, size, offset)
		if got.IsNull(i) || int64(got.Value(i)) != want {
			t.Fatalf("tumble_start(%d, size %d, offset %d) = %v, want %d", ts, size, offset, got.ValueStr(i), want)
		}
		// Away from the int64 limits the window really holds ts.
		if ts > math.MinInt64/2 && ts < math.MaxInt64/2 && size < math.MaxInt64/4 && !(want <= ts && ts-want < size) {
			t.Fatalf("tumble_start(%d, size %d, offset %d) = %d: the window does not hold the time", ts, size, offset, want)
		}
	}
}

// TestTumbleStartTumblesAtOffsets checks hand-picked windows: negative
// times fall into the window below them, and offsets shift the boundaries.
func TestTumbleStartTumblesAtOffsets(t *testing.T) {
	cases := []struct{ ts, size, offset, want int64 }{
		{0, 60_000, 0, 0},
		{59_999, 60_000, 0, 0},
		{60_000, 60_000, 0, 60_000},
		{-1, 60_000, 0, -60_000},
		{-60_000, 60_000, 0, -60_000},
		{-60_001, 60_000, 0, -120_000},
		{4_999, 60_000, 5_000, -55_000},
		{5_000, 60_000, 5_000, 5_000},
		{5_000, 60_000, -55_000, 5_000},
		{-1, 10, -3, -3},
		{-4, 10, -3, -13},
		{math.MaxInt64, 1, 0, math.MaxInt64},
		{math.MinInt64, 1, 0, math.MinInt64},
	}
	for _, c := range cases {
		if got := tumbleStart(c.ts, c.size, ((c.offset%c.size)+c.size)%c.size); got != c.want {
			t.Errorf("tumbleStart(%d, %d, %d) = %d, want %d", c.ts, c.size, c.offset, got, c.want)
		}
		if ref := refTumbleStart(c.ts, c.size, c.offset); ref != c.want {
			t.Errorf("reference(%d, %d, %d) = %d, want %d", c.ts, c.size, c.offset, ref, c.want)
		}
	}
}

// TestTumbleStartConstantsAndErrors covers folding, constant NULLs and the
// compile errors, which name the function and the problem.
func TestTumbleStartConstantsAndErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := types.Schema{Fields: []types.Field{
		{Name: "ts", Type: types.TimestampType}, {Name: "v", Type: types.IntervalType}, {Name: "a", Type: types.BigIntType},
	}}
	ts := Col(0, types.TimestampType)
	tsT := types.TimestampType

	// A constant time folds to a constant.
	e := tumbleStartOf(Lit("-1", tsT), 60_000, 0)
	ev, err := Compile(e, schema)
	if err != nil {
		t.Fatal(err)
	}
	if p := ev.(*evaluator).root; p.konst == nil || p.konst.null || p.konst.i != -60_000 {
		t.Fatalf("constant tumble_start folded to %+v, want -60000", p.konst)
	}
	out, err := ev.EvalColumns(context.Background(), nil, 3, mem)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if v := int64(out.(*array.Timestamp).Value(i)); out.IsNull(i) || v != -60_000 {
			t.Fatalf("row %d = %d, want -60000", i, v)
		}
	}
	out.Release()

	// Constant NULLs (time, size or offset) make the call NULL.
	for _, e := range []*Expr{
		Call(FuncTumbleStart, tsT, NullLit(tsT), intervalLit(1000), intervalLit(0)),
		Call(FuncTumbleStart, tsT, NullLit(types.Type{Kind: types.Null}), intervalLit(1000), intervalLit(0)),
		Call(FuncTumbleStart, tsT, ts, NullLit(types.IntervalType), intervalLit(0)),
		Call(FuncTumbleStart, tsT, ts, intervalLit(1000), NullLit(types.IntervalType)),
	} {
		ev, err := Compile(e, schema)
		if err != nil {
			t.Fatalf("%v: %v", describe(e, schema), err)
		}
		if p := ev.(*evaluator).root; p.konst == nil || !p.konst.null {
			t.Fatalf("%s: not the constant NULL", describe(e, schema))
		}
	}

	bad := []struct {
		e    *Expr
		want string
	}{
		{Call(FuncTumbleStart, tsT, ts, intervalLit(1000)), "want 3 argument(s), got 2"},
		{Call(FuncTumbleStart, tsT, ts, intervalLit(0), intervalLit(0)), "window size INTERVAL '0' MILLISECOND is not positive"},
		{Call(FuncTumbleStart, tsT, ts, intervalLit(-5), intervalLit(0)), "is not positive"},
		{Call(FuncTumbleStart, tsT, ts, Col(1, types.IntervalType), intervalLit(0)), "the window size v is not a constant"},
		{Call(FuncTumbleStart, tsT, ts, intervalLit(1000), Col(1, types.IntervalType)), "the window offset v is not a constant"},
		{Call(FuncTumbleStart, tsT, Col(2, types.BigIntType), intervalLit(1000), intervalLit(0)), "the time argument is BIGINT, want TIMESTAMP(3)"},
		{Call(FuncTumbleStart, tsT, ts, Lit("1000", types.BigIntType), intervalLit(0)), "the window size is BIGINT, want a constant INTERVAL"},
		{Call(FuncTumbleStart, types.BigIntType, ts, intervalLit(1000), intervalLit(0)), "result type is BIGINT, want TIMESTAMP(3)"},
	}
	for _, c := range bad {
		_, err := Compile(c.e, schema)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), FuncTumbleStart) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", describe(c.e, schema), err, FuncTumbleStart, c.want)
		}
	}
}

// BenchmarkTumbleStart computes window starts of a 4096-row TIMESTAMP
// column with 5% NULLs.
func BenchmarkTumbleStart(b *testing.B) {
	mem := memory.NewGoAllocator()
	r := rand.New(rand.NewPCG(1, 1))
	const n = 4096
	tb := array.NewTimestampBuilder(mem, types.TimestampType.Arrow().(*arrow.TimestampType))
	for i := 0; i < n; i++ {
		if r.IntN(20) == 0 {
			tb.AppendNull()
		} else {
			tb.Append(arrow.Timestamp(1_700_000_000_000 + r.Int64N(3_600_000)))
		}
	}
	col := tb.NewArray()
	tb.Release()
	defer col.Release()
	schema := types.Schema{Fields: []types.Field{{Name: "ts", Type: types.TimestampType}}}
	ev, err := Compile(tumbleStartOf(Col(0, types.TimestampType), 60_000, 5_000), schema)
	if err != nil {
		b.Fatal(err)
	}
	cols := []arrow.Array{col}
	ctx := context.Background()
	perCPU(b, n, func() error {
		out, err := ev.EvalColumns(ctx, cols, n, mem)
		if err != nil {
			return err
		}
		out.Release()
		return nil
	})
}

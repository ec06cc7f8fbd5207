package expr_test

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cespare/xxhash/v2"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// refMix is SplitMix64's finalizer written out from its published
// constants, for the reference.
func refMix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// refHash is HASH_CODE of one value as its doc comment specifies it (nil
// for NULL).
func refHash(t types.Type, v any) any {
	if v == nil {
		return nil
	}
	var h uint64
	switch t.Kind {
	case types.Boolean:
		if v.(bool) {
			h = refMix(1)
		} else {
			h = refMix(0)
		}
	case types.Int:
		h = refMix(uint64(int64(v.(int32))))
	case types.BigInt:
		h = refMix(uint64(v.(int64)))
	case types.Double:
		f := v.(float64)
		bits := math.Float64bits(f)
		if f == 0 {
			bits = 0
		}
		if f != f {
			bits = math.Float64bits(math.NaN())
		}
		h = refMix(bits)
	case types.Decimal:
		d := v.(decimal128.Num)
		h = refMix(d.LowBits() ^ refMix(uint64(d.HighBits())))
	case types.String:
		h = xxhash.Sum64String(v.(string))
	}
	return int32(h >> 32)
}

// column builds a random column of t with NULLs, and returns its values.
func column(r *rand.Rand, mem memory.Allocator, t types.Type, n int) (arrow.Array, []any) {
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	vals := make([]any, n)
	small := r.IntN(2) == 0 // few distinct values: repeats must agree
	for i := range vals {
		if r.IntN(6) == 0 {
			b.AppendNull()
			continue
		}
		k := r.Int64()
		if small {
			k = r.Int64N(5) - 2
		}
		switch t.Kind {
		case types.Boolean:
			vals[i] = k%2 == 0
			b.(*array.BooleanBuilder).Append(vals[i].(bool))
		case types.Int:
			vals[i] = int32(k)
			b.(*array.Int32Builder).Append(vals[i].(int32))
		case types.BigInt:
			vals[i] = k
			b.(*array.Int64Builder).Append(k)
		case types.Double:
			f := []float64{0, math.Copysign(0, -1), math.NaN(), -math.NaN(), 1.5, -2, math.Inf(1)}[r.IntN(7)]
			if !small {
				f = r.NormFloat64() * 1e6
			}
			vals[i] = f
			b.(*array.Float64Builder).Append(f)
		case types.Decimal:
			d := decimal128.New(k>>40, uint64(k))
			vals[i] = d
			b.(*array.Decimal128Builder).Append(d)
		case types.String:
			var buf [8]byte
			binary.LittleEndian.PutUint64(buf[:], uint64(k))
			s := string(buf[:r.IntN(9)])
			vals[i] = s
			b.(*array.StringBuilder).Append(s)
		}
	}
	return b.NewArray(), vals
}

func TestHashCodeMatchesItsDefinitionOnRandomColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 12))
	kinds := []types.Type{types.BooleanType, types.IntType, types.BigIntType, types.DoubleType, types.DecimalType(20, 2), types.StringType}
	for trial := 0; trial < 200; trial++ {
		typ := kinds[r.IntN(len(kinds))]
		n := 1 + r.IntN(300)
		col, vals := column(r, mem, typ, n)
		// Often a slice, so offsets are exercised.
		lo := r.IntN(n)
		hi := lo + r.IntN(n-lo+1)
		if r.IntN(2) == 0 {
			lo, hi = 0, n
		}
		sl := array.NewSlice(col, int64(lo), int64(hi))
		col.Release()
		ev, err := expr.Compile(expr.Call(expr.FuncHashCode, types.IntType, expr.Col(0, typ)), types.Schema{Fields: []types.Field{{Name: "x", Type: typ}}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ev.EvalColumns(context.Background(), []arrow.Array{sl}, hi-lo, mem)
		sl.Release()
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*array.Int32)
		for i := 0; i < hi-lo; i++ {
			want := refHash(typ, vals[lo+i])
			if want == nil {
				if !got.IsNull(i) {
					t.Fatalf("%s row %d: HASH_CODE(NULL) = %d, want NULL", typ, i, got.Value(i))
				}
				continue
			}
			if got.IsNull(i) || got.Value(i) != want.(int32) {
				t.Fatalf("%s row %d: HASH_CODE(%v) = %v, want %d", typ, i, vals[lo+i], got.GetOneForMarshal(i), want)
			}
		}
		out.Release()
	}
}

// The hash is part of the state format (it picks a DISTINCT value's
// bucket): these values must never change.
func TestHashCodeIsStable(t *testing.T) {
	for _, c := range []struct {
		got, want int32
	}{
		{expr.HashInt64(0), 0},
		{expr.HashInt64(1), int32(refMix(1) >> 32)},
		{expr.HashString([]byte("")), int32(xxhash.Sum64(nil) >> 32)},
	} {
		if c.got != c.want {
			t.Errorf("hash %d, want %d", c.got, c.want)
		}
	}
	if expr.HashFloat64(0) != expr.HashFloat64(math.Copysign(0, -1)) {
		t.Error("-0.0 and 0.0 hash differently")
	}
}

// Consecutive integers (room ids) spread evenly over 1024 buckets.
func TestHashCodeSpreadsConsecutiveKeys(t *testing.T) {
	const buckets, n = 1024, 1024 * 64
	count := make([]int, buckets)
	for i := int64(0); i < n; i++ {
		b := expr.HashInt64(i) % buckets
		if b < 0 {
			b += buckets
		}
		count[b]++
	}
	// Expected 64 per bucket; a chi-square over 1023 degrees of freedom
	// stays far below 1300 for a good hash.
	chi := 0.0
	for _, c := range count {
		d := float64(c - n/buckets)
		chi += d * d / float64(n/buckets)
	}
	if chi > 1300 {
		t.Errorf("chi-square %.0f over %d buckets: consecutive keys cluster", chi, buckets)
	}
}

func TestHashCodeConstantAndErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := types.Schema{Fields: []types.Field{{Name: "x", Type: types.BigIntType}}}
	ev, err := expr.Compile(expr.Call(expr.FuncHashCode, types.IntType, expr.Lit("7", types.BigIntType)), schema)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{1, 2, 3}, nil)
	col := b.NewArray()
	b.Release()
	out, err := ev.EvalColumns(context.Background(), []arrow.Array{col}, 3, mem)
	col.Release()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < out.Len(); i++ {
		if out.IsNull(i) || out.(*array.Int32).Value(i) != expr.HashInt64(7) {
			t.Errorf("row %d: HASH_CODE(7) = %v", i, out.(*array.Int32).GetOneForMarshal(i))
		}
	}
	out.Release()
	if _, err := expr.Compile(expr.Call(expr.FuncHashCode, types.BigIntType, expr.Col(0, types.BigIntType)), schema); err == nil {
		t.Error("HASH_CODE returning BIGINT compiled")
	}
	if _, err := expr.Compile(expr.Call(expr.FuncHashCode, types.IntType), schema); err == nil {
		t.Error("HASH_CODE() compiled")
	}
}

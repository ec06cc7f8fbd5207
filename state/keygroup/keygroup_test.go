package keygroup

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestRangesPartitionKeyGroups checks that RangeOf and Subtask agree and that
// the ranges of all subtasks tile [0, maxP) without gaps or overlaps.
func TestRangesPartitionKeyGroups(t *testing.T) {
	for _, maxP := range []int{1, 2, 7, 128, 1000} {
		for p := 1; p <= maxP && p <= 130; p++ {
			next := 0
			for i := 0; i < p; i++ {
				r := RangeOf(i, maxP, p)
				if r.Start != next {
					t.Fatalf("maxP=%d p=%d subtask %d: range %v starts at %d, want %d", maxP, p, i, r, r.Start, next)
				}
				if r.Len() < 1 {
					t.Fatalf("maxP=%d p=%d subtask %d: empty range %v", maxP, p, i, r)
				}
				for kg := r.Start; kg < r.End; kg++ {
					if got := Subtask(kg, maxP, p); got != i {
						t.Fatalf("maxP=%d p=%d: Subtask(%d) = %d, want %d", maxP, p, kg, got, i)
					}
				}
				next = r.End
			}
			if next != maxP {
				t.Fatalf("maxP=%d p=%d: ranges end at %d", maxP, p, next)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		p, maxP int
		ok      bool
	}{{1, 128, true}, {128, 128, true}, {129, 128, false}, {0, 128, false}, {1, 0, false}, {1, MaxMaxParallelism + 1, false}} {
		if err := Validate(c.p, c.maxP); (err == nil) != c.ok {
			t.Errorf("Validate(%d, %d) = %v, want ok=%v", c.p, c.maxP, err, c.ok)
		}
	}
}

// key is one row of the test's key columns, as plain Go values.
type key struct {
	i64   int64
	i32   int32
	f     float64
	s     string
	b     bool
	d     int64
	nulls [6]bool
}

// buildColumns builds the key columns for keys, with random garbage under
// NULL slots and a random slice offset, so hashing must ignore both.
func buildColumns(mem memory.Allocator, r *rand.Rand, keys []key) []arrow.Array {
	pad := r.IntN(5)
	b64 := array.NewInt64Builder(mem)
	b32 := array.NewInt32Builder(mem)
	bf := array.NewFloat64Builder(mem)
	bs := array.NewStringBuilder(mem)
	bb := array.NewBooleanBuilder(mem)
	bd := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 20, Scale: 2})
	bts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	builders := []array.Builder{b64, b32, bf, bs, bb, bd, bts}
	for i := 0; i < pad; i++ {
		b64.Append(r.Int64())
		b32.Append(r.Int32())
		bf.Append(r.Float64())
		bs.Append("pad")
		bb.Append(true)
		bd.Append(decimal128.FromI64(r.Int64()))
		bts.Append(arrow.Timestamp(r.Int64()))
	}
	for _, k := range keys {
		// Garbage values under NULL slots: AppendValues then mark invalid is not
		// possible with builders, so append a random value with a false valid flag.
		b64.AppendValues([]int64{pick(k.nulls[0], r.Int64(), k.i64)}, []bool{!k.nulls[0]})
		b32.AppendValues([]int32{pick(k.nulls[1], r.Int32(), k.i32)}, []bool{!k.nulls[1]})
		bf.AppendValues([]float64{pick(k.nulls[2], r.Float64(), k.f)}, []bool{!k.nulls[2]})
		bs.AppendValues([]string{pick(k.nulls[3], fmt.Sprint(r.Int()), k.s)}, []bool{!k.nulls[3]})
		bb.AppendValues([]bool{pick(k.nulls[4], r.IntN(2) == 0, k.b)}, []bool{!k.nulls[4]})
		bd.AppendValues([]decimal128.Num{decimal128.FromI64(pick(k.nulls[5], r.Int64(), k.d))}, []bool{!k.nulls[5]})
		bts.Append(arrow.Timestamp(k.i64))
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		full := b.NewArray()
		cols[i] = array.NewSlice(full, int64(pad), int64(full.Len()))
		full.Release()
		b.Release()
	}
	return cols
}

func pick[T any](null bool, garbage, v T) T {
	if null {
		return garbage
	}
	return v
}

// TestEqualKeysHashEqually builds random keys with many duplicates and checks
// that rows with equal keys (NULLs equal to NULLs, -0 equal to +0) get equal
// hashes, whatever lies under NULL slots or before a slice's offset.
func TestEqualKeysHashEqually(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		distinct := make([]key, 1+r.IntN(20))
		for i := range distinct {
			k := key{i64: r.Int64N(5), i32: r.Int32N(3), f: float64(r.IntN(3)), s: fmt.Sprint(r.IntN(3)), b: r.IntN(2) == 0, d: r.Int64N(3)}
			if k.f == 0 && r.IntN(2) == 0 {
				k.f = negZero()
			}
			for j := range k.nulls {
				k.nulls[j] = r.IntN(4) == 0
			}
			distinct[i] = k
		}
		n := r.IntN(300)
		keys := make([]key, n)
		for i := range keys {
			keys[i] = distinct[r.IntN(len(distinct))]
		}
		cols := buildColumns(mem, r, keys)
		out := make([]uint64, n)
		if err := HashColumns(cols, out); err != nil {
			t.Fatal(err)
		}
		seen := map[string]uint64{}
		for i, k := range keys {
			id := canonical(k)
			if h, ok := seen[id]; ok && h != out[i] {
				t.Fatalf("trial %d row %d: equal keys %s hash to %x and %x", trial, i, id, h, out[i])
			}
			seen[id] = out[i]
		}
		for _, c := range cols {
			c.Release()
		}
	}
}

func negZero() float64 {
	z := 0.0
	return -z
}

// canonical renders a key so that equal SQL keys render equally.
func canonical(k key) string {
	vals := []any{k.i64, k.i32, k.f + 0, k.s, k.b, k.d}
	if k.f == 0 {
		vals[2] = 0.0
	}
	for j, null := range k.nulls {
		if null {
			vals[j] = "NULL"
		}
	}
	return fmt.Sprint(append(vals, k.i64)...)
}

// TestHashSpreadsKeyGroups checks that sequential BIGINT keys spread evenly
// over key groups: no key group gets more than twice its fair share.
func TestHashSpreadsKeyGroups(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n, maxP = 128_000, 128
	b := array.NewInt64Builder(mem)
	for i := 0; i < n; i++ {
		b.Append(int64(i))
	}
	col := b.NewArray()
	defer col.Release()
	b.Release()
	out := make([]uint64, n)
	if err := HashColumns([]arrow.Array{col}, out); err != nil {
		t.Fatal(err)
	}
	counts := make([]int, maxP)
	for _, h := range out {
		counts[Of(h, maxP)]++
	}
	for kg, c := range counts {
		if c > 2*n/maxP || c < n/maxP/2 {
			t.Fatalf("key group %d holds %d of %d keys; fair share is %d", kg, c, n, n/maxP)
		}
	}
}

func TestHashRejectsUnsupportedTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewFloat32Builder(mem)
	b.Append(1)
	a := b.NewArray()
	defer a.Release()
	b.Release()
	if err := HashColumns([]arrow.Array{a}, make([]uint64, 1)); err == nil {
		t.Fatal("hashing a float32 column succeeded; want an error")
	}
	if err := HashColumns([]arrow.Array{a}, make([]uint64, 2)); err == nil {
		t.Fatal("hashing with a wrong output length succeeded; want an error")
	}
}

package udf_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

func randomStrings(r *rand.Rand, mem memory.Allocator, n int) (arrow.Array, []*string) {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	vals := make([]*string, n)
	pieces := []string{"a", "b", "é", "🙂", ",", ""}
	for i := range vals {
		if r.IntN(5) == 0 {
			b.AppendNull()
			continue
		}
		var sb strings.Builder
		for k := r.IntN(6); k > 0; k-- {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := sb.String()
		vals[i] = &s
		b.Append(s)
	}
	return b.NewArray(), vals
}

func TestScalarFuncAgainstReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	countChar := udf.ScalarFunc2("count_char", func(s, c string) int64 { return int64(strings.Count(s, c)) })
	orEmpty := udf.ScalarFunc1("or_empty", func(s udf.Nullable[string]) udf.Nullable[int32] {
		if !s.Valid {
			return udf.Value[int32](-1)
		}
		if s.V == "" {
			return udf.Null[int32]()
		}
		return udf.Value(int32(len(s.V)))
	})
	reg := udf.NewRegistry()
	for _, f := range []udf.Function{countChar, orEmpty} {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	if rt, err := countChar.ResultType([]types.Type{types.StringType, {Kind: types.String, Length: 3}}); err != nil || rt.Kind != types.BigInt {
		t.Fatalf("ResultType = %v, %v", rt, err)
	}
	if _, err := countChar.ResultType([]types.Type{types.StringType, types.IntType}); err == nil || !strings.Contains(err.Error(), "argument 2 is INT, want STRING") {
		t.Fatalf("ResultType of a bad argument: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 20; iter++ {
		n := r.IntN(300)
		s, sv := randomStrings(r, mem, n)
		c, cv := randomStrings(r, mem, n)
		out, err := countChar.Eval(t.Context(), []arrow.Array{s, c}, n, mem)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*array.Int64)
		for i := 0; i < n; i++ {
			if sv[i] == nil || cv[i] == nil {
				if got.IsValid(i) {
					t.Fatalf("row %d: NULL in gave %d", i, got.Value(i))
				}
				continue
			}
			if want := int64(strings.Count(*sv[i], *cv[i])); !got.IsValid(i) || got.Value(i) != want {
				t.Fatalf("row %d: count_char(%q, %q) = %v, want %d", i, *sv[i], *cv[i], got.Value(i), want)
			}
		}
		out.Release()
		out, err = orEmpty.Eval(t.Context(), []arrow.Array{s}, n, mem)
		if err != nil {
			t.Fatal(err)
		}
		oe := out.(*array.Int32)
		for i := 0; i < n; i++ {
			switch {
			case sv[i] == nil:
				if !oe.IsValid(i) || oe.Value(i) != -1 {
					t.Fatalf("row %d: NULL should reach the function", i)
				}
			case *sv[i] == "":
				if oe.IsValid(i) {
					t.Fatalf("row %d: want NULL", i)
				}
			case oe.Value(i) != int32(len(*sv[i])):
				t.Fatalf("row %d: got %d", i, oe.Value(i))
			}
		}
		out.Release()
		s.Release()
		c.Release()
	}
}

func TestTypedRegistrationErrors(t *testing.T) {
	reg := udf.NewRegistry()
	bad := udf.ScalarFunc1("bad", func(x []int) int64 { return 0 })
	if err := reg.Register(bad); err == nil || !strings.Contains(err.Error(), "parameter 1") {
		t.Fatalf("unsupported parameter type: %v", err)
	}
	badAgg := udf.AggregateFunc1("bad_agg", udf.Agg1[int64, int64, int64]{})
	if err := reg.Register(badAgg); err == nil || !strings.Contains(err.Error(), "must all be set") {
		t.Fatalf("incomplete aggregate: %v", err)
	}
	ok := udf.ScalarFunc1("twice", func(x int64) int64 { return 2 * x })
	if err := reg.Register(ok); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(udf.ScalarFunc1("TWICE", func(x int64) int64 { return x })); err == nil {
		t.Fatal("a second function of the same name was registered")
	}
	if rt, err := ok.(udf.Scalar).ResultType([]types.Type{types.IntType}); err != nil || rt.Kind != types.BigInt {
		t.Fatalf("INT should widen to BIGINT: %v %v", rt, err)
	}
}

type sumState struct {
	Sum   int64
	Count int64
}

func TestAggregateFunc(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	avg := udf.AggregateFunc1("int_avg", udf.Agg1[sumState, int64, udf.Nullable[int64]]{
		Add:   func(s *sumState, x int64) { s.Sum += x; s.Count++ },
		Merge: func(s, o *sumState) { s.Sum += o.Sum; s.Count += o.Count },
		Result: func(s *sumState) udf.Nullable[int64] {
			if s.Count == 0 {
				return udf.Null[int64]()
			}
			return udf.Value(s.Sum / s.Count)
		},
	})
	if err := udf.NewRegistry().Register(avg); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	b := array.NewInt64Builder(mem)
	var want sumState
	for i := 0; i < 500; i++ {
		if r.IntN(4) == 0 {
			b.AppendNull()
			continue
		}
		x := r.Int64N(1000) - 500
		b.Append(x)
		want.Sum += x
		want.Count++
	}
	col := b.NewArray()
	b.Release()
	defer col.Release()
	// Two halves accumulated apart, saved, restored and merged.
	a1, a2 := avg.NewAccumulator(nil), avg.NewAccumulator(nil)
	for i := 0; i < col.Len(); i++ {
		acc := a1
		if i%2 == 1 {
			acc = a2
		}
		if err := acc.Accumulate([]arrow.Array{col}, i); err != nil {
			t.Fatal(err)
		}
	}
	data, err := a2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	a3 := avg.NewAccumulator(nil)
	if err := a3.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if err := a1.Merge(a3); err != nil {
		t.Fatal(err)
	}
	rb := array.NewInt64Builder(mem)
	defer rb.Release()
	if err := a1.Result(rb); err != nil {
		t.Fatal(err)
	}
	if err := avg.NewAccumulator(nil).Result(rb); err != nil {
		t.Fatal(err)
	}
	res := rb.NewArray()
	defer res.Release()
	got := res.(*array.Int64)
	if got.Value(0) != want.Sum/want.Count || got.IsValid(1) {
		t.Fatalf("int_avg = %v, want %d then NULL", got, want.Sum/want.Count)
	}
}

type word struct {
	Word string `udf:"word"`
	Pos  int32  `udf:"pos"`
	Len  udf.Nullable[int64]
}

func TestTableFunc(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	split := udf.TableFunc1("split_words", func(s string) []word {
		var out []word
		for i, w := range strings.Fields(s) {
			l := udf.Value(int64(len(w)))
			if len(w) == 1 {
				l = udf.Null[int64]()
			}
			out = append(out, word{Word: w, Pos: int32(i), Len: l})
		}
		return out
	})
	if err := udf.NewRegistry().Register(split); err != nil {
		t.Fatal(err)
	}
	schema, err := split.ResultSchema([]types.Type{types.StringType})
	if err != nil || schema.String() != "(word STRING, pos INT, Len BIGINT)" {
		t.Fatalf("schema %s, %v", schema, err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	in, vals := randomStrings(r, mem, 200)
	defer in.Release()
	rec, idx, err := split.Eval(t.Context(), []arrow.Array{in}, in.Len(), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	k := 0
	for i, v := range vals {
		if v == nil {
			continue
		}
		for p, w := range strings.Fields(*v) {
			if k >= len(idx) || idx[k] != int32(i) {
				t.Fatalf("row %d word %d: index %v", i, p, idx[k:])
			}
			if got := rec.Column(0).(*array.String).Value(k); got != w {
				t.Fatalf("word %q, want %q", got, w)
			}
			if rec.Column(1).(*array.Int32).Value(k) != int32(p) {
				t.Fatal("pos")
			}
			if (len(w) == 1) != rec.Column(2).IsNull(k) {
				t.Fatal("nullable column")
			}
			k++
		}
	}
	if k != len(idx) || int(rec.NumRows()) != k {
		t.Fatalf("%d rows, want %d", rec.NumRows(), k)
	}
}

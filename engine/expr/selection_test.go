package expr

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// TestFilterMatchesReference filters random batches with random predicates
// and compares the kept rows, in order, with the rows where the reference
// says TRUE.
func TestFilterMatchesReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	checked := 0
	for it := 0; it < 400; it++ {
		r := rand.New(rand.NewPCG(99, uint64(it)))
		schema := randomSchema(r)
		f := newFixture(r, mem, schema, randomSizes[r.IntN(len(randomSizes))])
		g := &exprGen{r: r, schema: schema}
		pred := g.gen(types.Boolean, 1+r.IntN(3))
		switch it % 10 {
		case 0:
			pred = Lit("true", types.BooleanType)
		case 1:
			pred = NullLit(types.BooleanType)
		}
		var keep []int32
		var refErr error
		for i := 0; i < f.n && refErr == nil; i++ {
			var v rv
			v, refErr = refEval(pred, f.row(i))
			if !v.null && v.b {
				keep = append(keep, int32(i))
			}
		}
		ev, err := Compile(pred, schema)
		if err != nil {
			t.Fatal(err)
		}
		rec := array.NewRecordBatch(schema.Arrow(), f.cols, int64(f.n))
		out, sel, err := Filter(ctx, ev, rec, mem)
		if refErr != nil {
			if err == nil {
				t.Fatalf("%s: filter succeeded where the reference fails", describe(pred, schema))
			}
			rec.Release()
			f.release()
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", describe(pred, schema), err)
		}
		checked++
		if sel.Len(f.n) != len(keep) {
			t.Fatalf("%s: kept %d rows, want %d", describe(pred, schema), sel.Len(f.n), len(keep))
		}
		switch {
		case f.n == 0:
			// Nothing to keep: either answer is right.
		case len(keep) == 0:
			if out != nil {
				t.Fatalf("%s: a batch for no rows", describe(pred, schema))
			}
		case len(keep) == f.n:
			if !sel.All || out != rec {
				t.Fatalf("%s: all rows pass, want the input back", describe(pred, schema))
			}
		default:
			for j, i := range keep {
				if sel.Indices[j] != i {
					t.Fatalf("selection %v, want %v", sel.Indices, keep)
				}
				for c := range f.cols {
					ft := schema.Fields[c].Type
					if got := readRow(out.Column(c), ft, j); !sameRV(ft, got, f.row(int(i))[c]) {
						t.Fatalf("row %d col %d: got %s, want %s", j, c, showRV(ft, got), showRV(ft, f.row(int(i))[c]))
					}
				}
			}
		}
		if out != nil {
			out.Release()
		}
		rec.Release()
		f.release()
	}
	if checked < 200 {
		t.Fatalf("only %d predicates evaluated without error", checked)
	}
}

// TestTakeRejectsBadIndices checks Take's range check.
func TestTakeRejectsBadIndices(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	arr := arrayOf(mem, types.BigIntType, []any{int64(1), int64(2)})
	defer arr.Release()
	for _, idx := range [][]int32{{2}, {-1}, {0, 5}} {
		if out, err := Take(arr, idx, mem); err == nil {
			out.Release()
			t.Errorf("Take(%v) succeeded", idx)
		}
	}
	lst := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	lst.AppendNull()
	la := lst.NewArray()
	lst.Release()
	defer la.Release()
	if _, err := Take(la, []int32{0}, mem); err == nil {
		t.Error("Take of a LIST column succeeded")
	}
}

// TestConcurrentEval evaluates one Evaluator from several goroutines (run
// with -race).
func TestConcurrentEval(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(4, 4))
	schema := randomSchema(r)
	f := newFixture(r, mem, schema, 200)
	defer f.release()
	for _, c := range f.cols {
		c.NullN() // arrow counts a slice's NULLs lazily, racily: settle it first
	}
	g := &exprGen{r: r, schema: schema}
	var exprs []*Expr
	for len(exprs) < 8 {
		e := g.gen(valueKinds[r.IntN(len(valueKinds))], 4)
		ok := true
		for i := 0; i < f.n && ok; i++ {
			_, err := refEval(e, f.row(i))
			ok = err == nil
		}
		if ok {
			exprs = append(exprs, e)
		}
	}
	for _, e := range exprs {
		ev, err := Compile(e, schema)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 20; k++ {
					out, err := ev.EvalColumns(context.Background(), f.cols, f.n, mem)
					if err != nil {
						errs <- err
						return
					}
					out.Release()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

// TestNoPanicOnArbitraryTrees compiles random, mostly ill-typed trees:
// Compile must reject them with an error or produce an evaluator that
// evaluates or fails cleanly, never panicking.
func TestNoPanicOnArbitraryTrees(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	funcs := []string{FuncAdd, FuncSub, FuncMul, FuncDiv, FuncMod, FuncNeg, FuncEq, FuncNe, FuncLt, FuncLe, FuncGt, FuncGe,
		FuncAnd, FuncOr, FuncNot, FuncIsNull, FuncIsNotNull, FuncCast, FuncTryCast, FuncCase, "nope"}
	allTypes := []types.Type{{}, types.BooleanType, types.IntType, types.BigIntType, types.DoubleType, types.DecimalType(5, 2),
		types.DecimalType(38, 0), types.StringType, {Kind: types.String, Length: 2}, types.TimestampType, types.IntervalType,
		types.DecimalType(0, 0), types.DecimalType(3, 5), {Kind: types.Kind(42)}}
	r := rand.New(rand.NewPCG(8, 8))
	schema := randomSchema(r)
	f := newFixture(r, mem, schema, 33)
	defer f.release()
	var gen func(d int) *Expr
	gen = func(d int) *Expr {
		t := allTypes[r.IntN(len(allTypes))]
		switch {
		case d == 0 || r.IntN(4) == 0:
			if r.IntN(2) == 0 {
				c := r.IntN(len(schema.Fields) + 2)
				if c < len(schema.Fields) && r.IntN(3) > 0 {
					t = schema.Fields[c].Type
				}
				return Col(c-1, t)
			}
			vals := []string{"1", "-1", "x", "true", "1.50", "", "99999999999999999999", "1e400"}
			if r.IntN(8) == 0 {
				return &Expr{Kind: KindLiteral, Type: t}
			}
			return Lit(vals[r.IntN(len(vals))], t)
		case r.IntN(30) == 0:
			return &Expr{Kind: "bogus", Type: t}
		case r.IntN(30) == 0:
			return nil
		}
		args := make([]*Expr, r.IntN(4))
		for i := range args {
			args[i] = gen(d - 1)
		}
		return Call(funcs[r.IntN(len(funcs))], t, args...)
	}
	compiled := 0
	for it := 0; it < 20000; it++ {
		e := gen(3)
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic on %s: %v", describe(e, schema), p)
				}
			}()
			ev, err := Compile(e, schema)
			if err != nil {
				return
			}
			compiled++
			out, err := ev.EvalColumns(context.Background(), f.cols, f.n, mem)
			if err == nil {
				out.Release()
			}
		}()
	}
	t.Logf("%d of 20000 random trees compiled", compiled)
	if compiled == 0 {
		t.Fatal("no tree compiled")
	}
}

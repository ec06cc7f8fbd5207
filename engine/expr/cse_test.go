package expr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// refKnows reports whether the reference evaluator implements every
// function of e.
func refKnows(e *Expr) bool {
	if e == nil {
		return true
	}
	if e.Kind == KindCall {
		switch e.Func {
		case FuncLower, FuncRegexp, FuncRegexpExtract, FuncUDF, FuncRand:
			return false
		}
	}
	for _, a := range e.Args {
		if !refKnows(a) {
			return false
		}
	}
	return true
}

// outcome is one evaluation's result: a column or an error.
type outcome struct {
	arr arrow.Array
	err error
}

// sameOutcome fails t unless a and b are the same error or the same
// values (NULLs included) of type typ.
func sameOutcome(t *testing.T, what string, typ types.Type, a, b outcome) {
	t.Helper()
	if (a.err == nil) != (b.err == nil) {
		t.Fatalf("%s: with CSE err=%v, without err=%v", what, a.err, b.err)
	}
	if a.err != nil {
		if a.err.Error() != b.err.Error() {
			t.Fatalf("%s: errors differ:\nwith CSE: %v\nwithout:  %v", what, a.err, b.err)
		}
		return
	}
	if a.arr.Len() != b.arr.Len() || a.arr.NullN() != b.arr.NullN() || !arrow.TypeEqual(a.arr.DataType(), b.arr.DataType()) {
		t.Fatalf("%s: with CSE %d rows (%d NULL) of %s, without %d rows (%d NULL) of %s", what,
			a.arr.Len(), a.arr.NullN(), a.arr.DataType(), b.arr.Len(), b.arr.NullN(), b.arr.DataType())
	}
	for i := 0; i < a.arr.Len(); i++ {
		x, y := readRow(a.arr, typ, i), readRow(b.arr, typ, i)
		if !sameRV(typ, x, y) {
			t.Fatalf("%s: row %d: with CSE %s, without %s", what, i, showRV(typ, x), showRV(typ, y))
		}
	}
}

func (o outcome) release() {
	if o.arr != nil {
		o.arr.Release()
	}
}

// sharingGen returns a generator whose trees repeat subtrees.
func sharingGen(r *rand.Rand, schema types.Schema) *exprGen {
	return &exprGen{r: r, schema: schema, pool: map[types.Kind][]*Expr{}}
}

// TestCSEMatchesSeparateEvaluation compiles random expression trees with
// repeated subtrees (the same node, or a copy, inside AND, OR, CASE
// branches, guarded divisions, fallible casts, regular expressions) with
// and without common subexpression elimination, and checks that both give
// the same values and NULLs, or the same error, on random batches; and,
// where the reference knows every function, the reference's answer.
func TestCSEMatchesSeparateEvaluation(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	iters := 1500
	if testing.Short() {
		iters = 400
	}
	shared, failed := 0, 0
	ctx := context.Background()
	for it := 0; it < iters; it++ {
		r := rand.New(rand.NewPCG(77, uint64(it)))
		schema := randomSchema(r)
		f := newFixture(r, mem, schema, randomSizes[r.IntN(len(randomSizes))])
		g := sharingGen(r, schema)
		for j := 0; j < 3; j++ {
			k := append(valueKinds, types.Interval)[r.IntN(len(valueKinds)+1)]
			e := g.gen(k, 2+r.IntN(4))
			with, err := compileOne(e, schema, Env{}, compileOpts{})
			if err != nil {
				t.Fatalf("iteration %d: compile %s: %v", it, describe(e, schema), err)
			}
			without, err := compileOne(e, schema, Env{}, compileOpts{noCSE: true})
			if err != nil {
				t.Fatalf("iteration %d: compile without CSE: %v", it, err)
			}
			if with.slots > 0 {
				shared++
			}
			var a, b outcome
			a.arr, a.err = with.EvalColumns(ctx, f.cols, f.n, mem)
			b.arr, b.err = without.EvalColumns(ctx, f.cols, f.n, mem)
			if a.err != nil {
				failed++
			}
			sameOutcome(t, fmt.Sprintf("iteration %d: %s", it, describe(e, schema)), e.Type, a, b)
			a.release()
			b.release()
			if refKnows(e) {
				t.Run("", func(t *testing.T) { checkAgainstReference(t, mem, e, f) })
				if t.Failed() {
					f.release()
					t.Fatalf("iteration %d", it)
				}
			}
		}
		f.release()
	}
	// The generator must exercise sharing, and errors.
	if shared < iters/2 || failed == 0 {
		t.Fatalf("only %d of %d expressions shared a subexpression and %d failed", shared, 3*iters, failed)
	}
}

// TestProgramMatchesReference runs random calcs (a filter and projections
// drawn from one pool of subexpressions, so that they share across the
// filter and the projections) through a Program with and without CSE, and
// checks the selections, the projected columns and the errors agree, and
// agree with a row-at-a-time reference (the filter on every row, the
// projections on the rows it keeps) where it knows every function.
func TestProgramMatchesReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	iters := 800
	if testing.Short() {
		iters = 200
	}
	ctx := context.Background()
	for it := 0; it < iters; it++ {
		r := rand.New(rand.NewPCG(91, uint64(it)))
		schema := randomSchema(r)
		f := newFixture(r, mem, schema, randomSizes[r.IntN(len(randomSizes))])
		g := sharingGen(r, schema)
		var filter *Expr
		if r.IntN(5) > 0 {
			filter = g.gen(types.Boolean, 2+r.IntN(3))
		}
		projs := make([]*Expr, 1+r.IntN(4))
		for i := range projs {
			projs[i] = g.gen(append(valueKinds, types.Interval)[r.IntN(len(valueKinds)+1)], 1+r.IntN(4))
		}
		what := fmt.Sprintf("iteration %d", it)
		with, err := compileProgram(filter, projs, schema, Env{}, compileOpts{})
		if err != nil {
			t.Fatalf("%s: compile: %v", what, err)
		}
		without, err := compileProgram(filter, projs, schema, Env{}, compileOpts{noCSE: true})
		if err != nil {
			t.Fatalf("%s: compile without CSE: %v", what, err)
		}
		rw := with.Start(ctx, f.cols, f.n, mem)
		ro := without.Start(ctx, f.cols, f.n, mem)
		selW, errW := rw.Select()
		selO, errO := ro.Select()
		if (errW == nil) != (errO == nil) || errW != nil && errW.Error() != errO.Error() {
			t.Fatalf("%s: filter errors differ: %v / %v", what, errW, errO)
		}
		known := refKnows(filter)
		for _, p := range projs {
			known = known && refKnows(p)
		}
		// The reference.
		var keep []int
		var refErr error
		for i := 0; known && i < f.n && refErr == nil; i++ {
			if filter == nil {
				keep = append(keep, i)
				continue
			}
			v, err := refEval(filter, f.row(i))
			if err != nil {
				refErr = err
			}
			if err == nil && !v.null && v.b {
				keep = append(keep, i)
			}
		}
		if known && (refErr != nil) != (errW != nil) {
			t.Fatalf("%s: filter %s: reference err=%v, engine err=%v", what, describe(filter, schema), refErr, errW)
		}
		if errW == nil {
			if selW.All != selO.All || fmt.Sprint(selW.Indices) != fmt.Sprint(selO.Indices) {
				t.Fatalf("%s: selections differ", what)
			}
			if known {
				if selW.Len(f.n) != len(keep) {
					t.Fatalf("%s: filter %s keeps %d rows, the reference %d", what, describe(filter, schema), selW.Len(f.n), len(keep))
				}
				for j, i := range keep {
					if !selW.All && int(selW.Indices[j]) != i {
						t.Fatalf("%s: filter keeps row %d, the reference row %d", what, selW.Indices[j], i)
					}
				}
			}
			for pi, p := range projs {
				var a, b outcome
				a.arr, a.err = rw.Project(pi)
				b.arr, b.err = ro.Project(pi)
				sameOutcome(t, fmt.Sprintf("%s: projection %d %s", what, pi, describe(p, schema)), p.Type, a, b)
				if known {
					var perr error
					for j, i := range keep {
						v, err := refEval(p, f.row(i))
						if err != nil {
							perr = err
							break
						}
						if a.err == nil && !sameRV(p.Type, readRow(a.arr, p.Type, j), v) {
							t.Fatalf("%s: projection %d %s, kept row %d: got %s, want %s", what, pi, describe(p, schema), j,
								showRV(p.Type, readRow(a.arr, p.Type, j)), showRV(p.Type, v))
						}
					}
					if (perr != nil) != (a.err != nil) {
						t.Fatalf("%s: projection %d %s: reference err=%v, engine err=%v", what, pi, describe(p, schema), perr, a.err)
					}
				}
				a.release()
				b.release()
			}
		}
		rw.Release()
		ro.Release()
		f.release()
	}
}

// q21Reference computes q21's filter and channel_id row at a time.
func q21Reference(channel, url arrow.Array) (keep []int, ids []*string) {
	re := regexp.MustCompile(q21Pattern)
	known := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	ch, u := channel.(*array.String), url.(*array.String)
	for i := 0; i < ch.Len(); i++ {
		var extract *string
		if !u.IsNull(i) {
			if m := re.FindStringSubmatch(u.Value(i)); m != nil {
				s := m[2]
				extract = &s
			}
		}
		var id *string
		isKnown := false
		if !ch.IsNull(i) {
			if v, ok := known[strings.ToLower(ch.Value(i))]; ok {
				id, isKnown = &v, true
			}
		}
		if !isKnown {
			id = extract
		}
		if extract != nil || isKnown {
			keep = append(keep, i)
			ids = append(ids, id)
		}
	}
	return keep, ids
}

func showID(id *string) string {
	if id == nil {
		return "NULL"
	}
	return *id
}

// TestQ21ComputesLowerOnce runs q21's WHERE and CASE as one program over
// q21-like bids and counts the evaluations: LOWER(channel), written eight
// times, runs once per batch; each comparison with a channel name, written
// twice, once; and REGEXP_EXTRACT, written twice, once (on the rows the
// filter could not decide by the channel, the CASE gathering its ELSE
// from those). Without CSE they run eight, eight and two times. The
// results match a row-at-a-time reference.
func TestQ21ComputesLowerOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cols, schema := benchBids()
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	project, filter := q21Exprs()
	keep, ids := q21Reference(cols[0], cols[1])
	if len(keep) == 0 || len(keep) == benchRows {
		t.Fatalf("the bids should keep some rows and drop others, kept %d", len(keep))
	}
	for _, cse := range []bool{true, false} {
		counts := map[string]int{}
		opts := compileOpts{noCSE: !cse, trace: func(fn string, rows int) { counts[fn]++ }}
		pg, err := compileProgram(filter, []*Expr{project}, schema, Env{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		run := pg.Start(context.Background(), cols, benchRows, mem)
		sel, err := run.Select()
		if err != nil {
			t.Fatal(err)
		}
		if sel.All || len(sel.Indices) != len(keep) {
			t.Fatalf("cse=%t: kept %d rows, want %d", cse, sel.Len(benchRows), len(keep))
		}
		for j, i := range keep {
			if int(sel.Indices[j]) != i {
				t.Fatalf("cse=%t: kept row %d, want %d", cse, sel.Indices[j], i)
			}
		}
		out, err := run.Project(0)
		if err != nil {
			t.Fatal(err)
		}
		s := out.(*array.String)
		for j, id := range ids {
			if (id == nil) != s.IsNull(j) || id != nil && *id != s.Value(j) {
				t.Fatalf("cse=%t: row %d: channel_id %v, want %v", cse, keep[j], s.ValueStr(j), showID(id))
			}
		}
		out.Release()
		run.Release()
		want := map[string]int{FuncLower: 1, FuncEq: 4, FuncRegexpExtract: 1}
		if !cse {
			want = map[string]int{FuncLower: 8, FuncEq: 8, FuncRegexpExtract: 2}
		}
		for fn, n := range want {
			if counts[fn] != n {
				t.Errorf("cse=%t: %s evaluated %d times, want %d (all: %v)", cse, fn, counts[fn], n, counts)
			}
		}
	}
}

// TestCSEInsideLazyBranches checks where shared values are computed: a
// cheap subexpression that cannot fail and is also used at the top is
// computed once over the whole batch even when a lazy branch asks first;
// a fallible one (a division) is computed only on the rows its guard lets
// through, and again for other rows elsewhere, never hoisted.
func TestCSEInsideLazyBranches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	big := types.BigIntType
	str := types.StringType
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: big}, {Name: "b", Type: big}, {Name: "s", Type: str}}}
	a, b, s := Col(0, big), Col(1, big), Col(2, str)
	lower := Call(FuncLower, str, s)
	re := Call(FuncRegexp, types.BooleanType, s, Lit("x", str))
	div := Call(FuncDiv, big, a, b)
	zero := Lit("0", big)
	// CASE WHEN REGEXP(s, 'x') THEN LOWER(s) ... : the THEN is cheap and
	// evaluated on every row anyway; a costly REGEXP condition makes the
	// CASE lazy. The ELSE holds a guarded division, also used in a
	// second, differently guarded CASE.
	e := Call(FuncConcat, str,
		Call(FuncCase, str,
			Call(FuncAnd, types.BooleanType, re, Call(FuncNe, types.BooleanType, b, zero)),
			Call(FuncCast, str, Call(FuncRegexpExtract, str, lower, Lit("(.)", str), Lit("1", types.IntType))),
			Call(FuncNe, types.BooleanType, b, zero), Call(FuncCast, str, div)),
		lower,
		Call(FuncCase, str, Call(FuncGt, types.BooleanType, b, zero), Call(FuncCast, str, div)))
	r := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 200; it++ {
		n := randomSizes[r.IntN(len(randomSizes))]
		ab, bb, sb := array.NewInt64Builder(mem), array.NewInt64Builder(mem), array.NewStringBuilder(mem)
		for i := 0; i < n; i++ {
			ab.Append(r.Int64N(100) - 50)
			if r.IntN(10) == 0 {
				bb.AppendNull()
			} else {
				bb.Append(r.Int64N(5) - 2) // zeros: the guards matter
			}
			if r.IntN(10) == 0 {
				sb.AppendNull()
			} else {
				sb.Append([]string{"X", "xY", "aBc", "", "ÉX"}[r.IntN(5)])
			}
		}
		cols := []arrow.Array{ab.NewArray(), bb.NewArray(), sb.NewArray()}
		ab.Release()
		bb.Release()
		sb.Release()
		rowsOf := map[string][]int{}
		calls := map[string]int{}
		trace := func(fn string, rows int) { rowsOf[fn] = append(rowsOf[fn], rows); calls[fn]++ }
		with, err := compileOne(e, schema, Env{}, compileOpts{trace: trace})
		if err != nil {
			t.Fatal(err)
		}
		without, err := compileOne(e, schema, Env{}, compileOpts{noCSE: true})
		if err != nil {
			t.Fatal(err)
		}
		var x, y outcome
		x.arr, x.err = with.EvalColumns(context.Background(), cols, n, mem)
		y.arr, y.err = without.EvalColumns(context.Background(), cols, n, mem)
		sameOutcome(t, fmt.Sprintf("iteration %d", it), str, x, y)
		if x.err != nil {
			t.Fatalf("iteration %d: the guards should prevent every division by zero: %v", it, x.err)
		}
		x.release()
		y.release()
		for _, c := range cols {
			c.Release()
		}
		if n > 0 && (calls[FuncLower] != 1 || rowsOf[FuncLower][0] != n) {
			t.Fatalf("iteration %d: LOWER ran on %v rows, want once on all %d", it, rowsOf[FuncLower], n)
		}
	}
}

// countUDF is a scalar function (BIGINT + 1) that counts its calls, and
// says it is deterministic when det is set.
type countUDF struct {
	name  string
	det   bool
	calls *int
}

func (f countUDF) Name() string { return f.name }

func (f countUDF) ResultType(args []types.Type) (types.Type, error) { return types.BigIntType, nil }

func (f countUDF) Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
	*f.calls++
	b := array.NewInt64Builder(mem)
	defer b.Release()
	in := args[0].(*array.Int64)
	for i := 0; i < n; i++ {
		if in.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(in.Value(i) + 1)
		}
	}
	return b.NewArray(), nil
}

// deterministicUDF is countUDF declaring itself deterministic.
type deterministicUDF struct{ countUDF }

func (deterministicUDF) Deterministic() bool { return true }

// TestCSEKeepsVolatileCallsApart checks that RAND(), CURRENT_TIMESTAMP and
// user-defined functions that do not declare themselves deterministic are
// computed at every occurrence, and deterministic ones once.
func TestCSEKeepsVolatileCallsApart(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	big := types.BigIntType
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: big}}}
	var plain, det int
	reg := udf.NewRegistry()
	if err := reg.Register(countUDF{name: "plain", calls: &plain}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(deterministicUDF{countUDF{name: "det", calls: &det}}); err != nil {
		t.Fatal(err)
	}
	call := func(name string) *Expr {
		return &Expr{Kind: KindCall, Func: FuncUDF, UDF: name, Type: big, Args: []*Expr{Col(0, big)}}
	}
	env := Env{Functions: reg, Now: func() int64 { return 42 }}
	for _, c := range []struct {
		e     *Expr
		slots int
	}{
		{Call(FuncEq, types.BooleanType, Call(FuncRand, types.DoubleType), Call(FuncRand, types.DoubleType)), 0},
		{Call(FuncEq, types.BooleanType, Call(FuncCurrentTimestamp, types.TimestampType), Call(FuncCurrentTimestamp, types.TimestampType)), 0},
		{Call(FuncAdd, big, call("plain"), call("plain")), 0},
		{Call(FuncAdd, big, call("det"), call("det")), 1},
		{Call(FuncAdd, big, Call(FuncMul, big, call("plain"), Col(0, big)), Call(FuncMul, big, call("plain"), Col(0, big))), 0},
	} {
		ev, err := compileOne(c.e, schema, env, compileOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if ev.slots != c.slots {
			t.Errorf("%s: %d shared subexpressions, want %d", ev, ev.slots, c.slots)
		}
	}
	col := array.NewInt64Builder(mem)
	col.AppendValues([]int64{1, 2, 3}, nil)
	a := col.NewArray()
	col.Release()
	defer a.Release()
	for name, n := range map[string]*int{"plain": &plain, "det": &det} {
		ev, err := compileOne(Call(FuncAdd, big, call(name), call(name)), schema, env, compileOpts{})
		if err != nil {
			t.Fatal(err)
		}
		*n = 0
		out, err := ev.EvalColumns(context.Background(), []arrow.Array{a}, 3, mem)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(*array.Int64).Int64Values(); fmt.Sprint(got) != "[4 6 8]" {
			t.Errorf("%s(a) + %s(a) = %v, want [4 6 8]", name, name, got)
		}
		out.Release()
		want := 2
		if name == "det" {
			want = 1
		}
		if *n != want {
			t.Errorf("%s called %d times, want %d", name, *n, want)
		}
	}
}

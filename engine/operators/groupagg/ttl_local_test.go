package groupagg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestStateTTL drives the operator with a fake clock: groups untouched for
// the TTL are dropped (counted, nothing emitted), groups touched since
// stay, and a dropped key starts afresh with +I. Enough groups expire to
// make the operator rebuild its group table, and the checks go on after.
func TestStateTTL(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const ttl = 1000
	calls := []call{allCalls[0], allCalls[2], allCalls[7], allCalls[10], allCalls[13], allCalls[17]}
	var clock int64
	h := newHarness(t, mem, []int{cK}, calls, jobgraph.Changes{InputRetracts: true, EmitUpdateBefore: true}, ttl, func() int64 { return clock })
	defer h.close()
	pt, ok := h.op.(operator.ProcessingTimeHandler)
	if !ok {
		t.Fatal("an operator with a state TTL is no ProcessingTimeHandler")
	}
	r := rand.New(rand.NewPCG(3, 4))
	gen := &changelog{r: r, keys: 3000}
	for i := 0; i < 12; i++ {
		h.step(gen.next(600, true))
	}
	// Half way through the TTL, touch some groups.
	clock = ttl / 2
	var touched []row
	stay := map[string]bool{}
	for k := int64(0); k < 3000; k += 20 {
		w := randRow(r, 1)
		w.k, w.kind = ptr(k), stream.Insert
		touched = append(touched, w)
		gen.live = append(gen.live, w)
		stay[h.ref.keyText(w)] = true
	}
	h.step(touched)
	// The TTL passes for the others.
	clock = ttl + 1
	expired := 0
	for k := range h.ref.groups {
		if !stay[k] {
			delete(h.ref.groups, k)
			delete(h.view, k)
			expired++
		}
	}
	gen.live = slices.DeleteFunc(gen.live, func(w row) bool { return !stay[h.ref.keyText(w)] })
	h.out.changes = h.out.changes[:0]
	if err := pt.OnProcessingTime(h.ctx, clock, h.out); err != nil {
		t.Fatal(err)
	}
	if len(h.out.changes) > 0 {
		t.Fatalf("expiry emitted %d rows", len(h.out.changes))
	}
	optest.CheckCounter(t, h.m, groupagg.StateExpiredMetric, expired)
	if expired < 1100 {
		t.Fatalf("only %d groups expired: the table is not rebuilt", expired)
	}
	// Expired keys come back as new groups; retractions of their old rows
	// are ignored and counted.
	var stale []row
	for k := int64(1); k < 3000 && len(stale) < 5; k += 20 {
		w := randRow(r, 1)
		w.k, w.kind = ptr(k), stream.Delete
		if !stay[h.ref.keyText(w)] {
			stale = append(stale, w)
		}
	}
	h.step(stale)
	optest.CheckCounter(t, h.m, groupagg.IgnoredRetractionsMetric, len(stale))
	for i := 0; i < 6; i++ {
		clock += 10
		h.step(gen.next(400, true))
	}
	optest.CheckCounter(t, h.m, groupagg.StateExpiredMetric, expired)
}

// TestLocalPhase pre-aggregates random append-only input with the local
// phase (random mini-batch sizes and watermarks), merges its partials with
// a one-phase aggregate, and checks that the result equals a one-phase
// aggregate over the input.
func TestLocalPhase(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	local := []call{
		{fn: jobgraph.CountStar, arg: -1, typ: types.BigIntType},
		{fn: jobgraph.Count, arg: cX, typ: types.BigIntType},
		{fn: jobgraph.Sum, arg: cX, typ: types.BigIntType},
		{fn: jobgraph.Min, arg: cX, typ: types.BigIntType},
		{fn: jobgraph.Max, arg: cStr, typ: types.StringType},
		{fn: jobgraph.Max, arg: cX, filter: true, typ: types.BigIntType},
	}
	for _, keys := range [][]int{{cK, cS}, nil} {
		t.Run(fmt.Sprint(keys), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(keys)), 9))
			ctx := context.Background()
			nk := len(keys)
			lop := newOp(t, keys, local, jobgraph.Changes{}, 0, jobgraph.LocalPhase)
			loc, _ := optest.NewContext(mem, map[string]string{groupagg.MiniBatchSizeOption: strconv.Itoa(1 + r.IntN(300))})
			if err := lop.Open(ctx, loc); err != nil {
				t.Fatal(err)
			}
			// The global phase reads the local output: keys, then partials.
			gspec := &jobgraph.GroupAggSpec{Changes: jobgraph.Changes{EmitUpdateBefore: true}}
			var gout types.Schema
			for i, k := range keys {
				gspec.GroupKeys = append(gspec.GroupKeys, i)
				gout.Fields = append(gout.Fields, inFields[k])
			}
			merge := []jobgraph.AggFunc{jobgraph.Sum, jobgraph.Sum, jobgraph.Sum, jobgraph.Min, jobgraph.Max, jobgraph.Max}
			for i, c := range local {
				gspec.Aggs = append(gspec.Aggs, jobgraph.AggCall{Func: merge[i], Arg: nk + i, Type: c.typ, Name: fmt.Sprint("g", i)})
				gout.Fields = append(gout.Fields, types.Field{Name: fmt.Sprint("g", i), Type: c.typ})
			}
			gop, err := groupagg.New(&jobgraph.OperatorSpec{ID: "global", Output: gout, GroupAgg: gspec})
			if err != nil {
				t.Fatal(err)
			}
			goc, _ := optest.NewContext(mem, nil)
			if err := gop.Open(ctx, goc); err != nil {
				t.Fatal(err)
			}
			gout2 := &collector{nk: nk}
			fwd := &forward{t: t, op: gop, out: gout2}
			one := newHarness(t, mem, keys, local, jobgraph.Changes{EmitUpdateBefore: true}, 0, nil)
			gen := &changelog{r: r, keys: 20}
			for batch := 0; batch < 30; batch++ {
				rows := gen.next(optest.RandomBatchSize(r), false)
				one.step(rows)
				b := record(mem, rows)
				err := lop.ProcessBatch(ctx, 0, b, fwd)
				b.Release()
				if err != nil {
					t.Fatal(err)
				}
				if r.IntN(4) == 0 {
					if err := lop.ProcessWatermark(ctx, int64(batch), fwd); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := lop.ProcessWatermark(ctx, stream.MaxWatermark, fwd); err != nil {
				t.Fatal(err)
			}
			if fwd.batches < 2 {
				t.Fatalf("the local phase flushed %d times", fwd.batches)
			}
			view := map[string]string{}
			materialize(t, view, gout2.changes, true)
			if got, want := fmt.Sprint(sortedMap(view)), fmt.Sprint(sortedMap(one.view)); got != want {
				t.Fatalf("two-phase result\n got %s\nwant %s", got, want)
			}
			for _, op := range []operator.Operator{lop, gop} {
				if err := op.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			one.close()
		})
	}
}

// forward passes the local phase's output to the global phase, checking
// that it is append-only.
type forward struct {
	t       *testing.T
	op      operator.Operator
	out     *collector
	batches int
}

func (f *forward) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	f.batches++
	for i := 0; i < b.NumRows(); i++ {
		if b.Kind(i) != stream.Insert {
			return fmt.Errorf("the local phase emitted a %s row", b.Kind(i))
		}
	}
	return f.op.ProcessBatch(ctx, 0, b, f.out)
}

// TestRefusals checks the errors for specs and input the operator cannot
// take.
func TestRefusals(t *testing.T) {
	out := types.Schema{Fields: []types.Field{{Name: "k", Type: types.BigIntType}, {Name: "a", Type: types.BigIntType}}}
	for _, c := range []struct {
		call  jobgraph.AggCall
		ch    jobgraph.Changes
		phase jobgraph.AggPhase
		want  string
	}{
		{jobgraph.AggCall{Func: jobgraph.ApproxCountDistinct, Arg: cX, Type: types.BigIntType, Name: "acd"}, jobgraph.Changes{InputRetracts: true}, "", "aggregate 0 (acd): APPROX_COUNT_DISTINCT cannot take back"},
		{jobgraph.AggCall{Func: jobgraph.UDAF, UDF: "mysum", Arg: cX, Type: types.BigIntType, Name: "u"}, jobgraph.Changes{InputRetracts: true}, "", `user-defined aggregate "mysum" cannot take back`},
		{jobgraph.AggCall{Func: jobgraph.Count, Arg: cX, Type: types.BigIntType, Name: "c"}, jobgraph.Changes{InputRetracts: true}, jobgraph.LocalPhase, "local phase of a two-phase aggregation takes append-only input"},
		{jobgraph.AggCall{Func: jobgraph.Count, Arg: cX, Type: types.BigIntType, Name: "c", Distinct: true}, jobgraph.Changes{}, jobgraph.LocalPhase, "cannot pre-aggregate DISTINCT"},
		{jobgraph.AggCall{Func: jobgraph.Count, Arg: cX, Type: types.IntType, Name: "c"}, jobgraph.Changes{}, "", "aggregate 0 (c) has type INT but output column 1 is BIGINT"},
	} {
		spec := &jobgraph.GroupAggSpec{GroupKeys: []int{cK}, Aggs: []jobgraph.AggCall{c.call}, Changes: c.ch, Phase: c.phase}
		_, err := groupagg.New(&jobgraph.OperatorSpec{ID: "agg", Output: out, GroupAgg: spec})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", c.call, err, c.want)
		}
	}

	// An append-only plan fed a retraction.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op := newOp(t, []int{cK}, allCalls[:1], jobgraph.Changes{}, 0, jobgraph.OnePhase)
	oc, _ := optest.NewContext(mem, nil)
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	w := randRow(rand.New(rand.NewPCG(1, 1)), 3)
	w.kind = stream.Delete
	b := record(mem, []row{w})
	err := op.ProcessBatch(ctx, 0, b, &collector{})
	b.Release()
	if want := "row 0 is -D, but the plan says the input is append-only"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

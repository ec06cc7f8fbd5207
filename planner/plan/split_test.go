package plan_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/internal/plantest"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/planner/plan"
)

// randomDistinctAgg builds a non-windowed GROUP BY (random keys, maybe
// none) with DISTINCT aggregates over one random argument, some with a
// FILTER, and random non-distinct aggregates.
func randomDistinctAgg(r *rand.Rand, b *plantest.B) *logical.Script {
	scan := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
	in := b.Project(scan, "room_id", "user_id", "gift_id", "quantity", "amount", "ts",
		"big", plantest.Bool(expr.FuncGt, plantest.Col(scan, "amount"), plantest.BigInt(50)))
	cols := []string{"room_id", "user_id", "gift_id", "quantity", "amount", "ts"}
	var keys []string
	for _, k := range []string{"room_id", "gift_id"} {
		if r.IntN(2) == 0 {
			keys = append(keys, k)
		}
	}
	darg := cols[r.IntN(len(cols))]
	var aggs []plantest.A
	distinct := []jobgraph.AggFunc{jobgraph.Count, jobgraph.Sum, jobgraph.Min, jobgraph.Max, jobgraph.Avg}
	plain := []jobgraph.AggFunc{jobgraph.CountStar, jobgraph.Count, jobgraph.Sum, jobgraph.Min, jobgraph.Max, jobgraph.Avg}
	for i, n := 0, 1+r.IntN(3); i < n; i++ {
		f := distinct[r.IntN(len(distinct))]
		if darg == "ts" && (f == jobgraph.Sum || f == jobgraph.Avg) || f == jobgraph.Avg && (darg == "gift_id" || darg == "quantity") {
			f = jobgraph.Count
		}
		a := plantest.A{Func: f, Arg: darg, Name: fmt.Sprintf("d%d", i), Distinct: true}
		if r.IntN(3) == 0 {
			a.Filter = "big"
		}
		aggs = append(aggs, a)
	}
	for i, n := 0, r.IntN(4); i < n; i++ {
		f := plain[r.IntN(len(plain))]
		arg := []string{"amount", "user_id", "quantity"}[r.IntN(3)]
		if f == jobgraph.Avg {
			arg = "amount"
		}
		a := plantest.A{Func: f, Arg: arg, Name: fmt.Sprintf("p%d", i)}
		if r.IntN(4) == 0 {
			a.Filter = "big"
		}
		aggs = append(aggs, a)
	}
	// Shuffle, so distinct and plain calls interleave.
	r.Shuffle(len(aggs), func(i, j int) { aggs[i], aggs[j] = aggs[j], aggs[i] })
	agg := b.Aggregate(in, keys, aggs...)
	s := &logical.Script{Sinks: []*logical.Sink{b.Sink(agg, plantest.SinkTable("out", "print", agg))}}
	s.Config = map[string]string{
		"table.optimizer.distinct-agg.split.enabled":    "true",
		"table.optimizer.distinct-agg.split.bucket-num": strconv.Itoa([]int{1, 2, 3, 8, 1024}[r.IntN(5)]),
	}
	return s
}

// TestSplitDistinctEqualsUnsplit plans random DISTINCT aggregates split
// into bucket and merge levels and checks, on random gifts, that their
// final state is the logical plan's (the unsplit aggregate's), at
// parallelism 1 and 4, and that they really were split.
func TestSplitDistinctEqualsUnsplit(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	n := 60
	if testing.Short() {
		n = 20
	}
	for i := 0; i < n; i++ {
		s := randomDistinctAgg(r, plantest.New())
		for _, par := range []int{1, 4} {
			p, err := plan.Build(context.Background(), "split.sql", s, plan.Options{Parallelism: par, Registry: plantest.Registry()})
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			aggs := 0
			for _, v := range p.Graph.Vertices {
				for _, op := range v.Ops {
					if op.GroupAgg != nil {
						aggs++
					}
				}
			}
			if aggs != 2 {
				t.Fatalf("case %d p%d: %d group aggregates, want the two levels of a split:\n%s", i, par, aggs, p.Explain())
			}
			checkEquivalent(t, fmt.Sprintf("split%d", i), s, r, par, true)
		}
	}
}

// The unsplittable cases plan as one aggregate: two distinct arguments,
// and an aggregate that cannot be merged.
func TestSplitDistinctDeclines(t *testing.T) {
	for name, aggs := range map[string][]plantest.A{
		"two arguments": {{Func: jobgraph.Count, Arg: "user_id", Name: "a", Distinct: true}, {Func: jobgraph.Count, Arg: "gift_id", Name: "b", Distinct: true}},
		"first_value":   {{Func: jobgraph.Count, Arg: "user_id", Name: "a", Distinct: true}, {Func: jobgraph.FirstValue, Arg: "amount", Name: "b"}},
		"no distinct":   {{Func: jobgraph.Count, Arg: "user_id", Name: "a"}},
	} {
		b := plantest.New()
		agg := b.Aggregate(b.Scan(plantest.Gifts, plantest.GiftsWatermark()), []string{"room_id"}, aggs...)
		s := &logical.Script{Sinks: []*logical.Sink{b.Sink(agg, plantest.SinkTable("out", "print", agg))},
			Config: map[string]string{"table.optimizer.distinct-agg.split.enabled": "true"}}
		p, err := plan.Build(context.Background(), "split.sql", s, plan.Options{Parallelism: 2, Registry: plantest.Registry()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for _, v := range p.Graph.Vertices {
			for _, op := range v.Ops {
				if op.GroupAgg != nil {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d group aggregates, want 1 (unsplit):\n%s", name, n, p.Explain())
		}
		checkEquivalent(t, name, s, rand.New(rand.NewPCG(1, uint64(len(name)))), 2, true)
	}
}

// Bad bucket counts are refused.
func TestSplitDistinctBucketOption(t *testing.T) {
	for _, v := range []string{"0", "-3", "x", "1e3"} {
		s := randomDistinctAgg(rand.New(rand.NewPCG(1, 1)), plantest.New())
		s.Config["table.optimizer.distinct-agg.split.bucket-num"] = v
		if _, err := plan.Build(context.Background(), "split.sql", s, plan.Options{Registry: plantest.Registry()}); err == nil {
			t.Errorf("bucket-num %q: no error", v)
		}
	}
}

package plan_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/internal/plantest"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/planner/plan"
)

func build(t *testing.T, name string, parallelism int) *plan.Plan {
	t.Helper()
	p, err := plan.Build(context.Background(), name+".sql", plantest.Cases[name](plantest.New()), plan.Options{JobName: name, Parallelism: parallelism})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func kinds(v *jobgraph.Vertex) string {
	var ks []string
	for _, op := range v.Ops {
		ks = append(ks, op.Kind())
	}
	return strings.Join(ks, ",")
}

func TestFlagshipChainsIntoOneVertexAtParallelismOne(t *testing.T) {
	g := build(t, "flagship", 1).Graph
	if len(g.Vertices) != 1 || len(g.Edges) != 0 {
		t.Fatalf("got %d vertices, %d edges; want one chained vertex", len(g.Vertices), len(g.Edges))
	}
	// The Calc picking the aggregate's columns is there as at any
	// parallelism (the aggregate's state, and so its checkpoints, depend on
	// its input's layout), then the reordering Calc after the Top-N.
	if got, want := kinds(g.Vertices[0]), "source,calc,window_agg,window_topn,calc,sink"; got != want {
		t.Errorf("chain = %s, want %s", got, want)
	}
	if g.Vertices[0].Parallelism != 1 {
		t.Errorf("parallelism %d, want 1", g.Vertices[0].Parallelism)
	}
}

func TestFlagshipHashesOnGroupKeysThenPartitionKeys(t *testing.T) {
	g := build(t, "flagship", 4).Graph
	want := []string{"source,calc", "window_agg", "window_topn,calc,sink"}
	if len(g.Vertices) != len(want) {
		t.Fatalf("%d vertices, want %d", len(g.Vertices), len(want))
	}
	for i, v := range g.Vertices {
		if kinds(v) != want[i] || v.Parallelism != 4 {
			t.Errorf("vertex %s = [%s] p%d, want [%s] p4", v.ID, kinds(v), v.Parallelism, want[i])
		}
	}
	keyNames := func(e *jobgraph.Edge) []string {
		out := g.Vertex(e.From).Ops[len(g.Vertex(e.From).Ops)-1].Output
		var ns []string
		for _, k := range e.Keys {
			ns = append(ns, out.Fields[k].Name)
		}
		return ns
	}
	if len(g.Edges) != 2 {
		t.Fatalf("%d edges, want 2", len(g.Edges))
	}
	for i, want := range [][]string{{"room_id", "gift_id"}, {"room_id"}} {
		e := g.Edges[i]
		if e.Exchange != jobgraph.Hash || !reflect.DeepEqual(keyNames(e), want) {
			t.Errorf("edge %d: %s %v, want hash %v", i, e.Exchange, keyNames(e), want)
		}
	}
	// The operators use the same keys as the exchanges feeding them, in the
	// same order, so their key groups agree.
	agg := g.Vertices[1].Ops[0].WindowAgg
	if !reflect.DeepEqual(agg.GroupKeys, g.Edges[0].Keys) {
		t.Errorf("group keys %v, exchange keys %v", agg.GroupKeys, g.Edges[0].Keys)
	}
	topn := g.Vertices[2].Ops[0].WindowTopN
	if !reflect.DeepEqual(topn.PartitionKeys, g.Edges[1].Keys) {
		t.Errorf("partition keys %v, exchange keys %v", topn.PartitionKeys, g.Edges[1].Keys)
	}
}

func TestTopNOnAggregateKeysNeedsNoSecondExchange(t *testing.T) {
	g := build(t, "topn_same_keys", 4).Graph
	hashes := 0
	for _, e := range g.Edges {
		if e.Exchange == jobgraph.Hash {
			hashes++
		}
	}
	if hashes != 1 || len(g.Vertices) != 2 {
		t.Fatalf("%d hash edges, %d vertices; want 1 and 2", hashes, len(g.Vertices))
	}
	if got := kinds(g.Vertices[1]); got != "window_agg,window_topn,calc,sink" {
		t.Errorf("second vertex = %s", got)
	}
}

// Keys in a different order are the same distribution: the Top-N takes the
// exchange's order for its keys instead of reshuffling.
func TestSameKeysInAnotherOrderNeedNoExchange(t *testing.T) {
	b := plantest.New()
	scan := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
	w := b.Tumble(scan, "ts", time.Minute)
	agg := b.Aggregate(w, []string{"window_start", "window_end", "gift_id", "room_id"}, plantest.A{Func: jobgraph.Sum, Arg: "amount", Name: "total"})
	over := b.Over(agg, logical.RowNumber, []string{"window_start", "window_end", "room_id", "gift_id"}, []plantest.S{{Col: "total", Desc: true}}, "rn")
	f := b.Filter(over, plantest.Bool(expr.FuncLe, plantest.Col(over, "rn"), plantest.BigInt(2)))
	s := &logical.Script{Sinks: []*logical.Sink{b.Sink(f, plantest.SinkTable("t", "print", f))}}
	p, err := plan.Build(context.Background(), "t.sql", s, plan.Options{Parallelism: 3})
	if err != nil {
		t.Fatal(err)
	}
	g := p.Graph
	if len(g.Edges) != 1 {
		t.Fatalf("%d edges, want 1:\n%s", len(g.Edges), p.Explain())
	}
	// The Top-N's keys are the exchange's keys, in the exchange's order.
	src := g.Vertex(g.Edges[0].From)
	srcOut := src.Ops[len(src.Ops)-1].Output
	var input []string
	for _, k := range g.Edges[0].Keys {
		input = append(input, srcOut.Fields[k].Name)
	}
	var prev *jobgraph.OperatorSpec
	for _, op := range g.Vertices[1].Ops {
		if op.WindowTopN != nil {
			var keys []string
			for _, k := range op.WindowTopN.PartitionKeys {
				keys = append(keys, prev.Output.Fields[k].Name)
			}
			if !reflect.DeepEqual(keys, input) {
				t.Errorf("Top-N keys %v, exchange keys %v:\n%s", keys, input, p.Explain())
			}
			return
		}
		prev = op
	}
	t.Fatalf("no Top-N in the second vertex:\n%s", p.Explain())
}

func TestSharedSourceFansOut(t *testing.T) {
	for _, par := range []int{1, 4} {
		g := build(t, "two_inserts", par).Graph
		sources := 0
		for _, v := range g.Vertices {
			for _, op := range v.Ops {
				if op.Source != nil {
					sources++
				}
			}
		}
		if sources != 1 {
			t.Fatalf("p%d: %d source operators, want 1 shared", par, sources)
		}
		src := g.Vertices[0]
		outs := g.Outputs(src.ID)
		if kinds(src) != "source" || len(outs) != 2 {
			t.Fatalf("p%d: source vertex [%s] with %d outputs, want a lone source feeding 2", par, kinds(src), len(outs))
		}
		for _, e := range outs {
			if e.Exchange != jobgraph.Forward {
				t.Errorf("p%d: fan-out edge %s->%s is %s, want forward", par, e.From, e.To, e.Exchange)
			}
		}
	}
}

func TestDifferentWatermarksDoNotShareASource(t *testing.T) {
	b := plantest.New()
	mk := func(delay int64, table string) *logical.Sink {
		wm := plantest.GiftsWatermark()
		wm.DelayMs = delay
		w := b.Tumble(b.Scan(plantest.Gifts, wm), "ts", time.Minute)
		agg := b.Aggregate(w, []string{"window_start", "window_end"}, plantest.A{Func: jobgraph.CountStar, Name: "n"})
		return b.Sink(agg, plantest.SinkTable(table, "print", agg))
	}
	s := &logical.Script{Sinks: []*logical.Sink{mk(1000, "a"), mk(2000, "b")}}
	p, err := plan.Build(context.Background(), "t.sql", s, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Graph.Vertices); n != 2 {
		t.Fatalf("%d vertices, want 2 independent chains:\n%s", n, p.Explain())
	}
}

func TestSingleExchangeForWindowOnlyKeys(t *testing.T) {
	g := build(t, "window_only", 4).Graph
	if len(g.Edges) != 1 || g.Edges[0].Exchange != jobgraph.Single {
		t.Fatalf("edges %+v, want one single exchange", g.Edges)
	}
	if to := g.Vertex(g.Edges[0].To); to.Parallelism != 1 {
		t.Errorf("aggregate vertex parallelism %d, want 1", to.Parallelism)
	}
	g = build(t, "topn_window_only", 4).Graph
	last := g.Vertices[len(g.Vertices)-1]
	if last.Parallelism != 1 || kinds(last) != "window_topn,calc,sink" {
		t.Errorf("last vertex [%s] p%d, want the Top-N and what follows at parallelism 1", kinds(last), last.Parallelism)
	}
}

func TestIDsAreStable(t *testing.T) {
	for _, name := range plantest.Names() {
		if strings.HasPrefix(name, "err_") {
			continue
		}
		a, err := build(t, name, 4).Graph.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b, err := build(t, name, 4).Graph.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s: two plans of the same script differ", name)
		}
		// Sources, sinks and stateful operators keep their IDs whatever
		// the parallelism (only stateless Calcs may come and go), so state
		// finds its operator after a rescale.
		ids := func(g *jobgraph.Graph) []string {
			var out []string
			for _, v := range g.Vertices {
				for _, op := range v.Ops {
					if op.Calc == nil {
						out = append(out, op.ID)
					}
				}
			}
			return out
		}
		if x, y := ids(build(t, name, 1).Graph), ids(build(t, name, 4).Graph); !reflect.DeepEqual(x, y) {
			t.Errorf("%s: operator IDs at parallelism 1 %v differ from those at 4 %v", name, x, y)
		}
	}
}

func TestGraphRoundTripsThroughJSON(t *testing.T) {
	for _, name := range plantest.Names() {
		if strings.HasPrefix(name, "err_") {
			continue
		}
		for _, par := range []int{1, 3} {
			g := build(t, name, par).Graph
			data, err := g.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := jobgraph.Unmarshal(data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !reflect.DeepEqual(g, back) {
				t.Errorf("%s p%d: graph changed in a JSON round trip", name, par)
			}
		}
	}
}

func TestOptions(t *testing.T) {
	s := func() *logical.Script { return plantest.Flagship(plantest.New()) }
	ctx := context.Background()
	p, err := plan.Build(ctx, "f.sql", s(), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Graph.MaxParallelism != jobgraph.DefaultMaxParallelism || p.Parallelism != 1 || p.Graph.Name != "f.sql" {
		t.Errorf("defaults: max parallelism %d, parallelism %d, name %q", p.Graph.MaxParallelism, p.Parallelism, p.Graph.Name)
	}
	p, err = plan.Build(ctx, "f.sql", s(), plan.Options{JobName: "job", Parallelism: 8, MaxParallelism: 8})
	if err != nil || p.Graph.MaxParallelism != 8 || p.Graph.Name != "job" {
		t.Fatalf("p8/max8: %v", err)
	}
	for _, bad := range []plan.Options{{Parallelism: -1}, {Parallelism: 9, MaxParallelism: 8}, {MaxParallelism: 1 << 20}} {
		if _, err := plan.Build(ctx, "f.sql", s(), bad); err == nil {
			t.Errorf("options %+v: no error", bad)
		}
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := plan.Build(ctx2, "f.sql", s(), plan.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestErrorsArePositioned(t *testing.T) {
	// Each error case points at the node it is about (plantest numbers
	// nodes by line in build order).
	want := map[string]string{
		"err_rank":             "Over",
		"err_rownumber":        "Over",
		"err_rn_zero":          "Filter",
		"err_half_window":      "Aggregate",
		"err_not_rowtime":      "WindowTVF",
		"err_join_cross":       "Join",
		"err_join_windows":     "Join",
		"err_join_proctime":    "Join",
		"err_topn_proctime":    "Over",
		"err_cascade_proctime": "Aggregate",
		"err_hop_multiple":     "WindowTVF",
		"err_session_offset":   "WindowTVF",
		"err_window_updating":  "Aggregate",
		"err_temporal_nopk":    "Join",
		"err_temporal_keys":    "Join",
		"err_lookup_query":     "Join",
		"err_interval_proc":    "Join",
	}
	for name, kind := range want {
		s := plantest.Cases[name](plantest.New())
		_, err := plan.Build(context.Background(), "x.sql", s, plan.Options{Parallelism: 2})
		var pe *planerr.Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not positioned", name, err)
			continue
		}
		node := findAt(s.Sinks[0], pe.Pos)
		if node == nil || !strings.Contains(strings.ToLower(typeName(node)), strings.ToLower(kind)) {
			t.Errorf("%s: error at %v points at %s, want a %s: %v", name, pe.Pos, typeName(node), kind, err)
		}
		if pe.File != "x.sql" {
			t.Errorf("%s: file %q", name, pe.File)
		}
	}
}

func findAt(n logical.Node, pos logical.Pos) logical.Node {
	if n.Position() == pos {
		return n
	}
	for _, in := range n.Inputs() {
		if m := findAt(in, pos); m != nil {
			return m
		}
	}
	return nil
}

func typeName(n logical.Node) string {
	if n == nil {
		return "nothing"
	}
	return strings.TrimPrefix(reflect.TypeOf(n).String(), "*logical.")
}

func TestBadLogicalPlansAreErrorsNotPanics(t *testing.T) {
	b := plantest.New()
	scan := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
	bad := []logical.Node{
		b.Filter(scan, plantest.Bool(expr.FuncGt, expr.Col(42, plantest.Gifts.Schema.Fields[0].Type), plantest.BigInt(1))),
		&logical.Aggregate{Input: scan, GroupKeys: []int{9}},
		&logical.Project{Input: scan, Exprs: []*expr.Expr{nil}, Names: []string{"x"}},
		&logical.Filter{Input: nil, Cond: plantest.BigInt(1)},
	}
	for i, n := range bad {
		s := &logical.Script{Sinks: []*logical.Sink{{Input: n, Table: plantest.SinkTable("t", "print", scan)}}}
		if _, err := plan.Build(context.Background(), "x.sql", s, plan.Options{}); err == nil {
			t.Errorf("bad plan %d: no error", i)
		}
	}
	if _, err := plan.Build(context.Background(), "x.sql", &logical.Script{}, plan.Options{}); err == nil {
		t.Error("empty script: no error")
	}
}

package chain

import (
	"testing"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/physical"
)

func node(id string, spec func(*jobgraph.OperatorSpec), p int, ins ...*physical.Input) *physical.Node {
	op := &jobgraph.OperatorSpec{ID: id, Output: types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}}}
	spec(op)
	return &physical.Node{Op: op, Parallelism: p, Inputs: ins}
}

func src(op *jobgraph.OperatorSpec)  { op.Source = &jobgraph.SourceSpec{} }
func calc(op *jobgraph.OperatorSpec) { op.Calc = &jobgraph.CalcSpec{} }
func sink(op *jobgraph.OperatorSpec) { op.Sink = &jobgraph.SinkSpec{} }

func fwd(n *physical.Node) *physical.Input {
	return &physical.Input{From: n, Exchange: jobgraph.Forward}
}

func TestChaining(t *testing.T) {
	s := node("s", src, 2)
	c1 := node("c1", calc, 2, fwd(s))
	k1 := node("k1", sink, 2, fwd(c1))
	p := &physical.Plan{Nodes: []*physical.Node{s, c1, k1}, Sinks: []*physical.Node{k1}}
	g, err := Graph(p, Options{Name: "j", MaxParallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Vertices) != 1 || len(g.Vertices[0].Ops) != 3 {
		t.Fatalf("forward chain not fused: %+v", g.Vertices)
	}

	// Fan-out: s feeds two calcs; neither chains onto s.
	a := node("a", calc, 2, fwd(s))
	b := node("b", calc, 2, fwd(s))
	ka, kb := node("ka", sink, 2, fwd(a)), node("kb", sink, 2, fwd(b))
	p = &physical.Plan{Nodes: []*physical.Node{s, a, ka, b, kb}, Sinks: []*physical.Node{ka, kb}}
	g, err = Graph(p, Options{Name: "j", MaxParallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Vertices) != 3 || len(g.Vertices[0].Ops) != 1 || len(g.Outputs(g.Vertices[0].ID)) != 2 {
		t.Fatalf("fan-out: %d vertices", len(g.Vertices))
	}

	// Hash and parallelism changes start new vertices; keys are kept.
	h := node("h", calc, 2, &physical.Input{From: s, Exchange: jobgraph.Hash, Keys: []int{0}})
	one := node("one", sink, 1, &physical.Input{From: h, Exchange: jobgraph.Single})
	p = &physical.Plan{Nodes: []*physical.Node{s, h, one}, Sinks: []*physical.Node{one}}
	g, err = Graph(p, Options{Name: "j", MaxParallelism: 8, Config: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Vertices) != 3 || g.Edges[0].Exchange != jobgraph.Hash || len(g.Edges[0].Keys) != 1 || g.Edges[1].Exchange != jobgraph.Single {
		t.Fatalf("exchanges: %+v", g.Edges)
	}
	if g.Config["k"] != "v" {
		t.Error("config not copied")
	}

	// Operators out of order are an internal error, not a panic.
	p = &physical.Plan{Nodes: []*physical.Node{h, s}}
	if _, err := Graph(p, Options{Name: "j", MaxParallelism: 8}); err == nil {
		t.Error("operators out of order: no error")
	}
}

// TestMultiInputOperatorsStartVertices: a union (or window join) reads
// several edges, so it starts a vertex of its own even behind forward
// edges, with its inputs numbered in order; one producer may feed it twice.
func TestMultiInputOperatorsStartVertices(t *testing.T) {
	s := node("s", src, 2)
	a := node("a", calc, 2, fwd(s))
	u := node("u", func(op *jobgraph.OperatorSpec) { op.Union = &jobgraph.UnionSpec{Inputs: 3} }, 2, fwd(a), fwd(s), fwd(s))
	c := node("c", calc, 2, fwd(u))
	k := node("k", sink, 2, fwd(c))
	p := &physical.Plan{Nodes: []*physical.Node{s, a, u, c, k}, Sinks: []*physical.Node{k}}
	g, err := Graph(p, Options{Name: "j", MaxParallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Vertices) != 3 {
		t.Fatalf("%d vertices, want source, calc, union+calc+sink", len(g.Vertices))
	}
	uv := g.Vertices[2]
	if len(uv.Ops) != 3 || uv.Ops[0].Union == nil {
		t.Fatalf("union vertex: %+v", uv.Ops)
	}
	ins := g.Inputs(uv.ID)
	if len(ins) != 3 || ins[0].From != g.Vertices[1].ID || ins[1].From != g.Vertices[0].ID || ins[2].From != g.Vertices[0].ID {
		t.Fatalf("union inputs: %+v", ins)
	}
	for i, e := range ins {
		if e.Input != i || e.Exchange != jobgraph.Forward {
			t.Errorf("input %d: %+v", i, e)
		}
	}
}

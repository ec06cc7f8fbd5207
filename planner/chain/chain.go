package chain

import (
	"fmt"
	"maps"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/physical"
)

// Options names and configures the graph.
type Options struct {
	// Name is the job name.
	Name string
	// MaxParallelism is the number of key groups.
	MaxParallelism int
	// Config is copied into the graph's Config.
	Config map[string]string
}

// Graph chains p's operators into vertices and returns the validated job
// graph. The graph's operator specs are p's own.
func Graph(p *physical.Plan, opts Options) (*jobgraph.Graph, error) {
	g := &jobgraph.Graph{Name: opts.Name, MaxParallelism: opts.MaxParallelism}
	if len(opts.Config) > 0 {
		g.Config = maps.Clone(opts.Config)
	}
	consumers := p.Consumers()
	vertexOf := make(map[*physical.Node]*jobgraph.Vertex, len(p.Nodes))
	for _, n := range p.Nodes {
		if in := chainedInput(n, consumers); in != nil {
			v := vertexOf[in]
			v.Ops = append(v.Ops, n.Op)
			vertexOf[n] = v
			continue
		}
		v := &jobgraph.Vertex{ID: fmt.Sprintf("v%d", len(g.Vertices)+1), Parallelism: n.Parallelism, Ops: []*jobgraph.OperatorSpec{n.Op}}
		g.Vertices = append(g.Vertices, v)
		vertexOf[n] = v
		for i, in := range n.Inputs {
			from, ok := vertexOf[in.From]
			if !ok {
				return nil, fmt.Errorf("planner: internal error: operator %s is not before its consumer %s", in.From.Op.ID, n.Op.ID)
			}
			e := &jobgraph.Edge{From: from.ID, To: v.ID, Input: i, Exchange: in.Exchange}
			if in.Exchange == jobgraph.Hash {
				e.Keys = append([]int(nil), in.Keys...)
			}
			g.Edges = append(g.Edges, e)
		}
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("planner: internal error: %w", err)
	}
	return g, nil
}

// chainedInput returns the operator n chains onto, or nil when n starts a
// vertex of its own.
func chainedInput(n *physical.Node, consumers map[*physical.Node]int) *physical.Node {
	if len(n.Inputs) != 1 || n.Op.Source != nil {
		return nil
	}
	in := n.Inputs[0]
	if in.Exchange != jobgraph.Forward || in.From.Parallelism != n.Parallelism || consumers[in.From] != 1 {
		return nil
	}
	return in.From
}

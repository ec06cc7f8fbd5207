package explain

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Graph renders a job graph: each vertex with its parallelism, its inputs,
// its chain of operators with their parameters, and its outputs with their
// exchanges.
func Graph(g *jobgraph.Graph, opts Options) string {
	var sb strings.Builder
	noun := "vertices"
	if len(g.Vertices) == 1 {
		noun = "vertex"
	}
	fmt.Fprintf(&sb, "job %q: %d %s, max parallelism %d\n", g.Name, len(g.Vertices), noun, g.MaxParallelism)
	for _, v := range g.Vertices {
		sb.WriteByte('\n')
		ins := g.Inputs(v.ID)
		header := fmt.Sprintf("%s (parallelism %d)", v.ID, v.Parallelism)
		if len(ins) > 0 {
			parts := make([]string, len(ins))
			for i, e := range ins {
				parts[i] = e.From + " " + exchange(g, e)
			}
			header += " ◀── " + strings.Join(parts, ", ")
		}
		sb.WriteString(header + "\n")
		var input types.Schema
		if len(ins) > 0 {
			if from := g.Vertex(ins[0].From); from != nil && len(from.Ops) > 0 {
				input = from.Ops[len(from.Ops)-1].Output
			}
		}
		outs := g.Outputs(v.ID)
		bar := "   "
		if len(outs) > 0 {
			bar = "│  "
		}
		for _, op := range v.Ops {
			writeOp(&sb, bar, op, input, opts)
			input = op.Output
		}
		for i, e := range outs {
			branch := "├── "
			if i == len(outs)-1 {
				branch = "└── "
			}
			fmt.Fprintf(&sb, "%s%s ──▶ %s\n", branch, exchange(g, e), e.To)
		}
	}
	return sb.String()
}

// exchange renders an edge's exchange: FORWARD, HASH[col, ...] naming the
// producer's key columns, SINGLE, BROADCAST or REBALANCE.
func exchange(g *jobgraph.Graph, e *jobgraph.Edge) string {
	kind := strings.ToUpper(string(e.Exchange))
	if e.Exchange != jobgraph.Hash {
		return kind
	}
	var out types.Schema
	if from := g.Vertex(e.From); from != nil && len(from.Ops) > 0 {
		out = from.Ops[len(from.Ops)-1].Output
	}
	return kind + "[" + Columns(e.Keys, names(out)) + "]"
}

func writeOp(sb *strings.Builder, bar string, op *jobgraph.OperatorSpec, input types.Schema, opts Options) {
	in := names(input)
	title, details := opDetails(op, in)
	fmt.Fprintf(sb, "%s• %s  (%s)\n", bar, title, op.ID)
	for _, d := range details {
		fmt.Fprintf(sb, "%s    %s\n", bar, d)
	}
	if opts.Types && op.Sink == nil {
		fmt.Fprintf(sb, "%s    → %s\n", bar, SchemaString(op.Output))
	}
}

func opDetails(op *jobgraph.OperatorSpec, in []string) (string, []string) {
	switch {
	case op.Source != nil:
		s := op.Source
		d := []string{"connector: " + s.Connector}
		if s.Watermark != nil {
			d = append(d, "watermark: "+Watermark(s.Watermark, names(s.Schema)))
		}
		return "Source " + s.Table, d
	case op.Calc != nil:
		c := op.Calc
		var d []string
		if c.Filter != nil {
			d = append(d, "filter: "+Expr(c.Filter, in))
		}
		parts := make([]string, len(c.Projections))
		for i, e := range c.Projections {
			name := ""
			if i < len(op.Output.Fields) {
				name = op.Output.Fields[i].Name
			}
			parts[i] = Projection(e, name, in)
		}
		d = append(d, "select: "+strings.Join(parts, ", "))
		return "Calc", d
	case op.WindowAgg != nil:
		w := op.WindowAgg
		aggs := make([]string, len(w.Aggs))
		for i, a := range w.Aggs {
			aggs[i] = Agg(a, in)
		}
		d := []string{"window: " + Window(w.Window, in)}
		if len(w.GroupKeys) > 0 {
			d = append(d, "group by: "+Columns(w.GroupKeys, in))
		}
		d = append(d, "aggregates: "+strings.Join(aggs, ", "))
		return "WindowAggregate", d
	case op.WindowTopN != nil:
		t := op.WindowTopN
		keys := make([]string, len(t.OrderBy))
		for i, k := range t.OrderBy {
			keys[i] = SortKey(k, in)
		}
		d := []string{"window: " + Columns([]int{t.WindowStart, t.WindowEnd}, in)}
		if len(t.PartitionKeys) > 0 {
			d = append(d, "partition by: "+Columns(t.PartitionKeys, in))
		}
		d = append(d, "order by: "+strings.Join(keys, ", "))
		keep := fmt.Sprintf("keep: first %d per partition", t.N)
		if t.EmitRank {
			keep += ", row number as " + Column(names(op.Output), len(op.Output.Fields)-1)
		}
		d = append(d, keep)
		return "WindowTopN", d
	case op.Sink != nil:
		return "Sink " + op.Sink.Table, []string{"connector: " + op.Sink.Connector}
	}
	return op.Kind(), nil
}

// Summary renders a job graph compactly with its raw indices: each
// operator's output schema and its spec as JSON, and each edge with its key
// column numbers. It is for tests that check the serialized form.
func Summary(g *jobgraph.Graph) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "graph %q max_parallelism=%d\n", g.Name, g.MaxParallelism)
	for _, v := range g.Vertices {
		fmt.Fprintf(&sb, "vertex %s parallelism=%d\n", v.ID, v.Parallelism)
		for _, op := range v.Ops {
			var spec any
			switch {
			case op.Source != nil:
				spec = struct {
					Table     string                  `json:"table"`
					Connector string                  `json:"connector"`
					Watermark *jobgraph.WatermarkSpec `json:"watermark,omitempty"`
				}{op.Source.Table, op.Source.Connector, op.Source.Watermark}
			case op.Sink != nil:
				spec = struct {
					Table     string `json:"table"`
					Connector string `json:"connector"`
				}{op.Sink.Table, op.Sink.Connector}
			case op.Calc != nil:
				spec = op.Calc
			case op.WindowAgg != nil:
				spec = op.WindowAgg
			case op.WindowTopN != nil:
				spec = op.WindowTopN
			}
			js, err := json.Marshal(spec)
			if err != nil {
				js = []byte(err.Error())
			}
			fmt.Fprintf(&sb, "  %s %q\n    out: %s\n    spec: %s\n", op.ID, op.Name, compactSchema(op.Output), js)
		}
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&sb, "edge %s -> %s input=%d %s", e.From, e.To, e.Input, e.Exchange)
		if len(e.Keys) > 0 {
			fmt.Fprintf(&sb, " keys=%v", e.Keys)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func compactSchema(s types.Schema) string {
	if len(s.Fields) == 0 {
		return "()"
	}
	return "(" + SchemaString(s) + ")"
}

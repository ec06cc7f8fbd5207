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
		inputs := make([]types.Schema, len(ins))
		for i, e := range ins {
			if from := g.Vertex(e.From); from != nil && len(from.Ops) > 0 {
				inputs[i] = from.Ops[len(from.Ops)-1].Output
			}
		}
		outs := g.Outputs(v.ID)
		bar := "   "
		if len(outs) > 0 {
			bar = "│  "
		}
		for _, op := range v.Ops {
			writeOp(&sb, bar, op, inputs, opts)
			inputs = []types.Schema{op.Output}
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

func writeOp(sb *strings.Builder, bar string, op *jobgraph.OperatorSpec, inputs []types.Schema, opts Options) {
	title, details := opDetails(op, inputs)
	fmt.Fprintf(sb, "%s• %s  (%s)\n", bar, title, op.ID)
	for _, d := range details {
		fmt.Fprintf(sb, "%s    %s\n", bar, d)
	}
	if opts.ChangelogMode && op.Sink == nil {
		// Every operator of this engine emits inserts only so far.
		fmt.Fprintf(sb, "%s    changelog mode: [I]\n", bar)
	}
	if opts.Types && op.Sink == nil {
		fmt.Fprintf(sb, "%s    → %s\n", bar, SchemaString(op.Output))
	}
}

func opDetails(op *jobgraph.OperatorSpec, inputs []types.Schema) (string, []string) {
	var in []string
	if len(inputs) > 0 {
		in = names(inputs[0])
	}
	switch {
	case op.Source != nil:
		s := op.Source
		d := []string{"connector: " + s.Connector}
		if s.Projection != nil {
			d = append(d, "read columns: "+Columns(s.Projection, names(s.Schema)))
		}
		if s.Watermark != nil {
			d = append(d, "watermark: "+Watermark(s.Watermark, names(op.Output)))
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
		if len(aggs) > 0 {
			d = append(d, "aggregates: "+strings.Join(aggs, ", "))
		}
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
		if dedup, keep, ok := strings.Cut(op.Name, ": keep "); ok && dedup == "WindowDeduplicate" {
			// A window Top-N keeping one row per partition by a time
			// attribute is Flink's window deduplication.
			return "WindowDeduplicate", append(d, "keep: "+keep+" row per partition")
		}
		keep := fmt.Sprintf("keep: first %d per partition", t.N)
		if t.EmitRank {
			keep += ", row number as " + Column(names(op.Output), len(op.Output.Fields)-1)
		}
		d = append(d, keep)
		return "WindowTopN", d
	case op.Sink != nil:
		return "Sink " + op.Sink.Table, []string{"connector: " + op.Sink.Connector}
	case op.WindowAssign != nil:
		return "WindowAssign", []string{"window: " + Window(op.WindowAssign.Window, in)}
	case op.WatermarkAssigner != nil:
		return "WatermarkAssigner", []string{"watermark: " + Watermark(op.WatermarkAssigner, names(op.Output))}
	case op.Union != nil:
		return "Union", []string{fmt.Sprintf("inputs: %d", op.Union.Inputs)}
	case op.Correlate != nil:
		c := op.Correlate
		d := []string{"function: " + Call(c.Function, c.Args, in)}
		if c.Left {
			d = append(d, "keep: input rows without function rows, with NULLs (LEFT)")
		}
		return "Correlate", d
	case op.WindowJoin != nil:
		return "WindowJoin", joinDetails(op.WindowJoin, inputs)
	}
	return op.Kind(), nil
}

// joinDetails renders a window join's type, windows, keys and residual,
// naming the left input's columns L.name and the right input's R.name.
func joinDetails(j *jobgraph.WindowJoinSpec, inputs []types.Schema) []string {
	var l, r []string
	if len(inputs) == 2 {
		l, r = names(inputs[0]), names(inputs[1])
	}
	qualify := func(prefix string, ns []string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + Column(ns, i)
		}
		return out
	}
	ql, qr := qualify("L.", l, len(l)), qualify("R.", r, len(r))
	eq := func(a, b int) string { return Column(ql, a) + " = " + Column(qr, b) }
	d := []string{
		"type: " + strings.ToUpper(string(j.Type)),
		"window: " + eq(j.LeftWindowStart, j.RightWindowStart) + " AND " + eq(j.LeftWindowEnd, j.RightWindowEnd),
	}
	if len(j.LeftKeys) > 0 {
		keys := make([]string, len(j.LeftKeys))
		for i := range keys {
			keys[i] = eq(j.LeftKeys[i], j.RightKeys[i])
		}
		d = append(d, "keys: "+strings.Join(keys, " AND "))
	}
	if j.Residual != nil {
		d = append(d, "residual: "+Expr(j.Residual, append(ql, qr...)))
	}
	return d
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
					Table      string                  `json:"table"`
					Connector  string                  `json:"connector"`
					Projection []int                   `json:"projection,omitempty"`
					Watermark  *jobgraph.WatermarkSpec `json:"watermark,omitempty"`
				}{op.Source.Table, op.Source.Connector, op.Source.Projection, op.Source.Watermark}
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
			case op.WindowAssign != nil:
				spec = op.WindowAssign
			case op.WindowJoin != nil:
				spec = op.WindowJoin
			case op.Union != nil:
				spec = op.Union
			case op.Correlate != nil:
				spec = op.Correlate
			case op.WatermarkAssigner != nil:
				spec = op.WatermarkAssigner
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

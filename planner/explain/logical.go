package explain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// Options tunes the rendering.
type Options struct {
	// Types adds each node's output columns and types.
	Types bool
	// ChangelogMode adds the kinds of changes each operator emits
	// (EXPLAIN CHANGELOG_MODE): [I] for inserts only.
	ChangelogMode bool
}

// Logical renders every sink tree of s, one after the other.
func Logical(s *logical.Script, opts Options) string {
	var sb strings.Builder
	for i, sink := range s.Sinks {
		if i > 0 {
			sb.WriteByte('\n')
		}
		writeTree(&sb, sink, "", "", opts)
	}
	return sb.String()
}

// Tree renders the logical tree rooted at n.
func Tree(n logical.Node, opts Options) string {
	var sb strings.Builder
	writeTree(&sb, n, "", "", opts)
	return sb.String()
}

func writeTree(sb *strings.Builder, n logical.Node, first, rest string, opts Options) {
	sb.WriteString(first + Node(n) + "\n")
	ins := n.Inputs()
	if opts.Types && len(n.Schema().Fields) > 0 {
		bar := "    "
		if len(ins) > 0 {
			bar = "│   "
		}
		sb.WriteString(rest + bar + "→ " + SchemaString(n.Schema()) + "\n")
	}
	for i, in := range ins {
		if i == len(ins)-1 {
			writeTree(sb, in, rest+"└── ", rest+"    ", opts)
		} else {
			writeTree(sb, in, rest+"├── ", rest+"│   ", opts)
		}
	}
}

// SchemaString renders columns as "name TYPE, ..." with time attributes
// marked *ROWTIME*.
func SchemaString(s types.Schema) string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}

func names(s types.Schema) []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// Node renders one logical node on a line, without its inputs.
func Node(n logical.Node) string {
	switch n := n.(type) {
	case *logical.Scan:
		s := fmt.Sprintf("Scan %s [connector=%s]", n.Table.Table, n.Table.Connector)
		if n.Watermark != nil {
			s += " watermark=" + Watermark(n.Watermark, names(n.Table.Schema))
		}
		return s
	case *logical.Filter:
		return "Filter " + Expr(n.Cond, names(n.Input.Schema()))
	case *logical.Project:
		in := names(n.Input.Schema())
		parts := make([]string, len(n.Exprs))
		for i, e := range n.Exprs {
			parts[i] = Projection(e, n.Names[i], in)
		}
		return "Project " + strings.Join(parts, ", ")
	case *logical.WindowTVF:
		w := n.Window
		if len(w.PartitionBy) == 0 {
			w.PartitionBy = n.PartitionBy
		}
		return "WindowTVF " + Window(w, names(n.Input.Schema()))
	case *logical.Aggregate:
		in := names(n.Input.Schema())
		aggs := make([]string, len(n.Aggs))
		for i, a := range n.Aggs {
			aggs[i] = Agg(a, in)
		}
		return fmt.Sprintf("Aggregate group=[%s] aggs=[%s]", Columns(n.GroupKeys, in), strings.Join(aggs, ", "))
	case *logical.Over:
		in := names(n.Input.Schema())
		keys := make([]string, len(n.OrderBy))
		for i, k := range n.OrderBy {
			keys[i] = SortKey(k, in)
		}
		return fmt.Sprintf("Over %s() partition=[%s] order=[%s] AS %s", n.Func, Columns(n.PartitionBy, in), strings.Join(keys, ", "), n.Name)
	case *logical.Sink:
		return fmt.Sprintf("Sink %s [connector=%s]", n.Table.Table, n.Table.Connector)
	case *logical.Union:
		return "Union all"
	case *logical.Join:
		s := "Join " + strings.ToUpper(string(n.Type))
		if n.Cond != nil {
			s += " on " + Expr(n.Cond, append(names(n.Left.Schema()), names(n.Right.Schema())...))
		}
		return s
	case *logical.Correlate:
		s := "Correlate " + Call(n.Function, n.Args, names(n.Input.Schema()))
		cols := make([]string, len(n.Columns))
		for i, f := range n.Columns {
			cols[i] = f.Name
		}
		s += " AS (" + strings.Join(cols, ", ") + ")"
		if n.Left {
			s += " left"
		}
		return s
	case *logical.WatermarkAssigner:
		return "WatermarkAssigner " + Watermark(&jobgraph.WatermarkSpec{Column: n.Column, DelayMs: n.DelayMs}, names(n.Input.Schema()))
	}
	return fmt.Sprintf("%T", n)
}

// Config renders SET options sorted by key, one per line.
func Config(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "SET '%s' = '%s'\n", k, cfg[k])
	}
	return sb.String()
}

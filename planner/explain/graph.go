package explain

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
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
	if opts.ChangelogMode {
		// Flink's notation: I = +I, UB = -U, UA = +U, D = -D.
		mode := "[I]"
		switch {
		case op.Sink != nil:
			mode = ""
		case op.Changelog == jobgraph.Retract:
			mode = "[I,UB,UA,D]"
		case op.Changelog == jobgraph.Upsert:
			mode = "[I,UA,D], upsert key [" + Columns(op.UniqueKey, names(op.Output)) + "]"
		}
		if mode != "" {
			fmt.Fprintf(sb, "%s    changelog mode: %s\n", bar, mode)
		}
	}
	if opts.Types && op.Sink == nil {
		fmt.Fprintf(sb, "%s    → %s\n", bar, SchemaString(op.Output))
	}
}

// changelog is the plain EXPLAIN line of an operator's output mode, or
// "" for an append-only output.
func changelog(op *jobgraph.OperatorSpec) string {
	switch op.Changelog {
	case jobgraph.Retract:
		return "changelog: retract"
	case jobgraph.Upsert:
		return "changelog: upsert(key=[" + Columns(op.UniqueKey, names(op.Output)) + "])"
	}
	return ""
}

func opDetails(op *jobgraph.OperatorSpec, inputs []types.Schema) (string, []string) {
	title, d := opDetails1(op, inputs)
	if c := changelog(op); c != "" {
		d = append(d, c)
	}
	return title, d
}

func opDetails1(op *jobgraph.OperatorSpec, inputs []types.Schema) (string, []string) {
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
		d := []string{"connector: " + op.Sink.Connector}
		switch op.Sink.Changelog {
		case jobgraph.Retract:
			d = append(d, "receives: retract")
		case jobgraph.Upsert:
			d = append(d, "receives: upsert(key=["+Columns(op.Sink.PrimaryKey, names(op.Sink.Schema))+"])")
		}
		return "Sink " + op.Sink.Table, d
	case op.GroupAgg != nil:
		return "GroupAggregate", groupAggDetails(op.GroupAgg, in)
	case op.Rank != nil:
		return "Rank", rankDetails(op, in)
	case op.Dedup != nil:
		return "Deduplicate", dedupDetails(op.Dedup, in)
	case op.Join != nil:
		j := op.Join
		d := keyedJoinDetails(string(j.Type), j.LeftKeys, j.RightKeys, j.Residual, inputs, "")
		switch {
		case j.LeftRetracts && j.RightRetracts:
			d = append(d, "input: both sides retract")
		case j.LeftRetracts:
			d = append(d, "input: left side retracts")
		case j.RightRetracts:
			d = append(d, "input: right side retracts")
		}
		if j.TTLMs > 0 {
			d = append(d, "state ttl: "+Interval(j.TTLMs))
		}
		return "Join", d
	case op.IntervalJoin != nil:
		j := op.IntervalJoin
		var l, r []string
		if len(inputs) == 2 {
			l, r = names(inputs[0]), names(inputs[1])
		}
		bound := fmt.Sprintf("interval: L.%s - R.%s BETWEEN %s AND %s", Column(l, j.LeftTime), Column(r, j.RightTime), Interval(j.LowerMs), Interval(j.UpperMs))
		return "IntervalJoin", keyedJoinDetails(string(j.Type), j.LeftKeys, j.RightKeys, j.Residual, inputs, bound)
	case op.TemporalJoin != nil:
		j := op.TemporalJoin
		t := "inner"
		if j.Left {
			t = "left"
		}
		var l, r []string
		if len(inputs) == 2 {
			l, r = names(inputs[0]), names(inputs[1])
		}
		asOf := fmt.Sprintf("as of: L.%s (versions by R.%s)", Column(l, j.LeftTime), Column(r, j.RightTime))
		d := keyedJoinDetails(t, j.LeftKeys, j.RightKeys, j.Residual, inputs, asOf)
		if j.TTLMs > 0 {
			d = append(d, "state ttl: "+Interval(j.TTLMs))
		}
		return "TemporalJoin", d
	case op.LookupJoin != nil:
		return "LookupJoin", lookupDetails(op.LookupJoin, in)
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
					Table      string                 `json:"table"`
					Connector  string                 `json:"connector"`
					PrimaryKey []int                  `json:"primary_key,omitempty"`
					Changelog  jobgraph.ChangelogMode `json:"changelog,omitempty"`
				}{op.Sink.Table, op.Sink.Connector, op.Sink.PrimaryKey, op.Sink.Changelog}
			case op.GroupAgg != nil:
				spec = op.GroupAgg
			case op.Rank != nil:
				spec = op.Rank
			case op.Dedup != nil:
				spec = op.Dedup
			case op.Join != nil:
				spec = op.Join
			case op.IntervalJoin != nil:
				spec = op.IntervalJoin
			case op.TemporalJoin != nil:
				spec = op.TemporalJoin
			case op.LookupJoin != nil:
				l := *op.LookupJoin
				l.Dim.Schema = types.Schema{}
				spec = l
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
			if op.Changelog != "" {
				fmt.Fprintf(&sb, "    changelog: %s unique_key=%v\n", op.Changelog, op.UniqueKey)
			}
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

func groupAggDetails(g *jobgraph.GroupAggSpec, in []string) []string {
	var d []string
	if len(g.GroupKeys) > 0 {
		d = append(d, "group by: "+Columns(g.GroupKeys, in))
	}
	if len(g.Aggs) > 0 {
		aggs := make([]string, len(g.Aggs))
		for i, a := range g.Aggs {
			aggs[i] = Agg(a, in)
		}
		d = append(d, "aggregates: "+strings.Join(aggs, ", "))
	}
	if g.Phase == jobgraph.LocalPhase {
		d = append(d, "phase: local (partial results, no state)")
	}
	if m := g.MiniBatch; m != nil {
		d = append(d, fmt.Sprintf("mini-batch: %d rows or %s", m.Size, Interval(m.LatencyMs)))
	}
	d = append(d, changes(g.Changes, g.TTLMs)...)
	return d
}

// changes renders an updating operator's input and output flags and TTL.
func changes(c jobgraph.Changes, ttlMs int64) []string {
	var d []string
	if c.InputRetracts {
		d = append(d, "input: retracts")
	}
	if ttlMs > 0 {
		d = append(d, "state ttl: "+Interval(ttlMs))
	}
	return d
}

func rankDetails(op *jobgraph.OperatorSpec, in []string) []string {
	t := op.Rank
	keys := make([]string, len(t.OrderBy))
	for i, k := range t.OrderBy {
		keys[i] = SortKey(k, in)
	}
	d := []string{fmt.Sprintf("rank: %s <= %d", strings.ToUpper(string(t.Func)), t.N)}
	if len(t.PartitionKeys) > 0 {
		d = append(d, "partition by: "+Columns(t.PartitionKeys, in))
	}
	d = append(d, "order by: "+strings.Join(keys, ", "))
	if t.EmitRank {
		d = append(d, "rank as: "+Column(names(op.Output), len(op.Output.Fields)-1))
	}
	return append(d, changes(t.Changes, t.TTLMs)...)
}

func dedupDetails(t *jobgraph.DedupSpec, in []string) []string {
	var d []string
	if len(t.Keys) > 0 {
		d = append(d, "partition by: "+Columns(t.Keys, in))
	}
	switch {
	case t.ProcTime && !t.KeepLast:
		d = append(d, "keep: first row per key on processing time (emitted once)")
	case t.ProcTime:
		d = append(d, "keep: last row per key on processing time (each later row updates it)")
	case t.KeepLast:
		d = append(d, "keep: row with the largest "+Column(in, t.TimeColumn)+" per key (a later or equal time updates it)")
	default:
		d = append(d, "keep: row with the smallest "+Column(in, t.TimeColumn)+" per key (an earlier row arriving late updates it)")
	}
	return append(d, changes(t.Changes, t.TTLMs)...)
}

// keyedJoinDetails renders a join's type, keys, extra line and residual,
// naming the left input's columns L.name and the right input's R.name.
func keyedJoinDetails(typ string, lk, rk []int, residual *expr.Expr, inputs []types.Schema, extra string) []string {
	var l, r []string
	if len(inputs) == 2 {
		l, r = names(inputs[0]), names(inputs[1])
	}
	qualify := func(prefix string, ns []string) []string {
		out := make([]string, len(ns))
		for i := range out {
			out[i] = prefix + Column(ns, i)
		}
		return out
	}
	ql, qr := qualify("L.", l), qualify("R.", r)
	d := []string{"type: " + strings.ToUpper(typ)}
	if len(lk) > 0 {
		keys := make([]string, len(lk))
		for i := range keys {
			keys[i] = Column(ql, lk[i]) + " = " + Column(qr, rk[i])
		}
		d = append(d, "keys: "+strings.Join(keys, " AND "))
	} else {
		d = append(d, "keys: none (all rows in one subtask)")
	}
	if extra != "" {
		d = append(d, extra)
	}
	if residual != nil {
		d = append(d, "residual: "+Expr(residual, append(ql, qr...)))
	}
	return d
}

func lookupDetails(j *jobgraph.LookupJoinSpec, in []string) []string {
	dim := names(j.Dim.Schema)
	t := "INNER"
	if j.Left {
		t = "LEFT"
	}
	keys := make([]string, len(j.Keys))
	for i := range keys {
		keys[i] = Column(in, j.Keys[i]) + " = " + j.Dim.Table + "." + Column(dim, j.DimKeys[i])
	}
	d := []string{"type: " + t, "table: " + j.Dim.Table + " (connector " + j.Dim.Connector + ")", "keys: " + strings.Join(keys, " AND ")}
	if j.Residual != nil {
		both := append(append([]string(nil), in...), dim...)
		d = append(d, "residual: "+Expr(j.Residual, both))
	}
	cache := "cache: whole table, loaded once"
	if j.CacheTTLMs > 0 {
		cache = "cache: ttl " + Interval(j.CacheTTLMs)
	}
	if j.CacheMaxRows > 0 {
		cache += fmt.Sprintf(", at most %d keys", j.CacheMaxRows)
	}
	return append(d, cache)
}

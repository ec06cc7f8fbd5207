package refeval

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Graph evaluates a job graph over tables (rows by table name) and returns
// the formatted rows each sink receives, by sink table. It follows the
// operator specs' documented meaning, over all rows at once: parallelism
// and exchanges move rows but do not change results.
func Graph(g *jobgraph.Graph, tables map[string][]Row) (map[string][]string, error) {
	if g == nil {
		return nil, fmt.Errorf("refeval: no job graph")
	}
	out := map[string][]string{}
	done := map[string][]Row{}
	var run func(id string, depth int) ([]Row, error)
	run = func(id string, depth int) ([]Row, error) {
		if rows, ok := done[id]; ok {
			return rows, nil
		}
		if depth > len(g.Vertices) {
			return nil, fmt.Errorf("refeval: cycle at %s", id)
		}
		v := g.Vertex(id)
		if v == nil {
			return nil, fmt.Errorf("refeval: no vertex %s", id)
		}
		var inputs [][]Row
		var schema types.Schema
		for i, e := range g.Inputs(id) {
			if e.Input != i {
				return nil, fmt.Errorf("refeval: vertex %s: edge from %s is input %d, want %d", id, e.From, e.Input, i)
			}
			rows, err := run(e.From, depth+1)
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, rows)
			from := g.Vertex(e.From)
			if i == 0 {
				schema = from.Ops[len(from.Ops)-1].Output
			}
		}
		var rows []Row
		for k, op := range v.Ops {
			if err := checkTypes(op, schema); err != nil {
				return nil, fmt.Errorf("%s: %w", op.ID, err)
			}
			if k > 0 {
				inputs = [][]Row{rows}
			}
			var err error
			rows, err = runOp(op, inputs, tables, out)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op.ID, err)
			}
			schema = op.Output
		}
		done[id] = rows
		return rows, nil
	}
	for _, v := range g.Vertices {
		if _, err := run(v.ID, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkTypes checks what the engine checks when it builds an operator: the
// columns an operator reads as times are TIMESTAMPs, and a Calc's
// expressions agree with its output schema.
func checkTypes(op *jobgraph.OperatorSpec, in types.Schema) error {
	isTime := func(c int) bool { return c >= 0 && c < in.Len() && in.Fields[c].Type.Kind == types.Timestamp }
	switch {
	case op.WindowAgg != nil:
		if !isTime(op.WindowAgg.Window.TimeColumn) {
			return fmt.Errorf("refeval: time column %d of %s is not a TIMESTAMP", op.WindowAgg.Window.TimeColumn, in)
		}
	case op.WindowTopN != nil:
		if !isTime(op.WindowTopN.WindowStart) || !isTime(op.WindowTopN.WindowEnd) {
			return fmt.Errorf("refeval: window columns %d, %d of %s are not TIMESTAMPs", op.WindowTopN.WindowStart, op.WindowTopN.WindowEnd, in)
		}
	case op.Calc != nil:
		if len(op.Calc.Projections) != op.Output.Len() {
			return fmt.Errorf("refeval: %d projections for %d columns", len(op.Calc.Projections), op.Output.Len())
		}
		for i, e := range op.Calc.Projections {
			if !e.Type.SameValues(op.Output.Fields[i].Type) {
				return fmt.Errorf("refeval: projection %d is %s, output column is %s", i, e.Type, op.Output.Fields[i].Type)
			}
			if c, ok := e.Column, e.Kind == expr.KindColumn; ok && (c >= in.Len() || !in.Fields[c].Type.SameValues(e.Type)) {
				return fmt.Errorf("refeval: projection %d reads column %d as %s of %s", i, c, e.Type, in)
			}
		}
	}
	return nil
}

func runOp(op *jobgraph.OperatorSpec, inputs [][]Row, tables map[string][]Row, sinks map[string][]string) ([]Row, error) {
	want := 1
	switch {
	case op.Source != nil:
		want = 0
	case op.WindowJoin != nil, op.Join != nil, op.IntervalJoin != nil, op.TemporalJoin != nil:
		want = 2
	case op.Union != nil:
		want = op.Union.Inputs
	}
	if len(inputs) != want {
		return nil, fmt.Errorf("refeval: %s has %d inputs, want %d", op.Kind(), len(inputs), want)
	}
	var in []Row
	if len(inputs) > 0 {
		in = inputs[0]
	}
	switch {
	case op.Source != nil:
		rows, ok := tables[op.Source.Table]
		if !ok {
			return nil, fmt.Errorf("refeval: no rows for table %s", op.Source.Table)
		}
		if p := op.Source.Projection; p != nil {
			out := make([]Row, len(rows))
			for i, r := range rows {
				out[i] = make(Row, len(p))
				for j, c := range p {
					out[i][j] = r[c]
				}
			}
			return out, nil
		}
		return rows, nil
	case op.Union != nil:
		var out []Row
		for _, rows := range inputs {
			out = append(out, rows...)
		}
		return out, nil
	case op.WatermarkAssigner != nil:
		return in, nil
	case op.WindowAssign != nil:
		w := op.WindowAssign.Window
		if w.ProcTime {
			return nil, fmt.Errorf("refeval: processing-time windows")
		}
		return windowed(in, w, w.PartitionBy)
	case op.WindowJoin != nil:
		return windowJoin(op.WindowJoin, inputs[0], inputs[1], op)
	case op.Join != nil:
		return join(op.Join, inputs[0], inputs[1], op)
	case op.IntervalJoin != nil:
		return intervalJoin(op.IntervalJoin, inputs[0], inputs[1], op)
	case op.Correlate != nil:
		return nil, fmt.Errorf("refeval: table function %s", op.Correlate.Function)
	case op.Calc != nil:
		rows, err := filter(in, op.Calc.Filter)
		if err != nil {
			return nil, err
		}
		return project(rows, op.Calc.Projections)
	case op.WindowAgg != nil:
		return windowAgg(op.WindowAgg, in)
	case op.WindowTopN != nil:
		return windowTopN(op.WindowTopN, in)
	case op.GroupAgg != nil:
		return groupAgg(op.GroupAgg, in)
	case op.Rank != nil:
		return rank(op.Rank, in)
	case op.Dedup != nil:
		return dedup(op.Dedup, in)
	case op.Sink != nil:
		for _, r := range in {
			sinks[op.Sink.Table] = append(sinks[op.Sink.Table], Format(r))
		}
		return nil, nil
	}
	return nil, fmt.Errorf("refeval: operator %s", op.Kind())
}

func windowAgg(s *jobgraph.WindowAggSpec, in []Row) ([]Row, error) {
	if s.Window.ProcTime {
		return nil, fmt.Errorf("refeval: processing-time windows")
	}
	type acc struct {
		win  span
		rows []Row
	}
	wins, err := assignWindows(in, s.Window, s.Window.PartitionBy)
	if err != nil {
		return nil, err
	}
	var order []string
	groups := map[string]*acc{}
	for i, r := range in {
		for _, w := range wins[i] {
			vals := []any{w.start, w.end}
			for _, k := range s.GroupKeys {
				vals = append(vals, r[k])
			}
			key := Key(vals...)
			a := groups[key]
			if a == nil {
				a = &acc{win: w}
				groups[key] = a
				order = append(order, key)
			}
			a.rows = append(a.rows, r)
		}
	}
	var out []Row
	for _, key := range order {
		a := groups[key]
		row := make(Row, 0, len(s.GroupKeys)+2+len(s.Aggs))
		for _, k := range s.GroupKeys {
			row = append(row, a.rows[0][k])
		}
		row = append(row, a.win.start, a.win.end)
		for _, c := range s.Aggs {
			v, err := aggregate(c, a.rows)
			if err != nil {
				return nil, err
			}
			row = append(row, v)
		}
		out = append(out, row)
	}
	return out, nil
}

func windowTopN(s *jobgraph.WindowTopNSpec, in []Row) ([]Row, error) {
	// The engine fires a window when the watermark reaches its end: the
	// columns must really be a window's start and end.
	for _, r := range in {
		ws, ok1 := r[s.WindowStart].(int64)
		we, ok2 := r[s.WindowEnd].(int64)
		if !ok1 || !ok2 || ws >= we {
			return nil, fmt.Errorf("refeval: window columns %d, %d hold %v, %v: not a window's start and end", s.WindowStart, s.WindowEnd, r[s.WindowStart], r[s.WindowEnd])
		}
	}
	part := append([]int{s.WindowStart, s.WindowEnd}, s.PartitionKeys...)
	ranked, err := rowNumbers(in, part, s.OrderBy)
	if err != nil {
		return nil, err
	}
	var out []Row
	for _, r := range ranked {
		rn := r[len(r)-1].(int64)
		if rn > s.N {
			continue
		}
		if !s.EmitRank {
			r = r[:len(r)-1]
		}
		out = append(out, r)
	}
	return out, nil
}

func windowJoin(s *jobgraph.WindowJoinSpec, left, right []Row, op *jobgraph.OperatorSpec) ([]Row, error) {
	if len(s.LeftKeys) != len(s.RightKeys) {
		return nil, fmt.Errorf("refeval: %d left keys, %d right keys", len(s.LeftKeys), len(s.RightKeys))
	}
	nl, nr := 0, 0
	if len(left) > 0 {
		nl = len(left[0])
	}
	if len(right) > 0 {
		nr = len(right[0])
	}
	// Widths come from the output schema when a side is empty.
	switch {
	case s.Type == jobgraph.SemiJoin || s.Type == jobgraph.AntiJoin:
		nl = op.Output.Len()
		if nr == 0 {
			nr = 1
		}
	case nl == 0:
		nl = op.Output.Len() - nr
	case nr == 0:
		nr = op.Output.Len() - nl
	}
	eq := func(a, b any) (bool, error) {
		if a == nil || b == nil {
			return false, nil // SQL equality: NULL never matches
		}
		c, err := Compare(a, b)
		return c == 0, err
	}
	match := func(row Row) (bool, error) {
		pairs := [][2]int{{s.LeftWindowStart, nl + s.RightWindowStart}, {s.LeftWindowEnd, nl + s.RightWindowEnd}}
		for i := range s.LeftKeys {
			pairs = append(pairs, [2]int{s.LeftKeys[i], nl + s.RightKeys[i]})
		}
		for _, p := range pairs {
			ok, err := eq(row[p[0]], row[p[1]])
			if err != nil || !ok {
				return false, err
			}
		}
		if s.Residual == nil {
			return true, nil
		}
		v, err := Eval(s.Residual, row)
		return v == true, err
	}
	// Rows without a window are in no window: they never match, and an
	// outer join keeps them.
	return joinRows(left, right, nl, nr, s.Type, match)
}

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
		var rows []Row
		var schema types.Schema
		if ins := g.Inputs(id); len(ins) > 0 {
			if len(ins) != 1 {
				return nil, fmt.Errorf("refeval: vertex %s has %d inputs", id, len(ins))
			}
			var err error
			if rows, err = run(ins[0].From, depth+1); err != nil {
				return nil, err
			}
			from := g.Vertex(ins[0].From)
			schema = from.Ops[len(from.Ops)-1].Output
		}
		for _, op := range v.Ops {
			if err := checkTypes(op, schema); err != nil {
				return nil, fmt.Errorf("%s: %w", op.ID, err)
			}
			var err error
			rows, err = runOp(op, rows, tables, out)
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

func runOp(op *jobgraph.OperatorSpec, in []Row, tables map[string][]Row, sinks map[string][]string) ([]Row, error) {
	switch {
	case op.Source != nil:
		rows, ok := tables[op.Source.Table]
		if !ok {
			return nil, fmt.Errorf("refeval: no rows for table %s", op.Source.Table)
		}
		return rows, nil
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
	case op.Sink != nil:
		for _, r := range in {
			sinks[op.Sink.Table] = append(sinks[op.Sink.Table], Format(r))
		}
		return nil, nil
	}
	return nil, fmt.Errorf("refeval: operator %s", op.Kind())
}

func windowAgg(s *jobgraph.WindowAggSpec, in []Row) ([]Row, error) {
	if s.Window.Kind != jobgraph.Tumble {
		return nil, fmt.Errorf("refeval: %s windows", s.Window.Kind)
	}
	type acc struct {
		ws   int64
		rows []Row
	}
	var order []string
	groups := map[string]*acc{}
	for _, r := range in {
		ts, ok := r[s.Window.TimeColumn].(int64)
		if !ok {
			continue
		}
		ws := windowStart(ts, s.Window)
		vals := []any{ws}
		for _, k := range s.GroupKeys {
			vals = append(vals, r[k])
		}
		key := Key(vals...)
		a := groups[key]
		if a == nil {
			a = &acc{ws: ws}
			groups[key] = a
			order = append(order, key)
		}
		a.rows = append(a.rows, r)
	}
	var out []Row
	for _, key := range order {
		a := groups[key]
		row := make(Row, 0, len(s.GroupKeys)+2+len(s.Aggs))
		for _, k := range s.GroupKeys {
			row = append(row, a.rows[0][k])
		}
		row = append(row, a.ws, a.ws+s.Window.SizeMs)
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

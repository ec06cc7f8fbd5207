package refeval

import (
	"fmt"

	"github.com/eddy-streaming/eddy/planner/logical"
)

// Logical evaluates every sink of s over tables (rows by table name) and
// returns the formatted rows each sink receives, by sink table.
func Logical(s *logical.Script, tables map[string][]Row) (map[string][]string, error) {
	out := map[string][]string{}
	for _, sink := range s.Sinks {
		rows, err := evalNode(sink.Input, tables)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[sink.Table.Table] = append(out[sink.Table.Table], Format(r))
		}
	}
	return out, nil
}

func evalNode(n logical.Node, tables map[string][]Row) ([]Row, error) {
	switch n := n.(type) {
	case *logical.Scan:
		rows, ok := tables[n.Table.Table]
		if !ok {
			return nil, fmt.Errorf("refeval: no rows for table %s", n.Table.Table)
		}
		return rows, nil
	}
	switch n := n.(type) {
	case *logical.Union:
		var out []Row
		for _, in := range n.InputsNodes {
			rows, err := evalNode(in, tables)
			if err != nil {
				return nil, err
			}
			out = append(out, rows...)
		}
		return out, nil
	case *logical.Join:
		left, err := evalNode(n.Left, tables)
		if err != nil {
			return nil, err
		}
		right, err := evalNode(n.Right, tables)
		if err != nil {
			return nil, err
		}
		match := func(row Row) (bool, error) {
			if n.Cond == nil {
				return true, nil
			}
			v, err := Eval(n.Cond, row)
			return v == true, err
		}
		return joinRows(left, right, n.Left.Schema().Len(), n.Right.Schema().Len(), n.Type, match)
	case *logical.Correlate:
		return nil, fmt.Errorf("refeval: table function %s", n.Function)
	}
	in, err := evalNode(n.Inputs()[0], tables)
	if err != nil {
		return nil, err
	}
	switch n := n.(type) {
	case *logical.WatermarkAssigner:
		return in, nil
	case *logical.Filter:
		return filter(in, n.Cond)
	case *logical.Project:
		return project(in, n.Exprs)
	case *logical.WindowTVF:
		if t := n.Input.Schema().Fields[n.Window.TimeColumn].Type; t.ProcTime || n.Window.ProcTime {
			return nil, fmt.Errorf("refeval: processing-time windows")
		}
		part := n.PartitionBy
		if len(part) == 0 {
			part = n.Window.PartitionBy
		}
		return windowed(in, n.Window, part)
	case *logical.Aggregate:
		keys, groups := group(in, func(r Row) string {
			vals := make([]any, len(n.GroupKeys))
			for i, k := range n.GroupKeys {
				vals[i] = r[k]
			}
			return Key(vals...)
		})
		var out []Row
		for _, k := range keys {
			g := groups[k]
			row := make(Row, 0, len(n.GroupKeys)+len(n.Aggs))
			for _, c := range n.GroupKeys {
				row = append(row, g[0][c])
			}
			for _, a := range n.Aggs {
				v, err := aggregate(a, g)
				if err != nil {
					return nil, err
				}
				row = append(row, v)
			}
			out = append(out, row)
		}
		return out, nil
	case *logical.Over:
		return rankNumbers(in, n.PartitionBy, n.OrderBy, string(n.Func))
	}
	return nil, fmt.Errorf("refeval: logical node %T", n)
}

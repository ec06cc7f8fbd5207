package lcheck

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// maxDepth bounds the depth of a plan, so a cyclic plan is reported rather
// than recursed into forever.
const maxDepth = 10_000

// Script checks every sink tree of s.
func Script(s *logical.Script) error {
	if s == nil {
		return fmt.Errorf("planner: invalid logical plan: no script")
	}
	for i, sink := range s.Sinks {
		if sink == nil {
			return fmt.Errorf("planner: invalid logical plan: sink %d is nil", i)
		}
		if err := Node(sink); err != nil {
			return err
		}
	}
	return nil
}

// Node checks the tree rooted at n.
func Node(n logical.Node) error { return check(n, 0) }

func bad(n logical.Node, format string, args ...any) error {
	p := n.Position()
	return fmt.Errorf("planner: invalid logical plan: %T at %d:%d: %s", n, p.Line, p.Col, fmt.Sprintf(format, args...))
}

func check(n logical.Node, depth int) error {
	if n == nil {
		return fmt.Errorf("planner: invalid logical plan: nil node")
	}
	if depth > maxDepth {
		return bad(n, "plan is deeper than %d nodes (a cycle?)", maxDepth)
	}
	for i, in := range n.Inputs() {
		if in == nil || isNilNode(in) {
			return bad(n, "input %d is nil", i)
		}
		if err := check(in, depth+1); err != nil {
			return err
		}
	}
	switch n := n.(type) {
	case *logical.Scan:
		if n.Table.Table == "" {
			return bad(n, "scan has no table name")
		}
		if w := n.Watermark; w != nil {
			if w.Column < 0 || w.Column >= n.Table.Schema.Len() {
				return bad(n, "watermark column %d is outside the table's %d columns", w.Column, n.Table.Schema.Len())
			}
			if n.Table.Schema.Fields[w.Column].Type.Kind != types.Timestamp {
				return bad(n, "watermark column %s is not a TIMESTAMP", n.Table.Schema.Fields[w.Column].Name)
			}
			if w.DelayMs < 0 {
				return bad(n, "negative watermark delay %d ms", w.DelayMs)
			}
		}
	case *logical.Filter:
		if n.Cond == nil {
			return bad(n, "filter has no condition")
		}
		if n.Cond.Type.Kind != types.Boolean && n.Cond.Type.Kind != types.Null {
			return bad(n, "filter condition is %s, not BOOLEAN", n.Cond.Type)
		}
		return exprs(n, n.Input.Schema().Len(), n.Cond)
	case *logical.Project:
		if len(n.Exprs) != len(n.Names) {
			return bad(n, "%d expressions but %d names", len(n.Exprs), len(n.Names))
		}
		return exprs(n, n.Input.Schema().Len(), n.Exprs...)
	case *logical.WindowTVF:
		in := n.Input.Schema().Len()
		if c := n.Window.TimeColumn; c < 0 || c >= in {
			return bad(n, "time column %d is outside the input's %d columns", c, in)
		}
		return indices(n, "partition", in, n.PartitionBy)
	case *logical.Aggregate:
		return aggregate(n)
	case *logical.Over:
		in := n.Input.Schema().Len()
		if err := indices(n, "partition", in, n.PartitionBy); err != nil {
			return err
		}
		for _, k := range n.OrderBy {
			if k.Column < 0 || k.Column >= in {
				return bad(n, "order key %d is outside the input's %d columns", k.Column, in)
			}
		}
	case *logical.Sink:
		if n.Table.Table == "" {
			return bad(n, "sink has no table name")
		}
	case *logical.Union:
		return union(n)
	case *logical.Join:
		return join(n)
	case *logical.Correlate:
		if n.Function == "" {
			return bad(n, "correlate has no function")
		}
		return exprs(n, n.Input.Schema().Len(), n.Args...)
	case *logical.WatermarkAssigner:
		in := n.Input.Schema()
		if n.Column < 0 || n.Column >= in.Len() {
			return bad(n, "watermark column %d is outside the input's %d columns", n.Column, in.Len())
		}
		if in.Fields[n.Column].Type.Kind != types.Timestamp {
			return bad(n, "watermark column %s is %s, not a TIMESTAMP", in.Fields[n.Column].Name, in.Fields[n.Column].Type)
		}
		if n.DelayMs < 0 {
			return bad(n, "negative watermark delay %d ms", n.DelayMs)
		}
	default:
		return bad(n, "unknown logical node")
	}
	return nil
}

func isNilNode(n logical.Node) bool {
	switch n := n.(type) {
	case *logical.Scan:
		return n == nil
	case *logical.Filter:
		return n == nil
	case *logical.Project:
		return n == nil
	case *logical.WindowTVF:
		return n == nil
	case *logical.Aggregate:
		return n == nil
	case *logical.Over:
		return n == nil
	case *logical.Sink:
		return n == nil
	case *logical.Union:
		return n == nil
	case *logical.Join:
		return n == nil
	case *logical.Correlate:
		return n == nil
	case *logical.WatermarkAssigner:
		return n == nil
	}
	return false
}

func aggregate(n *logical.Aggregate) error {
	in := n.Input.Schema()
	width := in.Len()
	if err := indices(n, "group key", width, n.GroupKeys); err != nil {
		return err
	}
	for _, a := range n.Aggs {
		if a.Filter != nil {
			f := *a.Filter
			if f < 0 || f >= width {
				return bad(n, "aggregate %s filters on column %d of %d", a.Name, f, width)
			}
			if t := in.Fields[f].Type.Kind; t != types.Boolean {
				return bad(n, "aggregate %s filters on column %s of type %s, not BOOLEAN", a.Name, in.Fields[f].Name, in.Fields[f].Type)
			}
		}
		if err := indices(n, "aggregate argument", width, a.Args); err != nil {
			return err
		}
		switch a.Func {
		case jobgraph.CountStar:
			continue
		case jobgraph.UDAF:
			if a.UDF == "" {
				return bad(n, "user-defined aggregate %s names no function", a.Name)
			}
			if len(a.Args) == 0 && a.Arg < 0 {
				continue // a UDAF without arguments
			}
		}
		if a.Arg < 0 || a.Arg >= width {
			return bad(n, "aggregate %s reads column %d of %d", a.Name, a.Arg, width)
		}
		if len(a.Args) > 0 && a.Args[0] != a.Arg {
			return bad(n, "aggregate %s: Arg %d is not Args[0] %d", a.Name, a.Arg, a.Args[0])
		}
	}
	return nil
}

func union(n *logical.Union) error {
	if len(n.InputsNodes) == 0 {
		return bad(n, "union has no inputs")
	}
	first := n.InputsNodes[0].Schema()
	for i, in := range n.InputsNodes[1:] {
		s := in.Schema()
		if s.Len() != first.Len() {
			return bad(n, "union input %d has %d columns, input 0 has %d", i+1, s.Len(), first.Len())
		}
		for j, f := range s.Fields {
			if !f.Type.SameValues(first.Fields[j].Type) {
				return bad(n, "union input %d column %d (%s) is %s, input 0's is %s", i+1, j, f.Name, f.Type, first.Fields[j].Type)
			}
		}
	}
	return nil
}

func join(n *logical.Join) error {
	switch n.Type {
	case jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin:
	default:
		return bad(n, "unknown join type %q", n.Type)
	}
	if n.Cond == nil {
		return nil
	}
	if n.Cond.Type.Kind != types.Boolean && n.Cond.Type.Kind != types.Null {
		return bad(n, "join condition is %s, not BOOLEAN", n.Cond.Type)
	}
	return exprs(n, n.Left.Schema().Len()+n.Right.Schema().Len(), n.Cond)
}

func indices(n logical.Node, what string, width int, idx []int) error {
	for _, k := range idx {
		if k < 0 || k >= width {
			return bad(n, "%s %d is outside the input's %d columns", what, k, width)
		}
	}
	return nil
}

func exprs(n logical.Node, width int, es ...*expr.Expr) error {
	for _, e := range es {
		if e == nil {
			return bad(n, "nil expression")
		}
		var err error
		exprutil.Walk(e, func(x *expr.Expr) bool {
			if err != nil {
				return false
			}
			switch x.Kind {
			case expr.KindColumn:
				if x.Column < 0 || x.Column >= width {
					err = bad(n, "expression reads column %d of %d", x.Column, width)
				}
			case expr.KindLiteral:
				if x.Literal == nil {
					err = bad(n, "literal without a value")
				}
			case expr.KindCall:
				if x.Func == "" {
					err = bad(n, "call without a function")
				}
				for _, a := range x.Args {
					if a == nil {
						err = bad(n, "call %s has a nil argument", x.Func)
					}
				}
			default:
				err = bad(n, "expression of unknown kind %q", x.Kind)
			}
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

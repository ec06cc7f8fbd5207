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
		in := n.Input.Schema().Len()
		if err := indices(n, "group key", in, n.GroupKeys); err != nil {
			return err
		}
		for _, a := range n.Aggs {
			if a.Func == jobgraph.CountStar {
				continue
			}
			if a.Arg < 0 || a.Arg >= in {
				return bad(n, "aggregate %s reads column %d of %d", a.Name, a.Arg, in)
			}
		}
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
	}
	return false
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

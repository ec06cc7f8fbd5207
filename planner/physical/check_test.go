package physical

import (
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestCheckCatchesBadColumnReferences: the final check of a plan reports
// what would make the engine read the wrong column, or none at all.
func TestCheckCatchesBadColumnReferences(t *testing.T) {
	bi, st := types.BigIntType, types.StringType
	schema := func(ts ...types.Type) types.Schema {
		var s types.Schema
		for i, t := range ts {
			s.Fields = append(s.Fields, types.Field{Name: string(rune('a' + i)), Type: t})
		}
		return s
	}
	src := &Node{Op: &jobgraph.OperatorSpec{ID: "source-1", Output: schema(bi, st),
		Source: &jobgraph.SourceSpec{TableRef: jobgraph.TableRef{Table: "t", Schema: schema(bi, st)}}}}
	calc := func(e *expr.Expr) *Node {
		return &Node{Op: &jobgraph.OperatorSpec{ID: "calc-1", Output: schema(e.Type), Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{e}}},
			Inputs: []*Input{{From: src, Exchange: jobgraph.Forward}}}
	}
	for _, c := range []struct {
		n    *Node
		want string
	}{
		{calc(expr.Col(1, st)), ""},
		{calc(expr.Col(2, st)), "reads column 2 of 2"},
		{calc(expr.Col(pruned, st)), "reads column -100 of 2"},
		{calc(expr.Col(1, bi)), "as BIGINT"},
		{&Node{Op: &jobgraph.OperatorSpec{ID: "window_agg-1", Output: schema(bi, bi),
			WindowAgg: &jobgraph.WindowAggSpec{Window: jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: 5, SizeMs: 1}}},
			Inputs: []*Input{{From: src, Exchange: jobgraph.Hash, Keys: []int{0}}}}, "window reads column 5"},
		{&Node{Op: &jobgraph.OperatorSpec{ID: "union-1", Output: schema(bi, st), Union: &jobgraph.UnionSpec{Inputs: 2}},
			Inputs: []*Input{{From: src, Exchange: jobgraph.Forward}}}, "1 inputs, want 2"},
		{&Node{Op: &jobgraph.OperatorSpec{ID: "calc-2", Output: schema(bi), Calc: &jobgraph.CalcSpec{Projections: []*expr.Expr{expr.Col(0, bi)}}},
			Inputs: []*Input{{From: src, Exchange: jobgraph.Hash, Keys: []int{3}}}}, "hash key column 3"},
	} {
		err := check(&Plan{Nodes: []*Node{src, c.n}})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: unexpected %v", c.n.Op.ID, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "internal error")):
			t.Errorf("%s: error %v, want %q", c.n.Op.ID, err, c.want)
		}
	}
}

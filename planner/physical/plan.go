package physical

import (
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// Node is one stream operator of the physical plan.
type Node struct {
	// Op is the operator: exactly one spec set, Output its schema. Its ID
	// and Name are set when the plan is complete.
	Op *jobgraph.OperatorSpec
	// Inputs are the operator's inputs, in order.
	Inputs []*Input
	// Parallelism is the number of subtasks the operator runs in.
	Parallelism int
	// Dist is how the operator's output rows are spread over its subtasks.
	Dist Distribution
	// Cols says, per output column, whether it is a window column.
	Cols []ColInfo
	// Pos is the position of the SQL the operator comes from.
	Pos logical.Pos
	// name, when set, is the operator's display name (Op.Name) instead of
	// the one its kind gives it.
	name string
	// window is the window whose columns n's Cols mark, when it is not
	// n's own window aggregate's: the window TVF a window Top-N ranked the
	// rows of, the windows a window_assign, window join or union carries,
	// or those a window aggregate regrouped.
	window *jobgraph.WindowSpec
}

// windows returns the windows whose columns n's Cols mark, when n is the
// Window of a ColInfo. TimeColumn and PartitionBy are not meaningful.
func (n *Node) windows() (jobgraph.WindowSpec, bool) {
	switch {
	case n.window != nil:
		return *n.window, true
	case n.Op.WindowAgg != nil:
		return n.Op.WindowAgg.Window, true
	}
	return jobgraph.WindowSpec{}, false
}

// Input is one input of a Node: the producing node and the exchange between
// them.
type Input struct {
	From     *Node
	Exchange jobgraph.ExchangeKind
	// Keys are the columns of From's output a Hash exchange partitions on.
	Keys []int
}

// DistKind is the kind of a Distribution.
type DistKind uint8

// The distribution kinds.
const (
	// DistAny means rows are spread in no known way.
	DistAny DistKind = iota
	// DistHash means rows with equal Keys are in the same subtask, the one
	// owning their key group.
	DistHash
	// DistSingle means every row is in subtask 0 of a parallelism-1 operator.
	DistSingle
)

// Distribution is how rows are spread over an operator's subtasks.
type Distribution struct {
	Kind DistKind
	// Keys are the output columns of a DistHash distribution, in the order
	// they were hashed.
	Keys []int
}

// Role tells whether a column is a window column.
type Role uint8

// The column roles.
const (
	RoleNone Role = iota
	// RoleStart marks window_start.
	RoleStart
	// RoleEnd marks window_end.
	RoleEnd
)

// ColInfo is what the planner knows about one output column.
type ColInfo struct {
	Role Role
	// Window is the operator that first produced the column, for window
	// columns: a window aggregate, or the window Top-N that ranked a window
	// TVF's rows. The window_start and window_end of one Window belong
	// together.
	Window *Node
}

// Plan is a physical plan: the operator DAG of a whole script.
type Plan struct {
	// Sinks are the sink operators, one per INSERT, in script order.
	Sinks []*Node
	// Nodes are all operators in a stable topological order (inputs first,
	// sinks in script order); Op.ID is numbered in this order.
	Nodes []*Node
	// Parallelism is the job parallelism.
	Parallelism int
}

// Consumers returns how many inputs read each node's output.
func (p *Plan) Consumers() map[*Node]int {
	c := make(map[*Node]int, len(p.Nodes))
	for _, n := range p.Nodes {
		for _, in := range n.Inputs {
			c[in.From]++
		}
	}
	return c
}

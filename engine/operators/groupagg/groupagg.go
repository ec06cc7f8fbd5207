package groupagg

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.GroupAgg == nil {
		return nil, fmt.Errorf("groupagg: spec has no group_agg part")
	}
	return nil, fmt.Errorf("groupagg %s: cannot run yet", spec.ID)
}

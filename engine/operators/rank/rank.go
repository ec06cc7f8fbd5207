package rank

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Rank == nil {
		return nil, fmt.Errorf("rank: spec has no rank part")
	}
	return nil, fmt.Errorf("rank %s: cannot run yet", spec.ID)
}

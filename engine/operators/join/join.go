package join

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Join == nil {
		return nil, fmt.Errorf("join: spec has no join part")
	}
	return nil, fmt.Errorf("join %s: cannot run yet", spec.ID)
}

package temporaljoin

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.TemporalJoin == nil {
		return nil, fmt.Errorf("temporaljoin: spec has no temporal_join part")
	}
	return nil, fmt.Errorf("temporaljoin %s: cannot run yet", spec.ID)
}

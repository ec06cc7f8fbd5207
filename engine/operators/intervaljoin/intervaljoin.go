package intervaljoin

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.IntervalJoin == nil {
		return nil, fmt.Errorf("intervaljoin: spec has no interval_join part")
	}
	return nil, fmt.Errorf("intervaljoin %s: cannot run yet", spec.ID)
}

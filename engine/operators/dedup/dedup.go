package dedup

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Dedup == nil {
		return nil, fmt.Errorf("dedup: spec has no dedup part")
	}
	return nil, fmt.Errorf("dedup %s: cannot run yet", spec.ID)
}

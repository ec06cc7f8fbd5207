package sessionagg

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	return nil, fmt.Errorf("window_agg %s (SESSION): this operator is being built and cannot run yet", spec.ID)
}

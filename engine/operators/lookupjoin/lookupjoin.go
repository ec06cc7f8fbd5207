package lookupjoin

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.LookupJoin == nil {
		return nil, fmt.Errorf("lookupjoin: spec has no lookup_join part")
	}
	return nil, fmt.Errorf("lookupjoin %s: cannot run yet", spec.ID)
}

package operators

import (
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/calc"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
)

// Factories returns the built-in operator constructors, keyed by
// jobgraph.OperatorSpec.Kind.
func Factories() map[string]operator.Factory {
	return map[string]operator.Factory{
		"calc":        calc.New,
		"window_agg":  windowagg.New,
		"window_topn": windowtopn.New,
	}
}

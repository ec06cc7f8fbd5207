package operators

import (
	"github.com/eddy-streaming/eddy/engine/operators/calc"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
	"github.com/eddy-streaming/eddy/engine/runtime"
)

// Factories returns the built-in operator constructors, keyed by
// jobgraph.OperatorSpec.Kind.
func Factories() map[string]runtime.OperatorFactory {
	return map[string]runtime.OperatorFactory{
		"calc":        calc.New,
		"window_agg":  windowagg.New,
		"window_topn": windowtopn.New,
	}
}

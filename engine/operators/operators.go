package operators

import (
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/calc"
	"github.com/eddy-streaming/eddy/engine/operators/correlate"
	"github.com/eddy-streaming/eddy/engine/operators/dedup"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/operators/intervaljoin"
	"github.com/eddy-streaming/eddy/engine/operators/join"
	"github.com/eddy-streaming/eddy/engine/operators/lookupjoin"
	"github.com/eddy-streaming/eddy/engine/operators/rank"
	"github.com/eddy-streaming/eddy/engine/operators/sessionagg"
	"github.com/eddy-streaming/eddy/engine/operators/temporaljoin"
	"github.com/eddy-streaming/eddy/engine/operators/union"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/operators/windowassign"
	"github.com/eddy-streaming/eddy/engine/operators/windowjoin"
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
)

// Factories returns the built-in operator constructors, keyed by
// jobgraph.OperatorSpec.Kind. Sources, sinks and watermark assigners are
// driven by the runtime itself.
func Factories() map[string]operator.Factory {
	return map[string]operator.Factory{
		"calc":          calc.New,
		"window_agg":    newWindowAgg,
		"window_topn":   windowtopn.New,
		"window_assign": windowassign.New,
		"window_join":   windowjoin.New,
		"union":         union.New,
		"correlate":     correlate.New,
		"group_agg":     groupagg.New,
		"rank":          rank.New,
		"dedup":         dedup.New,
		"join":          join.New,
		"interval_join": intervaljoin.New,
		"lookup_join":   lookupjoin.New,
		"temporal_join": temporaljoin.New,
	}
}

// newWindowAgg builds a window aggregate: session windows, which merge,
// have an operator of their own.
func newWindowAgg(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if w := spec.WindowAgg; w != nil && w.Window.Kind == jobgraph.Session {
		return sessionagg.New(spec)
	}
	return windowagg.New(spec)
}

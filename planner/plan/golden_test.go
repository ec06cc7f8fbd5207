package plan_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/internal/plantest"
	"github.com/eddy-streaming/eddy/planner/plan"
)

// TestHandBuilt plans the hand-built logical plans of plantest.Cases and
// checks the results against ../testdata/hand (rewrite with -rewrite).
//
// Commands, each with case=NAME and an optional parallelism=N:
//
//	explain [verbose]  Plan.Explain (ExplainVerbose)
//	jobgraph           the serialized graph, with raw column indices
//	optimize           the rewrite rules that fired and the optimized plan
//	error              the planning error
func TestHandBuilt(t *testing.T) {
	datadriven.Walk(t, "../testdata/hand", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var name string
			d.ScanArgs(t, "case", &name)
			mk, ok := plantest.Cases[name]
			if !ok {
				d.Fatalf(t, "unknown case %q (have %s)", name, strings.Join(plantest.Names(), ", "))
			}
			opts := plan.Options{JobName: name, Registry: plantest.Registry()}
			d.MaybeScanArgs(t, "parallelism", &opts.Parallelism)
			p, err := plan.Build(context.Background(), name+".sql", mk(plantest.New()), opts)
			switch d.Cmd {
			case "error":
				if err == nil {
					return "no error\n"
				}
				return err.Error() + "\n"
			case "explain", "jobgraph", "optimize":
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			switch d.Cmd {
			case "explain":
				if d.HasArg("verbose") {
					return p.ExplainVerbose()
				}
				return p.Explain()
			case "jobgraph":
				return explain.Summary(p.Graph)
			default:
				return fmt.Sprintf("rules: %s\n%s", strings.Join(p.Rules, ", "), explain.Logical(p.Optimized, explain.Options{}))
			}
		})
	})
}

package planner_test

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/planner/internal/plantest"
	"github.com/eddy-streaming/eddy/planner/internal/refeval"
)

// TestSQLPlansComputeTheirLogicalMeaning compiles every script of the
// explain and jobgraph blocks in testdata/sql and checks, on random gifts,
// that the job graph computes what the analyzer's logical plan means
// (evaluated a row at a time). The golden outputs themselves are checked
// by TestSQL; this test passes them through.
func TestSQLPlansComputeTheirLogicalMeaning(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, file := range []string{"testdata/sql/flagship", "testdata/sql/shapes", "testdata/sql/tvf", "testdata/sql/kinds", "testdata/sql/updating"} {
		datadriven.RunTest(t, file, func(t *testing.T, d *datadriven.TestData) string {
			if (d.Cmd != "explain" && d.Cmd != "jobgraph") || d.HasArg("noeval") {
				return d.Expected
			}
			parallelism := 1
			d.MaybeScanArgs(t, "parallelism", &parallelism)
			p, err := compile(t, d.Input, parallelism)
			if err != nil {
				t.Fatalf("%s: %v", d.Pos, err)
			}
			nonEmpty := 0
			for trial := 0; trial < 5; trial++ {
				raw := plantest.GiftRows(r, 1+r.IntN(500))
				rows := make([]refeval.Row, len(raw))
				for i, x := range raw {
					rows[i] = x
				}
				tables := map[string][]refeval.Row{"gifts": rows}
				want, err := refeval.Logical(p.Logical, tables)
				if err != nil {
					t.Fatalf("%s: reference: %v", d.Pos, err)
				}
				got, err := refeval.Graph(p.Graph, tables)
				if err != nil {
					t.Fatalf("%s: graph: %v", d.Pos, err)
				}
				if len(want) > 0 {
					nonEmpty++
				}
				for table, w := range want {
					g := got[table]
					sort.Strings(g)
					sort.Strings(w)
					if len(g) != len(w) {
						t.Fatalf("%s: sink %s: %d rows, want %d\n%s", d.Pos, table, len(g), len(w), p.ExplainVerbose())
					}
					for i := range g {
						if g[i] != w[i] {
							t.Fatalf("%s: sink %s: row %q, want %q\n%s", d.Pos, table, g[i], w[i], p.ExplainVerbose())
						}
					}
				}
			}
			if nonEmpty == 0 {
				t.Fatalf("%s: no sink received rows in any trial: the test data is too thin", d.Pos)
			}
			return d.Expected
		})
	}
}

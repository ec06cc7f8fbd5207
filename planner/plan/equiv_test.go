package plan_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/internal/plantest"
	"github.com/eddy-streaming/eddy/planner/internal/refeval"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/planner/plan"
)

func giftTables(r *rand.Rand) map[string][]refeval.Row {
	raw := plantest.GiftRows(r, 1+r.IntN(400))
	rows := make([]refeval.Row, len(raw))
	for i, x := range raw {
		rows[i] = x
	}
	raw = plantest.EventRows(r, 1+r.IntN(400))
	events := make([]refeval.Row, len(raw))
	for i, x := range raw {
		events[i] = x
	}
	return map[string][]refeval.Row{"gifts": rows, "bids": events}
}

// checkEquivalent plans s and checks that the job graph computes what the
// logical plan means, on random data.
func checkEquivalent(t *testing.T, name string, s *logical.Script, r *rand.Rand, parallelism int, requireRows bool) {
	t.Helper()
	p, err := plan.Build(context.Background(), name+".sql", s, plan.Options{Parallelism: parallelism, Registry: plantest.Registry()})
	if err != nil {
		t.Fatalf("%s: plan: %v\n%s", name, err, explain.Logical(s, explain.Options{Types: true}))
	}
	rows := 0
	for trial := 0; trial < 3; trial++ {
		tables := giftTables(r)
		want, err := refeval.Logical(s, tables)
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		for _, w := range want {
			rows += len(w)
		}
		got, err := refeval.Graph(p.Graph, tables)
		if err != nil {
			t.Fatalf("%s: graph: %v\n%s", name, err, p.ExplainVerbose())
		}
		for _, sink := range s.Sinks {
			table := sink.Table.Table
			if d := diff(got[table], want[table]); d != "" {
				t.Fatalf("%s (parallelism %d): sink %s differs from the logical plan's meaning:\n%s\n%s", name, parallelism, table, d, p.ExplainVerbose())
			}
		}
	}
	if rows == 0 && requireRows {
		t.Fatalf("%s: no sink received rows in any trial: the test data is too thin to check it", name)
	}
}

// diff compares two multisets of rows.
func diff(got, want []string) string {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var extra, missing []string
	for r, n := range count {
		for ; n < 0; n++ {
			extra = append(extra, r)
		}
		for ; n > 0; n-- {
			missing = append(missing, r)
		}
	}
	if len(extra)+len(missing) == 0 {
		return ""
	}
	sort.Strings(extra)
	sort.Strings(missing)
	cut := func(xs []string) string {
		if len(xs) > 5 {
			return strings.Join(xs[:5], "\n  ") + fmt.Sprintf("\n  ... %d more", len(xs)-5)
		}
		return strings.Join(xs, "\n  ")
	}
	return fmt.Sprintf("%d rows, want %d\nunexpected:\n  %s\nmissing:\n  %s", len(got), len(want), cut(extra), cut(missing))
}

// TestHandBuiltCasesComputeTheirLogicalMeaning checks every plannable
// hand-built case against a row-at-a-time evaluation of its logical plan.
func TestHandBuiltCasesComputeTheirLogicalMeaning(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range plantest.Names() {
		if !plantest.Evaluable(name) {
			continue
		}
		for _, p := range []int{1, 4} {
			checkEquivalent(t, name, plantest.Cases[name](plantest.New()), r, p, true)
		}
	}
}

// TestRandomPlansComputeTheirLogicalMeaning plans random windowed queries
// (filters, projections, computed columns, window aggregates, HAVING, window
// Top-N with every form of bound, final projections) and checks each job
// graph against the logical plan's meaning on random data. Column pruning,
// Calc merging and index remapping all have to be right for this to pass.
func TestRandomPlansComputeTheirLogicalMeaning(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	n := 400
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		s := plantest.Random(r, plantest.New())
		checkEquivalent(t, fmt.Sprintf("random%d", i), s, r, 1+r.IntN(4), false)
	}
}

package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// TestTwoInputs joins two sources of different parallelism into one vertex
// on inputs 0 and 1 and checks every row arrives once, on its own input.
func TestTwoInputs(t *testing.T) {
	for seed := uint64(0); seed < 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 9))
			pa, pb, pc := 1+r.IntN(3), 1+r.IntN(3), 1+r.IntN(3)
			a := genRows(r, 500+r.IntN(500), 30, 5, 5)
			b := genRows(r, 500+r.IntN(500), 30, 5, 5)
			for i := range b {
				b[i].id += 1_000_000
			}
			f := newFakes(t)
			f.addDataset("a", &dataset{shares: split(a, pa), maxBatch: 1 + r.IntN(200)})
			f.addDataset("b", &dataset{shares: split(b, pb), maxBatch: 1 + r.IntN(200)})
			kinds := []jobgraph.ExchangeKind{jobgraph.Hash, jobgraph.Rebalance}
			g := &jobgraph.Graph{Name: "union", Vertices: []*jobgraph.Vertex{
				{ID: "a", Parallelism: pa, Ops: []*jobgraph.OperatorSpec{sourceOp("sa", "a", &jobgraph.WatermarkSpec{Column: 2, DelayMs: 5})}},
				{ID: "b", Parallelism: pb, Ops: []*jobgraph.OperatorSpec{sourceOp("sb", "b", nil)}},
				{ID: "c", Parallelism: pc, Ops: []*jobgraph.OperatorSpec{calcOp("in", "inputs", rowSchema), sinkOpSpec("sink", "out", rowSchema)}},
			}, Edges: []*jobgraph.Edge{
				// Listed out of input order on purpose.
				{From: "b", To: "c", Input: 1, Exchange: kinds[r.IntN(2)], Keys: []int{0}},
				{From: "a", To: "c", Input: 0, Exchange: kinds[r.IntN(2)], Keys: []int{1}},
			}}
			res, err := Run(context.Background(), g, f.options(mem))
			if err != nil {
				t.Fatal(err)
			}
			check := func(rows []row, input int) {
				for _, rw := range rows {
					if got := f.routing.seen[rw.id]; len(got) != 1 || got[0] != input {
						t.Fatalf("row %d arrived on inputs %v, want [%d]", rw.id, got, input)
					}
				}
			}
			check(a, 0)
			check(b, 1)
			if len(f.routing.seen) != len(a)+len(b) || res.RecordsOut != int64(len(a)+len(b)) {
				t.Fatalf("saw %d rows, wrote %d, want %d", len(f.routing.seen), res.RecordsOut, len(a)+len(b))
			}
		})
	}
}

func TestCounter(t *testing.T) {
	reg := prometheus.NewRegistry()
	ms := newMetricSet(reg, "j", quietLogger())
	om := ms.forOperator("v", "o", 3)
	c := om.Counter("rows_seen", "Rows seen.")
	c.Add(2)
	c.Add(-5) // ignored: prometheus would panic
	c.Add(0.5)
	if got := om.value("rows_seen"); got != 2 {
		t.Fatalf("value %d, want 2 (int of 2.5)", got)
	}
	bad := om.Counter("Not-Snake", "")
	bad.Add(7)
	if got := om.value("Not-Snake"); got != 7 {
		t.Fatalf("unexported counter value %d, want 7", got)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		if f.GetName() == "eddy_rows_seen_total" {
			found = f.GetMetric()[0].GetCounter().GetValue() == 2.5
		}
		if f.GetName() == "eddy_Not-Snake_total" {
			t.Fatal("invalid metric name exported")
		}
	}
	if !found {
		t.Fatal("eddy_rows_seen_total not exported with value 2.5")
	}
	// A second job on the same registerer reuses the family.
	ms2 := newMetricSet(reg, "j2", quietLogger())
	ms2.forOperator("v", "o", 0).Counter("rows_seen", "Rows seen.").Add(1)
	fams, err = reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for _, f := range fams {
		if f.GetName() == "eddy_rows_seen_total" {
			jobs = len(f.GetMetric())
		}
	}
	if jobs != 2 {
		t.Fatalf("eddy_rows_seen_total has %d series, want one per job", jobs)
	}
}

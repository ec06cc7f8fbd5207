package checkpoint

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/state/keygroup"
)

// TestRescaleHelpers checks HandlesFor and Watermark against a key group at
// a time reference (which old subtask owned each key group of a new
// subtask), at 2->4, 4->1 and random rescales; Positions and Committables
// keep every old subtask's non-empty entry in order.
func TestRescaleHelpers(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	type rescale struct{ maxP, oldP, newP int }
	cases := []rescale{{128, 2, 4}, {128, 4, 1}, {128, 4, 4}, {7, 3, 2}, {1, 1, 1}}
	for range 40 {
		maxP := 1 + rng.Intn(200)
		cases = append(cases, rescale{maxP, 1 + rng.Intn(maxP), 1 + rng.Intn(maxP)})
	}
	for _, c := range cases {
		op := &OperatorState{Parallelism: c.oldP}
		var wantPos, wantCom [][]byte
		for i := range c.oldP {
			st := &SubtaskState{Subtask: i, KeyGroups: keygroup.RangeOf(i, c.maxP, c.oldP), Watermark: rng.Int63n(1000) - 500}
			if rng.Intn(5) > 0 {
				st.Backend = &BackendHandle{Kind: "test", Meta: map[string]string{"old": fmt.Sprint(i)}}
			}
			if rng.Intn(3) > 0 {
				st.Position = []byte(fmt.Sprintf("pos%d", i))
				wantPos = append(wantPos, st.Position)
			}
			for k := range rng.Intn(3) {
				st.Pending = append(st.Pending, []byte(fmt.Sprintf("pending%d.%d", i, k)))
				wantCom = append(wantCom, st.Pending[k])
			}
			if rng.Intn(3) > 0 {
				st.Committable = []byte(fmt.Sprintf("com%d", i))
				wantCom = append(wantCom, st.Committable)
			}
			op.Subtasks = append(op.Subtasks, st)
		}
		m := &Metadata{Format: FormatVersion, ID: 1, MaxParallelism: c.maxP, Operators: map[string]*OperatorState{"op": op}}
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		covered := 0
		for j := range c.newP {
			kgs := keygroup.RangeOf(j, c.maxP, c.newP)
			covered += kgs.Len()
			var want []*BackendHandle
			wantWM := int64(math.MaxInt64)
			for kg := kgs.Start; kg < kgs.End; kg++ {
				old := op.Subtasks[keygroup.Subtask(kg, c.maxP, c.oldP)]
				wantWM = min(wantWM, old.Watermark)
				if old.Backend != nil && !slices.Contains(want, old.Backend) {
					want = append(want, old.Backend)
				}
			}
			if kgs.Len() == 0 {
				for _, old := range op.Subtasks {
					wantWM = min(wantWM, old.Watermark)
				}
			}
			got := m.HandlesFor("op", kgs)
			if !slices.Equal(got, want) {
				t.Fatalf("%+v new subtask %d %s: HandlesFor = %v, want %v", c, j, kgs, metas(got), metas(want))
			}
			if wm := m.Watermark("op", kgs); wm != wantWM {
				t.Fatalf("%+v new subtask %d %s: Watermark = %d, want %d", c, j, kgs, wm, wantWM)
			}
		}
		if covered != c.maxP {
			t.Fatalf("%+v: new ranges cover %d key groups", c, covered)
		}
		if got := m.Positions("op"); !slices.EqualFunc(got, wantPos, slices.Equal) {
			t.Fatalf("Positions = %q, want %q", got, wantPos)
		}
		if got := m.Committables("op"); !slices.EqualFunc(got, wantCom, slices.Equal) {
			t.Fatalf("Committables = %q, want %q", got, wantCom)
		}
		if m.HandlesFor("other", keygroup.Range{Start: 0, End: c.maxP}) != nil || m.Positions("other") != nil ||
			m.Watermark("other", keygroup.Range{Start: 0, End: 1}) != NoWatermark {
			t.Fatal("an operator without state has some")
		}
	}
}

func metas(hs []*BackendHandle) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Meta["old"])
	}
	return out
}

func TestFits(t *testing.T) {
	keyed := func() *OperatorState {
		return &OperatorState{Parallelism: 1, Subtasks: []*SubtaskState{{Backend: &BackendHandle{Kind: "pebble"}}}}
	}
	m := &Metadata{Format: FormatVersion, ID: 9, MaxParallelism: 128, Operators: map[string]*OperatorState{
		"src": {}, "agg-1": keyed(), "topn-2": keyed(), "sink": {},
		// A calc saves only its watermark: a plan may lack it (at another
		// parallelism the planner may not insert it) without losing state.
		"calc-3": {Parallelism: 1, Subtasks: []*SubtaskState{{Watermark: 42}}},
	}}
	plan := map[string]bool{"src": true, "agg-1": true, "sink": true, "new-op": true}
	if err := m.Fits(plan, true); err != nil {
		t.Fatal(err)
	}
	plan["topn-2"] = true
	if err := m.Fits(plan, false); err != nil {
		t.Fatal(err)
	}
	delete(plan, "topn-2")
	delete(plan, "agg-1")
	err := m.Fits(plan, false)
	if err == nil || !strings.Contains(err.Error(), `"agg-1", "topn-2"`) || !strings.Contains(err.Error(), "--allow-non-restored-state") {
		t.Fatalf("Fits = %v", err)
	}
	t.Log(err)
	if got := m.Unmatched(plan); !slices.Equal(got, []string{"agg-1", "topn-2"}) {
		t.Fatalf("Unmatched = %v", got)
	}
	if err := m.CheckMaxParallelism(128); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckMaxParallelism(64); err == nil || !strings.Contains(err.Error(), "max parallelism 128") {
		t.Fatalf("CheckMaxParallelism(64) = %v", err)
	}
}

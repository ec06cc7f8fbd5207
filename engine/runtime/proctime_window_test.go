package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestProcTimeWindowInJob runs the window aggregate over processing time
// in a job whose source serves rows and then has nothing: with the clock
// moved past the window's end, the window must reach the sink while the
// source is still waiting, counted per key; rows served after that go to
// the window of the clock then, emitted at the end of input.
func TestProcTimeWindowInJob(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(4, 4))
	first, later := genRows(r, 400, 7, 1, 0), genRows(r, 100, 7, 1, 0)
	f := newFakes(t)
	release := make(chan struct{})
	f.addDataset("t", &dataset{shares: [][]row{first}, maxBatch: 30,
		hold: func(int) bool {
			select {
			case <-release:
				return true
			default:
				return false
			}
		},
		extra: func(int) []row { return later },
	})
	ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
	cnt := types.Type{Kind: types.BigInt, NotNull: true}
	out := types.Schema{Fields: []types.Field{
		{Name: "key", Type: types.BigIntType}, {Name: "window_start", Type: ts}, {Name: "window_end", Type: ts}, {Name: "cnt", Type: cnt},
	}}
	agg := &jobgraph.OperatorSpec{ID: "agg", Name: "agg", Output: out, WindowAgg: &jobgraph.WindowAggSpec{
		Window:    jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: 2, SizeMs: 1000, ProcTime: true},
		GroupKeys: []int{0},
		Aggs:      []jobgraph.AggCall{{Func: jobgraph.CountStar, Arg: -1, Type: cnt, Name: "cnt"}},
	}}
	g := &jobgraph.Graph{Name: "proc-window", Vertices: []*jobgraph.Vertex{
		{ID: "v1", Parallelism: 1, Ops: []*jobgraph.OperatorSpec{sourceOp("src", "t", nil)}},
		{ID: "v2", Parallelism: 2, Ops: []*jobgraph.OperatorSpec{agg, sinkOpSpec("sink", "out", out)}},
	}, Edges: []*jobgraph.Edge{{From: "v1", To: "v2", Exchange: jobgraph.Hash, Keys: []int{0}}}}
	var clock atomic.Int64
	clock.Store(10_500)
	opts := f.options(mem)
	opts.Operators["window_agg"] = windowagg.New
	opts.Now = clock.Load
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), g, opts)
		done <- err
	}()
	expect := func(rows []row, start int64) []string {
		counts := map[string]int{}
		for _, rw := range rows {
			k := fmt.Sprint(rw.key)
			if rw.keyNull {
				k = "(null)"
			}
			counts[k]++
		}
		var out []string
		for k, n := range counts {
			out = append(out, fmt.Sprintf("%s|%d|%d|%d", k, start, start+1000, n))
		}
		slices.Sort(out)
		return out
	}
	got := func() []string {
		f.sink.mu.Lock()
		defer f.sink.mu.Unlock()
		var out []string
		for _, rw := range f.sink.rows["out"] {
			p := strings.Split(rw, "|") // subtask|kind|key|start|end|cnt
			out = append(out, fmt.Sprintf("%s|%s|%s|%s", p[2], msOf(t, p[3]), msOf(t, p[4]), p[5]))
		}
		slices.Sort(out)
		return out
	}
	// Let the source serve its rows, then move the clock past the window.
	for f.src.sets["t"].served.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	clock.Store(11_000)
	want := expect(first, 10_000)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(got(), want) {
		if time.Now().After(deadline) {
			close(release)
			<-done
			t.Fatalf("while the source waited, the sink got\n  %v\nwant\n  %v", got(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	clock.Store(20_500)
	time.Sleep(300 * time.Millisecond) // every subtask has seen the new time
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want = append(want, expect(later, 20_000)...)
	slices.Sort(want)
	if g := got(); !slices.Equal(g, want) {
		t.Fatalf("the sink got\n  %v\nwant\n  %v", g, want)
	}
}

// msOf turns a timestamp as the fake sink renders it back into epoch ms.
func msOf(t *testing.T, s string) string {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return fmt.Sprint(tm.UnixMilli())
}

package planner_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// FuzzCompile checks that compiling any text never panics and that a
// compiled plan explains the same way twice and survives a JSON round
// trip. The seeds are the scripts of the golden tests.
func FuzzCompile(f *testing.F) {
	for _, file := range []string{"testdata/sql/flagship", "testdata/sql/shapes", "testdata/sql/errors", "testdata/sql/kinds", "testdata/sql/updating"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		// Each block's input runs from its command line to "----".
		for _, block := range strings.Split(string(data), "\n----\n") {
			lines := strings.Split(block, "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "explain") || strings.HasPrefix(l, "jobgraph") || strings.HasPrefix(l, "error") {
					// "explains" blocks start with "explain" too.
					f.Add(strings.Join(lines[i+1:], "\n"), 1+i%4)
					break
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, text string, parallelism int) {
		if parallelism < 1 || parallelism > 8 {
			parallelism = 1
		}
		p, err := compile(t, text, parallelism)
		if err != nil {
			return
		}
		if a, b := p.ExplainVerbose(), p.ExplainVerbose(); a != b {
			t.Fatalf("EXPLAIN is not deterministic:\n%s\n---\n%s", a, b)
		}
		if p.Graph == nil {
			// A script of EXPLAIN statements only: no job, but plans.
			if len(p.Explains) == 0 {
				t.Fatal("no job and no EXPLAIN output")
			}
			return
		}
		data, err := p.Graph.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := jobgraph.Unmarshal(data)
		if err != nil {
			t.Fatalf("graph does not validate after a round trip: %v", err)
		}
		if !reflect.DeepEqual(back, p.Graph) {
			t.Fatal("graph changed in a JSON round trip")
		}
		q, err := compile(t, text, parallelism)
		if err != nil || q.Explain() != p.Explain() {
			t.Fatalf("compiling twice differs: %v", err)
		}
	})
}

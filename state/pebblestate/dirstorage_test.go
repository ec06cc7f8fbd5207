package pebblestate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// TestWithDirStorage runs checkpoints through checkpoint.DirStorage (its
// name rules, retention and garbage collection): three checkpoints of two
// subtasks, each committed as metadata, then the latest restored at
// parallelism 3 from the handles the metadata gives.
func TestWithDirStorage(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, 4096)
	st, err := checkpoint.OpenDirStorage(t.TempDir(), checkpoint.DirOptions{Retain: 1, VerifyChecksums: true})
	if err != nil {
		t.Fatal(err)
	}
	const maxP, oldP = 128, 2
	r := rand.New(rand.NewPCG(13, 14))
	m := model{}
	backends := make([]state.Backend, oldP)
	for i := range backends {
		kgs := keygroup.RangeOf(i, maxP, oldP)
		if backends[i], err = p.Open(ctx, state.Scope{Job: "j", OperatorID: "agg", Subtask: i, KeyGroups: kgs, MaxParallelism: maxP}); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(1); id <= 3; id++ {
		meta := &checkpoint.Metadata{Job: "j", ID: id, MaxParallelism: maxP,
			Operators: map[string]*checkpoint.OperatorState{"agg": {Parallelism: oldP}}}
		for i, b := range backends {
			kgs := keygroup.RangeOf(i, maxP, oldP)
			sub := m.only(kgs)
			exercise(t, b, sub, r, kgs, 1500, nil)
			// m becomes the other subtasks' part plus this one's.
			for name := range m {
				for k := range m[name] {
					if kg, _ := state.KeyGroupOf([]byte(k)); kgs.Contains(kg) {
						delete(m[name], k)
					}
				}
			}
			for name, tab := range sub {
				for k, v := range tab {
					m.table(name)[k] = v
				}
			}
			h, _ := snapshotPersist(t, b, st, id)
			meta.Operators["agg"].Subtasks = append(meta.Operators["agg"].Subtasks,
				&checkpoint.SubtaskState{Subtask: i, KeyGroups: kgs, Backend: h})
		}
		if err := st.Commit(ctx, meta); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range backends {
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	latest, skipped, err := st.Latest(ctx)
	if err != nil || len(skipped) > 0 || latest == nil || latest.ID != 3 {
		t.Fatalf("Latest: %v, skipped %v, %v", latest, skipped, err)
	}
	for j := 0; j < 3; j++ {
		kgs := keygroup.RangeOf(j, maxP, 3)
		b, err := p.Restore(ctx, state.Scope{Job: "j", OperatorID: "agg", Subtask: j, KeyGroups: kgs, MaxParallelism: maxP}, st, latest.HandlesFor("agg", kgs))
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, b, m.only(kgs), fmt.Sprintf("subtask %d of 3", j))
		_ = b.Close()
	}
}

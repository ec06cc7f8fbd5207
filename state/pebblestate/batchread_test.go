package pebblestate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// TestBatchReads checks GetMany and ScanPrefixes against a row-at-a-time
// reference over random tables (two tables side by side, writes still in
// the batch, in the memtable and flushed to sstables by snapshots), and
// that unsorted keys are refused.
func TestBatchReads(t *testing.T) {
	ctx := context.Background()
	kgs := keygroup.Range{Start: 0, End: 128}
	p := newProvider(t, 64)
	b, err := p.Open(ctx, state.Scope{Job: "j", OperatorID: "op", KeyGroups: kgs, MaxParallelism: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tabs := map[string]state.Table{}
	m := model{}
	for _, name := range []string{"a", "b"} {
		if tabs[name], err = b.Table(name); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	key := func() []byte {
		// A key group, a one-byte "key" and sometimes a suffix: keys that
		// share prefixes.
		k := state.KeyPrefix(nil, r.IntN(4))
		k = append(k, byte(r.IntN(8)))
		if r.IntN(2) == 0 {
			k = append(k, byte(r.IntN(4)))
		}
		return k
	}
	for round := 0; round < 30; round++ {
		for i := 0; i < 50; i++ {
			name := []string{"a", "b"}[r.IntN(2)]
			k := key()
			if r.IntN(4) == 0 {
				if err := tabs[name].Delete(k); err != nil {
					t.Fatal(err)
				}
				delete(m.table(name), string(k))
				continue
			}
			v := fmt.Sprint(r.IntN(1000))
			if err := tabs[name].Put(k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			m.table(name)[string(k)] = v
		}
		if round%10 == 9 {
			s, err := b.(*Backend).Snapshot(ctx, int64(round))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Release(); err != nil {
				t.Fatal(err)
			}
		}
		// Distinct sorted keys, some absent.
		set := map[string]bool{}
		for i := 0; i < 20; i++ {
			set[string(key())] = true
		}
		var keys [][]byte
		for k := range set {
			keys = append(keys, []byte(k))
		}
		slices.SortFunc(keys, func(a, b []byte) int { return strings.Compare(string(a), string(b)) })
		for _, name := range []string{"a", "b"} {
			var got, want []string
			err := state.GetMany(tabs[name], keys, func(i int, v []byte) error {
				got = append(got, fmt.Sprintf("%x=%s", keys[i], v))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if v, ok := m.table(name)[string(k)]; ok {
					want = append(want, fmt.Sprintf("%x=%s", k, v))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d table %s GetMany:\n got %v\nwant %v", round, name, got, want)
			}
			// Prefixes: key group + one byte, distinct, so none is a prefix
			// of another.
			pset := map[string]bool{}
			for _, k := range keys {
				pset[string(k[:3])] = true
			}
			var prefixes [][]byte
			for p := range pset {
				prefixes = append(prefixes, []byte(p))
			}
			slices.SortFunc(prefixes, func(a, b []byte) int { return strings.Compare(string(a), string(b)) })
			got, want = nil, nil
			err = state.ScanPrefixes(tabs[name], prefixes, func(i int, k, v []byte) error {
				got = append(got, fmt.Sprintf("%d:%x=%s", i, k, v))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range prefixes {
				for _, kv := range refScan(m.table(name), p, state.PrefixEnd(p)) {
					k, v, _ := strings.Cut(kv, "=")
					want = append(want, fmt.Sprintf("%d:%x=%s", i, k, v))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d table %s ScanPrefixes:\n got %v\nwant %v", round, name, got, want)
			}
		}
	}
	if err := state.GetMany(tabs["a"], [][]byte{{0, 1, 2}, {0, 1, 1}}, func(int, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "not sorted") {
		t.Fatalf("unsorted keys: %v", err)
	}
}

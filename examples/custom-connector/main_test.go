package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// reference computes the job's rows one number at a time.
func reference(end int64) []string {
	type key struct {
		start  int64
		parity string
	}
	type agg struct{ n, sum int64 }
	const t0 = 1_767_225_600_000 // 2026-01-01 00:00:00
	groups := map[key]*agg{}
	for v := int64(1); v < end; v++ {
		ts := t0 + (v-1)*100
		k := key{ts - ts%10_000, "odd"}
		if v%2 == 0 {
			k.parity = "even"
		}
		if groups[k] == nil {
			groups[k] = &agg{}
		}
		groups[k].n++
		groups[k].sum += v
	}
	var out []string
	for k, a := range groups {
		out = append(out, fmt.Sprintf("%d|%s|%d|%d", k.start, k.parity, a.n, a.sum))
	}
	sort.Strings(out)
	return out
}

// readTotals reads the job's JSON part files.
func readTotals(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no part files in %s (%v)", dir, err)
	}
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var row struct {
				WindowStart string `json:"window_start"`
				Parity      string `json:"parity"`
				N, Total    int64
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("%s: %q: %v", f, sc.Text(), err)
			}
			ws, ok := sqltext.ParseTimestamp([]byte(row.WindowStart))
			if !ok {
				t.Fatalf("%s: window_start %q", f, row.WindowStart)
			}
			out = append(out, fmt.Sprintf("%d|%s|%d|%d", ws, row.Parity, row.N, row.Total))
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// TestSQLOverTheCustomConnector runs the example's SQL over the sequence
// connector at several parallelisms (the last with checkpoints into Pebble
// state and directory storage) and compares the windows with a reference
// computed one number at a time.
func TestSQLOverTheCustomConnector(t *testing.T) {
	const end = 20_000
	want := reference(end)
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprint("parallelism", p), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "totals")
			opts := embedded.Options{Parallelism: p}
			rps := 0
			if p > 1 {
				// Slow enough (about 0.2 s) for a few checkpoints.
				rps = 100_000
				st, err := checkpoint.NewDirStorage(filepath.Join(dir, "checkpoints"), 0)
				if err != nil {
					t.Fatal(err)
				}
				ps, err := pebblestate.New(pebblestate.Config{Dir: filepath.Join(dir, "state")})
				if err != nil {
					t.Fatal(err)
				}
				defer ps.Close()
				opts.CheckpointStorage, opts.State, opts.CheckpointInterval = st, ps, 20*time.Millisecond
			}
			res, err := Run(context.Background(), out, end, rps, opts)
			if err != nil {
				t.Fatal(err)
			}
			if opts.CheckpointStorage != nil && res.Checkpoints == 0 {
				t.Fatalf("the job took no checkpoint")
			}
			got := readTotals(t, out)
			if len(got) != len(want) {
				t.Fatalf("%d windows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("window %d: got %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}

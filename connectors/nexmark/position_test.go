package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
)

func canonRow(rw row) string {
	keys := make([]string, 0, len(rw))
	for k := range rw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q;", k, rw[k])
	}
	return b.String()
}

// TestRestoreAtAnyParallelism reads random prefixes of every reader at P,
// restores from their positions at P' in {1, P, 2P}, reads random prefixes
// again, restores at P” and reads to the end. Over the three runs, the
// rows of each reader of an uninterrupted run at P come out exactly once,
// in that reader's order, and every reader's output is in event-time
// order.
func TestRestoreAtAnyParallelism(t *testing.T) {
	for iter := 0; iter < 12; iter++ {
		table := TableNames[iter%len(TableNames)]
		t.Run(fmt.Sprintf("%s/%d", table, iter), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(iter), 31))
			opts := map[string]string{"events.num": fmt.Sprint(2000 + r.IntN(20000)), "seed": fmt.Sprint(iter)}
			if r.IntN(2) == 0 {
				opts["first-event.rate"] = fmt.Sprint(1 + r.IntN(5000))
			}
			info := tableOf(table, Columns(table), opts)
			p := 1 + r.IntN(4)
			full := readAll(t, info, p, r)
			type at struct{ reader, idx int }
			where := map[string]at{}
			for j, rows := range full {
				for i, rw := range rows {
					c := canonRow(rw)
					if _, dup := where[c]; dup {
						t.Fatalf("two equal rows in the reference: %s", c)
					}
					where[c] = at{j, i}
				}
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			src, err := New().NewSource(info)
			if err != nil {
				t.Fatal(err)
			}
			rs := src.(connectors.RestorableSource)
			nextIdx := make([]int, p) // per reference reader, its next row due
			var positions [][]byte
			cur := p
			for gen := 0; gen < 3; gen++ {
				last := gen == 2
				var next [][]byte
				for s := 0; s < cur; s++ {
					bs := 1 + r.IntN(300)
					rc := connectors.ReaderContext{Subtask: s, Parallelism: cur, BatchSize: bs, Alloc: mem}
					var rd connectors.Reader
					if gen == 0 {
						rd, err = rs.Reader(context.Background(), rc)
					} else {
						rd, err = rs.RestoreReader(context.Background(), rc, positions)
					}
					if err != nil {
						t.Fatal(err)
					}
					lastTime := ""
					for b := 0; last || b < r.IntN(10); b++ {
						rec, err := rd.Next(context.Background())
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil || rec == nil {
							t.Fatalf("gen %d reader %d of %d: %v", gen, s, cur, err)
						}
						if int(rec.NumRows()) > bs || rec.NumRows() == 0 {
							t.Fatalf("batch of %d rows, batch size %d", rec.NumRows(), bs)
						}
						for _, rw := range rowsOf(rec) {
							w, ok := where[canonRow(rw)]
							if !ok {
								t.Fatalf("gen %d reader %d of %d: row %v is not in the uninterrupted run", gen, s, cur, rw)
							}
							if w.idx != nextIdx[w.reader] {
								t.Fatalf("gen %d reader %d of %d: row %d of reference reader %d, want its row %d", gen, s, cur, w.idx, w.reader, nextIdx[w.reader])
							}
							nextIdx[w.reader]++
							ts := rw["dateTime"]
							if lastTime != "" && (len(ts) < len(lastTime) || len(ts) == len(lastTime) && ts < lastTime) {
								t.Fatalf("gen %d reader %d of %d: event time %s after %s", gen, s, cur, ts, lastTime)
							}
							lastTime = ts
						}
						rec.Release()
					}
					pos, err := rd.(connectors.PositionedReader).Position()
					if err != nil {
						t.Fatal(err)
					}
					next = append(next, pos)
					rd.Close()
				}
				positions = next
				cur = []int{1, cur, 2 * cur}[r.IntN(3)]
			}
			for j := range full {
				if nextIdx[j] != len(full[j]) {
					t.Fatalf("reference reader %d: %d of %d rows produced", j, nextIdx[j], len(full[j]))
				}
			}
		})
	}
}

// TestRestoreBadPositions: positions that cannot be a checkpoint's are
// refused with a reason.
func TestRestoreBadPositions(t *testing.T) {
	src, _ := New().NewSource(tableOf(Bid, Columns(Bid), map[string]string{"events.num": "1000"}))
	rs := src.(connectors.RestorableSource)
	rc := connectors.ReaderContext{Subtask: 0, Parallelism: 2}
	for _, tc := range []struct{ pos, want string }{
		{`nope`, "bad position 0"},
		{`{"segments":[{"first_id":0,"events":10,"delay_us":0,"next":1}]}`, "timeline"},
		{`{"segments":[{"first_id":0,"events":10,"delay_us":1,"next":11}]}`, "timeline"},
		{`{"segments":[{"first_id":0,"events":10,"delay_us":1,"next":1},{"first_id":5,"events":10,"delay_us":1,"next":1}]}`, "overlap"},
	} {
		_, err := rs.RestoreReader(context.Background(), rc, [][]byte{[]byte(tc.pos)})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "table 't_bid'") {
			t.Fatalf("%s: got %v, want %q", tc.pos, err, tc.want)
		}
	}
}

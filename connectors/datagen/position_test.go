package datagen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
)

// TestRestoreAtAnyParallelism reads random prefixes of every reader at P,
// restores from their positions at P' in {1, P, 2P}, reads random prefixes
// again, restores at P” and reads to the end. The test tracks the row
// indices each reader returned itself: every restored reader must return
// exactly the rows of its share (i mod P' == s) that no earlier reader
// returned, in index order, each equal to the row an uninterrupted run at
// parallelism 1 produces.
func TestRestoreAtAnyParallelism(t *testing.T) {
	for iter := 0; iter < 16; iter++ {
		stream := []string{Gifts, Comments, Likes, RoomEvents}[iter%4]
		t.Run(fmt.Sprintf("%s/%d", stream, iter), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(iter), 21))
			n := int64(500 + r.IntN(3000))
			info := tableOf(stream, StreamColumns(stream), withOpts(map[string]string{"number-of-rows": fmt.Sprint(n)}))
			want := readRows(t, info, 1, r)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			src, err := New().NewSource(info)
			if err != nil {
				t.Fatal(err)
			}
			rs := src.(connectors.RestorableSource)
			seen := map[int64]bool{}
			p := 1 + r.IntN(4)
			var positions [][]byte
			for gen := 0; gen < 3; gen++ {
				last := gen == 2
				var next [][]byte
				for s := 0; s < p; s++ {
					bs := 1 + r.IntN(200)
					rc := connectors.ReaderContext{Subtask: s, Parallelism: p, BatchSize: bs, Alloc: mem}
					var rd connectors.Reader
					if gen == 0 {
						rd, err = rs.Reader(context.Background(), rc)
					} else {
						rd, err = rs.RestoreReader(context.Background(), rc, positions)
					}
					if err != nil {
						t.Fatal(err)
					}
					// The rows this reader owes, computed from what the
					// test saw.
					var owed []int64
					for i := int64(s); i < n; i += int64(p) {
						if !seen[i] {
							owed = append(owed, i)
						}
					}
					batches := r.IntN(8)
					got := 0
					for b := 0; last || b < batches; b++ {
						rec, err := rd.Next(context.Background())
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil || rec == nil {
							t.Fatalf("gen %d reader %d of %d: %v", gen, s, p, err)
						}
						if int(rec.NumRows()) > bs || rec.NumRows() == 0 {
							t.Fatalf("batch of %d rows, batch size %d", rec.NumRows(), bs)
						}
						for j := 0; j < int(rec.NumRows()); j++ {
							if got >= len(owed) {
								t.Fatalf("gen %d reader %d of %d: more rows than owed", gen, s, p)
							}
							idx := owed[got]
							got++
							vals := make([]string, rec.NumCols())
							for c := range vals {
								vals[c] = cell(rec.Column(c), j)
							}
							if strings.Join(vals, "|") != strings.Join(want[idx], "|") {
								t.Fatalf("gen %d reader %d of %d: row %d is %v, want %v", gen, s, p, idx, vals, want[idx])
							}
							seen[idx] = true
						}
						rec.Release()
					}
					if last && got != len(owed) {
						t.Fatalf("reader %d of %d ended after %d of %d owed rows", s, p, got, len(owed))
					}
					pos, err := rd.(connectors.PositionedReader).Position()
					if err != nil {
						t.Fatal(err)
					}
					next = append(next, pos)
					rd.Close()
				}
				positions = next
				p = []int{1, p, 2 * p}[r.IntN(3)]
			}
			if int64(len(seen)) != n {
				t.Fatalf("%d of %d rows read", len(seen), n)
			}
		})
	}
}

// TestRestoreErrors: positions that cannot be a checkpoint's are refused
// with a reason.
func TestRestoreErrors(t *testing.T) {
	info := tableOf(Gifts, StreamColumns(Gifts), withOpts(nil))
	src, _ := New().NewSource(info)
	rs := src.(connectors.RestorableSource)
	rc := connectors.ReaderContext{Subtask: 0, Parallelism: 2}
	for _, tc := range []struct {
		pos  []string
		want string
	}{
		{[]string{`{"p":2,"s":0,"next":4}`}, "reader 1 of 2 is missing"},
		{[]string{`{"p":2,"s":0,"next":3}`, `{"p":2,"s":1,"next":3}`}, "reader 0 of 2 at row 3"},
		{[]string{`{"p":2,"s":0,"next":2}`, `{"p":3,"s":1,"next":4}`}, "parallelism 3"},
		{[]string{`{"p":1,"s":0,"next":2}`, `{"p":1,"s":0,"next":2}`}, "appears twice"},
		{[]string{`garbage`}, "bad position 0"},
	} {
		var ps [][]byte
		for _, p := range tc.pos {
			ps = append(ps, []byte(p))
		}
		_, err := rs.RestoreReader(context.Background(), rc, ps)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "table 't_gifts'") {
			t.Fatalf("%v: got %v, want %q", tc.pos, err, tc.want)
		}
	}
}

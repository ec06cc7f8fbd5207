package session_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/session"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// refSession is a session of the reference model.
type refSession struct {
	start, end int64
	rows       []int
}

// reference is the row-at-a-time model: per partition, a list of open
// sessions; a row merges every session its window [ts, ts+gap) touches.
type reference struct {
	gap  int64
	open map[int64][]*refSession
	late int
}

func (m *reference) add(part, ts int64, row int, wm int64) {
	var touching []*refSession
	var rest []*refSession
	for _, s := range m.open[part] {
		if s.start <= ts+m.gap && s.end >= ts {
			touching = append(touching, s)
		} else {
			rest = append(rest, s)
		}
	}
	if len(touching) == 0 {
		if ts+m.gap-1 <= wm {
			m.late++
			return
		}
		m.open[part] = append(rest, &refSession{start: ts, end: ts + m.gap, rows: []int{row}})
		return
	}
	merged := &refSession{start: ts, end: ts + m.gap, rows: []int{row}}
	for _, s := range touching {
		merged.start = min(merged.start, s.start)
		merged.end = max(merged.end, s.end)
		merged.rows = append(merged.rows, s.rows...)
	}
	m.open[part] = append(rest, merged)
}

func render(part, start, end int64, rows []int) string {
	rows = slices.Clone(rows)
	sort.Ints(rows)
	return fmt.Sprintf("p%d [%d,%d) %v", part, start, end, rows)
}

func (m *reference) fire(wm int64) []string {
	var out []string
	for p, ss := range m.open {
		var keep []*refSession
		for _, s := range ss {
			if s.end-1 <= wm {
				out = append(out, render(p, s.start, s.end, s.rows))
			} else {
				keep = append(keep, s)
			}
		}
		m.open[p] = keep
	}
	sort.Strings(out)
	return out
}

func TestTrackerAgainstReference(t *testing.T) {
	defer session.SetCompactMin(8)()
	for seed := uint64(0); seed < 30; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runTracker(t, seed) })
	}
}

func runTracker(t *testing.T, seed uint64) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 7))
	gap := 1 + r.Int64N(50)
	tr, err := session.New(gap, func() *hashtable.Table { return hashtable.NewFixed(8, 9) })
	if err != nil {
		t.Fatal(err)
	}
	enc, err := rowkey.NewEncoder([]arrow.DataType{arrow.PrimitiveTypes.Int64})
	if err != nil {
		t.Fatal(err)
	}
	ref := &reference{gap: gap, open: map[int64][]*refSession{}}
	members := map[int32][]int{}
	partOf := map[int32]int64{} // session -> partition value, checked against the tracker's key
	wm := int64(-1 << 62)
	base := r.Int64N(1000) - 500
	nparts := 1 + r.IntN(20)
	row := 0
	var rows rowkey.Rows
	for step := 0; step < 200; step++ {
		n := 1 + r.IntN(30)
		b := array.NewInt64Builder(mem)
		ts := make([]int64, n)
		for i := range ts {
			base += r.Int64N(gap/2 + 2)
			ts[i] = base - r.Int64N(3*gap)
			b.Append(int64(r.IntN(nparts)))
		}
		col := b.NewInt64Array()
		b.Release()
		hashes := make([]uint64, n)
		if err := keygroup.HashColumns([]arrow.Array{col}, hashes); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode([]arrow.Array{col}, n, nil, &rows); err != nil {
			t.Fatal(err)
		}
		parts := make([]uint32, n)
		if err := tr.Partitions(hashes, &rows, nil, parts); err != nil {
			t.Fatal(err)
		}
		out := make([]int32, n)
		late, err := tr.Assign(parts, ts, nil, wm, out, func(dst, src int32) error {
			members[dst] = append(members[dst], members[src]...)
			delete(members, src)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		before := ref.late
		for i := range ts {
			ref.add(col.Value(i), ts[i], row+i, wm)
			if s := out[i]; s >= 0 {
				members[s] = append(members[s], row+i)
				partOf[s] = col.Value(i)
			}
		}
		if late != ref.late-before {
			t.Fatalf("step %d: %d late rows, want %d", step, late, ref.late-before)
		}
		row += n
		col.Release()
		if r.IntN(3) == 0 {
			wm = max(wm, base-r.Int64N(3*gap))
			if step == 199 {
				wm = 1 << 62
			}
			var got []string
			ids := tr.Expired(wm, nil)
			lastEnd := int64(-1 << 63)
			for _, id := range ids {
				s := tr.Session(id)
				if s.End < lastEnd {
					t.Fatalf("sessions fired out of end order")
				}
				lastEnd = s.End
				key, _ := tr.PartitionKey(s.Part)
				if want := partOf[id]; fmt.Sprint(key[1:]) != fmt.Sprint(encoded(t, enc, want)[1:]) {
					t.Fatalf("session %d has partition key %x, want that of %d", id, key, want)
				}
				got = append(got, render(partOf[id], s.Start, s.End, members[id]))
				delete(members, id)
			}
			tr.Release(ids)
			sort.Strings(got)
			want := ref.fire(wm)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("step %d, watermark %d: fired\n%s\nwant\n%s", step, wm, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	if tr.Open() != len(members) {
		t.Fatalf("%d open sessions, %d with members", tr.Open(), len(members))
	}
	_ = memstate.New
}

func encoded(t *testing.T, enc *rowkey.Encoder, v int64) []byte {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.Append(v)
	a := b.NewInt64Array()
	b.Release()
	defer a.Release()
	var rows rowkey.Rows
	if err := enc.Encode([]arrow.Array{a}, 1, nil, &rows); err != nil {
		t.Fatal(err)
	}
	return rows.Row(0)
}

func TestSpillBookkeeping(t *testing.T) {
	tb, err := memstate.New().Table("t")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := session.New(10, func() *hashtable.Table { return hashtable.New(8) })
	if err != nil {
		t.Fatal(err)
	}
	var rows rowkey.Rows
	rows.Data, rows.Offs = []byte{}, []int32{0, 0}
	parts := []uint32{0}
	if err := tr.Partitions([]uint64{1}, &rows, nil, parts); err != nil {
		t.Fatal(err)
	}
	place := func(ts int64) int32 {
		out := []int32{0}
		if _, err := tr.Assign(parts, []int64{ts}, nil, -100, out, func(dst, src int32) error { return nil }); err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	a := place(0)   // [0, 10)
	b := place(20)  // [20, 30)
	c := place(100) // [100, 110)
	// Two rounds: a and b then a, b and c; each writes one entry (one key
	// group).
	for round, ids := range [][]int32{{a, b}, {b, a, c}} {
		tr.BeginSpill()
		for _, id := range ids {
			if err := tr.AddDelta(id, 5, []byte(fmt.Sprintf("%d:%d", round, id))); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.AddDelta(ids[0], 5, nil); err == nil {
			t.Fatal("a session spilled twice in a round")
		}
		if err := tr.EndSpill(tb); err != nil {
			t.Fatal(err)
		}
	}
	entries := func() int {
		n := 0
		if err := tb.Scan(nil, nil, func(k, v []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := entries(); n != 2 {
		t.Fatalf("%d state entries, want 2", n)
	}
	m := place(10) // [10, 20) touches a and b: b merges into a
	if m != a || tr.Session(m).Start != 0 || tr.Session(m).End != 30 {
		t.Fatalf("bridge gave session %d %+v", m, *tr.Session(m))
	}
	read := func(id int32) []string {
		var got []string
		if err := tr.ReadSpills(tb, id, 5, func(v []byte) error { got = append(got, string(v)); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := fmt.Sprintf("[0:%d 1:%d 0:%d 1:%d]", a, a, b, b)
	if got := fmt.Sprint(read(m)); got != want {
		t.Fatalf("deltas %s, want %s", got, want)
	}
	if tr.HasSpills(m) || entries() != 1 {
		t.Fatalf("after reading: spills %v, %d entries, want the second round's only", tr.HasSpills(m), entries())
	}
	if got := fmt.Sprint(read(c)); got != fmt.Sprintf("[1:%d]", c) {
		t.Fatalf("deltas %s", got)
	}
	if n := entries(); n != 0 {
		t.Fatalf("%d entries left in state", n)
	}
}

func TestGapAndRange(t *testing.T) {
	if _, err := session.New(0, nil); err == nil {
		t.Fatal("gap 0 accepted")
	}
	tr, err := session.New(10, func() *hashtable.Table { return hashtable.New(8) })
	if err != nil {
		t.Fatal(err)
	}
	var rows rowkey.Rows
	rows.Data, rows.Offs = []byte{}, []int32{0, 0}
	parts := []uint32{0}
	if err := tr.Partitions([]uint64{1}, &rows, nil, parts); err != nil {
		t.Fatal(err)
	}
	_, err = tr.Assign(parts, []int64{1<<63 - 5}, nil, -1, []int32{0}, nil)
	if err == nil || !strings.Contains(err.Error(), "too close to the limits") {
		t.Fatalf("got %v", err)
	}
}

package snaptest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// CountingBackend wraps a backend, counting the Puts and Deletes of its
// tables and remembering their names.
type CountingBackend struct {
	state.Backend
	Puts, Deletes int
	names         []string
}

// NewCountingBackend wraps b.
func NewCountingBackend(b state.Backend) *CountingBackend { return &CountingBackend{Backend: b} }

// Table implements state.Backend.
func (c *CountingBackend) Table(name string) (state.Table, error) {
	t, err := c.Backend.Table(name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.names, name) {
		c.names = append(c.names, name)
	}
	return &countingTable{Table: t, b: c}, nil
}

// Names returns the names of the tables opened so far.
func (c *CountingBackend) Names() []string { return c.names }

// Entries returns the number of entries in every table.
func (c *CountingBackend) Entries(t testing.TB) int {
	n := 0
	for _, name := range c.names {
		tab, err := c.Backend.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := tab.Scan(nil, nil, func(k, v []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

type countingTable struct {
	state.Table
	b *CountingBackend
}

func (t *countingTable) Put(k, v []byte) error { t.b.Puts++; return t.Table.Put(k, v) }
func (t *countingTable) Delete(k []byte) error { t.b.Deletes++; return t.Table.Delete(k) }

// Step is one event of a script: a batch on an input, or (Record nil) a
// watermark.
type Step struct {
	Input int
	Batch stream.Batch
	WM    int64
}

// Case is a script to run.
type Case struct {
	// New makes a fresh operator.
	New func() (operator.Operator, error)
	// Keys are, per input, the columns the hash exchange routes rows by.
	Keys [][]int
	// Steps is the script; the snapshot is taken after Steps[:Cut].
	Steps []Step
	Cut   int
	// Before and After are the parallelisms before and after the restore.
	Before, After int
	// MaxP is the number of key groups (default 128).
	MaxP int
	// Now is the processing-time clock (nil: constant 0).
	Now func() int64
	// Config holds the job options the operators see
	// (operator.Context.Config), e.g. a small state cache.
	Config map[string]string
	// LooseFinalState skips the checks that compare state keys: that
	// several incremental snapshots hold the keys one snapshot at the cut
	// writes, and that the restored subtasks' final state holds the keys of
	// the uninterrupted operator's. For operators whose snapshots append
	// numbered pieces (keys depend on when snapshots were taken) or whose
	// restore legitimately drops what could never matter again earlier.
	LooseFinalState bool
	// OrderFree compares the uninterrupted runs' outputs as multisets: for
	// operators whose output order within one firing is not defined (a
	// snapshot may change it, not the rows).
	OrderFree bool
}

// Change is an output row with its kind.
type Change struct {
	Kind stream.RowKind
	Cols []string
}

// String renders c.
func (c Change) String() string { return c.Kind.String() + " " + strings.Join(c.Cols, "|") }

type collector struct{ rows []Change }

func (c *collector) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	for i := 0; i < b.NumRows(); i++ {
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		c.rows = append(c.rows, Change{Kind: b.Kind(i), Cols: cols})
	}
	return nil
}

type sub struct {
	op  operator.Operator
	oc  *operator.Context
	be  *CountingBackend
	out *collector
}

func open(t testing.TB, mem memory.Allocator, c Case, i, p int, be *CountingBackend) *sub {
	t.Helper()
	op, err := c.New()
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, c.Config)
	oc.Subtask, oc.Parallelism, oc.MaxParallelism = i, p, c.MaxP
	oc.KeyGroups = keygroup.RangeOf(i, c.MaxP, p)
	oc.State = be
	oc.Now = c.Now
	if oc.Now == nil {
		oc.Now = func() int64 { return 0 }
	}
	if err := op.Open(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	return &sub{op: op, oc: oc, be: be, out: &collector{}}
}

// Run runs c and returns the uninterrupted operator's output after the
// cut (want) and the restored subtasks' output after the cut (got, subtask
// after subtask). The caller releases the steps' batches.
func Run(t testing.TB, mem memory.Allocator, c Case) (want, got []Change) {
	t.Helper()
	if c.MaxP == 0 {
		c.MaxP = 128
	}
	ctx := context.Background()
	// Uninterrupted, at parallelism 1: without a snapshot (want), and with
	// one at the cut, which must not change (or emit) anything and whose
	// keys are the reference for the incremental snapshots below.
	// The final states compare before a closing MaxWatermark, which
	// empties many operators.
	finalAt := len(c.Steps)
	if k := finalAt - 1; k >= c.Cut && k >= 0 && c.Steps[k].Batch.Record == nil && c.Steps[k].WM == stream.MaxWatermark {
		finalAt = k
	}
	var fullKeys, finalKeys []string
	for run := 0; run < 2; run++ {
		u := open(t, mem, c, 0, 1, NewCountingBackend(memstate.New()))
		for i := 0; i <= len(c.Steps); i++ {
			if i == c.Cut {
				u.out.rows = u.out.rows[:0]
				if run == 1 {
					if err := u.op.(operator.Snapshotter).SnapshotState(ctx, 1); err != nil {
						t.Fatal(err)
					}
					fullKeys = u.be.keys(t)
				}
			}
			if i == finalAt && run == 1 {
				if err := u.op.(operator.Snapshotter).SnapshotState(ctx, 2); err != nil {
					t.Fatal(err)
				}
				finalKeys = dataKeys(u.be.keys(t))
			}
			if i < len(c.Steps) {
				feed(t, mem, c, []*sub{u}, c.Steps[i])
			}
		}
		if run == 0 {
			want = u.out.rows
		} else if g, w := texts(u.out.rows), texts(want); !sameTexts(g, w, c.OrderFree) {
			t.Fatalf("a snapshot changed what the operator emits next: %d changes instead of %d", len(g), len(w))
		}
		if err := u.op.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Up to the cut at Before, snapshot, close.
	old := make([]*sub, c.Before)
	for i := range old {
		old[i] = open(t, mem, c, i, c.Before, NewCountingBackend(memstate.New()))
	}
	lastWM, hasWM := int64(0), false
	id := int64(0)
	for i, s := range c.Steps[:c.Cut] {
		if i == c.Cut/2 || i == c.Cut-2 {
			id++
			// Earlier snapshots, so that the one at the cut is
			// incremental.
			for _, x := range old {
				if err := x.op.(operator.Snapshotter).SnapshotState(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		feed(t, mem, c, old, s)
		if s.Batch.Record == nil {
			lastWM, hasWM = s.WM, true
		}
	}
	for _, s := range old {
		sn, ok := s.op.(operator.Snapshotter)
		if !ok {
			t.Fatalf("%T is no operator.Snapshotter", s.op)
		}
		if err := sn.SnapshotState(ctx, id+1); err != nil {
			t.Fatal(err)
		}
		if err := s.op.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c.Before == 1 && !c.LooseFinalState {
		if got := old[0].be.keys(t); !slices.Equal(got, fullKeys) {
			t.Fatalf("after two snapshots the state has %d keys; one snapshot at the cut writes %d\n%s", len(got), len(fullKeys), keyDiff(got, fullKeys))
		}
	}
	// Re-split the key groups, restore, replay the watermark, go on.
	cur := make([]*sub, c.After)
	for j := range cur {
		be := memstate.New()
		r := keygroup.RangeOf(j, c.MaxP, c.After)
		for _, s := range old {
			CopyKeyGroups(t, be, s.be, r)
		}
		cur[j] = open(t, mem, c, j, c.After, NewCountingBackend(be))
		if err := cur[j].op.(operator.Snapshotter).RestoreState(ctx); err != nil {
			t.Fatal(err)
		}
		if hasWM {
			if err := cur[j].op.ProcessWatermark(ctx, lastWM, cur[j].out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var curKeys []string
	for i := c.Cut; i <= len(c.Steps); i++ {
		if i == finalAt {
			for _, s := range cur {
				if err := s.op.(operator.Snapshotter).SnapshotState(ctx, id+2); err != nil {
					t.Fatal(err)
				}
				curKeys = append(curKeys, dataKeys(s.be.keys(t))...)
			}
		}
		if i < len(c.Steps) {
			feed(t, mem, c, cur, c.Steps[i])
		}
	}
	for _, s := range cur {
		got = append(got, s.out.rows...)
		if err := s.op.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(curKeys)
	if !c.LooseFinalState && !slices.Equal(curKeys, finalKeys) {
		t.Fatalf("at the end the restored subtasks' state has %d keys, the uninterrupted operator's %d\n%s", len(curKeys), len(finalKeys), keyDiff(curKeys, finalKeys))
	}
	return want, got
}

// CopyKeyGroups copies every entry of src's tables whose key group is in r
// into dst.
func CopyKeyGroups(t testing.TB, dst state.Backend, src *CountingBackend, r keygroup.Range) {
	t.Helper()
	for _, name := range src.Names() {
		from, err := src.Backend.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		to, err := dst.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		lo := state.KeyPrefix(nil, r.Start)
		hi := state.KeyPrefix(nil, r.End)
		if err := from.Scan(lo, hi, func(k, v []byte) error { return to.Put(k, v) }); err != nil {
			t.Fatal(err)
		}
	}
}

// feed routes step s to the subtasks.
func feed(t testing.TB, mem memory.Allocator, c Case, subs []*sub, s Step) {
	t.Helper()
	ctx := context.Background()
	if s.Batch.Record == nil {
		for _, x := range subs {
			if err := x.op.ProcessWatermark(ctx, s.WM, x.out); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if len(subs) == 1 {
		if err := subs[0].op.ProcessBatch(ctx, s.Input, s.Batch, subs[0].out); err != nil {
			t.Fatal(err)
		}
		return
	}
	parts := Split(t, mem, s.Batch, c.Keys[s.Input], c.MaxP, len(subs))
	for i, b := range parts {
		if b.Record == nil {
			continue
		}
		err := subs[i].op.ProcessBatch(ctx, s.Input, b, subs[i].out)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Split routes the rows of b to p subtasks by the hash of its key columns,
// as the hash exchange does. Subtasks without rows get a zero Batch.
func Split(t testing.TB, mem memory.Allocator, b stream.Batch, keys []int, maxP, p int) []stream.Batch {
	t.Helper()
	n := b.NumRows()
	cols := make([]arrow.Array, len(keys))
	for i, k := range keys {
		cols[i] = b.Record.Column(k)
	}
	hs := make([]uint64, n)
	if err := keygroup.HashColumns(cols, hs); err != nil {
		t.Fatal(err)
	}
	rows := make([][]int, p)
	for i, h := range hs {
		s := keygroup.Subtask(keygroup.Of(h, maxP), maxP, p)
		rows[s] = append(rows[s], i)
	}
	out := make([]stream.Batch, p)
	for s, rs := range rows {
		if len(rs) == 0 {
			continue
		}
		arrs := make([]arrow.Array, b.Record.NumCols())
		for j := range arrs {
			pieces := make([]arrow.Array, len(rs))
			for k, r := range rs {
				pieces[k] = array.NewSlice(b.Record.Column(j), int64(r), int64(r+1))
			}
			a, err := array.Concatenate(pieces, mem)
			for _, x := range pieces {
				x.Release()
			}
			if err != nil {
				t.Fatal(err)
			}
			arrs[j] = a
		}
		rec := array.NewRecordBatch(b.Record.Schema(), arrs, int64(len(rs)))
		for _, a := range arrs {
			a.Release()
		}
		var kinds []stream.RowKind
		if b.Kinds != nil {
			for _, r := range rs {
				kinds = append(kinds, b.Kinds[r])
			}
		}
		out[s] = stream.Batch{Record: rec, Kinds: kinds}
	}
	return out
}

// SameMultiset fails t unless got and want hold the same changes, in any
// order.
func SameMultiset(t testing.TB, got, want []Change) {
	t.Helper()
	g, w := texts(got), texts(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		var only []string
		for _, x := range g {
			if _, ok := slices.BinarySearch(w, x); !ok && len(only) < 5 {
				only = append(only, "got only: "+x)
			}
		}
		for _, x := range w {
			if _, ok := slices.BinarySearch(g, x); !ok && len(only) < 10 {
				only = append(only, "want only: "+x)
			}
		}
		t.Fatalf("changes after the restore differ (as multisets): got %d, want %d\n%s", len(g), len(w), strings.Join(only, "\n"))
	}
}

// SameByKey fails t unless got and want hold, for every value of the key
// columns, the same changes in the same order.
func SameByKey(t testing.TB, got, want []Change, key []int) {
	t.Helper()
	g, w := byKey(got, key), byKey(want, key)
	for i := 0; i < max(len(g), len(w)); i++ {
		switch {
		case i >= len(g):
			t.Fatalf("changes after the restore: key %s missing (%d changes)", w[i].key, len(w[i].rows))
		case i >= len(w):
			t.Fatalf("changes after the restore: unexpected key %s (%d changes)", g[i].key, len(g[i].rows))
		case g[i].key != w[i].key:
			t.Fatalf("changes after the restore: key %s where %s was expected", g[i].key, w[i].key)
		}
		gr, wr := g[i].rows, w[i].rows
		for j := 0; j < max(len(gr), len(wr)); j++ {
			if j >= len(gr) || j >= len(wr) || gr[j] != wr[j] {
				t.Fatalf("changes after the restore differ for key %s at change %d of %d (want %d)\n got %v\nwant %v",
					g[i].key, j, len(gr), len(wr), gr[j:min(j+3, len(gr))], wr[j:min(j+3, len(wr))])
			}
		}
	}
}

// SameSequence fails t unless got and want are equal, in order.
func SameSequence(t testing.TB, got, want []Change) {
	t.Helper()
	g, w := texts(got), texts(want)
	for j := 0; j < max(len(g), len(w)); j++ {
		if j >= len(g) || j >= len(w) || g[j] != w[j] {
			t.Fatalf("changes after the restore differ at change %d of %d (want %d)\n got %v\nwant %v",
				j, len(g), len(w), g[j:min(j+3, len(g))], w[j:min(j+3, len(w))])
		}
	}
}

func texts(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

type keyed struct {
	key  string
	rows []string
}

func byKey(cs []Change, key []int) []keyed {
	m := map[string][]string{}
	for _, c := range cs {
		parts := make([]string, len(key))
		for i, k := range key {
			parts[i] = c.Cols[k]
		}
		k := strings.Join(parts, "|")
		m[k] = append(m[k], c.String())
	}
	out := make([]keyed, 0, len(m))
	for k, v := range m {
		out = append(out, keyed{k, v})
	}
	slices.SortFunc(out, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	return out
}

// SameLast fails t unless, for every value of the key columns, the last
// change of got and of want are the same (for operators whose batching
// depends on the parallelism, such as mini-batches, only the final
// results compare).
func SameLast(t testing.TB, got, want []Change, key []int) {
	t.Helper()
	last := func(cs []Change) []string {
		var out []string
		for _, k := range byKey(cs, key) {
			out = append(out, k.key+" => "+k.rows[len(k.rows)-1])
		}
		return out
	}
	g, w := last(got), last(want)
	if !slices.Equal(g, w) {
		for i := 0; i < min(len(g), len(w)); i++ {
			if g[i] != w[i] {
				t.Fatalf("last changes per key differ: got %s, want %s", g[i], w[i])
			}
		}
		t.Fatalf("last changes per key differ: got %d keys, want %d", len(g), len(w))
	}
}

// keys returns every table's keys, as "table/hex", sorted.
func (c *CountingBackend) keys(t testing.TB) []string {
	var out []string
	for _, name := range c.names {
		tab, err := c.Backend.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		err = tab.Scan(nil, nil, func(k, v []byte) error {
			out = append(out, fmt.Sprintf("%s/%x", name, k))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func keyDiff(got, want []string) string {
	var b strings.Builder
	n := 0
	for _, k := range got {
		if _, ok := slices.BinarySearch(want, k); !ok && n < 5 {
			fmt.Fprintf(&b, "extra: %s\n", k)
			n++
		}
	}
	for _, k := range want {
		if _, ok := slices.BinarySearch(got, k); !ok && n < 10 {
			fmt.Fprintf(&b, "missing: %s\n", k)
			n++
		}
	}
	return b.String()
}

// dataKeys drops the per-subtask bookkeeping (tables named "meta"), which
// depends on the parallelism.
func dataKeys(keys []string) []string {
	out := keys[:0:0]
	for _, k := range keys {
		if !strings.HasPrefix(k, "meta/") {
			out = append(out, k)
		}
	}
	return out
}

// sameTexts compares rendered outputs, in order or as multisets.
func sameTexts(g, w []string, orderFree bool) bool {
	if orderFree {
		g, w = slices.Clone(g), slices.Clone(w)
		slices.Sort(g)
		slices.Sort(w)
	}
	return slices.Equal(g, w)
}
